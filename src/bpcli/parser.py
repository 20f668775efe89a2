"""Text to graph: an LALR(1) parser that builds the graph while it parses.

The language is grammar/expr.lark. Lark computes its LALR tables ahead of time
(`bpcli.tables` writes them to `_tables.py`); the driver below runs them: a
lexer from the grammar's terminals, a shift/reduce loop, and for each rule the
builder's method of the same name (the grammar's alias), shaping children as
Lark would. No parse tree is kept and nothing recurses, however deep the
nesting, and a run of bpcli need not import Lark at all. What this module adds
to the grammar (a new line inside parentheses, the words of syntax errors) is
listed at the top of grammar/expr.lark.
"""

from __future__ import annotations

import math
import re
from array import array
from collections.abc import Callable, Collection, Iterator
from typing import Any, NoReturn

from . import _tables
from .errors import BindError, DomainError, InputError, ParseError
from .graph import NO_INPUT, Graph
from .ops import CODES, FUNCTIONS, OPS
from .syntax import NAMED_CONSTANTS, superscript

# An operand while parsing: (node id, start, end). The span can be wider than
# the node's own, e.g. with the parentheses around it.
Ref = tuple[int, int, int]

OUTPUT_NAME = "f"  # the lecture's name for the output, used when it is free
# Twice the 1,000,000-node benchmark. An answer costs about 2 KB of memory a node
# (README, "Large expressions"), so the default needs at most about 4 GB, which an
# 8 GB laptop can give.
MAX_NODES = 2_000_000
CONST = CODES["const"]


class Token:
    """A terminal of the grammar as the lexer found it."""

    __slots__ = ("end_pos", "start_pos", "type", "value")

    def __init__(self, kind: str, value: str, start: int, end: int) -> None:
        self.type = kind
        self.value = value
        self.start_pos = start
        self.end_pos = end

    def __repr__(self) -> str:
        return f"Token({self.type!r}, {self.value!r})"


