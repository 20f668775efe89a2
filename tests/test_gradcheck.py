"""The numerical gradient check, against hand-worked values and plain-Python differences."""

from __future__ import annotations

import io
import json
import math
import os
import sys

import pytest
from rich.console import Console

import bpcli
from bpcli import grad
from bpcli.errors import InputError
from bpcli.gradcheck import (
    ACCEPTABLE,
    GOOD,
    MARGIN,
    GradCheck,
    classify,
    gradcheck,
    relative_error,
)
from bpcli.render.gradcheck import GradCheckView
from conftest import LECTURE


def render(check: GradCheck, output_name: str = "f", width: int = 100) -> str:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    console.print(GradCheckView(check, output_name))
    return console.file.getvalue()


def central(f, point: dict[str, float], name: str, h: float = 1e-5) -> float:
    """The numeric gradient by hand: (f(x+h) - f(x-h)) / ((x+h) - (x-h))."""
    plus, minus = dict(point), dict(point)
    plus[name] += h
    minus[name] -= h
    return (f(**plus) - f(**minus)) / (plus[name] - minus[name])


EPS = sys.float_info.epsilon


def strict_json(check: GradCheck) -> dict:
    return json.loads(json.dumps(check.to_dict(), allow_nan=False))


# ---- the lecture ------------------------------------------------------------------


def test_lecture_every_input_is_good():
    # f = (x+y)z at x=-2, y=5, z=-4: df/dx = df/dy = z = -4, df/dz = x + y = 3
    check = gradcheck(bpcli.grad("(x+y)*z", LECTURE))
    assert list(check.inputs) == ["x", "y", "z"]
    for name, want in {"x": -4.0, "y": -4.0, "z": 3.0}.items():
        row = check.inputs[name]
        assert row.analytic == want
        assert row.numeric == pytest.approx(want, abs=1e-9)
        assert row.relative_error is not None and row.relative_error < GOOD
        assert (row.verdict, row.kink, row.near_kink, row.reason) == ("good", False, False, None)
    assert check.kinks == ()
    assert check.ok
    assert check.step == 1e-5


def test_numeric_gradient_is_the_central_difference():
    f = lambda x, y, z: (x + y) * z
    check = gradcheck(bpcli.grad("(x+y)*z", LECTURE), step=1e-3)
    for name in LECTURE:
        want = central(f, LECTURE, name, h=1e-3)
        assert check.inputs[name].numeric == pytest.approx(want, rel=1e-12)


def test_a_smooth_nonlinear_function_is_good():
    # f = sigmoid(w0*x0 + w1*x1 + w2), the lecture's neuron: df/dw0 = x0 s(1-s), …
    point = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
    check = gradcheck(bpcli.grad("sigmoid(w0*x0 + w1*x1 + w2)", point))
    s = 1 / (1 + math.exp(-1.0))  # w0*x0 + w1*x1 + w2 = 1
    assert check.inputs["w0"].analytic == pytest.approx(-s * (1 - s), rel=1e-12)
    assert [c.verdict for c in check.inputs.values()] == ["good"] * 5


# ---- kinks ------------------------------------------------------------------------


def test_relu_at_zero_flags_x_and_not_y():
    check = gradcheck(bpcli.grad("relu(x) + y*2", {"x": 0, "y": 1}))
    x, y = check.inputs["x"], check.inputs["y"]
    assert (x.kink, y.kink) == (True, False)
    # relu'(0) = 0 by convention; the numeric gradient (relu(h) - relu(-h)) / 2h = 1/2
    assert x.analytic == 0.0
    assert x.numeric == pytest.approx(0.5, abs=1e-9)
    assert x.relative_error == pytest.approx(1.0)
    assert x.verdict == "inconclusive"
    assert x.reason is not None and "kink" in x.reason
    assert (y.analytic, y.verdict) == (2.0, "good")
    assert check.ok  # a disagreement at a kink is not a wrong gradient
    [kink] = check.kinks
    assert (kink.node, kink.name, kink.op, kink.text) == (1, "relu1", "relu", "relu(x)")
    assert (kink.at_point, kink.args, kink.inputs) == (True, (("x", 0.0),), ("x",))


