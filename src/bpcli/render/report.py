"""`bpcli check`: per problem, per item, what was submitted, what is right, and hints."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.text import Text

from ..check import Graded, Report
from .numbers import DEFAULT_PRECISION, fmt

RIGHT = "green"
WRONG = "red"


class ReportView:
    """A table of items for each problem, then the total score."""

    def __init__(self, report: Report, precision: int = DEFAULT_PRECISION) -> None:
        self.report = report
        self.precision = precision

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        for problem in self.report.problems:
            yield self.problem(problem)
            yield Text()
        report = self.report
        right = sum(1 for p in report.problems if p.passed)
        yield Text.assemble(
            ("score ", "bold"),
            (
                f"{fmt(report.score, self.precision)} / {fmt(report.max_score, self.precision)}",
                "bold",
            ),
            f"  ({right} of {len(report.problems)} problems all right)",
        )

    def problem(self, problem: Graded) -> Group:
        score = f"{fmt(problem.score, self.precision)} / {fmt(problem.max_score, self.precision)}"
        head = Text.assemble(
            (f"problem {problem.id}", "bold"), f"  {problem.file}  ", (score, "bold")
        )
        if problem.error is not None:
            return Group(head, Text(f"  not checked: {problem.error}", style=WRONG))
        rows = [
            (item.field, fmt(item.got, self.precision), fmt(item.expected, self.precision))
            for item in problem.items
        ]
        header = ("item", "submitted", "expected")
        widths = [max(cell_len(row[k]) for row in [header, *rows]) for k in range(3)]

        def line(cells: tuple[str, str, str]) -> str:
            field, got, expected = cells
            return (
                f"  {field}{' ' * (widths[0] - cell_len(field))}"
                f"  {got:>{widths[1]}}  {expected:>{widths[2]}}"
            )

        parts: list[RenderableType] = [head, Text(line(header), style="dim")]
        for item, cells in zip(problem.items, rows, strict=True):
            mark = ("  ✓ right", RIGHT) if item.ok else ("  ✗ wrong", WRONG)
            parts.append(Text.assemble(line(cells), mark))
            if item.hint:
                parts.append(Padding(Text(item.hint, style="dim"), (0, 0, 0, 4)))
        return Group(*parts)
