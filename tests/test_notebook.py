"""bpcli in Jupyter and Colab: results that show themselves, the API's views, the magic,
the inline page, and docs/lecture.ipynb executed in a real kernel.

The lecture's numbers are worked by hand: f = (x+y)z at x=-2, y=5, z=-4 gives q = 3,
f = -12, ∂f/∂x = ∂f/∂y = z = -4, ∂f/∂z = q = 3, ∂f/∂q = z = -4; with α = 0.1,
x = -2 - 0.1·(-4) = -1.6, y = 5.4, z = -4 - 0.1·3 = -4.3, and (x+y)z = 3.8·(-4.3) = -16.34.
The neuron's (CS231n): w0=2, x0=-1, w1=-3, x1=-2, w2=-3 gives w·x = 1, f = σ(1) = 0.731059,
σ'(1) = f(1-f) = 0.196612, ∂f/∂x0 = w0·0.196612 = 0.393224, ∂f/∂x1 = w1·0.196612 = -0.589836.

Regenerate the committed notebook's outputs with BPCLI_WRITE_DOCS=1 pytest tests/test_notebook.py.
"""

from __future__ import annotations

import copy
import decimal
import fractions
import json
import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import bpcli
from bpcli import BindError
from conftest import unavailable

NOTEBOOK = Path(__file__).resolve().parent.parent / "docs" / "lecture.ipynb"
LECTURE = "(x+y)*z"
AT = {"x": -2, "y": 5, "z": -4}
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture
def lecture():
    return bpcli.grad("q = x + y; f = q * z", **AT)


# ---- what a Result and a Graph say of themselves --------------------------------------------


def test_repr_is_one_readable_line():
    assert repr(bpcli.grad(LECTURE, AT)) == "Result(f=-12, ∂f/∂x=-4, ∂f/∂y=-4, ∂f/∂z=3)"
    stepped = bpcli.grad(LECTURE, AT, lr=0.1)
    assert repr(stepped) == "Result(f=-12, ∂f/∂x=-4, ∂f/∂y=-4, ∂f/∂z=3, after 1 step: f=-16.34)"


def test_graph_shows_its_expression_and_sizes_not_its_columns():
    assert repr(bpcli.parse("q = x + y; f = q*z")) == (
        "Graph('q = x + y; f = q*z', 5 nodes, inputs x, y, z, output f)"
    )
    long = bpcli.parse(" + ".join(f"x{i}" for i in range(40)))
    text = repr(long)
    assert "codes" not in text and "array" not in text
    assert "79 nodes" in text and "x0, x1, x2, x3, x4, x5, x6, x7, …" in text
    assert len(text) < 160
    assert repr(bpcli.parse("2 * 3")) == "Graph('2 * 3', 3 nodes, no inputs, output f)"


def test_a_node_by_name(lecture):
    q = lecture["q"]
    assert (q.value, q.grad) == (3.0, -4.0)
    assert (lecture["x"].value, lecture["x"].grad) == (-2.0, -4.0)
    assert (lecture["f"].value, lecture["f"].grad) == (-12.0, 1.0)
    with pytest.raises(KeyError):
        lecture["w"]


def test_values_by_keyword_and_by_mapping():
    assert bpcli.grad("x*y", x=2, y=3).gradients == {"x": 3.0, "y": 2.0}
    assert bpcli.grad("x*y", {"x": 2}, y=3).gradients == {"x": 3.0, "y": 2.0}
    assert bpcli.grad("x*y", [("x", 2)], y=3).output == 6.0
    with pytest.raises(BindError, match="a value for x is given twice"):
        bpcli.grad("x*y", {"x": 2}, x=2, y=3)
    with pytest.raises(BindError, match="missing a value for y"):
        bpcli.grad("x*y", x=2)
    graph = bpcli.parse("x*y")
    assert bpcli.evaluate(graph, x=4, y=0.5).gradients == {"x": 0.5, "y": 4.0}