def test_max_tie_flags_both_tied_inputs_and_not_the_third():
    check = gradcheck(bpcli.grad("max(x, y) + z", {"x": 1, "y": 1, "z": 5}))
    assert {n: c.kink for n, c in check.inputs.items()} == {"x": True, "y": True, "z": False}
    # the tie splits the gradient, 1/2 each; numerically max(1+h, 1) - max(1-h, 1) = h over 2h
    for name in ("x", "y"):
        assert check.inputs[name].analytic == 0.5
        assert check.inputs[name].numeric == pytest.approx(0.5, abs=1e-9)
        assert check.inputs[name].verdict == "good"  # at a kink, and still they agree
    [kink] = check.kinks
    assert (kink.text, kink.args, kink.inputs) == (
        "max(x, y)",
        (("x", 1.0), ("y", 1.0)),
        ("x", "y"),
    )


def test_abs_at_zero_through_an_intermediate_node():
    check = gradcheck(bpcli.grad("abs(x*y - 2) * z", {"x": 1, "y": 2, "z": 3}))
    assert {n: c.kink for n, c in check.inputs.items()} == {"x": True, "y": True, "z": False}
    [kink] = check.kinks
    assert (kink.text, kink.args, kink.inputs) == ("abs(x*y - 2)", (("x*y - 2", 0.0),), ("x", "y"))


def test_a_kink_the_output_does_not_use_is_not_flagged():
    check = gradcheck(bpcli.grad("a = relu(x); f = x + y", {"x": 0, "y": 1}))
    assert check.kinks == ()
    assert not any(c.kink for c in check.inputs.values())


def test_a_constant_argument_is_not_listed_where_the_kink_is():
    check = gradcheck(bpcli.grad("max(x, 1)", {"x": 1}))
    [kink] = check.kinks
    assert (kink.args, kink.inputs) == ((("x", 1.0),), ("x",))


def test_a_step_across_a_kink_is_near_a_kink():
    # 0.1 + 0.2 - 0.3 is 5.55e-17 in floats: relu is not at its kink, but x ± h crosses it
    check = gradcheck(bpcli.grad("relu(0.1 + 0.2 - x) * y", {"x": 0.3, "y": 2}))
    x, y = check.inputs["x"], check.inputs["y"]
    assert (x.kink, x.near_kink, x.verdict) == (False, True, "inconclusive")
    assert x.analytic == -2.0
    assert x.numeric == pytest.approx(-1.0, rel=1e-6)  # half of the slope: one side is flat
    assert (y.kink, y.near_kink, y.verdict) == (False, False, "good")
    [kink] = check.kinks
    assert (kink.text, kink.at_point, kink.inputs) == ("relu(0.1 + 0.2 - x)", False, ("x",))
    assert check.ok


def test_a_step_that_stays_on_one_side_is_not_near_a_kink():
    check = gradcheck(bpcli.grad("relu(x - 1)", {"x": 1.5}))
    assert check.kinks == ()
    assert check.inputs["x"].verdict == "good"


# ---- numeric gradient unavailable -----------------------------------------------


def test_a_forward_pass_that_fails_at_x_minus_h_is_undefined_not_a_crash():
    # log(x) at x = 1e-6 is fine, and so is its gradient 1e6; at x - h = -9e-6 log is undefined
    check = gradcheck(bpcli.grad("log(x) + y", {"x": 1e-6, "y": 1}), step=1e-5)
    x = check.inputs["x"]
    assert x.analytic == pytest.approx(1e6)
    assert (x.numeric, x.relative_error, x.verdict) == (None, None, "undefined")
    assert x.reason is not None
    assert "x - h" in x.reason and "log needs a positive input" in x.reason
    assert check.inputs["y"].verdict == "good"
    assert check.ok
    data = strict_json(check)
    assert data["inputs"]["x"]["numeric"] is None
    assert data["inputs"]["x"]["relative_error"] is None


def test_a_step_too_small_to_move_the_input_is_undefined():
    check = gradcheck(bpcli.grad("x*2", {"x": 1e20}), step=1e-5)
    x = check.inputs["x"]
    assert (x.numeric, x.verdict) == (None, "undefined")
    assert x.reason is not None and "too small" in x.reason


