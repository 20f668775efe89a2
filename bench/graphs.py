"""One description of a computation, rendered for every engine.

A `Tape` is a flat list of nodes in topological order: an op code, up to two
input ids, and a number (a constant's value, or a variable's input value).
Every engine is handed the same tape: bpcli as expression text (`to_bpcli`),
the others by walking it in Python and calling their own operations. Because
the tape is the only description, every engine computes the same thing.

Rules the generators keep, so that every rendering has exactly the tape's nodes:
a constant is used exactly once, always as the right operand of `add` or
`mul` (so PyTorch can take it as a plain Python float, as a user would write
it), and every node except the output is used by a later node.
"""

from __future__ import annotations

import math
import random
from array import array
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bpcli.syntax import precedence

VAR, CONST, ADD, MUL, TANH, SIGMOID = range(6)
OP_NAMES = ("var", "const", "add", "mul", "tanh", "sigmoid")
NONE = -1  # no input

SHAPES = ("chain", "tree", "dag", "neuron")


@dataclass
class Tape:
    """Nodes in topological order; the last node is the output."""

    shape: str
    code: array[int] = field(default_factory=lambda: array("b"))
    left: array[int] = field(default_factory=lambda: array("q"))  # input ids, NONE for none
    right: array[int] = field(default_factory=lambda: array("q"))
    number: array[float] = field(default_factory=lambda: array("d"))
    variables: dict[str, int] = field(default_factory=dict)  # name -> node id

    def __len__(self) -> int:
        return len(self.code)

    @property
    def output(self) -> int:
        return len(self.code) - 1

    def _add(self, code: int, left: int = NONE, right: int = NONE, number: float = 0.0) -> int:
        self.code.append(code)
        self.left.append(left)
        self.right.append(right)
        self.number.append(number)
        return len(self.code) - 1

    def var(self, name: str, value: float) -> int:
        node = self._add(VAR, number=value)
        self.variables[name] = node
        return node

    def const(self, value: float) -> int:
        return self._add(CONST, number=value)

    def op(self, code: int, left: int, right: int = NONE) -> int:
        return self._add(code, left, right)

    def inputs(self) -> dict[str, float]:
        """Each variable's value, by name."""
        return {name: self.number[node] for name, node in self.variables.items()}

    # ---- a compact file, so that worker processes load it without generating it

    def save(self, path: Path) -> None:
        names = "\n".join(f"{name} {node}" for name, node in self.variables.items())
        with path.open("wb") as out:
            header = f"{self.shape} {len(self)} {len(self.variables)}\n{names}\n"
            out.write(header.encode())
            for part in (self.code, self.left, self.right, self.number):
                part.tofile(out)

    @classmethod
    def load(cls, path: Path) -> Tape:
        with path.open("rb") as stream:
            shape, size, count = stream.readline().decode().split()
            tape = cls(shape)
            for _ in range(int(count)):
                name, node = stream.readline().decode().split()
                tape.variables[name] = int(node)
            for part in (tape.code, tape.left, tape.right, tape.number):
                part.fromfile(stream, int(size))
        return tape


# ---- the generators: same seed, same tape, on every machine -----------------


def _short(rng: random.Random, low: float, high: float) -> float:
    """A short decimal, so the expression text stays small (its repr round-trips)."""
    return round(rng.uniform(low, high), 2) or 0.5


