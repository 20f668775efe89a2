"""Forward and backward passes as loops over the graph, and gradient descent.

All maths comes from the op table. The loops are compiled once, when this
module is imported, from the table's rule expressions: each op's forward rule
and local derivatives are written inline in the loop, under a dispatch on the
op code (a test each for the table's common ops, then a binary search), so a
node costs a few list reads and no function call. Nothing here names an op;
`LOOPS` is the generated source, for reading, and it is registered with
`linecache` under `FILENAME`, so a traceback from inside a loop shows the line.
"""

from __future__ import annotations

import itertools
import linecache
import math
import operator
import re
import sys
from array import array
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .errors import DomainError
from .graph import NO_INPUT, Graph
from .i18n import tr
from .ops import (
    CODES,
    OP_NAMES,
    OPS,
    PARAMETERS,
    RULE_SCOPE,
    Conventions,
    Infinite,
    Op,
    Undefined,
)

LEAVES = 2  # op codes below this are leaves (var, const): nothing to compute
COLUMNS = ("first", "second")  # the graph's columns of input ids, in input order
INDICES = ("j", "k")  # the loop's names for those ids
assert CODES["var"] < LEAVES and CODES["const"] < LEAVES


class _Slow(Exception):
    """Raised inside the compiled flow loop: this node is for the exact rule."""


class _Failed(Exception):
    """Raised inside a compiled loop: node `i` failed; `message` None means overflow."""

    def __init__(self, i: int, message: str | None) -> None:
        self.i = i
        self.message = message


# ---- compiling the loops from the op table ---------------------------------------------


def _dispatch(codes: list[int], body: Callable[[Op], list[str]], indent: str) -> list[str]:
    """`if code < m: … else: …`, halving the codes until one op's body is left."""
    if len(codes) == 1:
        return [indent + line for line in body(OPS[OP_NAMES[codes[0]]])]
    middle = len(codes) // 2
    return [
        f"{indent}if code < {codes[middle]}:",
        *_dispatch(codes[:middle], body, indent + "    "),
        f"{indent}else:",
        *_dispatch(codes[middle:], body, indent + "    "),
    ]


def _common_first(
    codes: list[int], body: Callable[[Op], list[str]], indent: str, leaf: str = ""
) -> list[str]:
    """`if code == c: … elif …` for the table's common ops, in table order, one comparison
    each (most of a program's gates are these), then `leaf`'s line where given (for a
    leaf), then `_dispatch` halving the rest."""
    common = [code for code in codes if OPS[OP_NAMES[code]].common]
    lines = []
    for n, code in enumerate(common):
        lines.append(f"{indent}{'elif' if n else 'if'} code == {code}:")
        lines += [f"{indent}    {line}" for line in body(OPS[OP_NAMES[code]])]
    if leaf:
        lines += [f"{indent}{'elif' if lines else 'if'} code < {LEAVES}:", f"{indent}    {leaf}"]
    rest = [code for code in codes if code not in common]
    if not rest:
        return lines
    tree = _dispatch(rest, body, indent + "    ")
    return [*lines, f"{indent}else:", *tree] if lines else [line[4:] for line in tree]


def _uses(expression: str, name: str) -> bool:
    return re.search(rf"\b{name}\b", expression) is not None


def _forward_body(op: Op) -> list[str]:
    assert op.rule is not None
    if op.arity is None:
        return ["v = _forward[code](*_arguments(i))"]
    reads = [f"{p} = values[{index}]" for p, index in zip(PARAMETERS, INDICES, strict=True)]
    return [*reads[: op.arity], f"v = {op.rule}"]


def _reads(op: Op, ids: bool = True) -> list[str]:
    """A gate's input ids (unless the loop has them), and the values its local
    derivatives read."""
    lines = [f"{index} = {column}[i]" for index, column in zip(INDICES, COLUMNS, strict=True)]
    lines = lines[: op.arity] if ids else []
    used = " ".join(op.local)
    for p, index in zip(PARAMETERS[: op.arity or 0], INDICES, strict=False):
        if _uses(used, p):
            lines.append(f"{p} = values[{index}]")
    if _uses(used, "out"):
        lines.append("out = values[i]")
    return lines


def _backward_body(op: Op) -> list[str]:
    """One gate's backward step. A constant, or a gate of constants only (the graph's
    `fixed`), gets no gradient: no edge sends into one, so none is ever visited as a
    gate (its gradient stays 0). A visited gate is therefore not fixed, and a gate of
    one input is fixed exactly when its input is: only a gate of two inputs, one of
    which may be a constant, checks each edge, and a constant's local derivative is
    never evaluated (it may be undefined, or too large for a float)."""
    if op.arity is None:
        return ["_slow(i, code, g)"]
    lines = _reads(op, ids=False)
    for index, expression in zip(INDICES, op.local, strict=False):
        if expression == "1.0":
            step = f"grads[{index}] += g"
        elif expression == "-1.0":
            step = f"grads[{index}] -= g"
        else:
            step = f"grads[{index}] += g * ({expression})"
        lines.append(f"if not fixed[{index}]: {step}" if op.arity > 1 else step)
    return lines


