"""Lines that bpcli breaks itself: equations only before an `=`, prose only at a space
outside its maths, and no line padded with spaces.

Rich wraps a cell or a line wherever it must, even inside `-0.416147 · 0.0707372`,
which then reads as a false equation (here a single term wider than the line is
never cut: the line is longer); it pads tables and `Padding` to the
console's width, which leaves trailing spaces in a pipe or a file; and its layout
of thousands of small renderables costs far more than the text. The walkthrough
lays its lines out here, for the width it is given, as lists of (text, style)
pieces, and draws its own boxes.
"""

from __future__ import annotations

import re
import string
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from functools import lru_cache
from itertools import accumulate
from typing import TYPE_CHECKING, Any

from rich import box
from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.segment import Segment
from rich.style import Style

if TYPE_CHECKING:  # the walkthrough is not imported by the table (the first run's start-up)
    from .walkthrough import Equation

Piece = tuple[str, str]  # text and its style ("" for none)
Line = list[Piece]

MATH_START, MATH_END = "\x02", "\x03"  # around maths inside prose (the `Marked` notation)
_MATHS = re.compile(f"{MATH_START}(.*?){MATH_END}", re.S)
_SPACE = re.compile(" ")


# Text of characters one cell wide each (Latin, Greek, ∂, ·, ², …, box drawing), whose
# width is its length: most of what is shown, measured without a look-up per character.
_NARROW = re.compile(
    "[\x20-\x7e\u00a0-\u02ff\u0370-\u03ff\u2010-\u2027\u2070-\u20cf\u2100-\u22ff\u2500-\u25fc]*"
)


@lru_cache(maxsize=4096)
def _char_cells(char: str) -> int:
    return cell_len(char)


def cells(text: str) -> int:
    """How many terminal cells `text` takes (a Korean letter takes two), as Rich measures
    it: without a look-up per character where each takes one."""
    if text.isascii() or _NARROW.fullmatch(text):
        return len(text)
    return cell_len(text)


def _cumulative(text: str) -> list[int]:
    """The width of text[a:b] is c[b] - c[a]."""
    if _NARROW.fullmatch(text):
        return list(range(len(text) + 1))
    return [0, *accumulate(_char_cells(char) for char in text)]


def line_cells(line: Line) -> int:
    return cells(_text(line))


def _text(line: Line) -> str:
    return "".join([text for text, _ in line])


def _slice(pieces: Sequence[Piece], starts: Sequence[int], a: int, b: int) -> Line:
    """The pieces' text from offset a to b (`starts` are the pieces' offsets)."""
    out: Line = []
    k = max(bisect_right(starts, a) - 1, 0)
    while k < len(pieces) and starts[k] < b:
        text, style = pieces[k]
        lo, hi = max(a - starts[k], 0), min(b - starts[k], len(text))
        if hi > lo:
            out.append((text[lo:hi], style))
        k += 1
    return out


