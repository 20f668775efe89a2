"""The HTML step-through page: its steps, its file, and the page in a real browser.

The browser tests open the file from disk in headless Chromium (Debian's, driven
by Playwright) with the network off, step through the lecture example and check
what is on the graph and in the panel at every step against the slides' numbers.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

import bpcli
from bpcli.render.page import steps_of, to_html
from conftest import LECTURE, unavailable
from hostile import markup_in_texts

DOCS = Path(__file__).parent.parent / "docs"
CHROMIUM = "/usr/bin/chromium"

# The lecture, worked by hand: q = -2 + 5 = 3, f = 3 · -4 = -12; df/dq = z = -4,
# df/dz = q = 3, df/dx = df/dy = -4; x := -2 - 0.1(-4) = -1.6, y := 5.4, z := -4.3;
# the new f = (-1.6 + 5.4)(-4.3) = -16.34.
LECTURE_STEPS = [
    ("forward", ["inputs: x = -2, y = 5, z = -4"]),
    ("forward", ["q = x + y = -2 + 5 = 3"]),
    ("forward", ["f = q · z = 3 · (-4) = -12"]),
    ("backward", ["∂f/∂f = 1"]),
    ("backward", ["f = q · z: mul gate, swap multiplier",
                  "downstream ∂f/∂q = upstream ∂f/∂f · local ∂(q·z)/∂q",
                  "∂f/∂q = ∂f/∂f · ∂(q·z)/∂q = 1 · z = 1 · (-4) = -4"]),
    ("backward", ["f = q · z: mul gate, swap multiplier",
                  "downstream ∂f/∂z = upstream ∂f/∂f · local ∂(q·z)/∂z",
                  "∂f/∂z = ∂f/∂f · ∂(q·z)/∂z = 1 · q = 1 · 3 = 3"]),
    ("backward", ["q = x + y: add gate, gradient distributor",
                  "downstream ∂f/∂x = upstream ∂f/∂q · local ∂q/∂x",
                  "∂f/∂x = ∂f/∂q · ∂q/∂x = -4 · 1 = -4"]),
    ("backward", ["q = x + y: add gate, gradient distributor",
                  "downstream ∂f/∂y = upstream ∂f/∂q · local ∂q/∂y",
                  "∂f/∂y = ∂f/∂q · ∂q/∂y = -4 · 1 = -4"]),
    ("update", ["x := x - α × ∂f/∂x = -2 - 0.1 × (-4) = -1.6",
                "y := y - α × ∂f/∂y = 5 - 0.1 × (-4) = 5.4",
                "z := z - α × ∂f/∂z = -4 - 0.1 × 3 = -4.3",
                "after the update: f = -16.34"]),
]  # fmt: skip

# What the graph shows after each step: values (green) and gradients (red), by node name.
SHOWN = [
    ({"x": "-2", "y": "5", "z": "-4"}, {}),
    ({"x": "-2", "y": "5", "z": "-4", "q": "3"}, {}),
    ({"x": "-2", "y": "5", "z": "-4", "q": "3", "f": "-12"}, {}),
    ({"x": "-2", "y": "5", "z": "-4", "q": "3", "f": "-12"}, {"f": "1"}),
    ({"x": "-2", "y": "5", "z": "-4", "q": "3", "f": "-12"}, {"f": "1", "q": "-4"}),
    ({"x": "-2", "y": "5", "z": "-4", "q": "3", "f": "-12"}, {"f": "1", "q": "-4", "z": "3"}),
    ({"x": "-2", "y": "5", "z": "-4", "q": "3", "f": "-12"}, {"f": "1", "q": "-4", "z": "3", "x": "-4"}),
    ({"x": "-2", "y": "5", "z": "-4", "q": "3", "f": "-12"},
     {"f": "1", "q": "-4", "z": "3", "x": "-4", "y": "-4"}),
    ({"x": "-2", "y": "5", "z": "-4", "q": "3", "f": "-12"},
     {"f": "1", "q": "-4", "z": "3", "x": "-4", "y": "-4"}),
]  # fmt: skip


def lecture():
    return bpcli.grad("q = x + y; f = q * z", LECTURE, lr=0.1)


def test_lecture_steps():
    steps = steps_of(lecture())
    assert [(s.phase, s.lines) for s in steps] == LECTURE_STEPS
    assert "swap multiplier" in steps[4].reason and "distributor" in steps[6].reason


def test_copy_gate_step_adds_the_uses():
    # f = x*x + x at x = 3: the mul gate sends 3 and 3, the add gate 1; df/dx = 2x + 1 = 7
    steps = steps_of(bpcli.grad("x*x + x", {"x": 3}))
    copy = [s for s in steps if s.title.startswith("copy gate")]
    assert len(copy) == 1
    assert copy[0].lines == ["x: copy gate, gradient adder (used 3 times)", "∂f/∂x = 3 + 3 + 1 = 7"]
    assert len(copy[0].edges) == 3  # its three uses light up


@pytest.mark.integration
def test_the_page_fetches_nothing():
    page = to_html(lecture())
    assert page.count("<script") == 2  # the steps as JSON, and the script
    assert not re.search(r"<link|<img|<iframe|@import|\bsrc=|href=", page)
    urls = set(re.findall(r"https?://[^\s\"')]+", page))
    assert urls <= {"http://www.w3.org/2000/svg"}  # the SVG namespace, not a fetch
    assert re.findall(r"url\(([^)]*)\)", page) == ["#arrow"] * page.count("url(#arrow)")


@pytest.mark.integration
def test_hostile_text_stays_text():
    """A comment inside parentheses is not a node's text; and markup in a text
    (tests/hostile.py) is shown as text, never run."""
    page = to_html(bpcli.grad("(x # </script><script>alert(1)</script> & <b>\n) * 2", {"x": 1}))
    assert page.count("<script") == 2 and "alert" not in page and "<b>" not in page
    with markup_in_texts():
        page = to_html(bpcli.grad("(x\n) * 2", {"x": 1}))
    assert page.count("<script") == 2 and "<b>" not in page
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in page


def test_the_page_is_titled_by_the_program_without_its_comments():
    """A file's comment line is not code: the title and the heading show the program's
    statements on one line; a one-line expression stays as typed."""
    source = "# A two-layer net\nh = relu(W @ x)\n\nloss = sum(h)  # the loss\n"
    page = to_html(bpcli.grad(source, {"W": [[1.0, -1.0]], "x": [2.0, 1.0]}))
    program = "h = relu(W @ x); loss = sum(h)"
    assert f"<title>bpcli: {program}</title>" in page
    assert f"Backpropagation through <code>{program}</code>" in page
    assert "A two-layer net" not in page
    page = to_html(bpcli.grad("(x + y) *  z", {"x": -2, "y": 5, "z": -4}))
    assert "<title>bpcli: (x + y) *  z</title>" in page
    page = to_html(bpcli.grad("q = x + y\nq * z", {"x": -2, "y": 5, "z": -4}))
    assert "<title>bpcli: q = x + y; q * z</title>" in page


def test_without_graphviz_bpcli_lays_it_out(bpcli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on the PATH
    out = tmp_path / "page.html"
    run = bpcli("graph", "q = x + y; f = q * z", "x=-2", "y=5", "z=-4", "--output", str(out))
    assert run.code == 0, run.stderr
    page = out.read_text(encoding="utf-8")
    assert "laid out by bpcli by depth" in page
    boxes = [
        tuple(map(float, m))
        for m in re.findall(
            r'<g class="node[^"]*"[^>]*><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"', page
        )
    ]
    centres = sorted({round(x + width / 2, 1) for x, _, width in boxes})
    assert len(centres) == 3  # columns: the inputs, q, f


@pytest.mark.integration
def test_with_graphviz_dot_lays_it_out(bpcli, tmp_path):
    if shutil.which("dot") is None:
        pytest.fail("Graphviz's dot is not installed (.ci/run installs it)")
    out = tmp_path / "page.html"
    run = bpcli("graph", "(x+y)*z", "x=-2", "y=5", "z=-4", "--format", "html", "--output", str(out))
    assert run.code == 0, run.stderr
    assert "laid out by Graphviz" in out.read_text(encoding="utf-8")


# ---- in a real browser -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    message = ""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        message = "Playwright is not installed: pip install '.[test]'"
    if not message and not Path(CHROMIUM).exists():
        message = "Chromium is not installed (Debian: chromium); .ci/run installs it"
    if message:
        unavailable(message)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run"],
        )  # fmt: skip
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser):
    """Open an HTML file offline (at `fragment`, in a window `width` px wide); any request
    other than the file itself fails the test."""
    contexts = []

    def open_(path: Path, fragment: str = "", width: int = 1000, **options):
        context = browser.new_context(
            offline=True, viewport={"width": width, "height": 760}, **options
        )
        contexts.append(context)
        page = context.new_page()
        requests, errors = [], []
        page.on("request", lambda r: requests.append(r.url))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.goto(path.as_uri() + fragment)
        page.wait_for_load_state("load")
        page.requests, page.errors = requests, errors
        page.file_url = path.as_uri()  # the one request; page.url also has the #step-N shown
        return page

    yield open_
    for context in contexts:
        context.close()


def shown(page, kind: str) -> dict[str, str]:
    """Node name -> the text of its value or gradient, for those visible now."""
    return page.evaluate(
        """kind => {
            const out = {};
            document.querySelectorAll('[data-' + kind + ']').forEach(el => {
                if (getComputedStyle(el).visibility !== 'visible') return;
                const node = el.closest('.node');
                const sub = node.querySelector('.sub');
                const name = sub ? sub.textContent.split(' · ')[0] : node.querySelector('.title').textContent;
                out[name] = el.textContent.replace(/^∂ /, '');
            });
            return out;
        }""",
        kind,
    )


def panel(page) -> list[str]:
    return page.eval_on_selector_all("#explanation .eq", "els => els.map(e => e.textContent)")


def write_lecture_page(bpcli, folder: Path) -> Path:
    out = folder / "lecture.html"
    run = bpcli("graph", "q = x + y; f = q * z", "--x", "-2", "--y", "5", "--z", "-4",
                "--lr", "0.1", "--format", "html", "--output", str(out))  # fmt: skip
    assert run.code == 0, run.stderr
    return out


@pytest.mark.integration
def test_stepping_through_the_lecture(bpcli, open_page, tmp_path):
    page = open_page(write_lecture_page(bpcli, tmp_path))
    total = len(LECTURE_STEPS)
    for i, ((phase, lines), (values, grads)) in enumerate(zip(LECTURE_STEPS, SHOWN, strict=True)):
        if i:
            page.keyboard.press("ArrowRight")
        assert page.inner_text("#step-number") == str(i + 1)
        assert f"of {total}" in page.inner_text(".counter")
        assert page.inner_text("#phase") == (
            "update step" if phase == "update" else f"{phase} pass"
        )
        assert panel(page) == lines
        assert shown(page, "value") == values
        assert shown(page, "grad") == grads
    page.keyboard.press("ArrowRight")  # past the end: stays
    assert page.inner_text("#step-number") == str(total)
    page.keyboard.press("Home")
    assert page.inner_text("#step-number") == "1" and shown(page, "grad") == {}
    page.keyboard.press("End")
    assert page.inner_text("#step-number") == str(total)
    page.keyboard.press("ArrowLeft")
    assert panel(page) == LECTURE_STEPS[-2][1]
    assert page.requests == [page.file_url] and page.errors == []
    page.screenshot(path=str(tmp_path / "step.png"))
    assert (tmp_path / "step.png").stat().st_size > 10_000


@pytest.mark.integration
def test_buttons_and_keyboard_alone(bpcli, open_page, tmp_path):
    page = open_page(write_lecture_page(bpcli, tmp_path))
    assert page.is_disabled("#back") and page.is_disabled("#first")
    page.keyboard.press("Tab")  # the first focusable thing is a control, reached by keyboard
    focused = page.evaluate("document.activeElement.id")
    assert focused in {"next", "last", "all"}
    page.focus("#next")
    page.keyboard.press("Enter")
    page.keyboard.press("Space")
    assert page.inner_text("#step-number") == "3"
    assert panel(page) == LECTURE_STEPS[2][1]
    page.click("#back")
    assert page.inner_text("#step-number") == "2"
    page.click("#last")
    assert page.is_disabled("#next") and panel(page)[-1] == "after the update: f = -16.34"
    page.click("#first")
    assert page.inner_text("#step-number") == "1"


@pytest.mark.integration
def test_show_all_at_once(bpcli, open_page, tmp_path):
    page = open_page(write_lecture_page(bpcli, tmp_path))
    page.click("#all")
    assert page.get_attribute("#all", "aria-pressed") == "true"
    assert shown(page, "value") == SHOWN[-1][0] and shown(page, "grad") == SHOWN[-1][1]
    assert page.is_visible("#all-steps")
    assert page.locator("#all-steps li").count() == len(LECTURE_STEPS)
    sent = page.eval_on_selector_all(".sent", "els => els.map(e => getComputedStyle(e).visibility)")
    assert sent == ["visible"] * 4  # every edge's contribution
    page.click("#all")
    assert shown(page, "grad") == {}  # back to step 1


@pytest.mark.integration
def test_print_and_dark_mode(bpcli, open_page, tmp_path):
    path = write_lecture_page(bpcli, tmp_path)
    light = open_page(path, color_scheme="light")
    dark = open_page(path, color_scheme="dark")

    def colours(page):
        return page.evaluate("""() => [getComputedStyle(document.body).backgroundColor,
            getComputedStyle(document.querySelector('.value')).fill,
            getComputedStyle(document.querySelector('.grad')).fill]""")

    (bg_light, value_light, grad_light), (bg_dark, value_dark, grad_dark) = (
        colours(light),
        colours(dark),
    )
    assert bg_light == "rgb(255, 255, 255)" and bg_dark != bg_light
    assert value_light != value_dark and grad_light != grad_dark
    dark.emulate_media(media="print")
    assert shown(dark, "value") == SHOWN[-1][0] and shown(dark, "grad") == SHOWN[-1][1]
    assert not dark.is_visible("nav") and dark.is_visible("#all-steps")
    assert colours(dark)[0] == "rgb(255, 255, 255)"  # printed on white whatever the screen


@pytest.mark.integration
def test_numbers_are_the_jsons_to_six_digits(bpcli, open_page, tmp_path):
    """A neuron with awkward numbers: every value and gradient on the page is the
    --json number written with 6 significant digits (the table's rounding)."""
    expr = "f = sigmoid(w0*x0 + w1*x1 + w2)"
    values = ["w0=2.0001", "x0=-1.23456789", "w1=-3.1", "x1=-2.222", "w2=-3.3"]
    data = json.loads(bpcli("grad", expr, *values, "--json").stdout)
    out = tmp_path / "neuron.html"
    assert bpcli("graph", expr, *values, "--output", str(out)).code == 0
    page = open_page(out)
    page.click("#all")
    expected_values = {
        n["name"]: format(n["value"], ".6g") for n in data["nodes"] if n["op"] != "const"
    }
    expected_grads = {
        n["name"]: format(n["grad"], ".6g") for n in data["nodes"] if n["grad"] is not None
    }
    assert shown(page, "value") == expected_values
    assert shown(page, "grad") == expected_grads


@pytest.mark.integration
@pytest.mark.parametrize(
    ("expr", "values"),
    [
        ("α = x_1 * 2; β = max(α, -α, 0); 가 = β ^ 2 + abs(α); f = 가 / 3", {"x_1": 1.5}),
        ("w" * 300 + " * x + " + " + ".join(["sin(x)"] * 30), {"w" * 300: 2.0, "x": 0.5}),
        (
            " + ".join(f"w{i} * x" for i in range(170)),
            {**{f"w{i}": i / 10 for i in range(170)}, "x": 2.0},
        ),
    ],
    ids=["unicode-names", "long-names", "500-nodes"],
)
def test_hostile_labels_still_give_a_working_page(open_page, tmp_path, expr, values):
    result = bpcli.grad(expr, values, lr=0.01)
    out = tmp_path / "page.html"
    out.write_text(to_html(result), encoding="utf-8")
    page = open_page(out)
    steps = len(steps_of(result))
    page.keyboard.press("End")
    assert page.inner_text("#step-number") == str(steps)
    assert panel(page)[-1].startswith("after the update: f = ")
    assert page.errors == [] and page.requests == [page.file_url]
    assert page.locator(".node").count() == len(result.nodes)


@pytest.mark.integration
def test_screenshot_for_the_readme(bpcli, open_page, tmp_path):
    """The README's picture of the page: the lecture at the swap multiplier's step.
    BPCLI_WRITE_DOCS=1 writes it to docs/step-through.png."""
    page = open_page(write_lecture_page(bpcli, tmp_path))
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    assert panel(page)[1:] == [
        "downstream ∂f/∂q = upstream ∂f/∂f · local ∂(q·z)/∂q",
        "∂f/∂q = ∂f/∂f · ∂(q·z)/∂q = 1 · z = 1 · (-4) = -4",
    ]
    target = (
        DOCS / "step-through.png" if os.environ.get("BPCLI_WRITE_DOCS") else tmp_path / "shot.png"
    )
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000
    assert (DOCS / "step-through.png").is_file()  # committed, shown by the README


@pytest.mark.integration
def test_a_bare_constant_and_unused_statements_are_all_shown(open_page, tmp_path):
    """Every value and gradient on the page appears at some step (or with show all):
    a constant output, and a statement that goes unused (its gradient is 0)."""
    for expr, values in [("2.50", {}), ("a = x*2; b = a + a; a", {"x": 3.0})]:
        result = bpcli.grad(expr, values, lr=0.1)
        out = tmp_path / "page.html"
        out.write_text(to_html(result), encoding="utf-8")
        page = open_page(out)
        page.keyboard.press("End")
        texts = page.eval_on_selector_all(
            "[data-value], [data-grad], [data-sent]",
            "els => els.map(e => getComputedStyle(e).visibility)",
        )
        page.click("#all")
        after = page.eval_on_selector_all(
            "[data-value], [data-grad], [data-sent]",
            "els => els.map(e => getComputedStyle(e).visibility)",
        )
        assert after and after == ["visible"] * len(after), expr
        if expr == "2.50":
            assert texts == ["visible"] * len(texts)  # the constant and its gradient 1


def test_an_unused_input_and_an_update_with_no_inputs_have_their_steps():
    # a = x * 2 goes unused: x's gradient 0 appears at a step of its own
    steps = steps_of(bpcli.grad("a = x*2; y*3", {"x": 1, "y": 2}))
    (unused,) = [s for s in steps if s.title == "x: not used by the output"]
    assert unused.lines == ["∂f/∂x = 0"] and unused.grads == [0]
    # 2 * 3 with --lr: the update step says nothing changes, and f stays 6
    update = steps_of(bpcli.grad("2*3", {}, lr=0.1))[-1]
    assert update.phase == "update"
    assert update.lines == ["after the update: f = 6"]
    assert update.reason == "gradient descent: there are no inputs, so nothing changes"


# ---- labels never hidden, a page that scrolls, a step in the address ---------------------------

NEURON = ("1/(1+exp(-(w0*x0+w1*x1+w2)))", ["w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3"])
THIRTY_NODES = (  # 30 nodes: two hidden units, a relu, a squared error, weight decay
    "h1 = tanh(w1*x + b1); h2 = sigmoid(w2*x + b2); h3 = relu(w3*h1 - w4*h2 + b3);"
    " f = (h3 - y)^2 + 0.01*(w1*w1 + w2*w2) - h1",
    ["w1=0.5", "x=1.5", "b1=-0.2", "w2=-1.2", "b2=0.3", "w3=0.8", "w4=-0.6", "b3=0.1", "y=0.25"],
)
COPY_GATE = ("q = x + y; f = q*q + q + x*x*x", ["x=1", "y=2"])


def page_of(expr: str, values: list[str], run_dot=None) -> str:
    """The page of `expr` at `values` (`name=number` each), laid out through `run_dot`."""
    given = dict(value.split("=") for value in values)
    return to_html(bpcli.grad(expr, {k: float(v) for k, v in given.items()}), run_dot=run_dot)


def as_the_page_writes(number: float) -> str:
    """A number to 6 significant digits, as the page writes it (0 for -0)."""
    return "0" if number == 0 else format(number, ".6g")


def sent_by_edge(data: dict) -> dict[str, str]:
    """Edge `e<target>_<k>` -> the gradient that use sends back, from `grad --json`'s
    `uses`: a source's uses of one target are its edges into it in input order."""
    nodes = data["nodes"]
    out = {}
    for node in nodes:
        taken: dict[int, int] = {}
        for k, source in enumerate(node["inputs"]):
            uses = [u for u in nodes[source]["uses"] if u["node"] == node["id"]]
            use = uses[taken.get(source, 0)]
            taken[source] = taken.get(source, 0) + 1
            if use["grad"] is not None:
                out[f"e{node['id']}_{k}"] = as_the_page_writes(use["grad"])
    return out


LABELS_AND_BOXES = """() => {
    const box = el => { const b = el.getBBox(); return [b.x, b.y, b.x + b.width, b.y + b.height]; };
    const labels = [...document.querySelectorAll('text.sent')].map(el => {
        el.scrollIntoView({block: 'center', inline: 'center'});
        const r = el.getBoundingClientRect();
        const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
        const label = el.closest('.label');  // the text and its background
        return {edge: el.dataset.sent, text: el.textContent, box: box(label),
                background: box(label.querySelector('rect')), text_box: box(el),
                on_top: label.contains(hit)};
    });
    return {labels, nodes: [...document.querySelectorAll('.node rect')].map(box)};
}"""


def overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.integration
@pytest.mark.parametrize("engine", ["graphviz", "bpcli"])
@pytest.mark.parametrize(
    ("expr", "values"), [NEURON, THIRTY_NODES, COPY_GATE], ids=["neuron", "30-nodes", "copy-gate"]
)
def test_no_label_is_hidden_under_a_box(bpcli, open_page, tmp_path, expr, values, engine):
    """Every edge's gradient is drawn where no node box covers it, on top, and reads
    exactly as the JSON's gradient of that use (on the neuron, the page once showed
    `393224` for 0.393224: the box covered the rest)."""
    from bpcli.graphviz import layout_json

    if engine == "graphviz" and shutil.which("dot") is None:
        pytest.fail("Graphviz's dot is not installed (.ci/run installs it)")
    data = json.loads(bpcli("grad", expr, *values, "--json").stdout)
    page_html = page_of(expr, values, layout_json if engine == "graphviz" else None)
    assert ("laid out by Graphviz" in page_html) == (engine == "graphviz")
    out = tmp_path / "page.html"
    out.write_text(page_html, encoding="utf-8")
    page = open_page(out)
    page.click("#all")
    drawn = page.evaluate(LABELS_AND_BOXES)
    assert {label["edge"]: label["text"] for label in drawn["labels"]} == sent_by_edge(data)
    assert len(drawn["nodes"]) == len(data["nodes"])
    for label in drawn["labels"]:
        hidden = [node for node in drawn["nodes"] if overlap(label["box"], node)]
        assert not hidden, (label, hidden)
        assert label["on_top"], label  # nothing drawn over the number
        # the text within its background (the group's own box holds the text, always)
        back = label["background"]
        assert all(a <= b for a, b in zip(back[:2], label["text_box"][:2], strict=True))
        assert all(a >= b for a, b in zip(back[2:], label["text_box"][2:], strict=True))


READABLE_PX = 8.5  # the smallest label text, in CSS pixels, that still reads on a phone


@pytest.mark.integration
def test_a_narrow_window_scrolls_the_graph_rather_than_shrink_it(tmp_path, open_page):
    out = tmp_path / "neuron.html"
    out.write_text(page_of(*NEURON), encoding="utf-8")
    page = open_page(out, width=400)
    page.click("#all")
    sizes = page.eval_on_selector_all(
        "text[data-sent]",
        "els => els.map(e => e.getScreenCTM().a * parseFloat(getComputedStyle(e).fontSize))",
    )
    assert sizes and min(sizes) >= READABLE_PX, sizes
    scrolled = page.evaluate("""() => {
        const figure = document.querySelector('figure');
        const wide = figure.scrollWidth > figure.clientWidth;
        figure.scrollLeft = 10000;
        return [wide, figure.scrollLeft, document.documentElement.scrollWidth];
    }""")
    assert scrolled[0] and scrolled[1] > 0  # the figure scrolls …
    assert scrolled[2] <= 400  # … and the page itself does not


@pytest.mark.integration
def test_the_address_opens_a_step_and_follows_the_stepping(bpcli, open_page, tmp_path):
    path = write_lecture_page(bpcli, tmp_path)
    page = open_page(path, fragment="#step-5")
    assert page.inner_text("#step-number") == "5"
    assert panel(page) == LECTURE_STEPS[4][1]
    assert shown(page, "grad") == SHOWN[4][1]
    page.keyboard.press("ArrowRight")
    assert page.evaluate("location.hash") == "#step-6"
    page.click("#first")
    assert page.evaluate("location.hash") == "#step-1"
    page.evaluate("location.hash = '#step-3'")  # a link within the page, or typed
    page.wait_for_function("document.getElementById('step-number').textContent === '3'")
    assert panel(page) == LECTURE_STEPS[2][1]
    beyond = open_page(path, fragment="#step-99")  # past the end: the last step
    assert beyond.inner_text("#step-number") == str(len(LECTURE_STEPS))
    assert beyond.evaluate("location.hash") == f"#step-{len(LECTURE_STEPS)}"
    plain = open_page(path)  # no fragment: step 1, and the address left as it was
    assert plain.inner_text("#step-number") == "1" and plain.evaluate("location.hash") == ""
    assert page.requests == [page.file_url] and page.errors == []


# ---- a tensor program's page: shapes, matrices a row a line, nothing hidden ------------------

TENSOR_DRAWN = """() => {
    const box = el => { const b = el.getBBox(); return [b.x, b.y, b.x + b.width, b.y + b.height]; };
    const seen = el => {  // the element's centre, on screen: is it the topmost thing there?
        el.scrollIntoView({block: 'center', inline: 'center'});
        const r = el.getBoundingClientRect();
        return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
    };
    const labels = [...document.querySelectorAll('text.sent')].map(el => {
        const label = el.closest('.label');
        return {edge: el.dataset.sent, text: el.textContent, box: box(label),
                background: box(label.querySelector('rect')), text_box: box(el),
                on_top: label.contains(seen(el))};
    });
    const nodes = [...document.querySelectorAll('.node')].map(node => ({
        id: Number(node.dataset.node), rect: box(node.querySelector('rect')),
        texts: [...node.querySelectorAll(':scope > text')].map(el => ({
            kind: el.classList[0], text: el.textContent, box: box(el),
            on_top: node.contains(seen(el)),
            visible: getComputedStyle(el).visibility === 'visible'})),
    }));
    return {labels, nodes};
}"""


def tensor_page(case, run_dot=None) -> str:
    return to_html(bpcli.grad(case.text, case.at), run_dot=run_dot)


@pytest.mark.integration
@pytest.mark.parametrize("engine", ["graphviz", "bpcli"])
@pytest.mark.parametrize("which", ["lecture", "net"])
def test_a_tensor_page_hides_no_number(open_page, tmp_path, which, engine):
    """The lecture's ‖Wx‖² and the two-layer net, laid out by Graphviz and by bpcli:
    every node shows its shape, value and gradient inside its box, every edge what it
    sends back, each number whole, on top, and equal to the hand-worked (lecture) or
    central-difference (net) one; a matrix a row a line."""
    from bpcli.graphviz import layout_json
    from tensor_cases import lecture, net, same

    if engine == "graphviz" and shutil.which("dot") is None:
        pytest.fail("Graphviz's dot is not installed (.ci/run installs it)")
    case = {"lecture": lecture, "net": net}[which]()
    graph = bpcli.parse(case.text)
    out = tmp_path / "tensor.html"
    out.write_text(tensor_page(case, layout_json if engine == "graphviz" else None), "utf-8")
    page = open_page(out)
    page.click("#all")
    drawn = page.evaluate(TENSOR_DRAWN)
    rects = [node["rect"] for node in drawn["nodes"]]
    assert len(drawn["labels"]) == len(case.sent)
    for label in drawn["labels"]:
        target, k = map(int, label["edge"][1:].split("_"))
        key = (graph.nodes[graph.inputs(target)[k]].name, graph.nodes[target].name)
        assert same(label["text"], case.sent[key]), (key, label["text"])
        assert not [rect for rect in rects if overlap(label["box"], rect)], label
        assert label["on_top"], label
        back, text = label["background"], label["text_box"]  # every line on its background
        assert back[0] <= text[0] and back[1] <= text[1], label
        assert back[2] >= text[2] and back[3] >= text[3], label
    for node in drawn["nodes"]:
        name = graph.nodes[node["id"]].name
        texts = {text["kind"]: text for text in node["texts"]}
        for text in node["texts"]:  # inside its own box, and nothing drawn over it
            inner, rect = text["box"], node["rect"]
            assert rect[0] <= inner[0] and inner[2] <= rect[2], (name, text)
            assert rect[1] <= inner[1] and inner[3] <= rect[3], (name, text)
            assert text["on_top"] and text["visible"], (name, text)
        if name not in case.values:  # the constant 2
            continue
        shape = str(case.shapes[name])
        assert shape in texts["sub"]["text"].split(" · ")[0], (name, texts["sub"])
        assert same(texts["value"]["text"], case.values[name]), (name, texts["value"])
        assert same(texts["grad"]["text"].removeprefix("∂ "), case.grads[name]), name
    assert page.errors == [] and page.requests == [page.file_url]


@pytest.mark.integration
def test_stepping_through_a_tensor_page(open_page, tmp_path):
    """The lecture's page steps as the scalar one does: the inputs' values first, then
    one node's value a step, then the gradients edge by edge from the output back."""
    from tensor_cases import lecture

    case = lecture()
    out = tmp_path / "lecture.html"
    out.write_text(tensor_page(case), "utf-8")
    page = open_page(out)
    visible = """kind => [...document.querySelectorAll('[data-' + kind + ']')]
        .filter(el => getComputedStyle(el).visibility === 'visible')
        .map(el => el.getAttribute('data-' + kind))"""
    assert page.inner_text("#step-title") == "the inputs"
    assert panel(page) == ["inputs: W = [[0.1, 0.5], [-0.3, 0.8]], x = [0.2, 0.4]"]
    assert sorted(page.evaluate(visible, "value")) == ["0", "1"]  # W, x (the 2 is its title)
    assert page.evaluate(visible, "grad") == []
    page.keyboard.press("ArrowRight")
    assert panel(page) == [  # 0.1·0.2 + 0.5·0.4, -0.3·0.2 + 0.8·0.4
        "q = W @ x = [[0.1, 0.5], [-0.3, 0.8]] @ [0.2, 0.4] = [0.22, 0.26]",
        "q: (2, 2) @ (2,) → (2,)",
    ]
    page.keyboard.press("End")
    count = int(page.inner_text("#step-number"))
    assert count == 9  # inputs, q, pow1, f; the start; four edges
    assert sorted(page.evaluate(visible, "grad")) == ["0", "1", "2", "4", "5"]
    assert len(page.evaluate(visible, "sent")) == 2 * 4  # each label's text and background
    assert panel(page)[0] == "q = W @ x: matmul gate, matrix multiplier"
    assert panel(page)[2].endswith("= [-0.112, 0.636]")  # 2Wᵀq
    assert panel(page)[3] == "∂f/∂x = Wᵀ · ∂f/∂q: (2, 2)ᵀ · (2,) → (2,), the shape of x"
    assert page.errors == []


IN_VIEW = """() => {
    const figure = document.querySelector('figure'), frame = figure.getBoundingClientRect();
    const svg = figure.querySelector('svg');
    const focus = [...document.querySelectorAll('.node.focus')].map(el => {
        const r = el.getBoundingClientRect();
        return [r.left - frame.left, r.right - frame.left];
    });
    return {page: document.documentElement.scrollWidth, figure: figure.clientWidth,
            graph: figure.scrollWidth, least: parseFloat(svg.style.minWidth),
            note: document.getElementById('wide').hidden ? null : document.getElementById('wide').textContent,
            focus};
}"""


@pytest.mark.integration
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_graph_wider_than_the_window_says_why_and_brings_each_step_into_view(
    open_page, tmp_path, lang
):
    """At 1280 px the two-layer net cannot fit: at the least zoom that keeps its labels
    readable (MIN_ZOOM) it is still wider than the window, so its figure scrolls (the
    page does not), a note under it says why, and every step scrolls the figure so that
    the nodes it is about are in view (the loss at the right end, the inputs at the left)."""
    from bpcli import i18n
    from tensor_cases import SOFTMAX_NET_AT as NET_FILE_VALUES

    i18n.use(lang)
    # the README's two-layer net with the softmax loss: ten ranks from the inputs on the
    # left to the loss on the right, each box and label holding a matrix
    text = (DOCS / "two-layer-net.txt").read_text()
    out = tmp_path / "net.html"
    out.write_text(to_html(bpcli.grad(text, NET_FILE_VALUES)), encoding="utf-8")
    page = open_page(out, width=1280)
    seen = page.evaluate(IN_VIEW)
    assert seen["page"] <= 1280, seen  # the page itself never scrolls sideways
    assert seen["least"] > seen["figure"] and seen["graph"] > seen["figure"], seen
    assert seen["note"] and ("too small to read" in seen["note"] or "읽을 수 없다" in seen["note"])
    count = len(steps_of(bpcli.grad(text, NET_FILE_VALUES)))
    for step in range(count):
        seen = page.evaluate(IN_VIEW)
        left = min(a for a, _ in seen["focus"])
        right = max(b for _, b in seen["focus"])
        if right - left <= seen["figure"]:  # all of the step's nodes in view
            assert left >= 0 and right <= seen["figure"], (step, seen)
        else:  # the inputs, spread over the whole graph: from the first
            assert 0 <= left <= seen["figure"], (step, seen)
        page.keyboard.press("ArrowRight")
    page.screenshot(path=str(tmp_path / "net.png"))
    assert page.errors == []
    lecture_page = tmp_path / "lecture.html"
    lecture_page.write_text(to_html(lecture()), encoding="utf-8")
    narrow = open_page(lecture_page, width=1280).evaluate(IN_VIEW)
    assert narrow["note"] is None and narrow["graph"] <= narrow["figure"], narrow
