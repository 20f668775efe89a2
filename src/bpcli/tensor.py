"""The tensor engine: a program over vectors and matrices, forward and backward, with shapes.

`api.evaluate` runs a program here when an input's value is a vector or a matrix,
or the program uses an op that exists for tensors only (`@`, `sum`, an index):
the scalar engine (`engine.py`) and its speed are untouched, and NumPy is
imported only when this module is. Every rule is the op table's (`Op.tensor`):
each op's NumPy forward rule and one vector-Jacobian product per input, compiled
here once, as HIPS autograd's numpy_vjps.py writes them. A gradient always has
its variable's shape: a vjp that gives the broadcast shape is summed back over
the broadcast axes (`unbroadcast`, autograd's `unbroadcast_f`).

Shapes are known before anything is computed: `shapes` walks the graph from the
inputs' shapes, by each op's shape rule (`SHAPES`), and a mismatch is a
DomainError with the caret under the operator and both shapes
(`W @ x: (2, 3) @ (2,): inner sizes 3 and 2 differ`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import DomainError, upstream_option
from .graph import Graph
from .i18n import N_, tr
from .ops import CODES, OP_NAMES, OPS, Conventions, Infinite, Op, TieRule, Undefined
from .render.numbers import DEFAULT_PRECISION
from .result import Named

if TYPE_CHECKING:
    from .gradcheck import GradCheck

Shape = tuple[int, ...]
Value = Any  # a float (a number) or a float64 ndarray of 1 or 2 dimensions
SCHEMA_VERSION = 1
VAR, CONST = CODES["var"], CODES["const"]


# ---- the rules' helpers: what the op table's tensor rules call ----------------------------


def _first_bad(mask: Any) -> str:
    """The first element where `mask` holds, as `[i]` or `[i][j]` (empty for a number)."""
    where = np.argwhere(mask)
    return "".join(f"[{int(i)}]" for i in where[0]) if where.size else ""


def _refusal(plain: str, located: str, mask: Any) -> str:
    """A rule's refusal in the chosen language: `located` at the first element where
    `mask` holds (`{at}`, as `[1]`), or `plain` for a number."""
    where = _first_bad(mask)
    return tr(located).format(at=where) if where else tr(plain)


def _div(a: Any, b: Any) -> Any:
    zero = np.asarray(b) == 0
    if zero.any():
        raise Undefined(_refusal(N_("division by zero"), N_("division by zero at {at}"), zero))
    return np.divide(a, b)


def _pow(a: Any, b: Any) -> Any:
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    zero = (a == 0) & (b < 0)
    if zero.any():
        raise Undefined(
            _refusal(
                N_("0 to a negative power is a division by zero"),
                N_("0 to a negative power is a division by zero at {at}"),
                zero,
            )
        )
    negative = (a < 0) & (b != np.round(b))
    if negative.any():
        raise Undefined(
            _refusal(
                N_("a negative base to a non-integer power is not a real number"),
                N_("a negative base to a non-integer power is not a real number at {at}"),
                negative,
            )
        )
    return np.power(a, b)


def _dpow_base(g: Any, a: Any, b: Any, out: Any) -> Any:
    a, b = np.broadcast_arrays(np.asarray(a, dtype=float), np.asarray(b, dtype=float))
    infinite = (a == 0) & (b < 1) & (b != 0)
    if infinite.any():
        raise Infinite(
            _refusal(
                N_("the derivative of x ** y at x = 0 is infinite"),
                N_("the derivative of x ** y at x = 0 is infinite at {at}"),
                infinite,
            )
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        local = np.where(b == 0, 0.0, b * np.power(a, b - 1))
    return g * local


def _dpow_exponent(g: Any, a: Any, b: Any, out: Any) -> Any:
    a = np.asarray(a, dtype=float)
    negative = np.broadcast_to(a < 0, np.shape(out))
    if negative.any():
        raise Undefined(
            _refusal(
                N_(
                    "x ** y has no real derivative with respect to the exponent y when the base"
                    " is negative"
                ),
                N_(
                    "x ** y has no real derivative with respect to the exponent y when the base"
                    " is negative at {at}"
                ),
                negative,
            )
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        local = np.where(a > 0, out * np.log(np.where(a > 0, a, 1.0)), 0.0)
    return g * local


def _log(a: Any) -> Any:
    bad = np.asarray(a) <= 0
    if bad.any():
        raise Undefined(
            _refusal(
                N_("log needs a positive input"), N_("log needs a positive input at {at}"), bad
            )
        )
    return np.log(a)


def _sqrt(a: Any) -> Any:
    bad = np.asarray(a) < 0
    if bad.any():
        raise Undefined(
            _refusal(
                N_("sqrt needs a non-negative input"),
                N_("sqrt needs a non-negative input at {at}"),
                bad,
            )
        )
    return np.sqrt(a)


def _dsqrt(g: Any, out: Any) -> Any:
    zero = np.asarray(out) == 0
    if zero.any():
        raise Infinite(
            _refusal(
                N_("the derivative of sqrt at 0 is infinite"),
                N_("the derivative of sqrt at 0 is infinite at {at}"),
                zero,
            )
        )
    return g * 0.5 / out


def _sigmoid(a: Any) -> Any:
    e = np.exp(-np.abs(a))  # never overflows
    return np.where(np.asarray(a) >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _max(args: tuple[Any, ...]) -> Any:
    if len(args) == 1:  # max(s): the largest element
        return np.max(args[0])
    return np.maximum.reduce(np.broadcast_arrays(*args))


def _min(args: tuple[Any, ...]) -> Any:
    if len(args) == 1:
        return np.min(args[0])
    return np.minimum.reduce(np.broadcast_arrays(*args))


def _route(g: Any, args: tuple[Any, ...], out: Any, i: int, tie: TieRule) -> Any:
    """The router: each output element's gradient goes to the input(s) that won it, split
    evenly among tied winners (`split`) or all to the first (`first`). Of one input,
    max(s) and min(s) reduce it: the winners are its elements equal to the result."""
    if len(args) == 1:
        won = np.asarray(args[0]) == out
        if tie == "first":
            first = np.zeros(won.shape, dtype=bool)
            first[np.unravel_index(int(np.argmax(won)), won.shape)] = True
            won = first
        return g * won / np.sum(won)
    shape = np.shape(out)
    wins = [np.broadcast_to(np.asarray(arg) == out, shape) for arg in args]
    if tie == "first":
        earlier = np.zeros(shape, dtype=bool)
        for k in range(i):
            earlier |= wins[k]
        return g * (wins[i] & ~earlier)
    return g * wins[i] / np.sum(wins, axis=0)


def _matmul(a: Any, b: Any) -> Any:
    return np.matmul(a, b)


def _mm_a(g: Any, a: Any, b: Any) -> Any:
    """∂/∂A of A @ B pulled back: g · Bᵀ (an outer product when B is a vector)."""
    if np.ndim(b) == 1:
        return np.outer(g, b) if np.ndim(a) == 2 else g * b
    if np.ndim(a) == 1:
        return b @ g
    return g @ b.T


def _mm_b(g: Any, a: Any, b: Any) -> Any:
    """∂/∂B of A @ B pulled back: Aᵀ · g (an outer product when A is a vector)."""
    if np.ndim(a) == 1:
        return np.outer(a, g) if np.ndim(b) == 2 else g * a
    return a.T @ g


def _index(a: Any, b: Any) -> Any:
    return np.asarray(a)[int(b)]


def _dindex(g: Any, a: Any, b: Any) -> Any:
    sent = np.zeros(np.shape(a))
    sent[int(b)] = g
    return sent


def _transpose(a: Any) -> Any:
    return np.transpose(a)


def _axis(b: Any) -> int | None:
    return None if b is None else int(b)


def _sum(a: Any, b: Any) -> Any:
    return np.sum(a, axis=_axis(b))


def _dsum(g: Any, a: Any, b: Any) -> Any:
    """Sum distributes: every element gets the upstream gradient of its row, column or all."""
    axis = _axis(b)
    return np.broadcast_to(g if axis is None else np.expand_dims(g, axis), np.shape(a))


def _mean(a: Any, b: Any) -> Any:
    return np.mean(a, axis=_axis(b))


def _dmean(g: Any, a: Any, b: Any) -> Any:
    axis = _axis(b)
    n = np.size(a) if axis is None else np.shape(a)[axis]
    return _dsum(g, a, b) / n


def _softmax(a: Any) -> Any:
    e = np.exp(a - np.max(a, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def _dsoftmax(g: Any, out: Any) -> Any:
    return out * (g - np.sum(g * out, axis=-1, keepdims=True))


def _logsumexp(a: Any) -> Any:
    m = np.max(a, axis=-1, keepdims=True)
    return np.squeeze(m, axis=-1) + np.log(np.sum(np.exp(a - m), axis=-1))


def _dlogsumexp(g: Any, a: Any, out: Any) -> Any:
    return np.expand_dims(g, -1) * _softmax(a)


SCOPE: dict[str, Any] = {
    "np": np, "_div": _div, "_pow": _pow, "_dpow_base": _dpow_base,
    "_dpow_exponent": _dpow_exponent, "_log": _log, "_sqrt": _sqrt, "_dsqrt": _dsqrt,
    "_sigmoid": _sigmoid, "_max": _max, "_min": _min, "_route": _route, "_matmul": _matmul,
    "_mm_a": _mm_a, "_mm_b": _mm_b, "_index": _index, "_dindex": _dindex,
    "_transpose": _transpose, "_sum": _sum, "_dsum": _dsum, "_mean": _mean, "_dmean": _dmean,
    "_softmax": _softmax, "_dsoftmax": _dsoftmax, "_logsumexp": _logsumexp,
    "_dlogsumexp": _dlogsumexp,
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Compiled:
    """An op's tensor rules as functions: forward(args) and one vjp(g, args, out, tie) per
    input position (None: that input gets no gradient)."""

    forward: Callable[[tuple[Any, ...]], Any]
    vjps: tuple[Callable[..., Any] | None, ...]
    variadic: bool


def _function(params: str, expression: str) -> Callable[..., Any]:
    source = f"def rule({params}):\n    return {expression}\n"
    scope: dict[str, Any] = {}
    exec(source, SCOPE, scope)  # the op table's text only, never a user's
    return scope["rule"]  # type: ignore[no-any-return]


def compile_op(op: Op) -> Compiled:
    """The op's tensor rules, compiled (kept per op: patched ops in tests compile anew)."""
    assert op.tensor is not None, f"{op.name} has no tensor rule"
    rule = op.tensor
    if op.arity is None:  # variadic: args is the tuple of inputs, one vjp for input i
        forward = _function("args", rule.rule)
        (vjp,) = rule.vjp
        one = _function("g, args, out, i, tie", vjp)
        return Compiled(forward, (one,), True)
    unpack = "a, b = (*args, None)[:2]"
    forward = _two(rule.rule, unpack)
    vjps = tuple(_two(v, unpack, "g, args, out, tie") if v else None for v in rule.vjp)
    return Compiled(forward, vjps, False)


