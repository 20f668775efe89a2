"""Checking homework: items, scores, hints, reports, keys and quizzes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from bpcli.check import check, grade, solve
from bpcli.errors import InputError
from bpcli.problems import Invalid, Problem, ProblemSet, load, loads, tomllib
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
    # df/dy = -1: the sub gate's minus; 1 is that one sign flipped, and the hint names the gate
    assert item.hint == (
        "sub gate f passes the gradient to y with a minus (y gets -1): the sign was flipped there"
    )


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
        "homework.toml: problem 5: point: unknown key (the keys are id, points, expr, values, lr, rel_tol, abs_tol, decimals, sig_figs, max_tie, ask, statement, answer)"
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
    assert list(report) == [
        "schema_version",
        "mode",
        "problem_set",
        "score",
        "max_score",
        "problems",
        "students",
        "duplicate_students",
    ]
    assert report["mode"] == "self-check" and report["problem_set"] is None
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
    assert bpcli("check", str(HOMEWORK), "--gradescope", str(target)).code == 2  # needs --problems
    run = bpcli("check", "--problems", str(HOMEWORK), str(HOMEWORK), "--gradescope", str(target))
    assert run.code == 2
    results = json.loads(target.read_text())
    assert set(results) == {"score", "tests", "output", "visibility", "stdout_visibility"}
    # graded against the set, the points split over the items asked (every kind its key
    # defines): 1a 4 of 4; 1b output, grad.x, grad.y of output and four gradients, 2 * 3/5;
    # 2 nothing right; 3 grad.y of output and two gradients, 1/3; 4 and 5 invalid, 0
    assert results["score"] == pytest.approx(4 + 2 * 3 / 5 + 1 / 3)
    assert results["output"] == "1 of 6 problems right; score 5.53333 of 10"
    for test in results["tests"]:
        assert set(test) <= GRADESCOPE_TEST_FIELDS
        assert test["status"] in ("passed", "failed")
        assert isinstance(test["number"], str) and isinstance(test["output"], str)
    names = [t["name"] for t in results["tests"]]
    assert names[:3] == ["problem 1a: output", "problem 1a: grad.x", "problem 1a: grad.y"]
    assert names[-2:] == ["problem 4", "problem 5"]  # invalid: one test, 0 of its points
    assert len(set(names)) == len(names)
    tests = {t["name"]: t for t in results["tests"]}
    assert tests["problem 1a: output"]["status"] == "passed"
    assert (
        "grad.z: wrong, submitted 0, expected 2 (max gate max1 is a gradient router"
        in tests["problem 1b: grad.z"]["output"]
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


# CS231n's vectorised example, by hand: q = W x = [0.22, 0.26], f = |q|^2 = 0.116,
# df/dW = 2 q x^T, df/dx = 2 W^T q
CS231N = (
    "[[problem]]\nid = 'v'\nexpr = 'q = W @ x; f = sum(q * q)'\n"
    "values = { W = [[0.1, 0.5], [-0.3, 0.8]], x = [0.2, 0.4] }\n"
)
LECTURE_SET = "[[problem]]\nid = 's'\nexpr = 'q = x + y; f = q * z'\nvalues = { x = -2, y = 5, z = -4 }\nlr = 0.1\n"


def test_a_key_is_written_to_15_significant_digits_and_grades_the_hand_worked_answers():
    from bpcli.check import check_submissions
    from bpcli.problems import ProblemSet, dumps, submission

    def key(text):
        problems = loads(text)
        answered = [replace(p, answer=solve(p)) for p in problems.problems]
        return dumps(ProblemSet("key", "toml", problems.defaults, answered))

    vector = key(CS231N)
    assert "output = 0.116\n" in vector  # float arithmetic: 0.11600000000000003
    assert "grad = { W = [[0.088, 0.176], [0.104, 0.208]], x = [-0.112, 0.636] }" in vector
    assert "nodes = { q = [0.22, 0.26] }" in vector
    assert check([loads(vector)]).all_right  # the key, graded against bpcli's own numbers
    by_hand = CS231N + (
        "[problem.answer]\noutput = 0.116\n"
        "grad = { W = [[0.088, 0.176], [0.104, 0.208]], x = [-0.112, 0.636] }\n"
        "nodes = { q = [0.22, 0.26] }\nnode_grads = { q = [0.44, 0.52] }\n"  # df/dq = 2 q
    )
    assert check([loads(by_hand)]).all_right
    assert check_submissions(loads(vector), [submission(by_hand, "s.toml", "s")]).all_right
    # exact values are written as they were: the lecture's numbers, by hand
    assert key(LECTURE_SET).split("[problem.answer]\n")[1] == (
        "output = -12\ngrad = { x = -4, y = -4, z = 3 }\nnodes = { q = 3 }\n"
        "node_grads = { q = -4 }\nupdate = { x = -1.6, y = 5.4, z = -4.3 }\n"
        "new_output = -16.34\n"
    )
    # the inputs are never rounded, and an exact tolerance keeps every digit
    noisy = CS231N.replace("x = [0.2, 0.4]", "x = [0.30000000000000004, 0.4]")
    assert "x = [0.30000000000000004, 0.4] }" in key(noisy)
    exact = "[defaults]\nrel_tol = 0\nabs_tol = 0\n" + CS231N
    assert "output = 0.11600000000000003\n" in key(exact)
    assert check([loads(key(exact))]).all_right


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


# ---- max ties (issue 17) ------------------------------------------------------------------

# f = max(x, y) * z at x = y = 2, z = 3: at the tie, "split" sends half of the upstream 3
# to each input (1.5, 1.5); "first" sends all 3 to x and 0 to y. ∂f/∂z = max(x, y) = 2.
TIED = "[[problem]]\nid = 't'\nexpr = 'max(x, y) * z'\nvalues = { x = 2, y = 2, z = 3 }\n"
SPLIT = "[problem.answer]\ngrad = { x = 1.5, y = 1.5, z = 2 }\n"
FIRST = "[problem.answer]\ngrad = { x = 3, y = 0, z = 2 }\n"


def test_max_tie_of_the_set_of_the_problem_and_of_the_command_line(bpcli, tmp_path):
    split, first = tmp_path / "split.toml", tmp_path / "first.toml"
    split.write_text(TIED + SPLIT)
    first.write_text("[defaults]\nmax_tie = 'first'\n" + TIED + FIRST)
    assert bpcli("check", str(split)).code == 0  # the default: split
    assert bpcli("check", str(first)).code == 0  # [defaults] max_tie
    own = tmp_path / "own.toml"
    own.write_text("[defaults]\nmax_tie = 'first'\n" + TIED + "max_tie = 'split'\n" + SPLIT)
    assert bpcli("check", str(own)).code == 0  # the problem's own wins over [defaults]
    assert bpcli("check", str(split), "--max-tie", "first").code == 1  # the override wins
    assert bpcli("check", str(first), "--max-tie", "first").code == 0
    assert bpcli("check", str(first), "--max-tie", "split").code == 1
    run = bpcli("check", str(split), "--max-tie", "last")
    assert (run.code, run.stderr) == (2, "error: --max-tie is split or first, got 'last'\n")


# f = max(x, y) at x = y = 1 (hand-worked): split gives 0.5 each; first gives x 1, y 0.
TIE_HINTS = [
    (
        "split",
        "{ x = 0.5, y = 0 }",
        "y",
        "max gate f is a gradient router: x, y tie at 1, so the gradient 1 is split evenly"
        " among them: y gets 0.5",
    ),
    (
        "first",
        "{ x = 0, y = 0 }",
        "x",
        "max gate f is a gradient router: x, y tie at 1, and under max_tie first the gradient"
        " 1 goes to the first of them, x: x gets 1",
    ),
    (
        "first",
        "{ x = 1, y = 1 }",
        "y",
        "max gate f is a gradient router: x, y tie at 1, and under max_tie first the gradient"
        " 1 goes to the first of them, x: y gets 0",
    ),
]


@pytest.mark.parametrize("rule, grads, wrong, hint", TIE_HINTS)
def test_a_hint_at_a_max_tie_gives_each_its_share(rule, grads, wrong, hint):
    """Before: "y wins (1), so it gets the whole gradient 1" where y gets 0.5."""
    problem = loads(
        f"[[problem]]\nexpr = 'max(x, y)'\nvalues = {{ x = 1, y = 1 }}\nmax_tie = '{rule}'\n"
        f"[problem.answer]\ngrad = {grads}\n"
    )
    items = {item.field: item for item in check([problem]).problems[0].items}
    assert [f for f, item in items.items() if not item.ok] == [f"grad.{wrong}"]
    assert items[f"grad.{wrong}"].hint == hint


def test_key_follows_the_max_tie(bpcli, tmp_path):
    source = tmp_path / "q.toml"
    source.write_text("[defaults]\nmax_tie = 'first'\n" + TIED)
    key = tomllib.loads(bpcli("key", str(source)).stdout)
    assert key["defaults"] == {"max_tie": "first"}
    assert key["problem"][0]["answer"]["grad"] == {"x": 3, "y": 0, "z": 2}
    split = tomllib.loads(bpcli("key", str(source), "--max-tie", "split").stdout)
    assert split["problem"][0]["answer"]["grad"] == {"x": 1.5, "y": 1.5, "z": 2}


# ---- hostile problem sets (issue 17): exit 2 and a message, never exit 3 -------------------


def test_a_number_too_large_for_a_float_costs_its_problem_not_the_other_files(bpcli, tmp_path):
    big = tmp_path / "big.toml"
    big.write_text(f"[[problem]]\nexpr = 'x'\nvalues = {{ x = 1{'0' * 400} }}\n")
    big_json = tmp_path / "big.json"
    big_json.write_text('{"problem": [{"expr": "x", "values": {"x": 1%s}}]}' % ("0" * 400))
    right = tmp_path / "right.toml"
    right.write_text(TIED + SPLIT)
    run = bpcli("check", str(big), str(big_json), str(right), "--json")
    assert run.code == 2, run.stderr
    assert f"{big}: problem 1: values.x: too large for a float" in run.stderr
    assert f"{big_json}: problem 1: values.x: too large for a float" in run.stderr
    report = json.loads(run.stdout)
    assert [(p["file"], p["score"]) for p in report["problems"]] == [
        (str(big), 0.0),
        (str(big_json), 0.0),
        (str(right), 1.0),
    ]
    key = bpcli("key", str(big))
    assert key.code == 2 and "values.x: too large for a float" in key.stderr


def test_huge_points_are_refused_and_every_report_is_json(bpcli, tmp_path):
    """points = 1e308 twice gave `score inf / inf`, then exit 3 in --json and --gradescope."""
    source = tmp_path / "hw.toml"
    source.write_text(
        "[[problem]]\npoints = 1e308\nexpr = 'x'\nvalues = { x = 1 }\n[problem.answer]\noutput = 1\n"
        "[[problem]]\npoints = 1e308\nexpr = 'x'\nvalues = { x = 1 }\n[problem.answer]\noutput = 1\n"
    )
    results = tmp_path / "results.json"
    run = bpcli(
        "check", "--problems", str(source), str(source), "--json", "--gradescope", str(results)
    )
    assert run.code == 2
    assert "problem 1: points: must be at most 1,000,000, got 1e+308" in run.stderr
    assert json.loads(run.stdout)["max_score"] == 2.0  # each refused problem counts 1
    assert json.loads(results.read_text())["score"] == 0.0
    assert "inf" not in bpcli("check", str(source)).stdout


def test_points_that_add_up_past_a_float_are_an_error_in_the_api():
    sets = [loads("[[problem]]\nexpr = 'x'\nvalues = { x = 1 }", "t")]
    huge = replace(sets[0], problems=[Problem(n, "x", {"x": 1.0}, 1e308) for n in "ab"])
    with pytest.raises(InputError, match="the points add up to more than a float holds"):
        check([huge])
    assert check([replace(huge, problems=huge.problems[:1])]).max_score == 1e308


def test_a_lone_surrogate_in_json_is_exit_2_in_check_and_key(bpcli, tmp_path):
    source = tmp_path / "hw.json"
    source.write_text(
        '{"problem": [{"id": "\\ud800", "expr": "x", "values": {"x": 1}},'
        ' {"id": "ok", "expr": "x", "values": {"x": 1}, "answer": {"output": 1}}]}'
    )
    for command in ("check", "key"):
        run = bpcli(command, str(source))
        assert run.code == 2, run.stderr
        assert (
            f"{source}: problem 1: id: is not Unicode text: it holds a lone surrogate (\\ud800)"
            in run.stderr
        )
    assert "problem ok" in bpcli("check", str(source)).stdout


# ---- output files (issue 17): never an input, replaced whole -------------------------------


def spellings(path: Path) -> list[Path]:
    """The same file under other names: itself, through a link, through `..`."""
    link = path.parent / "link.toml"
    link.symlink_to(path)
    (path.parent / "sub").mkdir()
    return [path, link, path.parent / "sub" / ".." / path.name]


def test_check_does_not_write_gradescope_over_a_problem_set(bpcli, tmp_path):
    source = tmp_path / "hw.toml"
    source.write_text(TIED + SPLIT)
    for spelling in spellings(source):
        run = bpcli("check", "--problems", str(source), str(source), "--gradescope", str(spelling))
        assert run.code == 2
        assert "writing it would replace the input; give another file" in run.stderr
        assert source.read_text() == TIED + SPLIT and not source.is_symlink()
    other = tmp_path / "other.toml"
    other.write_text(TIED + SPLIT)
    for option in ("--gradescope", "--csv"):
        run = bpcli("check", "--problems", str(other), str(source), option, str(source))
        assert run.code == 2 and "writing it would replace the input" in run.stderr
        assert source.read_text() == TIED + SPLIT
    assert source.read_text() == TIED + SPLIT


def test_key_does_not_write_over_its_problem_set(bpcli, tmp_path):
    source = tmp_path / "hw.toml"
    source.write_text(TIED + SPLIT)
    for spelling in spellings(source):
        for extra in ([], ["--solutions"]):
            run = bpcli("key", str(source), "--output", str(spelling), *extra)
            assert run.code == 2 and "would replace the input" in run.stderr
            assert source.read_text() == TIED + SPLIT


def test_the_key_is_written_in_the_format_of_its_suffix(bpcli, tmp_path):
    source = tmp_path / "set.json"
    source.write_text(
        json.dumps({"problem": [{"id": "1", "expr": "x*y", "values": {"x": 2, "y": 3}}]})
    )
    assert bpcli("key", str(source), "--output", str(tmp_path / "key.toml")).code == 0
    key = tomllib.loads((tmp_path / "key.toml").read_text())
    assert key["problem"][0]["answer"] == {"output": 6, "grad": {"x": 3, "y": 2}}
    assert bpcli("check", str(tmp_path / "key.toml")).code == 0
    toml_source = tmp_path / "set.toml"
    toml_source.write_text(TIED)
    assert bpcli("key", str(toml_source), "--output", str(tmp_path / "KEY.JSON")).code == 0
    data = json.loads((tmp_path / "KEY.JSON").read_text())
    assert data["problem"][0]["answer"]["grad"] == {"x": 1.5, "y": 1.5, "z": 2}
    run = bpcli("key", str(source), "--output", str(tmp_path / "key.txt"))
    assert run.code == 2 and "ends in .toml or .json" in run.stderr
    assert not (tmp_path / "key.txt").exists()
    assert bpcli("key", str(source), "--output", os.devnull).code == 0  # not a file: no suffix


def test_graph_and_grad_do_not_write_over_the_program_file(bpcli, tmp_path):
    program = tmp_path / "f.svg"  # a program file may have any name
    program.write_text("x*y\n")
    for command in (
        ["graph", "--file", str(program), "--output", str(program)],
        [
            "grad",
            "--file",
            str(program),
            "x=1",
            "y=2",
            "--lr",
            "0.1",
            "--steps",
            "2",
            "--plot",
            str(program),
        ],
    ):
        run = bpcli(*command)
        assert run.code == 2 and "would replace the input" in run.stderr
        assert program.read_text() == "x*y\n"


@pytest.mark.integration
def test_output_to_dev_stdout_reaches_a_pipe(tmp_path):
    """`--output /dev/stdout | …`: /dev/stdout into a pipe resolves to pipe:[…], which is
    no path; it was 'cannot write /dev/stdout: No such file or directory', exit 2."""
    homework = Path(__file__).parent.parent / "docs" / "homework.toml"
    for extra in ([], ["--solutions", "--format", "latex"]):
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "bpcli",
                "key",
                str(homework),
                *extra,
                "--output",
                "/dev/stdout",
            ],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.startswith("\\documentclass" if extra else "[defaults]")
    # a link to a file not there yet is still followed: the file it names is made
    link = tmp_path / "key-link.toml"
    link.symlink_to(tmp_path / "key.toml")
    run = subprocess.run(
        [sys.executable, "-m", "bpcli", "key", str(homework), "--output", str(link)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0 and link.is_symlink(), run.stderr
    assert (tmp_path / "key.toml").read_text(encoding="utf-8").startswith("[defaults]")


def test_an_existing_output_is_replaced_with_its_mode_and_link_kept(bpcli, tmp_path):
    """--output and --gradescope say they replace the file: it is replaced whole."""
    source = tmp_path / "hw.toml"
    source.write_text(TIED + SPLIT)
    target = tmp_path / "results.json"
    target.write_text("old " * 10_000)
    target.chmod(0o640)
    link = tmp_path / "results-link.json"
    link.symlink_to(target)
    answers = tmp_path / "answers.toml"
    answers.write_text(TIED + SPLIT.replace("grad =", "output = 6\ngrad ="))
    assert (
        bpcli("check", "--problems", str(source), str(answers), "--gradescope", str(link)).code == 0
    )
    assert link.is_symlink()
    assert json.loads(target.read_text())["score"] == 1.0
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "answers.toml",
        "hw.toml",
        "results-link.json",
        "results.json",
    ]


@pytest.mark.integration
def test_a_failed_write_leaves_the_old_file_whole(tmp_path):
    """A write that fails part way (here: the file-size limit) must not leave half a file.
    The old code wrote into the file itself, truncating it first."""
    resource = pytest.importorskip("resource")
    source = tmp_path / "hw.toml"
    source.write_text("".join(TIED.replace("'t'", f"'t{n}'") for n in range(20)))
    target = tmp_path / "key.toml"
    target.write_text("# the old key\n")
    limit = 400  # the new key is larger: its write fails with EFBIG

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    done = subprocess.run(
        [str(Path(sys.executable).with_name("bpcli")), "key", str(source), "--output", str(target)],
        capture_output=True,
        text=True,
        preexec_fn=limited,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert f"error: cannot write {target}: File too large" in done.stderr
    assert target.read_text() == "# the old key\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hw.toml", "key.toml"]


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


# ---- grading against the instructor's set ------------------------------------------------

# Gradescope's documented fields of results.json and of each test
# (https://gradescope-autograders.readthedocs.io/en/latest/specs/)
GRADESCOPE_FIELDS = {
    "score", "execution_time", "output", "output_format", "test_output_format",
    "test_name_format", "visibility", "stdout_visibility", "extra_data", "tests", "leaderboard",
}  # fmt: skip
GRADESCOPE_TEST_FIELDS = {
    "score", "max_score", "status", "name", "name_format", "number", "output",
    "output_format", "tags", "visibility", "extra_data",
}  # fmt: skip
GRADESCOPE_VISIBILITY = {"visible", "hidden", "after_due_date", "after_published"}

GRADING = DATA / "grading"
SET = GRADING / "hw.toml"
SUBMISSIONS = sorted((GRADING / "submissions").glob("*.toml"))

# Hand-worked: the set's lecture problem (3 points; output and three gradients asked):
# f = (x+y)z = -12, df/dx = df/dy = z = -4, df/dz = x+y = 3. gates (2 points; four
# gradients): f = 2(xy + max(z, w)), df/dx = 2y = -8, df/dy = 2x = 6, z wins the max: 2,
# w: 0. step (1 point; output, grad, update, new_output): x*x + x at 3 is 12, 2x+1 = 7,
# x - 0.1 * 7 = 2.3, 2.3^2 + 2.3 = 7.59.
TOTALS = {
    "alice": 6.0,  # every item right
    "bob": 3 + 2 * 2 / 4 + 1,  # z and w swapped at the max gate
    "broken": 0.0,  # not TOML: 0 of the set's total
    "cheat-deleted": 3 + 0 + 1,  # gates deleted: 0 of its 2 points; a bonus problem: nothing
    "cheat-expr": 0.0,  # expr rewritten to 0*x*y*z and 0 answered everywhere
    "cheat-one-item": 3 * 1 / 4,  # only output answered, of four items asked
    "cheat-tol": 0.0,  # rel_tol = 1e9, points = 300, 42 everywhere
}


def grade_all(bpcli, *more):
    return bpcli("check", "--problems", str(SET), *map(str, SUBMISSIONS), *more)


def test_each_submission_scores_what_its_answers_deserve_against_the_set(bpcli):
    run = grade_all(bpcli, "--json")
    assert run.code == 2  # broken.toml cannot be read
    report = json.loads(run.stdout)
    assert report["mode"] == "graded" and report["problem_set"].endswith("hw.toml")
    students = {s["student"]: s for s in report["students"]}
    assert list(students) == list(TOTALS)  # alice from her `student` field, the rest file stems
    for name, total in TOTALS.items():
        assert students[name]["score"] == pytest.approx(total), name
        assert students[name]["max_score"] == 6.0, name  # the set's points, never the file's
    assert [p["id"] for p in students["cheat-deleted"]["problems"]] == ["lecture", "gates", "step"]
    assert students["cheat-deleted"]["problems"][1]["missing"] is True
    assert (
        "problem bonus: not in the problem set; it scores nothing"
        in (students["cheat-deleted"]["notes"])
    )
    assert (
        "problem lecture: the submission's expr differs from the problem set;"
        " graded against the set" in students["cheat-expr"]["notes"]
    )
    notes = " ".join(students["cheat-tol"]["notes"])
    for key in ("points", "rel_tol", "abs_tol"):
        assert f"the submission's {key} differs from the problem set" in notes
    assert "defaults is ignored" in notes
    broken = students["broken"]
    assert "not valid TOML" in broken["error"] and "(at line 2, column 10)" in broken["error"]
    assert all(p["score"] == 0 for p in broken["problems"])
    lecture = students["cheat-one-item"]["problems"][0]
    assert [(i["field"], i["expected"], i["got"], i["ok"]) for i in lecture["items"]] == [
        ("output", -12.0, -12.0, True),
        ("grad.x", -4.0, None, False),
        ("grad.y", -4.0, None, False),
        ("grad.z", 3.0, None, False),
    ]


def test_the_terminal_report_has_a_subtotal_per_student_and_a_summary(bpcli, monkeypatch):
    # Paths as a TA types them in the folder: an absolute one may be longer than a line
    monkeypatch.chdir(GRADING)
    run = bpcli("check", "--problems", "hw.toml", *(f"submissions/{p.name}" for p in SUBMISSIONS))
    lines = run.stdout.splitlines()
    assert lines[0] == "graded against the problem set hw.toml"
    assert "subtotal bob 5 / 6  (2 of 3 problems all right)" in lines
    assert "subtotal cheat-one-item 0.75 / 6  (0 of 3 problems all right)" in lines
    summary = lines[lines.index("summary") + 1 :]
    assert summary[0].split() == ["student", "score", "max", "problems", "all", "right"]
    assert [row.split()[:3] for row in summary[1:]] == [
        [name, f"{total:g}", "6"] for name, total in TOTALS.items()
    ]
    assert "error: " in run.stderr and "broken.toml: not valid TOML" in run.stderr


def test_the_gradebook_csv_reads_back(bpcli, tmp_path):
    import csv

    book = tmp_path / "grades.csv"
    assert grade_all(bpcli, "--csv", str(book)).code == 2
    with book.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.DictReader(stream))
    assert [row["student"] for row in rows] == list(TOTALS)
    assert list(rows[0]) == ["student", "lecture", "gates", "step", "total", "max"]
    for row in rows:
        assert float(row["total"]) == pytest.approx(TOTALS[row["student"]])
        assert float(row["max"]) == 6.0
        parts = float(row["lecture"]) + float(row["gates"]) + float(row["step"])
        assert parts == pytest.approx(float(row["total"]))
    assert rows[1]["gates"] == "1"  # bob: 2 of 4 gradients of 2 points


def test_a_student_in_two_files_is_warned_about_and_keeps_both_rows(bpcli, tmp_path):
    """The same file twice, or two files saying student = "Kim, Min-jun": stderr and
    --json name the files; the gradebook keeps a row per file (which one counts is the
    TA's call: dropping one would lose a grade without a word)."""
    first = SUBMISSIONS[0]
    twin = tmp_path / "twin.toml"
    other = tmp_path / "other.toml"
    twin.write_text('student = "Kim, Min-jun"\n' + first.read_text().split("\n", 1)[1])
    other.write_text('student = "Kim, Min-jun"\n[[problem]]\nid = "lecture"\n')
    book = tmp_path / "g.csv"
    run = bpcli("check", "--problems", str(SET), str(first), str(first), "--csv", str(book))
    ident = "alice"  # as the file says: student = "alice"
    assert f"warning: student {ident} is in 2 files: {first}, {first};" in run.stderr
    rows = book.read_text().splitlines()
    assert [row.split(",")[0] for row in rows] == ["student", ident, ident]
    run = bpcli("check", "--problems", str(SET), str(twin), str(other), "--json")
    warning = f"warning: student Kim, Min-jun is in 2 files: {twin}, {other};"
    assert warning in run.stderr
    data = json.loads(run.stdout)
    assert data["duplicate_students"] == [
        {"student": "Kim, Min-jun", "files": [str(twin), str(other)]}
    ]
    assert [s["student"] for s in data["students"]] == ["Kim, Min-jun", "Kim, Min-jun"]
    alone = bpcli("check", "--problems", str(SET), str(twin), "--json")
    assert "warning" not in alone.stderr
    assert json.loads(alone.stdout)["duplicate_students"] == []


def test_a_student_id_cannot_become_a_spreadsheet_formula(bpcli, tmp_path):
    sub = tmp_path / "sub.toml"
    sub.write_text('student = "=HYPERLINK(1)"\n[[problem]]\nid = "lecture"\n')
    book = tmp_path / "grades.csv"
    bpcli("check", "--problems", str(SET), str(sub), "--csv", str(book))
    assert book.read_text().splitlines()[1].startswith("'=HYPERLINK(1)")


def test_self_check_says_so_and_roster_outputs_need_the_set(bpcli, tmp_path):
    run = bpcli("check", str(HOMEWORK))
    assert (
        run.stdout.splitlines()[0] == "self-check: answers compared with this file's own problems"
    )
    for option in ("--csv", "--gradescope"):
        run = bpcli("check", str(HOMEWORK), option, str(tmp_path / "out"))
        assert run.code == 2 and "add --problems SET" in run.stderr
        assert not (tmp_path / "out").exists()
    run = grade_all(bpcli, "--gradescope", str(tmp_path / "results.json"))
    assert run.code == 2 and "one submission" in run.stderr


def test_an_unreadable_set_is_an_error_not_a_grade(bpcli, tmp_path):
    run = bpcli("check", "--problems", str(tmp_path / "none.toml"), str(SUBMISSIONS[0]))
    assert run.code == 2 and "none.toml: no such file" in run.stderr and run.stdout == ""


def test_a_self_check_of_an_unreadable_file_is_not_graded_and_invents_no_problem(
    bpcli, tmp_path, monkeypatch
):
    """As an unreadable submission graded against a set is "not graded" (exit 2), but
    without a set there are no problems to score it 0 of: none is made up (it was
    "problem -  0 / 1", a point out of nothing)."""
    monkeypatch.chdir(tmp_path)
    missing = "none.toml"
    run = bpcli("check", missing)
    assert run.code == 2 and f"error: {missing}: no such file" in run.stderr
    assert f"not graded: {missing}: no such file" in run.stdout
    assert "problem -" not in run.stdout and "score 0 / 0" in run.stdout
    alone = json.loads(bpcli("check", str(HOMEWORK), "--json").stdout)
    both = bpcli("check", missing, str(HOMEWORK), "--json")
    data = json.loads(both.stdout)
    assert both.code == 2 and data["max_score"] == alone["max_score"] > 0
    assert data["problems"] == alone["problems"]  # the other file is checked as alone
    assert [(s["error"], s["problems"], s["max_score"]) for s in data["students"][:1]] == [
        (f"{missing}: no such file", [], 0)
    ]


def test_a_submission_cannot_change_what_is_asked_or_the_lr(tmp_path):
    from bpcli.check import check_submissions
    from bpcli.problems import submission

    text = (
        '[[problem]]\nid = "step"\nlr = 0\nask = ["output"]\n[problem.answer]\noutput = 12\n'
        "update = { x = 3 }\nnew_output = 12\n"
    )
    report = check_submissions(load(SET), [submission(text, "s.toml", "s")])
    step = report.students[0].problems[2]
    # output right; grad.x not answered; the set's lr 0.1: x = 2.3, new output 7.59
    assert [(i.field, i.expected, i.ok) for i in step.items] == [
        ("output", 12.0, True),
        ("grad.x", 7.0, False),
        ("update.x", pytest.approx(2.3), False),
        ("new_output", pytest.approx(7.59), False),
    ]
    assert step.score == pytest.approx(1 / 4)
    notes = report.students[0].notes
    assert any("the submission's lr differs" in n for n in notes)
    assert any("the submission's ask differs" in n for n in notes)


def test_points_split_over_the_asked_items_and_a_required_item_left_out_is_wrong():
    text = (
        "[[problem]]\nid = 'p'\npoints = 4\nexpr = 'q = x + y; f = q * z'\n"
        "values = { x = -2, y = 5, z = -4 }\nask = ['grad', 'nodes']\n"
        "[problem.answer]\ngrad = { x = -4, y = -4 }\noutput = -12\n"
    )
    (problem,) = loads(text).problems
    assert isinstance(problem, Problem) and problem.ask == ("grad", "nodes")
    graded = grade(problem, "t")  # a self-check with `ask` grades the asked items only
    assert [(i.field, i.ok) for i in graded.items] == [
        ("grad.x", True),
        ("grad.y", True),
        ("grad.z", False),  # asked, left out
        ("nodes.q", False),  # asked, left out
    ]
    assert graded.score == 2.0  # 4 points over 4 asked items; output is not asked


@pytest.mark.parametrize(
    ("ask", "message"),
    [
        ("'grad'", "ask: must be a list of the items asked for"),
        ("['grads']", "ask: 'grads' is not an item"),
        ("['update']", "ask: asks for update, but the problem has no lr"),
    ],
)
def test_a_bad_ask_costs_its_problem(ask, message):
    (problem,) = loads(f"[[problem]]\nexpr = 'x'\nvalues = {{ x = 1 }}\nask = {ask}\n").problems
    assert message in str(problem)


# ---- tolerances a TA uses -----------------------------------------------------------------

# CS231n's neuron f = 1/(1 + exp(-(w0*x0 + w1*x1 + w2))) at w0=2, x0=-1, w1=-3, x1=-2, w2=-3:
# the dot product is -2 + 6 - 3 = 1, f = sigmoid(1), f' = s(1 - s) = 0.196612 (by hand:
# s = 0.7310586), and each gradient is f' times the other factor of its mul gate.
NEURON = (
    "[[problem]]\nid = 'neuron'\nexpr = '1/(1+exp(-(w0*x0+w1*x1+w2)))'\n"
    "values = { w0 = 2, x0 = -1, w1 = -3, x1 = -2, w2 = -3 }\nask = ['grad']\n"
)
SLIDES = "[[problem]]\nid = 'neuron'\n[problem.answer]\ngrad = {{ {} }}\n"
AS_THE_SLIDES_ROUND = "w0 = -0.20, x0 = 0.39, w1 = -0.39, x1 = -0.59, w2 = 0.20"


def grade_neuron(bpcli, tmp_path, settings="", answers=AS_THE_SLIDES_ROUND, *options):
    (tmp_path / "set.toml").write_text(settings + NEURON)
    (tmp_path / "sub.toml").write_text(SLIDES.format(answers))
    paths = [str(tmp_path / "set.toml"), str(tmp_path / "sub.toml")]
    run = bpcli("check", "--problems", *paths, "--json", *options)
    return json.loads(run.stdout)["students"][0]["problems"][0]["items"]


def test_the_neuron_answered_as_the_slides_round_it(bpcli, tmp_path):
    strict = grade_neuron(bpcli, tmp_path)
    assert [i["ok"] for i in strict] == [False] * 5  # the default: relative 1e-6
    assert strict[0]["hint"].startswith(
        "a rounding difference: -0.2 is the right answer -0.196612 rounded to 1 decimal;"
    )
    assert strict[1]["hint"].startswith(
        "a rounding difference: 0.39 is the right answer 0.393224 rounded to 2 decimals;"
    )
    for settings, options in [
        ("[defaults]\ndecimals = 2\n", ()),  # the set's defaults
        ("", ("--decimals", "2")),  # the command line
        ("", ("--sig-figs", "2")),  # -0.20, 0.39, -0.59: two significant figures
    ]:
        items = grade_neuron(bpcli, tmp_path, settings, AS_THE_SLIDES_ROUND, *options)
        assert [i["ok"] for i in items] == [True] * 5, (settings, options)
    # the problem's own decimals
    (tmp_path / "set.toml").write_text(NEURON + "decimals = 2\n")
    run = bpcli("check", "--problems", str(tmp_path / "set.toml"), str(tmp_path / "sub.toml"))
    assert run.code == 0


def test_decimals_reject_what_rounds_otherwise(bpcli, tmp_path):
    # 0.40 is 0.393224 rounded to 1 decimal, not 2; -0.19 and -0.58 are off in the 2nd
    answers = "w0 = -0.19, x0 = 0.40, w1 = -0.3932, x1 = -0.58, w2 = 0.197"
    items = grade_neuron(bpcli, tmp_path, "[defaults]\ndecimals = 2\n", answers)
    assert [i["ok"] for i in items] == [False, False, True, False, True]


def test_a_purely_relative_tolerance_is_why_decimals_exist(bpcli, tmp_path):
    # the example: at rel_tol 1e-2, 0.39 (0.8 % off) is right but -0.2 (1.7 % off)
    # is wrong, though both are the slides' two-decimal answers
    items = grade_neuron(bpcli, tmp_path, "", AS_THE_SLIDES_ROUND, "--rel-tol", "1e-2")
    assert [i["ok"] for i in items] == [False, True, True, True, False]


def test_the_command_line_replaces_the_sets_tolerance(bpcli, tmp_path):
    loose = "[defaults]\nrel_tol = 0.1\n"
    assert [i["ok"] for i in grade_neuron(bpcli, tmp_path, loose)] == [True] * 5
    tight = grade_neuron(bpcli, tmp_path, loose, AS_THE_SLIDES_ROUND, "--rel-tol", "1e-6")
    assert [i["ok"] for i in tight] == [False] * 5


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--rel-tol", "nan"), "--rel-tol must be a number"),
        (("--rel-tol", "2"), "--rel-tol: must be at most 1"),
        (("--abs-tol", "-1"), "--abs-tol: must not be negative"),
        (("--abs-tol", "1e300"), "--abs-tol: must be at most 0.5"),  # it gave full marks
        (("--decimals", "16"), "--decimals: must be a whole number from 0 to 15, got 16"),
        (("--sig-figs", "0"), "--sig-figs: must be a whole number from 1 to 17, got 0"),
    ],
)
def test_bad_tolerance_options(bpcli, options, message):
    run = bpcli("check", "--problems", str(SET), str(SUBMISSIONS[0]), *options)
    assert run.code == 2 and message in run.stderr and run.stdout == ""


