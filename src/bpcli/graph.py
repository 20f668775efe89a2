"""The graph IR: nodes in topological order, kept as flat arrays; no maths, no parsing.

A node is one operation application, one variable, or one constant. The graph
stores them column by column (op codes, input indices, spans, constants) rather
than as an object per node, so that a million-node expression fits in a few
tens of megabytes and the engine's loops index plain lists. `graph.nodes` gives
`Node` objects, made on demand, for code that wants one node at a time.
"""

from __future__ import annotations

import operator
import re
from array import array
from bisect import bisect_left
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import compress, count, filterfalse, repeat
from typing import Any, Literal, overload

from . import _tables
from .ops import CODES, OP_NAMES

TEXT_LIMIT = 60
# A comment (the grammar's, to the end of its line) inside a node's source, as in
# `(x +  # the sum\n y) * z`, is not part of the node's text.
_COMMENT = re.compile(dict(_tables.TERMINALS)["COMMENT"])
NO_INPUT = -1
NAMES_AT_ONCE = 4096  # nodes whose names are made at a time


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
    `first` and `second` (input ids, NO_INPUT when absent: arrays of 8-byte ints,
    which the passes read in order, not lists of int objects scattered through
    memory), `starts` and `ends` (the source span), `consts` (a constant's value, else 0), `fixed`
    (1 for a node that depends on no input: a constant, or a gate of constants
    only, like the exponent in x ** (1 + 1); it gets no gradient, and the parser
    sets it as it builds each node, as PyTorch sets requires_grad). A node
    with more than two inputs (max, min) has them all in `more`. `labels`
    holds the names the program gave (variables, assignments, the output);
    other nodes get generated names (`add1`, `mul2`, …) when asked.
    `variables` maps each input's name to its node; `assigned` each name given
    by a statement `name = …` to its node, in order. `constant_ids` lists the
    constants' ids in order, as the parser makes them (the backward pass gives each
    None without a scan of `fixed`); empty where not known.
    """

    codes: list[int]
    first: array[int]
    second: array[int]
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
    constant_ids: list[int] = field(default_factory=list)
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
        for first, numbers, labelled in self.name_numbers():
            codes = self.codes[first : first + len(numbers)]
            names = list(map(operator.add, map(OP_NAMES.__getitem__, codes), map(str, numbers)))
            for i in labelled:
                names[i - first] = self.labels[i]
            yield from names

    def name_numbers(self, size: int = NAMES_AT_ONCE) -> Iterator[tuple[int, list[int], list[int]]]:
        """Every node's generated name `{op}{k}` as its number k, `size` nodes at a time:
        (first, the numbers of nodes first, first + 1, …, the ids among them that have
        a label, whose number is 0). k counts the op's nodes without a label from 1 and
        skips a number whose name is taken (an input, an assigned name or a label)."""
        labels = self.labels
        taken = set(labels.values()) | set(self.assigned)
        skipped = _taken_numbers(taken)
        # one counter per op (that skips nothing where no name is taken: most of them),
        # and one that gives the labelled nodes 0
        counters: list[Iterator[int]] = [
            filterfalse(skip.__contains__, count(1)) if skip else count(1) for skip in skipped
        ]
        counters.append(repeat(0))
        unnamed = len(OP_NAMES)
        labelled = sorted(labels)
        at = 0
        for first in range(0, len(self.codes), size):
            last = first + size
            codes = self.codes[first:last]
            end = bisect_left(labelled, last, at)
            here, at = labelled[at:end], end
            for i in here:
                codes[i - first] = unnamed
            yield first, list(map(next, map(counters.__getitem__, codes))), here

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

    def program(self) -> str:
        """The program on one line, as a heading shows it: as typed where it is one line
        with no comment; else its statements, `name = text`, then the output's text
        where no statement names it, each in full, joined by `; ` (no comment, no new
        line: a page's title showed a file's comment line as if it were code)."""
        source = self.source.strip()
        if "\n" not in source and "#" not in source:
            return source
        limit = len(self.source) + 1
        shown = [f"{name} = {self.text(node, limit)}" for name, node in self.assigned.items()]
        if self.output not in self.assigned.values():
            shown.append(self.text(self.output, limit))
        return "; ".join(shown)

    def text(self, node: Node | int, limit: int = TEXT_LIMIT) -> str:
        """A node's source text on one line, at most `limit` characters (ending in …)."""
        node_id = node if isinstance(node, int) else node.id
        return _text(self.source, self.starts[node_id], self.ends[node_id], limit)

    def texts(self, first: int, last: int) -> list[str]:
        """`text` of nodes `first` to `last` - 1."""
        parts, cut = next(self.text_columns(first, last, last - first), ([], []))
        return [text + "…" if shown else text for text, shown in zip(parts, cut, strict=True)]

    @overload
    def text_columns(
        self,
        first: int = 0,
        last: int | None = None,
        size: int = NAMES_AT_ONCE,
        *,
        encoded: Literal[False] = False,
    ) -> Iterator[tuple[list[str], list[int]]]: ...

    @overload
    def text_columns(
        self,
        first: int = 0,
        last: int | None = None,
        size: int = NAMES_AT_ONCE,
        *,
        encoded: bool,
    ) -> Iterator[tuple[list[str] | list[bytes], list[int]]]: ...

    def text_columns(
        self,
        first: int = 0,
        last: int | None = None,
        size: int = NAMES_AT_ONCE,
        *,
        encoded: bool = False,
    ) -> Iterator[tuple[list[Any], list[int]]]:
        """`text` of nodes `first` to `last` - 1, `size` nodes at a time, as two columns:
        each text without the ellipsis that ends a cut one, and whether it is cut
        (nonzero). Made column by column where a text is its source as it is (nothing
        to fold or make visible), which what the whole source holds may settle at once.
        `encoded`: where that is every text and the source is ASCII, each text as its
        bytes, sliced from the source's (what encoding each one would give): a writer
        of UTF-8 then makes no text to encode."""
        source, limit = self.source, TEXT_LIMIT
        body = source.strip()  # every node's source is in it: a node starts and ends a token
        printable = body.isprintable() or body.replace("\n", " ").isprintable()
        spaced = " " in body
        bare = printable and not spaced and "\n" not in body  # every text as it is
        del body
        # a long one shows its start, `long` characters of it (bare: what shows)
        long = limit - 1 if bare else limit
        sliced: str | bytes = source
        if encoded and bare and source.isascii():
            sliced = source.encode("ascii")
        last = len(self.codes) if last is None else last
        for at in range(first, last, size):
            starts = self.starts[at : min(at + size, last)].tolist()
            ends = self.ends[at : at + len(starts)].tolist()
            sizes = list(map(operator.sub, ends, starts))
            cut = list(map(_KINDS.get, sizes, repeat(_LONG)))
            # a short one shows all its source, a long one its start (sliced in a
            # comprehension: a slice object made by a call costs more than the slice
            # itself, and a map of where each one stops 30 ns more a node than the test)
            raws: list[Any] = [
                sliced[a:b] if b - a <= limit else sliced[a : a + long]
                for a, b in zip(starts, ends, strict=True)
            ]
            if not bare:
                joined = "\0".join(raws)  # no NUL is printable
                plain = "\n" not in joined if printable else _printable(joined)
                if spaced and plain:
                    plain = "  " not in joined and "\0 " not in joined and joined[:1] != " "
                if not plain:  # text by text
                    parts = list(map(_text_parts, repeat(source), starts, ends, repeat(limit)))
                    yield [text for text, _ in parts], [cut for _, cut in parts]
                    continue
                if spaced and (" \0" in joined or joined[-1:] == " "):  # a short one folds
                    for k in compress(range(len(cut)), map(str.endswith, raws, repeat(" "))):
                        if not cut[k]:
                            raws[k], cut[k] = _text_parts(source, starts[k], ends[k], limit)
                if _LONG in cut:  # a long one shows its start, to one character short
                    for k in compress(range(len(cut)), map(_LONG.__eq__, cut)):
                        raws[k] = raws[k][: limit - 1].rstrip()
            if _FOLDED in cut:  # folding its spaces may make it short again
                for k in compress(range(len(cut)), map(_FOLDED.__eq__, cut)):
                    raws[k], cut[k] = _text_parts(source, starts[k], ends[k], limit)
                    if sliced is not source:
                        raws[k] = raws[k].encode("ascii")
            yield raws, cut


