"""The computational graph as a Rich tree, from the output down to the inputs.

Each gate is written out in full once, at its first use in the printed order;
each later use is one line that says where it is written out. A node used more
than once shows, on each use, what that use sends back to it (x*x + x at x = 3:
3, 3 and 1), and its whole gradient once, at its first use. A branch deeper than
MAX_DEPTH goes on in a tree of its own below the first: lines never grow wider
than MAX_DEPTH guides, so the text grows linearly with the graph, however deep.

A tensor run's node is laid out for the columns its guides leave it: on one line where
it fits, else its heading (name, pattern, shape) on a line and its value and gradients
on the lines under it, each tensor laid out by render/arrays.py (a matrix a line per
row, a row broken only between two elements), so Rich never has to wrap a number.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from functools import lru_cache
from typing import Any, NamedTuple

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.markup import escape
from rich.text import Text
from rich.tree import Tree

from ..graph import Graph
from ..i18n import N_, tr
from ..ops import OPS
from ..result import Result
from .arrays import cells_of, lines, one_line
from .numbers import DEFAULT_PRECISION, fmt
from .picture import Run, constant, label, shape_text, shapes_unknown
from .theme import GRAD, VALUE

MAX_DEPTH = 12  # levels of one tree: 48 columns of guides
GUIDE = 4  # the columns a level's guides take (`├── `)
ROOM = 24  # a tensor run's tree leaves a node this many columns at least: fewer levels
GAP = "  "  # between two parts of a node's line
VALUE_TEXT = "[{style}]{grad}[/]"
GRAD_TEXT = "[{style}]∂ {grad}[/]"
ABOVE = N_("  [italic](shared, shown above)[/]")
BELOW = N_("  [italic](shared, shown below)[/]")
GOES_ON = N_("  [italic](continued below)[/]")
GOES_ON_FROM = N_("  [italic](continued from above)[/]")


class _Use(NamedTuple):
    """A node to print as its consumer's k-th input (`consumer` None: a tree's root)."""

    node: int
    branch: Tree | None  # where its line goes (None: it is the root of a new tree)
    consumer: int | None
    k: int
    depth: int


class _Part(NamedTuple):
    """A value or gradient on a node's line: its markup (`{grad}` where the value goes, in
    `style`) and the value."""

    template: str
    style: str
    value: Any


def _joined(heading: list[str], parts: list[_Part], show: Callable[[Any], str]) -> str:
    """A node's line, as markup: its heading, then its value and gradients side by side."""
    text = GAP.join(heading)
    for k, part in enumerate(parts):
        text += (GAP if k < 2 else ", ") + part.template.format(
            style=part.style, grad=show(part.value)
        )
    return text


def _cells(heading: list[str], parts: list[_Part], plain: Callable[[Any], str]) -> int:
    """The columns `_joined`'s line takes, from its pieces' (each parsed once, not each
    line: a graph has many)."""
    used = sum(_markup(piece).cell_len for piece in heading) + len(GAP) * (len(heading) - 1)
    for k, part in enumerate(parts):
        before, after = _around(part.template, part.style)
        used += (len(GAP) if k < 2 else 2) + before.cell_len + after.cell_len
        used += cell_len(plain(part.value))
    return used


def _stripped(text: Text) -> Text:
    return text[len(text.plain) - len(text.plain.lstrip()) :]


def _block(
    heading: list[str],
    parts: list[_Part],
    lay: Callable[[Any, int], list[str]],
    room: int,
    pack: bool = False,
) -> Text:
    """A node's heading on its line (broken between its pieces where it must), then each
    value and gradient on lines of at most `room` columns as `lay` lays it out (a tensor
    as render/arrays.py does; a number too wide for `room` alone passes it, whole); with
    `pack` (numbers), side by side where they fit, as on a node's line."""
    out: list[Text] = []
    line = Text()
    for markup in heading:
        piece = _stripped(_markup(markup))
        if line.plain and line.cell_len + len(GAP) + piece.cell_len > room:
            out.append(line)
            line = Text()
        line = Text.assemble(line, GAP, piece) if line.plain else piece
    out.append(line)
    for n, part in enumerate(parts):
        before, after = _around(part.template, part.style)
        indent = before.cell_len
        laid = lay(part.value, max(1, room - indent))
        if pack and n and len(laid) == 1:
            whole = Text.assemble(GAP if n < 2 else ", ", before, (laid[0], part.style), after)
            if out[-1].cell_len + whole.cell_len <= room:
                out[-1].append_text(whole)
                continue
        for k, row in enumerate(laid):
            out.append(Text.assemble(before if k == 0 else " " * indent, (row, part.style)))
        if not after.plain.strip():
            continue
        if out[-1].cell_len + after.cell_len <= room:
            out[-1].append_text(after)
        else:
            out.append(Text.assemble(" " * indent, _stripped(after)))
    return Text("\n").join(out)


@lru_cache(maxsize=256)
def _markup(markup: str) -> Text:
    """A heading piece's Text (a pattern's name repeats: parsed once; never changed)."""
    return Text.from_markup(markup)


@lru_cache(maxsize=64)
def _around(template: str, style: str) -> tuple[Text, Text]:
    """What a part's template puts before and after its value (never changed)."""
    marked = Text.from_markup(template.format(style=style, grad="\0"))
    at = marked.plain.index("\0")
    return marked[:at], marked[at + 1 :]