def test_an_overflowing_numeric_gradient_is_undefined():
    check = gradcheck(bpcli.grad("x*1e300", {"x": 1}), step=1e-300)
    assert check.inputs["x"].verdict == "undefined"
    strict_json(check)


@pytest.mark.parametrize("step", [0, -1e-5, math.inf, math.nan, True, "1e-5", None])
def test_the_step_must_be_a_finite_positive_number(step):
    result = bpcli.grad("x*2", {"x": 1})
    with pytest.raises(InputError, match="step h must be a"):
        gradcheck(result, step=step)


# ---- verdicts ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (0.0, "good"),
        (9.9e-8, "good"),
        (1e-7, "acceptable"),
        (5e-6, "acceptable"),
        (9.9e-5, "acceptable"),
        (1e-4, "wrong"),
        (0.5, "wrong"),
        (2.0, "wrong"),
    ],
)
def test_verdict_thresholds(error, verdict):
    assert (GOOD, ACCEPTABLE) == (1e-7, 1e-4)
    assert classify(error) == verdict
    at_kink = "inconclusive" if verdict == "wrong" else verdict
    assert classify(error, kink=True) == at_kink


def test_relative_error():
    assert relative_error(-4.0, -4.0) == 0.0
    assert relative_error(1.0, 1.01) == pytest.approx(0.01 / 1.01)
    assert relative_error(0.0, 0.5) == 1.0
    assert relative_error(1.0, -1.0) == 2.0
    assert relative_error(0.0, 1e-12) == pytest.approx(1e-4)  # the 1e-8 floor
    assert relative_error(1e308, -1e308) == 2.0  # no overflow to inf


def test_a_one_percent_error_is_wrong():
    n = 3.0
    assert classify(relative_error(n * 1.01, n)) == "wrong"
    assert classify(relative_error(n * (1 + 1e-9), n)) == "good"


def test_a_wrong_derivative_in_the_op_table_is_caught(patch_op):
    # A bug in sin's derivative (1% too large) must fail the check for x, and only x.
    patch_op("sin", local=("1.01 * cos(a)",))
    check = gradcheck(bpcli.grad("sin(x) * y", {"x": 0.5, "y": 2}))
    x = check.inputs["x"]
    assert x.analytic == pytest.approx(2 * 1.01 * math.cos(0.5))
    assert x.numeric == pytest.approx(2 * math.cos(0.5), rel=1e-8)
    assert x.verdict == "wrong"
    assert check.inputs["y"].verdict == "good"
    assert not check.ok
    assert strict_json(check)["ok"] is False
    assert "gradient check failed: 1 wrong, 1 good" in render(check)


# ---- size and JSON ------------------------------------------------------------------


def test_a_deep_chain_needs_no_recursion(shallow_stack):
    # 2,000 levels of (…*a + b), 4,004 nodes, with a kink at the very bottom
    levels = 8 * shallow_stack
    text = "relu(x)"
    for _ in range(levels):
        text = f"({text}*a+b)"
    result = bpcli.grad(text, {"x": 0, "a": 0.5, "b": 1})
    assert len(result.graph.nodes) == 2 * levels + 4
    check = gradcheck(result)
    assert {n: c.kink for n, c in check.inputs.items()} == {"x": True, "a": False, "b": False}
    # f = sum of a^k for k < 2000 (b = 1): df/db = 1/(1 - a) = 2 to float precision
    assert check.inputs["b"].analytic == pytest.approx(2.0)
    assert check.inputs["b"].verdict == "good"
    assert check.inputs["a"].verdict == "good"
    assert check.ok


