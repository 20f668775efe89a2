"""`bpcli check`: per problem, per item, what was submitted, what is right, and hints."""

from __future__ import annotations

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.text import Text

from ..check import MISSING, Graded, Report, Student
from ..i18n import N_, tr
from ..process import made_paused
from .lines import Lines, Prose, hung, sentence
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

    @made_paused
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        report = self.report
        self.width = options.max_width
        if not report.self_check:
            yield from self.graded()
            return
        yield _prose(Prose().words(tr(SELF_CHECK), "bold"))
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
        score = (
            Prose()
            .words(tr("score "), "bold")
            .maths(self.score(report.score, report.max_score), "bold")
        )
        yield _prose(
            score.words(
                tr("  ({right} of {count} problems all right)").format(
                    right=right, count=len(report.problems)
                )
            )
        )

    def problem(self, problem: Graded) -> Group:
        """The problem's heading (its score kept whole on a line), then its items: a table
        where it fits the width, else each item stacked (`stacked`)."""
        head = sentence(tr("problem {id}"), {"id": problem.id}, "bold").words("  ")
        score = self.score(problem.score, problem.max_score)
        head.maths(problem.file).words("  ").maths(score, "bold")
        if problem.error is not None:
            not_checked = tr("not checked: {error}").format(error=problem.error)
            return Group(_prose(head), _prose(Prose().words(not_checked, WRONG), 2))
        if problem.missing:
            return Group(_prose(head), _prose(Prose().words(tr(MISSING), WRONG), 2))
        shown = self.precision
        rows = [
            (item.field, fmt_value(item.got, written=True), fmt_value(item.expected, shown))
            for item in problem.items
        ]
        header = (tr("item"), tr("submitted"), tr("expected"))
        widths = [max(cell_len(row[k]) for row in [header, *rows]) for k in range(3)]
        marks = max(cell_len(tr("  ✓ right")), cell_len(tr("  ✗ wrong")))
        if 2 + sum(widths) + 4 + marks > self.width:  # a row a line does not fit
            return Group(_prose(head), *self.stacked(problem))

        def line(cells: tuple[str, str, str]) -> str:
            field, got, expected = cells
            return (
                f"  {field}{' ' * (widths[0] - cell_len(field))}"
                f"  {_right(got, widths[1])}  {_right(expected, widths[2])}"
            )

        parts: list[RenderableType] = [_prose(head), Text(line(header), style="dim")]
        for item, cells in zip(problem.items, rows, strict=True):
            mark = (tr("  ✓ right"), RIGHT) if item.ok else (tr("  ✗ wrong"), WRONG)
            parts.append(Text.assemble(line(cells), mark))
            if item.hint:
                parts.append(_indented(item.hint, 4))
        return Group(*parts)

    def stacked(self, problem: Graded) -> list[RenderableType]:
        """A problem's items, too wide for one line each: the item and its verdict, then
        what was submitted and what is right, each laid out as render/arrays.py writes a
        tensor (on one line where it fits, else a matrix a line per row, a row broken
        only between elements, under its first)."""
        parts: list[RenderableType] = []
        for item in problem.items:
            mark = (tr("✓ right"), RIGHT) if item.ok else (tr("✗ wrong"), WRONG)
            parts.append(_prose(Prose().maths(item.field).words("  ").maths(*mark), 2))
            parts.append(self.value(tr("submitted {value}"), item.got, written=True))
            if not item.ok:
                parts.append(self.value(tr("expected  {value}"), item.expected))
            if item.hint:
                parts.append(_indented(item.hint, 4))
        return parts

    def value(self, template: str, value: object, written: bool = False) -> Lines:
        """`submitted [[0.088, 0.104],` and its rows under its first, 4 columns in;
        `written`: the numbers as the student wrote them (`fmt_value`'s `written`)."""
        label, _, after = template.partition("{value}")
        left = "    " + label

        def lay_out(width: int) -> list[list[tuple[str, str]]]:
            laid = _value_lines(value, self.precision, max(width - cell_len(left), 1), written)
            laid[-1] += after
            return hung(left, laid, "")

        return Lines(lay_out)

    def score(self, score: float, max_score: float) -> str:
        """Scores to --precision digits, but never float noise (0.8, not 0.80000000000000004)."""
        return f"{fmt_shortest(score, self.precision)} / {fmt_shortest(max_score, self.precision)}"

    def graded(self) -> RenderResult:
        report = self.report
        graded = tr("graded against the problem set {file}")
        yield _prose(sentence(graded, {"file": report.set_file or ""}, "bold"))
        yield Text()
        for student in report.students:
            yield from self.student(student)
        yield from self.summary(report.students)

    def student(self, student: Student) -> RenderResult:
        head = Prose().words(tr("student "), "bold").maths(student.id, "bold")
        yield _prose(head.words("  ").maths(student.file))
        if student.error is not None:
            not_graded = tr("not graded: {error}").format(error=student.error)
            yield _prose(Prose().words(not_graded, WRONG), 2)
        for note in student.notes:
            yield _indented(note, 2)
        yield Text()
        if student.error is None:
            for problem in student.problems:
                yield self.problem(problem)
                yield Text()
        subtotal = Prose().words(tr("subtotal {id} ").format(id=student.id), "bold")
        subtotal.maths(self.score(student.score, student.max_score), "bold")
        yield _prose(
            subtotal.words(
                tr("  ({right} of {count} problems all right)").format(
                    right=student.right, count=len(student.problems)
                )
            )
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

        def line(cells: tuple[str, str, str, str], style: str = "") -> Lines:
            """A row, its columns aligned; where it is too wide, broken between them."""
            first = f"{cells[0]}{' ' * (widths[0] - cell_len(cells[0]))}"
            rest = [_right(c, w) for c, w in zip(cells[1:], widths[1:], strict=True)]
            prose = Prose()
            for k, cell in enumerate([first, *rest]):
                prose.words("  " if k else "", style).maths(cell, style)
            return _prose(prose)

        yield _prose(Prose().words(tr("summary"), "bold"))
        yield line(header, "dim")
        for row in rows:
            yield line(row)


def _right(text: str, width: int) -> str:
    """`text` right-aligned in `width` terminal cells (a Korean letter takes two)."""
    return " " * (width - cell_len(text)) + text


def _prose(prose: Prose, indent: int = 0) -> Lines:
    """Prose laid out for the console's width, `indent` columns in, broken between its
    words (a score or a file name kept whole), no line ending in a space."""
    return Lines(lambda width: prose.lines(width, indent))


def _indented(text: str, indent: int) -> RenderableType:
    """Dim text broken between its words `indent` columns in."""
    return _prose(Prose().words(text, "dim"), indent)


def _value_lines(value: object, precision: int, width: int, written: bool = False) -> list[str]:
    """A submitted or expected value as render/arrays.py writes it at `width` (a ragged
    or not numeric submission, which costs its item, as it was read, on one line)."""
    if isinstance(value, list):
        from .arrays import cells_of, lines

        try:
            return lines(cells_of(value, precision, written), width, rows=False)
        except (ValueError, TypeError):
            pass
    return [fmt_value(value, precision, written)]