def test_an_absolute_tolerance_is_at_most_half_a_unit():
    """abs_tol 0.5 accepts what rounds to the right whole number (2.4 or 2.5 for 2, not
    2.6); more would accept a wrong whole number, and 1e300 any answer (issue 17, as
    rel_tol is bounded at 1)."""
    answer = "[problem.answer]\noutput = {got}\n"
    base = "[[problem]]\nexpr = 'x'\nvalues = {{ x = 2 }}\nabs_tol = {tol}\n" + answer
    for got, ok in ((2.4, True), (2.5, True), (2.6, False)):
        (problem,) = loads(base.format(tol=0.5, got=got)).problems
        assert check([ProblemSet("t", "toml", {}, [problem])]).all_right is ok, got
    for tol in (0.6, 1e300):
        (problem,) = loads(base.format(tol=tol, got=3)).problems
        assert isinstance(problem, Invalid)
        assert "problem 1: abs_tol: must be at most 0.5" in str(problem), str(problem)


def test_bad_rounding_settings_cost_their_problem():
    (problem,) = loads(NEURON + "decimals = 2.5\n").problems
    assert "decimals: must be a whole number from 0 to 15, got 2.5" in str(problem)
    (problem,) = loads(NEURON + "sig_figs = true\n").problems
    assert "sig_figs: must be a whole number from 1 to 17, got True" in str(problem)


