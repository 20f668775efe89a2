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

The guides are drawn here (`Drawn`), as Rich's Tree draws them, a line's in one piece:
Rich's Tree yields a segment a level and lays out each label anew, which on the
benchmark's DAG cost more than all the rest and grew with the depth of the lines. Where
no styles are written (a pipe, a file) a line that fits is its text, and the markup of
a node's line is made only where a terminal shows its styles.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any, NamedTuple

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.markup import escape
from rich.segment import Segment
from rich.style import Style
from rich.styled import Styled
from rich.text import Text
from rich.tree import Tree

from ..graph import Graph
from ..i18n import N_, tr
from ..ops import OPS
from ..process import made_paused
from ..result import Result
from .arrays import cells_of, lines, one_line
from .lines import cells
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


class Branch:
    """A line of a tree (markup, or a block's Text) and the branches under it, as Rich's
    Tree holds them; `plain`, the line's text as Rich would print it where it fits."""

    __slots__ = ("children", "label", "plain")

    def __init__(self, label: str | Marked | Block, plain: str | None = None) -> None:
        self.label = label
        self.plain = plain
        self.children: list[Branch] = []


class Drawn:
    """A tree drawn as Rich's Tree draws one (its guides, its styles, each label laid
    out by Rich for the columns the guides leave it), but with a line's guides as one
    segment, not one a level: those cost more than the label on a line 12 levels deep,
    and made the view's time grow faster than its graph."""

    def __init__(self, root: Branch) -> None:
        self.root = root

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        null = Style.null()
        guide_style = console.get_style("tree.line", default="") or null
        style = console.get_style("tree")
        if options.ascii_only:
            space, going, fork, end = Tree.ASCII_GUIDES
        else:
            kind = 1 if guide_style.bold else (2 if guide_style.underline2 else 0)
            space, going, fork, end = Tree.TREE_GUIDES[0 if options.legacy_windows else kind]
        # Rich's Tree styles each guide so, after the label's background (none here)
        post = Style(bold=False, underline2=False)
        guides_style = guide_style + post if guide_style else post
        widths: dict[int, ConsoleOptions] = {}  # the options for a label, by its width
        pad = options.justify is not None
        # where the console writes no styles (a pipe, a file), a line is its text
        bare = console.color_system is None and not pad
        new_line = Segment.line()
        levels = [going]
        stack = [_with_last([self.root])]
        while stack:
            try:
                last, node = next(stack[-1])
            except StopIteration:
                stack.pop()
                levels.pop()
                if levels:
                    levels[-1] = fork
                continue
            if last:
                levels[-1] = end
            prefix = levels[1:]
            guides = "".join(prefix)
            width = options.max_width - cell_len(guides)
            rows = node.plain.split("\n") if bare and node.plain is not None else None
            if rows is not None and all(_fits(row, width) for row in rows):
                for row in rows:  # all that Rich would write of its lines
                    yield Segment(guides)
                    yield from map(Segment, _ONE_CELL_OR_NOT.findall(row))
                    yield new_line
                    if prefix:
                        prefix[-1] = space if last else going
                        guides = "".join(prefix)
            else:
                laid = widths.get(width)
                if laid is None:
                    laid = widths[width] = options.update(width=width, highlight=False, height=None)
                laid_lines = console.render_lines(Styled(node.label, style), laid, pad=pad)
                for k, line in enumerate(laid_lines):
                    if prefix:
                        yield Segment(guides, guides_style)
                    yield from line
                    yield new_line
                    if k == 0 and prefix:
                        prefix[-1] = space if last else going
                        guides = "".join(prefix)
            if node.children:
                levels[-1] = space if last else going
                levels.append(end if len(node.children) == 1 else fork)
                stack.append(_with_last(node.children))


def _with_last(branches: list[Branch]) -> Iterator[tuple[bool, Branch]]:
    """Each branch, and whether it is the last of its list (whose guide ends there)."""
    last = len(branches) - 1
    return zip(map(last.__eq__, range(len(branches))), branches, strict=True)


# Rich measures each line again as it prints it: a look-up per character, unless each
# character of a segment is one it knows to take one cell (ASCII, box drawing). A line
# goes to it in runs of those and runs of the others (`∂`, Korean), which repeat from
# line to line: Rich's cache holds their measures.
_ONE_CELL_OR_NOT = re.compile(
    "[\x20-\x7e\xa0-\xac\xae-\u02ff\u0370-\u0482\u2500-\u25fc\u2800-\u28ff]+"
    "|[^\x20-\x7e\xa0-\xac\xae-\u02ff\u0370-\u0482\u2500-\u25fc\u2800-\u28ff]+"
)


def _fits(row: str, width: int) -> bool:
    """Whether Rich would print a label's line as it is, on one line `width` cells wide
    (measured without a look-up per character where each takes one cell: Rich measures
    each line again as it prints it)."""
    return "\t" not in row and cells(row) <= width


