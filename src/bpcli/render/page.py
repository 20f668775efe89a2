"""`bpcli graph … --format html`: one self-contained page that steps through backprop.

The computational graph is drawn as SVG (laid out by `layout`: Graphviz when
the caller runs it, else bpcli's own columns by depth), with every node's value and
gradient and every edge's contribution in it, hidden until its step. The steps
come from the walkthrough in plain notation, so the page says what
`grad --explain` says: the forward pass node by node, the backward pass edge by
edge with each gate's pattern, a copy gate adding its uses, then the update.
A small inline script steps through them (buttons, ←/→, Home/End, "show all");
with no script, or printed, the page shows everything. Nothing is fetched:
styles and script are inline, fonts are the system's.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from string import Template

from ..i18n import N_, SOURCE, language, tr
from ..process import collector_paused
from ..result import Result
from .layout import Layout, Route, RunDot, layout
from .notation import Plain, TensorPlain
from .numbers import DEFAULT_PRECISION
from .picture import Box, Run, box_size, boxes, sent_labels
from .theme import (
    GRAD_HEX,
    GRAD_HEX_DARK,
    GRAD_HEX_PRINT,
    VALUE_HEX,
    VALUE_HEX_DARK,
    VALUE_HEX_PRINT,
)
from .walkthrough import (
    BACKWARD,
    COMPUTE_STEP,
    DESCENT_REASON,
    FORWARD,
    FORWARD_REASON,
    INPUTS,
    INPUTS_STEP,
    NO_INPUTS,
    START_STEP,
    STEPPED,
    UPDATE,
    UPDATE_STEP,
    UPDATED,
    Gate,
    Unreached,
    Walkthrough,
    walkthrough,
)

CHAR_PX = 7.3  # px per character of the 12px monospace text in the boxes
SMALL_CHAR_PX = 6.1  # … of the 10px subtitle
LABEL_CHAR_PX = 6.7  # … of the 11px edge labels
LABEL_FONT_PX = 11.0
LABEL_LINE = 13.0  # px from one line of an edge's label to the next (a matrix's rows)
LABEL_PAD = 3.0  # the label's background beyond its text, each side
LINE = 15.0
PAD = 8.0
ZOOM = 1.5  # the picture's size on the page, relative to the layout's points
MIN_ZOOM = 0.8  # a narrow window scrolls the picture rather than shrink it below this:
# the labels' 11px stay at 8.8px or more, the subtitles' 10px at 8px


@dataclass
class PageStep:
    """One step of the page: what the panel says and what it reveals on the graph."""

    phase: str  # "forward", "backward" or "update"
    title: str
    lines: list[str]
    reason: str = ""
    values: list[int] = field(default_factory=list)  # nodes whose value appears
    grads: list[int] = field(default_factory=list)  # nodes whose gradient appears
    contributions: list[str] = field(default_factory=list)  # edges whose gradient appears
    focus: list[int] = field(default_factory=list)  # nodes highlighted
    edges: list[str] = field(default_factory=list)  # edges highlighted


def edge_key(target: int, k: int) -> str:
    return f"e{target}_{k}"


def steps_of(result: Run, precision: int = DEFAULT_PRECISION) -> list[PageStep]:
    """The page's steps, in order."""
    return _steps(_walkthrough(result, precision))


def _walkthrough(result: Run, precision: int) -> Walkthrough:
    """The walkthrough in plain notation: of numbers, or of vectors and matrices."""
    notation = Plain if isinstance(result, Result) else TensorPlain
    return walkthrough(result, notation(result.graph, precision))


