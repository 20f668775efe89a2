"""The problem-set format: reading it, its errors, and writing it back."""

from __future__ import annotations

import json
import os
from dataclasses import replace
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
        "homework.toml: problem 5: point: unknown key (the keys are id, points, expr, values, lr, rel_tol, abs_tol, decimals, sig_figs, max_tie, ask, statement, answer)"
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
            "t: unknown key 'title' (the keys are student, defaults, problem)",
        ),
        (
            "[defaults]\nrel = 1",
            "t: defaults.rel: unknown key (the keys are rel_tol, abs_tol, decimals, sig_figs, max_tie)",
        ),
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


# ---- hostile numbers and text (issue 17): each costs its problem, never the run -------------

BIG = "1" + "0" * 400  # a whole number that TOML and JSON read, but no float holds

BIG_FIELDS = [
    ("values = { x = BIG }", "values.x"),
    ("points = BIG", "points"),
    ("lr = BIG", "lr"),
    ("rel_tol = BIG", "rel_tol"),
    ("abs_tol = BIG", "abs_tol"),
    ("[problem.answer]\noutput = BIG", "answer.output"),
    ("[problem.answer]\ngrad = { x = BIG }", "answer.grad.x"),
]


@pytest.mark.parametrize(("line", "field"), BIG_FIELDS)
def test_a_whole_number_too_large_for_a_float_costs_its_problem(line, field):
    """Was OverflowError (exit 3, and no other file checked)."""
    values = "" if line.startswith("values") else "values = { x = 1 }\n"
    big_line = line.replace("BIG", BIG)
    text = (
        "[[problem]]\nid = 'ok'\nexpr = 'x'\nvalues = { x = 1 }\n"
        f"[[problem]]\nid = 'big'\nexpr = 'x'\n{values}{big_line}\n"
    )
    ok, big = loads(text, "t").problems
    assert isinstance(ok, Problem)
    assert isinstance(big, Invalid)
    assert (
        str(big) == f"t: problem big: {field}: too large for a float (a whole number of 401 digits)"
    )
    negative = loads(text.replace(BIG, "-" + BIG), "t").problems[1]
    assert str(negative).endswith(f"{field}: too large for a float (a whole number of 401 digits)")


def test_a_whole_number_too_large_for_a_float_in_json():
    text = (
        '{"defaults": {"abs_tol": 1e-9}, "problem": ['
        '{"id": "ok", "expr": "x", "values": {"x": 1}},'
        f'{{"id": "big", "expr": "x", "values": {{"x": {BIG}}}}}]}}'
    )
    ok, big = loads(text, "t.json", "json").problems
    assert isinstance(ok, Problem)
    assert (
        str(big)
        == "t.json: problem big: values.x: too large for a float (a whole number of 401 digits)"
    )
    (defaults,) = loads(text.replace("1e-9", BIG), "t.json", "json").problems
    assert (
        str(defaults)
        == "t.json: defaults.abs_tol: too large for a float (a whole number of 401 digits)"
    )


@pytest.mark.parametrize(
    ("problem", "message"),
    [
        ({"id": "\ud800", "expr": "x"}, "t.json: problem 1: id: is not Unicode text: it holds a lone surrogate (\\ud800)"),
        ({"expr": "x + \udfff"}, "t.json: problem 1: expr: is not Unicode text: it holds a lone surrogate (x + \\udfff)"),
        ({"expr": "x", "values": {"\ud800": 1}}, "t.json: problem 1: values.\\ud800: is not Unicode text: it holds a lone surrogate (\\ud800)"),
        ({"expr": "x", "answer": {"grad": {"\ud800": 1}}}, "t.json: problem 1: answer.grad.\\ud800: is not Unicode text: it holds a lone surrogate (\\ud800)"),
        ({"expr": "x", "\ud800": 1}, "t.json: problem 1: \\ud800: unknown key (the keys are id, points, expr, values, lr, rel_tol, abs_tol, decimals, sig_figs, max_tie, ask, statement, answer)"),
        ({"expr": "x", "answer": {"\ud800": 1}}, "t.json: problem 1: answer.\\ud800: unknown answer (the answers are output, grad, nodes, node_grads, update, new_output)"),
    ],
)  # fmt: skip
def test_a_lone_surrogate_in_json_costs_its_problem(problem, message):
    """JSON's \\ud800 escape reads as a string no stream can write: was exit 3 in check and key."""
    text = json.dumps({"problem": [problem, {"id": "ok", "expr": "x", "values": {"x": 1}}]})
    bad, ok = loads(text, "t.json", "json").problems
    assert isinstance(ok, Problem)
    assert str(bad) == message
    str(bad).encode("utf-8")  # printable


