"""The graph views of a tensor program (DOT, Mermaid, the tree, the notebook's views, the
descent plot): every node's shape, value and gradient, and what every edge sends back,
against the hand-worked lecture and a two-layer net checked by central differences (and
PyTorch float64 where it is installed): see tensor_cases.py. The page in Chromium is in
test_page.py."""

from __future__ import annotations

import html
import json
import re
import shutil
import xml.etree.ElementTree as ET

import numpy as np
import pytest

import bpcli
from bpcli.render.dot import to_dot
from bpcli.render.mermaid import to_mermaid
from bpcli.render.picture import SHAPES_UNKNOWN
from conftest import unavailable
from tensor_cases import COPY_TEXT, LECTURE_AT, LECTURE_TEXT, copy_gate, lecture, net, same
from test_graph import mermaid_parsed

CASES = {"lecture": lecture, "copy-gate": copy_gate, "net": net}
LECTURE_ARGS = ("--W", json.dumps(LECTURE_AT["W"]), "--x", json.dumps(LECTURE_AT["x"]))


def shape_text(shape: tuple[int, ...]) -> str:
    return str(tuple(shape))


def run_of(case):
    return bpcli.grad(case.text, case.at)


def name_of(graph: bpcli.Graph, node_id: int) -> str:
    return graph.nodes[node_id].name


# ---- DOT -----------------------------------------------------------------------------------

DOT_NODE = re.compile(r"^  n(\d+) \[shape=\w+, label=<(.*)>(?:, [^\]]*)?\];$", re.M)
DOT_EDGE = re.compile(r"^  n(\d+) -> n(\d+)(?: \[label=<(.*)>\])?;$", re.M)


def untagged(label: str) -> str:
    """An HTML-like label's text, a <BR/> a newline."""
    return html.unescape(re.sub(r"<(?!BR/>)[^>]+>", "", label).replace("<BR/>", "\n"))


def coloured(label: str, colour: str) -> str:
    """The text of the label's <FONT COLOR=colour> part."""
    found = re.search(rf'<FONT COLOR="{colour}">(.*?)</FONT>', label)
    assert found, (colour, label)
    return untagged(found.group(1))


@pytest.mark.parametrize("which", list(CASES))
def test_dot_shows_every_shape_value_gradient_and_edge(which):
    from bpcli.render.theme import GRAD_HEX, VALUE_HEX

    case = CASES[which]()
    result = run_of(case)
    graph = result.graph
    text = to_dot(graph, result)
    nodes = {int(i): label for i, label in DOT_NODE.findall(text)}
    assert len(nodes) == len(graph.nodes)
    for i, label in nodes.items():
        name = name_of(graph, i)
        if name not in case.values:  # the constant 2: its number only
            assert untagged(label) == "2"
            continue
        lines = untagged(label).split("\n")
        assert shape_text(case.shapes[name]) in lines[1], (name, lines)
        assert same(coloured(label, VALUE_HEX), case.values[name]), (name, label)
        grad = coloured(label, GRAD_HEX)
        assert grad.startswith("∂ ") and same(grad[2:], case.grads[name]), (name, label)
    edges = DOT_EDGE.findall(text)
    assert len(edges) == sum(len(n.inputs) for n in graph.nodes)
    labelled = 0
    for source, target, label in edges:
        key = (name_of(graph, int(source)), name_of(graph, int(target)))
        if key[0] == "const1":
            assert label == ""  # nothing flows into a constant
            continue
        assert same(coloured(label, GRAD_HEX), case.sent[key]), (key, label)
        labelled += 1
    assert labelled == len(case.sent)


def test_dot_draws_a_matrix_a_row_a_line():
    text = run_of(lecture()).dot()
    assert "[[ 0.1,  0.5],<BR/> [-0.3,  0.8]]" in text  # a row a line, aligned as NumPy aligns
    assert not re.search(r"\d\.[,\]]", text)  # never NumPy's `1.,` or `0.]`


