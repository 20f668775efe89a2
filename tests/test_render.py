"""Views, compared as exact text on a fixed-width, colourless console."""

from __future__ import annotations

import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

import bpcli
from bpcli.errors import ParseError
from bpcli.render.error import error_lines
from bpcli.render.numbers import fmt
from bpcli.render.table import GradView
from conftest import LECTURE
from hostile import markup_in_texts


def render(renderable, width=80):
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(renderable)
    return console.file.getvalue()


def test_lecture_table():
    result = bpcli.grad("q = x + y; f = q * z", LECTURE)
    assert render(GradView(result)) == (
        "computational graph\n"
        "node  op   text   value  ∂f/∂node\n"
        "x     var  x         -2        -4\n"
        "y     var  y          5        -4\n"
        "q     add  x + y      3        -4\n"
        "z     var  z         -4         3\n"
        "f     mul  q * z    -12         1\n"
        "\n"
        "f = -12\n"
        "∂f/∂x = -4   ∂f/∂y = -4   ∂f/∂z = 3\n"
    )


def test_lecture_update_step():
    result = bpcli.grad("(x+y)*z", LECTURE, lr=0.1)
    text = render(GradView(result))
    assert text.endswith(
        "∂f/∂x = -4   ∂f/∂y = -4   ∂f/∂z = 3\n"
        "\n"
        "update step: x := x - α·∂f/∂x with α = 0.1\n"
        "input  value  ∂f/∂input  new value\n"
        "x         -2         -4       -1.6\n"
        "y          5         -4        5.4\n"
        "z         -4          3       -4.3\n"
        "\n"
        "after the update: f = -16.34\n"
    )


@pytest.mark.parametrize("steps", [None, 3])
def test_the_update_heading_at_40_columns_ends_no_line_in_a_space(steps):
    """Rich wrapped `update step: x := x - α·∂f/∂x with α = 0.1` at 40 columns leaving a
    space at the end of its first line; the lecture's numbers (x := -2 + 0.4 = -1.6) stay."""
    options = {"steps": steps} if steps else {}
    text = render(GradView(bpcli.grad("(x+y)*z", LECTURE, lr=0.1, **options)), width=40)
    assert all(line == line.rstrip() and len(line) <= 40 for line in text.splitlines()), text
    if steps is None:
        assert "update step: x := x - α·∂f/∂x with\nα = 0.1\n" in text  # α = 0.1 kept whole
        assert "x         -2         -4       -1.6\n" in text


def test_trajectory_table():
    result = bpcli.grad("(x+y)*z", LECTURE, lr=0.1, steps=2)
    text = render(GradView(result))
    table = (
        "gradient descent: α = 0.1, 2 steps\n"
        "step      x     y      z         f\n"
        "   0     -2     5     -4       -12\n"
        "   1   -1.6   5.4   -4.3    -16.34\n"
        "   2  -1.17  5.83  -4.68  -21.8088\n"
        "\n"
        "after 2 steps: f = -21.8088\n"
        "\n"
        "f over 2 steps\n"
    )
    assert table in text
    assert text.index(table) + len(table) + 10 * 81 > len(text)  # the chart follows


def test_constants_show_a_dash_for_their_gradient():
    lines = render(GradView(bpcli.grad("x*-4", {"x": 0.5}))).splitlines()
    assert lines[3].split() == ["const1", "const", "-4", "-4", "—"]


def test_numbers_are_rounded_for_display():
    assert fmt(3.8000000000000003) == "3.8"
    assert fmt(-0.0) == "0"
    assert fmt(1 / 3) == "0.333333"
    assert fmt(1 / 3, precision=3) == "0.333"
    assert fmt(123456789.0) == "1.23457e+08"
    assert fmt(None) == "—"


def test_precision_applies_to_every_number():
    result = bpcli.grad("x / 3", {"x": 1})
    assert "0.33  " in render(GradView(result, precision=2))


def test_a_large_graph_shows_its_first_and_last_rows():
    text = " + ".join(f"x{i}" for i in range(150))  # 150 variables and 149 adds
    result = bpcli.grad(text, {f"x{i}": 1.0 for i in range(150)})
    lines = render(GradView(result), width=200).splitlines()
    rows = lines[2 : lines.index("")]
    assert len(rows) == 41
    assert rows[0].startswith("x0 ")
    assert rows[20].split() == ["…", "259", "more", "nodes", "(--json", "lists", "them", "all)"]
    assert rows[-1].startswith("f ")