def _literal(expression: str) -> bool:
    try:
        float(expression)
    except ValueError:
        return False
    return True


def _flow_body(op: Op) -> list[str]:
    """One gate's local derivatives and what each of its input edges sends back, where
    both are plain numbers; anything else (a router, an undefined or infinite local
    derivative, an upstream gradient that is None) is `_slow`'s, the exact rule."""
    if op.arity is None:
        return ["raise _Slow"]
    lines = ["e = start[i]", *_reads(op)]
    locals_ = [f"l{n}" for n in range(op.arity)]
    rules = list(zip(locals_, op.local, strict=True))
    lines += [f"{name} = {expression}" for name, expression in rules]
    computed = [name for name, expression in rules if not _literal(expression)]
    if computed:
        lines.append(f"if {' or '.join(f'{name} - {name}' for name in computed)}:  # inf or nan")
        lines.append("    raise _Slow")
    lines.append("g = grads[i]")
    lines.append("if g is None:")
    lines.append("    raise _Slow")
    for n, (name, index, expression) in enumerate(zip(locals_, INDICES, op.local, strict=False)):
        edge = "e" if n == 0 else f"e + {n}"
        product = "g" if expression == "1.0" else "-g" if expression == "-1.0" else f"g * {name}"
        lines.append(f"local[{edge}] = {name}")
        lines.append(f"sent[{edge}] = None if fixed[{index}] else {product} if g else 0.0")
    return lines


def _loops() -> str:
    # the ops of numbers: an op of vectors and matrices only (scalar=False) is tensor.py's
    computed = [code for code, name in enumerate(OP_NAMES) if code >= LEAVES and OPS[name].scalar]
    assert all(OPS[OP_NAMES[code]].rule is not None for code in computed)
    forward = _common_first(computed, _forward_body, " " * 8)
    checked = _common_first(computed, _forward_body, " " * 12)
    leaf = "continue  # an input: checked afterwards"
    backward = _common_first(computed, _backward_body, " " * 12, leaf)
    flowing = _dispatch(computed, _flow_body, " " * 12)
    # The forward and the backward loop take each node's code and input ids j, k from
    # one zip of the columns, and count i themselves: a subscript of each column by i
    # took 7 to 10 % longer. (NO_INPUT's -1 where a node has fewer is never read.)
    return "\n".join(
        [
            "def forward_loop(codes, first, second, values, _arguments):",
            "    i = -1",
            "    for code, j, k in zip(codes, first, second):",
            "        i += 1",
            f"        if code < {LEAVES}:",
            "            continue",
            *forward,
            "        values[i] = v",
            "",
            "",
            "def checked_forward_loop(codes, first, second, values, _arguments):",
            "    i = -1",
            "    try:",
            "        for code, j, k in zip(codes, first, second):",
            "            i += 1",
            f"            if code < {LEAVES}:",
            "                continue",
            *checked,
            "            if v - v:  # inf or nan",
            "                raise _Failed(i, None)",
            "            values[i] = v",
            "    except Undefined as exc:",
            "        raise _Failed(i, str(exc)) from None",
            "    except (OverflowError, ZeroDivisionError):",
            "        raise _Failed(i, None) from None",
            "",
            "",
            "def backward_loop(codes, first, second, values, grads, fixed, _slow):",
            "    i = len(codes)",
            "    try:",
            "        for code, j, k in zip(reversed(codes), reversed(first), reversed(second)):",
            "            i -= 1",
            "            g = grads[i]",
            "            if not g:  # sends zero, or a constant (fixed): skip the gate",
            "                continue",
            *backward,
            "    except Undefined as exc:",
            "        raise _Failed(i, str(exc)) from None",
            "    except (OverflowError, ZeroDivisionError):",
            "        raise _Failed(i, None) from None",
            "",
            "",
            "def flow_loop(codes, first, second, values, grads, fixed, start, local, sent, _slow):",
            "    for i, code in enumerate(codes):",
            f"        if code < {LEAVES}:",
            "            continue",
            "        try:",
            *flowing,
            "        except (_Slow, Undefined, OverflowError, ZeroDivisionError):",
            "            _slow(i)",
            "",
        ]
    )


FILENAME = "<bpcli.engine loops>"  # where a traceback from inside the loops points


