"""The op table, tested from the table itself: a new op is tested the day it is added.

Every local derivative is checked against a central finite difference of the
op's own forward rule, at every point of a grid where the op is defined and
smooth. Kinks and undefined points have their own tests below.
"""

from __future__ import annotations

import itertools
import math

import pytest

import bpcli
import bpcli.tables
from bpcli import engine
from bpcli.ops import OPS, Conventions, Undefined

GRID = (-2.3, -0.7, 0.4, 1.3, 2.9, 0.05)  # no 0, no integers: away from kinks
VARIADIC_ARITIES = (2, 3)
COMPUTED = [op for op in OPS.values() if op.forward is not None]


def arities(op):
    return VARIADIC_ARITIES if op.arity is None else (op.arity,)


def points(op, n):
    """Grid points where the op is defined (a forward rule may refuse some), no ties."""
    for args in itertools.product(GRID, repeat=n):
        if len(set(args)) < n:
            continue
        try:
            op.forward(*args)
        except Undefined:
            continue
        yield args


def central_difference(op, args, i):
    h = 1e-6 * max(1.0, abs(args[i]))
    up = list(args)
    down = list(args)
    up[i] += h
    down[i] -= h
    return (op.forward(*up) - op.forward(*down)) / (2 * h)


@pytest.mark.parametrize("op", COMPUTED, ids=lambda op: op.name)
def test_local_derivatives_match_finite_differences(op):
    checked = 0
    for n in arities(op):
        partials = op.partials_for(n, Conventions())
        assert len(partials) == n, "one local derivative per input"
        for args in points(op, n):
            out = op.forward(*args)
            for i, partial in enumerate(partials):
                numeric = central_difference(op, args, i)
                assert partial(args, out) == pytest.approx(numeric, rel=1e-6, abs=1e-6), (
                    op.name,
                    args,
                    i,
                )
                checked += 1
    assert checked >= 3, f"{op.name}: too few grid points where it is defined"


@pytest.mark.parametrize("op", COMPUTED, ids=lambda op: op.name)
def test_every_op_backpropagates_end_to_end(op):
    """Through the parser and engine: d/dx of op(x*1.1, …) against finite differences."""
    n = arities(op)[0]
    names = [f"a{i}" for i in range(n)]
    args = next(iter(points(op, n)))
    text = f"{op.name}({', '.join(names)})" if op.function else f" {op.symbol} ".join(names)
    if op.arity == 1 and not op.function:
        text = f"{op.symbol}a0"
    result = bpcli.grad(text, dict(zip(names, args, strict=True)))
    assert result.nodes[result.graph.output].op == op.name
    assert result.output == pytest.approx(op.forward(*args), rel=1e-12)
    for i, name in enumerate(names):
        want = central_difference(op, args, i)
        assert result.gradients[name] == pytest.approx(want, rel=1e-6, abs=1e-6)


def test_every_op_in_the_table_is_in_the_grammar_or_a_leaf():
    """One name per op: each computed op is reachable from the text."""
    grammar = bpcli.tables.grammar_text()
    for op in COMPUTED:
        assert op.function or f"-> {op.name}" in grammar, op.name


# ---- kinks: the documented conventions -----------------------------------------


def partial(name, args, i=0, tie="split"):
    op = OPS[name]
    return op.partials_for(len(args), Conventions(max_tie=tie))[i](args, op.forward(*args))


def test_relu_and_abs_have_derivative_zero_at_zero():
    assert partial("relu", (0.0,)) == 0.0
    assert partial("abs", (0.0,)) == 0.0
    assert partial("relu", (1e-300,)) == 1.0
    assert partial("abs", (-1e-300,)) == -1.0


def test_max_and_min_ties_split_evenly_by_default():
    args = (2.0, 2.0, 1.0)
    assert [partial("max", args, i) for i in range(3)] == [0.5, 0.5, 0.0]
    args = (1.0, 3.0, 1.0, 1.0)
    assert [partial("min", args, i) for i in range(4)] == pytest.approx([1 / 3, 0, 1 / 3, 1 / 3])


def test_max_tie_first_sends_everything_to_the_first_tied_input():
    args = (1.0, 2.0, 2.0)
    assert [partial("max", args, i, "first") for i in range(3)] == [0.0, 1.0, 0.0]


def test_max_routes_to_the_winner():
    assert [partial("max", (4.0, -1.0), i) for i in range(2)] == [1.0, 0.0]
    assert [partial("min", (4.0, -1.0), i) for i in range(2)] == [0.0, 1.0]