def test_json_shape():
    data = strict_json(gradcheck(bpcli.grad("relu(x) + y*2", {"x": 0, "y": 1})))
    f = lambda x, y: max(x, 0.0) + y * 2
    point = {"x": 0.0, "y": 1.0}
    truncation = 4 / 3 * abs(central(f, point, "x") - central(f, point, "x", h=5e-6))
    assert data == {
        "step": 1e-5,
        "thresholds": {"good": 1e-7, "acceptable": 1e-4, "margin": 10.0},
        "inputs": {
            "x": {
                "analytic": 0.0,
                "numeric": pytest.approx(0.5, abs=1e-9),
                "relative_error": pytest.approx(1.0),
                "verdict": "inconclusive",
                "kink": True,
                "near_kink": False,
                "reason": "x sits on a kink, where the numeric gradient is not meaningful",
                # added fields: the step used and the numeric gradient's estimated error,
                # round-off 2·ε·Σ|v·∂f/∂v| / 2h over relu(x) = 0, y*2 = 2 and f = 2, plus
                # truncation 4/3 |n(h) - n(h/2)| (rounding noise: both n are 1/2)
                "step": 1e-5,
                "estimated_error": pytest.approx(2 * EPS * 4 / 2e-5 + truncation, rel=1e-6),
                "roundoff": pytest.approx(2 * EPS * 4 / 2e-5, rel=1e-6),
                "truncation": pytest.approx(truncation, rel=1e-6),
            },
            "y": {
                "analytic": 2.0,
                "numeric": 2.0,
                "relative_error": 0.0,
                "verdict": "good",
                "kink": False,
                "near_kink": False,
                "reason": None,
                "step": 1e-5,
                "estimated_error": pytest.approx(2 * EPS * 4 / 2e-5, rel=1e-6),
                "roundoff": pytest.approx(2 * EPS * 4 / 2e-5, rel=1e-6),
                "truncation": 0.0,  # 2(1 ± h) and 2(1 ± h/2): exactly 2 both times
            },
        },
        "kinks": [
            {
                "node": 1,
                "name": "relu1",
                "op": "relu",
                "text": "relu(x)",
                "at_point": True,
                "inputs": ["x"],
            }
        ],
        "ok": True,
    }


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("(x+y)*z", LECTURE),
        ("log(x) + y", {"x": 1e-6, "y": 1}),
        ("x*1e300", {"x": 1}),
        ("2*3", {}),
    ],
)
def test_json_is_strict(text, values):
    check = gradcheck(bpcli.grad(text, values), step=1e-5)
    json.dumps(check.to_dict(), allow_nan=False)


def test_no_inputs_is_ok():
    check = gradcheck(bpcli.grad("2*3", {}))
    assert (check.inputs, check.kinks, check.ok) == ({}, (), True)
    assert render(check) == (
        "gradient check: numeric = (f(x+h) - f(x-h)) / 2h with h = 1e-05\n"
        "there are no inputs to check\n"
    )


# ---- the view -----------------------------------------------------------------------


def test_view_lecture():
    check = gradcheck(bpcli.grad("(x+y)*z", LECTURE))
    f = lambda x, y, z: (x + y) * z
    errors = {}
    for name, want in {"x": -4.0, "y": -4.0, "z": 3.0}.items():
        n = central(f, LECTURE, name)
        e = abs(want - n) / max(abs(want), abs(n), 1e-8)
        errors[name] = "0" if e == 0 else format(e, ".1e")
    assert render(check) == (
        "gradient check: numeric = (f(x+h) - f(x-h)) / 2h with h = 1e-05\n"
        "input  analytic ∂f/∂input  numeric  relative error  verdict\n"
        f"x                      -4       -4  {errors['x']:>14}  good\n"
        f"y                      -4       -4  {errors['y']:>14}  good\n"
        f"z                       3        3  {errors['z']:>14}  good\n"
        "\n"
        "gradient check passed: 3 good\n"
        "verdicts by relative error: good < 1e-07 ≤ acceptable < 1e-04 ≤ wrong\n"
    )


