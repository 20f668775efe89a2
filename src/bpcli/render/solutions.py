"""`bpcli key FILE --solutions`: a worked solution sheet for a problem set.

For each problem: its statement (the expression, the values, the learning
rate), the graph (Mermaid in Markdown, a TikZ picture in LaTeX), the forward
and backward walkthrough and the update step (`writeup`), and the final
answers, item by item under the names `bpcli check` uses (`grad.x`, …).
Markdown renders on GitHub; the LaTeX is a whole document for pdflatex.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..i18n import language, tr, tr_n
from ..problems import Answer, Problem, Value
from ..result import Result
from .layout import RunDot
from .mermaid import MAX_EDGES, edge_count, to_mermaid
from .notation import Tex, tex_number, tex_text
from .numbers import DEFAULT_PRECISION, fmt
from .tikz import to_tikz
from .writeup import to_latex, to_markdown


@dataclass(frozen=True, slots=True)
class Solved:
    """A problem with its run and its answer key."""

    problem: Problem
    result: Result
    answer: Answer


def _number(value: Value) -> float:
    """A value of a problem over numbers (the sheet is written for those only)."""
    assert isinstance(value, float)
    return value


def _points(problem: Problem) -> str:
    points = fmt(problem.points)
    many = 1 if problem.points == 1 else 2  # 2.5 points, 0 points: the plural
    return tr_n("{points} point", "{points} points", many).format(points=points)


def _problem_heading(ident: str, points: str) -> str:
    return tr("Problem {id} ({points})").format(id=ident, points=points)


def _latex(command: str, text: str) -> str:
    """`\\command{text}`."""
    return rf"\{command}{{{text}}}"


def solutions_markdown(
    title: str, solved: Sequence[Solved], precision: int = DEFAULT_PRECISION
) -> str:
    out = ["# " + tr("Solutions: {title}").format(title=markdown_text(title)), ""]
    for s in solved:
        p, result = s.problem, s.result
        tex = Tex(result.graph, precision)
        heading = "## " + _problem_heading(markdown_text(p.id), _points(p))
        out += [heading, "", *_fenced(p.expr.strip("\n")), ""]
        given = ", ".join(f"${tex.name(n)} = {tex.num(_number(v))}$" for n, v in p.values.items())
        out.append(tr("At {given}.").format(given=given) if given else tr("No inputs."))
        if p.lr is not None:
            out[-1] += tr(" Learning rate $\\alpha = {lr}$.").format(lr=tex.num(p.lr))
        out += ["", "### " + tr("Graph"), ""]
        edges = edge_count(result.graph)
        if edges > MAX_EDGES:
            not_drawn = tr("(Not drawn: {edges} edges, more than Mermaid draws.)")
            out += [not_drawn.format(edges=edges), ""]
        else:
            out += [to_mermaid(result.graph, result, precision, fence=True).rstrip("\n"), ""]
        out.append(to_markdown(result, precision, level=3).rstrip("\n"))
        out += ["", "### " + tr("Answers"), "", tr("| item | answer |"), "|---|---|"]
        out += [
            f"| `{field}` | ${tex_number(fmt(_number(v), precision))}$ |"
            for field, v in s.answer.items()
        ]
        out.append("")
    return "\n".join(out)


def one_line(text: str) -> str:
    """Its whitespace, newlines included, as single spaces: a heading stays one line."""
    return " ".join(text.split())


def markdown_text(text: str) -> str:
    """Text that Markdown shows as written, on one line: the characters that would
    start emphasis, code, links, a table cell or a heading's end escaped, and `<`,
    `>`, `&` as HTML entities (GitHub would otherwise read a tag)."""
    text = re.sub(r"[\\`*_\[\]#|~$]", lambda m: "\\" + m.group(0), one_line(text))
    return html.escape(text, quote=False)


def _fenced(text: str) -> list[str]:
    """A ```text block that no run of backticks inside can close early."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall("`+", text)), default=0))
    return [fence + "text", text, fence]


PREAMBLE = r"""\documentclass[11pt]{article}
\usepackage[T1]{fontenc}
\usepackage[margin=2.2cm]{geometry}
\usepackage{amsmath}
\usepackage{tikz}
\allowdisplaybreaks
\setlength{\parindent}{0pt}
\setlength{\parskip}{0.5em}
"""
# What a language needs in the preamble: Korean letters through ko.TeX (Debian's
# texlive-lang-korean), which pdflatex typesets with its own fonts.
LANGUAGE_PACKAGES = {"ko": "\\usepackage{kotex}\n"}


def solutions_latex(
    title: str,
    solved: Sequence[Solved],
    precision: int = DEFAULT_PRECISION,
    run_dot: RunDot | None = None,
) -> str:
    out = [
        (PREAMBLE + LANGUAGE_PACKAGES.get(language(), "")).rstrip("\n"),
        r"\begin{document}",
        _latex("section*", tr("Solutions: {title}").format(title=tex_text(one_line(title)))),
    ]
    for s in solved:
        p, result = s.problem, s.result
        tex = Tex(result.graph, precision)
        out += [
            "",
            _latex("subsection*", _problem_heading(tex_text(one_line(p.id)), _points(p))),
            r"\begin{flushleft}\ttfamily",
            r" \\ ".join(
                tex_text(line) if line.strip() else r"\mbox{}"
                for line in p.expr.strip("\n").split("\n")
            ),
            r"\end{flushleft}",
        ]
        given = ", ".join(f"${tex.name(n)} = {tex.num(_number(v))}$" for n, v in p.values.items())
        line = tr("At {given}.").format(given=given) if given else tr("No inputs.")
        if p.lr is not None:
            line += tr(" Learning rate $\\alpha = {lr}$.").format(lr=tex.num(p.lr))
        out += [
            line,
            "",
            r"\begin{center}",
            to_tikz(result, precision, run_dot).rstrip("\n"),
            r"\end{center}",
        ]
        out.append(to_latex(result, precision, heading="subsubsection*").rstrip("\n"))
        out += [_latex("subsubsection*", tr("Answers")), r"\begin{tabular}{ll}"]
        out.append(tr(r"item & answer \\ \hline"))
        out += [
            rf"\texttt{{{tex_text(field)}}} & ${tex_number(fmt(_number(v), precision))}$ \\"
            for field, v in s.answer.items()
        ]
        out.append(r"\end{tabular}")
    out += [r"\end{document}", ""]
    return "\n".join(out)
