"""The walkthrough as a write-up: Markdown with `$…$` maths, or a LaTeX fragment.

`grad --explain --format markdown|latex` prints one; `key --solutions` puts one
per problem in a solution sheet (see `solutions`). The maths is the
walkthrough's in LaTeX notation (`notation.Tex`); this module lays it out:
headings, `aligned`/`align*` blocks, the gates' patterns and reasons as prose.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..i18n import tr
from ..process import collector_paused
from ..result import Result
from .notation import TensorTex, Tex, tex_text
from .numbers import DEFAULT_PRECISION
from .walkthrough import (
    BACKWARD_HEADING,
    FORWARD_HEADING,
    INPUTS_SENTENCE,
    MATHS,
    OUTPUT_SENTENCE,
    RATE_SENTENCE,
    SHAPES_SENTENCE,
    STEPPED_SENTENCE,
    UPDATE_HEADING,
    UPDATED_SENTENCE,
    CopyGate,
    Equation,
    Gate,
    Phrase,
    TensorWalkthrough,
    Walkthrough,
    walkthrough,
)

if TYPE_CHECKING:
    from ..tensor import TensorResult


def _walkthrough(result: Result | TensorResult, precision: int) -> Walkthrough:
    """The walkthrough in LaTeX notation (matrices as `bmatrix`, over tensors)."""
    notation = TensorTex if getattr(result, "tensor", False) else Tex
    return walkthrough(result, notation(result.graph, precision))


def _shapes(w: Walkthrough, phrase: Callable[[Phrase], str]) -> list[str]:
    """Over tensors, after the forward equations: every input's shape, then how each
    node's shape comes, one line each (empty for numbers)."""
    if not isinstance(w, TensorWalkthrough):
        return []
    lines = [phrase(w.shapes_phrase(SHAPES_SENTENCE))]
    return lines + [phrase(e.dims) for e in w.forward if e.dims is not None]


def _gate_notes(step: Gate, phrase: Callable[[Phrase], str]) -> list[str]:
    """A gate's shapes and broadcasting undone, over tensors (empty for numbers)."""
    return [phrase(p) for p in (*step.dims, *step.broadcasts)]


def _row(equation: Equation) -> str:
    """One aligned row, `lhs &= terms = result`, broken into lines of at most about
    LINE_WIDTH characters (a copy gate with 250 uses is a long sum)."""
    sep = equation.sep if equation.sep == "=" else equation.sep.replace("=", "") + "="
    pieces = [f"{equation.lhs} &{sep} "]
    terms = (*equation.terms, equation.result)
    for i, term in enumerate(terms):
        for part in _breakable(term + ("" if i == len(terms) - 1 else " = ")):
            if _width(pieces[-1] + part) > LINE_WIDTH and _width(pieces[-1]) > LINE_WIDTH / 4:
                pieces.append(r"&\quad ")
            pieces[-1] += part
    return " \\\\\n".join(piece.rstrip() for piece in pieces)


LINE_WIDTH = 64  # characters shown in one line of an aligned block, about a page's width
_COMMAND = re.compile(r"\\[a-zA-Z]+|[{}&]")
_MATRIX = re.compile(r"\\begin\{bmatrix\}(.*?)\\end\{bmatrix\}")


def _width(tex: str) -> int:
    """About how many characters a line of LaTeX maths shows (a matrix as wide as its
    widest row)."""
    if r"\begin{bmatrix}" in tex:
        tex = _MATRIX.sub(lambda m: "x" * max(map(_width, m.group(1).split(r"\\"))), tex)
    return len(_COMMAND.sub("", tex))


def _breakable(text: str) -> list[str]:
    """`text` cut before each top-level ` + `, ` - ` and after each `, `: where a line
    may break (never inside braces, which hold a fraction's parts). Only the braces and
    the places to cut are visited, not every character (a write-up's hot loop)."""
    parts, depth, start = [], 0, 0
    for match in _CUTS.finditer(text):
        mark = match.group()
        if mark == "{":
            depth += 1
        elif mark == "}":
            depth -= 1
        elif depth == 0:
            at = match.start()
            if mark:  # after ", "
                parts.append(text[start : at + 2])
                start = at + 2
            elif at > start:  # before " + " or " - "
                parts.append(text[start:at])
                start = at
    parts.append(text[start:])
    return parts


_CUTS = re.compile(r"[{}]|, |(?= [+-] )")  # see _breakable: a brace, or a place to cut


# ---- Markdown ------------------------------------------------------------------------------