def _steps(w: Walkthrough) -> list[PageStep]:
    graph = w.result.graph
    variables = list(graph.variables.values())
    inputs = set(variables)
    constants = [n.id for n in w.nodes if not n.inputs and n.id not in inputs]
    steps = [
        PageStep(
            "forward",
            tr(INPUTS_STEP),
            [w.phrase(INPUTS).text() if w.inputs_text() else tr(NO_INPUTS)],
            tr(FORWARD_REASON),
            values=variables + constants,
            focus=variables,
        )
    ]
    for evaluation in w.forward:
        node = evaluation.node
        shapes = [] if evaluation.dims is None else [evaluation.dims.text()]  # tensors only
        steps.append(
            PageStep(
                "forward",
                tr(COMPUTE_STEP).format(node=node.name),
                [evaluation.equation.text(), *shapes],
                values=[node.id],
                focus=[node.id],
                edges=[edge_key(node.id, k) for k in range(len(node.inputs))],
            )
        )
    out = graph.output
    steps.append(
        PageStep(
            "backward",
            tr(START_STEP).format(node=w.f),
            [w.start().text()],
            w.start_reason().text(),
            grads=[out],
            focus=[out],
        )
    )
    for item in w.backward:
        if isinstance(item, Gate):
            gate = item.node
            for send in item.sends:
                key = edge_key(gate.id, send.k)
                done = [send.input.id] if len(w.uses(send.input)) == 1 else []
                # over tensors: the gradient's shape, and any broadcasting undone
                shapes = [p.text() for p in (send.dims, send.broadcast) if p is not None]
                steps.append(
                    PageStep(
                        "backward",
                        item.send_title(send).text(),
                        [
                            item.heading.text(),
                            item.chain(send).text(),
                            send.equation.text(),
                            *shapes,
                        ],
                        item.reason,
                        grads=done,
                        contributions=[key],
                        focus=[gate.id, send.input.id],
                        edges=[key],
                    )
                )
        elif isinstance(item, Unreached):
            steps.append(
                PageStep(
                    "backward",
                    item.heading.text(),
                    [item.equation.text()],
                    item.reason,
                    grads=[item.node.id],
                    focus=[item.node.id],
                )
            )
        else:
            node = item.node
            uses = [
                edge_key(consumer, k)
                for consumer in sorted({c for c, _ in w.uses(node)})
                for k, source in enumerate(graph.inputs(consumer))
                if source == node.id
            ]
            steps.append(
                PageStep(
                    "backward",
                    item.title.text(),
                    [f"{item.heading.text()} {item.note.text()}", item.equation.text()],
                    item.reason,
                    grads=[node.id],
                    focus=[node.id],
                    edges=uses,
                )
            )
    if w.has_update:
        lines = [d.equation.text() for d in w.update]
        lines.append(w.phrase(UPDATED).text())
        if w.after_steps is not None:
            lines.append(w.phrase(STEPPED).text())
        steps.append(
            PageStep(
                "update",
                w.phrase(UPDATE_STEP).text(),
                lines,
                w.phrase(DESCENT_REASON).text(),
                focus=variables,
            )
        )
    return steps


# ---- the picture -----------------------------------------------------------------------------


def _size(box: Box) -> tuple[float, float]:
    return box_size(box, CHAR_PX, SMALL_CHAR_PX, LINE, PAD)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _path(route: Route) -> str:
    """The route as SVG path data: M start, C per segment, L to the arrow's tip."""
    d = "M{:.1f},{:.1f}".format(*route.points[0])
    for (ax, ay), (bx, by), (cx, cy) in route.segments():
        d += f" C{ax:.1f},{ay:.1f} {bx:.1f},{by:.1f} {cx:.1f},{cy:.1f}"
    return d + f" L{route.tip[0]:.1f},{route.tip[1]:.1f}"


def _label_size(text: str) -> tuple[float, float]:
    if "\n" not in text:
        return len(text) * LABEL_CHAR_PX + 2 * LABEL_PAD, LABEL_FONT_PX + 2 * LABEL_PAD
    rows = text.split("\n")
    width = max(len(row) for row in rows) * LABEL_CHAR_PX + 2 * LABEL_PAD
    return width, LABEL_FONT_PX + (len(rows) - 1) * LABEL_LINE + 2 * LABEL_PAD


def _rows(text: str, x: float, step: float) -> str:
    """A text's first line, then each further line (a matrix's rows) a tspan `step` below."""
    if "\n" not in text:
        return _e(text)
    first, *rest = text.split("\n")
    return _e(first) + "".join(
        f'<tspan x="{x:.1f}" dy="{step:.1f}">{_e(row)}</tspan>' for row in rest
    )