def _two(expression: str, unpack: str, params: str = "args") -> Callable[..., Any]:
    source = f"def rule({params}):\n    {unpack}\n    return {expression}\n"
    scope: dict[str, Any] = {}
    exec(source, SCOPE, scope)  # the op table's text only, never a user's
    return scope["rule"]  # type: ignore[no-any-return]


_COMPILED: dict[int, tuple[Op, Compiled]] = {}


def compiled(op: Op) -> Compiled:
    kept = _COMPILED.get(id(op))
    if kept is None or kept[0] is not op:
        kept = _COMPILED[id(op)] = (op, compile_op(op))
    return kept[1]


def unbroadcast(grad: Any, shape: Shape) -> Any:
    """A gradient of a broadcast shape summed back to `shape`: over the leading axes
    broadcasting added, and over each axis where the input had size 1."""
    grad = np.asarray(grad, dtype=float)
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


# ---- shapes, before anything is computed ---------------------------------------------------


def show_shape(shape: Shape) -> str:
    return str(tuple(shape))


class _Mismatch(Exception):
    """A shape rule's refusal; the pass adds the node's text and operator position."""


def _broadcast(shapes: list[Shape], known: list[Value | None]) -> Shape:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        listed = show_shape(shapes[0])
        for shape in shapes[1:]:
            listed = tr("{shapes} and {shape}").format(shapes=listed, shape=show_shape(shape))
        raise _Mismatch(
            tr(
                "shapes {shapes} do not broadcast"
                " (sizes must match or be 1, aligned from the right)"
            ).format(shapes=listed)
        ) from None