class _Builder:
    """The parser's callbacks, one per grammar alias, each adding at most one node."""

    def __init__(
        self, source: str, max_nodes: int = MAX_NODES, inputs: Collection[str] = ()
    ) -> None:
        self.source = source
        self.max_nodes = max_nodes
        self.inputs = inputs  # named constants (pi, e) that are inputs here
        self.constants: dict[str, int] = {}  # each named constant used, as its node
        self.codes: list[int] = []
        self.first: list[int] = []
        self.second: list[int] = []
        self.more: dict[int, tuple[int, ...]] = {}
        self.starts: array[int] = array("q")
        self.ends: array[int] = array("q")
        self.consts: array[float] = array("d")
        self.fixed = bytearray()  # see Graph: 1 for a node that depends on no input
        self.labels: dict[int, str] = {}
        self.variables: dict[str, int] = {}
        self.assigned: dict[str, Ref] = {}

    def _node(
        self, op: str, inputs: tuple[int, ...], start: int, end: int, value: float = 0.0
    ) -> Ref:
        node_id = len(self.codes)
        if node_id >= self.max_nodes:
            self._too_many(start)
        self.codes.append(CODES[op])
        self.first.append(inputs[0] if inputs else NO_INPUT)
        self.second.append(inputs[1] if len(inputs) > 1 else NO_INPUT)
        if len(inputs) > 2:
            self.more[node_id] = inputs
        fixed = self.fixed
        if len(inputs) == 1:
            fixed.append(fixed[inputs[0]])
        elif inputs:
            fixed.append(all(fixed[j] for j in inputs))
        else:
            fixed.append(op != "var")  # a constant is fixed, an input is not
        self.starts.append(start)
        self.ends.append(end)
        self.consts.append(value)
        return node_id, start, end

    def _too_many(self, at: int) -> NoReturn:
        raise InputError(
            f"the expression has more than {self.max_nodes:,} nodes, the limit"
            " (bpcli.parse's max_nodes; the command line's --max-nodes)",
            span=(at, at + 1),
            source=self.source,
        )

    def _binary(self, op: str, children: list[Ref]) -> Ref:
        left, right = children
        node_id = len(self.codes)
        if node_id >= self.max_nodes:
            self._too_many(left[1])
        self.codes.append(CODES[op])
        self.first.append(left[0])
        self.second.append(right[0])
        self.fixed.append(self.fixed[left[0]] & self.fixed[right[0]])
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

    def matmul(self, children: list[Ref]) -> Ref:
        return self._binary("matmul", children)

    def index(self, children: list[Ref | Token]) -> Ref:
        operand, _, index, rsqb = children
        assert isinstance(operand, tuple) and isinstance(index, tuple)
        assert isinstance(rsqb, Token) and rsqb.end_pos is not None
        return self._node("index", (operand[0], index[0]), operand[1], rsqb.end_pos)

    def transpose(self, children: list[Ref | Token]) -> Ref:
        operand, dot_t = children
        assert isinstance(operand, tuple) and isinstance(dot_t, Token)
        assert dot_t.end_pos is not None
        return self._node("transpose", (operand[0],), operand[1], dot_t.end_pos)

    def pow(self, children: list[Ref | Token]) -> Ref:
        base, *_, last = children
        if isinstance(last, Token):  # x²: the superscript is the exponent, a constant
            last = self._node("const", (), *_span(last), superscript(last.value))
        exponent = last
        assert isinstance(base, tuple)
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
        value = float(token.value)
        if not math.isfinite(value):
            raise DomainError(
                f"the number {token.value} is too large for a float",
                span=(start, end),
                source=self.source,
            )
        return self._node("const", (), start, end, value)

    def var(self, children: list[Token]) -> Ref:
        (token,) = children
        name = token.value
        start, end = _span(token)
        if name in self.assigned:
            return self.assigned[name][0], start, end
        if name in FUNCTIONS:
            raise BindError(
                f"{name} is a function: call it as {name}(…)", span=(start, end), source=self.source
            )
        if name not in self.variables:
            if name in NAMED_CONSTANTS and name not in self.inputs:
                return self._constant(name, start, end)
            node_id, _, _ = self._node("var", (), start, end)
            self.labels[node_id] = name
            self.variables[name] = node_id
        return self.variables[name], start, end

    def _constant(self, name: str, start: int, end: int) -> Ref:
        """`pi` or `e`: one constant node, however often it is used, labelled by its name."""
        if name not in self.constants:
            node_id, _, _ = self._node("const", (), start, end, NAMED_CONSTANTS[name])
            self.labels[node_id] = name
            self.constants[name] = node_id
        return self.constants[name], start, end

    def call(self, children: list[Token | Ref]) -> Ref:
        name_token, _lpar, *rest = children
        assert isinstance(name_token, Token)
        rpar = rest.pop()
        assert isinstance(rpar, Token) and rpar.end_pos is not None
        args = [child for child in rest if isinstance(child, tuple)]
        name = name_token.value
        start, name_end = _span(name_token)
        span = (start, rpar.end_pos)
        op = OPS.get(name)
        if name in _SAME_AS and name not in FUNCTIONS:
            raise ParseError(
                f"unknown function {name!r}: did you mean {_SAME_AS[name][0]}?"
                f" ({_SAME_AS[name][1]})",
                span=(start, name_end),
                source=self.source,
            )
        if op is None or not op.function:
            raise ParseError(
                f"unknown function {name!r}; the functions are {', '.join(FUNCTIONS)}"
                f" (to multiply, write {name}*(…))",
                span=(start, name_end),
                source=self.source,
            )
        if op.arity is not None and not op.arity <= len(args) <= op.arity + op.optional:
            wanted = "1 argument" if op.arity == 1 else f"{op.arity} arguments"
            if op.optional:
                wanted = f"{op.arity} to {op.arity + op.optional} arguments"
            raise ParseError(
                f"{name} takes {wanted}, got {len(args)}", span=span, source=self.source
            )
        return self._node(name, tuple(arg[0] for arg in args), *span)

    def assign(self, children: list[Token | Ref]) -> Ref:
        name_token, expr = children
        assert isinstance(name_token, Token) and isinstance(expr, tuple)
        name = name_token.value
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
        used = self.constants.get(name, self.variables.get(name))
        if used is not None:
            kind = f"the constant {name}" if name in self.constants else "an input"
            raise BindError(
                f"{name} is assigned here but was already used as {kind}"
                f" (at {self._where(self.starts[used])}); assign a name before using it",
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
            self.fixed,
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


def named_constants(graph: Graph) -> dict[str, int]:
    """The named constants (pi, e) the graph reads as constants, each with its node."""
    return {
        label: node_id
        for node_id, label in graph.labels.items()
        if label in NAMED_CONSTANTS and label not in graph.assigned and graph.op(node_id) == "const"
    }


def _span(token: Token) -> tuple[int, int]:
    return token.start_pos, token.end_pos


def parse(text: str, max_nodes: int = MAX_NODES, inputs: Collection[str] = ()) -> Graph:
    """Parse a bpcli program into its computational graph.

    `pi` and `e` are constants unless named in `inputs` (the names given values):
    then they are inputs like any other name.

    Raises ParseError for bad syntax, BindError for misused names, DomainError
    for a number literal too large for a float, InputError past `max_nodes`
    nodes (a bound on memory: an answer takes about 2 KB a node).
    """
    if not isinstance(text, str):
        raise ParseError(f"the expression must be text, not {type(text).__name__}")
    if not _has_statement(text):
        raise ParseError("the expression is empty")
    graph = _run(text, _Builder(text, max_nodes, inputs))
    assert isinstance(graph, Graph)
    return graph


# ---- the driver: the grammar's lexer and LALR(1) tables, run ------------------------------

_LEXER = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _tables.TERMINALS))
_IGNORE = frozenset(_tables.IGNORE)
SHIFT = 0