def build() -> None:
    """Compile the loops from the op table as it is now (at import; again after a change).

    The source goes into `linecache` under FILENAME (with no modification time, so
    `linecache.checkcache` keeps it), as the interpreter does for its own `<stdin>`:
    a traceback through a loop then shows the line it failed on.
    """
    global LOOPS, _forward_loop, _checked_forward_loop, _backward_loop, _flow_loop
    LOOPS = _loops()
    linecache.cache[FILENAME] = (len(LOOPS), None, LOOPS.splitlines(keepends=True), FILENAME)
    scope: dict[str, Any] = {
        **RULE_SCOPE,
        "_Failed": _Failed,
        "_Slow": _Slow,
        "Undefined": Undefined,
        "_forward": [OPS[name].forward for name in OP_NAMES],
    }
    exec(compile(LOOPS, FILENAME, "exec"), scope)  # our table's text only
    _forward_loop = scope["forward_loop"]
    _checked_forward_loop = scope["checked_forward_loop"]
    _backward_loop = scope["backward_loop"]
    _flow_loop = scope["flow_loop"]


LOOPS: str
_forward_loop: Callable[..., None]
_checked_forward_loop: Callable[..., None]
_backward_loop: Callable[..., None]
_flow_loop: Callable[..., None]
build()


# ---- the passes ---------------------------------------------------------------------------


def _domain_error(graph: Graph, node_id: int, message: str) -> DomainError:
    span = (graph.starts[node_id], graph.ends[node_id])
    text = graph.text(node_id)
    return DomainError(
        tr("{message}, in `{text}`").format(message=message, text=text),
        span=span,
        source=graph.source,
    )


def forward(graph: Graph, inputs: Mapping[str, float]) -> list[float]:
    """Every node's value, in topological order. `inputs` holds every variable.

    The loop checks no node: a value that is infinite or not a number stays in its
    node's slot (even where a later op makes it finite again, tanh(inf) = 1), so it
    shows in the sum of all the values, and a rule that meets one may raise (sin(inf)).
    Either way the checked loop runs again from the start and stops at the first node
    that fails, with its error; a sum that overflows alone finds none there."""
    values = graph.consts.tolist()
    for name, node_id in graph.variables.items():
        values[node_id] = inputs[name]

    def arguments(i: int) -> list[float]:
        """The input values of a gate of two or more inputs (max, min)."""
        return [values[j] for j in graph.inputs(i)]

    columns = (graph.codes, graph.first, graph.second, values, arguments)
    try:
        _forward_loop(*columns)
        total = sum(values)
        if not total - total:
            return values
    except (Undefined, ArithmeticError, ValueError):
        pass  # the checked loop says where
    try:
        _checked_forward_loop(*columns)
    except _Failed as failed:
        message = failed.message or tr("{op} overflows: the value is too large").format(
            op=graph.op(failed.i)
        )
        raise _domain_error(graph, failed.i, message) from None
    return values


def backward(
    graph: Graph, values: list[float], conventions: Conventions = Conventions()
) -> list[float | None]:
    """d(output)/d(node) for every node; None for constants (and gates of constants only),
    which are not differentiated.

    Seeds the output with 1 and walks the nodes in reverse topological order,
    adding each use's contribution (+=): a node used twice sums both, the copy
    gate. A gate whose upstream gradient is exactly 0 sends 0 to its inputs
    without evaluating its local derivatives. Nothing is sent to a constant, or
    to a gate of constants only (the graph's `fixed`): what it would get is not
    asked for, so it can neither fail nor overflow the run. A constant output
    (`f = 2 * 3`) has df/df = 1 and sends nothing.
    """
    codes = graph.codes
    fixed, constants = _fixed(graph)
    grads: list[float] = [0.0] * len(codes)
    grads[graph.output] = 1.0

    def slow(i: int, code: int, g: float) -> None:
        """A gate of two or more inputs (max, min): its partials depend on the tie rule."""
        inputs = graph.inputs(i)
        args = tuple(values[j] for j in inputs)
        rules = OPS[OP_NAMES[code]].partials_for(len(inputs), conventions)
        assert len(rules) == len(inputs), "one partial per input"
        for j, rule in zip(inputs, rules, strict=True):
            if not fixed[j]:
                grads[j] += g * rule(args, values[i])

    pending: dict[int, tuple[int, str]] = {}
    try:
        try:
            if not fixed[graph.output]:
                _backward_loop(codes, graph.first, graph.second, values, grads, fixed, slow)
            # The loop checks no gradient: one that is infinite or not a number reaches an
            # input, since a gate that is not fixed sends to each input that is not, and
            # infinity or nan times any local derivative, added to anything, stays so.
            for node_id in graph.variables.values():
                if grads[node_id] - grads[node_id]:
                    raise _Failed(node_id, None)
        except _Failed:
            # Undefined, infinite or overflowing somewhere: the exact pass decides, from the
            # start (the compiled loop may have added part of a gate).
            grads[:] = [0.0] * len(codes)
            grads[graph.output] = 1.0
            if not fixed[graph.output]:
                pending = _exact(graph, values, grads, fixed, conventions)
    except _Failed as failed:
        raise _domain_error(graph, failed.i, _overflows(graph, failed.i)) from None
    reached = [pending[v] for v in graph.variables.values() if v in pending]
    if reached:  # an infinite local gradient reaches an input: the error the walk met first
        origin, message = max(reached)
        raise _domain_error(graph, origin, message)
    result: list[float | None] = grads  # type: ignore[assignment]
    for node_id in constants:
        result[node_id] = None
    for node_id in pending:  # infinite or undefined, and stopped by an exact zero later
        result[node_id] = None
    return result


