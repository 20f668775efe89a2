"""How the walkthrough writes its maths: as plain Unicode text, or as LaTeX.

`Plain` is the terminal's and the HTML page's notation (`∂f/∂x`, `x + y`);
`Tex` is LaTeX's (`\\frac{\\partial f}{\\partial x}`), used by the Markdown and
LaTeX write-ups. Both take names and numbers and give text; neither knows
where the text goes.
"""

from __future__ import annotations

import re
from typing import Any

from ..graph import Graph
from ..i18n import language, tr
from ..ops import OPS, Op, fill_tex
from ..syntax import SIGNED_NUMBER
from .numbers import DEFAULT_PRECISION, fmt
from .picture import constant, label


class Plain:
    """Unicode maths: `∂f/∂x = ∂f/∂q · ∂q/∂x = -4 · 1 = -4`."""

    dot = " · "
    times = " × "
    alpha = "α"
    alpha_times = "α × "  # α × ∂f/∂x: the update step's one multiplication sign
    assign = ":="
    accumulate = "+="

    def __init__(self, graph: Graph, precision: int = DEFAULT_PRECISION) -> None:
        self.graph = graph
        self.precision = precision
        self._labels: dict[int, str] = {}  # a node is written where each of its uses is
        self._numbers: dict[float, str] = {}  # (0.0 and -0.0, both "0", share a key)

    def num(self, value: float | None) -> str:
        if type(value) is not float:  # (an int, a NumPy scalar: not kept)
            return fmt(value, self.precision) if value is not None else "undefined"
        text = self._numbers.get(value)  # a walkthrough writes each number many times
        if text is None:
            text = self._numbers[value] = fmt(value, self.precision)
        return text

    def operand(self, value: float | None) -> str:
        """A number substituted into a product: `1 · (-4)`."""
        return self.factor(value)

    def factor(self, value: float | None) -> str:
        """A number multiplied from the right: `0.1 × (-4)`."""
        text = self.num(value)
        return f"({text})" if text.startswith("-") else text

    def name(self, name: str) -> str:
        return name

    def label(self, node_id: int) -> str:
        """How a node is written where it is used: its name, or a constant's number."""
        text = self._labels.get(node_id)
        if text is None:
            text = self._labels[node_id] = label(self.graph, self.graph.nodes[node_id])
        return text

    def d(self, top: str, bottom: str) -> str:
        return f"∂{top}/∂{bottom}"

    def show(self, op: str, inputs: list[str]) -> str:
        return OPS[op].say(inputs)

    def show_numbers(self, op: str, values: list[float]) -> str:
        """The op applied to numbers, `-2 + 5`, `3 · (-4)`, `-(1)`: a negative number is
        bracketed where it is substituted, except first in a sum or inside a call's
        brackets; a prefix op's operand always is (`-(1)`, never `-1`, which reads as a
        number)."""
        spec = OPS[op]
        return self.show(op, [self.substituted(spec, i, v) for i, v in enumerate(values)])

    def leads(self, spec: Op) -> bool:
        """Whether the op's first operand starts its text, followed by a space (`a + b`)."""
        return (spec.said or spec.shown or "").startswith("{0} ")

    def substituted(self, spec: Op, i: int, value: float) -> str:
        if spec.arity == 1 and not spec.call:  # a prefix op: `-(1)`
            return f"({self.num(value)})"
        if spec.call or (i == 0 and self.leads(spec)):
            return self.num(value)
        return self.factor(value)

    def whole(self, op: str, inputs: list[str]) -> str:
        """The op applied to `inputs` as one symbol, the top of a local derivative written
        from the gate's own rule, `∂(q·z)/∂q`: a call as it is, else bracketed."""
        text = self.show(op, inputs)
        return text if OPS[op].call else "(" + text.replace(" ", "") + ")"

    def formulas(self, op: str, inputs: list[str], out: str) -> tuple[str, ...]:
        return tuple(f.format(*inputs, out=out) for f in OPS[op].formulas_for(len(inputs)))

    def group(self, formula: str) -> str:
        """A formula as a factor: `1 - t²` becomes `(1 - t²)`, `-f/add3` `(-f/add3)`; a
        name or number stays."""
        return f"({formula})" if " " in formula or formula.startswith("-") else formula

    def math(self, text: str) -> str:
        """Maths inside prose."""
        return text

    def symbols(self, text: str) -> str:
        """The signs of the op table's tensor notation (`·`, `⊙`, `⊗`, `ᵀ`, `→`,
        `diag`) in this notation: as they are in plain text."""
        return text