def test_markup_in_names_and_text_is_shown_literally():
    result = bpcli.grad("b = x*2; b + 1", {"x": 1})
    # a name can never hold markup, and a comment (which could) is not a node's text
    assert "[" not in render(GradView(result))
    result = bpcli.grad("(x # [bold]hi[/bold]\n)*2", {"x": 1})
    shown = render(GradView(result))
    assert "(x )*2" in shown and "hi" not in shown
    with markup_in_texts():  # and markup in a text (tests/hostile.py) shows as it is
        shown = render(GradView(bpcli.grad("(x\n)*2", {"x": 1})), width=400)
    assert "[bold]x[/bold]" in shown


def test_error_with_caret():
    with pytest.raises(ParseError) as caught:
        bpcli.parse("q = x + y\nf = q *\n z")
    assert error_lines(caught.value) == [
        "error: line 2, column 8: the line ends too early: expected a number, a name or '('",
        "  f = q *",
        "         ^",
    ]


def test_error_caret_in_a_long_line_is_windowed():
    """A 405-character line: 35 characters before the spot, which is near the line's end."""
    text = "x + " * 100 + "$ + x"
    with pytest.raises(ParseError) as caught:
        bpcli.parse(text)
    first, shown, caret = error_lines(caught.value)
    assert first == "error: line 1, column 401: unexpected character '$'"
    assert shown == "  …" + text[400 - 35 :]  # cut on the left only: the line ends within
    assert shown.endswith("$ + x") and len(shown) <= 80
    assert caret == " " * len("  …" + text[400 - 35 : 400]) + "^"
    assert shown[caret.index("^")] == "$"


def test_error_caret_in_a_long_line_is_cut_on_both_sides():
    text = "x + " * 100 + "$" + " + x" * 100
    with pytest.raises(ParseError) as caught:
        bpcli.parse(text)
    _, shown, caret = error_lines(caught.value)
    assert shown.startswith("  …") and shown.endswith("…")
    assert len(shown) <= 80
    assert shown[caret.index("^")] == "$"


def test_error_window_of_a_long_korean_line_is_counted_in_cells():
    """Korean letters take two cells: the window is WINDOW cells (half of it before the
    spot), not WINDOW letters, which were 140 cells, past an 80-column terminal."""
    from rich.cells import cell_len

    from bpcli.render.error import WINDOW

    text = "가나다라마바사아자차카타파하" * 6 + " + (x +* y)" + " + 가나다" * 20
    with pytest.raises(ParseError) as caught:
        bpcli.parse(text)
    _, shown, caret = error_lines(caught.value)
    assert shown.startswith("  …") and shown.endswith("…")
    assert cell_len(shown) <= 2 + 1 + WINDOW + 1
    at = caret.index("^")  # cells before the caret = cells of what is shown before '*'
    assert cell_len(shown[: shown.index("+*") + 1]) == at
    assert WINDOW // 2 - 1 <= at - 3 <= WINDOW // 2


def test_a_wide_spot_shows_a_window_of_its_line_not_the_whole_line():
    """A node that spans a line of 600,000 characters: its first WINDOW cells, with
    carets under them (the whole line was written to stderr)."""
    from bpcli.render.error import WINDOW

    text = "log(-(x" + "+x" * 300_000 + "))"
    with pytest.raises(bpcli.DomainError) as caught:
        bpcli.grad(text, {"x": 1})
    _, shown, caret = error_lines(caught.value)
    assert shown == "  " + text[:WINDOW] + "…"
    assert caret == "  " + "^" * WINDOW


def test_error_caret_under_wide_characters():
    with pytest.raises(ParseError) as caught:
        bpcli.parse("가격 * $")
    assert error_lines(caught.value)[1:] == ["  가격 * $", "         ^"]


def test_error_caret_underlines_wide_characters_by_their_cells():
    """log(가나다 - 라) is 16 terminal cells (each Korean letter takes two): 16 carets,
    not 12 (one a character)."""
    with pytest.raises(bpcli.DomainError) as caught:
        bpcli.grad("log(가나다 - 라)", {"가나다": 1, "라": 2})
    assert error_lines(caught.value)[1:] == ["  log(가나다 - 라)", "  " + "^" * 16]


# ---- the summary line breaks only between whole `name = value` pairs ---------------------