def test_view_relu_at_its_kink():
    result = bpcli.grad("relu(x) + y*2", {"x": 0, "y": 1})
    # y: 2(1+h) - 2(1-h) over (1+h) - (1-h) is exactly 2, so its relative error is 0
    assert render(gradcheck(result), result.output_name, width=80) == (
        "gradient check: numeric = (f(x+h) - f(x-h)) / 2h with h = 1e-05\n"
        "input  analytic ∂f/∂input  numeric  relative error  verdict\n"
        "x                       0      0.5         1.0e+00  inconclusive\n"
        "y                       2        2               0  good\n"
        "\n"
        "warning: x sits on a kink: relu(x) at x = 0\n"
        "At a kink the op has no derivative: backprop follows bpcli's convention there,\n"
        "and the numeric gradient is not meaningful, so a mismatch is inconclusive.\n"
        "\n"
        "gradient check found nothing wrong: 1 inconclusive, 1 good\n"
        "verdicts by relative error: good < 1e-07 ≤ acceptable < 1e-04 ≤ wrong\n"
    )


def test_view_warnings():
    check = gradcheck(
        bpcli.grad(
            "max(x, y) + log(z) + relu(0.1 + 0.2 - w)", {"x": 1, "y": 1, "z": 1e-6, "w": 0.3}
        )
    )
    lines = render(check, width=200).splitlines()
    assert lines[7:11] == [
        "warning: x sits on a kink: max(x, y) at x = 1, y = 1",
        "warning: y sits on a kink: max(x, y) at x = 1, y = 1",
        "warning: z has no numeric gradient: f is undefined at z - h = -9e-06: "
        "log needs a positive input, got -9e-06, in `log(z)`",
        "warning: w is within h of a kink: relu(0.1 + 0.2 - w) at 0.1 + 0.2 - w = 5.55112e-17",
    ]
    assert lines[-2] == "gradient check found nothing wrong: 1 undefined, 1 inconclusive, 2 good"


def test_view_lists_several_kinks_of_one_input():
    check = gradcheck(bpcli.grad("max(x, y) + relu(x - 1)", {"x": 1, "y": 1}))
    lines = render(check).splitlines()
    assert (
        "warning: x sits on 2 kinks: max(x, y) at x = 1, y = 1; relu(x - 1) at x - 1 = 0" in lines
    )
    assert "warning: y sits on a kink: max(x, y) at x = 1, y = 1" in lines


@pytest.mark.parametrize("width", [40, 60, 80])
def test_view_has_no_trailing_spaces(width):
    check = gradcheck(bpcli.grad("relu(x) + log(y)", {"x": 0, "y": 1e-6}))
    text = render(check, width=width)
    assert "inconclusive" in text and "undefined" in text
    for line in text.splitlines():
        assert line == line.rstrip()


def test_view_of_many_inputs_keeps_the_bad_rows():
    names = [f"x{i}" for i in range(250)]
    values = {name: 1.0 for name in names}
    values["x240"] = 1e-6
    check = gradcheck(bpcli.grad(" + ".join(f"log({n})" for n in names), values))
    lines = render(check).splitlines()
    rows = [line.split()[0] for line in lines[2:203]]
    assert rows[-2:] == ["x240", "…"]
    assert len(set(rows)) == 201
    assert "… 50 more inputs, all good" in " ".join(lines[202].split())


# ---- round-off and truncation: right gradients are not called wrong -------------------


def test_x_plus_1e8_at_1_is_not_wrong():
    # The false alarm of issue 17: f(1 ± h) are 1e8 + 1 ± 1e-5, floats 1.5e-8 apart, so the
    # central difference with h = 1e-5 is off by more than the 1e-4 that "wrong" needs.
    f = lambda x: x + 1e8
    assert abs(central(f, {"x": 1.0}, "x") - 1) >= ACCEPTABLE
    check = gradcheck(bpcli.grad("x + 1e8", {"x": 1}))
    x = check.inputs["x"]
    assert check.ok and x.verdict in ("good", "acceptable")
    assert (x.analytic, x.reason) == (1.0, None)
    # f is linear: no truncation, so the largest step tried (1e3·h) has the least round-off
    assert x.step == 1e-2
    n, halved = central(f, {"x": 1.0}, "x", h=1e-2), central(f, {"x": 1.0}, "x", h=5e-3)
    assert x.numeric == n
    assert x.relative_error == pytest.approx(abs(n - 1) / n) and x.relative_error < ACCEPTABLE
    # round-off: ε·|f| for the one computed node (the add), twice, over the width stepped
    assert x.roundoff == pytest.approx(2 * EPS * (1e8 + 1) / ((1 + 1e-2) - (1 - 1e-2)))
    assert x.truncation == pytest.approx(4 / 3 * abs(n - halved))
    assert x.estimated_error == pytest.approx(x.roundoff + x.truncation)