def svg(result: Run, precision: int, run_dot: RunDot | None = None) -> tuple[str, Layout]:
    drawn, edges = boxes(result.graph, result, precision)
    texts = sent_labels(edges)
    sizes = {edge: _label_size(text) for edge, text in texts.items()}
    placed = layout(result.graph, [_size(b) for b in drawn], run_dot, sizes)
    out = [
        f'<svg id="graph" xmlns="http://www.w3.org/2000/svg" role="img"'
        f' viewBox="0 0 {placed.width:.0f} {placed.height:.0f}"'
        f' width="{placed.width * ZOOM:.0f}" height="{placed.height * ZOOM:.0f}"'
        f' style="min-width: {placed.width * MIN_ZOOM:.0f}px"'
        f' aria-labelledby="graph-title">',
        f'<title id="graph-title">computational graph of {_e(result.graph.program())}</title>',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9"'
        ' markerHeight="9" markerUnits="userSpaceOnUse" orient="auto"><path d="M0,0 L10,5 L0,10 z"'
        ' class="arrowhead"/></marker></defs>',
    ]
    labels = []  # drawn last, over everything, each on a background of its own
    for route in placed.routes:
        key = edge_key(route.target, route.k)
        out.append(
            f'<g class="edge" id="{key}" data-edge="{key}">'
            f'<path d="{_path(route)}" marker-end="url(#arrow)"/></g>'
        )
        text = texts.get((route.target, route.k))
        if text is not None and route.label is not None:
            (x, y), (w, h) = route.label, sizes[route.target, route.k]
            first = y - text.count("\n") * LABEL_LINE / 2  # the first line's centre
            labels.append(
                f'<g class="label"><rect class="sent-bg" data-sent="{key}"'
                f' x="{x - w / 2:.1f}" y="{y - h / 2:.1f}" width="{w:.1f}" height="{h:.1f}"'
                f' rx="3" fill="#ffffff" stroke="{GRAD_HEX}" stroke-width="0.6"'
                f' stroke-opacity="0.6"/><text class="sent" data-sent="{key}" x="{x:.1f}"'
                f' y="{first:.1f}" text-anchor="middle" dominant-baseline="central">'
                f"{_rows(text, x, LABEL_LINE)}</text>"
                "</g>"
            )
    for box, place in zip(drawn, placed.places, strict=True):
        classes = f"node {box.kind}" + (" output" if box.output else "")
        left, top = place.x - place.width / 2, place.y - place.height / 2
        parts = [
            f'<g class="{classes}" id="n{box.id}" data-node="{box.id}">',
            f'<rect x="{left:.1f}" y="{top:.1f}" width="{place.width:.1f}"'
            f' height="{place.height:.1f}" rx="{8 if box.kind == "op" else 2}"/>',
        ]
        y = top + PAD / 2 + LINE - 3
        parts.append(
            f'<text class="title" x="{place.x:.1f}" y="{y:.1f}" text-anchor="middle">'
            f"{_e(box.title)}</text>"
        )
        if box.subtitle:
            y += LINE
            parts.append(
                f'<text class="sub" x="{place.x:.1f}" y="{y:.1f}" text-anchor="middle">'
                f"{_e(box.subtitle)}</text>"
            )
        if box.value is not None:
            y += LINE
            parts.append(
                f'<text class="value" data-value="{box.id}" x="{place.x:.1f}" y="{y:.1f}"'
                f' text-anchor="middle">{_rows(box.value, place.x, LINE)}</text>'
            )
            y += box.value.count("\n") * LINE
        if box.grad is not None:
            y += LINE
            parts.append(
                f'<text class="grad" data-grad="{box.id}" x="{place.x:.1f}" y="{y:.1f}"'
                f' text-anchor="middle">∂ {_rows(box.grad, place.x, LINE)}</text>'
            )
        parts.append("</g>")
        out.append("".join(parts))
    out.extend(labels)
    out.append("</svg>")
    return "\n".join(out), placed


# ---- the page -----------------------------------------------------------------------------------

# The page's style and script are package files, so that editors and linters read them as
# CSS and JavaScript; the page inlines them (it fetches nothing). The colours come from
# the theme: the style's custom properties hold $placeholders for them.
_FILES = resources.files("bpcli.render")
STYLE = Template(_FILES.joinpath("page.css").read_text(encoding="utf-8")).substitute(
    value=VALUE_HEX,
    grad=GRAD_HEX,
    value_dark=VALUE_HEX_DARK,
    grad_dark=GRAD_HEX_DARK,
    value_print=VALUE_HEX_PRINT,
    grad_print=GRAD_HEX_PRINT,
)

SCRIPT = _FILES.joinpath("page.js").read_text(encoding="utf-8")
# The words page.js writes itself, and what they become in another language: the
# script's own English expressions, replaced by the translated ones (page.js stays
# as it is, and the English page byte for byte).
PHASE_WORDS = 'step.phase === "update" ? "update step" : step.phase + " pass"'
SHOW_ALL = N_("Show all")
# Under a graph wider than the window (shown by the script only then): why it scrolls.
WIDE = N_(
    "The graph is wider than the window: scroll it sideways (each step brings its nodes into"
    " view). Shrunk to fit, its numbers would be too small to read."
)
STEP_THROUGH = N_("Step through")
ALL_WORDS = 'all ? "Step through" : "Show all"'


