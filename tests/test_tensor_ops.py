"""Every op of the op table that has a tensor rule, alone, on random shapes and values.

The ops come from the table (`bpcli.ops.OPS`): a new op is checked here without an
edit, by the shape rule it names (`TensorRule.shape`), which says what inputs it
takes; a new shape rule fails `test_every_shape_rule_has_inputs` until it gets a
strategy below. Each op is run once, with a random upstream gradient `dout` of its
output's shape (CS231n's layer check), so that nothing but the op itself is
differentiated, and every input's gradient is checked against central differences
of sum(dout * op(...)) always and against PyTorch float64 autograd where `import
torch` works (torch is not a test dependency). Elementwise ops are run broadcast:
scalar with vector, vector with matrix, row with column, and any mix Hypothesis
draws. test_tensor.py checks the same ops inside programs (the losses, the net).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import bpcli
from bpcli import DomainError, tensor
from bpcli.api import bind
from bpcli.ops import OPS, Op

try:
    import torch
except ImportError:  # PyTorch checks run where it is installed
    torch = None

TENSOR_OPS = tuple(
    name for name, op in OPS.items() if op.tensor is not None and op.name not in ("var", "const")
)
NAMES = ("a", "b", "c")
SIZES = st.integers(1, 4)
# Values on a grid that misses 0 and keeps two values at least 0.25 apart: no relu or abs
# at its kink, no element within a finite-difference step of one; a tie (of max) is
# rejected by the op's own kink rule.
GRID = st.integers(-8, 7).map(lambda k: k / 4 + 1 / 8)
POSITIVE = st.integers(0, 7).map(lambda k: k / 4 + 1 / 8)
SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.filter_too_much]
)


def _fixed(op: Op) -> tuple[int, ...]:
    """The input positions that take a whole number written in the text (an index, an
    axis): those whose vjp is empty, as the op table marks them."""
    assert op.tensor is not None
    return tuple(k for k, vjp in enumerate(op.tensor.vjp) if not vjp)


# ---- inputs by shape rule: (input shapes, whole numbers for the fixed positions) ------------


@st.composite
def broadcast_shapes(draw: Any, count: int) -> list[tuple[int, ...]]:
    """`count` shapes that broadcast together: each a suffix of one full shape, with some
    sizes 1 (row (1, n) with column (m, 1), vector with matrix, number with anything)."""
    full = tuple(draw(st.lists(SIZES, min_size=0, max_size=2)))
    shapes = []
    for _ in range(count):
        kept = draw(st.integers(0, len(full)))
        shape = full[len(full) - kept :]
        shapes.append(tuple(1 if draw(st.booleans()) else n for n in shape))
    return shapes


@st.composite
def _elementwise(draw: Any, op: Op) -> tuple[list[tuple[int, ...]], dict[int, int]]:
    assert op.arity is not None
    return draw(broadcast_shapes(op.arity)), {}


@st.composite
def _router(draw: Any, op: Op) -> tuple[list[tuple[int, ...]], dict[int, int]]:
    count = draw(st.integers(1, 3))  # of one input, max(s) is its largest element
    if count == 1:
        return [tuple(draw(st.lists(SIZES, min_size=1, max_size=2)))], {}
    return draw(broadcast_shapes(count)), {}


@st.composite
def _matmul(draw: Any, op: Op) -> tuple[list[tuple[int, ...]], dict[int, int]]:
    m, n, p = draw(SIZES), draw(SIZES), draw(SIZES)
    return draw(
        st.sampled_from([[(m, n), (n, p)], [(m, n), (n,)], [(n,), (n, p)], [(n,), (n,)]])
    ), {}


@st.composite
def _index(draw: Any, op: Op) -> tuple[list[tuple[int, ...]], dict[int, int]]:
    shape = tuple(draw(st.lists(SIZES, min_size=1, max_size=2)))
    return [shape], {1: draw(st.integers(-shape[0], shape[0] - 1))}


@st.composite
def _one(draw: Any, op: Op) -> tuple[list[tuple[int, ...]], dict[int, int]]:
    return [tuple(draw(st.lists(SIZES, min_size=0, max_size=2)))], {}


@st.composite
def _along_last(draw: Any, op: Op) -> tuple[list[tuple[int, ...]], dict[int, int]]:
    return [tuple(draw(st.lists(SIZES, min_size=1, max_size=2)))], {}


@st.composite
def _reduce(draw: Any, op: Op) -> tuple[list[tuple[int, ...]], dict[int, int]]:
    shape = tuple(draw(st.lists(SIZES, min_size=1, max_size=2)))
    if draw(st.booleans()):  # the optional axis
        return [shape], {1: draw(st.integers(-len(shape), len(shape) - 1))}
    return [shape], {}


INPUTS: dict[str, Callable[[Op], st.SearchStrategy[Any]]] = {
    "broadcast": _elementwise,
    "router": _router,
    "matmul": _matmul,
    "index": _index,
    "transpose": _one,
    "reduce": _reduce,
    "same": _along_last,
    "last": _along_last,
}


def test_every_shape_rule_has_inputs():
    from bpcli.tensor import SHAPES

    used = {OPS[name].tensor.shape for name in TENSOR_OPS}
    assert used <= set(INPUTS) and set(INPUTS) <= set(SHAPES), sorted(used - set(INPUTS))


# ---- one op, run and checked -----------------------------------------------------------------


def _text(op: Op, shapes: list[tuple[int, ...]], fixed: dict[int, int]) -> tuple[str, list[str]]:
    """The op written over inputs a, b, c (a whole number where the op takes one), and the
    names of the inputs that get values."""
    parts, names = [], []
    for k in range(len(shapes) + len(fixed)):
        if k in fixed:
            parts.append(str(fixed[k]))
        else:
            parts.append(NAMES[len(names)])
            names.append(NAMES[len(names)])
    return op.show(parts), names


def _values(draw: Any, shapes: list[tuple[int, ...]], names: list[str]) -> dict[str, Any]:
    grid = POSITIVE if draw(st.booleans()) else GRID  # log, sqrt and pow's base need > 0
    values: dict[str, Any] = {}
    for name, shape in zip(names, shapes, strict=True):
        flat = draw(st.lists(grid, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
        values[name] = float(flat[0]) if shape == () else np.array(flat).reshape(shape)
    return values


def _at_a_kink(op: Op, values: dict[str, Any], out: Any) -> bool:
    """Whether any element sits where the op has no derivative (its `kink` rule): of one
    input to a variadic op, its elements; else elementwise, broadcast."""
    if op.kink is None:
        return False
    arrays = [np.asarray(v, dtype=float) for v in values.values()]
    if op.arity is None and len(arrays) == 1:
        return bool(op.kink(tuple(arrays[0].ravel().tolist()), float(out)))
    args = np.broadcast_arrays(*arrays)
    out = np.broadcast_to(np.asarray(out), args[0].shape)
    return any(
        op.kink(tuple(float(a[k]) for a in args), float(out[k])) for k in np.ndindex(out.shape)
    )


def _numeric(graph: Any, values: dict[str, Any], name: str, dout: Any, h: float = 1e-6) -> Any:
    """Central differences of sum(dout * output) in every element of input `name`."""
    base = np.asarray(values[name], dtype=float)
    grad = np.zeros(base.shape)

    def f(point: dict[str, Any]) -> float:
        out = tensor.forward(graph, bind(graph, point))[graph.output]
        return float(np.sum(np.asarray(dout) * out))

    for where in np.ndindex(base.shape):
        up, down = base.copy(), base.copy()
        up[where] += h
        down[where] -= h
        pick = (lambda v: float(v)) if base.ndim == 0 else (lambda v: v)
        grad[where] = (f({**values, name: pick(up)}) - f({**values, name: pick(down)})) / (2 * h)
    return grad


# The ops PyTorch names differently or calls otherwise; any other op is torch.<name>.
TORCH: dict[str, Callable[..., Any]] = {
    "max": lambda *a: torch.max(a[0]) if len(a) == 1 else _fold(torch.maximum, a),
    "min": lambda *a: torch.min(a[0]) if len(a) == 1 else _fold(torch.minimum, a),
    "pow": lambda a, b: torch.pow(a, b),
    "transpose": lambda a: a.T if a.ndim == 2 else a,
    "index": lambda a, k: a[k],
    "sum": lambda a, k=None: torch.sum(a) if k is None else torch.sum(a, dim=k),
    "mean": lambda a, k=None: torch.mean(a) if k is None else torch.mean(a, dim=k),
    "softmax": lambda a: torch.softmax(a, dim=-1),
    "logsumexp": lambda a: torch.logsumexp(a, dim=-1),
}


def _fold(fn: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    out = args[0]
    for arg in args[1:]:
        out = fn(out, arg)
    return out


def _by_torch(op: Op, values: dict[str, Any], fixed: dict[int, int], dout: Any) -> Any:
    """PyTorch float64: the op's output and every input's gradient, pulled back from dout."""
    fn = TORCH.get(op.name) or getattr(torch, op.name, None)
    if fn is None:
        return None  # an op PyTorch has not under its name: central differences only
    tensors = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in values.items()
    }
    given = iter(tensors.values())
    args = [fixed[k] if k in fixed else next(given) for k in range(len(values) + len(fixed))]
    out = fn(*args)
    out.backward(torch.tensor(dout, dtype=torch.float64))
    return out.detach().numpy(), {k: t.grad.numpy() for k, t in tensors.items()}


def check_op(name: str, data: Any, inputs: st.SearchStrategy[Any] | None = None) -> None:
    op = OPS[name]
    assert op.tensor is not None
    shapes, fixed = data.draw(inputs if inputs is not None else INPUTS[op.tensor.shape](op))
    text, names = _text(op, shapes, fixed)
    values = _values(data.draw, shapes, names)
    graph = bpcli.parse(text)
    try:
        out = tensor.forward(graph, bind(graph, values))[graph.output]
    except DomainError:  # off the op's domain (log of a negative, a negative base's power)
        assume(False)
    assume(not _at_a_kink(op, values, out))
    flat = data.draw(st.lists(GRID, min_size=int(np.size(out)), max_size=int(np.size(out))))
    dout = float(flat[0]) if np.ndim(out) == 0 else np.array(flat).reshape(np.shape(out))
    try:
        result = bpcli.grad(text, values, dout=dout)
    except DomainError:  # a derivative undefined here (x ** y's in y, for x < 0)
        assume(False)
    for k in names:
        got = result.gradients[k]
        assert np.shape(got) == np.shape(values[k]), f"∂/∂{k} has {k}'s shape"
        np.testing.assert_allclose(
            got, _numeric(graph, values, k, dout), rtol=1e-5, atol=1e-6, err_msg=f"{text}: ∂/∂{k}"
        )
    if torch is not None:
        reference = _by_torch(op, values, fixed, dout)
        if reference is not None:
            want_out, want = reference
            np.testing.assert_allclose(result.output, want_out, rtol=1e-12, atol=1e-14)
            for k in names:
                np.testing.assert_allclose(
                    result.gradients[k], want[k], rtol=1e-10, atol=1e-12, err_msg=f"{text}: ∂/∂{k}"
                )


@pytest.mark.parametrize("name", TENSOR_OPS)
@SETTINGS
@given(data=st.data())
def test_every_tensor_op_on_random_shapes(name, data):
    check_op(name, data)


# ---- broadcasting, case by case -------------------------------------------------------------

BROADCAST = tuple(
    name
    for name in TENSOR_OPS
    if OPS[name].tensor.shape in ("broadcast", "router") and (OPS[name].arity or 2) >= 2
)


@st.composite
def _pair(draw: Any, case: str) -> list[tuple[int, ...]]:
    m, n = draw(SIZES), draw(SIZES)
    pair = {
        "scalar with vector": [(), (n,)],
        "vector with matrix": [(n,), (m, n)],
        "row with column": [(1, n), (m, 1)],
    }[case]
    return pair if draw(st.booleans()) else pair[::-1]


def test_the_broadcast_cases_cover_the_elementwise_ops_of_two_inputs():
    assert {"add", "sub", "mul", "div", "pow", "max", "min"} <= set(BROADCAST)


@pytest.mark.parametrize("case", ["scalar with vector", "vector with matrix", "row with column"])
@pytest.mark.parametrize("name", BROADCAST)
@SETTINGS
@given(data=st.data())
def test_every_elementwise_op_of_two_inputs_broadcasts(name, case, data):
    check_op(name, data, _pair(case).map(lambda shapes: (shapes, {})))


# ---- the checks themselves can fail ----------------------------------------------------------


def test_a_wrong_tensor_rule_is_caught(patch_op):
    """A rule that sends the wrong input's value back (mul's ∂/∂b as g·b, not g·a) is
    what these checks find."""
    from bpcli.ops import TensorRule

    patch_op("mul", tensor=TensorRule("a * b", ("g * b", "g * b")))

    @settings(max_examples=50, deadline=None, database=None)
    @given(data=st.data())
    def run(data):
        check_op("mul", data)

    with pytest.raises(AssertionError, match="∂/∂b"):
        run()
