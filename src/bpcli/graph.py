"""The graph IR: nodes in topological order. Data only; no maths, no text parsing."""

from __future__ import annotations

from dataclasses import dataclass, field

TEXT_LIMIT = 60


@dataclass(frozen=True, slots=True)
class Node:
    """One operation application, one variable, or one constant.

    `inputs` are node ids (a node used twice as an input appears twice);
    `span` is the (start, end) offset of the source text it came from;
    `value` is set for constants only.
    """

    id: int
    op: str
    inputs: tuple[int, ...]
    name: str
    span: tuple[int, int]
    value: float | None = None


@dataclass(frozen=True, slots=True)
class Graph:
    """A parsed program: `nodes[i].id == i`, every input id smaller than its node's.

    `variables` maps each input's name to its node; `assigned` each name given
    by a statement `name = …` to its node (in order of assignment).
    """

    nodes: tuple[Node, ...]
    output: int
    variables: dict[str, int]
    source: str
    assigned: dict[str, int] = field(default_factory=dict)

    def text(self, node: Node, limit: int = TEXT_LIMIT) -> str:
        """The node's source text on one line, at most `limit` characters (ending in …)."""
        start, end = node.span
        # Slice only what can be shown: linear in the output, not the source.
        raw = self.source[start : min(end, start + 4 * limit)]
        text = " ".join(raw.split())
        if len(text) > limit or end - start > 4 * limit:
            text = text[: limit - 1].rstrip() + "…"
        return text
