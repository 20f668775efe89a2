"""Graph pictures: DOT checked by the real Graphviz, Mermaid's escaping, the tree, and the CLI."""

from __future__ import annotations

import html
import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from xml.etree import ElementTree

import pytest
from rich.console import Console

import bpcli
from bpcli.render.dot import to_dot
from bpcli.render.mermaid import escape, to_mermaid
from bpcli.render.picture import boxes
from bpcli.render.tree import to_tree
from conftest import LECTURE, unavailable
from hostile import markup_in_texts

SVG = "{http://www.w3.org/2000/svg}"


def dot_svg(dot_text: str) -> ElementTree.Element:
    """Graphviz's own dot program parses and draws the text, or the test fails."""
    if shutil.which("dot") is None:
        pytest.fail("Graphviz's dot is not installed (.ci/run installs it)")
    done = subprocess.run(["dot", "-Tsvg"], input=dot_text, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", done.stderr  # no warnings either
    return ElementTree.fromstring(done.stdout)


def svg_texts(svg: ElementTree.Element) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{SVG}text")]


@pytest.mark.integration
def test_lecture_dot_is_drawn_by_graphviz_with_its_numbers():
    result = bpcli.grad("q = x + y; f = q * z", LECTURE)
    svg = dot_svg(to_dot(result.graph, result))
    texts = svg_texts(svg)
    # forward values and gradients of every node: x -2/-4, y 5/-4, q 3/-4, z -4/3, f -12/1
    for label in ["x", "-2", "∂ -4", "y", "5", "+", "q · distributor", "3", "z", "-4", "∂ 3"]:
        assert label in texts, label
    assert texts[texts.index("*") :][:4] == ["*", "f · swap multiplier", "-12", "∂ 1"]
    edges = [g for g in svg.iter(f"{SVG}g") if g.get("class") == "edge"]
    assert len(edges) == 4


@pytest.mark.integration
def test_an_edge_per_use():
    result = bpcli.grad("x*x + x", {"x": 3})
    dot = to_dot(result.graph, result)
    assert len(re.findall(r"^  n0 -> ", dot, flags=re.M)) == 3  # x feeds mul twice, add once
    svg = dot_svg(dot)
    assert len([g for g in svg.iter(f"{SVG}g") if g.get("class") == "edge"]) == 4
    # the edges carry what each use sends back: 3, 3 and 1, which add up to 7
    assert sorted(re.findall(r'n0 -> n\d \[label=<<FONT COLOR="#cf222e">(\d+)</FONT>>\]', dot)) == [
        "1",
        "3",
        "3",
    ]


@pytest.mark.integration
def test_structure_alone_without_values():
    graph = bpcli.parse("q = x + y; f = q * z")
    dot = to_dot(graph)
    assert "#1a7f37" not in dot and "#cf222e" not in dot  # no values, no gradients
    texts = svg_texts(dot_svg(dot))
    assert sorted(texts) == sorted(
        ["x", "y", "+", "q · distributor", "z", "*", "f · swap multiplier"]
    )


@pytest.mark.integration
@pytest.mark.parametrize(
    "text",
    [
        "α = 2 * β; γ = α ^ 2; max(γ, α, 1e-3) # < > & \" '",
        '(x # a comment with <b>html</b> & "quotes"\n) * -4',
        " + ".join(f"v{i}" for i in range(500)),
    ],
)
def test_hostile_labels_still_give_valid_dot(text):
    with markup_in_texts():  # tests/hostile.py
        graph = bpcli.parse(text)
        values = {name: 1.5 for name in graph.variables}
        result = bpcli.evaluate(graph, values)
        dot = to_dot(graph, result)
    dot_svg(dot)


# ---- Mermaid ---------------------------------------------------------------------


def test_mermaid_lecture_text():
    result = bpcli.grad("q = x + y; f = q * z", LECTURE)
    text = to_mermaid(result.graph, result)
    assert text.startswith("flowchart LR\n")
    assert '  n0["x<br/>value -2<br/>grad -4"]\n' in text
    assert '  n2(("+<br/>q · distributor<br/>value 3<br/>grad -4"))\n' in text
    assert '  n4(("*<br/>f · swap multiplier<br/>value -12<br/>grad 1"))\n' in text
    assert '  n0 -->|"-4"| n2\n' in text
    assert "  class n4 output\n" in text
    assert not text.startswith("```")


def test_mermaid_fence():
    text = to_mermaid(bpcli.parse("x*y"), fence=True)
    assert text.startswith("```mermaid\nflowchart LR\n")
    assert text.endswith("\n```\n")


def test_mermaid_escapes_every_special_character():
    assert escape('a"b#c<d>e&f') == "a#quot;b#35;c#lt;d#gt;e#amp;f"


def test_mermaid_labels_never_hold_raw_quotes_or_angle_brackets():
    with markup_in_texts():  # tests/hostile.py
        graph = bpcli.parse('(x # "<quoted>" & #hash\n) * -4 + 1e-3')
        text = to_mermaid(graph, bpcli.evaluate(graph, {"x": 1}))
    assert '"quotes"' not in text and "&lt;" not in text  # the markup is there, escaped
    assert "#quot;quotes#quot;" in text
    labels = re.findall(r'\["(.*?)"\]|\(\("(.*?)"\)\)|\|"(.*?)"\|', text)
    assert len(labels) == len(graph.nodes) + 2  # and the two edges that carry a gradient
    for label in labels:
        body = "".join(label).replace("<br/>", "")
        assert '"' not in body and "<" not in body and ">" not in body


# ---- the tree ----------------------------------------------------------------------


def tree_text(text, values=None, width=80):
    graph = bpcli.parse(text)
    result = bpcli.evaluate(graph, values) if values else None
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(to_tree(graph, result))
    return console.file.getvalue()


def test_lecture_tree():
    assert tree_text("q = x + y; f = q * z", LECTURE) == (
        "f = q * z  swap multiplier  -12  ∂ 1\n"
        "├── q = x + y  distributor  3  ∂ -4\n"
        "│   ├── x  -2  ∂ -4\n"
        "│   └── y  5  ∂ -4\n"
        "└── z  -4  ∂ 3\n"
    )


def test_a_shared_node_is_drawn_once():
    # q = 5, f = q² = 25: each use of q sends back the other factor, 5; df/dq = 2q = 10
    text = tree_text("q = x + y; f = q * q", {"x": 2, "y": 3})
    assert text == (
        "f = q * q  swap multiplier  25  ∂ 1\n"
        "├── q = x + y  distributor  5  ∂ 10 in all, ∂ 5 from this use\n"
        "│   ├── x  2  ∂ 10\n"
        "│   └── y  3  ∂ 10\n"
        "└── q = x + y  distributor  5  ∂ 5 from this use  (shared, shown above)\n"
    )


def test_a_deep_tree_needs_no_recursion(shallow_stack):
    depth = 4 * shallow_stack  # far deeper than a terminal can show, but it must not crash
    text = tree_text("(" * depth + "x" + "+1)" * depth, width=200)
    assert depth == 1000
    assert text.startswith("f = add999 + 1  distributor\n├── add999 = add998 + 1")


# ---- Mermaid's own parser (tests/mermaid: mermaid + jsdom under Node, installed by .ci/run) ----

MERMAID = Path(__file__).parent / "mermaid"


# Every diagram these tests give Mermaid's parser, checked by one Node process (about a
# second to start) rather than one each.
BROKEN_MERMAID = ['flowchart LR\n  n0["a "b" c"]\n', "flowchart LR\n  n0 -->\n"]
LABELLED = [
    "q = x + y; f = q * z",
    "2*(x*y + max(z, w))",
    "α = 2 * β; γ = α ^ 2; max(γ, α, 1e-3) # < > & \" '",
    '(x # a comment with <b>html</b> & "quotes" #35; #lt;\n) * -4 + end / style',
]
STRUCTURE_ONLY = "x*x + x"


def labelled(text: str) -> tuple[bpcli.Graph, bpcli.Result]:
    graph = bpcli.parse(text)
    return graph, bpcli.evaluate(graph, {name: 1.5 for name in graph.variables})


def mermaid_parsed(diagrams: list[str]) -> list[dict]:
    """Mermaid's real parser on each diagram, in one Node process: {"ok", "labels"} or
    {"ok", "error"} each."""
    node = shutil.which("node")
    if node is None or not (MERMAID / "node_modules" / "mermaid").is_dir():
        unavailable("Mermaid's parser is not installed: npm ci --prefix tests/mermaid")
    done = subprocess.run(
        [node, str(MERMAID / "validate.mjs"), "--batch"],
        input=json.dumps(diagrams),
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert len(results) == len(diagrams)
    return results


@pytest.fixture(scope="module")
def mermaid_checked() -> dict[str, dict]:
    """Mermaid's real parser on every diagram: text -> {"ok", "labels"} or {"ok", "error"}."""
    diagrams = [*BROKEN_MERMAID, to_mermaid(bpcli.parse(STRUCTURE_ONLY))]
    with markup_in_texts():  # tests/hostile.py
        diagrams += [to_mermaid(*labelled(text)) for text in LABELLED]
    return dict(zip(diagrams, mermaid_parsed(diagrams), strict=True))


@pytest.mark.integration
def test_mermaids_parser_rejects_broken_text(mermaid_checked):
    """The check can fail: a raw quote in a label, a dangling edge."""
    for text in BROKEN_MERMAID:
        assert mermaid_checked[text]["ok"] is False
        assert "Parse error" in mermaid_checked[text]["error"]


@pytest.mark.integration
@pytest.mark.parametrize("text", LABELLED)
def test_mermaid_parses_and_keeps_every_label(mermaid_checked, text):
    with markup_in_texts():  # tests/hostile.py
        graph, result = labelled(text)
        checked = mermaid_checked[to_mermaid(graph, result)]
        drawn, _ = boxes(graph, result)
    assert checked["ok"], checked["error"]
    stored = checked["labels"]
    assert len(stored) == len(drawn) == len(graph.nodes)
    for box in drawn:
        want = [box.title]
        want += [box.subtitle] if box.subtitle else []
        want += [f"value {box.value}"] if box.value is not None else []
        want += [f"grad {box.grad}"] if box.grad is not None else []
        assert html.unescape(stored[f"n{box.id}"]).split("<br>") == want


@pytest.mark.integration
def test_mermaid_structure_alone_parses(mermaid_checked):
    checked = mermaid_checked[to_mermaid(bpcli.parse(STRUCTURE_ONLY))]
    assert checked["ok"], checked["error"]
    assert list(checked["labels"]) == ["n0", "n1", "n2"]  # x, x*x and the sum


@pytest.mark.parametrize(
    "text",
    [
        "x ** (1 + 1)",
        "max(1, 2, 3) * x + min(x, 2, 3) + max(2, 4) * 3",
        "q = 2 * 3; r = q + x; s = max(q, 1, q) - exp(q); r * s + 5",
        "a = 1; b = a + 2; c = b * b; d = c + x; e = max(c, d, 7); e + c",
        "-(2) + x",
        "max(1, 2, x) * 2 + min(3, 4, 5, x)",
    ],
)
def test_fixed_nodes_are_those_that_depend_on_no_input(text):
    """graph.fixed (set by the parser as it builds) against the definition, node by node."""
    graph = bpcli.parse(text)
    expected = []
    for node in graph.nodes:
        depends = node.op == "var" or any(not expected[j] for j in node.inputs)
        expected.append(not depends)
    assert [bool(b) for b in graph.fixed] == expected
    assert any(expected) and not all(expected)