def test_the_summary_line_breaks_between_pairs_only():
    # the neuron's input gradients, by hand (see test_explain.NEURON)
    result = bpcli.grad(
        "1/(1+exp(-(w0*x0+w1*x1+w2)))", {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}
    )
    pairs = ["∂f/∂w0 = -0.196612", "∂f/∂x0 = 0.393224", "∂f/∂w1 = -0.393224",
             "∂f/∂x1 = -0.589836", "∂f/∂w2 = 0.196612"]  # fmt: skip
    assert render(GradView(result, nodes=False), width=40) == (
        "f = 0.731059\n"
        "∂f/∂w0 = -0.196612   ∂f/∂x0 = 0.393224\n"
        "∂f/∂w1 = -0.393224   ∂f/∂x1 = -0.589836\n"
        "∂f/∂w2 = 0.196612\n"
    )
    for width in (20, 40, 60, 80, 120):
        lines = render(GradView(result, nodes=False), width=width).splitlines()[1:]
        assert [pair for line in lines for pair in line.split("   ")] == pairs
        assert all(len(line) <= max(width, 19) for line in lines)
    assert render(GradView(result, nodes=False), width=120).splitlines()[1] == "   ".join(pairs)


def test_the_more_nodes_row_is_not_padded():
    text = " + ".join(f"x{i}" for i in range(150))
    result = bpcli.grad(text, {f"x{i}": 1.0 for i in range(150)})
    lines = render(GradView(result)).splitlines()
    assert "…            259 more nodes (--json lists them all)" in lines
    assert [line for line in lines if line != line.rstrip()] == []


# ---- no trailing spaces in what goes to a pipe ---------------------------------------------

DOCS = Path(__file__).parent.parent / "docs"
LECTURE_ARGV = ["q = x + y; f = q * z", "--x", "-2", "--y", "5", "--z", "-4"]
WIDE = [" + ".join(f"x{i}" for i in range(150)), *(f"x{i}=1" for i in range(150))]
PIPED = {
    "grad table": ["grad", *LECTURE_ARGV],
    "grad more nodes": ["grad", *WIDE],
    "grad explain": ["grad", *LECTURE_ARGV, "--lr", "0.1", "--explain"],
    "grad explain neuron": ["grad", "1/(1+exp(-(w0*x0+w1*x1+w2)))", "w0=2", "x0=-1", "w1=-3",
                            "x1=-2", "w2=-3", "--explain"],
    "grad steps": ["grad", *LECTURE_ARGV, "--lr", "0.1", "--steps", "3"],
    "grad gradcheck": ["grad", *LECTURE_ARGV, "--gradcheck"],
    "grad markdown": ["grad", *LECTURE_ARGV, "--explain", "--format", "markdown"],
    "grad latex": ["grad", *LECTURE_ARGV, "--explain", "--format", "latex"],
    "graph tree": ["graph", *LECTURE_ARGV, "--format", "tree"],
    "graph dot": ["graph", *LECTURE_ARGV, "--format", "dot"],
    "graph mermaid": ["graph", *LECTURE_ARGV, "--format", "mermaid"],
    "check self": ["check", str(DOCS / "submission.toml")],
    "check graded": ["check", "--problems", str(DOCS / "homework.toml"), str(DOCS / "submission.toml")],
    "key": ["key", str(DOCS / "homework.toml")],
    "key solutions": ["key", str(DOCS / "homework.toml"), "--solutions", "--format", "markdown"],
    "quiz": ["quiz", "--seed", "3", "--count", "3"],
    **{f"help {name}".strip(): [*name.split(), "--help"]
       for name in ("", "grad", "graph", "check", "key", "quiz", "batch")},
}  # fmt: skip


@pytest.mark.integration
@pytest.mark.parametrize("argv", PIPED.values(), ids=PIPED.keys())
def test_no_line_ends_with_a_space_in_a_pipe(argv):
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "FORCE_COLOR")}
    run = subprocess.run(
        [sys.executable, "-m", "bpcli", *argv],
        capture_output=True, text=True, encoding="utf-8", env=env, check=False,
    )  # fmt: skip
    assert run.returncode in (0, 1), run.stderr  # check's report of wrong answers is 1
    assert run.stdout.strip()
    trailing = [line for line in run.stdout.splitlines() if line != line.rstrip()]
    assert trailing == []