class _WideTree:
    """A run's tree, laid out for the width it is printed at."""

    def __init__(self, graph: Graph, result: Run, precision: int) -> None:
        self.graph, self.result, self.precision = graph, result, precision

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield _trees(self.graph, self.result, self.precision, options.max_width)


def to_tree(
    graph: Graph, result: Run | None = None, precision: int = DEFAULT_PRECISION
) -> RenderableType:
    """The output's tree (and the trees that go on where it gets too deep); a run's nodes
    (a tensor run's with their shapes) each laid out for the columns left to it."""
    if result is not None:
        return _WideTree(graph, result, precision)
    return _trees(graph, result, precision, None)


def _trees(graph: Graph, result: Run | None, precision: int, width: int | None) -> RenderableType:
    """The trees; `width` None: the structure alone, whose lines are markup Rich lays
    out, as they always were. A node too wide for the columns its guides leave it is a
    block (`_block`): Rich would wrap it anywhere, `∂` on a line and its number on the
    next, and leave spaces at the end of the lines."""
    tensor = result is not None and not isinstance(result, Result)
    lay: Callable[[Any, int], list[str]]
    plain: Callable[[Any], str]  # a value as shown, not markup: for its width
    if result is None:
        show: Callable[[Any], str] | None = None
    elif tensor:
        plain = lambda value: one_line(cells_of(value, precision))
        show = lambda value: escape(plain(value))
        lay = lambda value, room: lines(cells_of(value, precision), room)
    else:
        show = plain = lambda value: fmt(value, precision)
        lay = lambda value, _: [fmt(value, precision)]  # no numpy for a run over numbers
    depth_limit = MAX_DEPTH if width is None else max(1, min(MAX_DEPTH, (width - ROOM) // GUIDE))
    written: set[int] = set()  # the gates written out so far, in the printed order
    later: set[int] = set()  # the gates that go on in a tree below
    totalled: set[int] = set()  # the nodes whose whole gradient is shown
    uses = [0] * len(graph)
    for node in graph.nodes:
        for source in node.inputs:
            uses[source] += 1

    def pieces(use: _Use) -> tuple[list[str], list[_Part]]:
        """A node's heading (markup pieces: its gate, pattern, shape) and the values and
        gradients after it."""
        node = graph.nodes[use.node]
        op = OPS[node.op]
        text = escape(label(graph, node))
        if node.inputs:
            names = [label(graph, graph.nodes[i]) for i in node.inputs]
            text += f" = {escape(op.show(names))}"
        heading = [text]
        if node.inputs:
            heading.append(f"[dim]{escape(op.pattern.name)}[/]")
        if result is None:
            if not node.inputs and not constant(graph, node) and shapes_unknown(graph):
                heading.append(f"[dim]{escape(tr('(shape unknown: give its value)'))}[/]")
            return heading, []
        if tensor and not constant(graph, node):
            heading.append(f"[dim]{escape(shape_text(result, use.node))}[/]")
        parts = [_Part(VALUE_TEXT, VALUE, result.values[use.node])]
        grad = result.grads[use.node]
        if grad is None:
            return heading, parts
        if uses[use.node] <= 1:
            return heading, [*parts, _Part(GRAD_TEXT, GRAD, grad)]
        if use.node not in totalled:
            totalled.add(use.node)
            parts.append(_Part(tr("[{style}]∂ {grad}[/] in all"), GRAD, grad))
        if use.consumer is not None:
            sent = result.sent(use.consumer, use.k)
            parts.append(_Part(tr("[{style}]∂ {grad}[/] from this use"), GRAD, sent))
        return heading, parts

    def line(use: _Use, marker: str) -> str | Text:
        heading, parts = pieces(use)
        if show is None:
            return GAP.join(heading) + marker
        text = _joined(heading, parts, show) + marker
        if width is None:
            return text
        room = width - GUIDE * use.depth
        if _cells(heading, parts, plain) + (_markup(marker).cell_len if marker else 0) <= room:
            return text
        heading = [*heading, marker] if marker else heading
        return _block(heading, parts, lay, room, pack=not tensor)

    trees: list[Tree] = []
    roots = deque([graph.output])
    while roots:
        top = roots.popleft()
        stack = [_Use(top, None, None, 0, 0)]  # no recursion: graphs can be 100,000 deep
        while stack:
            use = stack.pop()
            gate = bool(graph.nodes[use.node].inputs)
            marker = ""
            expand = gate and use.node not in written
            if use.branch is None:
                marker = tr(GOES_ON_FROM) if use.node != graph.output else ""
            elif gate and use.node in later:
                marker = tr(BELOW)
                expand = False
            elif gate and not expand:
                marker = tr(ABOVE)
            elif expand and use.depth >= depth_limit:
                marker = tr(GOES_ON)
                later.add(use.node)
                roots.append(use.node)
                expand = False
            text = line(use, marker)
            if use.branch is None:
                branch = Tree(text)
                trees.append(branch)
            else:
                branch = use.branch.add(text)
            if expand:
                written.add(use.node)
                later.discard(use.node)
                inputs = graph.nodes[use.node].inputs
                stack.extend(
                    _Use(i, branch, use.node, k, use.depth + 1)
                    for k, i in reversed(list(enumerate(inputs)))
                )
    return trees[0] if len(trees) == 1 else Group(*trees)
