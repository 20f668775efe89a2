"""Views, compared as exact text on a fixed-width, colourless console."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

import bpcli
from bpcli.errors import ParseError
from bpcli.render.error import error_lines
from bpcli.render.numbers import fmt
from bpcli.render.table import GradView
from conftest import LECTURE


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
        assert "update step: x := x - α·∂f/∂x with α =\n0.1\n" in text
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
    # a name can never hold markup, but text can show brackets from comments
    assert "[" not in render(GradView(result))
    result = bpcli.grad("(x # [bold]hi[/bold]\n)*2", {"x": 1})
    assert "(x # [bold]hi[/bold] )*2" in render(GradView(result))


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


def test_error_caret_under_wide_characters():
    with pytest.raises(ParseError) as caught:
        bpcli.parse("가격 * $")
    assert error_lines(caught.value)[1:] == ["  가격 * $", "         ^"]


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