# ---- the scalar views at narrow widths and long numbers --------------------------------------
# The neuron of the lecture, f = σ(w0*x0 + w1*x1 + w2), worked by hand with math: z = 1,
# f = σ(1), ∂f/∂z = f(1 - f), each input's gradient the other factor of its product times it.

NEURON = "f = 1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))"
NEURON_AT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
NEURON_ODD = {"w0": 2.1, "x0": -1.3, "w1": -3.7, "x1": -2.9, "w2": -3.3}


def neuron_by_hand(w0, x0, w1, x1, w2):
    """Every node's value and gradient, in the table's order (the constants' gradient None)."""
    z = w0 * x0 + w1 * x1 + w2
    e = math.exp(-z)
    f = 1 / (1 + e)
    dz = f * (1 - f)
    de = -1 / (1 + e) ** 2
    return [
        (1, None), (1, None), (w0, x0 * dz), (x0, w0 * dz), (w0 * x0, dz), (w1, x1 * dz),
        (x1, w1 * dz), (w1 * x1, dz), (w0 * x0 + w1 * x1, dz), (w2, dz), (z, dz), (-z, -dz),
        (e, de), (1 + e, de), (f, 1),
    ]  # fmt: skip


def _whole(number, text):
    """Whether `number` is in `text` as a whole token (not the start of a longer number)."""
    return re.search(rf"(?<![\w.]){re.escape(number)}(?![\w.])", text) is not None


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_the_neuron_table_never_cuts_a_number(width):
    text = render(GradView(bpcli.grad(NEURON, NEURON_AT)), width)
    lines = text.splitlines()
    assert "…" not in text
    assert max(map(cell_len, lines)) <= width
    assert [line for line in lines if line != line.rstrip()] == []
    for value, grad in neuron_by_hand(**NEURON_AT):
        assert _whole(fmt(value), text), fmt(value)
        assert grad is None or _whole(fmt(grad), text), fmt(grad)
    assert _whole("0.731059", text) and _whole("-0.534447", text)  # f, ∂f/∂exp1, by hand


def test_the_text_column_gives_way_first_broken_between_tokens():
    lines = render(GradView(bpcli.grad(NEURON, NEURON_AT)), 60).splitlines()
    # the widest number (9 cells) sets its column; the text folds at a space
    assert lines[lines.index("computational graph") + 14 :][:2] == [
        "exp1    exp    exp(-(w0*x0 + w1*x1 +     0.367879  -0.534447",
        "               w2))",
    ]
    assert [line for line in lines if line.endswith("(w") or line.lstrip().startswith("0*")] == []


def test_where_the_table_cannot_fit_each_node_is_a_block():
    lines = render(GradView(bpcli.grad(NEURON, NEURON_AT)), 40).splitlines()
    at = lines.index("exp1  exp  exp(-(w0*x0 + w1*x1 + w2))")
    assert lines[at + 1 : at + 3] == ["  value    = 0.367879", "  ∂f/∂exp1 = -0.534447"]


def test_seventeen_digits_are_shown_whole():
    result = bpcli.grad(NEURON, NEURON_ODD)
    text = render(GradView(result, precision=17), 80)
    assert "…" not in text
    for (value, grad), node in zip(neuron_by_hand(**NEURON_ODD), result.nodes, strict=True):
        assert math.isclose(node.value, value, rel_tol=1e-12)
        assert _whole(format(node.value, ".17g"), text)
        if grad is not None:
            assert math.isclose(node.grad, grad, rel_tol=1e-12)
            assert _whole(format(node.grad, ".17g"), text)


LONG = "hidden_layer_weight_first_a*x+hidden_layer_weight_first_b*y"  # the 60 a text shows


@pytest.mark.parametrize("width", [40, 60, 80, 120])
def test_a_long_name_is_never_cut(width):
    values = {"hidden_layer_weight_first_a": 1, "hidden_layer_weight_first_b": 2, "x": 3, "y": 4}
    text = render(GradView(bpcli.grad(LONG, values)), width)
    for name in ("hidden_layer_weight_first_a", "hidden_layer_weight_first_b"):
        rows = [line for line in text.splitlines() if line.startswith(name)]
        assert rows, name  # its own row (or block), the name whole at its start
    # by hand: ∂f/∂a = x = 3, ∂f/∂b = y = 4, f = 1*3 + 2*4 = 11
    assert "∂f/∂hidden_layer_weight_first_a = 3" in text
    assert "∂f/∂hidden_layer_weight_first_b = 4" in text
    assert "f = 11" in text.splitlines()