def script() -> str:
    """page.js, its words in the chosen language."""
    if language() == SOURCE:
        return SCRIPT
    if PHASE_WORDS not in SCRIPT or ALL_WORDS not in SCRIPT:
        raise AssertionError("page.js no longer writes the words render/page.py translates")
    phases = {"forward": tr(FORWARD), "backward": tr(BACKWARD), "update": tr(UPDATE)}
    step_through, show_all = (
        json.dumps(tr(w), ensure_ascii=False) for w in (STEP_THROUGH, SHOW_ALL)
    )
    words = f"all ? {step_through} : {show_all}"
    phase = f"({json.dumps(phases, ensure_ascii=False)})[step.phase]"
    return SCRIPT.replace(PHASE_WORDS, phase).replace(ALL_WORDS, words)


@collector_paused()  # the many small strings of a big graph's text, none in a cycle
def to_html(result: Run, precision: int = DEFAULT_PRECISION, run_dot: RunDot | None = None) -> str:
    """The whole page, one file; laid out by dot through `run_dot` if it is given and can."""
    picture, placed = svg(result, precision, run_dot)
    w = _walkthrough(result, precision)
    steps = _steps(w)
    data = json.dumps([asdict(s) for s in steps], ensure_ascii=False)
    data = data.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    given = ", ".join(f"{n} = {v}" for n, v in w.inputs_text()) or tr("none")
    engine = (
        tr("laid out by Graphviz's dot")
        if placed.engine == "graphviz"
        else tr("laid out by bpcli by depth (install Graphviz for dot's layout)")
    )
    expression = f"<code>{_e(result.graph.program())}</code>"
    heading = tr("Backpropagation through {expression}").format(expression=expression)
    meta = tr("inputs: {inputs} · output:\n{output} ·\nvalues {green},\ngradients {red}").format(
        inputs=f'<span id="inputs">{_e(given)}</span>',
        output=f'<span id="output">{_e(w.f)} = {_e(w.output)}</span>',
        green=f'<span style="color: var(--value)">{_e(tr("green"))}</span>',
        red=f'<span style="color: var(--grad)">{_e(tr("red"))}</span>',
    )
    counter = tr("step {number} of {count} ·\n{phase} ·").format(
        number='<span id="step-number">1</span>',
        count=len(steps),
        phase=f'<span class="phase" id="phase">{_e(tr(FORWARD))}</span>',
    )
    keys = tr("keys: {next_key} next, {back_key} back,\n{first_key} first, {last_key} last")
    keys = keys.format(
        next_key="<kbd>→</kbd>",
        back_key="<kbd>←</kbd>",
        first_key="<kbd>Home</kbd>",
        last_key="<kbd>End</kbd>",
    )
    footer = tr(
        "Made by bpcli from {expression}; the graph is {engine}.\nThe numbers are those of"
        " {command}, to {precision} significant digits."
    ).format(
        expression=expression,
        engine=engine,
        command="<code>bpcli grad --json</code>",
        precision=precision,
    )
    items = []
    for step in steps:
        lines = "".join(f'<span class="eq">{_e(line)}</span>' for line in step.lines)
        reason = f'<span class="reason">{_e(step.reason)}</span>' if step.reason else ""
        items.append(f"<li><strong>{_e(step.title)}</strong>{lines}{reason}</li>")
    return f"""<!DOCTYPE html>
<html lang="{language()}" class="nojs">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bpcli: {_e(result.graph.program())}</title>
<style>
{STYLE}</style>
</head>
<body>
<header>
<h1>{heading}</h1>
<p class="meta">{meta}</p>
</header>
<main>
<figure>
{picture}
</figure>
<p class="wide" id="wide" hidden>{_e(tr(WIDE))}</p>
<section class="panel" id="current" aria-label="{_e(tr("current step"))}">
<div class="counter">{counter}
<span id="step-title"></span></div>
<div id="explanation" aria-live="polite"></div>
<nav aria-label="{_e(tr("step through"))}">
<button id="first" type="button" aria-keyshortcuts="Home">{_e(tr("« first"))}</button>
<button id="back" type="button" aria-keyshortcuts="ArrowLeft">{_e(tr("‹ back"))}</button>
<button id="next" type="button" aria-keyshortcuts="ArrowRight">{_e(tr("next ›"))}</button>
<button id="last" type="button" aria-keyshortcuts="End">{_e(tr("last »"))}</button>
<button id="all" type="button" aria-pressed="false">{_e(tr(SHOW_ALL))}</button>
</nav>
<p class="counter counter-keys">{keys}</p>
</section>
<section id="all-steps" aria-label="{_e(tr("every step"))}">
<h2>{_e(tr("Every step"))}</h2>
<ol>
{chr(10).join(items)}
</ol>
</section>
</main>
<footer>{footer}</footer>
<script type="application/json" id="steps-data">{data}</script>
<script>
{script()}</script>
</body>
</html>
"""
