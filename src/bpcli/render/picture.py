"""What every graph picture shows of a node, whatever the format draws it with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..graph import Graph, Node
from ..ops import OPS
from ..result import Result
from ..syntax import number_text
from .numbers import DEFAULT_PRECISION, fmt
from .theme import GRAD_HEX, VALUE_HEX


def constant(graph: Graph, node: Node) -> bool:
    """Whether the node is a number of the program: a leaf that depends on no input."""
    return not node.inputs and bool(graph.fixed[node.id])


def label(graph: Graph, node: Node) -> str:
    """How a node is written where it is used: its name, or a constant's number."""
    return number_text(graph.text(node)) if constant(graph, node) else node.name


@dataclass(frozen=True, slots=True)
class Box:
    """A node as drawn: title (`x`, or an op's symbol), subtitle, value and gradient texts."""

    id: int
    title: str
    subtitle: str
    value: str | None
    grad: str | None
    kind: str  # "input", "constant" or "op": how it is styled
    output: bool


@dataclass(frozen=True, slots=True)
class Edge:
    """One use of a node: `source` feeds `target` (as its `k`-th input); `grad` is what
    the use sends back."""

    source: int
    target: int
    grad: str | None
    k: int = 0


def boxes(
    graph: Graph, result: Result | None, precision: int = DEFAULT_PRECISION
) -> tuple[list[Box], list[Edge]]:
    """Boxes and edges of the graph, with values and gradients when there is a result."""
    nodes = result.nodes if result is not None else None
    out: list[Box] = []
    edges: list[Edge] = []
    for node in graph.nodes:
        op = OPS[node.op]
        if not node.inputs:
            kind = "constant" if constant(graph, node) else "input"
            title = label(graph, node)
            subtitle = ""
        else:
            kind = "op"
            title = op.symbol
            subtitle = f"{node.name} · {op.pattern.name}"
        value = grad = None
        if nodes is not None:
            value = fmt(nodes[node.id].value, precision)
            if value == title:  # a constant written as its value
                value = None
            if nodes[node.id].grad is not None:
                grad = fmt(nodes[node.id].grad, precision)
        out.append(Box(node.id, title, subtitle, value, grad, kind, node.id == graph.output))
    for node in graph.nodes:
        for k, source in enumerate(node.inputs):
            sent = None if result is None else result.sent(node.id, k)
            edges.append(Edge(source, node.id, None if sent is None else fmt(sent, precision), k))
    return out, edges


def sent_labels(edges: list[Edge]) -> dict[tuple[int, int], str]:
    """(target, k) -> the gradient that edge sends back, as written on it, for the
    edges that carry one."""
    return {(e.target, e.k): e.grad for e in edges if e.grad is not None}


def box_size(box: Box, char: float, small: float, line: float, pad: float) -> tuple[float, float]:
    """A box's width and height for its texts: `char` and `small` are the widths of a
    character of the main and the subtitle font, `line` a line's height, `pad` the margin."""
    widths = [len(box.title) * char, len(box.subtitle) * small]
    lines = 1 + bool(box.subtitle)
    if box.value is not None:
        widths.append(len(box.value) * char)
        lines += 1
    if box.grad is not None:
        widths.append((len(box.grad) + 2) * char)
        lines += 1
    return max(max(widths) + 2 * pad, 3 * line), lines * line + pad


def legend(graph: Graph, escape: Callable[[str], str], coloured: str) -> str:
    """What the colours mean, as the pictures write it under the graph: `coloured` is
    the format's markup with two slots, a colour and the (escaped) text it colours."""
    f = label(graph, graph.nodes[graph.output])
    value = coloured.format(VALUE_HEX, escape("green: value"))
    grad = coloured.format(
        GRAD_HEX, escape(f"red: ∂{f}/∂node (on an edge: what that use sends back)")
    )
    return f"{value}   {grad}"