def _same(shapes: list[Shape], known: list[Value | None]) -> Shape:
    return shapes[0]


def _router(shapes: list[Shape], known: list[Value | None]) -> Shape:
    if len(shapes) == 1:
        return ()
    return _broadcast(shapes, known)


def _matmul_shape(shapes: list[Shape], known: list[Value | None]) -> Shape:
    a, b = shapes
    if not a or not b:
        raise _Mismatch(tr("@ multiplies vectors and matrices; to scale by a number, use *"))
    inner_a = a[-1]
    inner_b = b[0] if len(b) == 1 else b[-2]
    if inner_a != inner_b:
        raise _Mismatch(tr("inner sizes {a} and {b} differ").format(a=inner_a, b=inner_b))
    return a[:-1] + b[1:] if len(b) <= 2 else a[:-1] + b[:-2] + b[-1:]


def _whole(shape: Shape, value: Value | None, refusals: tuple[str, str, str]) -> int:
    """An index's or an axis's `value` (of `shape`) as a whole number, else its refusal:
    of another shape ({shape}), not a number, or not whole ({number})."""
    of_shape, not_a_number, not_whole = refusals
    if shape:
        raise _Mismatch(tr(of_shape).format(shape=show_shape(shape)))
    if value is None or np.ndim(value) != 0:
        raise _Mismatch(tr(not_a_number))
    number = float(value)
    if not number.is_integer():
        raise _Mismatch(tr(not_whole).format(number=number))
    return int(number)


_INDEX = (
    N_("the index must be a number, not of shape {shape}"),
    N_("the index must be a number or an input holding one"),
    N_("the index must be a whole number, got {number:g}"),
)
_AXIS = (
    N_("the axis must be a number, not of shape {shape}"),
    N_("the axis must be a number or an input holding one"),
    N_("the axis must be a whole number, got {number:g}"),
)


def _whole_text(number: int) -> str:
    """A whole number as its float reads: 1e+23, not the 99999999999999991611392 that
    int() makes of 1e23 (past 2**53 a float is no longer the number typed)."""
    return str(number) if abs(number) <= 2**53 else f"{float(number):g}"


def _index_shape(shapes: list[Shape], known: list[Value | None]) -> Shape:
    shape = shapes[0]
    if not shape:
        raise _Mismatch(tr("a number has no elements to index: index a vector or a matrix"))
    i = _whole(shapes[1], known[1], _INDEX)
    if not -shape[0] <= i < shape[0]:
        raise _Mismatch(
            tr("index {i} is out of range for {size} elements (0 to {last})").format(
                i=_whole_text(i), size=shape[0], last=shape[0] - 1
            )
        )
    return shape[1:]


def _transpose_shape(shapes: list[Shape], known: list[Value | None]) -> Shape:
    return tuple(reversed(shapes[0]))


def _reduce_shape(shapes: list[Shape], known: list[Value | None]) -> Shape:
    shape = shapes[0]
    if len(shapes) == 1:
        return ()
    axis = _whole(shapes[1], known[1], _AXIS)
    if not -len(shape) <= axis < len(shape) or not shape:
        raise _Mismatch(
            tr("axis {axis} is out of range for shape {shape}").format(
                axis=_whole_text(axis), shape=show_shape(shape)
            )
        )
    return shape[: axis % len(shape)] + shape[axis % len(shape) + 1 :]


def _last_shape(shapes: list[Shape], known: list[Value | None]) -> Shape:
    return shapes[0][:-1]


SHAPES: dict[str, Callable[[list[Shape], list[Value | None]], Shape]] = {
    "broadcast": _broadcast, "same": _same, "router": _router, "matmul": _matmul_shape,
    "index": _index_shape, "transpose": _transpose_shape, "reduce": _reduce_shape,
    "last": _last_shape,
}  # fmt: skip


