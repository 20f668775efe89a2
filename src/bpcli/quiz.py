"""Practice problem sets: random expressions over the lecture's gates, worked by hand.

The same seed gives the same bytes on every machine and Python version: the
random numbers come from SplitMix64 below, not from `random`, whose methods may
change between versions, and the answers in a key are rounded to 12
significant digits, so that a last-bit difference in a platform's `exp` or
`tanh` cannot show.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from .check import result_of, solve
from .errors import BpcliError, InputError
from .i18n import tr
from .ops import OPS
from .problems import Answer, Problem, ProblemSet, Value, dumps
from .result import Result
from .syntax import precedence

if TYPE_CHECKING:
    from .tensor import TensorResult

DEFAULT_OPS = ("add", "mul", "max")
VARIABLES = ("x", "y", "z", "w")
CONSTANTS = (2.0, 3.0, 0.5, -1.0)
RATES = (0.1, 0.05, 0.01)
MAX_DEPTH = 6
MAX_COUNT = 1000
ATTEMPTS = 200

# How tightly the written forms bind, for parentheses: the grammar's rule levels.
PRECEDENCE = precedence()

T = TypeVar("T")


class SplitMix64:
    """A tiny, fully specified PRNG (Steele, Lea and Flood, 2014)."""

    MASK = (1 << 64) - 1

    def __init__(self, seed: int) -> None:
        self.state = seed & self.MASK

    def next(self) -> int:
        self.state = (self.state + 0x9E3779B97F4A7C15) & self.MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & self.MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & self.MASK
        return z ^ (z >> 31)

    def below(self, n: int) -> int:
        """Uniform in 0 … n-1, without modulo bias."""
        limit = (1 << 64) - (1 << 64) % n
        while True:
            value = self.next()
            if value < limit:
                return value % n

    def choice(self, items: Sequence[T]) -> T:
        return items[self.below(len(items))]

    def chance(self, numerator: int, denominator: int) -> bool:
        return self.below(denominator) < numerator


@dataclass(frozen=True, slots=True)
class Expr:
    """A generated expression: a leaf (`op` var or const) or an op applied to children."""

    op: str
    children: tuple[Expr, ...] = ()
    name: str = ""
    value: float = 0.0


def quiz(
    seed: int,
    count: int,
    ops: Sequence[str] = DEFAULT_OPS,
    depth: int = 2,
    key: bool = False,
    tensors: bool = False,
) -> str:
    """A problem set of `count` problems as TOML text; with `key`, the answers filled in.
    With `tensors`, small problems over 2×2 matrices and 2-vectors (`TEMPLATES`, those
    whose gates are all among `ops`, each drawn once until all are used; `depth` is for
    problems over numbers)."""
    ops = _check_options(count, ops, depth)
    rng = SplitMix64(seed)
    templates = _templates(ops) if tensors else ()
    problems: list[Problem | object] = []
    unused: list[str] = []  # the templates not yet drawn: each once, until they run out
    for number in range(1, count + 1):
        if tensors:
            unused = unused or list(templates)
            problem = _tensor_problem(rng, number, unused)
            unused.remove(problem.expr)
        else:
            problem = _problem(rng, number, ops, depth)
        if key:
            problem = Problem(
                problem.id,
                problem.expr,
                problem.values,
                lr=problem.lr,
                answer=_rounded(solve(problem)),
            )
        problems.append(problem)
    header = (
        f"bpcli quiz --seed {seed} --count {count} --ops {','.join(ops)}"
        + (" --tensors" if tensors else f" --depth {depth}")
        + (" --key" if key else "")
        + "\n"
        + (tr("The answers: check a submission with  bpcli check FILE") if key else
           tr("Fill in each [problem.answer] table (replace every ?), then:  bpcli check FILE"))
    )  # fmt: skip
    valid = [p for p in problems if isinstance(p, Problem)]
    return dumps(ProblemSet("quiz", "toml", {}, list(valid)), header=header, hints=not key)


def _check_options(count: int, ops: Sequence[str], depth: int) -> tuple[str, ...]:
    if not 1 <= count <= MAX_COUNT:
        raise InputError(
            tr("--count is a whole number from 1 to {max_count}, got {count}").format(
                max_count=MAX_COUNT, count=count
            )
        )
    if not 1 <= depth <= MAX_DEPTH:
        raise InputError(
            tr("--depth is a whole number from 1 to {max_depth}, got {depth}").format(
                max_depth=MAX_DEPTH, depth=depth
            )
        )
    known = [name for name, op in OPS.items() if op.forward is not None]
    for name in ops:
        if name not in known:
            raise InputError(
                tr("--ops: unknown op {name!r}; the ops are {items}").format(
                    name=name, items=", ".join(known)
                )
            )
    if not ops:
        raise InputError(tr("--ops needs at least one op"))
    return tuple(dict.fromkeys(ops))


def _problem(rng: SplitMix64, number: int, ops: Sequence[str], depth: int) -> Problem:
    for _ in range(ATTEMPTS):
        tree = _tree(rng, ops, depth, top=True)
        if not _every_gate_has_an_input(tree):
            continue
        text = _program(rng, tree)
        names = _variables(tree)
        for _ in range(20):
            values: dict[str, Value] = {name: _value(rng) for name in names}
            lr = rng.choice(RATES) if rng.chance(1, 3) else None
            problem = Problem(str(number), text, values, lr=lr)
            if _workable(problem):
                return problem
    raise InputError(
        tr("could not make a workable problem from the ops {items}").format(items=", ".join(ops))
    )


def _workable(problem: Problem) -> bool:
    """Defined everywhere, no kink (a relu at 0, a max tie) to argue about, and some
    gradient to find (not every input cut off by a max)."""
    try:
        result = result_of(problem)
    except BpcliError:
        return False
    if not isinstance(result, Result):
        return _tensor_workable(result)
    for node in result.nodes:
        kink = OPS[node.op].kink
        if kink is not None and kink(tuple(result.values[i] for i in node.inputs), node.value):
            return False
    return any(grad != 0 for grad in result.gradients.values())


def _every_gate_has_an_input(tree: Expr) -> bool:
    """No gate works on constants alone (`2 - 2`): each has a variable below it."""
    if tree.op == "var":
        return True
    if tree.op == "const":
        return False
    below = [_every_gate_has_an_input(child) for child in tree.children]  # depth <= MAX_DEPTH
    return any(below) and all(
        b or c.op == "const" for b, c in zip(below, tree.children, strict=True)
    )


def _tree(rng: SplitMix64, ops: Sequence[str], depth: int, top: bool = False) -> Expr:
    if not top and (depth == 0 or rng.chance(1, 4)):
        if rng.chance(4, 5):
            return Expr("var", name=rng.choice(VARIABLES))
        return Expr("const", value=rng.choice(CONSTANTS))
    name = rng.choice(ops)
    arity = OPS[name].arity or 2 + rng.below(2)
    return Expr(name, tuple(_tree(rng, ops, depth - 1) for _ in range(arity)))


def _program(rng: SplitMix64, tree: Expr) -> str:
    """One expression, or, half the time, its first gate named q as in the lecture."""
    inner = [i for i, child in enumerate(tree.children) if child.children]
    if inner and rng.chance(1, 2):
        k = inner[0]
        q = Expr("var", name="q")
        rest = Expr(tree.op, tuple(q if i == k else c for i, c in enumerate(tree.children)))
        return f"q = {_text(tree.children[k])}; f = {_text(rest)}"
    return _text(tree)


def _text(tree: Expr) -> str:
    if tree.op == "var":
        return tree.name
    if tree.op == "const":
        return format(tree.value, "g")
    op = OPS[tree.op]
    if op.shown is None:
        return op.show([_text(child) for child in tree.children])
    parts = []
    for i, child in enumerate(tree.children):
        text = _text(child)
        tight = PRECEDENCE.bracketed(tree.op, i, _binding(child))
        parts.append(f"({text})" if tight else text)
    return op.show(parts)


def _binding(tree: Expr) -> int:
    if tree.op == "const" and tree.value < 0:  # written with a minus, as `neg` is
        return PRECEDENCE.strength("neg")
    return PRECEDENCE.strength(tree.op)


def _variables(tree: Expr) -> list[str]:
    found: dict[str, None] = {}
    stack = [tree]
    while stack:
        node = stack.pop()
        if node.op == "var":
            found[node.name] = None
        stack.extend(reversed(node.children))
    return list(found)


def _value(rng: SplitMix64) -> float:
    if rng.chance(7, 10):
        return float(rng.below(11) - 5)
    return (rng.below(61) - 30) / 10


def _rounded(answer: Answer) -> Answer:
    def r(value: Value) -> Value:
        if isinstance(value, list):
            return [r(item) for item in value]
        return float(f"{value:.12g}")

    def rt(table: dict[str, Value]) -> dict[str, Value]:
        return {name: r(value) for name, value in table.items()}

    return Answer(
        output=None if answer.output is None else r(answer.output),
        grad=rt(answer.grad),
        nodes=rt(answer.nodes),
        node_grads=rt(answer.node_grads),
        update=rt(answer.update),
        new_output=None if answer.new_output is None else r(answer.new_output),
    )


# ---- vectors and matrices ------------------------------------------------------------------

# The lecture's vectorised gates on a 2×2 matrix W (or A) and 2-vectors: each template
# with the ops it uses beyond the tensor-only ones (matmul, sum, transpose), which
# every tensor quiz may use; `--ops` keeps the templates whose other ops it names.
TEMPLATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("q = W @ x; f = sum(q * q)", ("mul",)),
    ("q = W @ x; f = sum(q * v)", ("mul",)),
    ("f = sum(W @ x + b)", ("add",)),
    ("q = W @ x + b; f = sum(q * q)", ("add", "mul")),
    ("h = max(W @ x + b, 0); f = sum(h * v)", ("add", "max", "mul")),
    ("h = relu(W @ x + b); f = sum(h)", ("add", "relu")),
    ("q = W.T @ x; f = sum(q * v)", ("mul",)),
    ("f = sum((A * W) @ x)", ("mul",)),
    ("f = x @ W @ v", ()),
    ("q = W @ x - b; f = sum(q * q)", ("sub", "mul")),
    ("f = sum(relu(W @ x))", ("relu",)),
)
MATRICES = ("W", "A")  # the templates' 2×2 inputs; every other input is a 2-vector


def _templates(ops: Sequence[str]) -> tuple[str, ...]:
    """The templates whose ops are all among `ops` (never none: x @ W @ v needs no op)."""
    return tuple(text for text, used in TEMPLATES if all(op in ops for op in used))


def _tensor_problem(rng: SplitMix64, number: int, templates: Sequence[str]) -> Problem:
    from .parser import parse

    for _ in range(ATTEMPTS):
        text = rng.choice(templates)
        values: dict[str, Value] = {}
        for name in parse(text).variables:
            rows = 2 if name in MATRICES else 1
            drawn = [[_small(rng) for _ in range(2)] for _ in range(rows)]
            values[name] = drawn if name in MATRICES else drawn[0]
        lr = rng.choice(RATES) if rng.chance(1, 3) else None
        problem = Problem(str(number), text, values, lr=lr)
        if _workable(problem):
            return problem
    raise InputError(tr("could not make a workable matrix problem"))


def _small(rng: SplitMix64) -> float:
    """A whole number or a half, -3 to 3: small enough to multiply matrices by hand."""
    return (rng.below(13) - 6) / 2


def _tensor_workable(result: TensorResult) -> bool:
    """No element at a kink (a relu at 0, a max tie), and some gradient to find."""
    import numpy as np

    values = result.values
    graph = result.graph
    for node_id in range(len(graph)):
        kink = OPS[graph.op(node_id)].kink
        inputs = graph.inputs(node_id)
        if kink is None or not inputs:
            continue
        args = np.broadcast_arrays(*(np.asarray(values[i]) for i in inputs))
        out = np.broadcast_to(np.asarray(values[node_id]), args[0].shape)
        for k in np.ndindex(out.shape):
            if kink(tuple(float(a[k]) for a in args), float(out[k])):
                return False
    return any(np.any(np.asarray(g) != 0) for g in result.gradients.values())