def test_numbers_from_numpy_fractions_and_decimals():
    np = pytest.importorskip("numpy")
    for value in (np.float32(0.5), np.float64(0.5), fractions.Fraction(1, 2), np.array(0.5)):
        assert bpcli.grad("x*y", x=value, y=4).gradients == {"x": 4.0, "y": 0.5}, repr(value)
    assert bpcli.grad("x*y", x=np.int64(3), y=decimal.Decimal("0.25")).output == 0.75
    assert bpcli.grad("x*y", x=np.array(3), y=2).output == 6.0
    # (np.array([1.0]) is a vector of one element now, issue 13: tests/test_tensor.py)
    for bad in (np.bool_(True), np.array(True), 1j, decimal.Decimal("NaN")):
        with pytest.raises(BindError, match="the value of x must be a number"):
            bpcli.grad("x*y", x=bad, y=1)
    with pytest.raises(BindError, match="too large for a float"):
        bpcli.grad("x*y", x=decimal.Decimal("1e400"), y=1)


# ---- the display protocol ---------------------------------------------------------------------


def _texts(svg: str, kind: str) -> list[str]:
    root = ET.fromstring(svg)
    return [el.text or "" for el in root.iter(f"{SVG}text") if kind in el.get("class", "").split()]


def test_the_mime_bundle(lecture):
    data = lecture._repr_mimebundle_()
    assert set(data) == {"text/plain", "text/html", "text/markdown"}
    assert data["text/plain"] == "Result(f=-12, ∂f/∂x=-4, ∂f/∂y=-4, ∂f/∂z=3)"
    page = data["text/html"]
    assert "<svg" in page and "<table>" in page and "<script" not in page
    assert "<code>q * z</code>" in page and "<code>x + y</code>" in page
    for number in ("-12", "3", "-4", "5", "-2", "1"):
        assert f">{number}</td>" in page
    assert lecture._repr_mimebundle_(include=["text/plain"]) == {"text/plain": data["text/plain"]}
    assert "text/html" not in lecture._repr_mimebundle_(exclude=["text/html"])


def test_the_svg_parses_and_holds_every_value_and_gradient(lecture):
    svg = lecture.svg()
    assert svg._repr_svg_() == str(svg)
    values = sorted(float(t) for t in _texts(svg, "value"))
    assert values == sorted([-2.0, 5.0, 3.0, -4.0, -12.0])  # x, y, q, z, f
    grads = sorted(float(t.replace("∂", "")) for t in _texts(svg, "grad"))
    assert grads == sorted([-4.0, -4.0, -4.0, 3.0, 1.0])  # x, y, q, z, f
    sent = sorted(float(t) for t in _texts(svg, "sent"))
    assert sent == sorted([-4.0, -4.0, -4.0, 3.0])  # f→q, f→z, q→x, q→y
    assert "<style>" in svg  # standalone: it carries its own colours


def test_two_pictures_in_one_page_share_no_ids():
    one = bpcli.grad(LECTURE, AT).svg()
    two = bpcli.grad("x*y", x=1, y=2).svg()
    ids = lambda svg: set(re.findall(r'\bid="([^"]+)"', svg))
    assert ids(one) and ids(two) and not ids(one) & ids(two)
    for svg in (one, two):
        for target in re.findall(r"url\(#([^)]+)\)", svg):
            assert target in ids(svg)
    assert one == bpcli.grad(LECTURE, AT).svg()  # the same result, the same bytes


def test_markdown_shows_answers_and_a_row_per_node(lecture):
    text = lecture._repr_mimebundle_()["text/markdown"]
    assert text.startswith("f = **-12**, ∂f/∂x = **-4**, ∂f/∂y = **-4**, ∂f/∂z = **3**\n")
    assert "| q | add | `x + y` | 3 | -4 |" in text
    assert "| f | mul | `q * z` | -12 | 1 |" in text
    stepped = bpcli.grad("q = x + y; f = q * z", **AT, lr=0.1)
    md = stepped._repr_mimebundle_()["text/markdown"]
    assert "After 1 step: x := -1.6, y := 5.4, z := -4.3; f = **-16.34**" in md


def test_a_big_graph_is_summarised_not_drawn():
    result = bpcli.grad(" + ".join(["x"] * 400), x=1)
    page = result._repr_mimebundle_()["text/html"]
    assert "<svg" not in page and "result.page()" in page
    assert page.count("<tr>") == 40 + 1 + 1  # the heading, 40 rows, the "more" row
    assert "… 360 more nodes" in page


