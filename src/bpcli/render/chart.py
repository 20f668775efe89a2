"""Gradient descent as a terminal chart: the output at each step, one column per step."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.text import Text

from ..engine import Step
from ..i18n import tr_n
from ..result import Update
from .numbers import DEFAULT_PRECISION, fmt
from .theme import VALUE

if TYPE_CHECKING:
    from ..tensor import TensorUpdate

BLOCKS = " ▁▂▃▄▅▆▇█"  # a cell filled to 0/8 … 8/8
EIGHTHS = len(BLOCKS) - 1
BAR = VALUE  # the output's values
AXIS = "dim"


def descent_steps(update: Update | TensorUpdate) -> tuple[Step, ...]:
    """The recorded steps of a descent (a tensor run keeps each as (step, inputs, output),
    its inputs vectors and matrices; its output, a loss, is a number as a scalar run's;
    with --dout, the number descended is L = sum(dout ⊙ q), the update's `losses`)."""
    if update.trajectory is None:  # the caller draws a chart only of recorded steps
        raise ValueError("a chart of gradient descent needs its steps (update.trajectory)")
    losses = getattr(update, "losses", None)  # with --dout: L = sum(dout ⊙ q), a number
    if losses is not None:
        recorded = zip(update.trajectory, losses, strict=True)
        return tuple(Step(s, p, loss) for (s, p, _), loss in recorded)
    return tuple(s if isinstance(s, Step) else Step(*s) for s in update.trajectory)


class DescentChart:
    """The output over the steps as columns of block characters, between its max and min."""

    def __init__(
        self,
        update: Update | TensorUpdate,
        output_name: str,
        height: int = 8,
        precision: int = DEFAULT_PRECISION,
    ) -> None:
        trajectory = descent_steps(update)
        if height < 2:
            raise ValueError(f"a chart needs a height of at least 2 rows, not {height}")
        self.update = update
        self.trajectory: tuple[Step, ...] = trajectory
        self.output_name = output_name
        self.height = height
        self.precision = precision

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        outputs = [step.output for step in self.trajectory]
        hi, lo = max(outputs), min(outputs)
        top, bottom = fmt(hi, self.precision), fmt(lo, self.precision)
        label_width = max(cell_len(top), cell_len(bottom))
        shown = sample(len(outputs), options.max_width - label_width - 2)
        levels = [self._level(outputs[i], lo, hi) for i in shown]

        steps = self.update.steps
        title = tr_n("{name} over {steps} step", "{name} over {steps} steps", steps)
        title = title.format(name=self.output_name, steps=steps)
        yield Text(title, style="bold")
        for row in reversed(range(self.height)):
            label = top if row == self.height - 1 else bottom if row == 0 else ""
            tick = "┤" if label else "│"
            bars = "".join(BLOCKS[min(max(level - row * EIGHTHS, 0), EIGHTHS)] for level in levels)
            yield _line((f"{label:>{label_width}} {tick}", AXIS), (bars.rstrip(), BAR))
        yield _line((" " * label_width + " └" + "─" * len(shown), AXIS))
        first, last = str(self.trajectory[0].step), str(self.trajectory[-1].step)
        if len(shown) == 1:
            ticks = first
        else:  # the last step's number ends under its column, if there is room
            ticks = first + last.rjust(max(len(shown) - len(first), len(last) + 1))
        yield _line((" " * (label_width + 2) + ticks, AXIS))

    def _level(self, value: float, lo: float, hi: float) -> int:
        """The column's height in eighths of a row: 1 (the min) to height * 8 (the max)."""
        most = self.height * EIGHTHS
        if hi == lo:
            return most // 2
        # Halved so that hi - lo cannot overflow when the descent diverges.
        fraction = (value / 2 - lo / 2) / (hi / 2 - lo / 2)
        return 1 + round(fraction * (most - 1))


def sample(count: int, width: int) -> list[int]:
    """Indices of at most `width` (at least 2) of `count` points, evenly spaced, with the
    first and the last."""
    if count <= max(width, 2):
        return list(range(count))
    columns = max(width, 2)
    return [(i * (count - 1) + (columns - 1) // 2) // (columns - 1) for i in range(columns)]


def _line(*parts: tuple[str, str]) -> Text:
    return Text.assemble(*parts, no_wrap=True, overflow="crop")
