"""Forward and backward passes and gradient descent, against hand-worked values."""

from __future__ import annotations

import itertools
import json
import math
import traceback

import pytest
import sympy
from hypothesis import assume, event, given
from hypothesis import strategies as st

import bpcli
from bpcli import Conventions, DomainError, engine
from bpcli.ops import CODES, OPS, Undefined
from conftest import LECTURE
from strategies import BINARY, Bin, Call, Num, Reference, Renderer, Unary, Var, cases, to_sympy


def test_lecture_forward_and_backward():
    # f = (x+y)z at x=-2, y=5, z=-4: q = 3, f = -12, df/dx = df/dy = z = -4, df/dz = q = 3
    result = bpcli.grad("q = x + y; f = q * z", LECTURE)
    by_name = {node.name: node for node in result.nodes}
    assert result.output == -12.0
    assert by_name["q"].value == 3.0
    assert by_name["q"].grad == -4.0
    assert by_name["f"].grad == 1.0
    assert result.gradients == {"x": -4.0, "y": -4.0, "z": 3.0}


def test_lecture_update_step():
    # x := x - 0.1 * df/dx: -2 - 0.1*(-4) = -1.6, 5.4, -4 - 0.1*3 = -4.3; (x+y)z = 3.8 * -4.3
    result = bpcli.grad("(x+y)*z", LECTURE, lr=0.1)
    update = result.update
    assert update is not None
    assert update.lr == 0.1
    assert update.steps == 1
    assert update.inputs == pytest.approx({"x": -1.6, "y": 5.4, "z": -4.3}, abs=1e-12)
    assert update.output == pytest.approx(-16.34, abs=1e-12)
    assert update.trajectory is None


def test_descent_trajectory_matches_a_hand_written_loop():
    x, y, z = -2.0, 5.0, -4.0
    want = []
    for step in range(6):
        want.append((step, x, y, z, (x + y) * z))
        q = x + y
        x, y, z = x - 0.05 * z, y - 0.05 * z, z - 0.05 * q
    result = bpcli.grad("(x+y)*z", LECTURE, lr=0.05, steps=5)
    assert result.update is not None and result.update.trajectory is not None
    got = [
        (s.step, s.inputs["x"], s.inputs["y"], s.inputs["z"], s.output)
        for s in result.update.trajectory
    ]
    assert [g[0] for g in got] == [w[0] for w in want]
    for g, w in zip(got, want, strict=True):
        assert g[1:] == pytest.approx(w[1:], rel=1e-12)
    assert result.update.output == pytest.approx(want[-1][4], rel=1e-12)


def test_copy_gate_adds_the_gradients_of_every_use():
    # d/dx (x*x + x) = 2x + 1 = 7 at x = 3
    assert bpcli.grad("x*x + x", {"x": 3}).gradients == {"x": 7.0}
    # q = x + y; f = q*q: df/dq = 2q = 10, and it reaches x and y unchanged
    result = bpcli.grad("q = x + y; f = q * q", {"x": 2, "y": 3})
    assert result.gradients == {"x": 10.0, "y": 10.0}


def test_the_lectures_gate_patterns():
    # f = 2(xy + max(z, w)) at x=3, y=-4, z=2, w=-1 (the slides' pattern example):
    # add distributes 2, mul swaps (df/dx = 2y = -8, df/dy = 2x = 6), max routes (z 2, w 0)
    result = bpcli.grad("2*(x*y + max(z, w))", {"x": 3, "y": -4, "z": 2, "w": -1})
    assert result.output == -20.0
    assert result.gradients == {"x": -8.0, "y": 6.0, "z": 2.0, "w": 0.0}


def test_constants_are_not_differentiated():
    result = bpcli.grad("3*x", {"x": 2})
    assert [node.grad for node in result.nodes] == [None, 3.0, 1.0]


def test_dead_statements_get_zero_gradient():
    result = bpcli.grad("a = sqrt(y); f = x * 2", {"x": 1, "y": 0})
    assert result.gradients == {"y": 0.0, "x": 2.0}


def test_a_zero_upstream_gradient_does_not_evaluate_local_derivatives():
    # relu'(0) = 0, so sqrt's infinite derivative at 0 is never multiplied in
    assert bpcli.grad("relu(sqrt(x))", {"x": 0}).gradients == {"x": 0.0}