def _fixed(graph: Graph) -> tuple[list[int], list[int]]:
    """The graph's `fixed` as a list (it reads faster than a bytearray in the loop's edge
    checks), and the fixed nodes but the output (df/df is 1 even when f is constant):
    made once a graph, so that a constant costs a backward pass one store of None. Where
    the constants are all the fixed nodes (no gate of constants only, and the output is
    not one), they are the parser's `constant_ids`, and no scan finds them."""
    made: tuple[list[int], list[int]] | None = graph.derived.get("fixed")
    if made is None:
        fixed = list(graph.fixed)
        ids = graph.constant_ids
        if len(ids) != graph.fixed.count(1) or fixed[graph.output]:
            ids = list(itertools.compress(range(len(fixed)), fixed))
            if fixed[graph.output]:
                ids.remove(graph.output)
        made = graph.derived["fixed"] = (fixed, ids)
    return made


def _overflows(graph: Graph, node_id: int) -> str:
    return tr("the gradient at {node} overflows").format(node=graph.name(node_id))


def _exact(
    graph: Graph,
    values: list[float],
    grads: list[float],
    fixed: list[int],
    conventions: Conventions,
) -> dict[int, tuple[int, str]]:
    """The backward pass again, one rule at a time, where the compiled loop failed.

    Each edge sends its `pullback`: g times the local derivative, or the op's `vjp`
    form where that derivative alone is too large for a float. And the convention
    "infinite times zero": an undefined or infinite local derivative does not fail
    the run at once; its input gets a pending infinity (the node that raised it, and
    the message). A gate with a pending infinity sends nothing along an edge whose
    local derivative is exactly 0 (relu below 0, a max or min loser, a zero factor)
    and passes the pending infinity along the others; the caller raises the original
    error where one reaches an input variable. Returns the pending infinities by node.
    Raises _Failed(i, None) where a gradient overflows, as the compiled loop does: the
    common path never comes here, and costs nothing.
    """
    pending: dict[int, tuple[int, str]] = {}
    codes = graph.codes
    for i in range(len(codes) - 1, -1, -1):
        g = grads[i]
        upstream = pending.get(i)
        if (not g and upstream is None) or codes[i] < LEAVES:
            continue
        if g - g:
            raise _Failed(i, None)
        op = OPS[OP_NAMES[codes[i]]]
        inputs = graph.inputs(i)
        args = tuple([values[j] for j in inputs])
        out = values[i]
        partials = op.partials_for(len(inputs), conventions)
        for k, (j, partial) in enumerate(zip(inputs, partials, strict=True)):
            if fixed[j]:
                continue
            try:
                local = partial(args, out)
            except Undefined as exc:
                _pend(pending, j, upstream or (i, str(exc)))
                continue
            except OverflowError:
                local = math.inf
            if upstream is not None and local != 0.0:
                _pend(pending, j, upstream)
            if g:
                grads[j] += pullback(op, k, args, out, g, local)
    for node_id in graph.variables.values():
        if node_id not in pending and grads[node_id] - grads[node_id]:
            raise _Failed(node_id, None)
    return pending


def _pend(pending: dict[int, tuple[int, str]], j: int, infinity: tuple[int, str]) -> None:
    """Node j gets a pending infinity; of two, the one from the later node, which the
    compiled walk (in reverse order) meets first."""
    if j not in pending or infinity[0] > pending[j][0]:
        pending[j] = infinity


def pullback(op: Op, k: int, args: tuple[float, ...], out: float, g: float, local: float) -> float:
    """What edge k sends back: g times its local derivative, or, where that alone is too
    large for a float, the op's `vjp` form (`g / a`, not `g * (1.0 / a)`)."""
    if not local - local or not op.vjp:
        return g * local
    try:
        return float(op.vjps[k](args, out, g))
    except (OverflowError, ZeroDivisionError):
        return math.inf


def infinite(
    graph: Graph, values: list[float], node_id: int, k: int, conventions: Conventions
) -> bool:
    """Whether node `node_id`'s local derivative along input edge k is infinite (sqrt's at
    0, or too large for a float), rather than undefined (or finite)."""
    inputs = graph.inputs(node_id)
    partial = OPS[graph.op(node_id)].partials_for(len(inputs), conventions)[k]
    try:
        local = partial(tuple([values[j] for j in inputs]), values[node_id])
    except Infinite:
        return True
    except Undefined:
        return False
    except OverflowError:
        return True
    return math.isinf(local)