# ---- Gradescope ---------------------------------------------------------------------------


def gradescope_of(bpcli, tmp_path, submission, *options):
    target = tmp_path / "results.json"
    run = bpcli(
        "check", "--problems", str(SET), str(submission), "--gradescope", str(target), *options
    )
    assert run.code in (0, 1), run.stderr
    return json.loads(target.read_text()), target.read_text()


@pytest.mark.parametrize("visibility", sorted(GRADESCOPE_VISIBILITY))
def test_gradescope_results_follow_the_documented_fields(bpcli, tmp_path, visibility):
    bob = GRADING / "submissions" / "bob.toml"
    results, _ = gradescope_of(bpcli, tmp_path, bob, "--visibility", visibility)
    assert set(results) <= GRADESCOPE_FIELDS
    assert results["visibility"] == visibility
    assert results["stdout_visibility"] == "hidden"  # stdout has the full report
    assert results["score"] == pytest.approx(TOTALS["bob"])
    names = [t["name"] for t in results["tests"]]
    assert len(names) == len(set(names)) == 4 + 4 + 4  # one per item asked
    by_problem: dict[str, list] = {}
    for test in results["tests"]:
        assert set(test) <= GRADESCOPE_TEST_FIELDS
        assert test["visibility"] == visibility
        assert isinstance(test["score"], float) and isinstance(test["max_score"], float)
        by_problem.setdefault(test["tags"][0], []).append(test)
    # score and max_score per problem: the items' shares add up to the problem's points
    sums = {
        k: (sum(t["score"] for t in v), sum(t["max_score"] for t in v))
        for k, v in by_problem.items()
    }
    assert sums == {
        "problem lecture": (pytest.approx(3), pytest.approx(3)),
        "problem gates": (pytest.approx(1), pytest.approx(2)),
        "problem step": (pytest.approx(1), pytest.approx(1)),
    }
    assert {t["name"]: t["status"] for t in by_problem["problem gates"]} == {
        "problem gates: grad.x": "passed",
        "problem gates: grad.y": "passed",
        "problem gates: grad.z": "failed",
        "problem gates: grad.w": "failed",
    }