def test_max_tie_conventions():
    split = bpcli.grad("max(x, y)", {"x": 1, "y": 1})
    assert split.gradients == {"x": 0.5, "y": 0.5}
    first = bpcli.grad("max(x, y)", {"x": 1, "y": 1}, conventions=Conventions(max_tie="first"))
    assert first.gradients == {"x": 1.0, "y": 0.0}
    assert first.to_dict()["conventions"]["max_min_tie"] == "first"


def test_a_deep_chain_is_exact():
    # f = (…((x*a + b)*a + b)…): df/dx = a**depth, computed here independently
    depth, a, b, x = 25_000, 1.00002, 0.5, 0.3
    text = "(" * depth + "x" + "*a+b)" * depth
    value = x
    for _ in range(depth):
        value = value * a + b
    result = bpcli.grad(text, {"x": x, "a": a, "b": b})
    assert result.output == pytest.approx(value, rel=1e-9)
    assert result.gradients["x"] == pytest.approx(a**depth, rel=1e-9)


# ---- domain errors -------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "values", "message", "column"),
    [
        ("2 + log(x - 1)", {"x": 1}, "log needs a positive input, got 0, in `log(x - 1)`", 5),
        ("sqrt(x)", {"x": -1}, "sqrt needs a non-negative input, got -1, in `sqrt(x)`", 1),
        ("sqrt(x)", {"x": 0}, "the derivative of sqrt at 0 is infinite, in `sqrt(x)`", 1),
        ("y / (x - 2)", {"x": 2, "y": 1}, "division by zero (1 / 0), in `y / (x - 2)`", 1),
        ("x ^ 0.5", {"x": -4}, "a negative base to a non-integer power is not a real number ((-4) ** 0.5), in `x ^ 0.5`", 1),
        ("x ** -1", {"x": 0}, "0 to a negative power is a division by zero (0 ** -1), in `x ** -1`", 1),
        ("x ** y", {"x": -2, "y": 2}, "x ** y has no real derivative with respect to the exponent y when the base is negative (x = -2), in `x ** y`", 1),
        ("exp(exp(exp(x)))", {"x": 10}, "exp overflows: the value is too large, in `exp(exp(x))`", 5),
        ("1e308*x", {"x": 10}, "mul overflows: the value is too large, in `1e308*x`", 1),
        ("2^2^2^2^2^x", {"x": 2}, "pow overflows: the value is too large, in `2^2^2^2^x`", 3),
        ("1e200*(1e200*x)", {"x": 1e-300}, "the gradient at x overflows, in `x`", 14),
    ],
)  # fmt: skip
def test_undefined_maths_is_a_domain_error_with_its_source(text, values, message, column):
    with pytest.raises(DomainError) as info:
        bpcli.grad(text, values)
    assert info.value.message == message
    assert info.value.column == column


def test_a_domain_error_during_descent_names_the_step():
    # log(x) at x = 1 with lr 2: x := 1 - 2 * 1 = -1
    with pytest.raises(DomainError) as info:
        bpcli.grad("log(x)", {"x": 1}, lr=2, steps=3)
    assert info.value.message == (
        "at step 1 of gradient descent: log needs a positive input, got -1, in `log(x)`"
    )


def test_an_overflowing_update_is_a_domain_error():
    with pytest.raises(DomainError, match="update of x overflows"):
        bpcli.grad("x", {"x": -1e308}, lr=1e308)


def test_no_value_is_ever_nan_or_infinite():
    result = bpcli.grad("tanh(x) * sigmoid(-x) + exp(-x)", {"x": 700})
    numbers = [node.value for node in result.nodes] + [
        node.grad for node in result.nodes if node.grad is not None
    ]
    assert all(math.isfinite(v) for v in numbers)


def test_a_local_derivative_too_large_for_a_float_is_undefined_not_infinite():
    # d/db (a / b) = -(a/b)/b = -1e290/1e-300 overflows; b is a constant, so not asked for
    result = bpcli.grad("x / 1e-300", {"x": 1e-10})
    assert result.gradients == {"x": pytest.approx(1e300)}
    assert result.nodes[2].local == (pytest.approx(1e300), None)
    json.dumps(result.to_dict(), allow_nan=False)


