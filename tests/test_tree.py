"""The tree view: each gate written out once, where it is first printed; each use
with what it sends back; a deep graph in trees of bounded width, so that the text
grows linearly with the graph."""

from __future__ import annotations

import hashlib
import io
import math
import re
import sys
from pathlib import Path

import pytest
from rich.console import Console

import bpcli
from bpcli import i18n
from bpcli.render.tree import MAX_DEPTH, to_tree
from conftest import LECTURE

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench/ sits next to src/, it is not installed

from bench.growth import program  # noqa: E402


def tree_lines(text: str, values: dict[str, float] | None = None, width: int = 200) -> list[str]:
    graph = bpcli.parse(text)
    result = bpcli.evaluate(graph, values) if values else None
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(to_tree(graph, result))
    return console.file.getvalue().splitlines()


def test_the_shared_note_points_to_where_the_node_is_written_out():
    # q = 1 + 2 = 3, f = q² + q = 12; df/dq = 2q + 1 = 7: each use of q in q*q sends
    # back the other factor, 3, the use in + sends 1; x and y get df/dq = 7.
    assert tree_lines("q = x + y; f = q*q + q", {"x": 1, "y": 2}) == [
        "f = mul1 + q  distributor  12  ∂ 1",
        "├── mul1 = q * q  swap multiplier  9  ∂ 1",
        "│   ├── q = x + y  distributor  3  ∂ 7 in all, ∂ 3 from this use",
        "│   │   ├── x  1  ∂ 7",
        "│   │   └── y  2  ∂ 7",
        "│   └── q = x + y  distributor  3  ∂ 3 from this use  (shared, shown above)",
        "└── q = x + y  distributor  3  ∂ 1 from this use  (shared, shown above)",
    ]


def test_each_use_shows_its_own_contribution_and_the_total_once():
    # f = x*x + x at x = 3: the mul gate sends x = 3 to each of its inputs, the add
    # gate 1; df/dx = 2x + 1 = 7
    assert tree_lines("x*x + x", {"x": 3}) == [
        "f = mul1 + x  distributor  12  ∂ 1",
        "├── mul1 = x * x  swap multiplier  9  ∂ 1",
        "│   ├── x  3  ∂ 7 in all, ∂ 3 from this use",
        "│   └── x  3  ∂ 3 from this use",
        "└── x  3  ∂ 1 from this use",
    ]


def test_without_values_only_the_structure():
    assert tree_lines("q = x + y; f = q*q + q") == [
        "f = mul1 + q  distributor",
        "├── mul1 = q * q  swap multiplier",
        "│   ├── q = x + y  distributor",
        "│   │   ├── x",
        "│   │   └── y",
        "│   └── q = x + y  distributor  (shared, shown above)",
        "└── q = x + y  distributor  (shared, shown above)",
    ]


def sines(depth: int) -> str:
    """c1 = sin(s), …, c<depth> = sin(c<depth-1>): a chain deeper than one tree."""
    return "s = x * 2; c1 = sin(s); " + "".join(
        f"c{i} = sin(c{i - 1}); " for i in range(2, depth + 1)
    )


def test_a_deep_branch_goes_on_below_and_the_notes_stay_true():
    # f = c13 + c2: the chain reaches MAX_DEPTH at c2, which goes on in a tree of its
    # own below; f's second input, c2 again, is written out there: "shown below".
    assert MAX_DEPTH == 12
    lines = tree_lines(sines(13) + "f = c13 + c2", {"x": 0.5})
    names = [re.sub(r"^[│├└─ ]*", "", line).split(" ")[0] for line in lines]
    (goes_on,) = [i for i, line in enumerate(lines) if "(continued below)" in line]
    (again,) = [i for i, line in enumerate(lines) if "(shared, shown below)" in line]
    (from_above,) = [i for i, line in enumerate(lines) if "(continued from above)" in line]
    assert names[goes_on] == names[again] == names[from_above] == "c2"
    assert goes_on < again < from_above and lines[from_above].startswith("c2 = sin(c1)")
    assert [names[i] for i in range(from_above, len(lines))] == ["c2", "c1", "s", "x", "2"]
    # every gate written out exactly once; each note points to where that is
    written = {}
    for i, (name, line) in enumerate(zip(names, lines, strict=True)):
        if " = " in line and "(shared" not in line and "(continued below)" not in line:
            assert name not in written, line
            written[name] = i
    for i, (name, line) in enumerate(zip(names, lines, strict=True)):
        if "(shared, shown above)" in line:
            assert written[name] < i, line
        if "(shared, shown below)" in line or "(continued below)" in line:
            assert written[name] > i, line
    assert set(written) == {"f", "s", *(f"c{i}" for i in range(1, 14))}