class Prose:
    """Words and maths, broken into lines at a space outside the maths (inside it,
    where it alone is too wide for a line, only before an `=`; with `operators`, then
    after an operator, ` · `, ` - `, then between a tensor's elements: a tensor
    walkthrough's formula with no value in it, softmax's local gradient, or a vector in
    a reason, is otherwise wider than a 40-column line)."""

    def __init__(self, operators: bool = False) -> None:
        self.operators = operators
        self.pieces: Line = []
        self.length = 0
        self.keep: list[tuple[int, int]] = []  # the maths, never broken but before `=`
        self.soft: list[tuple[int, int]] = []  # kept on one line where it fits one
        self.whole: list[tuple[int, int]] = []  # equations: a tensor in one never broken

    def _add(self, text: str, style: str) -> None:
        if text:
            self.pieces.append((text, style))
            self.length += len(text)

    def words(self, text: str, style: str = "") -> Prose:
        """Text whose maths (between MATH_START and MATH_END) is kept whole."""
        if MATH_START not in text:  # most words have none
            self._add(text, style)
            return self
        at = 0
        for m in _MATHS.finditer(text):
            self._add(text[at : m.start()], style)
            self.maths(m.group(1), style)
            at = m.end()
        self._add(text[at:], style)
        return self

    def maths(self, text: str, style: str = "") -> Prose:
        start = self.length
        self._add(text, style)
        self.keep.append((start, self.length))
        return self

    def together(self, start: int) -> Prose:
        """What was added since `start` (a list of maths: `∂q/∂x, ∂q/∂y`) stays on one
        line where it fits one: the line breaks before the list, not inside it."""
        self.soft.append((start, self.length))
        return self

    def equation(self, e: Equation, style: str) -> Prose:
        """`lhs = result`, its result in `style`."""
        start = self.length
        self._add(f"{e.lhs} {e.sep} ", "")
        self._add(e.result, style)
        self.keep.append((start, self.length))
        self.whole.append((start, self.length))
        return self

    def lines(self, width: int, indent: int = 0) -> list[Line]:
        plain = "".join([text for text, _ in self.pieces])
        avail = max(width - indent, 1)
        pad: Line = [(" " * indent, "")] if indent else []
        if not plain.startswith(" ") and cells(plain) <= avail:
            return [pad + self.pieces] if plain else []  # the common case: one line
        starts = list(accumulate((len(t) for t, _ in self.pieces), initial=0))
        c = _cumulative(plain)
        inside = bytearray(len(plain) + 1)
        for a, b in self.keep:
            inside[a:b] = b"\x01" * (b - a)
        for a, b in self.soft:
            if c[b] - c[a] <= avail:
                inside[a:b] = b"\x01" * (b - a)
        spaces = [m.start() for m in _SPACE.finditer(plain)]
        words = [i for i in spaces if not inside[i]]
        equals = [i for i in spaces if inside[i] and plain.startswith(" = ", i)]
        breaks: tuple[list[int], ...] = (words, equals)
        opened: dict[int, int] = {}  # a break between a tensor's elements: its row's `[`
        if self.operators:
            for a, b in self.whole:  # an equation's tensor: laid out by the view instead
                inside[a:b] = b"\x02" * (b - a)
            opened = _between_elements(plain, [i for i in spaces if inside[i] == 1])
            operators = [i for i in spaces if inside[i] and plain[i - 2 : i + 1] in OPERATORS]
            breaks += (operators, list(opened))
        out: list[Line] = []
        start, n = 0, len(plain)
        hang = 0  # a tensor's continuation: under its row's first element
        while start < n:
            while start < n and plain[start] == " ":
                start += 1
            if start >= n:
                break
            room = max(avail - hang, 1)
            end = n if c[n] - c[start] <= room else _best_break(c, start, room, breaks)
            cut = end
            while cut > start and plain[cut - 1] == " ":  # `a  b` broken: no space left
                cut -= 1
            line = _slice(self.pieces, starts, start, cut)
            out.append([*pad, (" " * hang, ""), *line] if hang else pad + line)
            row = opened.get(end)
            if row is None:
                hang = 0
            elif row >= start:  # the row opened on this line
                hang += c[row + 1] - c[start]
            start = end
        return out


def _between_elements(plain: str, spaces: list[int]) -> dict[int, int]:
    """Of `spaces`, those between two elements of a tensor written on one line (after the
    `,` of `[0.1, 0.5]`, not of a shape's `(2, 3)`), each with where its row's `[` is."""
    out: dict[int, int] = {}
    rows: list[int] = []  # the `[` open at each space
    at = 0
    for i in spaces:
        for k in range(at, i):
            if plain[k] == "[":
                rows.append(k)
            elif plain[k] == "]" and rows:
                rows.pop()
        at = i
        if plain[i - 1] == "," and rows:
            out[i] = rows[-1]
    return out


def _best_break(c: list[int], start: int, avail: int, kinds: Sequence[list[int]]) -> int:
    """Where a line from `start` ends: at the furthest break of the first kind that fits
    (a space between words, else before an `=` inside maths, else after an operator
    there, else between a tensor's elements), else at the first break at all."""
    limit = bisect_right(c, c[start] + avail) - 1  # text[start:limit] fits
    for breaks in kinds:
        k = bisect_right(breaks, limit) - 1
        if k >= 0 and breaks[k] > start:
            return breaks[k]
    later = [b[i] for b in kinds if (i := bisect_right(b, start)) < len(b)]
    return min(later) if later else len(c) - 1