# ---- a gradient thrown away never fails the run ------------------------------------------
# A constant, or a gate of constants only, gets no gradient: what an edge would send
# it is thrown away, so it must not fail the run however large it would be. Which
# local derivatives can overflow comes from the op table: a local derivative of size
# at most 1 cannot (g * d is no larger than g), so it is every input of every op
# whose derivative exceeds 1 somewhere on a grid of extreme inputs. For each, a case
# puts a gate of constants, `(c * 1)`, at that input, with an upstream gradient
# (s, a power of two) that makes the thrown-away gradient overflow, and checks the
# true gradient of x against SymPy:
#   an op of two inputs, the other input x:   f = s * op(x, (c * 1))
#   an op of one input (a constant gate):     f = x * (op((c * 1)) - k), x = s, k = 0.75 op(c)
# (k cancels most of op(c) exactly, Sterbenz, so that f stays finite while the
# upstream into op(c) is s.)

_EXTREMES = sorted(
    {s * v for s in (1.0, -1.0) for v in (0.5, 1.0, 2.0, math.pi / 2, 700.0)}
    | {s * 10.0**e for s in (1.0, -1.0) for e in (-300, -160, -20, 20, 160, 300)}
    | {0.0}
)


def _thrown_away_cases():
    """(op, position, args, s) for each input of each op whose derivative can overflow
    there, and the set of those (op, position) found by the looser test (|d| > 1)."""
    failures = (Undefined, OverflowError, ZeroDivisionError, ValueError)
    can_overflow, cases = set(), {}
    for name, op in OPS.items():
        n = op.arity if op.arity is not None else 2
        if n == 0 or not op.scalar:  # an op for tensors only has no scalar rule
            continue
        partials = op.partials_for(n, Conventions())
        for args in itertools.product(_EXTREMES, repeat=n):
            try:
                out = op.forward(*args)
            except failures:
                continue
            if not math.isfinite(out):
                continue
            for p, partial in enumerate(partials):
                try:
                    d = partial(args, out)
                except (OverflowError, ZeroDivisionError):
                    d = math.inf
                except failures:
                    continue
                if abs(d) <= 1 or (name, p) in cases:
                    continue
                can_overflow.add((name, p))
                s = 1.0
                while math.isfinite(s * d):
                    s *= 2.0
                if n == 1:
                    other, total = 0.0, s * (out - 0.75 * out)
                else:
                    try:
                        other = partials[1 - p](args, out)
                    except failures:
                        continue
                    total = s * out
                if math.isfinite(total) and math.isfinite(s * other) and total != 0:
                    cases[(name, p)] = (args, s)
    return can_overflow, cases


_CAN_OVERFLOW, _THROWN_AWAY = _thrown_away_cases()


def test_every_local_derivative_that_can_overflow_has_a_thrown_away_case():
    assert set(_THROWN_AWAY) == _CAN_OVERFLOW
    assert ("div", 1) in _CAN_OVERFLOW  # x / (1e-150 * 1e-150), the case reported


def _number(value):
    return Num(value) if value >= 0 else Unary("neg", Num(-value))


def _applied(name, args):
    if name in BINARY:
        return Bin(name, *args)
    if name == "neg":
        return Unary("neg", args[0])
    return Call(name, tuple(args))


@pytest.mark.parametrize(
    ("name", "position"), sorted(_THROWN_AWAY), ids=[f"{n}-{p}" for n, p in sorted(_THROWN_AWAY)]
)
def test_a_thrown_away_gradient_never_fails_the_run(name, position):
    args, s = _THROWN_AWAY[(name, position)]
    constant = Bin("mul", _number(args[position]), Num(1.0))  # a gate of constants
    if len(args) == 1:
        out = _applied(name, [constant])
        k = 0.75 * sympy.N(to_sympy(out, {}, {}), 30)
        expr = Bin("mul", Var("x"), Bin("sub", out, _number(float(k))))
        x = s
    else:
        inputs = [Var("x"), Var("x")]
        inputs[position] = constant
        expr = Bin("mul", _number(s), _applied(name, inputs))
        x = args[1 - position]
    text = Renderer(None, fancy=False).expr(expr)
    symbol = sympy.Symbol("x", real=True)
    expected = sympy.diff(to_sympy(expr, {}, {"x": symbol}), symbol).subs(symbol, x)
    result = bpcli.grad(text, {"x": x})
    assert result.gradients["x"] == pytest.approx(float(sympy.N(expected, 30)), rel=1e-9), text