class _Unexpected(Exception):
    def __init__(self, token: Token, expected: list[str]) -> None:
        self.token = token
        self.expected = expected


def _tokens(text: str) -> Iterator[Token]:
    """The text's tokens; a new line inside parentheses continues the line, as in Python."""
    match = _LEXER.match
    depth = 0
    pos = 0
    while pos < len(text):
        found = match(text, pos)
        if found is None:
            raise _unexpected_character(text, pos)
        kind = found.lastgroup
        end = found.end()
        assert kind is not None and end > pos
        if kind not in _IGNORE:
            value = found.group()
            if kind == "LPAR":
                depth += 1
            elif kind == "RPAR":
                depth -= 1
            elif kind == "_SEP" and depth > 0 and value != ";":
                pos = end
                continue
            yield Token(kind, value, pos, end)
        pos = end
    yield Token("$END", "", pos, pos)


def _plans() -> list[
    tuple[str, int, str, str, tuple[int, ...] | None, tuple[tuple[int, bool], ...]]
]:
    """Each rule with its kept children as plain indices when none is spliced (the fast case)."""
    plans = []
    for origin, size, how, callback, kept in _tables.RULES:
        spliced = any(splice for _, splice in kept)
        plain = None if spliced else tuple(i for i, _ in kept)
        plans.append((origin, size, how, callback, plain, kept))
    return plans


_PLANS = _plans()