def _text(source: str, start: int, end: int, limit: int) -> str:
    text, cut = _text_parts(source, start, end, limit)
    return text + "…" if cut else text


def _text_parts(source: str, start: int, end: int, limit: int) -> tuple[str, bool]:
    """A node's text without its ellipsis, and whether it is cut (it then ends in …)."""
    size = end - start
    # A short text, or the start of a long one, with no space to fold and nothing to
    # make visible, is its source as it is (the lines below would make the same).
    if size <= limit or size > 4 * limit:
        raw = source[start : start + min(size, limit)]
        # (a long one's last character is not shown: a space there changes nothing)
        if raw.isprintable() and "  " not in raw and raw[:1] != " ":
            if size > limit:
                return raw[: limit - 1].rstrip(), True
            if raw[-1:] != " ":
                return raw, False
    # Slice only what can be shown: linear in the output, not the source.
    raw = source[start : min(end, start + 4 * limit)]
    if "#" in raw:
        raw = _COMMENT.sub("", raw)
    text = visible(" ".join(raw.split()))
    if len(text) > limit or size > 4 * limit:
        return text[: limit - 1].rstrip(), True
    return text, False


# A node's text is short (0), folded from between the limit and 4 limits of source (_FOLDED:
# folding spaces may make it short again), or the cut start of a longer one (_LONG).
_FOLDED, _LONG = 1, 2
_KINDS = dict.fromkeys(range(TEXT_LIMIT + 1), 0) | dict.fromkeys(
    range(TEXT_LIMIT + 1, 4 * TEXT_LIMIT + 1), _FOLDED
)


def _printable(joined: str) -> bool:
    return joined.replace("\0", "|").isprintable()


# Control characters (in a comment, say) shown as their Unicode pictures, one column
# each as the character was: an error's caret still lines up, and nothing written to
# a terminal can move its cursor or change its colours.
_PICTURES = {code: 0x2400 + code for code in range(0x20)} | {0x7F: 0x2421}
_PICTURES |= {code: 0xFFFD for code in range(0x80, 0xA0)}


def visible(text: str) -> str:
    """`text` with each control character replaced by a visible one of the same width."""
    return text.translate(_PICTURES)


def _taken_numbers(taken: set[str]) -> list[set[int]]:
    """For each op, the numbers k whose generated name `{op}{k}` is in `taken`."""
    skipped: list[set[int]] = [set() for _ in OP_NAMES]
    for name in filter(_GENERATED.fullmatch, taken):
        for code, op in enumerate(OP_NAMES):
            if name.startswith(op) and _NUMBER.fullmatch(name, len(op)):
                skipped[code].add(int(name[len(op) :]))
    return skipped


_GENERATED = re.compile("(?:" + "|".join(map(re.escape, OP_NAMES)) + ")[1-9][0-9]*")
_NUMBER = re.compile("[1-9][0-9]*")  # k of a generated name, as str(k) writes it


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