def test_x_plus_1e8_at_1_on_the_command_line_exits_0(bpcli):
    run = bpcli("grad", "x + 1e8", "x=1", "--gradcheck", "--json")
    assert run.code == 0
    data = json.loads(run.stdout)["gradcheck"]
    assert data["ok"] is True and data["step"] == 1e-5
    assert data["inputs"]["x"]["verdict"] in ("good", "acceptable")
    assert data["inputs"]["x"]["step"] == 1e-2
    table = bpcli("grad", "x + 1e8", "x=1", "--gradcheck")
    assert table.code == 0
    n = central(lambda x: x + 1e8, {"x": 1.0}, "x", h=1e-2)
    estimate = data["inputs"]["x"]["estimated_error"]
    assert table.stdout.splitlines()[-9:] == [
        "gradient check: numeric = (f(x+h) - f(x-h)) / 2h with h = 1e-05",
        "input  analytic ∂f/∂input  numeric  relative error  verdict",
        f"x                       1        1  {abs(n - 1) / n:14.1e}  acceptable",
        "",
        "note: x was checked with h = 0.01, the step whose numeric gradient has the",
        f"smallest estimated error ({estimate:.1e})",
        "",
        "gradient check passed: 1 acceptable",
        "verdicts by relative error: good < 1e-07 ≤ acceptable < 1e-04 ≤ wrong",
    ]


W0 = 9.236333114158185  # w0**w0 = 8.2e8: sin(1 - w0**w0) has a period of 2.4e-9
X3 = -7087.479384704411  # x**3 = -3.6e11: cos(x**3) has a period of 4.2e-8


@pytest.mark.parametrize(
    ("text", "point", "want", "rel"),
    [
        # from the random programs that agree with SymPy and were judged wrong (issue 17)
        ("x + 1e8", {"x": 1.0}, 1.0, 1e-12),  # round-off: f is large next to its change
        ("x ** 0.25", {"x": 1e-4}, 250.0, 1e-12),  # truncation: 0.25 x^-0.75, 0 within 10h
        ("sqrt(0.5 * x)", {"x": 1e-4}, 0.25 / math.sqrt(0.5e-4), 1e-12),  # truncation
        ("(α ** α) ** 0.5", {"α": 1e-4}, "(a^a)^0.5 (log a + 1) / 2", 1e-12),  # truncation
        ("x / (x / 100)", {"x": -8931.470548107793}, 0.0, 1e-12),  # only round-off moves f
        ("(1 + x) / sigmoid(x) ** 2", {"x": 0.0}, 0.0, 1e-12),  # (1+e^-x)² - 2(1+x)(1+e^-x)e^-x
        # f wiggles faster than most steps: they alias, and two may agree by chance
        ("sin(1 - x**x)", {"x": W0}, "-cos(1 - x^x) x^x (log x + 1)", 1e-6),
        ("cos(x**3)", {"x": X3}, "-sin(x^3) 3x^2", 1e-4),  # x^3 known to ±4e-5
    ],
)
def test_right_gradients_are_not_wrong(text, point, want, rel):
    result = bpcli.grad(text, point)
    [(name, analytic)] = result.gradients.items()
    [x] = point.values()
    hand = {
        "(a^a)^0.5 (log a + 1) / 2": lambda a: (a**a) ** 0.5 * (math.log(a) + 1) / 2,
        "-cos(1 - x^x) x^x (log x + 1)": lambda x: -math.cos(1 - x**x) * x**x * (math.log(x) + 1),
        "-sin(x^3) 3x^2": lambda x: -math.sin(x**3) * 3 * x**2,
    }
    if isinstance(want, str):
        want = hand[want](x)
    assert analytic == pytest.approx(want, rel=rel, abs=1e-15)
    check = gradcheck(result)
    row = check.inputs[name]
    assert row.verdict != "wrong" and check.ok
    if row.verdict == "inconclusive":  # the numeric gradient is noise, or aliased
        assert not (row.kink or row.near_kink)
        assert row.reason is not None and "estimated" in row.reason