def _operator_span(graph: Graph, node_id: int) -> tuple[int, int]:
    """Where the node's operator is written (`@` in `W @ x`), else the node's span."""
    op = OPS[graph.op(node_id)]
    inputs = graph.inputs(node_id)
    if op.shown is not None and len(inputs) == 2 and op.symbol and op.symbol != "[]":
        start, end = graph.ends[inputs[0]], graph.starts[inputs[1]]
        at = graph.source.find(op.symbol, start, max(start, end))
        if at >= 0:
            return at, at + len(op.symbol)
    return graph.starts[node_id], graph.ends[node_id]


def shapes(graph: Graph, inputs: Mapping[str, Value]) -> list[Shape]:
    """Every node's shape, from the inputs' values, by each op's shape rule; a DomainError
    where the shapes do not fit the op, before anything is computed."""
    result: list[Shape] = [()] * len(graph)
    known: list[Value | None] = [None] * len(graph)  # leaves' values: an index, an axis
    for node_id in range(len(graph)):
        code = graph.codes[node_id]
        if code == CONST:
            known[node_id] = graph.consts[node_id]
            continue
        if code == VAR:
            value = inputs[graph.name(node_id)]
            known[node_id] = value
            result[node_id] = tuple(np.shape(value))
            continue
        op = OPS[OP_NAMES[code]]
        assert op.tensor is not None
        ins = graph.inputs(node_id)
        try:
            result[node_id] = SHAPES[op.tensor.shape](
                [result[j] for j in ins], [known[j] for j in ins]
            )
        except _Mismatch as exc:
            shown = [show_shape(result[j]) for j in ins]
            written = op.show(shown) if op.shown is not None else f"{op.symbol}({', '.join(shown)})"
            raise DomainError(
                f"{graph.text(node_id)}: {written}: {exc}",
                span=_operator_span(graph, node_id),
                source=graph.source,
            ) from None
    return result


# ---- the passes ------------------------------------------------------------------------------


def _failed(graph: Graph, node_id: int, message: str) -> DomainError:
    return DomainError(
        tr("{message}, in `{text}`").format(message=message, text=graph.text(node_id)),
        span=(graph.starts[node_id], graph.ends[node_id]),
        source=graph.source,
    )


def _plain(value: Any) -> Value:
    """A 0-d result as a float, an array as a float64 array; -0.0 as 0.0 (a relu's
    blocked gradient is 0, not "-0")."""
    array = np.asarray(value, dtype=float) + 0.0
    return float(array) if array.ndim == 0 else array


@np.errstate(all="ignore")  # a decorator, not a with: see batch.OUT_OF_MEMORY
def forward(graph: Graph, inputs: Mapping[str, Value]) -> list[Value]:
    """Every node's value (a float or an array), in topological order."""
    values: list[Value] = list(graph.consts.tolist())
    for name, node_id in graph.variables.items():
        values[node_id] = inputs[name]
    for node_id in range(len(graph)):
        code = graph.codes[node_id]
        if code in (VAR, CONST):
            continue
        rules = compiled(OPS[OP_NAMES[code]])
        args = _arguments(graph, node_id, values)
        try:
            out = _plain(rules.forward(args))
        except Undefined as exc:
            raise _failed(graph, node_id, str(exc)) from None
        if not np.all(np.isfinite(out)):
            name = graph.op(node_id)
            raise _failed(
                graph, node_id, tr("{op} overflows: a value is too large").format(op=name)
            )
        values[node_id] = out
    return values


def _arguments(graph: Graph, node_id: int, values: list[Value]) -> tuple[Any, ...]:
    ins = graph.inputs(node_id)
    args = tuple(values[j] for j in ins)
    op = OPS[graph.op(node_id)]
    if op.optional and op.arity is not None and len(args) < op.arity + op.optional:
        args += (None,) * (op.arity + op.optional - len(args))
    return args


@np.errstate(all="ignore")  # a decorator, not a with: see batch.OUT_OF_MEMORY
def backward(
    graph: Graph,
    values: list[Value],
    conventions: Conventions = Conventions(),
    dout: Value | None = None,
) -> list[Value | None]:
    """d(output)/d(node) for every node, each of its node's shape; None for constants (and
    gates of constants only). The output is seeded with `dout` (1 for a number): the
    upstream gradient of a layer, as CS231n's layer checks give it. Each use adds its
    vjp (the copy gate), summed back over broadcast axes to its input's shape."""
    n = len(graph)
    grads: list[Any] = [None] * n
    out_id = graph.output
    grads[out_id] = 1.0 if dout is None else dout
    fixed = graph.fixed
    indexed: set[int] = set()  # the nodes an edge sends no gradient (an index, an axis)
    graded: set[int] = set()  # the nodes an edge sends one
    for i in range(n - 1, -1, -1):
        g = grads[i]
        code = graph.codes[i]
        if g is None or code in (VAR, CONST) or fixed[i]:
            continue
        op = OPS[OP_NAMES[code]]
        rules = compiled(op)
        ins = graph.inputs(i)
        args = _arguments(graph, i, values)
        for k, j in enumerate(ins):
            if fixed[j]:
                continue
            raw = _pulled(graph, i, k, rules, g, args, values, conventions)
            if raw is None:  # an index or an axis: no gradient flows into it
                sent: Any = np.zeros(np.shape(values[j]))
                indexed.add(j)
            else:
                sent = unbroadcast(raw, np.shape(values[j]))
                graded.add(j)
            if not np.all(np.isfinite(sent)):
                raise _failed(
                    graph, i, tr("the gradient at {node} overflows").format(node=graph.name(j))
                )
            grads[j] = _plain(sent) if grads[j] is None else _plain(grads[j] + sent)
    result: list[Value | None] = []
    # an input used only as an index: not differentiable, no gradient (index_inputs)
    no_gradient = (indexed - graded) & set(graph.variables.values()) if indexed else set()
    for node_id in range(n):
        if (fixed[node_id] and node_id != out_id) or node_id in no_gradient:
            result.append(None)  # a constant; an index, which is not differentiable
        elif grads[node_id] is None:  # the output does not depend on it: 0 of its shape
            result.append(_plain(np.zeros(np.shape(values[node_id]))))
        else:
            result.append(_plain(grads[node_id]))
    return result


