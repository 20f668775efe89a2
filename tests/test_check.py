"""Checking homework: items, scores, hints, reports, keys and quizzes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bpcli.check import check, grade, solve
from bpcli.problems import Problem, load, loads
from bpcli.quiz import SplitMix64, quiz

DATA = Path(__file__).parent / "data"
HOMEWORK = DATA / "homework.toml"


def by_id(report):
    return {p.id: p for p in report.problems}


def test_the_homework_is_graded_item_by_item():
    report = check([load(HOMEWORK)])
    problems = by_id(report)
    lecture = problems["1a"]
    assert lecture.passed and (lecture.score, lecture.max_score) == (4.0, 4.0)
    assert len(lecture.items) == 10
    patterns = problems["1b"]
    assert [(i.field, i.expected, i.got, i.ok) for i in patterns.items] == [
        ("output", -20.0, -20.0, True),
        ("grad.x", -8.0, -8.0, True),
        ("grad.y", 6.0, 6.0, True),
        ("grad.z", 2.0, 0.0, False),
        ("grad.w", 0.0, 2.0, False),
        ("grad.v", None, 0.0, False),
    ]
    assert patterns.score == pytest.approx(2 * 3 / 6)  # points split over the items answered
    assert report.max_score == 4 + 2 + 1 + 1 + 1 + 1
    assert report.invalid and not report.all_right


def test_hints_name_the_lectures_mistakes():
    items = {(p.id, i.field): i.hint for p in check([load(HOMEWORK)]).problems for i in p.items}
    assert (
        items[("1b", "grad.z")]
        == "max gate max1 is a gradient router: z wins (2), so it gets the whole gradient 2"
    )
    assert (
        items[("1b", "grad.w")]
        == "max gate max1 is a gradient router: only the winner z (2) gets the gradient; w lost, so it gets 0"
    )
    assert (
        items[("1b", "grad.v")] == "v is not an input of this problem (its inputs are x, y, z, w)"
    )
    assert (
        items[("2", "grad.x")]
        == "copy gate: x is used 3 times, and its gradient adds what every use sends back: 3 + 3 + 1 = 7"
    )
    assert (
        items[("3", "grad.x")]
        == "mul gate mul1 is a swap multiplier: x gets the upstream gradient 2 times the other input (-4), not times its own value"
    )
    assert items[("3", "grad.y")] is None  # 6 is right for y


def test_a_flipped_sign_is_named():
    problem = loads(
        "[[problem]]\nexpr = 'x - y'\nvalues = { x = 1, y = 2 }\n[problem.answer]\ngrad = { y = 1 }"
    ).problems[0]
    assert isinstance(problem, Problem)
    (item,) = grade(problem, "t").items
    assert item.hint == "the sign is flipped: a sub or neg gate passes the gradient with a minus"


def test_all_or_nothing():
    problems = by_id(check([load(HOMEWORK)], all_or_nothing=True))
    assert problems["1a"].score == 4.0
    assert problems["1b"].score == 0.0


def test_invalid_problems_are_reported_and_the_rest_checked():
    problems = by_id(check([load(HOMEWORK)]))
    assert problems["4"].error.endswith(
        "homework.toml: problem 4: expr: line 1, column 3: the expression ends too early: expected a number, a name or '('"
    )
    assert problems["5"].error.endswith(
        "homework.toml: problem 5: point: unknown key (the keys are id, points, expr, values, lr, rel_tol, abs_tol, answer)"
    )
    assert problems["4"].score == 0 and problems["4"].max_score == 1


def test_an_unanswered_problem_is_not_right():
    problem = loads("[[problem]]\nexpr = 'x'\nvalues = { x = 1 }").problems[0]
    graded = grade(problem, "t")
    assert not graded.passed and graded.score == 0
    assert graded.items[0].hint == "no answers given"


def test_the_key_answers_everything_right():
    # the lecture by hand: q = 3, f = -12, grads -4, -4, 3, update -1.6, 5.4, -4.3, -16.34
    problem = loads(
        "[[problem]]\nexpr = 'q = x + y; f = q * z'\nvalues = { x = -2, y = 5, z = -4 }\nlr = 0.1"
    ).problems[0]
    answer = solve(problem)
    assert answer.output == -12.0
    assert answer.grad == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert answer.nodes == {"q": 3.0} and answer.node_grads == {"q": -4.0}
    assert answer.update == pytest.approx({"x": -1.6, "y": 5.4, "z": -4.3})
    assert answer.new_output == pytest.approx(-16.34)


# ---- the CLI ------------------------------------------------------------------------


def test_check_cli_exit_codes(bpcli, tmp_path):
    run = bpcli("check", str(HOMEWORK))
    assert run.code == 2  # invalid problems win over wrong answers
    assert "problem 4: expr: line 1, column 3" in run.stderr
    assert "score 5.5 / 10" in run.stdout  # 4 + 2·3/6 + 0 + 1·1/2 + 0 + 0
    right = tmp_path / "right.toml"
    right.write_text(
        "[[problem]]\nexpr = 'x*y'\nvalues = { x = 2, y = 3 }\n[problem.answer]\ngrad = { x = 3, y = 2 }\n"
    )
    assert bpcli("check", str(right)).code == 0
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(
        "[[problem]]\nexpr = 'x*y'\nvalues = { x = 2, y = 3 }\n[problem.answer]\ngrad = { x = 2, y = 2 }\n"
    )
    assert bpcli("check", str(wrong)).code == 1
    assert bpcli("check", str(right), str(wrong)).code == 1
    assert bpcli("check", str(tmp_path / "missing.toml")).code == 2


def test_check_json_report(bpcli):
    run = bpcli("check", str(HOMEWORK), "--json")
    report = json.loads(run.stdout)
    assert list(report) == ["schema_version", "score", "max_score", "problems"]
    assert report["schema_version"] == 1
    assert (report["score"], report["max_score"]) == (5.5, 10.0)
    first = report["problems"][0]
    assert {k: first[k] for k in ("id", "score", "max_score", "error")} == {
        "id": "1a",
        "score": 4.0,
        "max_score": 4.0,
        "error": None,
    }
    assert first["items"][0] == {"field": "output", "expected": -12.0, "got": -12.0, "ok": True}
    assert report["problems"][4]["items"] == [] and report["problems"][4]["error"]


def test_gradescope_results(bpcli, tmp_path):
    target = tmp_path / "results.json"
    run = bpcli("check", str(HOMEWORK), "--gradescope", str(target))
    assert run.code == 2
    results = json.loads(target.read_text())
    assert set(results) == {"score", "tests", "output"}
    assert results["score"] == 5.5
    assert results["output"] == "1 of 6 problems right; score 5.5 of 10"
    for test in results["tests"]:
        assert set(test) == {"name", "number", "score", "max_score", "status", "output"}
        assert test["status"] in ("passed", "failed")
        assert isinstance(test["number"], str) and isinstance(test["output"], str)
    assert [t["name"] for t in results["tests"]] == [
        f"problem {i}" for i in ["1a", "1b", "2", "3", "4", "5"]
    ]
    assert results["tests"][0]["status"] == "passed"
    assert (
        "grad.z: wrong, submitted 0, expected 2 (max gate max1 is a gradient router"
        in results["tests"][1]["output"]
    )


def test_key_then_check_is_all_right(bpcli, tmp_path):
    source = tmp_path / "questions.toml"
    source.write_text(
        "[[problem]]\nid = 'p'\nexpr = 'q = x * y; f = max(q, z) + q'\nvalues = { x = 2, y = -3, z = 1 }\nlr = 0.5\n"
        "[[problem]]\nid = 'r'\npoints = 2\nexpr = 'tanh(a) * b'\nvalues = { a = 0.5, b = 2 }\n"
    )
    run = bpcli("key", str(source), "--output", str(tmp_path / "key.toml"))
    assert run.code == 0, run.stderr
    key = (tmp_path / "key.toml").read_text()
    assert (
        "grad = { x = -3, y = 2, z = 1 }" in key
    )  # f = max(xy, z) + xy, z wins: d/dx = y, d/dz = 1
    assert "node_grads = { q = 1 }" in key
    assert bpcli("check", str(tmp_path / "key.toml")).code == 0


def test_key_of_json_is_json(bpcli, tmp_path):
    source = tmp_path / "q.json"
    source.write_text(
        json.dumps({"problem": [{"id": "1", "expr": "x*y", "values": {"x": 2, "y": 3}}]})
    )
    data = json.loads(bpcli("key", str(source)).stdout)
    assert data["problem"][0]["answer"] == {"output": 6, "grad": {"x": 3, "y": 2}}


def test_key_refuses_an_invalid_problem(bpcli):
    run = bpcli("key", str(HOMEWORK))
    assert run.code == 2
    assert run.stdout == ""
    assert "problem 5: point: unknown key" in run.stderr


# ---- quizzes ---------------------------------------------------------------------------


def test_splitmix64_reference_values():
    # the first outputs for seed 0 published with the algorithm (Vigna's splitmix64.c)
    rng = SplitMix64(0)
    assert [rng.next() for _ in range(3)] == [
        0xE220A8397B1DCDAF,
        0x6E789E6AA1B965F4,
        0x06C45D188009454F,
    ]


def test_quiz_is_the_same_for_the_same_seed(bpcli):
    first = bpcli("quiz", "--seed", "42", "--count", "6")
    second = bpcli("quiz", "--seed", "42", "--count", "6")
    assert first.code == 0 and first.stdout == second.stdout
    assert first.stdout != bpcli("quiz", "--seed", "43", "--count", "6").stdout
    assert first.stdout.startswith("# bpcli quiz --seed 42 --count 6 --ops add,mul,max --depth 2\n")
    data = loads(first.stdout).problems
    assert len(data) == 6
    assert all(isinstance(p, Problem) and p.answer.items() == [] for p in data)
    assert "# grad = { " in first.stdout


def test_quiz_values_are_small_enough_to_work_by_hand():
    for problem in loads(quiz(5, 30)).problems:
        assert isinstance(problem, Problem)
        for value in problem.values.values():
            assert -5 <= value <= 5 and round(value, 1) == value


@pytest.mark.parametrize("seed", range(60))
def test_every_quiz_key_grades_all_right(seed):
    ops = ["add", "mul", "max", "sub", "min", "tanh", "sigmoid", "relu", "exp"][: 3 + seed % 7]
    text = quiz(seed, 4, ops, depth=1 + seed % 4, key=True)
    report = check([loads(text, f"seed {seed}")])
    assert report.all_right, [i for p in report.problems for i in p.items if not i.ok]


def test_quiz_options_are_checked(bpcli):
    assert bpcli("quiz", "--ops", "add,foo").stderr.startswith(
        "error: --ops: unknown op 'foo'; the ops are"
    )
    assert bpcli("quiz", "--count", "0").code == 2
    assert bpcli("quiz", "--depth", "9").code == 2
