"""An error as a student reads it: the message, and the source line with a caret."""

from __future__ import annotations

from rich.cells import cell_len

from ..errors import BpcliError
from ..graph import visible

WINDOW = 70  # columns of a long line shown around the error
QUOTES = "'\"`"


def error_lines(error: BpcliError) -> list[str]:
    """`error: …` and, for an error in the source, the line with a caret under the spot:
    of a long line, WINDOW terminal cells around the spot's start (Korean letters take
    two), however wide the spot (a node may span a line of a million characters)."""
    lines = [f"error: {error}"]
    if error.span is None or error.source is None:
        return lines
    start, end = error.span
    source = error.source
    line_start = source.rfind("\n", 0, start) + 1
    line_end = source.find("\n", start)
    if line_end == -1:
        line_end = len(source)
    left = _reach(source, start, line_start, WINDOW // 2, -1)
    right = max(_reach(source, left, line_end, WINDOW, 1), min(start + 1, line_end))
    prefix = "…" if left > line_start else ""
    suffix = "…" if right < line_end else ""
    lines.append("  " + prefix + _shown(source[left:right]) + suffix)
    pad = cell_len(prefix + _shown(source[left:start]))
    spot = _shown(source[start : min(end, right)])
    lines.append("  " + " " * pad + "^" * max(1, cell_len(spot)))  # in cells: 가 takes two
    return lines


def _shown(text: str) -> str:
    return visible(text.replace("\t", " "))


def _reach(source: str, at: int, stop: int, cells: int, step: int) -> int:
    """How far from `at` towards `stop` (step -1: back, 1: on) text of at most `cells`
    terminal cells goes, with at most 4 characters a cell (marks that take none)."""
    taken, limit = 0, 4 * cells
    while at != stop and limit:
        character = source[at - 1] if step < 0 else source[at]
        taken += cell_len(_shown(character))
        if taken > cells:
            break
        at += step
        limit -= 1
    return at


def wrapped(line: str, width: int, indent: int = len("error: ")) -> list[str]:
    """`line` (`error: …`) in lines of at most `width` columns, broken at spaces only,
    never inside a word or a quoted expression (`'x + y'`), which may overflow alone;
    each line after the first indented by `indent` columns, under the message."""
    if cell_len(line) <= width:
        return [line]
    lines: list[str] = []
    current = ""
    for gap, unit in _units(line):
        if current and cell_len(current + gap + unit) > width:
            lines.append(current)
            current = " " * indent + unit
        else:
            current += gap + unit
    lines.append(current)
    return lines


def _units(line: str) -> list[tuple[str, str]]:
    """The words of `line`, each with the spaces before it; a quotation that opens at a
    word's start and closes at a word's end is one word ('x + y', but not bpcli's)."""
    units = []
    i = 0
    while i < len(line):
        start = i
        while i < len(line) and line[i] == " ":
            i += 1
        gap, begin = line[start:i], i
        while i < len(line) and line[i] != " ":
            if line[i] in QUOTES and (i == begin or line[i - 1] in "([{"):
                close = _closing(line, i)
                if close != -1:
                    i = close + 1
                    continue
            i += 1
        if i > begin:
            units.append((gap, line[begin:i]))
    return units


def _closing(line: str, start: int) -> int:
    """Where the quote at `start` closes: the same quote at the end of a word (before a
    space, punctuation or the end), or -1."""
    quote = line[start]
    at = line.find(quote, start + 1)
    while at != -1:
        after = line[at + 1 : at + 2]
        if not after or not (after.isalnum() or after == "_"):
            return at
        at = line.find(quote, at + 1)
    return -1
