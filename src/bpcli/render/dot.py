"""The computational graph as Graphviz DOT: inputs on the left, the output on the right.

Graphviz lays the DOT out itself (`dot`), or, given a `Layout` that bpcli made, the DOT
carries every node's and edge's place and Graphviz only draws it (`neato -n2`): see
graphviz.py's `picture`.
"""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from ..graph import Graph
from ..process import collector_paused
from .numbers import DEFAULT_PRECISION
from .picture import Box, Run, boxes, legend, shapes_unknown
from .theme import GRAD_HEX, VALUE_HEX

if TYPE_CHECKING:
    from .layout import Layout, Point

SHAPES = {"input": "box", "constant": "plaintext", "op": "ellipse"}
FONT = '<FONT COLOR="{}">{}</FONT>'  # text in a colour


def _h(text: str) -> str:
    """Text escaped for an HTML-like label; a matrix's rows on lines of their own."""
    escaped = html.escape(text, quote=True)
    return escaped.replace("\n", "<BR/>") if "\n" in escaped else escaped


HEADER = (
    "digraph bpcli {",
    "  rankdir=LR;",
    '  node [fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=10, arrowsize=0.7];',
)


@collector_paused()  # the many small strings of a big graph's text, none in a cycle
def to_dot(
    graph: Graph,
    result: Run | None = None,
    precision: int = DEFAULT_PRECISION,
    placed: Layout | None = None,
) -> str:
    """DOT text for `dot -Tsvg`; values (green) and gradients (red) when there is a result
    (with each node's shape, for a tensor run); for a tensor program's structure alone,
    a note that its shapes come with the input values. With `placed`, each node's centre
    and each edge's curve and label are written as Graphviz's `pos` and `lp` (points, y
    upwards), for `neato -n2` to draw as they are."""
    drawn, edges = boxes(graph, result, precision)
    top = 0.0 if placed is None else placed.height

    def at(point: Point) -> str:
        return f"{point[0]:.2f},{top - point[1]:.2f}"

    lines = list(HEADER)
    for box in drawn:
        attrs = _box(box)
        if placed is not None:
            place = placed.places[box.id]
            attrs.append(f'pos="{at((place.x, place.y))}"')
        lines.append(f"  n{box.id} [{', '.join(attrs)}];")
    # the routes, like the edges, in the order of the nodes and of their inputs
    routes = [None] * len(edges) if placed is None else placed.routes
    for edge, route in zip(edges, routes, strict=True):
        attrs = [f"label={_sent(edge.grad)}"] if edge.grad else []
        if route is not None:
            assert (route.target, route.k) == (edge.target, edge.k)
            curve = " ".join(at(point) for point in route.points)
            attrs.append(f'pos="e,{at(route.tip)} {curve}"')
            if route.label is not None and edge.grad:
                attrs.append(f'lp="{at(route.label)}"')
        label = f" [{', '.join(attrs)}]" if attrs else ""
        lines.append(f"  n{edge.source} -> n{edge.target}{label};")
    if result is not None:
        lines += [
            '  graph [fontname="Helvetica", fontsize=10, labelloc=b];',
            f"  label=<{legend(graph, _h, FONT, result)}>;",
        ]
    elif (note := shapes_unknown(graph)) is not None:
        lines += [
            '  graph [fontname="Helvetica", fontsize=10, labelloc=b];',
            f"  label=<{_h(note)}>;",
        ]
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_measure(
    graph: Graph, result: Run | None = None, precision: int = DEFAULT_PRECISION
) -> tuple[str, list[tuple[int, int]]]:
    """DOT of `to_dot`'s boxes (`n{id}`) and of each edge's label as a box of its own
    (`l{j}`), none of them joined, for Graphviz to tell the size of each (render/layout.py's
    `measured`) without laying anything out: routing the edges, even without a layout,
    would take it seconds. With it, the edge (target, k) that each `l{j}` labels."""
    drawn, edges = boxes(graph, result, precision)
    lines = list(HEADER)
    lines += [f"  n{box.id} [{', '.join(_box(box))}];" for box in drawn]
    sent = [(edge.target, edge.k, edge.grad) for edge in edges if edge.grad]
    lines += [
        f"  l{j} [shape=plaintext, margin=0, fontsize=10, label={_sent(grad)}];"
        for j, (_, _, grad) in enumerate(sent)
    ]
    lines.append("}")
    return "\n".join(lines) + "\n", [(target, k) for target, k, _ in sent]


def _box(box: Box) -> list[str]:
    """A node's attributes: its shape and its label (title, subtitle, value, gradient)."""
    parts = [f"<B>{_h(box.title)}</B>"]
    if box.subtitle:
        parts.append(f'<FONT POINT-SIZE="9">{_h(box.subtitle)}</FONT>')
    if box.value is not None:
        parts.append(f'<FONT COLOR="{VALUE_HEX}">{_h(box.value)}</FONT>')
    if box.grad is not None:
        parts.append(f'<FONT COLOR="{GRAD_HEX}">∂ {_h(box.grad)}</FONT>')
    attrs = [f"shape={SHAPES[box.kind]}", f"label=<{'<BR/>'.join(parts)}>"]
    if box.kind == "op":
        attrs.append("margin=0.02")
    if box.output:
        attrs.append("peripheries=2")
    return attrs


def _sent(grad: str) -> str:
    """An edge's label: what that use sends back."""
    return f'<<FONT COLOR="{GRAD_HEX}">{_h(grad)}</FONT>>'