# ---- the views, named as the CLI names them ----------------------------------------------------


@pytest.mark.parametrize(
    "method, argv",
    [
        ("table", ["grad"]),
        ("explain", ["grad", "--explain"]),
        ("markdown", ["grad", "--format", "markdown"]),
        ("latex", ["grad", "--format", "latex"]),
        ("dot", ["graph", "--format", "dot"]),
        ("mermaid", ["graph", "--format", "mermaid"]),
        ("tree", ["graph", "--format", "tree"]),
    ],
)
@pytest.mark.parametrize(
    "program, values, output",
    [
        (LECTURE, AT, "-12"),
        ("q = W @ x; f = sum(q^2)", {"W": [[0.1, 0.5], [-0.3, 0.8]], "x": [0.2, 0.4]}, "0.116"),
    ],
    ids=["numbers", "tensors"],
)
def test_each_view_is_what_the_command_line_prints(bpcli, method, argv, program, values, output):
    result = globals()["bpcli"].grad(program, values)
    given = [f"--{name}={json.dumps(value)}" for name, value in values.items()]
    run = bpcli(argv[0], program, *given, *argv[1:])
    assert run.code == 0, run.stderr
    text = getattr(result, method)()
    if method == "explain":  # grad --explain prints the table first
        assert run.stdout.endswith("\n" + text)
    else:
        assert text == run.stdout
    assert output in text


def test_text_views_show_as_text_not_as_a_quoted_string(lecture):
    from IPython.lib.pretty import pretty

    explained = lecture.explain()
    assert pretty(explained) == str(explained)
    assert "\\n" not in pretty(explained)
    assert lecture.markdown()._repr_markdown_() == str(lecture.markdown())


def test_the_page_shows_itself_in_a_frame(lecture):
    page = lecture.page()
    assert str(page).startswith("<!DOCTYPE html>")
    frame = page._repr_html_()
    assert frame.startswith("<iframe srcdoc=") and 'sandbox="allow-scripts"' in frame
    assert "<script" not in frame  # escaped inside srcdoc, not run by the notebook itself
    from IPython.lib.pretty import pretty

    assert len(pretty(page)) < 200  # not thirty thousand characters of HTML


# ---- the magic ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ipython():
    pytest.importorskip("IPython")
    from IPython.testing.globalipapp import get_ipython

    shell = get_ipython()  # one shell per process: IPython's own, started once
    shell.run_line_magic("load_ext", "bpcli")
    return shell


def _run(ipython, line: str, cell: str | None = None):
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        if cell is None:
            ipython.run_line_magic("bpcli", line)
        else:
            ipython.run_cell_magic("bpcli", line, cell)
    return captured


def _shown(captured) -> str:
    parts = [captured.stdout, captured.stderr]
    for output in captured.outputs:
        parts += output.data.values()
    return "\n".join(parts)


def test_line_magic_shows_the_result(ipython):
    captured = _run(ipython, 'grad "(x+y)*z" --x -2 --y 5 --z -4')
    (shown,) = captured.outputs
    assert shown.data["text/plain"] == "Result(f=-12, ∂f/∂x=-4, ∂f/∂y=-4, ∂f/∂z=3)"
    assert "<svg" in shown.data["text/html"]


def test_cell_magic_takes_the_program_and_the_cli_options(ipython):
    captured = _run(ipython, "--x -2 --y 5 --z -4 --lr 0.1 --explain", "q = x + y\nf = q * z\n")
    result, walkthrough = captured.outputs
    assert result.data["text/plain"].endswith("after 1 step: f=-16.34)")
    text = walkthrough.data["text/plain"]
    for line in ("∂f/∂x = ∂f/∂q · ∂q/∂x = -4 · 1 = -4", "after the update: f = -16.34"):
        assert line in text
    assert "-1.6" in text and "5.4" in text and "-4.3" in text


