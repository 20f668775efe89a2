"""The language's numbers, names and binding strengths, as grammar/expr.lark defines them.

The grammar is the one definition: NUMBER and NAME are its terminals, read from
the tables generated from it (so the command line reads `--x 2.5` exactly as the
parser reads the constant 2.5), and the binding strengths are its rule levels,
loosest first, read from the grammar itself where a printer needs them (which
Lark's tables do not keep). Nothing here imports Lark.
"""

from __future__ import annotations

import math
import re
import unicodedata
from functools import cache
from typing import NamedTuple

from . import _tables

_TERMINALS = dict(_tables.TERMINALS)
SIGNED_NUMBER = re.compile(f"[+-]?(?:{_TERMINALS['NUMBER']})")  # a NUMBER with a sign: -2, +0.5
NAME = re.compile(_TERMINALS["NAME"])
# Names that are constants unless given a value (then they are inputs, as any name):
# `pi*x` and `e**x` need no value, `bpcli grad "e*x" --e 2 --x 1` has two inputs.
NAMED_CONSTANTS = {"pi": math.pi, "e": math.e}
_SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def composed(text: str) -> str:
    """`text` in Unicode's composed form (NFC): a name pasted decomposed (macOS pastes
    가 as ᄀ + ᅡ, é as e + ◌́) is the same name as when typed, and a combining accent
    joins its letter, so the NAME terminal reads it."""
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def superscript(text: str) -> float:
    """The exponent a SUPERSCRIPT token writes: ² is 2, ¹⁰ is 10, ⁻¹ is -1."""
    return float(number_text(text))


def number_text(text: str) -> str:
    """A constant's text as written, with a superscript exponent in ASCII: ² is 2."""
    return text.translate(_SUPERSCRIPT_DIGITS)


class Precedence(NamedTuple):  # not a dataclass: made at import, on the fast path too
    """The grammar's rule levels, loosest first (1 is `sum`), as a printer needs them.

    `binding` gives each op the level of the rule whose alias it is; `operands`,
    for each op written with an operator, the level each operand must have to be
    written without parentheses. Calls, names and numbers bind tightest (`atom`).
    """

    levels: tuple[str, ...]
    binding: dict[str, int]
    operands: dict[str, tuple[int, ...]]

    @property
    def atom(self) -> int:
        return len(self.levels)

    def strength(self, op: str) -> int:
        """How tightly text written for `op` binds: an op with no rule of its own is a call."""
        return self.binding.get(op, self.atom)

    def bracketed(self, op: str, index: int, inner: int) -> bool:
        """Whether operand `index` of `op`, whose text binds at `inner`, needs parentheses.

        Where the grammar needs them, and also around an operand that binds more loosely
        than its operator, which the grammar allows only as the exponent: `x ** (-1)`,
        as Python's own printer (ast.unparse) writes it.
        """
        return inner < max(self.operands[op][index], self.binding[op])


_COMMENT = re.compile(r"(?m)(^|\s)//[^\n]*")
_RULE = re.compile(r"(?m)^\??([a-z_][a-z0-9_]*)\s*:")
_SYMBOL = re.compile(r'"(?:[^"\\]|\\.)*"|/(?:[^/\\]|\\.)*/|->|\||[A-Za-z_][A-Za-z0-9_]*|\S')


def read_precedence(grammar: str) -> Precedence:
    """The levels of a Lark grammar written as bpcli's is: one rule per binding
    strength, each alternative that makes a node named by its alias (`-> add`)."""
    text = _COMMENT.sub(r"\1", grammar)
    starts = list(_RULE.finditer(text))
    rules: dict[str, list[tuple[list[str], str | None]]] = {}
    for here, after in zip(starts, [*starts[1:], None], strict=True):
        end = after.start() if after else len(text)
        body = re.split(r"(?m)^(?=_?[A-Z]|%)", text[here.end() : end])[0]  # up to a terminal
        alternatives: list[tuple[list[str], str | None]] = [([], None)]
        tokens = iter(_SYMBOL.findall(body))
        for token in tokens:
            if token == "|":
                alternatives.append(([], None))
            elif token == "->":
                alternatives[-1] = (alternatives[-1][0], next(tokens))
            else:
                alternatives[-1][0].append(token)
        rules[here.group(1)] = alternatives
    levels = tuple(name for name, alts in rules.items() if any(alias for _, alias in alts))
    level = {name: i for i, name in enumerate(levels, start=1)}
    binding: dict[str, int] = {}
    operands: dict[str, tuple[int, ...]] = {}
    for name in levels:
        for symbols, alias in rules[name]:
            if alias is not None and alias not in binding:  # x**2 before x²: the first
                binding[alias] = level[name]
                operands[alias] = tuple(level.get(s, 0) for s in symbols if s in rules)
    return Precedence(levels, binding, operands)


@cache
def precedence() -> Precedence:
    """bpcli's grammar's binding strengths (read once, when a printer first asks)."""
    from .tables import grammar_text

    return read_precedence(grammar_text())