@dataclass(frozen=True, slots=True)
class Edges:
    """A graph's edges, as flat arrays (a few bytes an edge, made once a graph). Edges are
    numbered by consumer: node i's input edges are `start[i]` to `start[i + 1] - 1`, in
    input order. Node j's uses are `order[uses_start[j]]` to
    `order[uses_start[j + 1] - 1]` (by consumer and then input position), and
    `used_by` holds each use's consumer, in the same order. `chained` says that no node
    has two uses and each use is the edge of its own number (`order[u] == u`), as in a
    chain: what the uses send back is then what the edges send, in the same order."""

    start: array[int]
    uses_start: array[int]
    order: array[int]
    used_by: array[int]
    chained: bool = False

    def inputs(self, i: int) -> range:
        """Node i's input edges."""
        return range(self.start[i], self.start[i + 1])

    def uses(self, j: int) -> range:
        """Node j's uses."""
        return range(self.uses_start[j], self.uses_start[j + 1])


def edges(graph: Graph) -> Edges:
    """The graph's Edges, made once and kept: by sorting the edges by their input, a
    stable sort that keeps the uses of one input in edge order (which is consumer order).
    Where the edges are in order of their inputs already (a chain: each gate's inputs
    are the nodes just before it), that order is the uses' order, and no sort is made.
    The arrays are unsigned (_IDS): an unsigned array stores an int without the
    argument parsing a signed one does, which was a third of a chain's edges' time."""
    made: Edges | None = graph.derived.get("edges")
    if made is not None:
        return made
    n = len(graph)
    ids: array[int]
    arity: Sequence[int]
    present: Sequence[int]
    if graph.more:
        inputs = [j for i in range(n) for j in graph.inputs(i)]  # every edge's input
        owner = array(_IDS, [i for i in range(n) for _ in graph.inputs(i)])  # … its consumer
        arity = [len(graph.inputs(i)) for i in range(n)]
        ids = array(_IDS)  # (the uses' order made below from a range)
    else:  # columns first and second, NO_INPUT where absent
        pairs = array(graph.first.typecode, [NO_INPUT]) * (2 * n)
        pairs[0::2], pairs[1::2] = graph.first, graph.second
        arity, present = _arity(graph.codes)
        found = _present(pairs)
        if found != present:  # not as the table says (a router with fewer): as the columns do
            present = found
            arity = bytes(map(operator.add, present[::2], present[1::2]))
        inputs = list(itertools.compress(pairs, present))
        del pairs
        ids = array(_IDS, range(n))  # as an array, not a million ints kept at once
        both = array(_IDS, [0]) * (2 * n)  # each id twice, for its columns first and second
        both[0::2] = both[1::2] = ids
        owner = array(_IDS, itertools.compress(both, present))  # each edge's consumer
        del both
    start = array(_IDS, itertools.accumulate(arity, initial=0))
    del arity
    m = len(inputs)
    if array(_IDS, inputs) == ids[:m]:
        # edge k's input is node k (a chain: each gate's inputs are the nodes just before
        # it, each used once): node k's one use is edge k, and nodes m on have none; no
        # count made node by node (a third of a chain's edges' time)
        # (0 to m: the start of ids; m < n, since an input comes before its consumer)
        uses_start = ids[: m + 1] + array(_IDS, [m]) * (n - m)
        made = graph.derived["edges"] = Edges(start, uses_start, ids[:m], owner, True)
        return made
    counts = [0] * n
    for j in inputs:
        counts[j] += 1
    uses_start = array(_IDS, itertools.accumulate(counts, initial=0))
    chained = False
    if inputs == sorted(inputs):  # the uses are the edges, in the same order
        order = ids[: len(inputs)] if len(inputs) <= len(ids) else array(_IDS, range(len(inputs)))
        used_by = owner
        chained = max(counts, default=0) <= 1
    else:
        ordered = sorted(range(len(inputs)), key=inputs.__getitem__)  # the uses: stable
        consumers = list(owner)
        used_by = array(_IDS, map(consumers.__getitem__, ordered))
        order = array(_IDS, ordered)
    del counts
    made = graph.derived["edges"] = Edges(start, uses_start, order, used_by, chained)
    return made


_IDS = "I"  # the typecode of the Edges' arrays: ids and edge numbers, never negative


def _present(pairs: array[int]) -> bytes:
    """1 where an entry of an array of 8-byte input ids holds one, 0 where NO_INPUT (-1):
    from each entry's most significant byte, 0 for an id and 0xff for -1, all in C (a
    test of each entry made an int of each)."""
    assert pairs.itemsize == 8 and NO_INPUT == -1
    high = pairs.tobytes()[7::8] if sys.byteorder == "little" else pairs.tobytes()[0::8]
    return high.translate(_HIGH_BYTE)


_HIGH_BYTE = bytes([1] * 255 + [0])  # by the most significant byte: only -1's is 0xff


def _arity(codes: list[int]) -> tuple[bytes, bytearray]:
    """Each node's count of inputs as its op's arity says (2 for a router's, max or min,
    which may have fewer), and whether its columns first and second hold one, the two
    interleaved: made from the op codes at once, for edges to check against the columns."""
    ops = bytes(codes)
    present = bytearray(2 * len(ops))
    present[0::2] = ops.translate(_HAS_FIRST)
    present[1::2] = ops.translate(_HAS_SECOND)
    return ops.translate(_ARITY), present