def test_the_reported_thrown_away_overflow():
    # d/dx x / (1e-150 * 1e-150) = 1 / 1e-300 = 1e300, as for x / 1e-300; the gradient the
    # constant 1e-150 * 1e-150 would get, -(x / 1e-300) / 1e-300, is thrown away
    for text in ("x / 1e-300", "x / (1e-150 * 1e-150)"):
        assert bpcli.grad(text, {"x": 1e-20}).gradients["x"] == pytest.approx(1e300, rel=1e-12)


def test_a_constant_output_sends_nothing_back():
    # f = 2 * 3 depends on no input: df/df = 1, the constants get no gradient
    result = bpcli.grad("f = 2 * 3", {})
    assert [node.grad for node in result.nodes] == [None, None, 1.0]


# ---- the compiled loops ----------------------------------------------------------------------


def test_a_traceback_from_inside_a_loop_shows_its_line():
    # A neg node whose input id points past the values: an IndexError inside forward_loop.
    try:
        engine._forward_loop([CODES["neg"]], [5], [-1], [0.0], None)
    except IndexError:
        text = traceback.format_exc()
    else:
        pytest.fail("no IndexError")
    assert f'File "{engine.FILENAME}", line ' in text
    line = int(text.split(f'File "{engine.FILENAME}", line ')[1].split(",")[0])
    shown = engine.LOOPS.splitlines()[line - 1].strip()
    assert shown == "a = values[j]"  # j: the input id the loop zipped from column first
    assert f"in forward_loop\n    {shown}\n" in text  # the line, under its file and number


# ---- the loops check once, after the loop; the checked pass finds the node ----------------


@pytest.mark.parametrize(
    ("text", "x", "message", "span"),
    [
        # an infinity that a later op makes finite again: tanh(inf) = 1, sigmoid(inf) = 1
        ("tanh(x * 1e308 * 10)", 1.0, "mul overflows: the value is too large, in `x * 1e308 * 10`", (5, 19)),
        ("sigmoid(x * 1e308 * 10) + x", 1.0, "mul overflows: the value is too large, in `x * 1e308 * 10`", (8, 22)),
        ("max(x * 1e308 * 10, 1) * x", 1.0, "mul overflows: the value is too large, in `x * 1e308 * 10`", (4, 18)),
        # a nan (inf - inf), and a rule that raises on an infinity (sin(inf): ValueError)
        ("x*1e308*10 - x*1e308*10", 1.0, "mul overflows: the value is too large, in `x*1e308*10`", (0, 10)),
        ("sin(x * 1e308 * 10) + x", 1.0, "mul overflows: the value is too large, in `x * 1e308 * 10`", (4, 18)),
        ("relu(x + 1) * 2", math.nan, "add overflows: the value is too large, in `x + 1`", (5, 10)),
        # a rule that raises first, before any infinity
        ("tanh(exp(1000)) + x", 1.0, "exp overflows: the value is too large, in `exp(1000)`", (5, 14)),
        # backward: an infinite gradient that an exact 0 makes nan, and one that reaches x
        ("1e200*(1e200*relu(x))", -0.5, "the gradient at relu1 overflows, in `relu(x)`", (13, 20)),
        ("sqrt(relu(x)) * 1e200 * 1e200", -1.0, "the gradient at sqrt1 overflows, in `sqrt(relu(x))`", (0, 13)),
    ],
)  # fmt: skip
def test_the_first_node_that_fails_is_the_error(text, x, message, span):
    graph = bpcli.parse(text)
    with pytest.raises(DomainError) as info:
        engine.backward(graph, engine.forward(graph, {"x": x}))
    assert (info.value.message, info.value.span) == (message, span)