class _Use(NamedTuple):
    """A node to print as its consumer's k-th input (`consumer` None: a tree's root)."""

    node: int
    branch: Branch | None  # where its line goes (None: it is the root of a new tree)
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


class Marked:
    """A node's line as markup (`_joined`'s), made only where Rich lays it out with its
    styles: on a pipe or in a file the tree writes its text."""

    __slots__ = ("heading", "marker", "parts", "show")

    def __init__(
        self, heading: list[str], parts: list[_Part], show: Callable[[Any], str], marker: str
    ) -> None:
        self.heading, self.parts, self.show, self.marker = heading, parts, show, marker

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        markup = _joined(self.heading, self.parts, self.show) + self.marker
        yield console.render_str(markup, highlight=options.highlight, markup=options.markup)


def _plain(heading: str, parts: list[_Part], plain: Callable[[Any], str], marker: str) -> str:
    """The text of `_joined`'s line and its marker, without their markup (from their
    pieces', each parsed once), after the heading's text."""
    text = heading
    for k, part in enumerate(parts):
        before, after = _around(part.template, part.style)
        text += (GAP if k < 2 else ", ") + before.plain + plain(part.value) + after.plain
    return text + _markup(marker).plain if marker else text


def _as_written(text: str, markup: str) -> str:
    """What Rich shows of `markup`, `text` escaped: the text itself, where it has nothing
    Rich's markup would change."""
    return text if _unmarked(text) else _markup(markup).plain


def _unmarked(text: str) -> bool:
    """Whether `text` has nothing Rich's markup would change (a tag, an escape, an
    emoji's `:name:`, a control code): as markup, it is itself."""
    return not ("[" in text or "\\" in text or ":" in text) and text.isprintable()


def _stripped(text: Text) -> Text:
    return text[len(text.plain) - len(text.plain.lstrip()) :]


# A piece of a block's line: a Text, plain text, or text in a style.
Fragment = Text | str | tuple[str, str]


class Block:
    """A node's lines where its line is too wide for its column (`_block`), as pieces
    of text; their Text is made only where Rich lays them out with their styles (on a
    pipe or in a file, the tree writes their text)."""

    def __init__(self, lines: list[list[Fragment]]) -> None:
        self.lines = lines

    @property
    def plain(self) -> str:
        return "\n".join(["".join([_text(f) for f in line]) for line in self.lines])

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Text("\n").join([Text.assemble(*line) for line in self.lines])


def _text(fragment: Fragment) -> str:
    if isinstance(fragment, Text):
        return fragment.plain
    return fragment if isinstance(fragment, str) else fragment[0]


def _block(
    heading: list[str],
    parts: list[_Part],
    lay: Callable[[Any, int], list[str]],
    room: int,
    pack: bool = False,
) -> Block:
    """A node's heading on its line (broken between its pieces where it must), then each
    value and gradient on lines of at most `room` columns as `lay` lays it out (a tensor
    as render/arrays.py does; a number too wide for `room` alone passes it, whole); with
    `pack` (numbers), side by side where they fit, as on a node's line."""
    out: list[list[Fragment]] = []
    widths: list[int] = []  # each line's width
    line: list[Fragment] = []
    used, written = 0, False  # the line's width, and whether it has any text yet
    for markup in heading:
        piece, size = _heading_piece(markup)
        if written and used + len(GAP) + size > room:
            out.append(line)
            widths.append(used)
            line, used, written = [], 0, False
        if written:
            line += [GAP, piece]
            used += len(GAP) + size
        else:
            line, used, written = [piece], size, bool(_text(piece))
    out.append(line)
    widths.append(used)
    for n, part in enumerate(parts):
        before, after = _around(part.template, part.style)
        indent = before.cell_len
        laid = lay(part.value, max(1, room - indent))
        if pack and n and len(laid) == 1:
            sep = GAP if n < 2 else ", "
            size = len(sep) + indent + cell_len(laid[0]) + after.cell_len
            if widths[-1] + size <= room:
                out[-1] += [sep, before, (laid[0], part.style), after]
                widths[-1] += size
                continue
        for k, row in enumerate(laid):
            out.append([before if k == 0 else " " * indent, (row, part.style)])
            widths.append(indent + cell_len(row))
        if not after.plain.strip():
            continue
        if widths[-1] + after.cell_len <= room:
            out[-1].append(after)
            widths[-1] += after.cell_len
        else:
            rest = _stripped(after)
            out.append([" " * indent, rest])
            widths.append(indent + rest.cell_len)
    return Block(out)


def _heading_piece(markup: str) -> tuple[str | Text, int]:
    """A heading piece without the spaces it starts with, and its width: its text, where
    its markup is its text (a node's `n12 = n3 * n4`, each a new one), else its Text."""
    if _unmarked(markup):
        text = markup.lstrip()
        return text, cells(text)
    return _marked_piece(markup)