# ---- where the maths is undefined ------------------------------------------------


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("log", (0.0,), "log needs a positive input, got 0"),
        ("log", (-1.0,), "log needs a positive input, got -1"),
        ("sqrt", (-4.0,), "sqrt needs a non-negative input, got -4"),
        ("div", (1.0, 0.0), "division by zero (1 / 0)"),
        ("pow", (-8.0, 1 / 3), "a negative base to a non-integer power is not a real number ((-8) ** 0.333333)"),
        ("pow", (0.0, -1.0), "0 to a negative power is a division by zero (0 ** -1)"),
    ],
)  # fmt: skip
def test_forward_refuses_undefined_inputs(name, args, message):
    with pytest.raises(Undefined) as info:
        OPS[name].forward(*args)
    assert str(info.value) == message


def test_integer_powers_of_negative_bases_are_fine():
    assert OPS["pow"].forward(-2.0, 3.0) == -8.0
    assert partial("pow", (-2.0, 3.0)) == 12.0  # 3 * (-2)^2


@pytest.mark.parametrize(
    ("name", "args", "i", "message"),
    [
        ("sqrt", (0.0,), 0, "the derivative of sqrt at 0 is infinite"),
        ("pow", (0.0, 0.5), 0, "the derivative of x ** 0.5 at x = 0 is infinite"),
        ("pow", (-2.0, 3.0), 1, "x ** y has no real derivative with respect to the exponent y when the base is negative (x = -2)"),
    ],
)  # fmt: skip
def test_infinite_or_complex_derivatives_are_refused(name, args, i, message):
    with pytest.raises(Undefined) as info:
        partial(name, args, i)
    assert str(info.value) == message


def test_pow_derivatives_at_zero_base_where_defined():
    assert partial("pow", (0.0, 1.0), 0) == 1.0  # d/dx x at 0
    assert partial("pow", (0.0, 2.0), 0) == 0.0  # d/dx x^2 at 0
    assert partial("pow", (0.0, 2.0), 1) == 0.0  # d/dy 0^y for y > 0
    assert partial("pow", (3.0, 0.0), 0) == 0.0  # x^0 is constant


def test_sigmoid_is_stable_for_large_inputs():
    sigmoid = OPS["sigmoid"].forward
    assert sigmoid(-1000.0) == pytest.approx(0.0, abs=1e-300)
    assert sigmoid(1000.0) == 1.0
    assert sigmoid(0.0) == 0.5
    assert sigmoid(2.0) == pytest.approx(1 / (1 + math.exp(-2.0)), rel=1e-15)


def test_kinks_are_where_a_convention_decides():
    at = lambda name, args: OPS[name].kink(args, OPS[name].forward(*args))
    assert at("relu", (0.0,)) and not at("relu", (0.1,))
    assert at("abs", (0.0,)) and not at("abs", (-2.0,))
    assert at("max", (1.0, 1.0, 0.0)) and not at("max", (1.0, 0.0, 1.5))
    assert at("min", (0.0, 2.0, 0.0)) and not at("min", (0.0, 2.0))
    smooth = [op.name for op in COMPUTED if op.kink is None]
    assert "relu" not in smooth and "add" in smooth


@pytest.mark.parametrize("tie", ["split", "first"])
def test_a_router_never_reuses_an_earlier_evaluations_winners(tie):
    """The router counts a node's winners once per evaluation; evaluating the same
    graph again at other points must count again (max(x, y, x): x is there twice).
    Both the backward pass and the local derivatives (cached per graph) are checked."""
    graph = bpcli.parse("max(x, y, x)")
    conventions = bpcli.Conventions(max_tie=tie)
    split = tie == "split"
    for point, grads, local in [
        ({"x": 1, "y": 1}, {"x": 2 / 3, "y": 1 / 3} if split else {"x": 1.0, "y": 0.0},
         (1 / 3, 1 / 3, 1 / 3) if split else (1.0, 0.0, 0.0)),
        ({"x": 1, "y": 2}, {"x": 0.0, "y": 1.0}, (0.0, 1.0, 0.0)),
        ({"x": 3, "y": 2}, {"x": 1.0, "y": 0.0}, (0.5, 0.0, 0.5) if split else (1.0, 0.0, 0.0)),
        ({"x": 1, "y": 1}, {"x": 2 / 3, "y": 1 / 3} if split else {"x": 1.0, "y": 0.0},
         (1 / 3, 1 / 3, 1 / 3) if split else (1.0, 0.0, 0.0)),
    ]:  # fmt: skip
        result = bpcli.evaluate(graph, point, conventions=conventions)
        assert result.gradients == pytest.approx(grads)
        assert result.nodes[graph.output].local == pytest.approx(local)