@pytest.mark.integration
def test_graphviz_draws_the_tensor_graph(bpcli, tmp_path):
    if shutil.which("dot") is None:
        unavailable("Graphviz's dot is not installed (.ci/run installs it)")
    out = tmp_path / "net.svg"
    case = net()
    values = [f"--{k}={json.dumps(v)}" for k, v in case.at.items()]
    run = bpcli("graph", case.text, *values, "--output", str(out))
    assert run.code == 0, run.stderr
    root = ET.parse(out).getroot()
    drawn = " ".join(" ".join(root.itertext()).split())
    for shape in ("(4, 3)", "(3,)", "(2, 4)", "(4,)", "(2,)"):
        assert shape in drawn


# ---- the tree ----------------------------------------------------------------------------------

TREE_LINE = re.compile(
    r"^[│├└─ ]*(?P<name>\S+)(?: = .*?)?  (?P<shape>\([\d, ]*\))  (?P<value>[^∂]*?)"
    r"  ∂ (?P<grad>.*)$"
)


@pytest.mark.parametrize("which", ["lecture", "net"])
def test_the_tree_shows_every_shape_value_and_gradient(which):
    case = CASES[which]()
    text = run_of(case).tree(width=300)
    seen = set()
    for line in text.splitlines():
        found = TREE_LINE.match(line)
        if not found:
            assert line.endswith("2  2"), line  # the constant: its number, and as its value
            continue
        name = found["name"]
        seen.add(name)
        assert found["shape"] == shape_text(case.shapes[name]), line
        assert same(found["value"], case.values[name]), line
        assert same(found["grad"], case.grads[name]), line
    assert seen == set(case.values)


GUIDES = re.compile(r"^((?:│   |    )*)(├── |└── )?(.*)$")


def tree_nodes(text: str) -> list[str]:
    """Each node of a printed tree (or trees) as its lines' texts without their guides,
    joined by two spaces: a new node starts at a branch (`├── `), or at a new tree's root,
    a line without guides after a line with them."""
    nodes: list[list[str]] = []
    indented = True
    for line in text.splitlines():
        if not line:
            continue
        guides, branch, rest = GUIDES.match(line).groups()
        if branch or (not guides and indented):
            nodes.append([])
        indented = bool(guides or branch)
        nodes[-1].append(rest.strip())
    return ["  ".join(lines) for lines in nodes]


@pytest.mark.parametrize("width", [40, 60, 80, 120])
@pytest.mark.parametrize("which", list(CASES))
def test_the_tree_lays_out_each_value_for_the_width_left(which, width):
    """At every width no line passes the width or ends in a space, and each node's lines
    joined give its shape, value and gradient whole: every element, in order (a number
    cut across two lines would count as two)."""
    case = CASES[which]()
    text = run_of(case).tree(width=width)
    for line in text.splitlines():
        assert len(line) <= width, (width, line)
        assert line == line.rstrip(), (width, line)
    seen = set()
    for node in tree_nodes(text):
        if node == "2  2":  # the constant: its number, and as its value
            continue
        if which == "copy-gate" and "from this use" in node:
            continue  # test_the_tree_of_a_node_used_twice_shows_each_use: at 300 columns
        found = TREE_LINE.match(node.replace("  (continued below)", ""))
        assert found, (width, node)
        name = found["name"]
        seen.add(name)
        assert found["shape"] == shape_text(case.shapes[name]), node
        assert same(found["value"].replace("(continued from above)", ""), case.values[name])
        assert same(found["grad"], case.grads[name]), node
    assert seen == set(case.values) - ({"q"} if which == "copy-gate" else set())


