"""The descent chart, as exact text on a fixed-width, colourless console."""

from __future__ import annotations

import io
from itertools import pairwise

import pytest
from rich.cells import cell_len
from rich.console import Console

import bpcli
from bpcli.render.chart import BLOCKS, DescentChart, sample
from bpcli.render.numbers import fmt
from conftest import LECTURE


def render(renderable, width=80):
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(renderable)
    return console.file.getvalue()


def lecture_outputs(lr, steps):
    """f = (x+y)*z along x := x - lr*df/dx, by hand: df/dx = df/dy = z, df/dz = x+y."""
    x, y, z = LECTURE["x"], LECTURE["y"], LECTURE["z"]
    outputs = [(x + y) * z]
    for _ in range(steps):
        x, y, z = x - lr * z, y - lr * z, z - lr * (x + y)
        outputs.append((x + y) * z)
    return outputs


def chart(expression, values, lr, steps, **options):
    result = bpcli.grad(expression, values, lr=lr, steps=steps)
    return DescentChart(result.update, result.output_name, **options)


def bar_rows(text):
    """The rows of bars, top first, each cut after its axis tick."""
    lines = text.splitlines()
    end = next(i for i, line in enumerate(lines) if "└" in line)
    return [line.split("┤" if "┤" in line else "│", 1)[1] for line in lines[1:end]]


def heights(text):
    """Each column's height in eighths of a row."""
    rows = bar_rows(text)
    width = max(len(row) for row in rows)
    return [sum(BLOCKS.index(row.ljust(width)[j]) for row in rows) for j in range(width)]


def test_lecture_three_steps_exact():
    # f: -12, -16.34, -21.8088, -28.797016; scaled to 1..32 eighths: 32, 24, 14, 1
    text = render(chart("(x+y)*z", LECTURE, 0.1, 3, height=4, precision=4))
    assert text == (
        "f over 3 steps\n  -12 ┤█\n      │██\n      │██▆\n-28.8 ┤███▁\n      └────\n       0  3\n"
    )


def test_labels_are_the_true_max_and_min():
    outputs = lecture_outputs(0.1, 10)
    text = render(chart("(x+y)*z", LECTURE, 0.1, 10))
    lines = text.splitlines()
    assert lines[0] == "f over 10 steps"
    assert lines[1].split("┤")[0].strip() == fmt(max(outputs)) == "-12"
    assert lines[8].split("┤")[0].strip() == fmt(min(outputs)) == "-186.607"
    assert lines[10].split() == ["0", "10"]


def test_falling_output_falls():
    outputs = lecture_outputs(0.1, 10)
    assert all(a > b for a, b in pairwise(outputs))
    columns = heights(render(chart("(x+y)*z", LECTURE, 0.1, 10)))
    assert len(columns) == 11
    assert columns[0] == 8 * 8 and columns[-1] == 1
    assert all(a >= b for a, b in pairwise(columns))


def test_diverging_output_rises():
    # x*x with lr 1.1: x := x - 1.1*2x = -1.2x, so f = 1.44**n grows while x swings
    outputs = [1.0]
    x = 1.0
    for _ in range(20):
        x = x - 1.1 * 2 * x
        outputs.append(x * x)
    text = render(chart("x*x", {"x": 1.0}, 1.1, 20))
    lines = text.splitlines()
    assert lines[1].split("┤")[0].strip() == fmt(max(outputs)) == "1469.77"
    assert lines[8].split("┤")[0].strip() == fmt(min(outputs)) == "1"
    columns = heights(text)
    assert len(columns) == 21
    assert all(a <= b for a, b in pairwise(columns))


@pytest.mark.parametrize("width", [80, 40, 20])
def test_many_steps_fit_the_width(width):
    text = render(chart("x*x", {"x": 1.0}, 0.001, 500), width=width)
    lines = text.splitlines()
    assert max(cell_len(line) for line in lines) <= width
    assert lines[-1].split() == ["0", "500"]
    assert lines[-1].endswith("500")
    # f ends at 0.998**1000 = 0.134794 (8 characters) + 2 for the axis; the rest are steps
    assert len(lines[-2].strip()) - 1 == width - 10
    columns = heights(text)
    assert columns[0] == 8 * 8 and columns[-1] == 1


def test_sample_keeps_first_and_last_evenly():
    shown = sample(501, 70)
    assert len(shown) == 70
    assert shown[0] == 0 and shown[-1] == 500
    gaps = {b - a for a, b in pairwise(shown)}
    assert gaps <= {7, 8}
    assert sample(5, 70) == [0, 1, 2, 3, 4]
    assert sample(10, 0) == [0, 9]


def test_constant_output():
    text = render(chart("x*0 + 3", {"x": 1.0}, 0.5, 3, height=4))
    assert text == ("f over 3 steps\n3 ┤\n  │\n  │████\n3 ┤████\n  └────\n   0  3\n")


def test_one_step():
    text = render(chart("x*x", {"x": 1.0}, 0.25, 1, height=2))
    # f: 1 then 0.25 (x: 1 -> 0.5)
    assert text == ("f over 1 step\n   1 ┤█\n0.25 ┤█▁\n     └──\n      0 1\n")


def test_no_trajectory_is_a_caller_error_not_an_input_error():
    """A view raises no input error (the command line checks its input): a chart without
    steps is a mistake of the code that asks for it."""
    result = bpcli.grad("x*x", {"x": 1.0}, lr=0.1)
    with pytest.raises(ValueError, match="trajectory"):
        DescentChart(result.update, result.output_name)