def equation_lines(
    equations: Sequence[Equation], style: str, width: int, operators: bool = False
) -> list[Line]:
    """Rows `lhs = a = b = result`, the first `=` of each aligned. Where every row fits,
    the results are right-aligned in a column; else each equation is broken before an
    `=` (inside a term only between a tensor's elements, or with `operators` after an
    operator too: `_term`), its continuation lines' `=` under its first `=`."""
    if not equations:
        return []
    lefts = [cells(e.lhs) for e in equations]
    joined = [" = ".join(e.terms) for e in equations]
    spans = [cells(j) for j in joined]
    results = [cells(e.result) for e in equations]
    lhs = max(lefts)
    sep = max(len(e.sep) for e in equations)
    with_terms = [k for k, e in enumerate(equations) if e.terms]
    terms = max((spans[k] for k in with_terms), default=0)
    result = max((results[k] for k in with_terms), default=0)
    widest = max(
        lhs + 1 + sep + 1 + (terms + 3 + result if e.terms else results[k])
        for k, e in enumerate(equations)
    )
    lines: list[Line] = []
    for k, (e, text) in enumerate(zip(equations, joined, strict=True)):
        head = f"{e.lhs}{' ' * (lhs - lefts[k])} {e.sep}{' ' * (sep - len(e.sep))} "
        if widest > width:
            lines += _broken(e, head, style, width, operators)
        elif e.terms:
            pad, gap = " " * (terms - spans[k]), " " * (result - results[k])
            lines.append([(f"{head}{text}{pad} = {gap}", ""), (e.result, style)])
        else:
            lines.append([(head, ""), (e.result, style)])
    return lines


HANG = 2  # the indent of an equation's `=` lines under a left-hand side too wide for them


def _broken(e: Equation, head: str, style: str, width: int, operators: bool) -> list[Line]:
    """One equation broken only before an `=` (a long sum also before its `+` or `-`):
    `lhs = a` then `= b` under its `=`; where even `lhs = a` is too wide, the left-hand
    side alone, then its `=` lines indented by HANG."""
    pieces = [*((t, "") for t in e.terms), (e.result, style)]
    start = cells(head)  # where the first term starts
    first, first_style = pieces[0]
    lines: list[Line] = []
    rows = _term(first, width - start)  # a tensor's lines, else the term whole
    wide = cells(first) if len(rows) == 1 else max(map(cells, rows))
    if start + wide > width and not e.addends and width > HANG + len(e.sep) + 1:
        lines.append([(e.lhs, "")])
        head = " " * HANG + e.sep + " "
        start = cells(head)
        rows = _term(first, width - start)
    if operators:  # a formula too wide for its line even so: after an operator too
        rows = _term(first, width - start, operators)
    under = start - 2  # the column of the first `=`
    line: Line = [(head, "")]
    used = start
    if e.addends and start + cells(first) > width:
        done, line, used = _sum(e.addends, line, start, width)
        lines += done
    else:
        for row in rows[:-1]:  # a tensor too wide for the line: between its elements
            line.append((row, first_style))
            lines.append(line)
            line = [(" " * start, "")]
        line.append((rows[-1], first_style))
        used = start + cells(rows[-1])
    for term, term_style in pieces[1:]:
        size = cells(term)
        if used + 3 + size <= width:
            line += [(" = ", ""), (term, term_style)]
            used += 3 + size
            continue
        lines.append(line)
        line = [(" " * under + "= ", "")]
        rows = _term(term, width - under - 2, operators)
        for row in rows[:-1]:
            lines.append([*line, (row, term_style)])
            line = [(" " * (under + 2), "")]
        line.append((rows[-1], term_style))
        used = under + 2 + (size if len(rows) == 1 else cells(rows[-1]))
    lines.append(line)
    return lines


# A term too wide for its line, one with a tensor in it (or any, with `operators`), may
# break after these.
OPERATORS = (" × ", " - ", " + ", " · ", " ⊙ ", " ⊗ ", " @ ", " / ", " * ")
_OPERATOR = re.compile("|".join(re.escape(op) for op in OPERATORS))