def test_the_lecture_tree_at_40_columns():
    """CS231n's ‖Wx‖² (W = [[0.1, 0.5], [-0.3, 0.8]], x = [0.2, 0.4]), by hand: q = Wx =
    [0.22, 0.26], q² = [0.0484, 0.0676], f = 0.116; ∂f/∂q = 2q = [0.44, 0.52], ∂f/∂W =
    2q·xᵀ = [[0.088, 0.176], [0.104, 0.208]], ∂f/∂x = 2Wᵀq = [-0.112, 0.636]. A node
    too wide for its line has its heading, then its value, then its gradient, a matrix
    a line per row, its elements aligned."""
    assert run_of(lecture()).tree(width=40) == (
        "f = sum(pow1)  distributor  ()\n"
        "0.116\n"
        "∂ 1\n"
        "└── pow1 = q^2  power rule  (2,)\n"
        "    [0.0484, 0.0676]\n"
        "    ∂ [1, 1]\n"
        "    ├── q = W @ x  matrix multiplier\n"
        "    │   (2,)\n"
        "    │   [0.22, 0.26]\n"
        "    │   ∂ [0.44, 0.52]\n"
        "    │   ├── W  (2, 2)\n"
        "    │   │   [[ 0.1,  0.5],\n"
        "    │   │    [-0.3,  0.8]]\n"
        "    │   │   ∂ [[0.088, 0.176],\n"
        "    │   │      [0.104, 0.208]]\n"
        "    │   └── x  (2,)\n"
        "    │       [0.2, 0.4]\n"
        "    │       ∂ [-0.112, 0.636]\n"
        "    └── 2  2\n"
    )


def test_the_tree_of_a_node_used_twice_shows_each_use():
    case = copy_gate()
    text = run_of(case).tree(width=300)
    (first,) = [line for line in text.splitlines() if "q = W @ x" in line and "in all" in line]
    total, this_use = first.split("in all")
    assert same(total.split("∂")[-1], case.grads["q"])
    assert same(this_use, case.sent[("q", "pow1")])
    (second,) = [line for line in text.splitlines() if "(shared, shown above)" in line]
    assert same(second.split("∂")[1].split("from")[0], case.sent[("q", "sum2")])


# ---- Mermaid, through Mermaid's own parser -------------------------------------------------------


@pytest.mark.integration
def test_mermaid_parses_and_keeps_every_shape_value_and_gradient():
    cases = [lecture(), net()]
    results = [run_of(case) for case in cases]
    diagrams = [to_mermaid(r.graph, r) for r in results]
    diagrams.append(to_mermaid(bpcli.parse(LECTURE_TEXT)))  # the structure alone
    checked = mermaid_parsed(diagrams)
    assert all(c["ok"] for c in checked), checked
    for case, result, check in zip(cases, results, checked, strict=False):
        labels = check["labels"]
        assert len(labels) == len(result.graph.nodes)
        for i, label in labels.items():
            name = name_of(result.graph, int(i[1:]))
            lines = html.unescape(label).split("<br>")
            if name not in case.values:
                assert lines == ["2"]
                continue
            assert shape_text(case.shapes[name]) in lines[1]
            value = next(k for k, line in enumerate(lines) if line.startswith("value "))
            grad = next(k for k, line in enumerate(lines) if line.startswith("grad "))
            assert same(" ".join(lines[value:grad])[6:], case.values[name]), lines
            assert same(" ".join(lines[grad:])[5:], case.grads[name]), lines
    edges = re.findall(r'n(\d+) -->\|"(.*?)"\| n(\d+)', diagrams[1])
    for source, label, target in edges:
        key = (name_of(results[1].graph, int(source)), name_of(results[1].graph, int(target)))
        assert same(label.replace("<br/>", " "), cases[1].sent[key]), (key, label)
    assert len(edges) == len(cases[1].sent)
    assert list(checked[2]["labels"]) == [f"n{i}" for i in range(6)]


# ---- the structure alone, and the command line ----------------------------------------------------