def test_a_chain_thousands_deep_prints_lines_of_bounded_width():
    # 2,000 nested gates: one tree of them would be 8,000 columns of guides at the
    # bottom (quadratic text); in trees of MAX_DEPTH levels each line stays short.
    depth = 2000
    lines = tree_lines(sines(depth) + f"f = c{depth}", {"x": 0.5}, width=120)
    guides = [len(line) - len(re.sub(r"^[│├└─ ]*", "", line)) for line in lines]
    assert max(guides) <= 4 * MAX_DEPTH
    goes_on = sum("(continued below)" in line for line in lines)
    assert goes_on == depth // MAX_DEPTH  # a tree of its own every MAX_DEPTH levels
    assert len(lines) == depth + 3 + goes_on  # each node once (the sines, s, x and 2),
    # and the root of each tree below once more
    assert sum(map(len, lines)) < 120 * len(lines)


# ---- a run over numbers laid out for the width --------------------------------------------


def test_the_neuron_at_40_columns_keeps_each_gradient_whole():
    # f = σ(w0*x0 + w1*x1 + w2) at the lecture's point: z = 1, ∂f/∂z = σ(1)(1 - σ(1))
    values = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}
    dz = (1 / (1 + math.exp(-1))) * (1 - 1 / (1 + math.exp(-1)))
    lines = tree_lines("f = 1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))", values, width=40)
    assert max(map(len, lines)) <= 40
    assert [line for line in lines if line != line.rstrip()] == []
    text = "\n".join(lines)
    assert "∂\n" not in text and "∂ \n" not in text
    for grad in (dz, -dz, 2 * dz, -2 * dz, -3 * dz):  # w2, w0 (x0 dz), x0, w1, x1
        assert re.search(rf"∂ {re.escape(format(grad, '.6g'))}(?![\d])", text), grad
    assert "└── w2  -3  ∂ 0.196612" in lines  # a leaf that fits is on one line


def test_a_run_over_numbers_is_the_same_at_80_columns_where_every_line_fits():
    # the lecture's f = (x+y)z, by hand: q = 3, f = -12, ∂f/∂q = z = -4, ∂f/∂z = q = 3
    assert tree_lines("q = x + y; f = q * z", LECTURE, width=80) == [
        "f = q * z  swap multiplier  -12  ∂ 1",
        "├── q = x + y  distributor  3  ∂ -4",
        "│   ├── x  -2  ∂ -4",
        "│   └── y  5  ∂ -4",
        "└── z  -4  ∂ 3",
    ]


# ---- the text, byte for byte, as it was before the tree drew its own guides -------------
#
# The digests below were recorded with bpcli at commit f4eb37f, when the tree was Rich's
# Tree, each label laid out by Rich: a tree that still agrees with them draws the same
# guides, breaks the same nodes into blocks, and writes the same styles, in a pipe
# (no colour) and in a terminal (colour), in English and Korean.


@pytest.mark.parametrize(
    ("shape", "size", "values", "width", "colour", "lang", "digest"),
    [
        ("dag", 300, True, 120, False, "en", "6aa77630b3564b257a8007d8cacbb22f"),
        ("dag", 300, True, 60, False, "ko", "5d99ab53b935b7526dfd038d973144ac"),
        ("dag", 300, True, 80, True, "en", "8a07ae3f5760c1318670ba2003c48d0f"),
        ("dag", 300, False, 80, False, "en", "36a17be3f96cd52b9209cc37022f2f8e"),
        ("chain", 300, True, 100, False, "en", "b278eb9cafc6e7092e389c2594c6cec4"),
        ("uses", 100, True, 80, False, "ko", "b3b93e2625799f1304b998ba68369a4d"),
    ],
)
def test_the_tree_of_a_benchmark_graph_is_the_recorded_text(
    shape, size, values, width, colour, lang, digest
):
    i18n.use(lang)
    text, inputs = program(shape, size)
    graph = bpcli.parse(text)
    result = bpcli.evaluate(graph, inputs) if values else None
    out = io.StringIO()
    system = "truecolor" if colour else None  # (and no NO_COLOR, which the tests set)
    screen = Console(file=out, width=width, color_system=system, no_color=False, highlight=False)
    screen.print(to_tree(graph, result))
    assert hashlib.md5(out.getvalue().encode()).hexdigest() == digest