# ---- pullbacks: what an edge sends, finite wherever the product is (issue 17) --------------

EXTREME = (5e-324, 1e-300, 1e-160, 1e-10, 0.5, 1.0, 3.0, 1e10, 1e160, 1e300)
EXTREME_ARGS = (0.0, *EXTREME, *(-v for v in EXTREME))
UPSTREAM = (1.0, -1.0, 5e-324, 1e-300, 1e-200, 1e200, 1e300)
FIXED = [op for op in COMPUTED if op.arity is not None]


def exact_pullback(name, args, g):
    """g times the exact local derivatives at these float inputs (mpmath, 1200 bits), or
    None where bpcli's rules call a derivative undefined or infinite."""
    from strategies import MP, exact_op, local_derivatives

    mp_args = [MP.mpf(a) for a in args]
    out = exact_op(name, mp_args)
    if name == "pow":
        x, y = mp_args
        if x == 0:
            base = MP.zero if y == 0 or y > 1 else MP.one if y == 1 else None
            locals_ = [base, MP.zero]
        else:
            locals_ = [MP.zero if y == 0 else y * MP.power(x, y - 1)]
            locals_.append(out * MP.log(x) if x > 0 else None)
    elif name in ("relu", "abs"):  # their conventions at 0: relu'(0) = abs'(0) = 0
        (a,) = mp_args
        locals_ = [MP.mpf(a > 0) if name == "relu" else MP.mpf(MP.sign(a))]
    elif name == "sqrt" and out == 0:
        locals_ = [None]  # infinite
    else:
        locals_ = [L for L, _, _ in local_derivatives(name, mp_args, out)]
    return [None if L is None else MP.mpf(g) * L for L in locals_]


@pytest.mark.parametrize("op", FIXED, ids=lambda op: op.name)
def test_every_pullback_is_finite_and_right_wherever_the_product_is(op):
    # What the engine's exact pass sends back along each edge of each op, at extreme
    # inputs and upstream gradients, against g times the exact local derivative.
    from strategies import FMAX, MP
    from strategies import Undefined as Refused

    checked = 0
    for args in itertools.product(EXTREME_ARGS, repeat=op.arity):
        try:
            out = op.forward(*args)
        except (Undefined, OverflowError, ZeroDivisionError):
            continue
        if not math.isfinite(out):
            continue
        if op.name == "pow" and args[0] < 0 and abs(args[1]) >= 2**53:
            continue  # y - 1 rounds to y there: the float rule cannot tell its parity (left)
        for g in UPSTREAM:
            try:
                want = exact_pullback(op.name, args, g)
            except Refused:
                continue
            for k, (partial, exact) in enumerate(zip(op.partials, want, strict=True)):
                where = f"{op.name} edge {k} at {args}, g = {g}"
                try:
                    local = partial(args, out)
                except Undefined:
                    assert exact is None, f"{where}: refused, but the product is {exact}"
                    continue
                except OverflowError:
                    local = math.inf
                got = engine.pullback(op, k, args, out, g, local)
                assert exact is not None, f"{where}: {got}, but the derivative is undefined"
                if abs(exact) > FMAX:
                    assert not math.isfinite(got), f"{where}: {got}, but the product overflows"
                    continue
                assert math.isfinite(got), f"{where}: overflows, but the product is {exact}"
                error = abs(MP.mpf(got) - exact)
                # A few roundings, relative; or an ulp of 1 in a local derivative such as
                # sigmoid's out·(1 - out) far out, where 1 - out cancels; or the subnormals'.
                bound = 1e-12 * abs(exact) + 4e-16 * abs(g) + MP.mpf(2) ** -1070
                assert error <= bound, f"{where}: {got}, want {MP.nstr(exact, 17)}"
                checked += 1
    assert checked >= 50


@pytest.mark.parametrize(
    ("text", "point", "want"),
    [
        ("exp(log(x))", {"x": 5e-324}, {"x": 1.0}),  # PyTorch: 1.0
        ("z * (x / y)", {"x": 1.0, "y": 1e-200, "z": 1e-300}, {"x": 1e-100, "y": -1e100, "z": 1e200}),
        ("exp(log(x)) * x", {"x": 1e-300}, {"x": 2e-300}),
    ],
)  # fmt: skip
def test_a_gradient_that_fits_in_a_float_does_not_overflow(text, point, want):
    # The exact gradients: d/dx exp(log(x)) = 1; d/dy z·x/y = -z·x/y², d/dx = z/y, d/dz = x/y;
    # d/dx x² = 2x.
    result = bpcli.grad(text, point)
    assert result.gradients == pytest.approx(want, rel=1e-14)
