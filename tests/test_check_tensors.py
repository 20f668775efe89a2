"""check, key, quiz and batch over vectors and matrices (issue 13), against hand-worked
numbers: CS231n's f = ||W x||^2 (∂f/∂W = 2q·xᵀ, ∂f/∂x = 2Wᵀq) and a bias broadcast over
rows (∂f/∂b: the column sums of the upstream gradient)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bpcli.check import check, check_submissions
from bpcli.problems import loads, submission
from bpcli.quiz import quiz

SET = """
[[problem]]
id = "1"
expr = "q = W @ x; f = sum(q^2)"
values = { W = [[0.1, 0.5], [-0.3, 0.8]], x = [0.2, 0.4] }
ask = ["output", "grad", "nodes"]

[[problem]]
id = "2"
expr = "f = sum((X + b) * G)"
values = { X = [[0, 1, 2], [3, 4, 5]], b = [1, 2, 3], G = [[1, 1, 1], [2, 2, 2]] }
ask = ["grad"]
"""
# by hand: q = W x = [0.22, 0.26]; f = 0.0484 + 0.0676; 2q = [0.44, 0.52]
RIGHT_1 = {
    "output": 0.116,
    "grad.W": [[0.088, 0.176], [0.104, 0.208]],
    "grad.x": [-0.112, 0.636],
    "nodes.q": [0.22, 0.26],
}
# ∂f/∂X = G; ∂f/∂b = G's column sums; ∂f/∂G = X + b
RIGHT_2 = {"grad.X": [[1, 1, 1], [2, 2, 2]], "grad.b": [3, 3, 3], "grad.G": [[1, 3, 5], [4, 6, 8]]}


def graded(answers: str, tolerance: str = ""):
    problems = loads(SET.replace('ask = ["grad"]', f'ask = ["grad"]\n{tolerance}'), "hw.toml")
    sub = submission(answers, "kim.toml", "kim")
    return {i.field: i for p in check_submissions(problems, [sub]).problems for i in p.items}


def test_the_right_answers_are_right_and_the_key_is_the_hand_worked_one():
    for problem in check_submissions(loads(SET), [submission(KEY_TEXT, "k.toml", "k")]).problems:
        assert problem.passed, [i for i in problem.items if not i.ok]
    items = graded(KEY_TEXT)
    for field, want in {**RIGHT_1, **RIGHT_2}.items():
        np.testing.assert_allclose(items[field].expected, want, rtol=1e-12, atol=1e-15)


KEY_TEXT = """
[[problem]]
id = "1"
[problem.answer]
output = 0.116
grad = { W = [[0.088, 0.176], [0.104, 0.208]], x = [-0.112, 0.636] }
nodes = { q = [0.22, 0.26] }

