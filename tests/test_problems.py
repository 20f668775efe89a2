"""The problem-set format: reading it, its errors, and writing it back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bpcli.problems import Answer, Invalid, Problem, Tolerance, dumps, load, loads, tomllib

DATA = Path(__file__).parent / "data"


def test_the_homework_file_reads_with_its_invalid_problems():
    problems = load(DATA / "homework.toml")
    assert problems.defaults == {"rel_tol": 1e-6, "abs_tol": 1e-9}
    first, *_, bad_expr, bad_key = problems.problems
    assert isinstance(first, Problem)
    assert first.id == "1a" and first.points == 4.0 and first.lr == 0.1
    assert first.tolerance == Tolerance(rel_tol=1e-4, abs_tol=1e-9)
    assert first.answer.items()[:2] == [("output", -12.0), ("grad.x", -4.0)]
    assert isinstance(bad_expr, Problem)  # the expression is checked when it is graded
    assert isinstance(bad_key, Invalid)
    assert str(bad_key).endswith(
        "homework.toml: problem 5: point: unknown key (the keys are id, points, expr, values, lr, rel_tol, abs_tol, answer)"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[problem]]\nexpr = 'x'\nvalues = { x = 'one' }", "t: problem 1: values.x: must be a number, got 'one'"),
        ("[[problem]]\nvalues = { x = 1 }", "t: problem 1: expr: missing: every problem needs an expression"),
        ("[[problem]]\nid = 'a'\nexpr = 'x'\n[problem.answer]\nupdate = { x = 1 }", "t: problem a: answer.update: the problem has no lr, so there is no update step"),
        ("[[problem]]\nexpr = 'x'\n[problem.answer]\ngradient = { x = 1 }", "t: problem 1: answer.gradient: unknown answer (the answers are output, grad, nodes, node_grads, update, new_output)"),
        ("[[problem]]\nexpr = 'x'\npoints = -1", "t: problem 1: points: must not be negative"),
        ("[[problem]]\nexpr = 'x'\nlr = nan", "t: problem 1: lr: must be a number, got nan"),
        ("[[problem]]\nid = true\nexpr = 'x'", "t: problem 1: id: must be text or a whole number"),
    ],
)  # fmt: skip
def test_an_invalid_problem_names_file_problem_and_field(text, message):
    (problem,) = loads(text, "t").problems
    assert isinstance(problem, Invalid)
    assert str(problem) == message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x = [", "t: not valid TOML: "),
        (
            "title = 'hw'\n[[problem]]\nexpr = 'x'",
            "t: unknown key 'title' (the keys are defaults, problem)",
        ),
        ("[defaults]\nrel = 1", "t: defaults.rel: unknown key (the keys are rel_tol, abs_tol)"),
        ("", "t: no problems: add [[problem]] tables"),
    ],
)
def test_a_file_that_cannot_be_checked_at_all(text, message):
    (problem,) = loads(text, "t").problems
    assert isinstance(problem, Invalid)
    assert str(problem).startswith(message)


def test_the_same_id_twice():
    problems = loads("[[problem]]\nid = 'a'\nexpr = 'x'\n[[problem]]\nid = 'a'\nexpr = 'y'", "t")
    assert [type(p).__name__ for p in problems.problems] == ["Problem", "Invalid"]
    assert str(problems.problems[1]) == "t: problem a: id: the same id is used twice"


def test_files_that_cannot_be_read(tmp_path):
    assert str(load(tmp_path / "none.toml").problems[0]).endswith("none.toml: no such file")
    assert str(load(tmp_path).problems[0]).endswith(": is a directory, not a file")
    (tmp_path / "b.toml").write_bytes(b"\xff\xfe")
    assert str(load(tmp_path / "b.toml").problems[0]).endswith("b.toml: not UTF-8 text (byte 1)")


def test_json_with_the_same_structure():
    data = {
        "defaults": {"rel_tol": 1e-3},
        "problem": [
            {"id": "j", "expr": "x*y", "values": {"x": 2, "y": 3}, "answer": {"output": 6}}
        ],
    }
    problems = loads(json.dumps(data), "t.json", "json")
    (problem,) = problems.problems
    assert isinstance(problem, Problem)
    assert problem.tolerance.rel_tol == 1e-3
    assert problem.answer == Answer(output=6.0)
    assert json.loads(dumps(problems)) == data


def test_toml_round_trip_keeps_everything():
    problems = load(DATA / "homework.toml")
    again = loads(dumps(problems), "again")
    valid = [p for p in problems.problems if isinstance(p, Problem)]
    assert again.problems == valid
    assert again.defaults == problems.defaults


def test_toml_writes_unicode_names_quoted_and_strings_escaped():
    problem = Problem(
        'α"1', 'α = x * 2\n# "quoted"\nα + 1', {"x": 0.1}, answer=Answer(grad={"x": 2.0})
    )
    text = dumps(loads("[[problem]]\nexpr = 'x'", "t").__class__("t", "toml", {}, [problem]))
    data = tomllib.loads(text)
    assert data["problem"][0]["id"] == 'α"1'
    assert data["problem"][0]["expr"] == 'α = x * 2\n# "quoted"\nα + 1'
    assert data["problem"][0]["answer"] == {"grad": {"x": 2}}


def test_tolerance():
    tol = Tolerance(rel_tol=1e-6, abs_tol=1e-9)
    assert tol.close(1.0000001, 1.0)
    assert not tol.close(1.00001, 1.0)
    assert tol.close(1e-10, 0.0)  # the absolute floor near zero
    assert not tol.close(1e-8, 0.0)