def test_hide_expected_leaks_no_expected_number(bpcli, tmp_path):
    # the neuron's gradients (by hand, see NEURON) answered two of five right
    neuron = tmp_path / "set.toml"
    neuron.write_text(NEURON)
    sub = tmp_path / "sub.toml"
    sub.write_text(SLIDES.format("w0 = -0.196612, x0 = 0.393224, w1 = 0.39, x1 = 0.59, w2 = -0.2"))
    expected = ["196612", "393224", "589836"]  # -0.196612, 0.393224, -0.393224, …
    target = tmp_path / "results.json"

    def results(*options):
        run = bpcli(
            "check", "--problems", str(neuron), str(sub), "--gradescope", str(target), *options
        )
        assert run.code == 1, run.stderr
        return target.read_text()

    shown = results()
    assert all(number in shown for number in expected)  # the search finds them when shown
    hidden = results("--hide-expected")
    for number in expected:
        assert number not in hidden, number
    tests = json.loads(hidden)["tests"]
    assert [t["output"] for t in tests] == [
        "grad.w0: right",
        "grad.x0: right",
        "grad.w1: wrong",
        "grad.x1: wrong",
        "grad.w2: wrong",
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            ("--visibility", "hidden"),
            "--visibility is for the Gradescope results: add --gradescope",
        ),
        (("--hide-expected",), "--hide-expected is for the Gradescope results: add --gradescope"),
        (("--gradescope", "r.json", "--visibility", "later"), "--visibility is visible, hidden,"),
    ],
)
def test_gradescope_options_misused(bpcli, tmp_path, options, message):
    options = tuple(str(tmp_path / o) if o == "r.json" else o for o in options)
    run = bpcli("check", "--problems", str(SET), str(SUBMISSIONS[0]), *options)
    assert run.code == 2 and message in run.stderr


