"""How a vector or matrix is written as lines of text at a given width: the one
definition the table's cells, the answers under it, the graph's labels and the
walkthrough's equations share.

Each element is written as bpcli writes a number (`fmt`, the precision honoured:
`[1, 2, 3]`, never NumPy's `[1., 2., 3.]`); a tensor of more than tensor.THRESHOLD elements
keeps tensor.EDGE_ITEMS at each end of every axis around `...`, as NumPy summarises it. On one
line where it fits, elements unpadded (`[[0.1, 0.5], [-0.3, 0.8]]`, as JSON reads);
else every element is padded to the widest, as NumPy aligns them, a matrix takes a line
per row, and a row too wide for the width breaks only between two elements, its
continuation under its first element. A number is never cut: where even one element
does not fit, the line is longer than the width.

It works on the elements' text (`Cells`), so a walkthrough that holds a tensor only as
the text of an equation's term (`[1.5, 2.25, 3]`) lays it out the same way (`parse`).
"""

from __future__ import annotations

import re
from typing import Any, Union

from .numbers import fmt, fmt_shortest

SKIP = "..."  # what a summary leaves out, as NumPy writes it
SEP = ", "

Cells = Union[str, list["Cells"]]  # noqa: UP007 (3.10): an element's text, or a list of them


def cells_of(value: Any, precision: int, written: bool = False) -> Cells:
    """A number's text, or a tensor's nested lists of its elements' texts, summarised
    when it has more than THRESHOLD elements; `written`: each number as it was written
    (`fmt_shortest`), whatever the precision: what a student submitted."""
    import numpy as np

    from ..tensor import EDGE_ITEMS, THRESHOLD

    array = np.asarray(value, dtype=float)
    whole = array.size <= THRESHOLD

    def walk(a: Any) -> Cells:
        if a.ndim == 0:
            return fmt_shortest(float(a)) if written else fmt(float(a), precision)
        n = a.shape[0]
        if whole or n <= 2 * EDGE_ITEMS:
            return [walk(a[i]) for i in range(n)]
        head = [walk(a[i]) for i in range(EDGE_ITEMS)]
        return [*head, SKIP, *(walk(a[i]) for i in range(n - EDGE_ITEMS, n))]

    return walk(array)


def value_lines(value: Any, precision: int, width: int | None = None) -> list[str]:
    """A value of a tensor run as `lines` writes it: a number as `fmt` does, None as
    nothing (a node without a gradient)."""
    if value is None:
        return [""]
    return lines(cells_of(value, precision), width)


_TOKEN = re.compile(r"\[|\]|, |[^\[\], ]+")


def parse(text: str) -> Cells | None:
    """The elements of a tensor written on one line (`[[1, 2], [3, 4]]`, as `one_line`
    writes it), or None where `text` is anything else (a number, a formula)."""
    if not text.startswith("[") or not text.endswith("]"):
        return None
    stack: list[list[Cells]] = []
    done: Cells | None = None
    expect_item = True
    for m in _TOKEN.finditer(text):
        token = m.group()
        if done is not None:
            return None  # text after the closing bracket
        if token == "[":
            if not expect_item:
                return None
            stack.append([])
        elif token == "]":
            if not stack or (expect_item and stack[-1]):
                return None
            inner = stack.pop()
            if stack:
                stack[-1].append(inner)
            else:
                done = inner
            expect_item = False
        elif token == SEP:
            if expect_item or not stack:
                return None
            expect_item = True
        else:
            if not expect_item or not stack:
                return None
            stack[-1].append(token)
            expect_item = False
    if sum(len(m.group()) for m in _TOKEN.finditer(text)) != len(text):
        return None
    return done


_NUMBER = re.compile(r"-?(\d+(\.\d*)?(e[+-]\d+)?|inf)|nan")  # as `fmt` writes one
_LITERAL = re.compile(r"\[[^\[\]]*(?:\[[^\[\]]*\][^\[\]]*)*\]")


def literals(text: str) -> list[tuple[str, Cells | None]]:
    """`text` cut into the tensors written in it on one line (with their elements) and
    the text around them (with None): `[0.1, 0.5] - 0.1 × [1, 2]` gives three pieces."""
    out: list[tuple[str, Cells | None]] = []
    at = 0
    for m in _LITERAL.finditer(text):
        tensor = parse(m.group())
        if (
            not tensor
            or not isinstance(tensor, list)
            or not all(map(_NUMBER.fullmatch, _elements(tensor)))
        ):
            continue  # not a tensor's value: an index (`s[y]`), a list of names
        if m.start() > at:
            out.append((text[at : m.start()], None))
        out.append((m.group(), tensor))
        at = m.end()
    if at < len(text):
        out.append((text[at:], None))
    return out


def one_line(cells: Cells) -> str:
    """The tensor on one line, elements unpadded: `[[0.1, 0.5], [-0.3, 0.8]]`."""
    if isinstance(cells, str):
        return cells
    return "[" + SEP.join(one_line(c) for c in cells) + "]"


def _elements(cells: Cells) -> list[str]:
    if isinstance(cells, str):
        return [] if cells == SKIP else [cells]
    return [e for c in cells for e in _elements(c)]


def lines(cells: Cells, width: int | None = None, rows: bool = True) -> list[str]:
    """The tensor as lines of at most `width` cells (None: no limit): on one line where it
    fits (a matrix only where `rows` is False), else padded, a line per row and each row
    broken between its elements. A number is its own one line."""
    if isinstance(cells, str):
        return [cells]
    flat = one_line(cells)
    depth = _depth(cells)
    if (depth == 1 or not rows) and (width is None or len(flat) <= width):
        return [flat]
    pad = max((len(e) for e in _elements(cells)), default=0)
    return _block(cells, pad, width, 0, "")


def _depth(cells: Cells) -> int:
    if isinstance(cells, str):
        return 0
    return 1 + max((_depth(c) for c in cells if not isinstance(c, str) or c != SKIP), default=0)


def _block(cells: Cells, pad: int, width: int | None, indent: int, close: str) -> list[str]:
    """`cells` (a list) starting at column `indent` after its opening bracket's column,
    followed by `close` (the outer brackets and comma that end its last line)."""
    assert not isinstance(cells, str)
    if _depth(cells) == 1:
        return _row(cells, pad, width, indent, close)
    out: list[str] = []
    n = len(cells)
    for k, sub in enumerate(cells):
        last = k == n - 1
        tail = "]" + close if last else ","
        if isinstance(sub, str):  # a summary's `...` between two rows
            out.append(" " * (indent + 1) + SKIP + tail)
            continue
        inner = _block(sub, pad, width, indent + 1, tail)
        if k == 0:  # the outer bracket opens on the first row's line
            inner[0] = " " * indent + "[" + inner[0][indent + 1 :]
        out += inner
    return out


def _row(cells: list[Cells], pad: int, width: int | None, indent: int, close: str) -> list[str]:
    """A row of elements, each padded to `pad`, broken between two elements where the line
    would pass `width`, its continuation under its first element."""
    items = [c if c == SKIP else c.rjust(pad) for c in cells if isinstance(c, str)]
    start = indent + 1
    out: list[str] = []
    line = " " * indent + "["
    first = True
    for k, item in enumerate(items):
        end = "]" + close if k == len(items) - 1 else ","
        piece = item if first else " " + item
        if not first and width is not None and len(line) + len(piece) + len(end) > width:
            out.append(line)
            line = " " * start + item
        else:
            line += piece
        line += end
        first = False
    out.append(line)
    return out