def test_a_slope_lost_in_round_off_is_inconclusive_and_exits_0(bpcli):
    # f = (x + 1e8) - 1e8 - x is 0 but for rounding: df/dx = 1 - 1 = 0, backprop gives 0
    # exactly, and every numeric gradient is rounding noise of 1e8 (ε·1e8/h and more).
    text = "(x + 1e8) - 1e8 - x"
    check = gradcheck(grad(text, {"x": 1}))
    x = check.inputs["x"]
    assert x.analytic == 0.0 and x.numeric != 0.0
    assert (x.verdict, x.kink, x.near_kink) == ("inconclusive", False, False)
    assert check.ok
    assert x.reason is not None
    assert x.reason.startswith("the numeric gradient is too inaccurate to tell: its estimated")
    assert x.roundoff is not None and x.estimated_error is not None and x.step is not None
    # two computed nodes of about 1e8 (x + 1e8, then - 1e8 to 1) and f itself
    assert x.roundoff >= 2 * EPS * 1e8 / (2 * x.step)
    assert abs(x.numeric) <= MARGIN * x.estimated_error
    run = bpcli("grad", text, "x=1", "--gradcheck", "--json")
    assert run.code == 0
    data = json.loads(run.stdout)["gradcheck"]["inputs"]["x"]
    assert (data["verdict"], data["reason"]) == ("inconclusive", x.reason)
    table = bpcli("grad", text, "x=1", "--gradcheck")
    assert table.code == 0
    joined = " ".join(table.stdout.split())
    assert f"warning: x: {x.reason}" in joined
    assert "gradient check found nothing wrong: 1 inconclusive" in joined


# ---- broken rules are still caught -------------------------------------------------------

# (op, broken local derivatives, what is broken, f, the input it breaks, the true ∂f/∂input)
BROKEN = [
    ("sin", ("-cos(a)",), "wrong sign", "sin(x) * y", lambda x, y: math.cos(x) * y),
    ("exp", ("-out",), "wrong sign", "exp(x) * y", lambda x, y: math.exp(x) * y),
    ("mul", ("-b", "a"), "wrong sign", "x * y", lambda x, y: y),
    ("log", ("2.0 / a",), "factor of 2", "log(x) * y", lambda x, y: y / x),
    ("div", ("1.0 / b", "-2.0 * out / b"), "factor of 2", "y / x", lambda x, y: -y / x**2),
    ("sqrt", ("1.0 / out",), "factor of 2", "sqrt(x) * y", lambda x, y: y / (2 * math.sqrt(x))),
    ("tanh", ("1.0",), "missing term", "tanh(x) * y", lambda x, y: (1 - math.tanh(x) ** 2) * y),
    (
        "sigmoid",
        ("out",),
        "missing term",
        "sigmoid(x) * y",
        lambda x, y: math.exp(-x) / (1 + math.exp(-x)) ** 2 * y,
    ),
    ("tan", ("out * out",), "missing term", "tan(x) * y", lambda x, y: (1 + math.tan(x) ** 2) * y),
]
MAGNITUDES = [
    (x, y, offset) for x in (0.3, 1.3, 40.7) for y in (1e-3, 1.0, 1e4) for offset in ("", " + 1e6")
]


@pytest.mark.parametrize(
    ("op", "local", "what", "text", "true"), BROKEN, ids=[f"{b[0]}, {b[2]}" for b in BROKEN]
)
def test_a_broken_rule_is_caught_at_every_magnitude(patch_op, op, local, what, text, true):
    """Right, every gradient passes; with the broken rule, the broken one is wrong, at
    inputs of several sizes, and with f made large next to its slope (+ 1e6)."""
    points = [(x, y, offset) for x, y, offset in MAGNITUDES if not (op == "tan" and x == 40.7)]
    for x, y, offset in points:  # tan(40.7) is near a pole (40.7 - 13π = -0.14)
        check = gradcheck(bpcli.grad(text + offset, {"x": x, "y": y}))
        assert check.ok, (text + offset, x, y, check.inputs)
    patch_op(op, local=local)
    missed = []
    for x, y, offset in points:
        check = gradcheck(bpcli.grad(text + offset, {"x": x, "y": y}))
        row = check.inputs["x"]
        want = true(x, y)
        assert abs(row.analytic - want) > 0.05 * abs(want)  # the rule is really broken here
        if row.verdict != "wrong" or check.ok:
            missed.append((text + offset, x, y, row))
    assert missed == [], f"{op} {what}: missed {len(missed)} of {len(points)}"