# ---- what students really submit ------------------------------------------------------------


def grade_text(bpcli, tmp_path, data: bytes, name="sub.toml"):
    sub = tmp_path / name
    sub.write_bytes(data)
    run = bpcli("check", "--problems", str(SET), str(sub), "--json")
    student = json.loads(run.stdout)["students"][0]
    items = {(p["id"], i["field"]): i for p in student["problems"] for i in p["items"]}
    return run, student, items


LEFTOVERS = (
    'student = "lee"\n'
    "\n"
    "[[problem]]\n"
    'id = "lecture"\n'
    "[problem.answer]\n"
    'output = "-12"\n'  # a number written as a string: read as that number
    'grad = { x = -4, y = ?, z = "three" }\n'  # line 7: a leftover ?, a word
    "\n"
    "[[problem]]\n"
    'id = "step"\n'
    "[problem.answer]\n"
    "output = ?\n"  # line 12
    "grad = { x = 7 }\n"
    "update = { x = true }\n"
    "new_output = 7.59\n"
)


def test_a_leftover_question_mark_or_a_string_costs_only_its_item(bpcli, tmp_path):
    run, student, items = grade_text(bpcli, tmp_path, LEFTOVERS.encode())
    assert run.code == 1  # graded: wrong answers, not a file that cannot be read
    # lecture: output and grad.x right of four (3 points); step: grad.x, new_output of four
    assert student["score"] == pytest.approx(3 * 2 / 4 + 1 * 2 / 4)
    assert items[("lecture", "output")]["ok"] and items[("lecture", "grad.x")]["ok"]
    sub = tmp_path / "sub.toml"
    assert items[("lecture", "grad.y")]["hint"] == (
        f"answer.grad.y: replace the ? with your answer ({sub}, line 7)"
    )
    assert items[("lecture", "grad.z")]["hint"] == (
        f"answer.grad.z: write a number such as -0.5 without quotes, not 'three' ({sub}, line 7)"
    )
    assert items[("step", "output")]["hint"] == (
        f"answer.output: replace the ? with your answer ({sub}, line 12)"
    )
    assert "must be a number, got True" in items[("step", "update.x")]["hint"]
    assert items[("step", "new_output")]["ok"] and items[("step", "grad.x")]["ok"]