[[problem]]
id = "2"
[problem.answer]
grad = { X = [[1, 1, 1], [2, 2, 2]], b = [3, 3, 3], G = [[1, 3, 5], [4, 6, 8]] }
"""


def test_elementwise_under_the_problem_s_tolerance():
    near = KEY_TEXT.replace("b = [3, 3, 3]", "b = [3.001, 3, 2.999]")
    assert not graded(near)["grad.b"].ok
    assert graded(near, "rel_tol = 1e-3")["grad.b"].ok
    item = graded(KEY_TEXT.replace("x = [-0.112, 0.636]", "x = [-0.112, 0.6]"))["grad.x"]
    assert not item.ok
    assert item.hint.startswith("1 of 2 elements wrong; the first at [1]: submitted 0.6")


def test_a_transposed_gradient_is_said_to_be_the_transpose():
    item = graded(
        KEY_TEXT.replace("[[0.088, 0.176], [0.104, 0.208]]", "[[0.088, 0.104], [0.176, 0.208]]")
    )["grad.W"]
    assert not item.ok and item.hint.startswith("this is the transpose: ∂f/∂W has W's shape (2, 2)")
    wide = graded(KEY_TEXT.replace("G = [[1, 3, 5], [4, 6, 8]]", "G = [[1, 4], [3, 6], [5, 8]]"))
    assert (
        wide["grad.G"].hint == "this is the transpose: ∂f/∂G must have G's shape (2, 3), not (3, 2)"
    )
    q = graded(KEY_TEXT.replace("q = [0.22, 0.26]", "q = [[0.22], [0.27]]"))["nodes.q"]
    assert q.hint == "q has shape (2,), not (2, 1)"


def test_the_right_numbers_in_another_shape_are_said_to_be():
    column = graded(KEY_TEXT.replace("q = [0.22, 0.26]", "q = [[0.22], [0.26]]"))["nodes.q"]
    assert column.hint == "the right numbers in the wrong shape: q has shape (2,), not (2, 1)"
    flat = KEY_TEXT.replace("[[0.088, 0.176], [0.104, 0.208]]", "[0.088, 0.176, 0.104, 0.208]")
    assert graded(flat)["grad.W"].hint == (
        "the right numbers in the wrong shape: ∂f/∂W must have W's shape (2, 2), not (4,)"
    )


def test_a_wrong_shape_is_wrong_with_both_shapes():
    items = graded(KEY_TEXT.replace("x = [-0.112, 0.636]", "x = [-0.112, 0.636, 0]"))
    assert items["grad.x"].hint == (
        "∂f/∂x must have x's shape (2,) (a gradient has its variable's shape), not (3,)"
    )
    data = items["grad.x"].to_dict()
    assert (data["expected_shape"], data["got_shape"], data["ok"]) == ([2], [3], False)
    scalar = graded(KEY_TEXT.replace("output = 0.116", "output = [0.116]"))["output"]
    assert scalar.hint == "the right numbers in the wrong shape: f has shape (), not (1,)"
    other = graded(KEY_TEXT.replace("output = 0.116", "output = [0.5, 0.116]"))["output"]
    assert other.hint == "f has shape (), not (2,)"


def test_a_bias_gradient_not_summed_over_the_rows():
    items = graded(KEY_TEXT.replace("b = [3, 3, 3]", "b = [[1, 1, 1], [2, 2, 2]]"))
    assert items["grad.b"].hint == (
        "b (3,) was broadcast to (2, 3): ∂f/∂b is that gradient summed over the broadcast"
        " rows, back to b's shape (3,)"
    )


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ("[[1, 1], [2]]", "answer.grad.X: the submitted ∂f/∂X is ragged: [1] is a list of 1"),
        ('[[1, "one", 1], [2, 2, 2]]', "answer.grad.X[0][1]: write a number such as -0.5"),
        ("[[[1]]]", "answer.grad.X: the submitted ∂f/∂X is nested too deep"),
        ("[" * 50 + "]" * 50, "answer.grad.X: the submitted ∂f/∂X is nested too deep"),
        ("[]", "answer.grad.X: the submitted ∂f/∂X is empty"),
        ("true", "answer.grad.X: must be a number"),
    ],
)
def test_a_bad_array_costs_that_item_only(answer, message):
    items = graded(KEY_TEXT.replace("X = [[1, 1, 1], [2, 2, 2]]", f"X = {answer}"))
    assert not items["grad.X"].ok and items["grad.X"].hint.startswith(message)
    assert items["grad.b"].ok and items["grad.G"].ok


def test_a_bad_answer_array_says_what_it_is_in_a_submission_and_in_a_self_check():
    nodes = graded(KEY_TEXT.replace("q = [0.22, 0.26]", "q = [[0.22], 0.26]"))
    assert nodes["nodes.q"].hint == (
        "answer.nodes.q: the submitted q is ragged: [1] is a number but [0] is a list of 1"
        " (every row of a matrix has the same length) (kim.toml)"
    )
    answered = SET.replace('ask = ["grad"]\n', "lr = 0.5\n") + (
        "[problem.answer]\nupdate = { X = [[1, 1], [2]] }\nnew_output = [[1], []]\n"
    )
    update = str(loads(answered, "hw.toml").problems[1])
    assert update.startswith(
        "hw.toml: problem 2: answer.update.X: the submitted updated X is ragged: [1] is a"
        " list of 1 but [0] is a list of 2"
    )
    new = answered.replace("update = { X = [[1, 1], [2]] }\n", "")
    assert str(loads(new, "hw.toml").problems[1]).startswith(
        "hw.toml: problem 2: answer.new_output: the element [1] is empty"
    )
    new = new.replace("[[1], []]", "[]")
    assert str(loads(new, "hw.toml").problems[1]).startswith(
        "hw.toml: problem 2: answer.new_output: the submitted new f is empty"
    )


def test_a_submission_nested_past_the_reader_s_depth_is_its_file_s_error():
    deep = KEY_TEXT.replace("X = [[1, 1, 1], [2, 2, 2]]", "X = " + "[" * 5000 + "]" * 5000)
    sub = submission(deep, "kim.toml", "kim")
    assert sub.error is not None and "nested too deeply" in sub.error


def test_a_ragged_value_in_the_set_is_that_problem_s_error():
    problems = loads(SET.replace("b = [1, 2, 3]", "b = [[1, 2], [3]]"), "hw.toml")
    assert str(problems.problems[1]).startswith("hw.toml: problem 2: values.b: is ragged")
    report = check([problems])
    assert report.invalid and report.problems[0].error is None


def test_a_scalar_problem_given_a_list_says_the_shape():
    problems = loads('[[problem]]\nexpr = "x*y"\nvalues = { x = 2, y = 3 }\nask = ["grad"]\n')
    sub = submission(
        '[[problem]]\nid = "1"\n[problem.answer]\ngrad = { x = [3, 3], y = 2 }\n', "s", "s"
    )
    (problem,) = check_submissions(problems, [sub]).problems
    x, y = problem.items
    assert (x.ok, x.hint, y.ok) == (
        False,
        "∂f/∂x must have x's shape () (a gradient has its variable's shape), not (2,)",
        True,
    )


# ---- the command line --------------------------------------------------------------------


@pytest.fixture
def homework(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hw.toml").write_text(SET)
    wrong = KEY_TEXT.replace("b = [3, 3, 3]", "b = [[1, 1, 1], [2, 2, 2]]")
    (tmp_path / "kim.toml").write_text('student = "kim"\n' + wrong)
    return tmp_path


def test_check_s_outputs_carry_the_tensors(bpcli, homework):
    text = bpcli("check", "--problems", "hw.toml", "kim.toml")
    assert text.code == 1
    assert "  grad.b  [[1, 1, 1], [2, 2, 2]]               [3, 3, 3]  ✗ wrong" in text.stdout
    data = json.loads(bpcli("check", "--problems", "hw.toml", "kim.toml", "--json").stdout)
    items = {i["field"]: i for p in data["problems"] for i in p["items"]}
    assert items["grad.b"]["got"] == [[1, 1, 1], [2, 2, 2]] and items["grad.b"]["got_shape"] == [
        2,
        3,
    ]
    np.testing.assert_allclose(items["grad.W"]["expected"], RIGHT_1["grad.W"])
    run = bpcli(
        "check", "--problems", "hw.toml", "kim.toml", "--gradescope", "gs.json", "--csv", "g.csv"
    )
    assert run.code == 1
    tests = {t["name"]: t for t in json.loads((homework / "gs.json").read_text())["tests"]}
    assert tests["problem 2: grad.b"]["output"].startswith(
        "grad.b: wrong, submitted [[1, 1, 1], [2, 2, 2]], expected [3, 3, 3] (b (3,) was broadcast"
    )
    assert (homework / "g.csv").read_text().splitlines()[
        1
    ] == "kim,1,0.6666666666666666,1.6666666666666665,2"


def test_key_writes_the_tensor_answer_key_and_refuses_the_sheet(bpcli, homework):
    key = bpcli("key", "hw.toml")
    assert key.code == 0
    solved = loads(key.stdout).problems
    np.testing.assert_allclose(solved[0].answer.grad["W"], RIGHT_1["grad.W"], rtol=1e-12)
    np.testing.assert_allclose(solved[1].answer.grad["b"], [3, 3, 3])
    assert check([loads(key.stdout)]).all_right
    blank = bpcli("key", "hw.toml", "--blank")
    assert "grad = { W = ?, x = ? }" in blank.stdout
    sheet = bpcli("key", "hw.toml", "--solutions")
    assert (sheet.code, sheet.stderr) == (
        2,
        "error: key --solutions does not write tensors yet (vectors and matrices)\n",
    )


# ---- quiz --tensors ----------------------------------------------------------------------


def _numpy_program(expr: str, values: dict) -> float:
    """The template run by NumPy itself (Python's own parser: ; and @ and .T are Python's)."""
    scope = {"sum": np.sum, "max": np.maximum, "relu": lambda v: np.maximum(v, 0)}
    scope.update({k: np.array(v, dtype=float) for k, v in values.items()})
    *statements, last = expr.split(";")
    for statement in statements:
        exec(statement.strip(), scope)
    last = last.strip()
    body = last.partition(" = ")[2] if " = " in last else last
    return float(eval(body, scope))


@pytest.mark.parametrize("seed", range(12))
def test_a_tensor_quiz_is_small_and_its_key_is_right_by_central_differences(seed):
    text = quiz(seed, 3, ("add", "mul", "max", "relu", "sub"), key=True, tensors=True)
    assert "--tensors --key" in text.splitlines()[0]
    problems = loads(text).problems
    assert check([loads(text)]).all_right
    for problem in problems:
        for value in problem.values.values():
            assert np.shape(value) in ((2, 2), (2,))
            assert all(abs(v) <= 3 and v * 2 == round(v * 2) for v in np.ravel(value))
        assert problem.answer.output == pytest.approx(_numpy_program(problem.expr, problem.values))
        for name, grad in problem.answer.grad.items():
            base = np.array(problem.values[name], dtype=float)
            numeric = np.zeros(base.shape)
            for where in np.ndindex(base.shape):
                up, down = base.copy(), base.copy()
                up[where] += 1e-6
                down[where] -= 1e-6
                ups = _numpy_program(problem.expr, {**problem.values, name: up})
                downs = _numpy_program(problem.expr, {**problem.values, name: down})
                numeric[where] = (ups - downs) / 2e-6
            np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("seed", range(10))
def test_a_tensor_quiz_uses_each_template_once_until_they_run_out(seed):
    from bpcli.quiz import DEFAULT_OPS, TEMPLATES

    every = [text for text, used in TEMPLATES if set(used) <= set(DEFAULT_OPS)]
    drawn = [p.expr for p in loads(quiz(seed, len(every) + 2, tensors=True)).problems]
    assert sorted(drawn[: len(every)]) == sorted(every)  # every one, none twice
    assert all(text in every for text in drawn[len(every) :])
    few = [text for text, used in TEMPLATES if set(used) <= {"mul"}]  # --ops mul: four
    drawn = [p.expr for p in loads(quiz(seed, 3, ("mul",), tensors=True)).problems]
    assert len(set(drawn)) == 3 and set(drawn) <= set(few)


def test_a_tensor_quiz_of_one_op_has_that_op_and_no_depth():
    # --ops relu: a ReLU problem (and x @ W @ v, which needs no op), never a template with
    # an op not asked for; --depth is for problems over numbers, so the header omits it.
    text = quiz(1, 4, ("relu",), tensors=True)
    drawn = {p.expr for p in loads(text).problems}
    assert any("relu" in expr for expr in drawn) and drawn <= {
        "f = sum(relu(W @ x))",
        "f = x @ W @ v",
    }
    assert text.splitlines()[0] == "# bpcli quiz --seed 1 --count 4 --ops relu --tensors"
    assert "--depth 2" in quiz(1, 1).splitlines()[0]


def test_quiz_tensors_on_the_command_line(bpcli):
    first = bpcli("quiz", "--tensors", "--seed", "5", "--count", "2")
    assert (
        first.code == 0
        and first.stdout == bpcli("quiz", "--tensors", "--seed", "5", "--count", "2").stdout
    )
    assert "# grad = { " in first.stdout and "--tensors" in bpcli("quiz", "--help").stdout


# ---- batch: dout -------------------------------------------------------------------------


def test_batch_takes_dout_as_grad_does(bpcli):
    values = {"W": [[0.1, 0.5], [-0.3, 0.8]], "x": [0.2, 0.4]}
    line = json.dumps({"id": 1, "expr": "W @ x", "values": values, "dout": [1, -2]})
    lines = [
        line,
        line.replace('"id": 1', '"id": 2'),
        json.dumps({"id": 3, "expr": "W @ x", "values": values, "dout": [1, 2, 3]}),
        json.dumps({"id": 4, "expr": "W @ x", "values": values, "dout": {"a": 1}}),
    ]
    out = bpcli("batch", input="\n".join(lines) + "\n")
    first, second, wrong, bad = map(json.loads, out.stdout.splitlines())
    for answer in (first, second):
        # dout · xᵀ and Wᵀ · dout, by hand
        np.testing.assert_allclose(answer["result"]["gradients"]["W"], [[0.2, 0.4], [-0.4, -0.8]])
        np.testing.assert_allclose(answer["result"]["gradients"]["x"], [0.7, -1.1])
    assert second["id"] == 2
    assert (wrong["ok"], wrong["error"]["type"]) == (False, "DomainError")
    assert bad["error"]["message"] == "line 4: dout must be a number or an array, got an object"
    assert out.code == 1


def test_a_long_tensor_is_shown_cut_short_on_one_line():
    from bpcli.render.numbers import fmt_value

    assert fmt_value(list(range(1, 11))) == "[1, 2, 3, …, 8, 9, 10]"
    assert fmt_value([[0.1, 1 / 3]] * 7, 3) == (
        "[[0.1, 0.333], [0.1, 0.333], [0.1, 0.333], …, [0.1, 0.333], [0.1, 0.333], [0.1, 0.333]]"
    )
    assert fmt_value(-0.0) == "0" and fmt_value(None) == "—"


MULTILINE = """
[[problem]]
id = "1"
expr = "q = W @ x; f = sum(q^2)"  # [ in a comment
statement = "W [2 by 2] times x"
ask = ["grad"]