def test_values_whose_sum_overflows_are_no_error():
    # every value is finite, their sum is not: the checked loop finds no node that fails
    graph = bpcli.parse("1e308 * x - 1e308")
    values = engine.forward(graph, {"x": 1.0})
    assert values == [1e308, 1.0, 1e308, 1e308, 0.0]
    assert engine.backward(graph, values) == [None, 1e308, 1.0, None, 1.0]


def test_an_infinite_input_is_no_error_of_the_forward_pass():
    # the sum of the values is infinite, the checked loop finds no gate that fails
    graph = bpcli.parse("tanh(x)")
    assert engine.forward(graph, {"x": math.inf}) == [math.inf, 1.0]


@pytest.mark.parametrize("common", [(), ("sub", "exp", "max"), tuple(OPS)])
def test_the_loops_give_the_same_numbers_whichever_ops_are_tested_first(monkeypatch, common):
    import dataclasses

    text = "t = tanh(x*0.37 - y/2); f = max(exp(-t), sigmoid(y)) + relu(x)**2 + sqrt(abs(y))"
    point = {"x": 0.5, "y": -0.25}
    before = bpcli.grad(text, point)
    for name, op in OPS.items():
        monkeypatch.setitem(OPS, name, dataclasses.replace(op, common=name in common))
    try:
        engine.build()
        after = bpcli.grad(text, point)
    finally:
        monkeypatch.undo()
        engine.build()
    assert (after.output, after.gradients) == (before.output, before.gradients)


# ---- an infinite local gradient times an exact zero (issue 17) ----------------------------
# PyTorch's answers at these points (torch 2.x, float64): sqrt(relu(x)) at -1, x**relu(x)
# at -2, relu(x)**0.5 at -1 and max(sqrt(x), 1) at 0 all have d/dx = 0.


@pytest.mark.parametrize(
    ("text", "x"),
    [("sqrt(relu(x))", -1.0), ("x**relu(x)", -2.0), ("relu(x)**0.5", -1.0),
     ("max(sqrt(x), 1)", 0.0), ("0*sqrt(x)", 0.0), ("min(sqrt(x), -1) + 3*x", 0.0),
     ("sqrt(max(x, 0))", -1.0)],
)  # fmt: skip
def test_an_exact_zero_stops_an_infinite_local_gradient(text, x):
    want = 3.0 if "3*x" in text else 0.0  # PyTorch's answer (and the maths: f is flat there)
    result = bpcli.grad(text, {"x": x})
    assert result.gradients == {"x": want}
    assert result.to_dict()["conventions"]["infinite_times_zero"] == 0.0


@pytest.mark.parametrize(
    ("text", "x", "message", "caret"),
    [
        ("1*sqrt(x)", 0.0, "the derivative of sqrt at 0 is infinite", "sqrt(x)"),
        ("sqrt(relu(x) + x)", 0.0, "the derivative of sqrt at 0 is infinite", "sqrt(relu(x) + x)"),
        ("sqrt(relu(x)) + sqrt(x)", 0.0, "the derivative of sqrt at 0 is infinite", "sqrt(x)"),
    ],
)
def test_an_infinity_that_reaches_an_input_is_the_error_it_always_was(text, x, message, caret):
    with pytest.raises(DomainError) as caught:
        bpcli.grad(text, {"x": x})
    assert caught.value.message == f"{message}, in `{caret}`"
    start, end = caught.value.span
    assert text[start:end] == caret
    assert text.rindex(caret) == start or caret == text


def test_the_json_of_a_stopped_infinity_is_null_where_it_passes_and_0_where_it_stops():
    result = bpcli.grad("sqrt(relu(x))", {"x": -1.0})
    data = result.to_dict()
    x, relu, f = data["nodes"]
    assert (x["grad"], relu["grad"], f["grad"]) == (0.0, None, 1.0)
    assert f["local"] == [None]  # sqrt'(0) is infinite
    assert relu["uses"] == [{"node": 2, "grad": None}]
    assert x["uses"] == [{"node": 1, "grad": 0.0}]
    assert [result.sent(2, 0), result.sent(1, 0)] == [None, 0.0]
    text = "".join(result.json_chunks())
    assert text == json.dumps(data, allow_nan=False)