def test_a_byte_order_mark_and_crlf_lines_are_read(bpcli, tmp_path):
    bom = b"\xef\xbb\xbf" + LEFTOVERS.replace("\n", "\r\n").encode()
    run, student, items = grade_text(bpcli, tmp_path, bom)
    assert student["student"] == "lee" and student["error"] is None
    assert student["score"] == pytest.approx(3 * 2 / 4 + 1 * 2 / 4)
    assert items[("step", "output")]["hint"].endswith("line 12)")
    # a set with a mark, and an expression --file with one (f = x*y: df/dx = y = 3)
    problems = tmp_path / "set.toml"
    problems.write_bytes(b"\xef\xbb\xbf" + SET.read_bytes())
    assert bpcli("check", "--problems", str(problems), str(SUBMISSIONS[0])).code == 0
    program = tmp_path / "f.txt"
    program.write_bytes(b"\xef\xbb\xbfx*y\r\n")
    run = bpcli("grad", "--file", str(program), "--x", "2", "--y", "3", "--json")
    assert run.code == 0 and json.loads(run.stdout)["gradients"] == {"x": 3.0, "y": 2.0}


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"%PDF-1.4 \xe2\xe3\xcf\xd3", "not UTF-8 text"),
        (b"this is my homework\n", "not valid TOML: Expected '=' after a key"),
        (b'[[problem]]\nid = "lecture"\nanswer = {\n', "(at line 3, column 11)"),
    ],
)
def test_a_file_that_is_not_toml_scores_0_of_the_sets_total(bpcli, tmp_path, data, error):
    run, student, _ = grade_text(bpcli, tmp_path, data)
    assert run.code == 2 and error in student["error"] and str(tmp_path) in student["error"]
    assert (student["score"], student["max_score"]) == (0, 6)