def chain(nodes: int, seed: int = 0) -> Tape:
    """A deep chain: x, then levels of `(…*a+b)`, 4 nodes a level (mul, add, 2 constants).

    The factors alternate a and 1/a (from a few exact pairs), so the value and
    the gradient stay near 1 however deep the chain is.
    """
    rng = random.Random(seed)
    tape = Tape("chain")
    node = tape.var("x", 0.5)
    pairs = ((0.5, 2.0), (0.8, 1.25), (0.4, 2.5), (0.625, 1.6))
    for level in range(max(1, round((nodes - 1) / 4))):
        pair = pairs[(level // 2) % len(pairs)]
        node = tape.op(MUL, node, tape.const(pair[level % 2]))
        node = tape.op(ADD, node, tape.const(_short(rng, -1.0, 1.0)))
    return tape


def _tree_size(leaves: int, width: int) -> int:
    """The nodes of `tree` with this many leaves: variables, leaves, sums and tanh."""
    size = min(width, leaves) + 2 * leaves
    level, depth = leaves, 0
    while level > 1:
        depth += 1
        size += (level // 2) * (2 if depth % 2 == 0 else 1)
        level = level // 2 + level % 2
    return size


def tree(nodes: int, seed: int = 0, width: int = 100) -> Tape:
    """A wide balanced binary tree: leaves `x_k*c`, then levels of sums, tanh every other level."""
    rng = random.Random(seed)
    tape = Tape("tree")
    low, high = 2, max(2, nodes)  # the most leaves that fit in `nodes`
    while low < high:
        middle = (low + high + 1) // 2
        low, high = (middle, high) if _tree_size(middle, width) <= nodes else (low, middle - 1)
    leaves = low
    names = [f"x{k}" for k in range(min(width, leaves))]
    var_ids = [tape.var(name, _short(rng, -1.0, 1.0)) for name in names]
    level = [
        tape.op(MUL, var_ids[k % len(var_ids)], tape.const(_short(rng, -1.0, 1.0)))
        for k in range(leaves)
    ]
    depth = 0
    while len(level) > 1:
        depth += 1
        paired = []
        for k in range(0, len(level) - 1, 2):
            node = tape.op(ADD, level[k], level[k + 1])
            if depth % 2 == 0:
                node = tape.op(TANH, node)
            paired.append(node)
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return tape


def dag(nodes: int, seed: int = 0, variables: int = 16, window: int = 64) -> Tape:
    """A random DAG of tanh, mul, add and constants with heavy reuse.

    Each new node takes the oldest node nobody uses yet (so every node reaches
    the output) and, for a binary op, a second operand: a constant, a recent
    node, or any earlier node (long-range reuse). An op that would leave a
    comfortable range of values is swapped for a safer one, so nothing
    overflows or vanishes. The nodes still unused at the end are summed.
    """
    rng = random.Random(seed)
    tape = Tape("dag")
    value: list[float] = []  # every node's value, to steer the choice of ops
    for k in range(variables):
        tape.var(f"x{k}", _short(rng, -1.0, 1.0))
        value.append(tape.number[-1])
    queue = list(range(variables))  # nodes in order of creation; `head` is the oldest unused
    used = bytearray(variables)
    head = 0
    computed = list(range(variables))  # non-constant nodes, candidates for reuse
    pending = variables  # nodes not used yet

    def operand() -> int:
        if rng.random() < 0.5:
            return computed[-1 - rng.randrange(min(window, len(computed)))]
        return computed[rng.randrange(len(computed))]

    def take(node: int) -> None:
        nonlocal pending
        if not used[node]:
            used[node] = 1
            pending -= 1

    while len(tape) + pending - 1 < nodes:
        while used[queue[head]]:
            head += 1
        a = queue[head]
        take(a)
        roll = rng.random()
        kind = TANH if roll < 0.25 else ADD if roll < 0.6 else MUL
        b = NONE if kind == TANH or rng.random() < 0.3 else operand()
        va = value[a]
        vb = value[b] if b != NONE else _short(rng, -1.0, 1.0)
        if kind == MUL and not 1e-2 < abs(va * vb) < 4.0:
            kind = ADD
        if kind == ADD and abs(va + vb) > 4.0:
            kind = TANH
        if kind == TANH:
            node = tape.op(TANH, a)
            result = math.tanh(va)
        else:
            if b == NONE:
                b = tape.const(vb)
                value.append(vb)
                used.append(1)
            else:
                take(b)
            node = tape.op(kind, a, b)
            result = va + vb if kind == ADD else va * vb
        value.append(result)
        computed.append(node)
        queue.append(node)
        used.append(0)
        pending += 1
    rest = [node for node in queue[head:] if not used[node]]
    total = rest[0]
    for node in rest[1:]:
        total = tape.op(ADD, total, node)
    return tape


def constants(nodes: int, seed: int = 0, variables: int = 16, window: int = 64) -> Tape:
    """A DAG of statements that carry literal constants, `t_k = tanh(t_i*0.37 + t_j*-1.2)`:
    six nodes a statement, two of them constants (issue 16's engine workload).

    t_i is the oldest node nobody uses yet (so every node reaches the output), t_j a
    recent or any earlier one; the nodes still unused at the end are summed.
    """
    rng = random.Random(seed)
    tape = Tape("constants")
    queue = [tape.var(f"x{k}", _short(rng, -1.0, 1.0)) for k in range(variables)]
    used = bytearray(variables)
    head = 0
    while len(tape) + len(queue) - head < nodes:
        while used[queue[head]]:
            head += 1
        a = queue[head]
        used[a] = 1
        recent = rng.random() < 0.5
        b = queue[-1 - rng.randrange(min(window, len(queue)))] if recent else rng.choice(queue)
        used[b] = 1
        left = tape.op(MUL, a, tape.const(0.37))
        right = tape.op(MUL, b, tape.const(-1.2))
        node = tape.op(TANH, tape.op(ADD, left, right))
        used.extend(bytes(node + 1 - len(used)))
        queue.append(node)
    rest = [node for node in queue[head:] if not used[node]]
    total = rest[0]
    for node in rest[1:]:
        total = tape.op(ADD, total, node)
    return tape


def neuron(nodes: int, seed: int = 0) -> Tape:
    """The lecture's neuron sigmoid(w0*x0 + w1*x1 + w2), summed over a data set.

    The weights are the three variables (the lecture's w0 = 2, w1 = -3, w2 = -3),
    each example's x0, x1 are constants (the first is the lecture's -1, -2).
    8 nodes an example: 2 constants, 2 mul, 2 add, sigmoid, and the add that sums.
    """
    rng = random.Random(seed)
    tape = Tape("neuron")
    w0, w1, w2 = tape.var("w0", 2.0), tape.var("w1", -3.0), tape.var("w2", -3.0)
    total = NONE
    for example in range(max(1, (nodes - 3) // 8)):
        x0, x1 = (-1.0, -2.0) if example == 0 else (_short(rng, -2, 2), _short(rng, -2, 2))
        z = tape.op(ADD, tape.op(MUL, w0, tape.const(x0)), tape.op(MUL, w1, tape.const(x1)))
        s = tape.op(SIGMOID, tape.op(ADD, z, w2))
        total = s if total == NONE else tape.op(ADD, total, s)
    return tape


GENERATORS: dict[str, Callable[[int, int], Tape]] = {
    "chain": chain,
    "tree": tree,
    "dag": dag,
    "neuron": neuron,
    "constants": constants,  # not in SHAPES: measured for its own target (bench/floors.py)
}


def generate(shape: str, nodes: int, seed: int = 0) -> Tape:
    return GENERATORS[shape](nodes, seed)


# ---- the plain-Python reference: the same tape, forward and backward --------


@dataclass(frozen=True)
class Answer:
    """What every engine must agree on: the output's value and d(output)/d(input)."""

    output: float
    gradients: dict[str, float]


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def forward(tape: Tape) -> list[float]:
    code, left, right, number = tape.code, tape.left, tape.right, tape.number
    value = [0.0] * len(code)
    for i in range(len(code)):
        op = code[i]
        if op in (VAR, CONST):
            value[i] = number[i]
        elif op == ADD:
            value[i] = value[left[i]] + value[right[i]]
        elif op == MUL:
            value[i] = value[left[i]] * value[right[i]]
        elif op == TANH:
            value[i] = math.tanh(value[left[i]])
        else:
            value[i] = _sigmoid(value[left[i]])
    return value


def backward(tape: Tape, value: list[float]) -> dict[str, float]:
    """Reverse mode over the tape: d(output)/d(input) for every variable, by name."""
    code, left, right = tape.code, tape.left, tape.right
    grad = [0.0] * len(code)
    grad[tape.output] = 1.0
    for i in range(len(code) - 1, -1, -1):
        op, g = code[i], grad[i]
        if op == ADD:
            grad[left[i]] += g
            grad[right[i]] += g
        elif op == MUL:
            a, b = left[i], right[i]
            grad[a] += g * value[b]
            grad[b] += g * value[a]
        elif op == TANH:
            grad[left[i]] += g * (1.0 - value[i] * value[i])
        elif op == SIGMOID:
            grad[left[i]] += g * value[i] * (1.0 - value[i])
    return {name: grad[i] for name, i in tape.variables.items()}


def reference(tape: Tape) -> Answer:
    """Forward and reverse mode in plain Python floats: the independent check."""
    value = forward(tape)
    return Answer(value[tape.output], backward(tape, value))


# ---- bpcli's text ------------------------------------------------------------

# Binding strength of what a node renders as, and what each operand position needs:
# the grammar's rule levels (grammar/expr.lark). A sum's right operand must bind
# tighter than `+`, so that `a+(b+c)` keeps its parentheses and its order of evaluation.
_PRECEDENCE = precedence()
_SYMBOL = {ADD: "+", MUL: "*"}


def _number(value: float) -> str:
    return repr(value)  # round-trips exactly; a leading minus folds into the constant


def to_bpcli(tape: Tape) -> str:
    """The tape as a bpcli program: a node used once is written inline, a node used
    more than once gets a statement `n<id> = …` and is named where used.

    A chain or a tree becomes one nested expression; a DAG becomes statements.
    Nothing recurses, however deep the nesting: each statement is written from
    an explicit stack.
    """
    code, left, right, number = tape.code, tape.left, tape.right, tape.number
    size = len(code)
    uses = array("l", bytes(8 * size)) if size else array("l")
    for i in range(size):
        if left[i] != NONE:
            uses[left[i]] += 1
        if right[i] != NONE:
            uses[right[i]] += 1
    names = {node: name for name, node in tape.variables.items()}

    def strength(node: int) -> int:
        """How tightly an operand's text binds: a node used elsewhere is written as its name."""
        op = code[node]
        if uses[node] > 1 or op not in _SYMBOL:
            return _PRECEDENCE.atom
        return _PRECEDENCE.strength(OP_NAMES[op])

    out: list[str] = []

    def emit(root: int) -> None:
        # A stack of pending work: an int is a node to write, a str is text to write.
        stack: list[int | str] = [root]
        while stack:
            item = stack.pop()
            if isinstance(item, str):
                out.append(item)
                continue
            node = item
            op = code[node]
            if op == VAR:
                out.append(names[node])
            elif op == CONST:
                out.append(_number(number[node]))
            elif node != root and uses[node] > 1:
                out.append(f"n{node}")
            elif op in (TANH, SIGMOID):
                out.append(f"{OP_NAMES[op]}(")
                stack.append(")")
                stack.append(left[node])
            else:
                parts: list[int | str] = []
                for i, operand in enumerate((left[node], right[node])):
                    if _PRECEDENCE.bracketed(OP_NAMES[op], i, strength(operand)):
                        parts += ["(", operand, ")"]
                    else:
                        parts.append(operand)
                    parts.append(_SYMBOL[op])
                parts.pop()
                stack.extend(reversed(parts))

    for node in range(size):
        if uses[node] > 1 and code[node] not in (VAR, CONST):
            out.append(f"n{node} = ")
            emit(node)
            out.append("\n")
    emit(tape.output)
    out.append("\n")
    return "".join(out)
