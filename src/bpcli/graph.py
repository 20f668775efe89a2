"""The graph IR: nodes in topological order, kept as flat arrays; no maths, no parsing.

A node is one operation application, one variable, or one constant. The graph
stores them column by column (op codes, input indices, spans, constants) rather
than as an object per node, so that a million-node expression fits in a few
tens of megabytes and the engine's loops index plain lists. `graph.nodes` gives
`Node` objects, made on demand, for code that wants one node at a time.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, overload

from .ops import CODES, OP_NAMES

TEXT_LIMIT = 60
NO_INPUT = -1


REPR_SOURCE = 60  # characters of the source a Graph's repr shows
REPR_INPUTS = 8  # … and input names


@dataclass(frozen=True, slots=True)
class Node:
    """One node: `inputs` are node ids (a node used twice as an input appears twice),
    `span` the (start, end) offsets of the source text it came from, `value` set for
    constants only."""

    id: int
    op: str
    inputs: tuple[int, ...]
    name: str
    span: tuple[int, int]
    value: float | None = None


@dataclass(slots=True, eq=False)
class Graph:
    """A parsed program: every input id is smaller than its node's id.

    Columns, one entry per node: `codes` (the op's index in the op table),
    `first` and `second` (input ids, NO_INPUT when absent), `starts` and
    `ends` (the source span), `consts` (a constant's value, else 0), `fixed`
    (1 for a node that depends on no input: a constant, or a gate of constants
    only, like the exponent in x ** (1 + 1); it gets no gradient, and the parser
    sets it as it builds each node, as PyTorch sets requires_grad). A node
    with more than two inputs (max, min) has them all in `more`. `labels`
    holds the names the program gave (variables, assignments, the output);
    other nodes get generated names (`add1`, `mul2`, …) when asked.
    `variables` maps each input's name to its node; `assigned` each name given
    by a statement `name = …` to its node, in order.
    """

    codes: list[int]
    first: list[int]
    second: list[int]
    more: dict[int, tuple[int, ...]]
    starts: array[int]
    ends: array[int]
    consts: array[float]
    fixed: bytearray
    labels: dict[int, str]
    output: int
    variables: dict[str, int]
    source: str
    assigned: dict[str, int] = field(default_factory=dict)
    derived: dict[object, Any] = field(default_factory=dict, repr=False)  # made once, kept

    def __len__(self) -> int:
        return len(self.codes)

    def __repr__(self) -> str:
        """`Graph('(x+y)*z', 5 nodes, inputs x, y, z, output f)`: what it is, not its columns."""
        source = " ".join(self.source.split())
        if len(source) > REPR_SOURCE:
            source = source[: REPR_SOURCE - 1] + "…"
        names = list(self.variables)
        inputs = ", ".join(names[:REPR_INPUTS]) + (", …" if len(names) > REPR_INPUTS else "")
        size = f"{len(self):,} node" + ("" if len(self) == 1 else "s")
        given = f"inputs {inputs}" if names else "no inputs"
        return f"Graph({source!r}, {size}, {given}, output {self.name(self.output)})"

    @property
    def nodes(self) -> NodeView:
        return NodeView(self)

    def op(self, node_id: int) -> str:
        return OP_NAMES[self.codes[node_id]]

    def inputs(self, node_id: int) -> tuple[int, ...]:
        more = self.more.get(node_id)
        if more is not None:
            return more
        a, b = self.first[node_id], self.second[node_id]
        if a == NO_INPUT:
            return ()
        return (a,) if b == NO_INPUT else (a, b)

    def name(self, node_id: int) -> str:
        label = self.labels.get(node_id)
        if label is not None:
            return label
        return self._all_names()[node_id]

    def node_named(self, name: str) -> int | None:
        """The node a name refers to: an input, an assigned name, or a node's label."""
        for table in (self.variables, self.assigned):
            if name in table:
                return table[name]
        try:
            return self._all_names().index(name)
        except ValueError:
            return None

    def _all_names(self) -> list[str]:
        names: list[str] | None = self.derived.get("names")
        if names is None:
            names = self.derived["names"] = self._generate_names()
        return names

    def _generate_names(self) -> list[str]:
        return list(self._names())

    def iter_names(self) -> Iterator[str]:
        """Every node's name in order, kept or made as they are read (a writer of a large
        graph's nodes keeps none)."""
        names: list[str] | None = self.derived.get("names")
        return self._names() if names is None else iter(names)

    def _names(self) -> Iterator[str]:
        """Every node's name: its label, or `{op}{k}` counting per op, skipping taken names."""
        taken = set(self.labels.values()) | set(self.assigned)
        counters = [0] * len(OP_NAMES)
        labels = self.labels
        for node_id, code in enumerate(self.codes):
            label = labels.get(node_id)
            if label is None:
                while True:
                    counters[code] += 1
                    label = f"{OP_NAMES[code]}{counters[code]}"
                    if label not in taken:
                        break
            yield label

    def facts(self) -> list[tuple[str, str, tuple[int, ...], str]]:
        """(name, op, inputs, text) of every node: what does not depend on the values.
        Kept once made, since a graph parsed once may be evaluated many times."""
        facts: list[tuple[str, str, tuple[int, ...], str]] | None = self.derived.get("facts")
        if facts is None:
            facts = [
                (self.name(i), OP_NAMES[code], self.inputs(i), self.text(i))
                for i, code in enumerate(self.codes)
            ]
            self.derived["facts"] = facts
        return facts

    def live(self) -> bytearray:
        """1 for the nodes the output depends on (a statement's result may go unused)."""
        made: bytearray | None = self.derived.get("live")
        if made is None:
            made = bytearray(len(self.codes))
            made[self.output] = 1
            for i in range(self.output, -1, -1):
                if made[i]:
                    for j in self.inputs(i):
                        made[j] = 1
            self.derived["live"] = made
        return made

    def node(self, node_id: int) -> Node:
        code = self.codes[node_id]
        value = self.consts[node_id] if code == CODES["const"] else None
        return Node(
            node_id,
            OP_NAMES[code],
            self.inputs(node_id),
            self.name(node_id),
            (self.starts[node_id], self.ends[node_id]),
            value,
        )

    def text(self, node: Node | int, limit: int = TEXT_LIMIT) -> str:
        """A node's source text on one line, at most `limit` characters (ending in …)."""
        node_id = node if isinstance(node, int) else node.id
        return _text(self.source, self.starts[node_id], self.ends[node_id], limit)

    def texts(self, first: int, last: int) -> list[str]:
        """`text` of nodes `first` to `last` - 1."""
        starts, ends = self.starts[first:last], self.ends[first:last]
        return list(map(_text, repeat(self.source), starts, ends, repeat(TEXT_LIMIT)))


def _text(source: str, start: int, end: int, limit: int) -> str:
    size = end - start
    # A short text, or the start of a long one, with no space to fold and nothing to
    # make visible, is its source as it is (the lines below would make the same).
    if size <= limit or size > 4 * limit:
        raw = source[start : start + min(size, limit)]
        if raw.isprintable() and "  " not in raw and raw[:1] != " " and raw[-1:] != " ":
            return raw if size <= limit else raw[: limit - 1].rstrip() + "…"
    # Slice only what can be shown: linear in the output, not the source.
    raw = source[start : min(end, start + 4 * limit)]
    text = visible(" ".join(raw.split()))
    if len(text) > limit or size > 4 * limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


# Control characters (in a comment, say) shown as their Unicode pictures, one column
# each as the character was: an error's caret still lines up, and nothing written to
# a terminal can move its cursor or change its colours.
_PICTURES = {code: 0x2400 + code for code in range(0x20)} | {0x7F: 0x2421}
_PICTURES |= {code: 0xFFFD for code in range(0x80, 0xA0)}


def visible(text: str) -> str:
    """`text` with each control character replaced by a visible one of the same width."""
    return text.translate(_PICTURES)


class NodeView(Sequence[Node]):
    """The graph's nodes as `Node` objects, made as they are read."""

    __slots__ = ("graph",)

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    def __len__(self) -> int:
        return len(self.graph.codes)

    @overload
    def __getitem__(self, index: int) -> Node: ...

    @overload
    def __getitem__(self, index: slice) -> list[Node]: ...

    def __getitem__(self, index: int | slice) -> Node | list[Node]:
        if isinstance(index, slice):
            return [self.graph.node(i) for i in range(len(self))[index]]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self.graph.node(index)

    def __iter__(self) -> Iterator[Node]:
        node = self.graph.node
        return (node(i) for i in range(len(self)))

    def __reversed__(self) -> Iterator[Node]:
        node = self.graph.node
        return (node(i) for i in range(len(self) - 1, -1, -1))
