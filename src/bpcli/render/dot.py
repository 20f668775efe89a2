"""The computational graph as Graphviz DOT: inputs on the left, the output on the right."""

from __future__ import annotations

import html

from ..graph import Graph
from .numbers import DEFAULT_PRECISION
from .picture import Run, boxes, legend, shapes_unknown
from .theme import GRAD_HEX, VALUE_HEX

SHAPES = {"input": "box", "constant": "plaintext", "op": "ellipse"}
FONT = '<FONT COLOR="{}">{}</FONT>'  # text in a colour


def _h(text: str) -> str:
    """Text escaped for an HTML-like label; a matrix's rows on lines of their own."""
    escaped = html.escape(text, quote=True)
    return escaped.replace("\n", "<BR/>") if "\n" in escaped else escaped


def to_dot(graph: Graph, result: Run | None = None, precision: int = DEFAULT_PRECISION) -> str:
    """DOT text for `dot -Tsvg`; values (green) and gradients (red) when there is a result
    (with each node's shape, for a tensor run); for a tensor program's structure alone,
    a note that its shapes come with the input values."""
    drawn, edges = boxes(graph, result, precision)
    lines = [
        "digraph bpcli {",
        "  rankdir=LR;",
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", fontsize=10, arrowsize=0.7];',
    ]
    for box in drawn:
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
        lines.append(f"  n{box.id} [{', '.join(attrs)}];")
    for edge in edges:
        label = f' [label=<<FONT COLOR="{GRAD_HEX}">{_h(edge.grad)}</FONT>>]' if edge.grad else ""
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