def test_magic_runs_other_command_lines_as_the_cli_prints_them(ipython):
    shown = _shown(_run(ipython, 'grad "(x+y)*z" --x -2 --y 5 --z -4 --json --no-nodes'))
    data = json.loads(shown.strip())
    assert data["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}
    tree = _shown(_run(ipython, 'graph "(x+y)*z" --x -2 --y 5 --z -4 --format tree'))
    assert "∂ -4" in tree and "∂ 3" in tree
    batch = _run(ipython, "batch", '{"expr": "x*y", "values": {"x": 2, "y": 3}}\n')
    assert json.loads(batch.stdout)["result"]["gradients"] == {"x": 3.0, "y": 2.0}


def test_magic_shows_the_page_inline(ipython):
    (shown,) = _run(ipython, 'graph "(x+y)*z" --x -2 --y 5 --z -4 --format html').outputs
    assert shown.data["text/html"].startswith("<iframe srcdoc=")


def test_magic_errors_are_bpcli_messages_with_a_caret_not_tracebacks(ipython):
    captured = _run(ipython, 'grad "(x+y*z" --x -2 --y 5 --z -4')
    text = _shown(captured)
    assert "the expression ends too early: expected ')'" in text
    assert "  (x+y*z\n" in text and "        ^" in text
    assert "Traceback" not in text and not captured.outputs
    unknown = _shown(_run(ipython, 'grad "(x+y)*z" --x -2 --y 5 --zz -4'))
    assert "zz is not an input of the expression; did you mean z?" in unknown
    assert "Traceback" not in unknown
    option = _shown(_run(ipython, 'grad "x" --x 1 --lr'))
    assert "requires an argument" in option and "Traceback" not in option
    quote = _shown(_run(ipython, 'grad "x'))
    assert "cannot be read" in quote and "Traceback" not in quote
    cell = _shown(_run(ipython, "check", "anything"))
    assert "takes no cell" in cell


TENSOR_LECTURE = "q = W @ x; f = sum(q^2)"
MAGIC_VALUES = "--W '[[0.1, 0.5], [-0.3, 0.8]]' --x '[0.2, 0.4]'"


def test_the_magic_takes_tensor_values(ipython):
    (shown,) = _run(ipython, f'grad "{TENSOR_LECTURE}" {MAGIC_VALUES}').outputs
    assert shown.data["text/plain"] == "TensorResult(f=0.116, ∂f/∂W: (2, 2), ∂f/∂x: (2,))"
    assert "<th>shape</th>" in shown.data["text/html"]
    (cell,) = _run(ipython, MAGIC_VALUES + " --lr 0.1", "q = W @ x\nf = sum(q^2)\n").outputs
    assert "after the update" not in cell.data["text/plain"]  # the repr is one line
    assert "<b>0.0715954</b>" in cell.data["text/html"]  # sum((W - 0.1·2qxᵀ)(x - 0.1·2Wᵀq))²
    (page,) = _run(ipython, f'graph "{TENSOR_LECTURE}" {MAGIC_VALUES} --format html').outputs
    assert page.data["text/html"].startswith("<iframe srcdoc=")
    (layer,) = _run(ipython, f'grad "W @ x" {MAGIC_VALUES} --dout "[1, 0]"').outputs
    assert layer.data["text/plain"].startswith("TensorResult(f: (2,)")


def test_the_magic_walks_through_a_tensor_run(ipython):
    result, walkthrough = _run(ipython, f'grad "{TENSOR_LECTURE}" {MAGIC_VALUES} --explain').outputs
    assert result.data["text/plain"].startswith("TensorResult(f=0.116")
    text = walkthrough.data["text/plain"]
    assert "∂f/∂W = ∂f/∂q · xᵀ: (2,) ⊗ (2,) → (2, 2), the shape of W" in text


# ---- docs/lecture.ipynb, executed in a real kernel -------------------------------------------------


def _outputs(notebook) -> list[list[dict[str, str]]]:
    """Each code cell's outputs as texts: what a reader sees, not the volatile metadata."""
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for output in cell.outputs:
            if output.output_type == "stream":
                outputs.append({output.name: output.text})
            elif output.output_type in ("display_data", "execute_result"):
                outputs.append(dict(output.data))
            else:
                outputs.append({"error": output.get("ename", "")})
        cells.append(outputs)
    return cells


@pytest.fixture(scope="module")
def executed():
    try:
        import nbclient
        import nbformat
    except ImportError:
        unavailable("nbclient and nbformat are not installed: pip install '.[test]'")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    fresh = copy.deepcopy(notebook)
    client = nbclient.NotebookClient(fresh, timeout=180, kernel_name="python3")
    client.execute(cwd=str(NOTEBOOK.parent))
    if os.environ.get("BPCLI_WRITE_DOCS"):
        for cell in fresh.cells:
            cell.get("metadata", {}).pop("execution", None)
        nbformat.write(fresh, NOTEBOOK)
        notebook = fresh
    return notebook, fresh


@pytest.mark.integration
def test_the_notebook_runs_and_shows_the_lecture(executed):
    _, fresh = executed
    cells = _outputs(fresh)
    assert not any("error" in output for outputs in cells for output in outputs)
    every = json.dumps(cells, ensure_ascii=False)
    assert "Result(f=-12, ∂f/∂x=-4, ∂f/∂y=-4, ∂f/∂z=3)" in every
    assert "(3.0, -4.0)" in every  # q's value and gradient
    assert "{'x': -1.6, 'y': 5.4, 'z': -4.3}, -16.34" in every  # the update step, by the API
    assert "TensorResult(f=0.116, ∂f/∂W: (2, 2), ∂f/∂x: (2,))" in every  # CS231n's ‖Wx‖²
    assert "W  (2, 2)  [[0.1, 0.5], [-0.3, 0.8]]  ∂ [[0.088, 0.176], [0.104, 0.208]]" in every
    magic = [c for c in fresh.cells if c.cell_type == "code" and c.source.startswith("%%bpcli")]
    (cell,) = magic
    shown = json.dumps(_cell_outputs(cell), ensure_ascii=False)
    for number in ("-16.34", "-1.6", "5.4", "-4.3", "∂f/∂x = ∂f/∂q · ∂q/∂x = -4 · 1 = -4"):
        assert number in shown
    for value in ("0.731059", "0.393224", "-0.589836"):  # the neuron
        assert value in every


def _cell_outputs(cell) -> list[dict[str, str]]:
    return [
        dict(o.get("data", {})) | ({o.name: o.text} if "text" in o else {}) for o in cell.outputs
    ]


@pytest.mark.integration
def test_the_committed_outputs_are_a_fresh_executions(executed):
    committed, fresh = executed
    assert _outputs(committed) == _outputs(fresh), (
        "docs/lecture.ipynb is stale: BPCLI_WRITE_DOCS=1 pytest tests/test_notebook.py"
    )


@pytest.mark.integration
def test_the_executed_notebook_in_chromium(executed, tmp_path):
    from test_page import CHROMIUM

    try:
        from nbconvert import HTMLExporter
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("nbconvert and playwright are not installed: pip install '.[test]'")
    if not Path(CHROMIUM).exists():
        unavailable("Chromium is not installed (Debian: chromium); .ci/run installs it")
    _, fresh = executed
    body, _ = HTMLExporter().from_notebook_node(fresh)
    path = tmp_path / "lecture.html"
    path.write_text(body, encoding="utf-8")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_context(offline=True, viewport={"width": 1100, "height": 900}).new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(path.as_uri(), wait_until="domcontentloaded")
        result = page.locator(".bpcli-result").first
        assert result.is_visible()
        text = result.inner_text()
        for number in ("-12", "-4", "3"):
            assert number in text
        svg_texts = result.locator("svg text").all_text_contents()
        assert {"-12", "∂ 1", "∂ -4", "∂ 3"} <= set(svg_texts)
        frame = page.frame_locator("iframe").first  # the neuron's page, stepping inline
        frame.locator("#next").click()
        frame.locator("#next").click()
        assert frame.locator("#step-number").inner_text() == "3"
        frame.locator("#last").click()
        assert "0.731059" in frame.locator("body").inner_text()
        assert not [e for e in errors if "require" not in e and "MathJax" not in e], errors
        browser.close()