def test_the_update_heading_keeps_alpha_with_its_value_at_40():
    text = render(GradView(bpcli.grad("(x+y)*z", LECTURE, lr=0.1)), 40)
    assert "update step: x := x - α·∂f/∂x with\nα = 0.1\n" in text
    assert "after the update: f = -16.34\n" in text  # by hand, the lecture's new f


def test_a_descent_too_wide_for_its_table_is_a_block_per_step():
    result = bpcli.grad(NEURON, NEURON_AT, lr=0.1, steps=1)
    lines = render(GradView(result, nodes=False), 40).splitlines()
    # step 1 by hand: each input moves by -0.1 times its gradient
    by_hand = {n: v - 0.1 * g for n, v, (_, g) in zip(
        ("w0", "x0", "w1", "x1", "w2"), NEURON_AT.values(),
        [neuron_by_hand(**NEURON_AT)[k] for k in (2, 3, 5, 6, 9)], strict=True)}  # fmt: skip
    at = lines.index("step 1")
    shown = " ".join(lines[at + 1 : at + 4])
    for name, value in by_hand.items():
        assert f"{name} = {fmt(value)}" in shown
    assert max(map(cell_len, lines)) <= 40


def _numbers(run: dict) -> list[float]:
    """Every number a grad --json run holds that the table, its update and the tree show."""
    out = [run["output"]["value"], *run["gradients"].values()]
    out += [n[k] for n in run["nodes"] for k in ("value", "grad") if n[k] is not None]
    update = run.get("update")
    if update:
        out += [*update["inputs"].values(), update["output"]]
    for step in run.get("trajectory") or []:
        out += [*step["inputs"].values(), step["output"]]
    return out


def _argv(expr: str, values: dict[str, float], *more: str) -> list[str]:
    return [expr, *(f"{k}={v}" for k, v in values.items()), *more]


LONG_AT = {"hidden_layer_weight_first_a": 1, "hidden_layer_weight_first_b": 2, "x": 3, "y": 4}
SWEEP = {
    "neuron": ("grad", _argv(NEURON, NEURON_AT)),
    "neuron 17 digits": ("grad", _argv(NEURON, NEURON_ODD, "--precision", "17")),
    "neuron descent": ("grad", _argv(NEURON, NEURON_AT, "--lr", "0.1", "--steps", "3")),
    "lecture update": ("grad", _argv("(x+y)*z", LECTURE, "--lr", "0.1")),
    "lecture descent": ("grad", _argv("(x+y)*z", LECTURE, "--lr", "0.1", "--steps", "3")),
    "long names": ("grad", _argv(LONG, LONG_AT, "--lr", "0.1", "--precision", "17")),
    "neuron tree": ("graph", _argv(NEURON, NEURON_AT, "--format", "tree")),
    "tree 17 digits": ("graph", _argv(NEURON, NEURON_ODD, "--format", "tree", "--precision", "17")),
}  # fmt: skip


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("width", [40, 60, 80, 120])
@pytest.mark.parametrize("case", SWEEP.values(), ids=SWEEP.keys())
def test_the_scalar_views_at_every_width(case, width, lang, bpcli, monkeypatch):
    command, argv = case
    monkeypatch.setenv("COLUMNS", str(width))
    shown = bpcli(command, *argv, "--lang", lang)
    assert shown.code == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert max(map(cell_len, lines)) <= width
    assert [line for line in lines if line != line.rstrip()] == []
    assert "…" not in shown.stdout  # nothing cut
    split = [line for line in lines if line.endswith(("=", "∂", " /", "∂f/∂", " -"))]
    assert split == []  # no `label =` without its value, no `∂` without its number
    precision = int(argv[argv.index("--precision") + 1]) if "--precision" in argv else 6
    ran = bpcli("grad", *(a for a in argv if a not in ("--format", "tree")), "--json")
    for number in _numbers(json.loads(ran.stdout)):
        assert _whole(fmt(number, precision), shown.stdout), fmt(number, precision)
    for name in [a.split("=")[0] for a in argv if "=" in a and not a.startswith("f =")]:
        assert re.search(rf"(?<!\w){name}(?!\w)", shown.stdout), name  # whole, at least once