[problem.values]
W = [
  [0.1, 0.5],
  [-0.3, 0.8],
]
x = [0.2, 0.4]

[problem.answer]
output = 0.116
grad = { W = [
  [0.088, 0.176],
  [0.104, 0.208]
], x = [-0.112, 0.636] }

[[problem]]
id = "2"
expr = "sum(x)"
values = { x = [1, 2] }
answer = { grad = { x = [
  1, 1] } }
"""


def test_the_handout_of_matrices_written_a_row_a_line_holds_no_answer(bpcli, tmp_path):
    (tmp_path / "hw.toml").write_text(MULTILINE)
    handout = bpcli("key", str(tmp_path / "hw.toml"), "--blank").stdout
    assert "0.088" not in handout and "1, 1]" not in handout
    assert "W = [\n  [0.1, 0.5],\n  [-0.3, 0.8],\n]\n" in handout  # the values as written
    answered = handout.replace("grad = { W = ?, x = ? }", KEY_TEXT.split("\n")[5])
    answered = answered.replace("output = ?\ngrad = { x = ? }", "output = 3\ngrad = { x = [1, 1] }")
    sub = submission(answered, "kim.toml", "kim")
    report = check_submissions(loads(MULTILINE), [sub])
    assert report.all_right, [i for p in report.problems for i in p.items if not i.ok]


@pytest.mark.integration
def test_checking_numbers_does_not_import_numpy():
    import subprocess
    import sys
    from pathlib import Path

    docs = Path(__file__).resolve().parent.parent / "docs"
    for args in (
        ["check", "--problems", str(docs / "homework.toml"), str(docs / "submission.toml")],
        ["key", str(docs / "homework.toml")],
        ["quiz", "--seed", "1"],
    ):
        out = subprocess.run(
            [sys.executable, "-X", "importtime", "-m", "bpcli", *args],
            capture_output=True,
            text=True,
        )
        assert out.returncode in (0, 1) and "numpy" not in out.stderr, args


# ---- the mistakes a tensor gradient's hint names ------------------------------------------

MISTAKES = """
[[problem]]
id = "tie"
expr = "sum(max(W @ x, 0))"
values = { W = [[1, 2], [3, 4]], x = [1, -0.5] }
ask = ["grad"]