def test_an_empty_file_answers_nothing(bpcli, tmp_path):
    run, student, _ = grade_text(bpcli, tmp_path, b"")
    assert run.code == 1 and student["error"] is None
    assert (student["score"], student["max_score"]) == (0, 6)
    assert any("no problems: every problem of the set scores 0" in n for n in student["notes"])


# ---- the handout ------------------------------------------------------------------------------

KEYED_SET = """# Quiz 2 (the instructor's copy)
[defaults]
rel_tol = 1e-6   # as the instructor writes it
abs_tol = 0.5e-9

# Problem one: the lecture.
[[problem]]
id = "one"
expr = "q = x + y; f = q * z"
values = { x = -2.0, y = 5, z = -4 }
statement = "Backpropagate f = (x + y)z."
ask = ["grad", "nodes"]

[problem.answer]   # the key: must not reach the students
grad = { x = -4, y = -4, z = 3 }
nodes = { q = 3 }

# Problem two: an update step.
[[problem]]
id = "two"
expr = "x*x + x"
values = { x = 3 }
lr = 1e-1
answer = { output = 12 }
"""


def test_the_handout_keeps_the_sets_text_and_asks_every_item(bpcli, tmp_path):
    source = tmp_path / "quiz.toml"
    source.write_text(KEYED_SET)
    run = bpcli("key", "--blank", str(source))
    assert run.code == 0, run.stderr
    sheet = run.stdout
    for kept in [
        "# Quiz 2 (the instructor's copy)",
        "rel_tol = 1e-6   # as the instructor writes it",
        "abs_tol = 0.5e-9",
        "values = { x = -2.0, y = 5, z = -4 }",
        'statement = "Backpropagate f = (x + y)z."',
        "lr = 1e-1",
    ]:
        assert kept in sheet.splitlines(), kept
    assert "the key" not in sheet and "x = -4, y" not in sheet and "output = 12" not in sheet
    # the comment before problem two stays before it, after problem one's blanks
    assert "nodes = { q = ? }\n\n# Problem two: an update step.\n[[problem]]" in sheet
    assert sheet.endswith(
        "[problem.answer]\noutput = ?\ngrad = { x = ? }\nupdate = { x = ? }\nnew_output = ?\n"
    )
    handout = tmp_path / "kim.toml"
    handout.write_text(sheet)
    # handed in as it is: every item costs itself, the file still reads
    run = bpcli("check", "--problems", str(source), str(handout), "--json")
    assert run.code == 1
    items = [i for p in json.loads(run.stdout)["problems"] for i in p["items"]]
    assert len(items) == 4 + 4 and all("replace the ? with your answer" in i["hint"] for i in items)
    # filled in with the hand-worked answers: f = (x+y)z, q = 3; x*x + x at 3, lr 0.1
    answers = iter(["-4", "-4", "3", "3", "12", "7", "2.3", "7.59"])
    filled = "".join(
        next(answers) if c == "?" else c for c in sheet.replace("# Replace each ?", "#")
    )
    handout.write_text(filled)
    assert bpcli("check", "--problems", str(source), str(handout)).code == 0


def test_a_json_set_gets_a_json_handout(bpcli, tmp_path):
    source = tmp_path / "quiz.json"
    source.write_text(
        json.dumps({"problem": [{"id": "a", "expr": "x*y", "values": {"x": 2, "y": 3}}]})
    )
    run = bpcli("key", "--blank", str(source))
    assert run.code == 0
    assert json.loads(run.stdout)["problem"][0]["answer"] == {
        "output": "?",
        "grad": {"x": "?", "y": "?"},
    }


def test_the_handout_options(bpcli, tmp_path):
    run = bpcli("key", "--blank", "--solutions", str(SET))
    assert (
        run.code == 2 and "--blank writes the handout, --solutions the solution sheet" in run.stderr
    )
    run = bpcli("key", "--blank", str(SET), "--output", str(tmp_path / "h.json"))
    assert run.code == 2 and "the handout keeps the set's own text, so it is TOML" in run.stderr
    (problem,) = loads("[[problem]]\nexpr = 'x'\nstatement = 3\n").problems
    assert "statement: must be text" in str(problem)


# ---- hints from a mistake model ---------------------------------------------------------------


def hint_for(expr, values, field, got, lr=None):
    table = ", ".join(f"{name} = {value}" for name, value in values.items())
    text = f"[[problem]]\nexpr = {json.dumps(expr)}\nvalues = {{ {table} }}\n"
    if lr is not None:
        text += f"lr = {lr}\n"
    kind, _, name = field.partition(".")
    text += f"[problem.answer]\n{kind} = {{ {name} = {got} }}\n"
    (problem,) = loads(text).problems
    assert isinstance(problem, Problem), problem
    (item,) = grade(problem, "t").items
    assert not item.ok
    return item.hint


LECTURE = ("q = x + y; f = q * z", {"x": -2, "y": 5, "z": -4})