def _pulled(
    graph: Graph,
    i: int,
    k: int,
    rules: Compiled,
    g: Any,
    args: tuple[Any, ...],
    values: list[Value],
    conventions: Conventions,
) -> Any:
    """What node i's k-th input edge pulls back from the upstream gradient `g`, by the
    op's vjp, before it is summed back to the input's shape; None where no gradient
    flows (an index, an axis)."""
    vjp = rules.vjps[0] if rules.variadic else rules.vjps[k]
    if vjp is None:
        return None
    try:
        if rules.variadic:
            return vjp(g, args, values[i], k, conventions.max_tie)
        return vjp(g, args, values[i], conventions.max_tie)
    except Undefined as exc:
        raise _failed(graph, i, str(exc)) from None


@dataclass(frozen=True, slots=True)
class Edge:
    """What one input edge of a gate sends back, as a walkthrough shows it: `raw`, the
    vjp's result (of the broadcast shape, or None where no gradient flows), and
    `sent`, that summed back to the input's shape (autograd's unbroadcast)."""

    raw: Value | None
    sent: Value


@np.errstate(all="ignore")  # a decorator, not a with: see batch.OUT_OF_MEMORY
def edges(result: TensorResult) -> list[tuple[Edge | None, ...]]:
    """Every node's input edges, in input order (None: the input is a constant or an index
    input, which have no gradient), as the backward pass computed them: what the
    walkthrough and `--json --explain` show."""
    graph, values, grads = result.graph, result.values, result.grads
    fixed = graph.fixed
    out: list[tuple[Edge | None, ...]] = []
    for i in range(len(graph)):
        code = graph.codes[i]
        g = grads[i]
        if code in (VAR, CONST) or g is None or fixed[i]:
            out.append((None,) * len(graph.inputs(i)))
            continue
        rules = compiled(OPS[OP_NAMES[code]])
        args = _arguments(graph, i, values)
        row: list[Edge | None] = []
        for k, j in enumerate(graph.inputs(i)):
            if fixed[j] or grads[j] is None:  # a constant; an index input: no gradient
                row.append(None)
                continue
            raw = _pulled(graph, i, k, rules, g, args, values, result.conventions)
            shape = np.shape(values[j])
            sent = np.zeros(shape) if raw is None else unbroadcast(raw, shape)
            row.append(Edge(None if raw is None else _plain(raw), _plain(sent)))
        out.append(tuple(row))
    return out


# ---- a run ------------------------------------------------------------------------------------


def is_tensor(value: object) -> bool:
    return isinstance(value, np.ndarray)


def plain(value: Value | None) -> Any:
    """A value as JSON holds it: a number, or nested lists."""
    if value is None or isinstance(value, float):
        return value
    return np.asarray(value).tolist()


@dataclass(frozen=True, slots=True)
class TensorUpdate:
    """Gradient descent on every input, tensors elementwise: where it ends, and the path."""

    lr: float
    steps: int
    inputs: dict[str, Value]
    output: Value
    trajectory: tuple[tuple[int, dict[str, Value], Value], ...] | None = None
    # with --dout, the number descended at each recorded step, L = sum(dout ⊙ q): what a
    # chart of the descent draws (the trajectory keeps q itself, as --json writes it)
    losses: tuple[float, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "steps": self.steps,
            "inputs": {k: plain(v) for k, v in self.inputs.items()},
            "output": plain(self.output),
        }


