"""What every graph picture shows of a node, whatever the format draws it with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from ..graph import Graph, Node
from ..i18n import N_, tr
from ..ops import OPS
from ..result import Result
from ..syntax import number_text
from .numbers import DEFAULT_PRECISION, fmt
from .theme import GRAD_HEX, VALUE_HEX

if TYPE_CHECKING:
    from ..tensor import TensorResult

Run = Union[Result, "TensorResult"]


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


def texts(result: Run) -> Callable[[Any, int], str]:
    """How a picture writes a value of `result` to a precision: a number to that many
    digits (`fmt`); of a tensor run, a tensor as render/arrays.py lays it out without a
    width (whole when small, summarised as NumPy summarises it when large; a matrix a
    line per row)."""
    if isinstance(result, Result):
        return fmt
    from .arrays import value_lines

    return lambda value, precision: "\n".join(value_lines(value, precision))


def inline_texts(result: Run) -> Callable[[Any, int], str]:
    """As `texts`, but a tensor on one line (`[[0.1, 0.5], [-0.3, 0.8]]`), for a line of
    text: a table's cell, the answers."""
    if isinstance(result, Result):
        return fmt
    from ..tensor import inline

    return inline


def shape_text(result: Run | None, node_id: int) -> str:
    """A node's shape as a tensor run's pictures write it (`(2, 2)`, `()` for a number);
    empty for a run over numbers and for the structure alone."""
    if result is None or isinstance(result, Result):
        return ""
    from ..tensor import show_shape

    return show_shape(result.shapes[node_id])


SHAPES_UNKNOWN = N_(
    "a program over vectors and matrices: its shapes, values and gradients come with the"
    " input values (--NAME VALUE)"
)


def shapes_unknown(graph: Graph) -> str | None:
    """What a picture of a tensor program's structure alone says under it: its shapes are
    the inputs' (None for a program over numbers, whose picture stays as it was)."""
    from ..api import needs_tensors

    return tr(SHAPES_UNKNOWN) if needs_tensors(graph) else None


def boxes(
    graph: Graph, result: Run | None, precision: int = DEFAULT_PRECISION
) -> tuple[list[Box], list[Edge]]:
    """Boxes and edges of the graph, with values and gradients when there is a result,
    and each node's shape when it is a tensor run's. A value's text may have more than
    one line (a matrix's rows)."""
    write = None if result is None else texts(result)
    tensor = result is not None and not isinstance(result, Result)
    out: list[Box] = []
    edges: list[Edge] = []
    for node in graph.nodes:
        op = OPS[node.op]
        shape = shape_text(result, node.id) if tensor else ""
        if not node.inputs:
            kind = "constant" if constant(graph, node) else "input"
            title = label(graph, node)
            subtitle = "" if kind == "constant" else shape
        else:
            kind = "op"
            title = op.symbol
            named = f"{node.name} {shape}" if shape else node.name
            subtitle = f"{named} · {op.pattern.name}"
        value = grad = None
        if result is not None and write is not None:
            value = write(result.values[node.id], precision)
            if value == title:  # a constant written as its value
                value = None
            if result.grads[node.id] is not None:
                grad = write(result.grads[node.id], precision)
        out.append(Box(node.id, title, subtitle, value, grad, kind, node.id == graph.output))
    for node in graph.nodes:
        for k, source in enumerate(node.inputs):
            sent = None if result is None else result.sent(node.id, k)
            shown = None if sent is None or write is None else write(sent, precision)
            edges.append(Edge(source, node.id, shown, k))
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
        rows = box.value.split("\n")
        widths += [len(row) * char for row in rows]
        lines += len(rows)
    if box.grad is not None:
        rows = box.grad.split("\n")
        widths += [(len(row) + 2) * char for row in rows]
        lines += len(rows)
    return max(max(widths) + 2 * pad, 3 * line), lines * line + pad


def legend(
    graph: Graph, escape: Callable[[str], str], coloured: str, result: Run | None = None
) -> str:
    """What the colours mean, as the pictures write it under the graph: `coloured` is
    the format's markup with two slots, a colour and the (escaped) text it colours. With
    --dout, the gradients are of L = sum(dout ⊙ q), and it says so."""
    f = label(graph, graph.nodes[graph.output])
    value = coloured.format(
        VALUE_HEX, escape(tr("{green}: {value}").format(green=tr("green"), value=tr("value")))
    )
    if result is None or getattr(result, "dout", None) is None:
        said = tr("{red}: {gradient} (on an edge: what that use sends back)").format(
            red=tr("red"), gradient=tr("∂{f}/∂node").format(f=f)
        )
    else:
        from ..tensor import differentiated, loss_text

        d = differentiated(result)  # type: ignore[arg-type]
        said = tr("{red}: {gradient}, of {loss} (on an edge: what that use sends back)").format(
            red=tr("red"), gradient=tr("∂{f}/∂node").format(f=d), loss=loss_text(d, f)
        )
    return f"{value}   {coloured.format(GRAD_HEX, escape(said))}"
