"""The default view of `bpcli grad`: a row per node, then the answers and the update step."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..i18n import tr, tr_n
from ..result import NodeResult, Result
from .chart import DescentChart
from .lines import Line, Lines, Stripped, cells
from .numbers import DEFAULT_PRECISION, fmt
from .theme import GRAD, VALUE

if TYPE_CHECKING:
    from ..tensor import TensorResult

MAX_ROWS = 200  # a larger graph shows its first and last EDGE_ROWS rows
EDGE_ROWS = 20


class GradView:
    """Per-node values and gradients, the output and input gradients, and the update."""

    def __init__(
        self, result: Result, precision: int = DEFAULT_PRECISION, nodes: bool = True
    ) -> None:
        self.result = result
        self.precision = precision
        self.show_nodes = nodes

    def _n(self, value: float | None) -> str:
        return fmt(value, self.precision)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.show_nodes:
            yield Text(tr("computational graph"), style="bold")
            yield Stripped(self.node_table())  # a cell folded onto a second line: no padding
            yield self.answers()
        else:
            yield self.answers(gap=False)
        if self.result.update is not None:
            yield Text()
            yield self.update_view()

    def node_table(self) -> Table:
        f = self.result.output_name
        table = Table(box=None, pad_edge=False)
        table.add_column(tr("node"))
        table.add_column(tr("op"))
        table.add_column(tr("text"), overflow="fold")
        table.add_column(tr("value"), justify="right", style=VALUE)
        table.add_column(tr("∂{f}/∂node").format(f=f), justify="right", style=GRAD)
        for row in self._rows():
            if row is None:
                left_out = len(self.result.nodes) - 2 * EDGE_ROWS
                more = tr("{left_out} more nodes (--json lists them all)").format(left_out=left_out)
                table.add_row("…", "", more, "", "")
                continue
            table.add_row(
                escape(row.name),
                row.op,
                escape(row.text),
                self._n(row.value),
                self._n(row.grad),
            )
        return table

    def _rows(self) -> Iterator[NodeResult | None]:
        nodes = self.result.nodes
        if len(nodes) <= MAX_ROWS:
            yield from nodes
            return
        yield from nodes[:EDGE_ROWS]
        yield None
        yield from nodes[-EDGE_ROWS:]

    def answers(self, gap: bool = True) -> Group:
        result = self.result
        f = result.output_name
        output = Text.assemble(
            "\n" if gap else "", (f"{f} = ", "bold"), (self._n(result.output), VALUE)
        )
        pairs = [
            [(f"∂{f}/∂{name} = ", ""), (self._n(grad), GRAD)]
            for name, grad in result.gradients.items()
        ]
        grads = Lines(lambda width: _pack(pairs, width))
        return Group(output, grads) if result.gradients else Group(output)

    def update_view(self) -> Group:
        update = self.result.update
        assert update is not None
        f = self.result.output_name
        if update.trajectory is not None:
            heading = tr("gradient descent: α = {lr}, {steps} steps").format(
                lr=self._n(update.lr), steps=update.steps
            )
            table = Table(box=None, pad_edge=False)
            table.add_column(tr("step"), justify="right")
            for name in self.result.inputs:
                table.add_column(escape(name), justify="right")
            table.add_column(escape(f), justify="right", style=VALUE)
            for step in update.trajectory:
                cells = [self._n(v) for v in step.inputs.values()]
                table.add_row(str(step.step), *cells, self._n(step.output))
            summary = tr("after {steps} steps: {f} = ").format(steps=update.steps, f=f)
        else:
            heading = tr("update step: x := x - α·∂{f}/∂x with α = {lr}").format(
                f=f, lr=self._n(update.lr)
            )
            table = Table(box=None, pad_edge=False)
            table.add_column(tr("input"))
            table.add_column(tr("value"), justify="right", style=VALUE)
            table.add_column(tr("∂{f}/∂input").format(f=f), justify="right", style=GRAD)
            table.add_column(tr("new value"), justify="right", style=VALUE)
            for name, value in self.result.inputs.items():
                table.add_row(
                    escape(name),
                    self._n(value),
                    self._n(self.result.gradients[name]),
                    self._n(update.inputs[name]),
                )
            summary = tr("after the update: {f} = ").format(f=f)
        line = Text.assemble("\n", (escape(summary), "bold"), (self._n(update.output), VALUE))
        if update.trajectory is None:
            return Group(Text(heading, style="bold"), Stripped(table), line)
        chart = DescentChart(update, self.result.output_name, precision=self.precision)
        return Group(Text(heading, style="bold"), Stripped(table), line, Text(), chart)


PAIRS_GAP = "   "  # between two `∂f/∂x = -4` of the summary line


def _pack(pairs: list[Line], width: int) -> list[Line]:
    """`name = value` pairs on lines of at most `width` cells, broken only between two
    pairs (never between a name and its value)."""
    lines: list[Line] = []
    line: Line = []
    used = 0
    for pair in pairs:
        size = sum(cells(text) for text, _ in pair)
        if line and used + len(PAIRS_GAP) + size > width:
            lines.append(line)
            line, used = [], 0
        if line:
            line.append((PAIRS_GAP, ""))
            used += len(PAIRS_GAP)
        line += pair
        used += size
    return [*lines, line] if line else lines


class TensorGradView:
    """A run over vectors and matrices (a tensor.TensorResult): the node table with a shape
    column, small tensors whole and larger ones summarised as NumPy prints them, the
    output and each input's gradient (of its shape), and the update of every input."""

    def __init__(
        self, result: TensorResult, precision: int = DEFAULT_PRECISION, nodes: bool = True
    ) -> None:
        self.result = result
        self.precision = precision
        self.show_nodes = nodes

    def _n(self, value: object) -> str:
        from ..tensor import summary

        return summary(value, self.precision)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from ..tensor import show_shape

        result = self.result
        f = result.output_name
        if self.show_nodes:
            yield Text(tr("computational graph"), style="bold")
            table = Table(box=None, pad_edge=False)
            for column in (tr("node"), tr("op"), tr("text"), tr("shape")):
                table.add_column(column, overflow="fold")
            table.add_column(tr("value"), justify="right", style=VALUE)
            table.add_column(tr("∂{f}/∂node").format(f=f), justify="right", style=GRAD)
            for i, (name, op, _, text) in enumerate(result.graph.facts()):
                table.add_row(
                    escape(name),
                    op,
                    escape(text),
                    Text(show_shape(result.shapes[i])),
                    Text(self._n(result.values[i])),
                    Text(self._n(result.grads[i])),
                )
            yield Stripped(table)  # no trailing spaces in a pipe or a file
            yield Text()
        yield _assigned(f"{f} = ", self._n(result.output), VALUE, bold=True)
        for name, grad in result.gradients.items():
            yield _assigned(f"∂{f}/∂{name} = ", self._n(grad), GRAD)
        update = result.update
        if update is not None:
            steps = tr_n(
                "update: x := x - α·∂{f}/∂x with α = {lr}, {steps} step",
                "update: x := x - α·∂{f}/∂x with α = {lr}, {steps} steps",
                update.steps,
            )
            yield Text()
            yield Text(steps.format(f=f, lr=self._n(update.lr), steps=update.steps), style="bold")
            for name, value in update.inputs.items():
                yield _assigned(f"{name} = ", self._n(value), VALUE)
            after = tr("after the update: {f} = ").format(f=f)
            yield _assigned(after, self._n(update.output), VALUE, bold=True)
            if update.trajectory is not None:  # the loss is a number: the chart is a run's
                yield Text()
                yield DescentChart(update, f, precision=self.precision)


def _assigned(left: str, value: str, style: str, bold: bool = False) -> Text:
    """`left` then a value of one or more lines, each line after the first under the first."""
    indent = "\n" + " " * cells(left)
    return Text.assemble(
        (escape(left), "bold" if bold else ""), (value.replace("\n", indent), style)
    )