class TensorResult(Named):
    """A finished run of a tensor program: every node's value, gradient and shape."""

    tensor = True  # what a view that cannot show tensors asks (`refuse_tensors`)

    def __init__(
        self,
        graph: Graph,
        inputs: dict[str, Value],
        values: list[Value],
        grads: list[Value | None],
        node_shapes: list[Shape],
        conventions: Conventions,
        update: TensorUpdate | None = None,
        dout: Value | None = None,
    ) -> None:
        self.graph = graph
        self.inputs = inputs
        self.values = values
        self.grads = grads
        self.shapes = node_shapes
        self.conventions = conventions
        self.update = update
        self.dout = dout

    @property
    def output(self) -> Value:
        return self.values[self.graph.output]

    @property
    def gradients(self) -> dict[str, Value]:
        return {name: self.grads[i] for name, i in self.graph.variables.items()}

    def sent(self, node_id: int, k: int) -> Value | None:
        """What node `node_id`'s k-th input edge sends back to that input, of the input's
        shape (None into a constant): the graph views write it on the edge."""
        edge = self._edges[node_id][k]
        return None if edge is None else edge.sent

    @cached_property
    def _edges(self) -> list[tuple[Edge | None, ...]]:
        return edges(self)

    # ---- in a notebook (the views but the table are Named's, as a scalar run's) -------------

    def table(self, precision: int = DEFAULT_PRECISION, width: int = 80) -> str:
        """The table `bpcli grad` prints: a row per node with its shape, the answers, the
        update."""
        from .process import plain_text
        from .render.notebook import Shown
        from .render.table import TensorGradView

        return Shown(plain_text(TensorGradView(self, precision), width))

    def __repr__(self) -> str:
        """One line, as a notebook shows it: the output, and each gradient's shape."""
        f = self.output_name
        shown = [
            f"{f}={inline(self.output)}"
            if not self.shapes[self.graph.output]
            else f"{f}: {show_shape(self.shapes[self.graph.output])}"
        ]
        d = differentiated(self)  # with --dout, L = sum(dout ⊙ f), said as the table says it
        if self.dout is not None:
            shown.append(loss_text(d, f))
        shown += [
            f"∂{d}/∂{name}: {show_shape(self.shapes[i]) if self.grads[i] is not None else '—'}"
            for name, i in self.graph.variables.items()
        ]
        return f"TensorResult({', '.join(shown)})"

    def to_dict(self, nodes: bool = True) -> dict[str, Any]:
        """The `--json` object: as a scalar run's, with tensors as nested lists and each
        value's `shape` ([] for a number)."""
        out = self.graph.output
        data: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        if nodes:
            data["expression"] = self.expression
        data["output"] = {
            "name": self.output_name,
            "value": plain(self.output),
            "shape": list(self.shapes[out]),
        }
        data["inputs"] = {k: plain(v) for k, v in self.inputs.items()}
        data["gradients"] = {k: plain(v) for k, v in self.gradients.items()}
        data["shapes"] = {k: list(self.shapes[i]) for k, i in self.graph.variables.items()}
        if self.dout is not None:
            data["dout"] = plain(self.dout)
        if nodes:
            data["nodes"] = [
                {
                    "id": i,
                    "name": name,
                    "op": op,
                    "inputs": list(ins),
                    "text": text,
                    "shape": list(self.shapes[i]),
                    "value": plain(self.values[i]),
                    "grad": plain(self.grads[i]),
                    "pattern": OPS[op].pattern.name,
                }
                for i, (name, op, ins, text) in enumerate(self.graph.facts())
            ]
        data["conventions"] = self.conventions.to_dict()
        if self.update is not None:
            data["update"] = self.update.to_dict()
            if self.update.trajectory is not None:
                data["trajectory"] = [
                    {"step": s, "inputs": {k: plain(v) for k, v in p.items()}, "output": plain(o)}
                    for s, p, o in self.update.trajectory
                ]
        return data

    def json_chunks(
        self,
        nodes: bool = True,
        *,
        compact: bool = False,
        ascii: bool = False,
        extra: Mapping[str, Any] | None = None,
    ) -> Iterator[str]:
        """The `--json` text (as Result.json_chunks gives a scalar run's), in one piece."""
        separators = (",", ":") if compact else (", ", ": ")
        data = self.to_dict(nodes) | dict(extra or {})
        yield json.dumps(data, ensure_ascii=ascii, allow_nan=False, separators=separators)


def scalar_output_needed(node_shapes: list[Shape], graph: Graph, dout: Value | None) -> None:
    """grad needs a number to differentiate, or the upstream gradient of the output."""
    shape = node_shapes[graph.output]
    option = upstream_option()  # --dout, a batch request's "dout", or none (a problem set)
    if dout is None:
        if shape and option is None:
            raise DomainError(
                tr(
                    "the output has shape {show_shape}, and a problem asks for the gradient "
                    "of a number: reduce the output to one, e.g. sum(...)"
                ).format(show_shape=show_shape(shape))
            )
        if shape:
            raise DomainError(
                tr(
                    "the output has shape {show_shape}: reduce it, e.g. sum(...), or give "
                    "the upstream gradient with {option}"
                ).format(show_shape=show_shape(shape), option=option)
            )
        return
    if tuple(np.shape(dout)) != shape:
        raise DomainError(
            tr(
                "{option} has shape {given} but the output {name} has shape "
                "{wanted}: they must be the same"
            ).format(
                option=option,
                given=show_shape(tuple(np.shape(dout))),
                name=graph.name(graph.output),
                wanted=show_shape(shape),
            )
        )


def evaluate(
    graph: Graph,
    inputs: dict[str, Value],
    lr: float | None,
    steps: int | None,
    conventions: Conventions,
    dout: Value | None = None,
    max_steps: int = 100_000,
) -> TensorResult:
    """Shapes, forward, backward (and with `lr`, `steps` steps of gradient descent)."""
    node_shapes = shapes(graph, inputs)
    scalar_output_needed(node_shapes, graph, dout)
    values = forward(graph, inputs)
    grads = backward(graph, values, conventions, dout)
    update = None
    if lr is not None:
        update = descend(graph, inputs, values, grads, lr, steps, conventions, dout, max_steps)
    return TensorResult(graph, inputs, values, grads, node_shapes, conventions, update, dout)


def descended(out: Value, dout: Value | None) -> float:
    """The number the gradients are of: the output, or with --dout L = sum(dout ⊙ q),
    as the backward pass seeds it (what a descent lowers and a gradient check moves)."""
    if dout is None:
        return float(out)
    return float(np.sum(np.asarray(dout) * out))


@np.errstate(all="ignore")  # a decorator, not a with: see batch.OUT_OF_MEMORY
def _stepped(value: Value, lr: float, grad: Value) -> Value:
    """A value moved one step of gradient descent (the caller checks it is finite)."""
    return _plain(np.asarray(value) - lr * np.asarray(grad))


