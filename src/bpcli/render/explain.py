"""`bpcli grad --explain`: the walkthrough in the terminal, with Rich.

What is said comes from `walkthrough` (formulas from the op table, numbers
from the Result); this module only lays it out: panels, aligned equations,
green values and red gradients. The lines are broken here (`lines`), never by
Rich: an equation only before an `=`, prose only at a space outside its maths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, RenderResult

from ..i18n import tr
from ..result import Result
from .lines import MATH_END, MATH_START, Boxed, Line, Prose, equation_lines, line_cells
from .notation import Plain, TensorPlain
from .numbers import DEFAULT_PRECISION
from .theme import GRAD, VALUE
from .walkthrough import (
    BACKWARD,
    FORWARD,
    INPUTS,
    MATHS,
    OUTPUT,
    RATE,
    SHAPES,
    STEPPED,
    UPDATE,
    UPDATED,
    CopyGate,
    Equation,
    Gate,
    Phrase,
    TensorWalkthrough,
    walkthrough,
)

if TYPE_CHECKING:
    from ..tensor import TensorResult

PATTERN = "bold cyan"
REASON = "dim"
INDENT = 2  # a gate's equations and reason, under its heading


class Marked(Plain):
    """The plain notation with its maths inside prose marked, so that a line never
    breaks inside it."""

    def math(self, text: str) -> str:
        return f"{MATH_START}{text}{MATH_END}"


class TensorMarked(TensorPlain, Marked):
    """Marked, over vectors and matrices."""


class ExplainView:
    """The walkthrough: forward pass, backward pass, and the update step."""

    def __init__(self, result: Result | TensorResult, precision: int = DEFAULT_PRECISION) -> None:
        notation = TensorMarked if getattr(result, "tensor", False) else Marked
        self.walk = walkthrough(result, notation(result.graph, precision))

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Boxed(f"1. {tr(FORWARD)}", self.forward)
        yield Boxed(f"2. {tr(BACKWARD)}", self.backward)
        if self.walk.has_update:
            yield Boxed(f"3. {tr(UPDATE)}", self.update)

    def forward(self, width: int) -> list[Line]:
        w = self.walk
        lines: list[Line] = []
        if w.inputs_text():
            lines += _fitted(w.phrase(INPUTS), width)
        lines += equation_lines([e.equation for e in w.forward], VALUE, width)
        if isinstance(w, TensorWalkthrough):  # then each node's shape, and how it comes
            lines += _phrase(w.shapes_phrase(SHAPES)).lines(width)
            for e in w.forward:
                assert e.dims is not None
                lines += _phrase(e.dims).lines(width, INDENT)
        return lines + _fitted(w.phrase(OUTPUT), width)

    def backward(self, width: int) -> list[Line]:
        start = self.walk.start()
        lines = Prose().equation(start, GRAD).words(f"  ({tr(self.walk.start_words)})").lines(width)
        for step in self.walk.backward:
            lines.append([])
            if isinstance(step, Gate):
                lines += _phrase(step.heading).lines(width)
                lines += _phrase(step.chain(), terms=True).lines(width, INDENT)
                equations = [send.equation for send in step.sends]
            elif isinstance(step, CopyGate):
                heading = _phrase(step.heading).words(" ")
                lines += _phrase(step.note, heading).lines(width)
                equations = [step.equation]
            else:
                lines += _phrase(step.heading).lines(width)
                equations = [step.equation]
            lines += _indented(equations, GRAD, width)
            if isinstance(step, Gate):  # over tensors: the shapes, broadcasting undone
                for phrase in (*step.dims, *step.broadcasts):
                    lines += _phrase(phrase).lines(width, INDENT)
            lines += Prose().words(step.reason, REASON).lines(width, INDENT)
        return lines

    def update(self, width: int) -> list[Line]:
        w = self.walk
        lines = _phrase(w.phrase(RATE)).lines(width)
        lines += equation_lines([d.equation for d in w.update], VALUE, width)
        lines += _phrase(w.phrase(UPDATED)).lines(width)
        if w.after_steps is not None:
            lines += _phrase(w.phrase(STEPPED)).lines(width)
        return lines


def _indented(equations: list[Equation], style: str, width: int) -> list[Line]:
    """A gate's equations, INDENT columns in."""
    pad = (" " * INDENT, "")
    return [[pad, *line] for line in equation_lines(equations, style, width - INDENT)]


def _fitted(phrase: Phrase, width: int) -> list[Line]:
    """A phrase as prose, or, where an equation in it is too wide for a line (a tensor's
    value: `inputs: W = [[…]]`), its words with each equation laid out as equations are,
    its tensor broken between elements."""
    lines = _phrase(phrase).lines(width)
    if all(line_cells(line) <= width for line in lines):
        return lines
    out: list[Line] = []
    prose = Prose()
    for literal, key, value in phrase.pieces():
        prose.words(literal)
        if key is None or value is None:
            continue
        items = value if isinstance(value, tuple) else (value,)
        if not all(isinstance(item, Equation) for item in items):
            _phrase(Phrase(f"{{{key}}}", {key: value}), prose)
            continue
        out += [_rstripped(line) for line in prose.lines(width)]
        out += equation_lines([e for e in items if isinstance(e, Equation)], VALUE, width)
        prose = Prose()
    return out + prose.lines(width)


def _rstripped(line: Line) -> Line:
    """The line without the space a phrase's words leave before what follows them."""
    if line and not line[-1][0].strip():
        return line[:-1]
    return [*line[:-1], (line[-1][0].rstrip(), line[-1][1])] if line else line


def _phrase(phrase: Phrase, prose: Prose | None = None, terms: bool = False) -> Prose:
    """A phrase as prose: its pattern in the pattern's style, its maths kept whole, an
    equation's result in green. With `terms` (CHAIN's `downstream … = upstream … · local
    …`), each term, its word and its list of maths, stays on one line where it fits one:
    the line breaks before `= upstream` or after `·`, not between `local` and its
    derivatives."""
    prose = prose or Prose()
    for literal, key, value in phrase.pieces():
        # a term starts at its `=` (an equation breaks before `=`) or after a `·`
        term = prose.length + max(literal.rfind("= "), literal.rfind("· ") + 2, 0)
        prose.words(literal)
        if key is None or value is None:
            continue
        items = value if isinstance(value, tuple) else (value,)
        start = term if terms else prose.length
        for i, item in enumerate(items):
            if i:
                prose.words(", ")
            if isinstance(item, Equation):
                prose.equation(item, VALUE)
            elif key == "pattern":
                prose.words(item, PATTERN)
            elif key in MATHS:
                prose.maths(item)
            else:
                prose.words(item)
        if key in MATHS and (terms or len(items) > 1):
            prose.together(start)
    return prose
