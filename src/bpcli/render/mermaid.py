"""The computational graph as Mermaid flowchart text, which GitHub renders in Markdown."""

from __future__ import annotations

from ..graph import Graph
from ..i18n import tr
from ..process import collector_paused
from .numbers import DEFAULT_PRECISION
from .picture import Run, boxes, shapes_unknown

MAX_EDGES = 500  # Mermaid's default maxEdges: it refuses larger flowcharts


def edge_count(graph: Graph) -> int:
    return sum(len(node.inputs) for node in graph.nodes)


_ENTITIES = {'"': "#quot;", "#": "#35;", "<": "#lt;", ">": "#gt;", "&": "#amp;"}
_ESCAPES = str.maketrans(
    _ENTITIES
)  # one pass in C: a label a character at a time was most of the time
SHAPES = {"input": ('["', '"]'), "constant": ('["', '"]'), "op": ('(("', '"))')}
STYLES = (
    "  classDef input fill:#eef4ff,stroke:#3b5bdb",
    "  classDef constant fill:#f8f9fa,stroke:#adb5bd,stroke-dasharray:3",
    "  classDef op fill:#fff9db,stroke:#f08c00",
    "  classDef output stroke-width:3px",
)


def escape(text: str) -> str:
    """Text safe inside a quoted Mermaid label: its special characters as entity codes;
    a matrix's rows on lines of their own."""
    return text.translate(_ESCAPES).replace("\n", "<br/>")


@collector_paused()  # the many small strings of a big graph's text, none in a cycle
def to_mermaid(
    graph: Graph,
    result: Run | None = None,
    precision: int = DEFAULT_PRECISION,
    fence: bool = False,
) -> str:
    """`flowchart LR` text; with `fence`, inside a ```mermaid Markdown fence. A tensor
    program's structure alone says, in a comment, that its shapes come with the values."""
    drawn, edges = boxes(graph, result, precision)
    lines = ["flowchart LR"]
    note = shapes_unknown(graph) if result is None else None
    if note is not None:
        lines.append(f"  %% {note}")
    if result is not None and getattr(result, "dout", None) is not None:
        from ..tensor import differentiated, loss_text

        d, f = differentiated(result), result.output_name  # type: ignore[arg-type]
        said = tr("grad: ∂{L}/∂node, of {loss}").format(L=d, loss=loss_text(d, f))
        lines.append(f"  %% {said}")
    for box in drawn:
        parts = [escape(box.title)]
        if box.subtitle:
            parts.append(escape(box.subtitle))
        if box.value is not None:
            parts.append(tr("value {value}").format(value=escape(box.value)))
        if box.grad is not None:
            parts.append(tr("grad {grad}").format(grad=escape(box.grad)))
        left, right = SHAPES[box.kind]
        lines.append(f"  n{box.id}{left}{'<br/>'.join(parts)}{right}")
    for edge in edges:
        label = f'|"{escape(edge.grad)}"|' if edge.grad else ""
        lines.append(f"  n{edge.source} -->{label} n{edge.target}")
    lines.extend(STYLES)
    for kind in ("input", "constant", "op"):
        ids = [f"n{box.id}" for box in drawn if box.kind == kind]
        if ids:
            lines.append(f"  class {','.join(ids)} {kind}")
    lines.append(f"  class n{graph.output} output")
    text = "\n".join(lines) + "\n"
    return f"```mermaid\n{text}```\n" if fence else text