def test_the_structure_alone_says_its_shapes_come_with_the_values(bpcli):
    tree = bpcli("graph", LECTURE_TEXT, "--format", "tree")
    assert tree.code == 0, tree.stderr
    assert "W  (shape unknown: give its value)" in tree.stdout
    dot = bpcli("graph", LECTURE_TEXT, "--format", "dot")
    assert f"label=<{SHAPES_UNKNOWN}>" in dot.stdout
    assert "green: value" not in dot.stdout
    mermaid = bpcli("graph", LECTURE_TEXT, "--format", "mermaid")
    assert mermaid.stdout.splitlines()[1] == f"  %% {SHAPES_UNKNOWN}"
    page = bpcli("graph", LECTURE_TEXT, "--format", "html")
    assert page.code == 2 and "give the input values, --W VALUE --x VALUE" in page.stderr
    # a program over numbers draws its structure as it always did: no note
    assert "%%" not in bpcli("graph", "x*y", "--format", "mermaid").stdout


def test_graph_at_tensor_values_and_with_dout(bpcli):
    run = bpcli("graph", LECTURE_TEXT, *LECTURE_ARGS, "--format", "mermaid")
    assert run.code == 0, run.stderr
    assert "grad [[0.088, 0.176],<br/> [0.104, 0.208]]" in run.stdout
    # a layer's output, with its upstream gradient: W @ x at dout [1, 0] sends W [[x], [0]]
    layer = bpcli("graph", "q = W @ x", *LECTURE_ARGS, "--dout", "[1, 0]", "--format", "tree")
    assert layer.code == 0, layer.stderr
    (w_line,) = [line for line in layer.stdout.splitlines() if "W  (2, 2)" in line]
    assert same(w_line.split("∂")[1], [[0.2, 0.4], [0.0, 0.0]])
    refused = bpcli("graph", "q = W @ x", *LECTURE_ARGS)
    assert refused.code == 2 and "reduce it, e.g. sum(...), or give" in refused.stderr


def test_the_page_steps_are_the_walkthroughs_with_its_shapes():
    """The page's steps (the JSON its script reads; without a script, the list) for the
    lecture: the walkthrough's, with each gate's shapes (the dimension analysis), the
    numbers the lecture's by hand."""
    from bpcli.render.page import steps_of

    case = lecture()
    steps = steps_of(run_of(case))
    titles = [s.title for s in steps]
    assert titles[:5] == [
        "the inputs",
        "compute q",
        "compute pow1",
        "compute f",
        "start at the output f",
    ]
    assert steps[1].lines[1] == "q: (2, 2) @ (2,) → (2,)"
    assert same(steps[1].lines[0].rsplit("=", 1)[1], case.values["q"])
    to_w = steps[titles.index("matmul gate, matrix multiplier: to W")]
    assert to_w.lines[0] == "q = W @ x: matmul gate, matrix multiplier"
    assert to_w.lines[3] == "∂f/∂W = ∂f/∂q · xᵀ: (2,) ⊗ (2,) → (2, 2), the shape of W"
    assert same(to_w.lines[2].rsplit("=", 1)[1], case.grads["W"])
    assert to_w.contributions == [f"e{run_of(case).graph.node_named('q')}_0"]
    assert [s.phase for s in steps].count("backward") == 1 + 4  # the start, and 4 edges


# ---- the notebook ------------------------------------------------------------------------------


def svg_texts(svg: str, kind: str) -> list[str]:
    root = ET.fromstring(svg)
    found = root.iter("{http://www.w3.org/2000/svg}text")
    return [" ".join(el.itertext()) for el in found if kind in el.get("class", "").split()]


def test_a_tensor_result_in_a_notebook():
    case = lecture()
    result = run_of(case)
    data = result._repr_mimebundle_()
    assert set(data) == {"text/plain", "text/html", "text/markdown"}
    assert data["text/plain"] == "TensorResult(f=0.116, ∂f/∂W: (2, 2), ∂f/∂x: (2,))"
    page = data["text/html"]
    assert "<svg" in page and "<th>shape</th>" in page and "<script" not in page
    assert "<td>(2, 2)</td>" in page
    markdown = data["text/markdown"]
    assert markdown.startswith("f = **0.116**, ∂f/∂W = **[[0.088, 0.176], [0.104, 0.208]]**")
    (row,) = [line for line in markdown.splitlines() if line.startswith("| q |")]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[:4] == ["q", "matmul", "`W @ x`", "(2,)"]
    assert same(cells[4], case.values["q"]) and same(cells[5], case.grads["q"])