def descend(
    graph: Graph,
    inputs: dict[str, Value],
    values: list[Value],
    grads: list[Value | None],
    lr: float,
    steps: int | None,
    conventions: Conventions,
    dout: Value | None,
    max_steps: int,
) -> TensorUpdate:
    """x := x - lr * df/dx for every input, a tensor elementwise (an index input stays)."""
    from .api import step_count  # loaded already: tensor programs run from the API
    from .engine import at_step, update_overflows

    count = step_count(steps, max_steps)
    moving = {name: graph.variables[name] for name in moved_inputs(graph)}
    point = dict(inputs)
    path = [(0, dict(point), values[graph.output])]
    for step in range(1, count + 1):
        try:
            if step > 1:
                grads = backward(graph, values, conventions, dout)
            moved = dict(point)
            for name, i in moving.items():
                new = _stepped(point[name], lr, grads[i])
                if not np.all(np.isfinite(new)):
                    raise update_overflows(name)
                moved[name] = new
            values = forward(graph, moved)
        except DomainError as exc:  # where it failed, as the scalar descent says it
            raise at_step(exc, step) from None
        point = moved
        path.append((step, dict(point), values[graph.output]))
    trajectory = None if steps is None else tuple(path)
    losses = None
    if trajectory is not None and dout is not None:
        losses = tuple(descended(out, dout) for _, _, out in trajectory)
    return TensorUpdate(lr, count, point, values[graph.output], trajectory, losses)


def moved_inputs(graph: Graph) -> list[str]:
    """The inputs gradient descent moves: all but those used only as an index."""
    fixed = set(index_inputs(graph))
    return [name for name, i in graph.variables.items() if i not in fixed]


def index_inputs(graph: Graph) -> list[int]:
    """The inputs used only as an index or an axis (s[y]: a class label, not a weight):
    they have no gradient (None), as PyTorch gives an integer index none; an index is
    not differentiable. One pass over the edges."""
    used: set[int] = set()
    graded: set[int] = set()
    for i in range(len(graph)):
        op = OPS[graph.op(i)]
        for k, j in enumerate(graph.inputs(i)):
            used.add(j)
            if not _no_gradient_edge(op, k):
                graded.add(j)
    return [i for i in graph.variables.values() if i in used and i not in graded]


def _no_gradient_edge(op: Op, k: int) -> bool:
    """Whether an op's k-th input gets no gradient by its tensor rule (an index, an axis);
    a variadic op (max(a, b, c)) has one rule for every input, and gives each one."""
    rule = op.tensor
    return rule is not None and op.arity is not None and k > 0 and not rule.vjp[k]


# ---- gradient checking ---------------------------------------------------------------------

SAMPLE = 20  # elements checked per input of more than this many, CS231n's grad_check_sparse


def differentiated(result: TensorResult) -> str:
    """The name a gradient is of: the output's, or with --dout the scalar the backward
    pass differentiates, L = sum(dout ⊙ f) (∂f/∂W of a vector f would be a tensor of
    more axes than W, not the W-shaped gradient shown). L, or ℓ where L is a name."""
    if result.dout is None:
        return result.output_name
    names = set(result.graph.assigned) | set(result.graph.variables)
    return "L" if "L" not in names else "ℓ"


def loss_text(loss: str, output: str) -> str:
    """With --dout, the number the gradients are of, in plain text: `L = sum(dout ⊙ q)`
    (the LaTeX write-up's is render/notation.TensorTex.loss)."""
    return f"{loss} = sum(dout ⊙ {output})"


def parameter(result: TensorResult) -> str:
    """The symbol that stands for each input in the update rule said once for all of them,
    θ := θ - α·∂f/∂θ (not x, which reads as the input x): θ, or ϑ where θ is a name (θ′
    never is: ′ is not a letter)."""
    names = set(result.graph.assigned) | set(result.graph.variables)
    return next(s for s in ("θ", "ϑ", "θ′") if s not in names)


def gradcheck(result: TensorResult, step: float = 1e-5) -> GradCheck:
    """Every element of every input (a seeded sample of a large one) checked as the scalar
    check checks an input, by `gradcheck.judge`: one element moved at a time, the same
    steps, error estimate, kinks and verdicts, each element an input named `x[0]`,
    `W[1][0]`. A non-scalar output is reduced with the upstream gradient, sum(dout * f),
    as the backward pass seeds it. A kink is an element of a relu, abs, max or min node
    where the op's kink rule holds (`Op.kink`, element by element); an element sits on
    it when moving that element changes the side the node is on (its vjp of ones)."""
    from .gradcheck import GradCheck, Kink, Sides, check_step, judge, roundoff

    h = check_step(step)
    graph = result.graph
    live = graph.live()
    watched = [
        i for i in range(len(graph)) if graph.inputs(i) and live[i] and OPS[graph.op(i)].kink
    ]
    sitting = {k: sits(graph, i, result.values) for k, i in enumerate(watched)}
    at_point = frozenset(k for k, where in sitting.items() if where is not None)
    rng = np.random.default_rng(0)

    def loss(values: list[Value]) -> float:
        return descended(values[graph.output], result.dout)

    def sides(values: list[Value]) -> Sides:
        return tuple(_side(graph, i, values, result.conventions) for i in watched)

    noise = roundoff(
        float(np.sum(np.abs(np.asarray(v) * np.asarray(g))))
        for v, g, code in zip(result.values, result.grads, graph.codes, strict=True)
        if g is not None and code not in (VAR, CONST)
    )
    base = sides(result.values)
    checks = {}
    reached: dict[int, list[str]] = {}
    sampled: dict[str, tuple[int, int]] = {}
    indices = set(index_inputs(graph))
    for name, node_id in graph.variables.items():
        if node_id in indices:
            continue
        value = np.asarray(result.inputs[name], dtype=float)
        grad = np.asarray(result.grads[node_id], dtype=float)
        flat: list[int] = list(range(value.size))
        if value.size > SAMPLE:
            flat = sorted(rng.choice(value.size, SAMPLE, replace=False).tolist())
            sampled[name] = (SAMPLE, value.size)
        for k in flat:
            where = np.unravel_index(k, value.shape) if value.shape else ()
            label = name + _location(where)

            def probe(
                t: float, name: str = name, value: Any = value, where: Any = where
            ) -> tuple[float, Sides]:
                moved = value.copy()
                moved[where] = t
                values = forward(graph, _with(result.inputs, name, moved))
                return loss(values), sides(values)

            x, analytic = float(value[where]), float(grad[where])
            check, crossed = judge(label, x, analytic, h, probe, noise, False, base, at_point)
            checks[label] = check
            for position in crossed:
                reached.setdefault(position, []).append(label)
    kinks = []
    for k, i in enumerate(watched):
        if k not in reached:
            continue
        spot = sitting[k]
        args = tuple(
            (_element(graph, j, spot if np.ndim(result.values[j]) else ()),
             float(np.asarray(result.values[j])[spot]))
            for j in graph.inputs(i)
            if graph.codes[j] != CONST and spot is not None and np.ndim(result.values[i]) != 0
        )  # fmt: skip
        node = graph.nodes[i]
        kinks.append(
            Kink(i, node.name, node.op, graph.text(i), k in at_point, args, tuple(reached[k]))
        )
    return GradCheck(h, checks, tuple(kinks), sampled)