class Tex(Plain):
    """LaTeX maths: `\\frac{\\partial f}{\\partial x}`; names made safe for pdflatex."""

    dot = r" \cdot "
    times = r" \times "
    alpha = r"\alpha"
    alpha_times = r"\alpha \times "
    assign = r"\mathrel{:=}"
    accumulate = r"\mathrel{+}="

    def num(self, value: float | None) -> str:
        if value is None:
            return r"\text{undefined}"
        return tex_number(fmt(value, self.precision))

    def __init__(self, graph: Graph, precision: int = DEFAULT_PRECISION) -> None:
        super().__init__(graph, precision)
        # Names that would look alike in LaTeX (x1 and x_1 are both x_{1}) are written
        # out instead, \mathit{x1} and \mathit{x\_1}, so no two names look the same.
        names = {graph.name(i) for i in range(len(graph.codes))}
        names |= set(graph.variables) | set(graph.assigned)
        alike: dict[str, list[str]] = {}
        for name in names:
            alike.setdefault(tex_name(name), []).append(name)
        self.names = {
            name: tex if len(same) == 1 else _tex_word(name)
            for tex, same in alike.items()
            for name in same
        }

    def name(self, name: str) -> str:
        return self.names.get(name) or tex_name(name)

    def label(self, node_id: int) -> str:
        text = super().label(node_id)
        node = self.graph.nodes[node_id]
        if not constant(self.graph, node):
            return self.name(text)
        if SIGNED_NUMBER.fullmatch(text):  # a constant as written, if whole (not cut with …)
            return tex_number(text)
        return self.num(self.graph.consts[node_id])

    def d(self, top: str, bottom: str) -> str:
        return rf"\frac{{\partial {top}}}{{\partial {bottom}}}"

    def show(self, op: str, inputs: list[str]) -> str:
        return OPS[op].show_tex(inputs)

    def leads(self, spec: Op) -> bool:
        return spec.tex.startswith("a ")

    def substituted(self, spec: Op, i: int, value: float) -> str:
        """As in plain text, and bare inside a fraction, whose parts need no brackets:
        `3 \\cdot (-4)`, `{(-2)}^{3}`, `\\frac{1}{-2}`."""
        if spec.tex_fraction:
            return self.num(value)
        return super().substituted(spec, i, value)

    def whole(self, op: str, inputs: list[str]) -> str:
        text = self.show(op, inputs)
        return text if OPS[op].call else rf"\left({text}\right)"

    def formulas(self, op: str, inputs: list[str], out: str) -> tuple[str, ...]:
        """The op table's LaTeX formulas; a formula in words (`1 if {i} is the max, else
        0`) in a language other than English is the catalog's, as the terminal says it,
        its words set as text and the rest as maths."""
        spec = OPS[op]
        if all(tr(f) == f for f in spec.formulas):  # English, or only maths
            return spec.formulas_tex(inputs, out)
        return tuple(_worded_tex(f, inputs) for f in spec.formulas_for(len(inputs)))

    def math(self, text: str) -> str:
        return f"${text}$"

    def symbols(self, text: str) -> str:
        return _TEX_SIGNS.sub(lambda m: TEX_SIGNS[m.group(0)], text)


# In a formula in words: a run of words (letters, and the brackets of a particle such as
# 이(가)) with the spaces around it, set as text; the rest (names, numbers, signs) is maths.
_WORDS = re.compile(r"(\s*(?:[^\W\d_]|[()])+(?:\s+(?:[^\W\d_]|[()])+)*\s*)")
_INPUT = re.compile(r"\{(\d+)\}")


def _worded_tex(formula: str, inputs: list[str]) -> str:
    """`{0}이(가) 최댓값이면 1, 아니면 0` over z:
    `z\\text{이(가) 최댓값이면 }1,\\text{ 아니면 }0`."""
    parts = []
    for k, piece in enumerate(_INPUT.split(formula)):
        if k % 2:
            parts.append(inputs[int(piece)])
            continue
        for j, run in enumerate(_WORDS.split(piece)):
            parts.append(rf"\text{{{tex_text(run)}}}" if j % 2 else run.strip())
    return "".join(parts)


