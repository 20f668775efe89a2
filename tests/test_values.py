"""One definition of "a number": every door a value comes in by takes the same ones."""

from __future__ import annotations

import json
import math

import pytest

from bpcli import BindError, InputError, grad
from bpcli.batch import answer
from bpcli.gradcheck import gradcheck
from bpcli.problems import Invalid, loads
from bpcli.values import NotANumber, to_float

HUGE = 10**400  # a whole number past the float range (about 1.8e308), as TOML and JSON read it


@pytest.mark.parametrize("value", [0, -2, 5, 2.5, -1e-300, 1.7e308, 2**1023])
def test_numbers_are_taken_as_floats(value):
    assert to_float(value) == float(value)


@pytest.mark.parametrize(
    ("value", "too_large"),
    [
        (True, False),
        ("1", False),
        (None, False),
        ([1], False),
        (math.nan, False),
        (math.inf, True),
        (-math.inf, True),
        (HUGE, True),
        (-HUGE, True),
    ],
)
def test_everything_else_is_not_a_number(value, too_large):
    with pytest.raises(NotANumber) as caught:
        to_float(value)
    assert caught.value.too_large is too_large


def test_a_huge_whole_number_is_said_to_be_too_large_without_its_digits():
    with pytest.raises(BindError) as caught:
        grad("x", {"x": HUGE})
    assert str(caught.value) == "the value of x is too large for a float"


# Every number of a problem set, in TOML and in JSON: a whole number past the float
# range was an OverflowError (exit 3) that stopped every other file from being checked.
PLACES = [
    ("values.x", {"values": {"x": HUGE}}),
    ("points", {"points": HUGE, "values": {"x": 1}}),
    ("lr", {"lr": HUGE, "values": {"x": 1}}),
    ("rel_tol", {"rel_tol": HUGE, "values": {"x": 1}}),
    ("abs_tol", {"abs_tol": HUGE, "values": {"x": 1}}),
    ("answer.output", {"values": {"x": 1}, "answer": {"output": HUGE}}),
    ("answer.grad.x", {"values": {"x": 1}, "answer": {"grad": {"x": HUGE}}}),
]


def _toml(problem: dict[str, object]) -> str:
    lines = ["[[problem]]", 'expr = "x"']
    tables = []
    for key, value in problem.items():
        if isinstance(value, dict) and key == "answer":
            tables.append("[problem.answer]")
            for name, item in value.items():
                if isinstance(item, dict):
                    inner = ", ".join(f"{k} = {v}" for k, v in item.items())
                    tables.append(f"{name} = {{ {inner} }}")
                else:
                    tables.append(f"{name} = {item}")
        elif isinstance(value, dict):
            lines.append(f"{key} = {{ {', '.join(f'{k} = {v}' for k, v in value.items())} }}")
        else:
            lines.append(f"{key} = {value}")
    return "\n".join(lines + tables) + "\n"


@pytest.mark.parametrize(("field", "problem"), PLACES, ids=[p[0] for p in PLACES])
@pytest.mark.parametrize("kind", ["toml", "json"])
def test_a_huge_whole_number_in_a_problem_set_is_that_problems_error(field, problem, kind):
    text = _toml(problem) if kind == "toml" else json.dumps({"problem": [{"expr": "x", **problem}]})
    (found,) = loads(text, "hw", kind).problems
    assert isinstance(found, Invalid)
    assert (
        str(found)
        == f"hw: problem 1: {field}: too large for a float (a whole number of 401 digits)"
    )


def test_a_huge_default_tolerance_is_the_files_error():
    (found,) = loads(f"[defaults]\nrel_tol = {HUGE}\n", "hw").problems
    assert (
        str(found) == "hw: defaults.rel_tol: too large for a float (a whole number of 401 digits)"
    )


def test_a_huge_gradient_check_step_is_an_input_error():
    result = grad("x*x", {"x": 3})
    for step in (HUGE, math.inf, math.nan):
        with pytest.raises(InputError, match="must be a finite number greater than 0"):
            gradcheck(result, step)
    with pytest.raises(InputError, match="must be a number, got '1e-5'"):
        gradcheck(result, "1e-5")  # type: ignore[arg-type]


def test_a_batch_request_keeps_its_messages():
    def error(line: str) -> tuple[str, str]:
        reply = answer(line, 1, {})
        assert reply is not None and reply["ok"] is False
        return reply["error"]["type"], reply["error"]["message"]

    big = "1" + "0" * 400
    assert error(f'{{"expr": "x", "values": {{"x": {big}}}}}') == (
        "RequestError",
        "line 1: the value of x is too large for a float",
    )
    assert error(f'{{"expr": "x", "values": {{"x": 1}}, "lr": {big}}}') == (
        "RequestError",
        "line 1: lr is too large for a float",
    )
    assert error('{"expr": "x", "values": {"x": 1e400}}') == (
        "BindError",
        "the value of x is too large for a float (got inf)",
    )