def _run(text: str, builder: _Builder) -> Any:
    """Shift and reduce the tokens through the tables, calling the builder's methods."""
    states = _tables.STATES
    plans = _PLANS
    methods: dict[str, Callable[[list[Any]], Any]] = {
        callback: getattr(builder, callback) for _, _, how, callback, _, _ in plans if how == "call"
    }
    end_state = _tables.END
    state_stack = [_tables.START]
    value_stack: list[Any] = []
    try:
        for token in _tokens(text):
            kind = token.type
            while True:
                actions = states[state_stack[-1]]
                if kind not in actions:
                    raise _Unexpected(token, sorted(s for s in actions if s.isupper()))
                action, arg = actions[kind]
                if action == SHIFT:
                    state_stack.append(arg)
                    value_stack.append(token)
                    break
                origin, size, how, callback, plain, kept = plans[arg]
                children = value_stack[-size:] if size else []
                if size:
                    del value_stack[-size:]
                    del state_stack[-size:]
                if plain is None:
                    # A spliced child is a list made by a rule of its own and held by
                    # nobody else: the first one is extended in place, so that a long
                    # left-recursive repetition (statement after statement) stays linear.
                    args: list[Any] = []
                    for n, (i, splice) in enumerate(kept):
                        if splice and n == 0:
                            args = children[i]
                        elif splice:
                            args.extend(children[i])
                        else:
                            args.append(children[i])
                elif len(plain) == size:
                    args = children
                else:
                    args = [children[i] for i in plain]
                if how == "call":
                    value = methods[callback](args)
                elif how == "pass":
                    value = args[0]
                else:  # spliced into the parent
                    value = args
                goto = states[state_stack[-1]][origin][1]
                state_stack.append(goto)
                value_stack.append(value)
                if kind == "$END" and goto == end_state:
                    return value
    except _Unexpected as exc:
        raise _syntax_error(exc.token, exc.expected, text) from None
    raise AssertionError("the tables never accept")  # pragma: no cover


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
    "SUPERSCRIPT": "a superscript power such as ²",
    "MINUS_SIGN": "'−'",
    "TIMES": "'×'",
    "MIDDLE_DOT": "'·'",
    "DOT_OPERATOR": "'⋅'",
    "DIVIDE": "'÷'",
    "AT": "'@'",
    "LSQB": "'['",
    "RSQB": "']'",
    "DOT_T": "'.T'",
    "EQUAL": "'='",
    "_SEP": "';' or a new line",
    "$END": "the end",
}
_OPERAND_START = {"NUMBER", "NAME", "LPAR"}
_OPERAND_END = re.compile(r"[\w.)]$")


_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH", "POW", "AT"}
_OPERATORS |= {"SUPERSCRIPT", "MINUS_SIGN", "TIMES", "MIDDLE_DOT", "DOT_OPERATOR", "DIVIDE"}
# What a student may know from elsewhere, and bpcli writes otherwise.
_SAME_AS = {"ln": ("log", "log is the natural logarithm")}


def _unexpected_character(text: str, pos: int) -> ParseError:
    """A character that is no part of the language, with the rewrite where there is one."""
    char = text[pos]
    message = f"unexpected character {char!r}"
    if char == "|":  # |x|, as written on paper
        close = text.find("|", pos + 1)
        inner = text[pos + 1 : close].strip() if close != -1 else ""
        shown = inner if inner and "\n" not in inner and len(inner) <= 40 else "…"
        message += f": for an absolute value use abs({shown})"
    return ParseError(message, span=(pos, pos + 1), source=text)


def _describe(kind: str) -> str:
    return _WHAT.get(kind, kind)


def _syntax_error(token: Token, expected: list[str], text: str) -> ParseError:
    if token.type == "$END":
        end = len(text.rstrip())
        wanted = _wanted(expected)
        return ParseError(
            f"the expression ends too early: expected {wanted}", span=(end, end), source=text
        )
    start, end = _span(token)
    if token.type == "_SEP" and token.value != ";":
        return ParseError(
            f"the line ends too early: expected {_wanted(expected)}",
            span=(start, start + 1),
            source=text,
        )
    before = text[:start].rstrip()
    if token.type == "SUPERSCRIPT":
        return ParseError(
            f"unexpected {token.value!r}: a superscript is a power of the name, number or"
            " (…) right before it, as in x²",
            span=(start, end),
            source=text,
        )
    if token.type in _OPERAND_START and _OPERAND_END.search(before):
        left = re.search(r"([\w.]+|\))$", before)
        left_text = left.group(0) if left else before[-1:]
        left_text = "(…)" if left_text == ")" else left_text
        right_text = "(…)" if token.type == "LPAR" else token.value
        return ParseError(
            f"missing operator before {token.value!r}: bpcli has no implicit multiplication;"
            f" write {left_text}*{right_text}",
            span=(start, end),
            source=text,
        )
    if token.type == "RPAR" and "RPAR" not in expected and not set(expected) >= _OPERAND_START:
        return ParseError("unmatched ')': there is no '(' to close", span=(start, end), source=text)
    if token.type == "EQUAL":
        return ParseError(
            "'=' can only follow a name at the start of a statement, as in q = x + y",
            span=(start, end),
            source=text,
        )
    return ParseError(
        f"unexpected {token.value!r}: expected {_wanted(expected)}",
        span=(start, end),
        source=text,
    )


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