def _term(term: str, width: int, operators: bool = False) -> list[str]:
    """A term as lines of at most `width` cells, where it has a tensor in it (the
    walkthrough's `[1.5, 2.25, 3]`), or any with `operators`: after an operator (` ⊙ `)
    where what follows does not fit, and a tensor between its elements, or its rows, as
    render/arrays.py lays it out, its lines under its first; any other term whole. A
    symbol or a number is never cut: where one does not fit, its line is longer."""
    if cells(term) <= width or ("[" not in term and not operators):
        return [term]
    from .arrays import lines, literals

    pieces = literals(term)
    if not operators and all(tensor is None for _, tensor in pieces):
        return [term]
    operands: list[list[tuple[str, Any]]] = [[]]  # the term cut after each operator
    for text, tensor in pieces:
        if tensor is not None:
            operands[-1].append((text, tensor))
            continue
        at = 0
        for m in _OPERATOR.finditer(text):
            operands[-1].append((text[at : m.end()], None))
            operands.append([])
            at = m.end()
        if at < len(text):
            operands[-1].append((text[at:], None))
    out = [""]
    for operand in operands:
        size = sum(cells(text) for text, _ in operand)
        if out[-1] and cells(out[-1]) + size > width:
            out[-1] = out[-1].rstrip()  # an operand that does not fit starts the next line
            out.append("")
        for k, (text, tensor) in enumerate(operand):
            at = cells(out[-1])
            # a tensor's last line also holds the text after it (up to the next tensor)
            after = next((t for t, v in operand[k + 1 : k + 2] if v is None), "").rstrip()
            if tensor is None or at + cells(text) + cells(after) <= width:
                out[-1] += text
                continue
            laid = lines(tensor, max(width - at, 1), rows=False)
            if cells(laid[-1]) + at + cells(after) > width:
                laid = lines(tensor, max(width - at - cells(after), 1), rows=False)
            out[-1] += laid[0]
            out += [" " * at + line for line in laid[1:]]
    return out


def _sum(
    addends: Sequence[str], line: Line, start: int, width: int
) -> tuple[list[Line], Line, int]:
    """A sum too wide for one line, broken before its `+` and `-`, each continuation
    under its first addend (an addend too wide for a line alone, a copy gate's matrix,
    between its elements: `_term`): the lines done, the last line (to go on) and its
    width."""
    done: list[Line] = []
    used = start
    words: list[str] = []
    for k, addend in enumerate(addends):
        size = cells(addend)
        if k and used + 1 + size > width:
            line.append((" ".join(words), ""))
            done.append(line)
            line, words, used = [(" " * start, "")], [], start
        elif k:
            used += 1
        rows = _term(addend, width - used) if used + size > width else [addend]
        for row in rows[:-1]:
            line.append((" ".join([*words, row]), ""))
            done.append(line)
            line, words = [(" " * used, "")], []
        words.append(rows[-1])
        used += cells(rows[-1]) if len(rows) > 1 else size
    line.append((" ".join(words), ""))
    return done, line, used


def sentence(template: str, maths: dict[str, str], style: str = "") -> Prose:
    """A translated sentence with its placeholders filled by `maths`, each kept whole on
    a line (`α = 0.1`, never `α =` then `0.1`), its lines broken between its words."""
    prose = Prose()
    for literal, key, _, _ in string.Formatter().parse(template):
        prose.words(literal, style)
        if key is not None:
            prose.maths(maths[key], style)
    return prose


def hung(left: str, laid: list[str], style: str, left_style: str = "") -> list[Line]:
    """`left` then `laid`'s lines, each after the first under the first."""
    indent = " " * cells(left)
    return [
        [(left if k == 0 else indent, left_style), (line, style)] for k, line in enumerate(laid)
    ]


def _style(name: str, console: Console, styles: dict[str, Style]) -> Style:
    style = styles.get(name)
    if style is None:
        style = styles[name] = console.get_style(name)
    return style


class Lines:
    """A renderable of lines laid out for the width Rich gives it, each ending where
    its text does (no padding)."""

    def __init__(self, lay_out: Callable[[int], Iterable[Line]]) -> None:
        self.lay_out = lay_out

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        styles: dict[str, Style] = {}
        for line in self.lay_out(options.max_width):
            yield from _segments(line, "", "\n", 0, console, styles)