def test_every_view_shows_a_stopped_infinity():
    import io

    from rich.console import Console

    from bpcli.render.dot import to_dot
    from bpcli.render.explain import ExplainView
    from bpcli.render.mermaid import to_mermaid
    from bpcli.render.page import to_html
    from bpcli.render.table import GradView
    from bpcli.render.tree import to_tree

    result = bpcli.grad("sqrt(relu(x))", {"x": -1.0})
    console = Console(file=io.StringIO(), width=100, color_system=None)
    for view in (GradView(result), ExplainView(result), to_tree(result.graph, result)):
        console.print(view)
    shown = " ".join(console.file.getvalue().replace("│", " ").split())
    assert "∂f/∂x = 0" in shown
    assert "relu1 relu relu(x) 0 —" in shown  # the table: no number for an infinite gradient
    assert (
        "the relu gate passes nothing back here, so sqrt's infinite local gradient never"
        " reaches x" in shown
    )
    assert "x -1 ∂ 0" in shown  # the tree
    assert "∂ 0" in to_dot(result.graph, result)
    assert "grad 0" in to_mermaid(result.graph, result)
    page = to_html(result)
    assert "relu gate passes nothing back here" in page


def test_of_two_infinities_that_reach_inputs_the_error_is_the_one_met_first():
    # The backward pass walks in reverse order: it meets sqrt(y) first, as it always did.
    with pytest.raises(DomainError) as caught:
        bpcli.grad("sqrt(x) + sqrt(y)", {"x": 0.0, "y": 0.0})
    assert caught.value.message == "the derivative of sqrt at 0 is infinite, in `sqrt(y)`"


def test_the_walkthrough_says_what_stopped_an_undefined_local_gradient():
    import io

    from rich.console import Console

    from bpcli.render.explain import ExplainView

    console = Console(file=io.StringIO(), width=200, color_system=None)
    console.print(ExplainView(bpcli.grad("x**relu(x)", {"x": -2.0})))
    console.print(ExplainView(bpcli.grad("sqrt(max(x, 0))", {"x": -1.0})))
    shown = console.file.getvalue()
    # log(-2) is not a real number: d(x ** y)/dy is undefined there, not infinite.
    assert "the relu gate passes nothing back here, so pow's undefined local gradient" in shown
    assert "the max gate passes nothing back here, so sqrt's infinite local gradient" in shown


# ---- constant leaves: next to nothing for the loops, the same numbers -----------------


def test_a_statement_with_constants_by_hand():
    """t = tanh(x*0.37 + y*-1.2): dt/dx = (1 - t²)·0.37, dt/dy = (1 - t²)·-1.2, computed
    here in the order the chain rule gives them, so bit for bit; the constants get None."""
    x, y = 0.5, 0.25
    graph = bpcli.parse("t = tanh(x*0.37 + y*-1.2)")
    values = engine.forward(graph, {"x": x, "y": y})
    grads = engine.backward(graph, values)
    t = math.tanh(x * 0.37 + y * -1.2)
    assert values[graph.output] == t
    assert grads[graph.variables["x"]] == (1.0 - t * t) * 0.37
    assert grads[graph.variables["y"]] == (1.0 - t * t) * -1.2
    constants = [i for i, code in enumerate(graph.codes) if code == CODES["const"]]
    assert [graph.consts[i] for i in constants] == [0.37, -1.2]
    assert [grads[i] for i in constants] == [None, None]
    assert engine.backward(graph, values) == grads  # the second pass reads the kept lists


@pytest.mark.parametrize(
    ("text", "constants", "none"),
    [
        ("x*2 + 3", [1, 3], [1, 3]),
        ("x²*-4 + e", [1, 3, 5], [1, 3, 5]),  # a superscript, a folded sign, a named constant
        ("x ** (1+1)", [1, 2], [1, 2, 3]),  # a gate of constants only gets None too
        ("f = 2 * 3", [0, 1], [0, 1]),  # df/df = 1 for a constant output
        ("f = 2", [0], []),
    ],
)  # fmt: skip
def test_the_parsers_constants_and_the_nodes_that_get_no_gradient(text, constants, none):
    graph = bpcli.parse(text)
    assert graph.constant_ids == constants
    grads = engine.backward(graph, engine.forward(graph, {"x": 3.0} if "x" in text else {}))
    assert [i for i, grad in enumerate(grads) if grad is None] == none