def _location(where: tuple[Any, ...]) -> str:
    return "".join(f"[{int(i)}]" for i in where)


def _element(graph: Graph, node_id: int, where: tuple[Any, ...]) -> str:
    """A node's element as the source would index it: `x[0]`, `(W @ x + b)[0]`."""
    text = graph.text(node_id)
    if not where:
        return text
    return (text if graph.codes[node_id] == VAR else f"({text})") + _location(where)


def sits(graph: Graph, node_id: int, values: list[Value]) -> tuple[int, ...] | None:
    """Where the kink node sits on its op's kink (`Op.kink`, the scalar rule applied
    element by element; of one input, max(s) and min(s) over its elements), as the first
    such element's index; None where it does not."""
    op = OPS[graph.op(node_id)]
    assert op.kink is not None
    args = [np.asarray(values[j], dtype=float) for j in graph.inputs(node_id)]
    out = np.asarray(values[node_id], dtype=float)
    if op.arity is None and len(args) == 1:
        return () if op.kink(tuple(args[0].flat), float(out)) else None
    spread = np.broadcast_arrays(*args, out)
    for where in np.ndindex(out.shape):
        if op.kink(tuple(float(a[where]) for a in spread[:-1]), float(out[where])):
            return tuple(int(i) for i in where)
    return None


def _side(graph: Graph, node_id: int, values: list[Value], conventions: Conventions) -> Any:
    """Which side of its kink a node is on, element by element: what each input edge sends
    back of an upstream gradient of ones (None where the rule refuses)."""
    rules = compiled(OPS[graph.op(node_id)])
    args = _arguments(graph, node_id, values)
    ones = np.ones(np.shape(values[node_id]))
    side = []
    for k in range(len(graph.inputs(node_id))):
        try:
            raw = _pulled(graph, node_id, k, rules, ones, args, values, conventions)
        except DomainError:
            raw = None
        side.append(None if raw is None else np.asarray(_plain(raw)).tobytes())
    return tuple(side)


def _with(inputs: Mapping[str, Value], name: str, value: Any) -> dict[str, Value]:
    point = dict(inputs)
    point[name] = _plain(value)
    return point


# A tensor of more than THRESHOLD elements is shown summarised, EDGE_ITEMS at each end of
# every axis, as NumPy prints it: in the table and in the walkthrough alike.
THRESHOLD = 24
EDGE_ITEMS = 2


def inline(value: Value, precision: int = 6) -> str:
    """A tensor on one line, as the walkthrough writes it inside an equation: nested
    brackets, each element as bpcli writes a number (`[[0.1, 0.5], [-0.3, 0.8]]`),
    summarised as in the table (`[0, 1, ..., 28, 29]`)."""
    from .render.arrays import cells_of, one_line

    return one_line(cells_of(value, precision))


def rows(value: Value) -> list[list[float | str]]:
    """A tensor as the rows of a matrix (a vector is a column), summarised as in the
    table: the elements left out are marked "h" along a row, "v" down a column and "d"
    where both meet (a write-up's `\\cdots`, `\\vdots`, `\\ddots`)."""
    array = np.asarray(value, dtype=float)
    if array.ndim == 1:
        array = array[:, None]
    whole = array.size <= THRESHOLD
    kept_rows = list(range(array.shape[0])) if whole else _kept(array.shape[0])
    kept_columns = list(range(array.shape[1])) if whole else _kept(array.shape[1])
    return [
        [
            ("d" if c is None else "v") if r is None else ("h" if c is None else float(array[r, c]))
            for c in kept_columns
        ]
        for r in kept_rows
    ]


def _kept(size: int) -> list[int | None]:
    """The indices a summary keeps of an axis of `size`, None where it leaves some out."""
    if size <= 2 * EDGE_ITEMS:
        return list(range(size))
    return [*range(EDGE_ITEMS), None, *range(size - EDGE_ITEMS, size)]