def test_the_notebooks_picture_holds_every_value_gradient_and_edge():
    case = net()
    svg = run_of(case).svg()
    values = svg_texts(svg, "value")
    assert len(values) == len(case.values) and all(
        any(same(text, v) for text in values) for v in case.values.values()
    )
    grads = [t.removeprefix("∂ ") for t in svg_texts(svg, "grad")]
    assert all(any(same(text, g) for text in grads) for g in case.grads.values())
    sent = svg_texts(svg, "sent")
    assert len(sent) == len(case.sent)
    assert all(any(same(text, g) for text in sent) for g in case.sent.values())


def test_the_page_view_steps_through_a_tensor_run():
    page = bpcli.grad(LECTURE_TEXT, LECTURE_AT, lr=0.1).page()
    assert str(page).startswith("<!DOCTYPE html>") and page._repr_html_().startswith("<iframe")
    assert "W = [[0.1, 0.5], [-0.3, 0.8]], x = [0.2, 0.4]" in str(page)


# ---- gradient descent: the chart and the plot ----------------------------------------------------


def descent(lr: float, steps: int) -> list[float]:
    """The lecture's f at every step of gradient descent, in NumPy by hand:
    W := W - lr·2q·xᵀ, x := x - lr·2Wᵀq, both from the same point."""
    W, x = np.array(LECTURE_AT["W"]), np.array(LECTURE_AT["x"])
    losses = [float(np.sum((W @ x) ** 2))]
    for _ in range(steps):
        q = W @ x
        W, x = W - lr * 2 * np.outer(q, x), x - lr * 2 * W.T @ q
        losses.append(float(np.sum((W @ x) ** 2)))
    return losses


def test_the_descent_chart_of_a_tensor_run(bpcli):
    losses = descent(0.5, 20)
    run = bpcli("grad", LECTURE_TEXT, *LECTURE_ARGS, "--lr", "0.5", "--steps", "20", "--no-nodes")
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    chart = lines.index("f over 20 steps")
    top, bottom = lines[chart + 1], lines[chart + 8]
    assert float(top.split("┤")[0]) == pytest.approx(max(losses), rel=1e-5)
    assert float(bottom.split("┤")[0]) == pytest.approx(min(losses), rel=1e-5)
    assert lines[chart + 10].split() == ["0", "20"]


@pytest.mark.parametrize("suffix", [".svg", ".png"])
def test_grad_plot_of_a_tensor_run(bpcli, tmp_path, suffix):
    pytest.importorskip("matplotlib")
    path = tmp_path / f"descent{suffix}"
    run = bpcli(
        "grad", LECTURE_TEXT, *LECTURE_ARGS, "--lr", "0.1", "--steps", "5", "--plot", str(path)
    )
    assert run.code == 0, run.stderr
    if suffix == ".png":
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        return
    text = " ".join(" ".join(ET.parse(path).getroot().itertext()).split())
    assert "gradient descent on f: α = 0.1, 5 steps" in text
    assert {"‖W‖", "‖x‖", "inputs", "step"} <= set(text.split())


def test_the_plot_draws_a_tensor_input_by_its_size():
    from bpcli.render.plot import _drawn

    assert _drawn("W", np.array([[3.0, 0.0], [0.0, 4.0]])) == ("‖W‖", 5.0)
    assert _drawn("b", 2.5) == ("b", 2.5)


def test_the_copy_gate_edges_by_hand():
    """TensorResult.sent: what each use sends back, q used twice (by hand: 2q and 1)."""
    case = copy_gate()
    result = bpcli.grad(COPY_TEXT, LECTURE_AT)
    graph = result.graph
    for node in graph.nodes:
        for k, source in enumerate(node.inputs):
            key = (name_of(graph, source), node.name)
            sent = result.sent(node.id, k)
            if key[0] == "const1":
                assert sent is None
            else:
                np.testing.assert_allclose(sent, case.sent[key], rtol=1e-12)