def _exact_gradients(graph: bpcli.Graph, values: list[float]) -> list[float]:
    """The slow exact path's gradients (one rule at a time), from the seed."""
    fixed = list(graph.fixed)
    grads = [0.0] * len(graph.codes)
    grads[graph.output] = 1.0
    if not fixed[graph.output]:
        assert engine._exact(graph, values, grads, fixed, Conventions()) == {}
    return grads


@given(cases(max_statements=3, depth=3))
def test_the_loops_give_the_exact_paths_numbers_bit_for_bit(case):
    """Random programs with literal constants: the compiled loops, which skip constants
    and every edge into one, against the exact path (one rule at a time) bit for bit,
    and against the reference's exact arithmetic within its float error bound."""
    graph = bpcli.parse(case.text)
    try:
        values = engine.forward(graph, case.point)
        grads = engine.backward(graph, values)
    except DomainError:
        return
    assume(all(g is not None for i, g in enumerate(grads) if not graph.fixed[i]))
    count = graph.codes.count(CODES["const"])
    event(f"constants: {count if count < 3 else '3 or more'}")
    exact = _exact_gradients(graph, values)
    for i, grad in enumerate(grads):
        if graph.fixed[i] and i != graph.output:
            assert grad is None
        else:
            assert grad == exact[i], graph.name(i)
    ref = Reference(case.statements, case.point)
    if ref.outcome != "ok" or ref.kink != "none":
        return
    for name, node in graph.variables.items():
        want, err = ref.grads[name], ref.grad_err[name]
        assert abs(grads[node] - want) <= max(1e-9 * abs(want), 1000 * err), name


# ---- one graph's passes as straight-line code (batch's fast path) --------------------------


def _passes(graph: bpcli.Graph, inputs: list[float], lr: float | None) -> list[float | None]:
    """What forward, backward, flow and one step of descend give, as straight_line lists them."""
    values = engine.forward(graph, dict(zip(graph.variables, inputs, strict=True)))
    grads = engine.backward(graph, values)
    flow = engine.flow(graph, values, grads)
    numbers = [*values, *grads, *flow.local, *flow.sent]
    if lr is not None:
        last = engine.descend(graph, values, grads, lr, 1)[-1]
        numbers += [*last.inputs.values(), last.output]
    return numbers


def test_the_straight_line_of_the_lecture_by_hand():
    """f = (x+y)z at x=-2, y=5, z=-4: q = 3, f = -12; df/dq = z = -4, df/dz = q = 3, and x
    and y get q's -4 through the add; mul's local derivatives are z and q, add's 1 and 1;
    with lr 0.1: x=-1.6, y=5.4, z=-4.3, f = 3.8 * -4.3."""
    graph = bpcli.parse("(x+y)*z")  # nodes x, y, q = x+y, z, f; edges x→q, y→q, q→f, z→f
    straight = engine.straight_line(graph)
    assert straight is not None
    numbers = straight.run([-2.0, 5.0, -4.0], 0.1)
    assert numbers is not None
    values, grads, local, sent = numbers[:5], numbers[5:10], numbers[10:14], numbers[14:18]
    assert values == [-2.0, 5.0, 3.0, -4.0, -12.0]
    assert grads == [-4.0, -4.0, -4.0, 3.0, 1.0]
    assert local == [1.0, 1.0, -4.0, 3.0]
    assert sent == [-4.0, -4.0, -4.0, 3.0]
    assert numbers[18:21] == pytest.approx([-1.6, 5.4, -4.3], abs=1e-12)
    assert numbers[21] == pytest.approx(3.8 * -4.3, abs=1e-12)
    assert straight.run([-2.0, 5.0, -4.0], None) == numbers[:18]
    # what never changes: f's gradient, add's local derivatives; mul's are z's and q's
    # values; what the add sends to x and to y, each used once, is x's and y's gradient
    assert straight.known == {9: 1.0, 10: 1.0, 11: 1.0}
    assert straight.same == {12: 3, 13: 2, 14: 5, 15: 6}
    assert straight.nones == frozenset()


