"""`bpcli grad --explain`: the walkthrough in the terminal, with Rich.

What is said comes from `walkthrough` (formulas from the op table, numbers
from the Result); this module only lays it out: panels, aligned equations,
green values and red gradients.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..result import Result
from .notation import Plain
from .numbers import DEFAULT_PRECISION
from .theme import GRAD, VALUE
from .walkthrough import (
    BACKWARD,
    FORWARD,
    INPUTS,
    OUTPUT,
    RATE,
    START,
    STEPPED,
    UPDATE,
    UPDATED,
    CopyGate,
    Equation,
    Gate,
    Phrase,
    Unreached,
    Walkthrough,
)

PATTERN = "bold cyan"


class ExplainView:
    """The walkthrough: forward pass, backward pass, and the update step."""

    def __init__(self, result: Result, precision: int = DEFAULT_PRECISION) -> None:
        self.walk = Walkthrough(result, Plain(result.graph, precision))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Panel(self.forward(), title=f"1. {FORWARD}", title_align="left")
        yield Panel(self.backward(), title=f"2. {BACKWARD}", title_align="left")
        if self.walk.has_update:
            yield Panel(self.update(), title=f"3. {UPDATE}", title_align="left")

    def forward(self) -> RenderableType:
        w = self.walk
        parts: list[RenderableType] = []
        if w.inputs_text():
            parts.append(Text.from_markup(_markup(w.phrase(INPUTS))))
        rows = _Equations()
        for evaluation in w.forward:
            rows.add(evaluation.equation, VALUE)
        if rows:
            parts.append(rows.table)
        parts.append(Text.from_markup(_markup(w.phrase(OUTPUT))))
        return Group(*parts)

    def backward(self) -> RenderableType:
        start = self.walk.start()
        parts: list[RenderableType] = [
            Text.assemble(f"{start.lhs} {start.sep} ", (start.result, GRAD), f"  ({START})")
        ]
        for step in self.walk.backward:
            if isinstance(step, Gate):
                parts.append(self.gate(step))
            elif isinstance(step, CopyGate):
                parts.append(self.copy_gate(step))
            else:
                parts.append(self.unreached(step))
        return Group(*parts)

    def unreached(self, step: Unreached) -> RenderableType:
        head = Text("\n" + step.heading.text())
        rows = _Equations()
        rows.add(step.equation, GRAD)
        return Group(head, Padding(rows.table, (0, 0, 0, 2)), _reason(step.reason))

    def gate(self, gate: Gate) -> RenderableType:
        head = Text.from_markup("\n" + _markup(gate.heading))
        rows = _Equations()
        for send in gate.sends:
            rows.add(send.equation, GRAD)
        return Group(head, Padding(rows.table, (0, 0, 0, 2)), _reason(gate.reason))

    def copy_gate(self, copy: CopyGate) -> RenderableType:
        head = Text.from_markup(f"\n{_markup(copy.heading)} {_markup(copy.note)}")
        rows = _Equations()
        rows.add(copy.equation, GRAD)
        return Group(head, Padding(rows.table, (0, 0, 0, 2)), _reason(copy.reason))

    def update(self) -> RenderableType:
        w = self.walk
        rows = _Equations()
        for descent in w.update:
            rows.add(descent.equation, VALUE)
        lines: list[RenderableType] = [
            Text(w.phrase(RATE).text()),
            *([rows.table] if rows else []),
            Text.from_markup(_markup(w.phrase(UPDATED))),
        ]
        if w.after_steps is not None:
            lines.append(Text.from_markup(_markup(w.phrase(STEPPED))))
        return Group(*lines)


class _Equations:
    """Rows `lhs = a = b = result`: the first `=` aligned, the results right-aligned."""

    def __init__(self) -> None:
        self.table = Table.grid(padding=(0, 1))
        self.table.add_column(no_wrap=True)
        self.table.add_column(no_wrap=True)
        self.table.add_column()
        self.table.add_column(no_wrap=True)
        self.table.add_column(justify="right", no_wrap=True)

    def add(self, equation: Equation, style: str) -> None:
        result = Text(equation.result, style=style)
        if not equation.terms:  # `∂f/∂x = 0`
            self.table.add_row(Text(equation.lhs), Text(equation.sep), result, Text(), Text())
            return
        terms = Text(" = ".join(equation.terms))
        self.table.add_row(Text(equation.lhs), Text(equation.sep), terms, Text("="), result)

    def __len__(self) -> int:
        return self.table.row_count


def _markup(phrase: Phrase) -> str:
    """A phrase as Rich markup: its pattern in the pattern's style, an equation's result
    in green, the rest as it is."""
    return phrase.lay_out(
        escape,
        lambda key, v: f"[{PATTERN}]{escape(v)}[/]" if key == "pattern" else escape(v),
        lambda e: f"{escape(e.lhs)} {e.sep} [{VALUE}]{escape(e.result)}[/]",
    )


def _reason(text: str) -> RenderableType:
    return Padding(Text(text, style="dim"), (0, 0, 0, 2))