# The signs of the tensor notation, and what LaTeX writes for each.
TEX_SIGNS = {
    " · ": r" \cdot ", "·": r" \cdot ", " ⊙ ": r" \odot ", " ⊗ ": r" \otimes ",
    "ᵀ": r"^{\top}", " → ": r" \to ", "diag(": r"\operatorname{diag}(",
}  # fmt: skip
_TEX_SIGNS = re.compile("|".join(map(re.escape, sorted(TEX_SIGNS, key=len, reverse=True))))


# ---- vectors and matrices ----------------------------------------------------------------


def _is_number(value: object) -> bool:
    return value is None or isinstance(value, (float, int))


class TensorPlain(Plain):
    """Plain maths over vectors and matrices: a tensor written on one line, as the
    table summarises it (`[[0.1, 0.5], [-0.3, 0.8]]`), and each op as the program
    writes it (`W * x` elementwise, `W @ x` the matrix product), where a lecture's
    `·` would read as a matrix product."""

    hadamard = " ⊙ "

    def num(self, value: Any) -> str:
        if _is_number(value):
            return super().num(value)
        from ..tensor import inline

        return inline(value, self.precision)

    def show(self, op: str, inputs: list[str]) -> str:
        return OPS[op].show(inputs)

    def shapes(self, op: str, operands: list[str]) -> str:
        """The op applied to its operands' shapes, `(2, 2) @ (2,)`: as the program
        writes it, since `@` says what a product of shapes is."""
        return OPS[op].show(operands)

    def loss(self, loss: str, output: str) -> str:
        """With --dout, the number the gradients are of: `L = sum(dout ⊙ q)`."""
        from ..tensor import loss_text

        return loss_text(loss, output)

    def summed(self, text: str, axes: tuple[int, ...], ndim: int) -> str:
        """A gradient summed over the `axes` broadcasting stretched (of its `ndim`), as
        a program writes it: `sum(∂f/∂s, 0)`, or `sum(∂f/∂s)` over all of them."""
        if not axes:
            return text
        if len(axes) == ndim:
            return f"sum({text})"
        return f"sum({text}, {', '.join(map(str, axes))})"


class TensorTex(TensorPlain, Tex):
    """LaTeX maths over vectors and matrices: a tensor as a `bmatrix` (a vector as a
    column), summarised as the table summarises it, with `\\cdots`, `\\vdots` and
    `\\ddots` for what it leaves out."""

    hadamard = r" \odot "

    def num(self, value: Any) -> str:
        if _is_number(value):
            return Tex.num(self, value)
        from ..tensor import rows

        lines = [" & ".join(self._element(x) for x in row) for row in rows(value)]
        return r"\begin{bmatrix} " + r" \\ ".join(lines) + r" \end{bmatrix}"

    def _element(self, x: float | str) -> str:
        if isinstance(x, str):
            return ELLIPSES[x]
        return Tex.num(self, x)

    def show(self, op: str, inputs: list[str]) -> str:
        rule = OPS[op].tensor
        if rule is not None and rule.tex:
            return fill_tex(rule.tex, inputs, "")
        return Tex.show(self, op, inputs)

    def shapes(self, op: str, operands: list[str]) -> str:
        spec = OPS[op]
        if spec.call:
            return rf"\operatorname{{{spec.symbol}}}({', '.join(operands)})"
        return spec.show(operands).replace(".T", "^{\\top}")

    def loss(self, loss: str, output: str) -> str:
        return rf"{loss} = \operatorname{{sum}}(\mathrm{{dout}} \odot {output})"

    def summed(self, text: str, axes: tuple[int, ...], ndim: int) -> str:
        if not axes:
            return text
        if len(axes) == ndim:
            return rf"\operatorname{{sum}}\left({text}\right)"
        return rf"\operatorname{{sum}}\left({text}, {', '.join(map(str, axes))}\right)"


ELLIPSES = {"h": r"\cdots", "v": r"\vdots", "d": r"\ddots"}  # what tensor.rows leaves out


# ---- names and numbers that pdflatex can typeset -----------------------------------------