def test_the_straight_line_leaves_what_is_not_plain_numbers_to_the_passes():
    for text, values in [("log(x)", [0.0]), ("exp(x)*y", [1000.0, 1.0]), ("sqrt(x)", [0.0])]:
        straight = engine.straight_line(bpcli.parse(text))
        assert straight is not None
        assert straight.run(values, None) is None, text
    assert engine.straight_line(bpcli.parse("max(x, y)")) is None  # a tie rule's
    assert engine.straight_line(bpcli.parse("x*(2+3)")).nones == {6, 7, 8, 14, 15, 17}  # type: ignore[union-attr]


@given(cases(max_statements=3, depth=3), st.sampled_from([None, 0.1, -0.0, 3.0, 1e300]))
def test_the_straight_line_gives_the_passes_numbers_bit_for_bit(case, lr):
    """Random programs: where the straight line gives numbers, they are the passes' to the
    bit (repr tells -0.0 from 0.0); where the passes fail, it gives None; and what it says
    never changes is so."""
    graph = bpcli.parse(case.text)
    straight = engine.straight_line(graph)
    if straight is None:
        assert any(OPS[graph.op(i)].arity is None for i in range(len(graph)))
        return
    inputs = [case.point[name] for name in graph.variables]
    numbers = straight.run(inputs, lr)
    try:
        expected = _passes(graph, inputs, lr)
    except DomainError:
        assert numbers is None
        return
    event("straight line: " + ("left to the passes" if numbers is None else "numbers"))
    if numbers is None:
        return
    assert list(map(repr, numbers)) == list(map(repr, expected))
    assert all(numbers[p] is None for p in straight.nones)
    assert all(repr(numbers[p]) == repr(x) for p, x in straight.known.items())
    assert all(numbers[p] is numbers[q] for p, q in straight.same.items())


@pytest.mark.parametrize(
    ("text", "start", "uses_start", "order", "used_by", "chained"),
    [
        # x0 c1 mul2 c3 add4: edges 0→2, 1→2, 2→4, 3→4, in order of their inputs already
        ("x * 2 + 3", [0, 0, 0, 2, 2, 4], [0, 1, 2, 3, 4, 4], [0, 1, 2, 3], [2, 2, 4, 4], True),
        ("x * x", [0, 0, 2], [0, 2, 2], [0, 1], [1, 1], False),  # in order, but x used twice
        # x0 y1 add2 z3 w4 add5 mul6: mul6's first input, add2, comes before z and w
        (
            "(x + y) * (z + w)",
            [0, 0, 0, 2, 2, 2, 4, 6],
            [0, 1, 2, 3, 4, 5, 6, 6],
            [0, 1, 4, 2, 3, 5],
            [2, 2, 6, 5, 5, 6],
            False,
        ),
        # x0 y1 max2 (x, y, x) mul3 (max2, x): x's uses by consumer, then input position
        (
            "max(x, y, x) * x",
            [0, 0, 0, 3, 5],
            [0, 3, 4, 5, 5],
            [0, 2, 4, 1, 3],
            [2, 2, 3, 2, 3],
            False,
        ),
        # x0 max1 (x) y2 min3 (y, x) add4 (max1, min3): a max of one input, where the op
        # table's arity (a router's: two) is not what the columns hold
        (
            "max(x) + min(y, x)",
            [0, 0, 1, 1, 3, 5],
            [0, 2, 3, 4, 5, 5],
            [0, 2, 3, 1, 4],
            [1, 3, 4, 3, 4],
            False,
        ),
    ],
)
def test_edges_by_hand(text, start, uses_start, order, used_by, chained):
    """Edges numbered by consumer, and each node's uses by consumer and input position,
    worked out by hand, whether the edges come in order of their inputs (a chain) or not;
    and whether they are a chain's (no node used twice, the uses the edges in order)."""
    found = engine.edges(bpcli.parse(text))
    assert found.start.tolist() == start
    assert found.uses_start.tolist() == uses_start
    assert found.order.tolist() == order
    assert found.used_by.tolist() == used_by
    assert found.chained is chained