@collector_paused()  # the many small strings of a big graph's text, none in a cycle
def to_markdown(
    result: Result | TensorResult, precision: int = DEFAULT_PRECISION, level: int = 2
) -> str:
    """The walkthrough in Markdown; headings at `level` (##)."""
    w = _walkthrough(result, precision)
    h = "#" * level
    out: list[str] = [f"{h} {tr(FORWARD_HEADING)}", ""]
    if w.inputs_text():
        out += [_md(w.phrase(INPUTS_SENTENCE)), ""]
    out += _md_block([e.equation for e in w.forward])
    out += [line for text in _shapes(w, _md) for line in (text, "")]
    out += [_md(w.phrase(OUTPUT_SENTENCE)), "", f"{h} {tr(BACKWARD_HEADING)}", ""]
    out += [f"${w.start().text()}$: {_md(w.start_phrase(sentence=True))}.", ""]
    for step in w.backward:
        if isinstance(step, Gate):
            out += [f"**{_md(step.heading)}**", "", _md(step.chain()), ""]
            out += _md_block([send.equation for send in step.sends])
            out += [line for text in _gate_notes(step, _md) for line in (text, "")]
        elif isinstance(step, CopyGate):
            out += [f"**{_md(step.heading)}** {_md(step.note)}", ""]
            out += _md_block([step.equation])
        else:
            out += [f"**{_md(step.heading)}**", ""]
            out += _md_block([step.equation])
        out += [f"*{step.reason}*", ""]
    if w.has_update:
        out += [f"{h} {tr(UPDATE_HEADING)}", ""]
        out += [_md(w.phrase(RATE_SENTENCE)), ""]
        out += _md_block([d.equation for d in w.update])
        out += [_md(w.phrase(UPDATED_SENTENCE)), ""]
        if w.after_steps is not None:
            out += [_md(w.phrase(STEPPED_SENTENCE)), ""]
    return "\n".join(out)


def _maths(equation: Equation) -> str:
    return f"${equation.text()}$"


def _md(phrase: Phrase) -> str:
    """A phrase in Markdown: its maths in `$…$`."""
    return phrase.lay_out(str, lambda key, v: f"${v}$" if key in MATHS else v, _maths)


def _tex(phrase: Phrase) -> str:
    """A phrase in LaTeX's text mode: its maths in `$…$`, its pattern in bold."""

    def value(key: str, v: str) -> str:
        if key in MATHS:
            return f"${v}$"
        return rf"\textbf{{{tex_text(v)}}}" if key == "pattern" else tex_text(v)

    return phrase.lay_out(tex_text, value, _maths)


def _md_block(equations: list[Equation]) -> list[str]:
    if not equations:
        return []
    rows = " \\\\\n".join(_row(e) for e in equations)
    return ["$$", "\\begin{aligned}", rows, "\\end{aligned}", "$$", ""]


# ---- LaTeX ------------------------------------------------------------------------------------


@collector_paused()  # the many small strings of a big graph's text, none in a cycle
def to_latex(
    result: Result | TensorResult,
    precision: int = DEFAULT_PRECISION,
    heading: str = "subsection*",
) -> str:
    """The walkthrough as a LaTeX fragment: an `align*` per pass (needs amsmath)."""
    w = _walkthrough(result, precision)
    out: list[str] = [rf"\{heading}{{{tex_text(tr(FORWARD_HEADING))}}}"]
    if w.inputs_text():
        out.append(_tex(w.phrase(INPUTS_SENTENCE)))
    out += _align([_row(e.equation) for e in w.forward])
    out += [line for text in _shapes(w, _tex) for line in (text, "")]
    out += [_tex(w.phrase(OUTPUT_SENTENCE)), "", rf"\{heading}{{{tex_text(tr(BACKWARD_HEADING))}}}"]
    rows = [_row(w.start()), rf"\intertext{{{_tex(w.start_phrase())}}}"]
    for step in w.backward:
        if isinstance(step, Gate):
            rows.append(rf"\intertext{{{_tex(step.heading)}}}")
            rows.append(rf"\intertext{{{_tex(step.chain())}}}")
            rows += [_row(send.equation) for send in step.sends]
            rows += [rf"\intertext{{{text}}}" for text in _gate_notes(step, _tex)]
        elif isinstance(step, CopyGate):
            rows.append(rf"\intertext{{{_tex(step.heading)} {_tex(step.note)}}}")
            rows.append(_row(step.equation))
        else:
            rows.append(rf"\intertext{{{_tex(step.heading)}}}")
            rows.append(_row(step.equation))
        rows.append(rf"\intertext{{\emph{{{latex_prose(step.reason)}}}}}")
    out += _align(rows)
    if w.has_update:
        out += ["", rf"\{heading}{{{tex_text(tr(UPDATE_HEADING))}}}"]
        out.append(_tex(w.phrase(RATE_SENTENCE)))
        out += _align([_row(d.equation) for d in w.update])
        out.append(_tex(w.phrase(UPDATED_SENTENCE)))
        if w.after_steps is not None:
            out += ["", _tex(w.phrase(STEPPED_SENTENCE))]
    return "\n".join(out) + "\n"


def _align(rows: list[str]) -> list[str]:
    r"""An `align*` of rows. An equation row ends with `\\` when anything follows; an
    `\intertext` row never does, and a last one goes after the block as a paragraph."""
    tail = []
    if rows and rows[-1].startswith(INTERTEXT):
        tail = [rows[-1][len(INTERTEXT) : -1]]
        rows = rows[:-1]
    if not rows:
        return tail
    lines = [
        row if row.startswith(INTERTEXT) or i == len(rows) - 1 else row + r" \\"
        for i, row in enumerate(rows)
    ]
    # A pass may go on over the page: \allowdisplaybreaks, in a group so that it stays
    # in this block and out of the document around the fragment.
    block = [r"\begingroup\allowdisplaybreaks", r"\begin{align*}", *lines, r"\end{align*}"]
    return [*block, r"\endgroup", *tail]


INTERTEXT = "\\intertext{"


def latex_prose(text: str) -> str:
    """Prose with `$…$` maths for LaTeX: text outside the maths escaped, maths as it is."""
    parts = text.split("$")
    for i in range(0, len(parts), 2):
        parts[i] = tex_text(parts[i])
    return "$".join(parts)