GREEK = {
    "α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "ε": "epsilon", "ζ": "zeta",
    "η": "eta", "θ": "theta", "ι": "iota", "κ": "kappa", "λ": "lambda", "μ": "mu", "ν": "nu",
    "ξ": "xi", "π": "pi", "ρ": "rho", "σ": "sigma", "τ": "tau", "υ": "upsilon", "φ": "phi",
    "χ": "chi", "ψ": "psi", "ω": "omega", "Γ": "Gamma", "Δ": "Delta", "Θ": "Theta",
    "Λ": "Lambda", "Ξ": "Xi", "Π": "Pi", "Σ": "Sigma", "Υ": "Upsilon", "Φ": "Phi",
    "Ψ": "Psi", "Ω": "Omega", "ϵ": "varepsilon", "ϑ": "vartheta", "ϕ": "varphi",
}  # fmt: skip
_INDEXED = re.compile(r"([^\W\d_]+)(\d+)")  # w0, x12: a letter name and an index


def tex_name(name: str) -> str:
    """A bpcli name in LaTeX maths: `x`, `w_{0}`, `x_{1}`, `\\alpha`, `\\mathit{loss}`.

    Letters pdflatex has no glyph for (beyond ASCII and Greek) are written by their
    code point, `\\mathit{u+AC00}`, so any name still compiles.
    """
    base, _, index = name.partition("_")
    if not base or not index:  # `_x`, `x_`: no index
        base, index = name, ""
    if not index and (m := _INDEXED.fullmatch(name)):
        base, index = m.groups()
    text = _tex_word(base)
    if index:
        text += "_{" + _tex_word(index) + "}"
    return text


def _tex_word(word: str) -> str:
    if len(word) == 1 and word.isascii():
        return word
    if len(word) == 1 and word in GREEK:
        return "\\" + GREEK[word]
    if word.isdigit() and word.isascii():
        return word
    parts = []
    for char in word:
        if char in GREEK:
            parts.append(f"{{\\{GREEK[char]}}}")
        elif char.isascii() and char.isalnum():
            parts.append(char)
        elif char == "_":
            parts.append(r"\_")
        else:  # a letter or digit pdflatex has no glyph for
            parts.append(rf"\text{{[U+{ord(char):04X}]}}")
    return r"\mathit{" + "".join(parts) + "}"


def tex_number(text: str) -> str:
    """A number as the table shows it (or as written: `2.5E+1`), in LaTeX: `1e-05`
    becomes `10^{-5}`."""
    mantissa, e, exponent = text.lower().partition("e")
    if not e:
        return text
    power = f"10^{{{int(exponent)}}}"
    return power if mantissa == "1" else rf"{mantissa} \times {power}"


# LaTeX's special characters, and the first of a pair that a T1 font would set as one
# glyph (`--` a dash, `<<` «, `,,` „, two backquotes “, two quotes ”, `!` and `?` before
# a backquote ¡ ¿): it is written `-{}-`.
_SPECIAL = re.compile(r"([-<>,`'](?=[-<>,`'])|[!?](?=`)|[&%#_{}~^\\$])")
_ESCAPES = {"~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "\\": r"\textbackslash{}"}


def _escape(char: str) -> str:
    if char in "-<>,`'!?":
        return char + "{}"
    return _ESCAPES.get(char, "\\" + char)


def tex_text(text: str) -> str:
    """Text for LaTeX's text mode: its special characters escaped, Greek letters and
    the signs `·`, `×`, `∂` as maths, and any other character pdflatex has no glyph
    for (control characters too) as `[U+XXXX]`."""
    text = _SPECIAL.sub(lambda m: _escape(m.group(1)), text)
    hangul = language() == "ko"  # Korean is written for a document with ko.TeX (kotex)
    return "".join(
        char
        if char.isascii() and (char.isprintable() or char == "\t")
        else char
        if hangul and _HANGUL.fullmatch(char)
        else rf"\ensuremath{{\{GREEK[char]}}}"
        if char in GREEK
        else rf"\ensuremath{{{SIGNS[char]}}}"
        if char in SIGNS
        else f"[U+{ord(char):04X}]"
        for char in text
    )


SIGNS = {"·": r"\cdot", "×": r"\times", "∂": r"\partial"}  # maths signs in running text
_HANGUL = re.compile("[\u1100-\u11ff\u3130-\u318f\uac00-\ud7a3]")  # what kotex typesets
