"""Forward and backward passes and gradient descent, against hand-worked values."""

from __future__ import annotations

import json
import math

import pytest

import bpcli
from bpcli import Conventions, DomainError
from conftest import LECTURE


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