@pytest.mark.parametrize(
    ("problem", "field", "got", "hint"),
    [
        # x - lr * df/dx = -2 - 0.1 * -4 = -1.6; the wrong way: -2 + 0.1 * -4 = -2.4
        (
            (*LECTURE, 0.1), "update.x", -2.4,
            "the update step goes against the gradient: x - lr · ∂f/∂x = -2 - 0.1 · -4 = -1.6,"
            " not -2 + 0.1 · -4",
        ),
        # df/dx = dq/dx * df/dq = 1 * -4; the local gradient alone: 1
        (
            (*LECTURE, None), "grad.x", 1,
            "add gate q: x gets the upstream gradient -4 times the local gradient 1 = -4;"
            " the upstream gradient was left out",
        ),
        # the add gate's -4 split between its two inputs: -2
        (
            (*LECTURE, None), "grad.x", -2,
            "add gate q is a gradient distributor: every input gets the whole upstream gradient"
            " -4, not a share of it split 2 ways",
        ),
        # f = 2 exp(x) at 1: df/dx = 2e; the upstream 2 passed on without exp's local e
        (
            ("2 * exp(x)", {"x": 1}, None), "grad.x", 2,
            "exp gate exp1 (exponential): x gets the upstream gradient 2 times the local gradient"
            " 2.71828; the local gradient was left out",
        ),
        # f = -(x*y) * 2 at 2, 3: df/dx = -2y = -6; the neg gate's minus flipped: 6 (the
        # neg gate sends -2 back to x*y, whose local gradient for x is y = 3)
        (
            ("-(x*y) * 2", {"x": 2, "y": 3}, None), "grad.x", 6,
            "neg gate neg1 passes the gradient to mul1 with a minus (mul1 gets -2): the sign was"
            " flipped there",
        ),
        # f = (x - y)z at 1, 2, 3: df/dy = -z = -3; flipped at the sub gate: 3
        (
            ("(x - y) * z", {"x": 1, "y": 2, "z": 3}, None), "grad.y", 3,
            "sub gate sub1 passes the gradient to y with a minus (y gets -3): the sign was"
            " flipped there",
        ),
    ],
)  # fmt: skip
def test_each_mistake_model_names_its_gate(problem, field, got, hint):
    expr, values, lr = problem
    assert hint_for(expr, values, field, got, lr) == hint


@pytest.mark.parametrize(
    ("expr", "values", "field", "got"),
    [
        # (x+y)z has neither a sub nor a neg gate: -df/dx = 4 is no sign flipped at one
        ("(x+y)*z", {"x": -2, "y": 5, "z": -4}, "grad.x", 4),
        ("(x+y)*z", {"x": -2, "y": 5, "z": -4}, "grad.z", -3),
        ("(x+y)*z", {"x": -2, "y": 5, "z": -4}, "grad.x", 17),  # matches no model at all
        ("x*x + x", {"x": 3}, "grad.x", 100),
        # two models give 3 for -(x*y): the neg's sign flipped, and the upstream -1 left out
        ("-(x*y)", {"x": 2, "y": 3}, "grad.x", 3),
    ],
)
def test_no_hint_for_a_number_no_model_gives(expr, values, field, got):
    assert hint_for(expr, values, field, got) is None


def test_an_answer_to_an_item_the_set_does_not_ask_is_said_to_be_ignored(tmp_path, bpcli):
    """The set's `gates` problem asks for grad only: a submission that also answers its
    output (2*(3*-4 + max(2, -1)) = -20, right) gains nothing and is told so."""
    submission = tmp_path / "eve.toml"
    submission.write_text(
        '[[problem]]\nid = "gates"\n[problem.answer]\noutput = -20\n'
        "grad = { x = -8, y = 6, z = 2, w = 0 }\n"  # d/dx 2xy = 2y, d/dy = 2x, max routes to z
    )
    run = bpcli("check", "--problems", str(SET), str(submission), "--json")
    report = json.loads(run.stdout)
    (student,) = report["students"]
    gates = next(p for p in student["problems"] if p["id"] == "gates")
    assert gates["score"] == 2.0  # every asked item right: the whole problem
    assert [i["field"] for i in gates["items"]] == ["grad.x", "grad.y", "grad.z", "grad.w"]
    assert (
        "problem gates: answer output is not asked for by the problem set; ignored"
        in student["notes"]
    )


def test_a_json_handout_keeps_the_sets_numbers_as_written(bpcli, tmp_path):
    """As the TOML handout does: `1e-3`, `2.50` and `-0` stay as the instructor wrote them."""
    source = tmp_path / "quiz.json"
    source.write_text(
        '{"problem": [{"id": "a", "expr": "x*y", "lr": 1e-3,\n'
        ' "values": {"x": 2.50, "y": -0}, "statement": "x is 1e-3"}]}\n'
    )
    run = bpcli("key", "--blank", str(source))
    assert run.code == 0
    assert '"lr": 1e-3' in run.stdout and '"x": 2.50' in run.stdout and '"y": -0' in run.stdout
    problem = json.loads(run.stdout)["problem"][0]
    assert problem["statement"] == "x is 1e-3"  # text is text
    assert problem["values"] == {"x": 2.5, "y": 0}


def test_each_problem_of_the_set_is_worked_once_for_a_whole_class(monkeypatch):
    """Grading a class: the set's passes are made once a problem, not once a student, and
    every student still gets their own score (the hand-worked TOTALS above)."""
    import bpcli.check as checking
    from bpcli.check import check_submissions
    from bpcli.problems import load_submission

    worked: list[str] = []
    result_of = checking.result_of

    def counted(problem, max_tie=None):
        worked.append(problem.id)
        return result_of(problem, max_tie)

    monkeypatch.setattr(checking, "result_of", counted)
    answer_key = load(SET)
    subs = [load_submission(path) for path in SUBMISSIONS]
    report = check_submissions(answer_key, subs)
    assert sorted(worked) == sorted(p.id for p in answer_key.problems)
    assert {s.id: s.score for s in report.students} == pytest.approx(TOTALS)


PRECISE = """
[[problem]]
id = "1"
expr = "x * y + z + w + v + u"
values = { x = 0.11, y = 0.17, z = 0, w = 0, v = 0, u = 0 }
[problem.answer]
output = 0.0187
grad = { x = 0.17, y = 0.11, z = 1, u = 2 }
"""


def test_precision_17_shows_what_was_submitted_as_written_and_no_noise_in_scores(
    bpcli, tmp_path, monkeypatch
):
    """0.0187 as the file writes it, not 0.018700000000000001 (the float's 17 digits);
    4 of 5 items right is 0.8, not 0.80000000000000004; --precision still governs what
    bpcli computes (0.11·0.17 is the float 0.018700000000000001)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hw.toml").write_text(PRECISE)
    lines = bpcli("check", "hw.toml", "--precision", "17").stdout.splitlines()
    assert lines[2] == "problem 1  hw.toml  0.8 / 1"
    output = next(line.split() for line in lines if line.strip().startswith("output"))
    assert output[:3] == ["output", "0.0187", format(0.11 * 0.17, ".17g")]
    grad_x = next(line.split() for line in lines if line.strip().startswith("grad.x"))
    assert grad_x[1] == "0.17"
    assert "score 0.8 / 1  (0 of 1 problems all right)" in lines
    third = PRECISE.replace("u = 2", "u = 2, v = 5")  # 4 of 6 right: 2/3 to 17 digits at most
    (tmp_path / "hw.toml").write_text(third)
    lines = bpcli("check", "hw.toml", "--precision", "17").stdout.splitlines()
    assert lines[2] == f"problem 1  hw.toml  {4 / 6!r} / 1"


def test_the_shortest_form_reads_back_as_the_number():
    from bpcli.render.numbers import fmt_shortest

    assert [fmt_shortest(v) for v in (0.0187, 0.8, 4.0, 1e-300, 0.1 + 0.2, 0.0)] == [
        "0.0187", "0.8", "4", "1e-300", "0.30000000000000004", "0"
    ]  # fmt: skip
    assert fmt_shortest(2 / 3, 6) == "0.666667" and fmt_shortest(0.75, 6) == "0.75"
    assert [fmt_shortest(v, 6) for v in (10.0, 120.0, 1e8)] == ["10", "120", "1e+08"]
