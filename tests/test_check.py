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
from bpcli.problems import Problem, load, loads, tomllib
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
        "homework.toml: problem 5: point: unknown key (the keys are id, points, expr, values, lr, rel_tol, abs_tol, max_tie, answer)"
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
    run = bpcli("check", str(source), "--json", "--gradescope", str(results))
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
        run = bpcli("check", str(source), "--gradescope", str(spelling))
        assert run.code == 2
        assert "writing it would replace the input; give another file" in run.stderr
        assert source.read_text() == TIED + SPLIT and not source.is_symlink()
    other = tmp_path / "other.toml"
    other.write_text(TIED + SPLIT)
    assert bpcli("check", str(other), str(source), "--gradescope", str(source)).code == 2
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


def test_an_existing_output_is_replaced_with_its_mode_and_link_kept(bpcli, tmp_path):
    """--output and --gradescope say they replace the file: it is replaced whole."""
    source = tmp_path / "hw.toml"
    source.write_text(TIED + SPLIT)
    target = tmp_path / "results.json"
    target.write_text("old " * 10_000)
    target.chmod(0o640)
    link = tmp_path / "results-link.json"
    link.symlink_to(target)
    assert bpcli("check", str(source), "--gradescope", str(link)).code == 0
    assert link.is_symlink()
    assert json.loads(target.read_text())["score"] == 1.0
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == [
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