def test_no_false_alarm_on_random_programs():
    """Seeded random programs whose gradients agree with SymPy: none is judged wrong, and
    with a broken rule every broken gradient is (tests/gradcheck_experiment.py; more with
    BPCLI_GRADCHECK_PROGRAMS=6000)."""
    pytest.importorskip("hypothesis", reason="the random programs need hypothesis")
    pytest.importorskip("sympy", reason="the oracle is SymPy")
    from gradcheck_experiment import experiment

    programs = int(os.environ.get("BPCLI_GRADCHECK_PROGRAMS", "60"))
    tally = experiment(programs, seed_value=0)
    assert tally.programs >= programs // 2
    assert tally.false_alarms == []
    assert tally.misses == []
    assert tally.broken_verdicts["wrong"] > 0


def test_a_broken_slope_buried_in_round_off_is_inconclusive_not_passed(patch_op):
    # f = y/x + 1e8 at x = 40.7, y = 0.001: df/dx = -y/x² = -6.04e-7, a change of f in its
    # 15th digit. With d/db of div twice too large, backprop says -1.21e-6; no step tried
    # resolves that against the round-off of 1e8 by the margin, so the check cannot tell:
    # inconclusive, never good or acceptable.
    patch_op("div", local=("1.0 / b", "-2.0 * out / b"))
    check = gradcheck(grad("y / x + 1e8", {"x": 40.7, "y": 1e-3}))
    x = check.inputs["x"]
    assert x.analytic == pytest.approx(-2 * 1e-3 / 40.7**2)
    assert x.numeric == pytest.approx(-1e-3 / 40.7**2, rel=0.1)
    assert x.verdict == "inconclusive"
    assert x.reason is not None and "estimated error" in x.reason
    assert check.inputs["y"].verdict != "wrong"  # d/da is right


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_the_check_never_cuts_a_number_or_a_verdict(width):
    # At 40 columns the table cut its headers and verdicts ("inconc…", "analyt…"); where
    # its columns do not fit, each input is a block. The lecture's gradients by hand:
    # df/dx = df/dy = z = -4, df/dz = x + y = 3, each good.
    text = render(gradcheck(bpcli.grad("(x+y)*z", LECTURE)), width=width)
    lines = text.splitlines()
    assert all(len(line) <= width and line == line.rstrip() for line in lines), text
    assert "…" not in text, text
    assert text.count("good") >= 3 and "-4" in text and "3" in text
    assert "h = 1e-05" in text, text  # the heading's maths kept whole on a line
    table = any(line.split() == ["x", "-4", "-4", "0", "good"] for line in lines)
    assert table or ("  verdict" in text and text.count("= good") == 3), text
    assert table == (width >= 60), text  # blocks only where the columns do not fit


@pytest.mark.parametrize("width", range(28, 82, 2))
def test_the_verdicts_legend_never_breaks_inside_a_comparison(width):
    """`good < 1e-07 ≤ acceptable < 1e-04 ≤ wrong` breaks at a `≤` only: at 34, 38, 56
    and 60 columns a line had ended in `good <` or `acceptable <`."""
    text = render(gradcheck(bpcli.grad("(x+y)*z", LECTURE)), width=width)
    legend = text[text.index("verdicts by relative error") :].splitlines()
    expected = "verdicts by relative error: good < 1e-07 ≤ acceptable < 1e-04 ≤ wrong"
    assert " ".join(legend) == expected
    for line in legend:
        assert len(line) <= width and not line.endswith("<") and not line.startswith("<")