def _segments(
    line: Line, left: str, right: str, gap: int, console: Console, styles: dict[str, Style]
) -> Iterable[Segment]:
    """A line as few segments as its styles allow: `left`, its pieces, `gap` spaces,
    then `right`; one segment where the console writes no styles (a pipe, a file)."""
    if console.color_system is None:  # (no bold either: Style.render writes nothing)
        yield Segment(left + "".join([piece for piece, _ in line]) + " " * gap + right)
        return
    text = left
    for piece, name in line:
        if name:
            if text:
                yield Segment(text)
            yield Segment(piece, _style(name, console, styles))
            text = ""
        else:
            text += piece
    yield Segment(text + " " * gap + right)


class Boxed:
    """Lines in a rounded box with a title at the top left, as Rich's Panel draws it,
    laid out for the width inside: drawn here, in one pass over the lines."""

    def __init__(self, title: str, lay_out: Callable[[int], Iterable[Line]]) -> None:
        self.title = title
        self.lay_out = lay_out

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        b = box.ROUNDED.substitute(options)  # ASCII where the output cannot take it, as Panel
        inner = options.max_width - 4  # a border and a space on each side
        lines = list(self.lay_out(inner))
        texts = [_text(line) for line in lines]
        widths = [cells(text) for text in texts]
        # A single term wider than a line is never cut: the box grows to hold it, and
        # its lines are laid out again for that width (as wide as the widest, again).
        if max(widths, default=0) > inner:
            inner = max(widths)
            lines = list(self.lay_out(inner))
            texts = [_text(line) for line in lines]
            widths = [cells(text) for text in texts]
            inner = max(inner, *widths)
        width = inner + 4
        title = f" {self.title} "
        rule = width - 2 - 1 - cells(title)
        if rule < 1:  # no room for the title
            yield Segment(b.top_left + b.top * (width - 2) + b.top_right + "\n")
        else:
            yield Segment(b.top_left + b.top + title + b.top * rule + b.top_right + "\n")
        styles: dict[str, Style] = {}
        left, right = b.mid_left + " ", " " + b.mid_right + "\n"
        bare = console.color_system is None  # then a line is one segment: its text
        for line, text, used in zip(lines, texts, widths, strict=True):
            if bare:
                yield Segment(f"{left}{text}{' ' * (inner - used)}{right}")
            else:
                yield from _segments(line, left, right, inner - used, console, styles)
        yield Segment(b.bottom_left + b.bottom * (width - 2) + b.bottom_right + "\n")


class Stripped:
    """A renderable whose lines carry no trailing spaces: what Rich pads a table's or a
    `Padding`'s lines with, to the console's width, goes (a pipe or a file gets lines
    a TA can diff and grep)."""

    def __init__(self, renderable: RenderableType) -> None:
        self.renderable = renderable

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for line in console.render_lines(self.renderable, options, pad=False, new_lines=False):
            yield from _rstrip(line)
            yield Segment.line()


def _rstrip(line: list[Segment]) -> list[Segment]:
    segments = list(line)
    while segments and not segments[-1].control and not segments[-1].text.rstrip():
        segments.pop()
    if segments and not segments[-1].control:
        last = segments[-1]
        segments[-1] = Segment(last.text.rstrip(), last.style, last.control)
    return segments


# Maths inside a translated sentence, found by its operators: `α = 0.1`, `4 / 4`,
# `x := x - α·∂f/∂x` (each operator between two spaces, its operands without).
_WORDED = re.compile(r"[^ ]+(?: (?::=|=|-|\+|/|<) [^ ]+)+")


def worded(pieces: Sequence[Piece]) -> Prose:
    """A sentence (the pieces of it, each in its style) broken between its words, its
    maths kept whole on a line: `with α =` then `0.1` never happens."""
    prose = Prose()
    for text, style in pieces:
        prose.words(text, style)
    plain = "".join(text for text, _ in prose.pieces)
    prose.keep += [m.span() for m in _WORDED.finditer(plain)]
    return prose