@lru_cache(maxsize=256)
def _marked_piece(markup: str) -> tuple[Text, int]:
    """A heading piece's Text without the spaces it starts with, and its width (a
    pattern's name repeats: parsed once; never changed)."""
    piece = _stripped(_markup(markup))
    return piece, piece.cell_len


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


class _Tree:
    """The trees of a graph (and of a run, laid out for the width they are printed at),
    made and drawn with Python's cycle collector paused, until the last of them is
    drawn: hundreds of thousands of branches and segments, none in a reference cycle,
    and every collection would trace all those still held (with 10^5 nodes, Rich's
    print holds every segment until the end: 5 of its 7 s were collections)."""

    def __init__(self, graph: Graph, result: Run | None, precision: int) -> None:
        self.graph, self.result, self.precision = graph, result, precision

    @made_paused
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        run = self.result
        yield _trees(self.graph, run, self.precision, None if run is None else options.max_width)


def to_tree(
    graph: Graph, result: Run | None = None, precision: int = DEFAULT_PRECISION
) -> RenderableType:
    """The output's tree (and the trees that go on where it gets too deep); a run's nodes
    (a tensor run's with their shapes) each laid out for the columns left to it."""
    return _Tree(graph, result, precision)


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

    headings: dict[int, tuple[list[str], str]] = {}  # a node's, the same at each use

    def heading_of(node_id: int) -> tuple[list[str], str]:
        """A node's heading (markup pieces: its gate, pattern, shape) and its text."""
        node = graph.nodes[node_id]
        op = OPS[node.op]
        written = name = label(graph, node)
        markup = escape(name)
        if node.inputs:
            said = op.show([label(graph, graph.nodes[i]) for i in node.inputs])
            written += f" = {said}"
            markup += f" = {escape(said)}"
        heading = [markup]
        if node.inputs:
            heading.append(f"[dim]{escape(op.pattern.name)}[/]")
        if result is None:
            if not node.inputs and not constant(graph, node) and shapes_unknown(graph):
                heading.append(f"[dim]{escape(tr('(shape unknown: give its value)'))}[/]")
        elif tensor and not constant(graph, node):
            heading.append(f"[dim]{escape(shape_text(result, node_id))}[/]")
        texts = [_as_written(written, heading[0]), *(_markup(m).plain for m in heading[1:])]
        return heading, GAP.join(texts)

    def pieces(use: _Use) -> tuple[list[str], str, list[_Part]]:
        """A node's heading, its text, and the values and gradients after it."""
        known = headings.get(use.node)
        if known is None:
            known = headings[use.node] = heading_of(use.node)
        heading, text = known
        if result is None:
            return heading, text, []
        parts = [_Part(VALUE_TEXT, VALUE, result.values[use.node])]
        grad = result.grads[use.node]
        if grad is None:
            return heading, text, parts
        if uses[use.node] <= 1:
            return heading, text, [*parts, _Part(GRAD_TEXT, GRAD, grad)]
        if use.node not in totalled:
            totalled.add(use.node)
            parts.append(_Part(tr("[{style}]∂ {grad}[/] in all"), GRAD, grad))
        if use.consumer is not None:
            sent = result.sent(use.consumer, use.k)
            parts.append(_Part(tr("[{style}]∂ {grad}[/] from this use"), GRAD, sent))
        return heading, text, parts

    def line(use: _Use, marker: str) -> Branch:
        """The node's line, with its text as Rich would print it (a block's: its lines)."""
        heading, heading_text, parts = pieces(use)
        if show is None:
            return Branch(GAP.join(heading) + marker, _plain(heading_text, [], str, marker))
        text = _plain(heading_text, parts, plain, marker)
        if width is not None and cells(text) > width - GUIDE * use.depth:
            heading = [*heading, marker] if marker else heading
            block = _block(heading, parts, lay, width - GUIDE * use.depth, pack=not tensor)
            return Branch(block, block.plain)
        return Branch(Marked(heading, parts, show, marker), text)

    trees: list[Branch] = []
    roots = deque([graph.output])
    while roots:
        top = roots.popleft()
        stack = [_Use(top, None, None, 0, 0)]  # no recursion: graphs can be 100,000 deep
        while stack:
            use = stack.pop()
            gate = bool(graph.inputs(use.node))
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
            branch = line(use, marker)
            if use.branch is None:
                trees.append(branch)
            else:
                use.branch.children.append(branch)
            if expand:
                written.add(use.node)
                later.discard(use.node)
                inputs = graph.inputs(use.node)
                stack.extend(
                    _Use(i, branch, use.node, k, use.depth + 1)
                    for k, i in reversed(list(enumerate(inputs)))
                )
    return Drawn(trees[0]) if len(trees) == 1 else Group(*map(Drawn, trees))
