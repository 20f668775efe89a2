"""The computational graph as a TikZ picture, for the LaTeX solution sheets.

Placed by `layout` (Graphviz when the caller runs it, else bpcli's columns by
depth), like the HTML page: inputs on the left, the output on the right, each node's
value in green and gradient in red, each edge's contribution in red beside it,
where the layout made room for it, drawn over the boxes on a white background.
Needs `\\usepackage{tikz}` (which loads xcolor).
"""

from __future__ import annotations

from ..ops import OPS
from ..result import Result
from .layout import Route, RunDot, layout
from .notation import Tex, tex_number, tex_text
from .numbers import DEFAULT_PRECISION
from .picture import box_size, boxes, sent_labels
from .theme import GRAD_HEX, VALUE_HEX

CHAR_PT = 5.0  # pt per character at \footnotesize, roughly
SMALL_CHAR_PT = 4.0  # … at \scriptsize
LINE = 11.5  # \footnotesize's 11pt baselines, and room: a box never outgrows its size
PAD = 5.0
LABEL_CHAR_PT = 4.4  # … of an edge's label at \scriptsize (a minus sign is wider: see below)
LABEL_SEP = 1.5  # pt of background around a label's text
MAX_WIDTH = 430.0  # pt: a page's text width, roughly; a wider picture is scaled down
MAX_HEIGHT = 560.0

COLORS = (
    rf"\definecolor{{bpvalue}}{{HTML}}{{{VALUE_HEX[1:].upper()}}}"
    rf"\definecolor{{bpgrad}}{{HTML}}{{{GRAD_HEX[1:].upper()}}}"
)


def _label_size(text: str) -> tuple[float, float]:
    """A label's size in pt: its digits, a math minus sign (wider than a digit), its margin."""
    return len(text) * LABEL_CHAR_PT + 2.5 * text.count(
        "-"
    ) + 2 * LABEL_SEP + 2, 8 + 2 * LABEL_SEP + 2


def _pt(point: tuple[float, float], scale: float) -> str:
    """A point, scaled here: TeX's dimensions end at 16384pt, a big layout does not."""
    return f"({point[0] * scale:.2f},{point[1] * scale:.2f})"


def _path(route: Route, scale: float) -> str:
    """The route as a TikZ path: `.. controls .. and ..` per segment, then to the tip."""
    text = _pt(route.points[0], scale)
    for a, b, c in route.segments():
        text += f" .. controls {_pt(a, scale)} and {_pt(b, scale)} .. {_pt(c, scale)}"
    return text + f" -- {_pt(route.tip, scale)}"


def to_tikz(
    result: Result, precision: int = DEFAULT_PRECISION, run_dot: RunDot | None = None
) -> str:
    """A `tikzpicture` of the graph with its values and gradients; laid out by dot
    through `run_dot` if it is given and can."""
    graph = result.graph
    tex = Tex(graph, precision)
    drawn, edges = boxes(graph, result, precision)
    sizes = [box_size(b, CHAR_PT, SMALL_CHAR_PT, LINE, PAD) for b in drawn]
    texts = sent_labels(edges)
    labels = {edge: _label_size(text) for edge, text in texts.items()}
    placed = layout(graph, sizes, run_dot, labels)
    scale = min(1.0, MAX_WIDTH / placed.width, MAX_HEIGHT / placed.height)
    lines = [
        COLORS,
        r"\begin{tikzpicture}[x=1pt, y=-1pt,"
        rf" every node/.style={{scale={scale:.4f}, font=\footnotesize, inner sep=1pt}}]",
    ]
    on_top = []  # the labels, drawn after the boxes, each on a white background
    for route in placed.routes:
        lines.append(rf"\draw[->, >=stealth, gray] {_path(route, scale)};")
        text = texts.get((route.target, route.k))
        if text is not None and route.label is not None:
            on_top.append(
                rf"\node[text=bpgrad, font=\scriptsize, fill=white, inner sep={LABEL_SEP}pt]"
                rf" at {_pt(route.label, scale)} {{${tex_number(text)}$}};"
            )
    for box, place in zip(drawn, placed.places, strict=True):
        node = graph.nodes[box.id]
        op = OPS[node.op]
        if node.inputs:
            rows = [
                rf"\textbf{{\texttt{{{tex_text(op.symbol)}}}}}",
                rf"{{\scriptsize ${tex.name(node.name)}$ $\cdot$ {op.pattern.name}}}",
            ]
        else:
            rows = [f"${tex.label(node.id)}$"]
        if box.value is not None:
            rows.append(rf"\textcolor{{bpvalue}}{{${tex.num(result.values[box.id])}$}}")
        if box.grad is not None:
            rows.append(rf"\textcolor{{bpgrad}}{{$\partial\ {tex.num(result.grads[box.id])}$}}")
        style = ["draw", "rounded corners=4pt" if node.inputs else "", "align=center"]
        if box.kind == "constant":
            style.append("dashed")
        if box.output:
            style.append("double")
        style += [f"minimum width={place.width:.1f}pt", f"minimum height={place.height:.1f}pt"]
        options = ", ".join(s for s in style if s)
        content = " \\\\ ".join(rows)
        lines.append(
            rf"\node[{options}] (n{box.id}) at {_pt((place.x, place.y), scale)} {{{content}}};"
        )
    lines += on_top
    lines.append(r"\end{tikzpicture}")
    return "\n".join(lines) + "\n"