_ARITY = bytes(2 if op.arity is None else op.arity for op in OPS.values()).ljust(256, b"\0")
_HAS_FIRST = bytes(min(arity, 1) for arity in _ARITY)  # (translation tables, by op code)
_HAS_SECOND = bytes(arity // 2 for arity in _ARITY)


class Flow(NamedTuple):
    """Every edge's local derivative d(node)/d(input) (`local`) and what it sends back
    (`sent`), numbered as `edges` numbers them: two flat lists of numbers, whatever the
    graph's shape (a list a node was most of a million-node answer's memory)."""

    local: list[float | None]
    sent: list[float | None]
    edges: Edges

    def local_row(self, i: int) -> tuple[float | None, ...]:
        """Node i's local derivatives, one per input."""
        start = self.edges.start
        return tuple(self.local[start[i] : start[i + 1]])

    def sends(self, i: int) -> tuple[float | None, ...]:
        """What node i's input edges send back, in input order."""
        return tuple(self.sent[self.edges.start[i] : self.edges.start[i + 1]])

    def uses(self, j: int) -> tuple[tuple[int, float | None], ...]:
        """Node j's uses as (consumer id, what that use sends back)."""
        edges = self.edges
        first, last = edges.uses_start[j], edges.uses_start[j + 1]
        sent = map(self.sent.__getitem__, edges.order[first:last])
        return tuple(zip(edges.used_by[first:last], sent, strict=True))


def flow(
    graph: Graph,
    values: list[float],
    grads: list[float | None],
    conventions: Conventions = Conventions(),
) -> Flow:
    """Every node's local derivatives d(node)/d(input), one per input (None where
    undefined or too large for a float), and what each edge sends back. An edge sends
    what the backward pass sends (the op's pullback; a node whose gradient is 0 sends
    0); a constant gets None. Under the convention "zero times infinite" a node that is
    not a constant may have the gradient None (infinite or undefined): its edges send
    None, except an edge whose local derivative is exactly 0, which sends 0; an edge
    whose local derivative is undefined sends None. A node's gradient is the sum of what
    its uses send back (the copy gate); the output's is the seed, 1.

    The backward pass needs only some of these; explanations and the JSON show them
    all. Plain numbers go through a loop compiled from the op table; a node where a
    rule is undefined, infinite or a router's is worked out rule by rule (`_flow_node`).
    """
    found = edges(graph)
    size = found.start[len(graph)]
    local: list[float | None] = [None] * size
    sent: list[float | None] = [None] * size

    def slow(i: int) -> None:
        _flow_node(graph, i, values, grads, conventions, found, local, sent)

    fixed = _fixed(graph)[0]
    _flow_loop(
        graph.codes, graph.first, graph.second, values, grads, fixed,
        found.start, local, sent, slow,
    )  # fmt: skip
    return Flow(local, sent, found)


def _flow_node(
    graph: Graph,
    i: int,
    values: list[float],
    grads: list[float | None],
    conventions: Conventions,
    found: Edges,
    local: list[float | None],
    sent: list[float | None],
) -> None:
    """Node i's local derivatives and sends, one rule at a time (see `flow`)."""
    inputs = graph.inputs(i)
    op = OPS[graph.op(i)]
    rules = op.partials_for(len(inputs), conventions)
    args = tuple([values[j] for j in inputs])
    out = values[i]
    upstream = grads[i]
    fixed = graph.fixed
    e = found.start[i]
    for k, (j, rule) in enumerate(zip(inputs, rules, strict=True)):
        local_grad: float | None
        try:
            local_grad = rule(args, out)
        except (Undefined, OverflowError, ZeroDivisionError):
            local_grad = None
        if local_grad is not None and local_grad - local_grad:  # inf: undefined
            local_grad = None
        local[e + k] = local_grad
        sending: float | None
        if fixed[j]:
            sending = None
        elif upstream is None:  # infinite: only an exact zero stops it
            sending = 0.0 if local_grad == 0.0 else None
        elif upstream == 0.0:
            sending = 0.0
        elif local_grad is None:  # too large alone, or undefined: as `pullback` sends it
            try:
                local_k = op.partials[k](args, out)  # not a router: never None
            except Undefined:  # infinite: the backward pass recorded it
                sending = None
            except OverflowError:
                sending = pullback(op, k, args, out, upstream, math.inf)
            else:
                sending = pullback(op, k, args, out, upstream, local_k)
        else:
            sending = upstream * local_grad
        sent[e + k] = sending


class Step(NamedTuple):
    """One point of a gradient-descent trajectory: the inputs and the output there (a
    named tuple: a batch line with lr makes two)."""

    step: int
    inputs: dict[str, float]
    output: float


def descend(
    graph: Graph,
    values: list[float],
    grads: list[float | None],
    lr: float,
    steps: int,
    conventions: Conventions = Conventions(),
    every: int = 1,
) -> list[Step]:
    """Gradient descent, x := x - lr * df/dx for every input, from a point whose
    forward `values` and `grads` are known: the points of steps 0 to `steps`, or,
    with `every` k, of step 0, step 1, every k-th step and the last."""
    trajectory: list[Step] = []
    for step in range(steps + 1):
        point = {name: values[node_id] for name, node_id in graph.variables.items()}
        if step % every == 0 or step == 1 or step == steps:
            trajectory.append(Step(step, point, values[graph.output]))
        if step == steps:
            break
        try:
            if step > 0:
                grads = backward(graph, values, conventions)
            moved = {}
            for name, node_id in graph.variables.items():
                grad = grads[node_id]
                assert grad is not None
                new = point[name] - lr * grad
                if not math.isfinite(new):
                    raise update_overflows(name)
                moved[name] = new
            values = forward(graph, moved)
        except DomainError as exc:
            raise at_step(exc, step + 1) from None
    return trajectory


def update_overflows(name: str) -> DomainError:
    """An update step x - lr·∂f/∂x past the float range (the scalar and the tensor descent)."""
    return DomainError(
        tr("the update of {name} overflows (is the learning rate too large?)").format(name=name)
    )


def at_step(exc: DomainError, step: int) -> DomainError:
    """`exc` said where gradient descent met it (the scalar and the tensor descent)."""
    return DomainError(
        tr("at step {step} of gradient descent: {message}").format(step=step, message=exc.message),
        span=exc.span,
        source=exc.source,
        field="lr",  # where the learning rate took the inputs
    )


# ---- one graph's passes as straight-line code (batch: one graph, many points) -------------


class StraightLine(NamedTuple):
    """A graph's forward pass, backward pass, every edge's local derivative and send, and
    (given a learning rate) one step of gradient descent and the forward pass there,
    compiled from the op table into one function of straight-line code for this graph:
    no loop, no dispatch, every value a local variable.

    `run(inputs, lr)`, the inputs' values in the order of `graph.variables`, gives the
    numbers `forward`, `backward`, `flow` and `descend` (one step) give, as one list:
    every node's value, every node's gradient, every edge's local derivative, every
    edge's send (numbered as `edges` numbers them), and with `lr` the inputs after the
    step and the output there; or None wherever those passes would meet anything but
    plain finite numbers (an error, an infinity, an undefined local derivative), for
    them to decide. `nones` are the positions that are always None (a constant's
    gradient, what an edge sends to a constant); `known` those that are always the same
    number (the output's gradient, 1; a local derivative that is a constant of the
    table); `same` those that always hold the number of another (a local derivative
    that is an input's value: `b`, `a` of mul; what an edge of local derivative 1 or -1
    sends to a node that has no other use: that node's gradient), so that an answer
    writes it once; `source` is the function's text."""

    run: Callable[[list[float], float | None], list[float | None] | None]
    nones: frozenset[int]
    known: dict[int, float]
    same: dict[int, int]
    source: str


STRAIGHT_NODES = 1_000  # a larger graph is not compiled: about 0.4 ms a node to compile


def straight_line(graph: Graph) -> StraightLine | None:
    """The graph's StraightLine, compiled once and kept; None for a graph that has a
    gate of two or more inputs (max, min: their rule is the tie convention's), an op for
    tensors only, or more than STRAIGHT_NODES nodes."""
    made: StraightLine | bool | None = graph.derived.get("straight line", False)
    if made is False:
        made = graph.derived["straight line"] = _straight_line(graph)
    return made  # type: ignore[return-value]


def _straight_line(graph: Graph) -> StraightLine | None:
    codes, first, second, fixed = graph.codes, graph.first, graph.second, graph.fixed
    n = len(codes)
    ops = [OPS[OP_NAMES[code]] for code in codes]
    if n > STRAIGHT_NODES or graph.more:
        return None
    if any(
        code >= LEAVES and (op.arity is None or not op.scalar)
        for code, op in zip(codes, ops, strict=True)
    ):
        return None
    order = list(graph.variables.values())  # the inputs' nodes, in the inputs' order
    if sorted(order) != [i for i in range(n) if codes[i] == CODES["var"]]:
        return None
    found = edges(graph)
    start, size = found.start, found.start[n]

    def of(i: int) -> tuple[int, ...]:
        """Node i's inputs."""
        return (first[i], second[i])[: ops[i].arity or 0]

    def reads(i: int, used: str, v: str) -> list[str]:
        """The names a rule or local derivative of node i reads, from the values `v`."""
        found = []
        for parameter, j in zip(PARAMETERS, of(i), strict=False):
            if _uses(used, parameter):
                found.append(f"{parameter} = {v}{j}")
        if _uses(used, "out"):
            found.append(f"out = {v}{i}")
        return found

    def forward(v: str, given: list[str]) -> list[str]:
        """The forward pass into v0, v1, … (as `forward` computes it, node by node)."""
        lines = []
        for i, code in enumerate(codes):
            if code == CODES["var"]:
                lines.append(f"{v}{i} = {given[order.index(i)]}")
            elif code == CODES["const"]:
                lines.append(f"{v}{i} = C[{i}]")
            else:
                rule = ops[i].rule
                assert rule is not None
                lines += [*reads(i, rule, v), f"{v}{i} = {rule}"]
                lines.append(f"if {v}{i} - {v}{i}: return None  # inf or nan")
        return lines

    inputs = [f"x{k}" for k in range(len(order))]
    lines = [f"{', '.join(inputs)}, = inputs" if inputs else "", *forward("v", inputs)]
    # backward: as `backward` adds each use's gradient, in reverse order; a constant (or a
    # gate of constants only) gets none, and one whose gradient is exactly 0 sends none
    grad = [None if fixed[i] and i != graph.output else f"g{i}" for i in range(n)]
    lines += [f"{name} = 0.0" for i, name in enumerate(grad) if name and i != graph.output]
    lines.append(f"g{graph.output} = 1.0")
    if not fixed[graph.output]:
        for i in range(n - 1, -1, -1):
            if codes[i] < LEAVES or fixed[i]:
                continue
            op, g = ops[i], f"g{i}"
            body = [f"if {g} - {g}: return None", *reads(i, " ".join(op.local), "v")]
            for j, expression in zip(of(i), op.local, strict=True):
                if fixed[j]:
                    continue
                if expression == "1.0":
                    body.append(f"g{j} += {g}")
                elif expression == "-1.0":
                    body.append(f"g{j} -= {g}")
                else:
                    body.append(f"g{j} += {g} * ({expression})")
            lines += [f"if {g}:", *("    " + line for line in body)]
    lines.append(f"if {' or '.join(f'g{j} - g{j}' for j in order) or '0'}: return None")
    # each edge's local derivative and what it sends back, as `flow` finds them
    known, same = {n + graph.output: 1.0}, {}
    for i in range(n):
        if codes[i] < LEAVES:
            continue
        op = ops[i]
        lines += reads(i, " ".join(op.local), "v")
        computed = []
        for k, expression in enumerate(op.local):
            lines.append(f"l{start[i] + k} = {expression}")
            place = 2 * n + start[i] + k
            if _literal(expression):
                known[place] = float(expression)
                continue
            computed.append(f"l{start[i] + k}")
            parameters = dict(zip(PARAMETERS, of(i), strict=False)) | {"out": i}
            if expression in parameters:  # the value of an input, or of the node itself
                same[place] = parameters[expression]
        if computed:
            lines.append(f"if {' or '.join(f'{name} - {name}' for name in computed)}: return None")
        for k, (j, expression) in enumerate(zip(of(i), op.local, strict=True)):
            e = start[i] + k
            if fixed[j]:
                lines.append(f"s{e} = None")
                continue
            g = f"g{i}"
            if expression in ("1.0", "-1.0") and len(found.uses(j)) == 1 and j != graph.output:
                # j's one use: its gradient is 0.0 + g or 0.0 - g, this send to the bit
                lines.append(f"s{e} = g{j}")
                same[2 * n + size + e] = n + j
                continue
            product = (
                g if expression == "1.0" else f"-{g}" if expression == "-1.0" else f"{g} * l{e}"
            )
            lines.append(f"s{e} = {product} if {g} else 0.0")
    numbers = [
        *(f"v{i}" for i in range(n)),
        *(name or "None" for name in grad),
        *(f"l{e}" for e in range(size)),
        *(f"s{e}" for e in range(size)),
    ]
    lines += ["if lr is None:", f"    return [{', '.join(numbers)}]"]
    # one step of gradient descent, and the forward pass at the new point
    moved = [f"u{k}" for k in range(len(order))]
    for name, x, j in zip(moved, inputs, order, strict=True):
        lines += [f"{name} = {x} - lr * g{j}", f"if {name} - {name}: return None"]
    lines += forward("w", moved)
    lines.append(f"return [{', '.join([*numbers, *moved, f'w{graph.output}'])}]")
    source = "\n".join(
        [
            "def run(inputs, lr):",
            "    try:",
            *("        " + line for line in lines),
            "    except (Undefined, ArithmeticError, ValueError):",
            "        return None",
            "",
        ]
    )
    scope: dict[str, Any] = {**RULE_SCOPE, "Undefined": Undefined, "C": tuple(graph.consts)}
    exec(compile(source, STRAIGHT_FILENAME, "exec"), scope)  # our table's text and node ids only
    nones = {n + i for i in range(n) if grad[i] is None}
    for i in range(n):
        for k, j in enumerate(of(i)):
            if fixed[j]:
                nones.add(2 * n + size + start[i] + k)
    return StraightLine(scope["run"], frozenset(nones), known, same, source)


STRAIGHT_FILENAME = "<bpcli.engine straight line>"
