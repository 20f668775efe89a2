"""`bpcli grad --explain`: the walkthrough in the terminal, with Rich.

What is said comes from `walkthrough` (formulas from the op table, numbers
from the Result); this module only lays it out: panels, aligned equations,
green values and red gradients. The lines are broken here (`lines`), never by
Rich: an equation only before an `=`, prose only at a space outside its maths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, RenderResult

from ..i18n import tr
from ..process import made_paused
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
        tensor = getattr(result, "tensor", False)
        notation = TensorMarked if tensor else Marked
        self.walk = walkthrough(result, notation(result.graph, precision))
        # A tensor walkthrough's formulas also break after an operator where they must
        # (softmax's local gradient is wider than a 40-column line); a scalar one's never.
        self.operators = bool(tensor)

    def prose(self) -> Prose:
        return Prose(self.operators)

    @made_paused
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Boxed(f"1. {tr(FORWARD)}", self.forward)
        yield Boxed(f"2. {tr(BACKWARD)}", self.backward)
        if self.walk.has_update:
            yield Boxed(f"3. {tr(UPDATE)}", self.update)

    def forward(self, width: int) -> list[Line]:
        w = self.walk
        lines: list[Line] = []
        if w.inputs_text():
            lines += _fitted(w.phrase(INPUTS), width, self.prose)
        lines += equation_lines([e.equation for e in w.forward], VALUE, width, self.operators)
        if isinstance(w, TensorWalkthrough):  # then each node's shape, and how it comes
            lines += _phrase(w.shapes_phrase(SHAPES), self.prose()).lines(width)
            for e in w.forward:
                assert e.dims is not None
                lines += _phrase(e.dims, self.prose()).lines(width, INDENT)
        return lines + _fitted(w.phrase(OUTPUT), width, self.prose)

    def backward(self, width: int) -> list[Line]:
        start = self.prose().equation(self.walk.start(), GRAD).words("  (")
        lines = _phrase(self.walk.start_phrase(), start).words(")").lines(width)
        for step in self.walk.backward:
            lines.append([])
            if isinstance(step, Gate):
                lines += _phrase(step.heading, self.prose()).lines(width)
                lines += _phrase(step.chain(), self.prose(), terms=True).lines(width, INDENT)
                equations = [send.equation for send in step.sends]
            elif isinstance(step, CopyGate):
                heading = _phrase(step.heading, self.prose()).words(" ")
                lines += _phrase(step.note, heading).lines(width)
                equations = [step.equation]
            else:
                lines += _phrase(step.heading, self.prose()).lines(width)
                equations = [step.equation]
            lines += self._indented(equations, GRAD, width)
            if isinstance(step, Gate):  # over tensors: the shapes, broadcasting undone
                for phrase in (*step.dims, *step.broadcasts):
                    lines += _phrase(phrase, self.prose()).lines(width, INDENT)
            lines += self.prose().words(step.reason, REASON).lines(width, INDENT)
        return lines

    def update(self, width: int) -> list[Line]:
        w = self.walk
        lines = _phrase(w.phrase(RATE), self.prose()).lines(width)
        lines += equation_lines([d.equation for d in w.update], VALUE, width, self.operators)
        lines += _phrase(w.phrase(UPDATED), self.prose()).lines(width)
        if w.after_steps is not None:
            lines += _phrase(w.phrase(STEPPED), self.prose()).lines(width)
        return lines

    def _indented(self, equations: list[Equation], style: str, width: int) -> list[Line]:
        """A gate's equations, INDENT columns in."""
        pad = (" " * INDENT, "")
        laid = equation_lines(equations, style, width - INDENT, self.operators)
        return [[pad, *line] for line in laid]


def _fitted(phrase: Phrase, width: int, new: Callable[[], Prose]) -> list[Line]:
    """A phrase as prose (each a `new()` one), or, where an equation in it is too wide
    for a line (a tensor's value: `inputs: W = [[…]]`), its words with each equation laid
    out as equations are, its tensor broken between elements."""
    lines = _phrase(phrase, new()).lines(width)
    if all(line_cells(line) <= width for line in lines):
        return lines
    out: list[Line] = []
    prose = new()
    for literal, key, value in phrase.pieces():
        prose.words(literal)
        if key is None or value is None:
            continue
        items = value if isinstance(value, tuple) else (value,)
        if not all(isinstance(item, Equation) for item in items):
            _phrase(Phrase(f"{{{key}}}", {key: value}), prose)
            continue
        out += [_rstripped(line) for line in prose.lines(width)]
        equations = [e for e in items if isinstance(e, Equation)]
        out += equation_lines(equations, VALUE, width, prose.operators)
        prose = new()
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
