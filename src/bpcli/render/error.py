"""An error as a student reads it: the message, and the source line with a caret."""

from __future__ import annotations

from rich.cells import cell_len

from ..errors import BpcliError
from ..graph import visible

WINDOW = 70  # columns of a long line shown around the error


def error_lines(error: BpcliError) -> list[str]:
    """`error: …` and, for an error in the source, the line with a caret under the spot."""
    lines = [f"error: {error}"]
    if error.span is None or error.source is None:
        return lines
    start, end = error.span
    source = error.source
    line_start = source.rfind("\n", 0, start) + 1
    line_end = source.find("\n", start)
    if line_end == -1:
        line_end = len(source)
    width = max(1, min(end, line_end) - start)
    left = max(line_start, start - WINDOW // 2)
    right = min(line_end, max(left + WINDOW, start + width))
    shown = visible(source[left:right].replace("\t", " "))
    prefix = "…" if left > line_start else ""
    suffix = "…" if right < line_end else ""
    lines.append("  " + prefix + shown + suffix)
    pad = cell_len(prefix + visible(source[left:start].replace("\t", " ")))
    spot = visible(source[start : start + min(width, WINDOW)].replace("\t", " "))
    lines.append("  " + " " * pad + "^" * max(1, cell_len(spot)))  # in cells: 가 takes two
    return lines
