"""`bpcli grad --gradcheck`: backprop's gradients against central differences, per input."""

from __future__ import annotations

from collections.abc import Iterator

from rich.console import Console, ConsoleOptions, Group, JustifyMethod, RenderableType, RenderResult
from rich.text import Text

from ..gradcheck import ACCEPTABLE, GOOD, GradCheck, InputCheck, Kink, Verdict
from ..i18n import tr
from .lines import Lines, worded
from .numbers import DEFAULT_PRECISION, fmt
from .table import MAX_ROWS, Whole, as_blocks
from .theme import GRAD

VERDICT_STYLES: dict[Verdict, str] = {
    "good": "green",
    "acceptable": "yellow",
    "wrong": "bold red",
    "inconclusive": "yellow",
    "undefined": "dim",
}
SEVERITY: tuple[Verdict, ...] = ("wrong", "undefined", "inconclusive", "acceptable", "good")
MAX_NOTES = 20  # lines about kinks and undefined gradients; --json has them all
KINKS_PER_NOTE = 3


def relative_error(error: float | None) -> str:
    """1.2e-10 style; exactly 0 as 0; None (unavailable) as —."""
    if error is None:
        return "—"
    if error == 0:
        return "0"
    return format(error, ".1e")


class GradCheckView:
    """The check's table, a note per input at a kink or without a numeric gradient, a summary."""

    def __init__(
        self, check: GradCheck, output_name: str, precision: int = DEFAULT_PRECISION
    ) -> None:
        self.check = check
        self.f = output_name
        self.precision = precision

    def _n(self, value: float | None) -> str:
        return fmt(value, self.precision)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        # Rich pads a table's last column and leaves a space where it wraps a line:
        # lines without trailing spaces read the same and paste cleanly into notes.
        for line in console.render_lines(Group(*self.parts()), options, pad=False):
            text = Text()
            for segment in line:
                text.append(segment.text, segment.style)
            text.rstrip()
            yield text

    def parts(self) -> Iterator[RenderableType]:
        heading = tr("gradient check: numeric = ({f}(x+h) - {f}(x-h)) / 2h with h = {h}")
        # broken between words, `h = 1e-05` kept whole
        yield Lines(worded([(heading.format(f=self.f, h=self._n(self.check.step)), "bold")]).lines)
        if not self.check.inputs:
            yield Text(tr("there are no inputs to check"))
            return
        analytic = tr("analytic ∂{f}/∂input").format(f=self.f)  # a Text: no markup
        labels = (analytic, tr("numeric"), tr("relative error"), tr("verdict"))
        rows: list[list[str | Text]] = []
        shown: list[tuple[str, str, list[tuple[str, object, str]]]] = []
        for row in self._rows():
            if isinstance(row, str):  # the inputs left out past MAX_ROWS
                rows.append(["…", "", "", "", row])
                shown.append(("…", "  " + row, []))
                continue
            cells = [
                self._n(row.analytic),
                self._n(row.numeric),
                relative_error(row.relative_error),
            ]
            styles = (GRAD, GRAD, "", VERDICT_STYLES[row.verdict])
            rows.append([row.name, *cells, Text(row.verdict, style=styles[3])])
            values = [*cells, row.verdict]
            shown.append((row.name, "", [*zip(labels, values, styles, strict=True)]))
        columns: list[tuple[str, str, JustifyMethod]] = [(tr("input"), "", "left")]
        columns += [(analytic, GRAD, "right"), (tr("numeric"), GRAD, "right")]
        columns += [(tr("relative error"), "", "right"), (tr("verdict"), "", "left")]
        # never a number or verdict cut: where the columns do not fit, a block an input
        table = Whole(columns, rows, lambda width: as_blocks(shown, width))
        yield table
        notes = list(self.notes())
        if notes:
            yield Text()
            yield from notes
        yield Text()
        yield from self.summary()

    def _rows(self) -> Iterator[InputCheck | str]:
        """Every input; past MAX_ROWS, those that are not good and then the first good ones."""
        checks = list(self.check.inputs.values())
        if len(checks) <= MAX_ROWS:
            yield from checks
            return
        bad = [i for i, check in enumerate(checks) if check.verdict != "good"][:MAX_ROWS]
        good = [i for i, check in enumerate(checks) if check.verdict == "good"]
        shown = sorted(bad + good[: MAX_ROWS - len(bad)])
        yield from (checks[i] for i in shown)
        left = len(checks) - len(shown)
        all_good = len(bad) == len(checks) - len(good)
        if all_good:
            yield tr("{left} more inputs, all good").format(left=left)
        else:
            yield tr("{left} more inputs (--json lists them all)").format(left=left)

    def notes(self) -> Iterator[Text]:
        """Warnings (an input at or near a kink, without a numeric gradient or with one too
        inaccurate to judge), notes on a step other than h; what they mean."""
        at: dict[str, list[Kink]] = {}
        near: dict[str, list[Kink]] = {}
        for kink in self.check.kinks:
            for name in kink.inputs:
                (at if kink.at_point else near).setdefault(name, []).append(kink)
        lines: list[Text] = []
        imprecise = False
        for name, check in self.check.inputs.items():
            if name in at:
                lines.append(_warning(f"{name} sits on {self._kinks(at[name])}"))
            if name in near:
                lines.append(_warning(f"{name} is within h of {self._kinks(near[name])}"))
            if check.verdict == "undefined":
                lines.append(_warning(f"{name} has no numeric gradient: {check.reason}"))
            elif check.verdict == "inconclusive" and not (check.kink or check.near_kink):
                imprecise = True
                lines.append(_warning(f"{name}: {check.reason}"))
            elif check.step is not None and check.step != self.check.step:
                error = relative_error(check.estimated_error)
                lines.append(
                    Text.assemble(
                        ("note: ", "bold"),
                        f"{name} was checked with h = {self._n(check.step)}, the step whose"
                        f" numeric gradient has the smallest estimated error ({error})",
                    )
                )
        for name, (checked, total) in self.check.sampled.items():
            lines.append(
                Text.assemble(
                    ("note: ", "bold"),
                    tr(
                        "{name} has {total} elements: a seeded sample of {checked} was checked"
                    ).format(name=name, total=total, checked=checked),
                )
            )
        yield from lines[:MAX_NOTES]
        if len(lines) > MAX_NOTES:
            more = tr("… and {count} more warnings (--json lists them all)")
            yield Text(more.format(count=len(lines) - MAX_NOTES))
        if at:
            yield Text(
                tr(
                    "At a kink the op has no derivative: backprop follows bpcli's convention"
                    " there, and the numeric gradient is not meaningful, so a mismatch is"
                    " inconclusive."
                )
            )
        if near:
            yield Text(
                tr(
                    "Within h of a kink, {f}(x-h) and {f}(x+h) fall on its two sides and the"
                    " numeric gradient mixes them; a smaller h may help."
                ).format(f=self.f)
            )
        if imprecise:
            yield Text(
                tr(
                    "Central differences are off by about |{f}|·ε/h from round-off and"
                    " h²·|{f}'''|/6 from truncation: where that estimate could explain the"
                    " mismatch at every step tried, the check cannot tell, so it is inconclusive."
                ).format(f=self.f)
            )

    def _kinks(self, kinks: list[Kink]) -> str:
        """`a kink: relu(x) at x = 0` or `2 kinks: …; …`, at most KINKS_PER_NOTE of them."""
        shown = "; ".join(self._kink(kink) for kink in kinks[:KINKS_PER_NOTE])
        more = len(kinks) - KINKS_PER_NOTE
        count = "a kink" if len(kinks) == 1 else f"{len(kinks)} kinks"
        return f"{count}: {shown}" + (f"; and {more} more" if more > 0 else "")

    def _kink(self, kink: Kink) -> str:
        args = ", ".join(f"{text} = {self._n(value)}" for text, value in kink.args)
        return f"{kink.text} at {args}" if args else kink.text

    def summary(self) -> Iterator[Lines]:
        """The verdicts counted, and what each verdict means: broken between words,
        never inside a comparison (`good < 1e-07` is one)."""
        check = self.check
        counts = ", ".join(
            f"{check.count(verdict)} {verdict}" for verdict in SEVERITY if check.count(verdict)
        )
        if not check.ok:
            status, style = tr("gradient check failed: "), "bold red"
        elif all(c.verdict in ("good", "acceptable") for c in check.inputs.values()):
            status, style = tr("gradient check passed: "), "bold green"
        else:
            status, style = tr("gradient check found nothing wrong: "), "bold"
        legend = tr(
            "verdicts by relative error: good < {good:.0e} ≤ acceptable < {acceptable:.0e} ≤ wrong"
        ).format(good=GOOD, acceptable=ACCEPTABLE)
        yield Lines(worded([(status, style), (counts, "")]).lines)
        yield Lines(worded([(legend, "dim")]).lines)


def _warning(message: str) -> Text:
    return Text.assemble(("warning: ", "bold yellow"), message)
