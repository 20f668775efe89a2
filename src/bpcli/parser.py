"""Text to graph: the Lark LALR parser builds the graph while it parses.

The grammar lives in grammar/expr.lark. The builder below is passed to Lark as
its transformer, so each rule's callback runs as the parser reduces it: no
parse tree is kept and nothing recurses, however deep the nesting.
"""

from __future__ import annotations

import math
import re
import threading
from array import array
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from .errors import BindError, DomainError, ParseError
from .graph import NO_INPUT, Graph
from .ops import CODES, FUNCTIONS, OPS

# An operand while parsing: (node id, start, end). The span can be wider than
# the node's own, e.g. with the parentheses around it.
Ref = tuple[int, int, int]

OUTPUT_NAME = "f"  # the lecture's name for the output, used when it is free
CONST = CODES["const"]


# Where the grammar is in a source checkout (and so in an editable install).
SOURCE_GRAMMAR = Path(__file__).resolve().parents[2] / "grammar" / "expr.lark"


def grammar_text() -> str:
    """The grammar, from inside the installed package or else from the source tree."""
    packaged = resources.files("bpcli").joinpath("grammar").joinpath("expr.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return SOURCE_GRAMMAR.read_text(encoding="utf-8")


class _NewlinesInParens:
    """Post-lexer: a newline inside parentheses continues the line, as in Python."""

    always_accept = ("_SEP",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        for token in stream:
            kind = token.type
            if kind == "LPAR":
                depth += 1
            elif kind == "RPAR":
                depth -= 1
            elif kind == "_SEP" and depth > 0 and token != ";":
                continue
            yield token


class _Builder(Transformer[Token, Graph]):
    """Lark callbacks, one per grammar alias, each adding at most one node."""

    def reset(self, source: str) -> None:
        self.source = source
        self.codes: list[int] = []
        self.first: list[int] = []
        self.second: list[int] = []
        self.more: dict[int, tuple[int, ...]] = {}
        self.starts: array[int] = array("q")
        self.ends: array[int] = array("q")
        self.consts: array[float] = array("d")
        self.labels: dict[int, str] = {}
        self.variables: dict[str, int] = {}
        self.assigned: dict[str, Ref] = {}

    def _node(
        self, op: str, inputs: tuple[int, ...], start: int, end: int, value: float = 0.0
    ) -> Ref:
        node_id = len(self.codes)
        self.codes.append(CODES[op])
        self.first.append(inputs[0] if inputs else NO_INPUT)
        self.second.append(inputs[1] if len(inputs) > 1 else NO_INPUT)
        if len(inputs) > 2:
            self.more[node_id] = inputs
        self.starts.append(start)
        self.ends.append(end)
        self.consts.append(value)
        return node_id, start, end

    def _binary(self, op: str, children: list[Ref]) -> Ref:
        left, right = children
        node_id = len(self.codes)
        self.codes.append(CODES[op])
        self.first.append(left[0])
        self.second.append(right[0])
        self.starts.append(left[1])
        self.ends.append(right[2])
        self.consts.append(0.0)
        return node_id, left[1], right[2]

    def add(self, children: list[Ref]) -> Ref:
        return self._binary("add", children)

    def sub(self, children: list[Ref]) -> Ref:
        return self._binary("sub", children)

    def mul(self, children: list[Ref]) -> Ref:
        return self._binary("mul", children)

    def div(self, children: list[Ref]) -> Ref:
        return self._binary("div", children)

    def pow(self, children: list[Ref | Token]) -> Ref:
        base, _, exponent = children
        assert isinstance(base, tuple) and isinstance(exponent, tuple)
        return self._node("pow", (base[0], exponent[0]), base[1], exponent[2])

    def neg(self, children: list[Token | Ref]) -> Ref:
        minus, operand = children
        assert isinstance(minus, Token) and isinstance(operand, tuple)
        node_id, _, end = operand
        start = minus.start_pos
        assert start is not None
        if self._is_literal(node_id):
            # -4 is one constant, not neg(4)
            self.consts[node_id] = -self.consts[node_id]
            self.starts[node_id] = start
            return node_id, start, end
        return self._node("neg", (node_id,), start, end)

    def _is_literal(self, node_id: int) -> bool:
        """An unnamed constant just made: folding a sign into it changes nothing else."""
        return (
            self.codes[node_id] == CONST
            and node_id not in self.labels
            and node_id == len(self.codes) - 1
        )

    def pos(self, children: list[Token | Ref]) -> Ref:
        plus, operand = children
        assert isinstance(plus, Token) and isinstance(operand, tuple)
        assert plus.start_pos is not None
        return operand[0], plus.start_pos, operand[2]

    def paren(self, children: list[Token | Ref]) -> Ref:
        lpar, inner, rpar = children
        assert isinstance(lpar, Token) and isinstance(rpar, Token) and isinstance(inner, tuple)
        assert lpar.start_pos is not None and rpar.end_pos is not None
        return inner[0], lpar.start_pos, rpar.end_pos

    def const(self, children: list[Token]) -> Ref:
        (token,) = children
        start, end = _span(token)
        value = float(token)
        if not math.isfinite(value):
            raise DomainError(
                f"the number {token} is too large for a float",
                span=(start, end),
                source=self.source,
            )
        return self._node("const", (), start, end, value)

    def var(self, children: list[Token]) -> Ref:
        (token,) = children
        name = str(token)
        start, end = _span(token)
        if name in self.assigned:
            return self.assigned[name][0], start, end
        if name in FUNCTIONS:
            raise BindError(
                f"{name} is a function: call it as {name}(…)", span=(start, end), source=self.source
            )
        if name not in self.variables:
            node_id, _, _ = self._node("var", (), start, end)
            self.labels[node_id] = name
            self.variables[name] = node_id
        return self.variables[name], start, end

    def call(self, children: list[Token | Ref]) -> Ref:
        name_token, _lpar, *rest = children
        assert isinstance(name_token, Token)
        rpar = rest.pop()
        assert isinstance(rpar, Token) and rpar.end_pos is not None
        args = [child for child in rest if isinstance(child, tuple)]
        name = str(name_token)
        start, name_end = _span(name_token)
        span = (start, rpar.end_pos)
        op = OPS.get(name)
        if op is None or not op.function:
            raise ParseError(
                f"unknown function {name!r}; the functions are {', '.join(FUNCTIONS)}"
                f" (to multiply, write {name}*(…))",
                span=(start, name_end),
                source=self.source,
            )
        if op.arity is None and len(args) < 2:
            raise ParseError(
                f"{name} needs at least 2 arguments, got {len(args)}", span=span, source=self.source
            )
        if op.arity is not None and len(args) != op.arity:
            wanted = "1 argument" if op.arity == 1 else f"{op.arity} arguments"
            raise ParseError(
                f"{name} takes {wanted}, got {len(args)}", span=span, source=self.source
            )
        return self._node(name, tuple(arg[0] for arg in args), *span)

    def assign(self, children: list[Token | Ref]) -> Ref:
        name_token, expr = children
        assert isinstance(name_token, Token) and isinstance(expr, tuple)
        name = str(name_token)
        span = _span(name_token)
        if name in FUNCTIONS:
            raise BindError(
                f"{name} is a function and cannot be assigned", span=span, source=self.source
            )
        if name in self.assigned:
            raise BindError(
                f"{name} is assigned twice (first at {self._where(self.assigned[name][1])})",
                span=span,
                source=self.source,
            )
        if name in self.variables:
            first_use = self.starts[self.variables[name]]
            raise BindError(
                f"{name} is assigned here but was already used as an input "
                f"(at {self._where(first_use)}); assign a name before using it",
                span=span,
                source=self.source,
            )
        node_id = expr[0]
        if node_id not in self.labels:
            self.labels[node_id] = name
        # else: `b = a` gives a second name to a named node; `a` stays its label
        self.assigned[name] = (node_id, span[0], span[1])
        return expr

    def start(self, statements: list[Ref]) -> Graph:
        output = statements[-1][0]
        labels = self.labels
        free = OUTPUT_NAME not in self.assigned and OUTPUT_NAME not in labels.values()
        if output not in labels and free:
            labels[output] = OUTPUT_NAME
        assigned = {name: ref[0] for name, ref in self.assigned.items()}
        return Graph(
            self.codes,
            self.first,
            self.second,
            self.more,
            self.starts,
            self.ends,
            self.consts,
            labels,
            output,
            self.variables,
            self.source,
            assigned,
        )

    def _where(self, offset: int) -> str:
        line = self.source.count("\n", 0, offset) + 1
        column = offset - self.source.rfind("\n", 0, offset)
        return f"line {line}, column {column}"


def _span(token: Token) -> tuple[int, int]:
    assert token.start_pos is not None and token.end_pos is not None
    return token.start_pos, token.end_pos


_lock = threading.Lock()
_builder = _Builder()
_lark: Lark | None = None


def _parser() -> Lark:
    global _lark
    if _lark is None:
        _lark = Lark(
            grammar_text(),
            parser="lalr",
            lexer="contextual",
            transformer=_builder,
            postlex=_NewlinesInParens(),
            maybe_placeholders=False,
            cache=True,
        )
    return _lark


def parse(text: str) -> Graph:
    """Parse a bpcli program into its computational graph.

    Raises ParseError for bad syntax, BindError for misused names, DomainError
    for a number literal too large for a float.
    """
    if not isinstance(text, str):
        raise ParseError(f"the expression must be text, not {type(text).__name__}")
    if not _has_statement(text):
        raise ParseError("the expression is empty")
    with _lock:
        parser = _parser()
        _builder.reset(text)
        try:
            graph = parser.parse(text)
        except UnexpectedInput as exc:
            raise _syntax_error(exc, text) from None
        finally:
            _builder.reset("")
    assert isinstance(graph, Graph)
    return graph


_BLANK = re.compile(r"(\s|;|#[^\n]*)*")


def _has_statement(text: str) -> bool:
    return _BLANK.fullmatch(text) is None


# ---- syntax errors in words a student understands ---------------------------

_WHAT = {
    "NUMBER": "a number",
    "NAME": "a name",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "POW": "'**' or '^'",
    "EQUAL": "'='",
    "_SEP": "';' or a new line",
    "$END": "the end",
}
_OPERAND_START = {"NUMBER", "NAME", "LPAR"}
_OPERAND_END = re.compile(r"[\w.)]$")


_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH", "POW"}


def _describe(kind: str) -> str:
    return _WHAT.get(kind, kind)


def _syntax_error(exc: UnexpectedInput, text: str) -> ParseError:
    if isinstance(exc, UnexpectedCharacters):
        pos = exc.pos_in_stream or 0
        char = text[pos] if pos < len(text) else ""
        return ParseError(f"unexpected character {char!r}", span=(pos, pos + 1), source=text)
    if isinstance(exc, (UnexpectedToken, UnexpectedEOF)):
        token = exc.token
        expected = sorted(exc.expected) if exc.expected else []
        if token.type == "$END":
            end = len(text.rstrip())
            wanted = _wanted(expected)
            return ParseError(
                f"the expression ends too early: expected {wanted}", span=(end, end), source=text
            )
        start, end = _span(token)
        if token.type == "_SEP" and token != ";":
            return ParseError(
                f"the line ends too early: expected {_wanted(expected)}",
                span=(start, start + 1),
                source=text,
            )
        before = text[:start].rstrip()
        if token.type in _OPERAND_START and _OPERAND_END.search(before):
            left = re.search(r"([\w.]+|\))$", before)
            left_text = left.group(0) if left else before[-1:]
            left_text = "(…)" if left_text == ")" else left_text
            right_text = "(…)" if token.type == "LPAR" else str(token)
            return ParseError(
                f"missing operator before {str(token)!r}: bpcli has no implicit multiplication;"
                f" write {left_text}*{right_text}",
                span=(start, end),
                source=text,
            )
        if token.type == "RPAR" and "RPAR" not in expected and not set(expected) >= _OPERAND_START:
            return ParseError(
                "unmatched ')': there is no '(' to close", span=(start, end), source=text
            )
        if token.type == "EQUAL":
            return ParseError(
                "'=' can only follow a name at the start of a statement, as in q = x + y",
                span=(start, end),
                source=text,
            )
        return ParseError(
            f"unexpected {str(token)!r}: expected {_wanted(expected)}",
            span=(start, end),
            source=text,
        )
    return ParseError(str(exc), source=text)  # pragma: no cover - Lark has no other kinds


def _wanted(expected: list[str]) -> str:
    kinds = set(expected)
    if kinds >= _OPERAND_START:
        return "a number, a name or '('"
    words = []
    if kinds >= _OPERATORS:
        words.append("an operator")
        kinds -= _OPERATORS | {"EQUAL", "LPAR"}
    words += [_describe(kind) for kind in sorted(kinds)]
    if len(words) <= 1:
        return "".join(words) or "something else"
    return ", ".join(words[:-1]) + " or " + words[-1]
