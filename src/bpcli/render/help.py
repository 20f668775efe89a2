"""The --help's tables of options and commands, laid out so that nothing is cut.

Typer draws them as Rich tables whose cells Rich cuts short with `…` where they do not
fit: a Korean line that fills its column exactly (Rich strips the space after it by
characters, not by cells, and then finds the line one cell too wide), and, in a narrow
terminal, option names, metavariables and numbers squeezed with the help beside them.
Here the names keep their width, the help wraps at spaces (a word longer than the
column is folded onto the next line, never dropped), and where the names and the
help's longest word do not fit side by side each row is written as its names on a
line with its help indented under them, as `man` does.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.padding import Padding
from rich.table import Column, Table
from rich.text import Text

INDENT = 4  # the help under its option's names, where they cannot stand side by side


def _texts(cell: Any) -> Iterator[Text]:
    """The Text parts of a help cell (Typer's Columns of help, default, required)."""
    for item in getattr(cell, "renderables", [cell]):
        if isinstance(item, Text):
            yield item


def _widest(console: Console, options: ConsoleOptions, cells: Iterable[Any]) -> int:
    return max((Measurement.get(console, options, cell).maximum for cell in cells), default=0)


class HelpTable(Table):
    """Typer's options or commands table: the last column is the help, the others the
    names (options, short options, metavariable)."""

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        *names, types, text = self.columns  # a metavariable may fold, as Typer has it
        for column in names:
            column.no_wrap = True
        for cell in text._cells:
            for part in _texts(cell):
                part.overflow = "fold"
        widths = self._calculate_column_widths(console, options)
        spaces = self.padding[1] + self.padding[3]
        parts = [part for cell in text._cells for part in _texts(cell)]
        word = max((Measurement.get(console, options, part).minimum for part in parts), default=0)
        needed = [_widest(console, options, column._cells) for column in names]
        if widths[-1] - spaces >= word and all(
            width >= need for width, need in zip(widths, needed, strict=False)
        ):
            yield from super().__rich_console__(console, options)
            return
        for row in range(self.row_count):
            yield Text(" ").join(_names([*names, types], row))
            yield Padding(text._cells[row], (0, 0, 0, INDENT))


def _names(names: list[Column], row: int) -> Iterator[Text]:
    for column in names:
        cell = column._cells[row]
        if cell:
            yield cell if isinstance(cell, Text) else Text(str(cell))
