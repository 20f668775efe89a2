"""`bpcli check`: per problem, per item, what was submitted, what is right, and hints."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.text import Text

from ..check import MISSING, Graded, Report, Student
from ..i18n import N_, tr
from .lines import Stripped
from .numbers import DEFAULT_PRECISION, fmt_shortest, fmt_value

RIGHT = "green"
WRONG = "red"


SELF_CHECK = N_("self-check: answers compared with this file's own problems")


class ReportView:
    """A self-check: a table of items for each problem, then the total score. Graded
    against a set: each student's problems and subtotal, then a summary table."""

    def __init__(self, report: Report, precision: int = DEFAULT_PRECISION) -> None:
        self.report = report
        self.precision = precision
        self.width = 80  # the console's, once it renders

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        report = self.report
        self.width = options.max_width
        if not report.self_check:
            yield from self.graded()
            return
        yield Text(tr(SELF_CHECK), style="bold")
        yield Text()
        for student in report.students:  # a file that could not be read: no problems
            if student.error is not None:
                not_graded = tr("not graded: {error}").format(error=student.error)
                yield Text(not_graded, style=WRONG)
                yield Text()
        for problem in report.problems:
            yield self.problem(problem)
            yield Text()
        right = sum(1 for p in report.problems if p.passed)
        yield Text.assemble(
            (tr("score "), "bold"),
            (
                self.score(report.score, report.max_score),
                "bold",
            ),
            tr("  ({right} of {count} problems all right)").format(
                right=right, count=len(report.problems)
            ),
        )

    def problem(self, problem: Graded) -> Group:
        score = self.score(problem.score, problem.max_score)
        head = Text.assemble(
            (tr("problem {id}").format(id=problem.id), "bold"),
            f"  {problem.file}  ",
            (score, "bold"),
        )
        if problem.error is not None:
            not_checked = tr("not checked: {error}").format(error=problem.error)
            return Group(head, Text(f"  {not_checked}", style=WRONG))
        if problem.missing:
            return Group(head, Text(f"  {tr(MISSING)}", style=WRONG))
        shown = self.precision
        rows = [
            (item.field, fmt_value(item.got, written=True), fmt_value(item.expected, shown))
            for item in problem.items
        ]
        header = (tr("item"), tr("submitted"), tr("expected"))
        widths = [max(cell_len(row[k]) for row in [header, *rows]) for k in range(3)]
        if _tensors(problem) and sum(widths) + 15 > self.width:
            return Group(head, *self.stacked(problem, rows))

        def line(cells: tuple[str, str, str]) -> str:
            field, got, expected = cells
            return (
                f"  {field}{' ' * (widths[0] - cell_len(field))}"
                f"  {_right(got, widths[1])}  {_right(expected, widths[2])}"
            )

        parts: list[RenderableType] = [head, Text(line(header), style="dim")]
        for item, cells in zip(problem.items, rows, strict=True):
            mark = (tr("  ✓ right"), RIGHT) if item.ok else (tr("  ✗ wrong"), WRONG)
            parts.append(Text.assemble(line(cells), mark))
            if item.hint:
                parts.append(_indented(item.hint, 4))
        return Group(*parts)

    def stacked(self, problem: Graded, rows: list[tuple[str, str, str]]) -> list[RenderableType]:
        """A problem's items over vectors and matrices, too wide for one line each: the
        item and its verdict, then what was submitted and what is right, a line each."""
        parts: list[RenderableType] = []
        for item, (field, got, expected) in zip(problem.items, rows, strict=True):
            mark = (tr("✓ right"), RIGHT) if item.ok else (tr("✗ wrong"), WRONG)
            parts.append(Text.assemble(f"  {field}  ", mark))
            parts.append(_indented(tr("submitted {value}").format(value=got), 4))
            if not item.ok:
                parts.append(_indented(tr("expected  {value}").format(value=expected), 4))
            if item.hint:
                parts.append(_indented(item.hint, 4))
        return parts

    def score(self, score: float, max_score: float) -> str:
        """Scores to --precision digits, but never float noise (0.8, not 0.80000000000000004)."""
        return f"{fmt_shortest(score, self.precision)} / {fmt_shortest(max_score, self.precision)}"

    def graded(self) -> RenderResult:
        report = self.report
        graded = tr("graded against the problem set {file}").format(file=report.set_file)
        yield Text(graded, style="bold")
        yield Text()
        for student in report.students:
            yield from self.student(student)
        yield from self.summary(report.students)

    def student(self, student: Student) -> RenderResult:
        yield Text.assemble((tr("student "), "bold"), (student.id, "bold"), f"  {student.file}")
        if student.error is not None:
            not_graded = tr("not graded: {error}").format(error=student.error)
            yield Text(f"  {not_graded}", style=WRONG)
        for note in student.notes:
            yield _indented(note, 2)
        yield Text()
        if student.error is None:
            for problem in student.problems:
                yield self.problem(problem)
                yield Text()
        yield Text.assemble(
            (tr("subtotal {id} ").format(id=student.id), "bold"),
            (self.score(student.score, student.max_score), "bold"),
            tr("  ({right} of {count} problems all right)").format(
                right=student.right, count=len(student.problems)
            ),
        )
        yield Text()

    def summary(self, students: tuple[Student, ...]) -> RenderResult:
        header = (tr("student"), tr("score"), tr("max"), tr("problems all right"))
        rows = [
            (
                s.id,
                fmt_shortest(s.score, self.precision),
                fmt_shortest(s.max_score, self.precision),
                tr("{right} of {count}").format(right=s.right, count=len(s.problems)),
            )
            for s in students
        ]
        widths = [max(cell_len(row[k]) for row in [header, *rows]) for k in range(4)]

        def line(cells: tuple[str, str, str, str]) -> str:
            first = f"{cells[0]}{' ' * (widths[0] - cell_len(cells[0]))}"
            rest = [_right(c, w) for c, w in zip(cells[1:], widths[1:], strict=True)]
            return "  ".join([first, *rest])

        yield Text(tr("summary"), style="bold")
        yield Text(line(header), style="dim")
        for row in rows:
            yield Text(line(row))


def _right(text: str, width: int) -> str:
    """`text` right-aligned in `width` terminal cells (a Korean letter takes two)."""
    return " " * (width - cell_len(text)) + text


def _indented(text: str, indent: int) -> RenderableType:
    """Dim text wrapped `indent` columns in, its lines not padded out to the width."""
    return Stripped(Padding(Text(text, style="dim"), (0, 0, 0, indent)))


def _tensors(problem: Graded) -> bool:
    """Whether any item of the problem is a vector or a matrix."""
    return any(isinstance(i.got, list) or isinstance(i.expected, list) for i in problem.items)