[[problem]]
id = "Wx"
expr = "sum(W @ x)"
values = { W = [[1, 2], [3, 4]], x = [1, -1] }
ask = ["grad"]

[[problem]]
id = "Wxv"
expr = "sum((W @ x) * v)"
values = { W = [[1, 2], [3, 4]], x = [1, -1], v = [1, -1] }
ask = ["grad"]

[[problem]]
id = "xW"
expr = "sum((x @ W) * v)"
values = { W = [[1, 2], [3, 4]], x = [1, -1], v = [1, -1] }
ask = ["grad"]
"""


def hint_for(problem: str, x: list[float]) -> str | None:
    answer = f'[[problem]]\nid = "{problem}"\nanswer = {{ grad = {{ x = {x} }} }}\n'
    report = check_submissions(loads(MISTAKES), [submission(answer, "kim.toml", "kim")])
    (graded,) = [p for p in report.problems if p.id == problem]
    (item,) = [i for i in graded.items if i.field == "grad.x"]
    assert not item.ok
    return item.hint


def test_a_tie_is_named_and_a_rounding_must_hold_for_every_wrong_element():
    """W @ x = [1·1 + 2·(-0.5), 3·1 + 4·(-0.5)] = [0, 1]: max(·, 0) ties at element [0],
    where the split rule sends 0.5 on, so ∂f/∂x = Wᵀ [0.5, 1] = [3.5, 5]. [4, 6] is
    Wᵀ [1, 1], the whole gradient to the first of the tie: not 3.5 rounded (6 is not 5
    rounded)."""
    hint = hint_for("tie", [4, 6])
    assert "rounding" not in hint
    assert hint.startswith("max gate max1 is a gradient router with a tie at max(W @ x, 0)[0]")
    assert "W @ x, 0 tie at 0, so there the gradient is split evenly among them" in hint
    # one element wrong, and it is 3.5 rounded: the rounding hint stays
    assert "4 is the right answer 3.5 rounded to 0 decimals" in hint_for("tie", [4, 5])


@pytest.mark.parametrize(
    ("problem", "x", "right", "wrong"),
    [
        ("Wx", [3, 7], "Wᵀ · g", "W · g"),  # Wᵀ·1 = [4, 6]; W·1 = [3, 7]
        ("Wxv", [-1, -1], "Wᵀ · g", "W · g"),  # Wᵀ·v = [-2, -2]; W·v = [-1, -1]
        ("xW", [-2, -2], "g · Wᵀ", "g · W"),  # (x @ W): W·v = [-1, -1]; Wᵀ·v = [-2, -2]
    ],
)
def test_the_other_input_of_matmul_multiplied_untransposed_is_named(problem, x, right, wrong):
    hint = hint_for(problem, x)
    assert hint.startswith("W used instead of Wᵀ: x is an input of "), hint
    assert f"so it gets {right} (g is the upstream gradient" in hint and hint.endswith(wrong)


def test_no_mistake_hint_for_an_answer_no_model_gives():
    assert hint_for("Wx", [5, 5]) == (
        "2 of 2 elements wrong; the first at [0]: submitted 5, expected 4"
    )


# ---- the report at a terminal's width ------------------------------------------------------

WIDE_SET = """
[[problem]]
id = "1"
expr = "f = sum(W @ x)"
values = { W = [[1, 0, 2, 1], [0.5, -1, 0, 3]], x = [1.25, -2.5, 3.75, -5.125] }
ask = ["grad"]
"""
# by hand: ∂f/∂W[i][j] = x[j], each row x; ∂f/∂x = Wᵀ·[1, 1] = W's column sums
WIDE_ANSWER = """student = "kim"
[[problem]]
id = "1"
[problem.answer]
grad = { W = [[1.25, -2.5, 3.75, -5.125], [1.25, -2.5, 3.75, 5.125]], x = [1.5, -1, 2, 4] }
"""


@pytest.mark.parametrize("width", (40, 60, 80, 120))
@pytest.mark.parametrize("lang", ("en", "ko"))
def test_the_report_fits_every_width_with_no_trailing_space(bpcli, homework, monkeypatch, width,
                                                            lang):  # fmt: skip
    """Rich wrapped the headings and values at 40 columns: a space left at a line's end,
    `1.33333 /` then `2`, a matrix row broken anywhere; bpcli breaks them itself."""
    from rich.cells import cell_len

    monkeypatch.setenv("COLUMNS", str(width))
    (homework / "wide.toml").write_text(WIDE_SET)
    (homework / "lee.toml").write_text(WIDE_ANSWER)
    for args in (("hw.toml", "kim.toml"), ("wide.toml", "lee.toml")):
        text = bpcli("check", "--lang", lang, "--problems", *args).stdout
        lines = text.splitlines()
        assert all(cell_len(line) <= width and line == line.rstrip() for line in lines), text
        # a score (`1.66667 / 2`) is never cut: no line ends or starts inside one
        assert not any(line.endswith(" /") or line.startswith("/ ") for line in lines), text


def test_at_40_columns_a_matrix_is_a_row_a_line_broken_between_elements(
    bpcli, homework, monkeypatch
):
    """Each matrix through render/arrays.py: a line per row, a row too wide broken only
    between two elements, its continuation under its first; the expected values by hand."""
    monkeypatch.setenv("COLUMNS", "40")
    (homework / "wide.toml").write_text(WIDE_SET)
    (homework / "lee.toml").write_text(WIDE_ANSWER)
    text = bpcli("check", "--problems", "wide.toml", "lee.toml").stdout
    assert (
        "problem 1  lee.toml  0.5 / 1\n"
        "  grad.W  ✗ wrong\n"
        "    submitted [[  1.25,   -2.5,   3.75,\n"
        "                -5.125],\n"
        "               [  1.25,   -2.5,   3.75,\n"
        "                 5.125]]\n"
        "    expected  [[  1.25,   -2.5,   3.75,\n"
        "                -5.125],\n"
        "               [  1.25,   -2.5,   3.75,\n"
        "                -5.125]]\n"
    ) in text, text
    assert "  grad.x  ✓ right\n    submitted [1.5, -1, 2, 4]\n" in text