def test_a_file_name_that_is_not_utf8_is_shown_as_its_bytes(tmp_path):
    name = os.fsdecode(b"\xff.toml")
    (tmp_path / name).write_text("[[problem]]\nexpr = 'x'\nvalues = { x = 1 }\n")
    problems = load(tmp_path / name)
    assert problems.file.endswith("\\xff.toml")
    problems.file.encode("utf-8")


@pytest.mark.parametrize(
    ("points", "message"),
    [
        ("1e308", "t: problem 1: points: must be at most 1,000,000, got 1e+308"),
        ("1000000.5", "t: problem 1: points: must be at most 1,000,000, got 1000000.5"),
        ("-1", "t: problem 1: points: must not be negative"),
    ],
)
def test_points_are_bounded(points, message):
    (problem,) = loads(f"[[problem]]\nexpr = 'x'\npoints = {points}", "t").problems
    assert str(problem) == message
    assert problem.points == 1.0  # not the rejected number: it would count in the total
    (most,) = loads("[[problem]]\nexpr = 'x'\npoints = 1_000_000", "t").problems
    assert isinstance(most, Problem) and most.points == 1e6


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[defaults]\nrel_tol = 1e300\n[[problem]]\nexpr = 'x'", "t: defaults.rel_tol: must be at most 1"),
        ("[[problem]]\nexpr = 'x'\nrel_tol = 1.5", "t: problem 1: rel_tol: must be at most 1"),
        ("[[problem]]\nexpr = 'x'\nabs_tol = -1e-3", "t: problem 1: abs_tol: must not be negative"),
    ],
)  # fmt: skip
def test_tolerances_are_bounded(text, message):
    """rel_tol = 1e300 made every answer right."""
    (problem,) = loads(text, "t").problems
    assert isinstance(problem, Invalid)
    assert str(problem).startswith(message)
    (one,) = loads("[[problem]]\nexpr = 'x'\nrel_tol = 1", "t").problems
    assert isinstance(one, Problem) and one.tolerance.rel_tol == 1.0


def test_max_tie_per_set_and_per_problem():
    problems = loads(
        "[defaults]\nmax_tie = 'first'\n"
        "[[problem]]\nid = 'a'\nexpr = 'max(x, y)'\n"
        "[[problem]]\nid = 'b'\nexpr = 'max(x, y)'\nmax_tie = 'split'\n"
        "[[problem]]\nid = 'c'\nexpr = 'max(x, y)'\nmax_tie = 'last'\n",
        "t",
    )
    a, b, c = problems.problems
    assert isinstance(a, Problem) and a.max_tie == "first"
    assert isinstance(b, Problem) and b.max_tie == "split"
    assert str(c) == 't: problem c: max_tie: must be "split" or "first", got \'last\''
    assert loads("[[problem]]\nexpr = 'x'", "t").problems[0].max_tie == "split"
    (bad,) = loads("[defaults]\nmax_tie = 1\n[[problem]]\nexpr = 'x'", "t").problems
    assert str(bad) == 't: defaults.max_tie: must be "split" or "first", got 1'
    again = loads(dumps(problems), "again")
    assert again.defaults == {"max_tie": "first"}
    assert [p.max_tie for p in again.problems] == ["first", "split"]
    as_json = loads(dumps(replace(problems, format="json")), "again.json", "json")
    assert [p.max_tie for p in as_json.problems] == ["first", "split"]
