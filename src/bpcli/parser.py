"""Text to graph: an LALR(1) parser that builds the graph while it parses.

The language is grammar/expr.lark. Lark computes its LALR tables ahead of time
(`bpcli.tables` writes them to `_tables.py`, with the unit reductions collapsed
and the lexer as one regular expression made from the grammar's terminals); the
driver below runs them: that lexer, a shift/reduce loop on small integers, and
for each rule the builder's method of the same name (the grammar's alias), given
its children as Lark would shape them. No parse tree is kept and nothing
recurses, however deep the nesting, and a run of bpcli need not import Lark. What this module adds
to the grammar (a new line inside parentheses, the words of syntax errors) is
listed at the top of grammar/expr.lark.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Callable, Collection
from re import Match
from typing import Any, NoReturn

from . import _tables
from .errors import BindError, DomainError, InputError, ParseError
from .graph import NO_INPUT, Graph
from .i18n import N_, tr, tr_n
from .ops import CODES, FUNCTIONS, OPS
from .process import collector_paused
from .syntax import NAMED_CONSTANTS, SIGNED_NUMBER, composed, superscript

# An operand while parsing: (node id, start, end). The span can be wider than
# the node's own, e.g. with the parentheses around it.
Ref = tuple[int, int, int]

OUTPUT_NAME = "f"  # the lecture's name for the output, used when it is free
# Twice the 1,000,000-node benchmark. An answer costs about 2 KB of memory a node
# (README, "Large expressions"), so the default needs at most about 4 GB, which an
# 8 GB laptop can give.
MAX_NODES = 2_000_000
CONST = CODES["const"]
NUMBERS_KEPT = 4096
ROOM = 64  # the nodes the builder's array columns have room for at first
ROOM_STEP = 16384  # … and the most they are given at a time
_ZEROS = memoryview(bytes(8 * ROOM_STEP))
STACK_ROOM = 64  # … and the parser's stacks


class Token:
    """A terminal of the grammar, as a syntax error tells of it (while parsing, a token
    is the lexer's `re.Match`)."""

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
        self.more: dict[int, tuple[int, ...]] = {}
        # The array columns are written through memoryviews, into room made ahead
        # (`_make_room`): an array's append converts its number twice, by the
        # general-purpose argument parser, a memoryview's store once and directly; it
        # was 7 % of a parse. start() cuts the columns to the nodes made. The input ids
        # are arrays too, not lists: a list's would hold a million int objects, made
        # among the parse's own and scattered through memory, which the passes then
        # chase in the graph's order (the 10^6-node DAG's backward pass read them in
        # 468 ms, and the same ids from arrays in 307 ms).
        self.first: array[int] = array("q")
        self.second: array[int] = array("q")
        self.starts: array[int] = array("q")
        self.ends: array[int] = array("q")
        self.consts: array[float] = array("d")  # 0 where nothing is written
        self.views: tuple[memoryview, ...] = ()  # made with the first room
        # … and before it, empty but writable: a store past their end fails as the room does
        self.starts_view = self.ends_view = memoryview(bytearray())
        self.first_view = self.second_view = self.starts_view
        self.consts_view: Any = self.starts_view  # typeshed's items are ints
        self.room = 0  # the nodes the array columns have room for
        # See Graph: 1 for a node that depends on no input. A list while parsing (its
        # subscripts are CPython's fast ones, a bytearray's are not), made one by start().
        self.fixed: list[int] = []
        self.constant_ids: list[int] = []  # See Graph
        self.labels: dict[int, str] = {}
        self.variables: dict[str, int] = {}
        self.assigned: dict[str, Ref] = {}
        self.numbers: dict[str, float] = {}  # each number's text, read once (see const)

    def _node(
        self, op: str, inputs: tuple[int, ...], start: int, end: int, value: float = 0.0
    ) -> Ref:
        node_id = len(self.codes)
        if node_id >= self.room:
            self._make_room(start)
        self.codes.append(CODES[op])
        self.first_view[node_id] = inputs[0] if inputs else NO_INPUT
        self.second_view[node_id] = inputs[1] if len(inputs) > 1 else NO_INPUT
        if len(inputs) > 2:
            self.more[node_id] = inputs
        fixed = self.fixed
        if len(inputs) == 1:
            fixed.append(fixed[inputs[0]])
        elif inputs:
            fixed.append(int(all(fixed[j] for j in inputs)))
        else:
            fixed.append(int(op != "var"))  # a constant is fixed, an input is not
            if op == "const":
                self.constant_ids.append(node_id)
        self.starts_view[node_id] = start
        self.ends_view[node_id] = end
        self.consts_view[node_id] = value
        return node_id, start, end

    def _make_room(self, at: int) -> None:
        """Room in the array columns for as many nodes again as there are, at most
        ROOM_STEP more (up to max_nodes), or the error past max_nodes. The zeros come
        from one buffer made at import: a new one of megabytes each time, freed at
        once, had the C allocator keep more of the process's memory on every parse."""
        count = len(self.codes)
        if count >= self.max_nodes:
            self._too_many(at)
        more = min(max(count, ROOM), ROOM_STEP, self.max_nodes - count)
        zeros = _ZEROS[: 8 * more]
        for view in self.views:
            view.release()
        columns = self.first, self.second, self.starts, self.ends, self.consts
        for column in columns:
            column.frombytes(zeros)
        self.views = tuple(memoryview(column) for column in columns)
        self.first_view, self.second_view, self.starts_view, self.ends_view = self.views[:4]
        self.consts_view = self.views[4]
        self.room = count + more

    def _too_many(self, at: int) -> NoReturn:
        raise InputError(
            tr(
                "the expression has more than {max_nodes:,} nodes, the limit (bpcli.parse's "
                "max_nodes; the command line's --max-nodes)"
            ).format(max_nodes=self.max_nodes),
            span=(at, at + 1),
            source=self.source,
        )

    def _binary(op: str) -> Callable[[_Builder, Ref, Ref], Ref]:  # type: ignore[misc]
        """The method for a binary operator: the hot path of the parse, so written out."""
        code = CODES[op]

        def method(self: _Builder, left: Ref, right: Ref) -> Ref:
            a, start, _ = left
            b, _, end = right
            node_id = len(self.codes)
            try:  # the first store, past the room made, fails: then room is made
                self.starts_view[node_id] = start
            except IndexError:
                self._make_room(start)
                self.starts_view[node_id] = start
            self.ends_view[node_id] = end
            self.first_view[node_id] = a
            self.second_view[node_id] = b
            self.codes.append(code)
            fixed = self.fixed
            fixed.append(fixed[a] & fixed[b])
            return node_id, start, end

        method.__name__ = op
        return method

    add = _binary("add")
    sub = _binary("sub")
    mul = _binary("mul")
    div = _binary("div")

    matmul = _binary("matmul")

    def index(self, operand: Ref, _lsqb: Match[str], index: Ref, rsqb: Match[str]) -> Ref:
        return self._node("index", (operand[0], index[0]), operand[1], rsqb.end())

    def transpose(self, operand: Ref, dot_t: Match[str]) -> Ref:
        return self._node("transpose", (operand[0],), operand[1], dot_t.end())

    def pow(self, base: Ref, *rest: Ref | Match[str]) -> Ref:
        exponent = rest[-1]
        if not isinstance(exponent, tuple):  # x²: the superscript is the exponent, a constant
            exponent = self._node("const", (), *exponent.span(), superscript(exponent[0]))
        return self._node("pow", (base[0], exponent[0]), base[1], exponent[2])

    def neg(self, minus: Match[str], operand: Ref) -> Ref:
        node_id, _, end = operand
        start = minus.start()
        # -4 is one constant, not neg(4): an unnamed constant just made, where folding
        # the sign changes nothing else. (Tested in an `if`, each comparison is
        # CPython's fast one for ints.)
        codes = self.codes
        if codes[node_id] == CONST and node_id == len(codes) - 1 and node_id not in self.labels:
            self.consts_view[node_id] = -self.consts_view[node_id]
            self.starts_view[node_id] = start
            return node_id, start, end
        return self._node("neg", (node_id,), start, end)

    def pos(self, plus: Match[str], operand: Ref) -> Ref:
        return operand[0], plus.start(), operand[2]

    def paren(self, lpar: Match[str], inner: Ref, rpar: Match[str]) -> Ref:
        return inner[0], lpar.start(), rpar.end()

    def const(self, token: Match[str]) -> Ref:
        # Programs repeat their numbers (0.5, 2, a learning rate): reading one is the
        # dearest step of a constant, so the first few thousand are kept.
        value = self.numbers.get(token[0])
        if value is None:
            value = self._number(token)
        start, end = token.span()
        node_id = len(self.codes)
        try:
            self.starts_view[node_id] = start
        except IndexError:
            self._make_room(start)
            self.starts_view[node_id] = start
        self.ends_view[node_id] = end
        self.consts_view[node_id] = value
        self.first_view[node_id] = NO_INPUT
        self.second_view[node_id] = NO_INPUT
        self.codes.append(CONST)
        self.fixed.append(1)
        self.constant_ids.append(node_id)
        return node_id, start, end

    def _number(self, token: Match[str]) -> float:
        """A number's value, read from its text (and kept, while few are)."""
        text = token[0]
        value = float(text)
        if value - value:  # inf
            raise DomainError(
                tr("the number {group} is too large for a float").format(group=text),
                span=token.span(),
                source=self.source,
            )
        if len(self.numbers) < NUMBERS_KEPT:
            self.numbers[text] = value
        return value

    def var(self, token: Match[str]) -> Ref:
        name = token.group()
        start, end = token.span()
        if name in self.assigned:
            return self.assigned[name][0], start, end
        if name in FUNCTIONS:
            raise BindError(
                tr("{name} is a function: call it as {name}(…)").format(name=name),
                span=(start, end),
                source=self.source,
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

    def call(self, name_token: Match[str], _lpar: Match[str], *rest: Ref | Match[str]) -> Ref:
        rpar = rest[-1]
        assert not isinstance(rpar, tuple)
        args = [child for child in rest[:-1] if isinstance(child, tuple)]
        name = name_token.group()
        start, name_end = name_token.span()
        span = (start, rpar.end())
        op = OPS.get(name)
        if name in _SAME_AS and name not in FUNCTIONS:
            raise ParseError(
                tr("unknown function {name!r}: did you mean {instead}? ({note})").format(
                    name=name, instead=_SAME_AS[name][0], note=tr(_SAME_AS[name][1])
                ),
                span=(start, name_end),
                source=self.source,
            )
        if op is None or not op.function:
            raise ParseError(
                tr(
                    "unknown function {name!r}; the functions are {items} (to multiply, "
                    "write {name}*(…))"
                ).format(name=name, items=", ".join(FUNCTIONS)),
                span=(start, name_end),
                source=self.source,
            )
        if op.arity is not None and not op.arity <= len(args) <= op.arity + op.optional:
            wanted = tr_n("{count} argument", "{count} arguments", op.arity).format(count=op.arity)
            if op.optional:
                wanted = tr("{least} to {most} arguments").format(
                    least=op.arity, most=op.arity + op.optional
                )
            raise ParseError(
                tr("{name} takes {wanted}, got {count}").format(
                    name=name, wanted=wanted, count=len(args)
                ),
                span=span,
                source=self.source,
            )
        return self._node(name, tuple(arg[0] for arg in args), *span)

    def assign(self, name_token: Match[str], expr: Ref) -> Ref:
        name = name_token.group()
        span = name_token.span()
        if name in FUNCTIONS:
            raise BindError(
                tr("{name} is a function and cannot be assigned").format(name=name),
                span=span,
                source=self.source,
            )
        if name in self.assigned:
            raise BindError(
                tr("{name} is assigned twice (first at {where})").format(
                    name=name, where=self._where(self.assigned[name][1])
                ),
                span=span,
                source=self.source,
            )
        used = self.constants.get(name, self.variables.get(name))
        if used is not None:
            kind = (
                tr("the constant {name}").format(name=name)
                if name in self.constants
                else tr("an input")
            )
            raise BindError(
                tr(
                    "{name} is assigned here but was already used as {kind} (at {where}); "
                    "assign a name before using it"
                ).format(name=name, kind=kind, where=self._where(self.starts[used])),
                span=span,
                source=self.source,
            )
        node_id = expr[0]
        if node_id not in self.labels:
            self.labels[node_id] = name
        # else: `b = a` gives a second name to a named node; `a` stays its label
        self.assigned[name] = (node_id, span[0], span[1])
        return expr

    def start(self, *statements: Ref) -> Graph:
        output = statements[-1][0]
        labels = self.labels
        free = OUTPUT_NAME not in self.assigned and OUTPUT_NAME not in labels.values()
        if output not in labels and free:
            labels[output] = OUTPUT_NAME
        assigned = {name: ref[0] for name, ref in self.assigned.items()}
        count = len(self.codes)
        for view in self.views:
            view.release()
        del self.first[count:], self.second[count:]
        del self.starts[count:], self.ends[count:], self.consts[count:]
        return Graph(
            self.codes,
            self.first,
            self.second,
            self.more,
            self.starts,
            self.ends,
            self.consts,
            bytearray(self.fixed),
            labels,
            output,
            self.variables,
            self.source,
            assigned,
            self.constant_ids,
        )

    def _where(self, offset: int) -> str:
        line = self.source.count("\n", 0, offset) + 1
        column = offset - self.source.rfind("\n", 0, offset)
        return tr("line {line}, column {column}").format(line=line, column=column)


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
        raise ParseError(
            tr("the expression must be text, not {name}").format(name=type(text).__name__)
        )
    if not _has_statement(text):
        raise ParseError(tr("the expression is empty"))
    text = composed(text)
    with collector_paused():
        graph = _run(text, _Builder(text, max_nodes, inputs))
    assert isinstance(graph, Graph)
    return graph


# ---- the driver: the grammar's lexer and LALR(1) tables, run ------------------------------
#
# Both run on small integers, made here at import from the tables' names: a lookahead is
# the number of the lexer's group that marks it, a match's `lastindex`; an action is a
# state to shift to (below _SHIFTS, the number of states), or _SHIFTS + rule, where the
# rules past the grammar's are the driver's own: accept, and fail; or, past those, one
# the lexer takes itself. (All are non-negative: a list indexed by a negative number
# runs CPython's generic subscript, not its fast one.)

# The lexer is one regular expression, made from the grammar's terminals by
# tables.master_pattern: an alternative per terminal, marked by an empty group of its
# name; then one character no terminal matches, then the end of the text (unnamed).
_LEXER = re.compile(_tables.LEXER)
_IGNORE = frozenset(_tables.IGNORE)
_T = {name: group for name, group in _LEXER.groupindex.items() if name not in _IGNORE}
_T["$END"] = _END_T = _LEXER.groups
_SEP = _T["_SEP"]
# The lexer's own actions: an ignored terminal (white space, a comment), a character
# no terminal matches, and, in a text with new lines, a separator (a new line or ";"),
# which ends a statement unless it is a new line inside parentheses.
_SHIFTS = len(_tables.STATES)
_SPECIAL = _SHIFTS + len(_tables.RULES) + 2
_SKIP, _JUNK, _NEW_LINE = range(_SPECIAL, _SPECIAL + 3)

# How a rule's reduction builds its value (see tables._reduction), commonest first: the
# builder's method on its one child (a number, a name), on the first and last of three
# (a binary operator, an assignment), on both of two (a sign), on all of three
# (parentheses), on all its children, or on some of them; then the rare ones: on
# children some of which are lists to splice; a `?rule`'s one child; a list spliced
# into the parent. And the driver's own two: accept, and fail.
_ONE, _OUTER, _PAIR, _TRIPLE, _ALL, _SOME, _SPLICED, _PASS, _LIST, _ACCEPT, _FAIL = range(11)
_NONTERMINALS = sorted({origin for origin, *_ in _tables.RULES})
_N = {name: n for n, name in enumerate(_NONTERMINALS)}


def _actions() -> list[list[int]]:
    """Each state's action by lookahead; a missing one fails, the end state accepts.
    Every group that marks no lookahead is the lexer's: an ignored terminal's, the
    unmatched character's (a group inside a terminal never closes last)."""
    accept, fail = _SHIFTS + len(_tables.RULES), _SHIFTS + len(_tables.RULES) + 1
    ignored = {_LEXER.groupindex[name] for name in _IGNORE}
    rows = []
    for s, actions in enumerate(_tables.STATES):
        row = [_SKIP if group in ignored else fail for group in range(_LEXER.groups + 1)]
        row[_END_T - 1] = _JUNK
        for symbol, (action, arg) in actions.items():
            if symbol in _T:
                row[_T[symbol]] = arg if action == 0 else _SHIFTS + arg
        if s == _tables.END:
            row[_END_T] = accept
        rows.append(row)
    return rows


def _with_new_lines(rows: list[list[int]]) -> list[list[int]]:
    """The rows for a text with new lines: there the lexer looks at each separator, to
    drop a new line inside parentheses. A text without one spares that on every `;`."""
    lines = [row[:] for row in rows]
    for row in lines:
        row[_SEP] = _NEW_LINE
    return lines


def _landings(actions: list[list[int]]) -> list[list[list[tuple[int, int]] | None]]:
    """`[nonterminal][state][lookahead]`: where a reduction lands, past the unit rules
    the table generator collapsed (its `UNITS`), with the action there on that
    lookahead, so that a reduction looks up both at once."""
    landings: list[list[list[tuple[int, int]] | None]] = [
        [None] * len(_tables.STATES) for _ in _NONTERMINALS
    ]
    for s, state_actions in enumerate(_tables.STATES):
        units = _tables.UNITS.get(s, {})
        for symbol, (_, target) in state_actions.items():
            if symbol in _N:
                row = [target] * (_LEXER.groups + 1)
                for lookahead, landed in units.get(symbol, {}).items():
                    row[_T[lookahead]] = landed
                landings[_N[symbol]][s] = [
                    (landed, actions[landed][t]) for t, landed in enumerate(row)
                ]
    return landings


# (how, its landings, what it calls): what it calls is the builder's method for the
# commonest reductions (_ONE to _TRIPLE), else (size, the method or None, the kept children).
Plan = tuple[int, list[Any], Any]


def _plans(actions: list[list[int]]) -> list[tuple[int, list[Any], str, int, tuple[Any, ...]]]:
    """Each rule as (how, its landings, the builder's method, size, the kept children)."""
    landings = _landings(actions)
    plans: list[tuple[int, list[Any], str, int, tuple[Any, ...]]] = []
    for origin, size, how, callback, kept in _tables.RULES:
        picks = tuple(i for i, _ in kept)
        code = _LIST if how == "splice" else _PASS
        if how == "call" and (any(splice for _, splice in kept) or not size):
            code = _SPLICED
        elif how == "call" and picks == tuple(range(size)):
            code = {1: _ONE, 2: _PAIR, 3: _TRIPLE}.get(size, _ALL)
        elif how == "call":
            code = _OUTER if picks == (0, 2) and size == 3 else _SOME
        kept_now = kept if code >= _SPLICED else picks
        plans.append((code, landings[_N[origin]], callback, size, kept_now))
    plans.append((_ACCEPT, [], "", 0, ()))
    plans.append((_FAIL, [], "", 0, ()))
    return plans


_ACTIONS = _actions()
_NONES = (None,) * max(size for _, size, *_ in _tables.RULES)
_LINES = _with_new_lines(_ACTIONS)
_PLANS = _plans(_ACTIONS)


def _run(text: str, builder: _Builder) -> Any:
    """Shift and reduce the tokens through the tables, calling the builder's methods.

    The lexer runs inside the loop: a search with the master expression at a time (its
    last match is the empty one at the end of the text, the end token), a new line inside
    parentheses dropped. A token on the value stack is its `re.Match`. The stacks are
    lists with room made ahead (grown where a store past their end fails: a `try` costs
    nothing until then) and `top` their last entry, indexed from the front
    (CPython's fast list subscripts take no negative index) and never cut; `states[k]`
    is the state `values[k]` was shifted in, where a reduction to `values[k]` reads
    its goto, and the state now is `state`. So a reduction of one child moves nothing,
    and one of n children moves `top` n - 1 times (above 256, each a new int). A
    reduction leaves its value where its first child was, and None above it. The
    common reductions are inline; the rare ones (once a statement, once an argument
    list) go through `_reduce`. The plans are indexed by the action (the first
    _SHIFTS, for no rule, unused). Each test of an action is written so that its jump
    is short (a shift before the reductions, a break at the top of their loop): a
    comparison whose jump needs an EXTENDED_ARG is never specialized.
    """
    plans: list[Plan] = [(_FAIL, [], None)] * _SHIFTS
    for code, landings, callback, size, picks in _PLANS:
        method = getattr(builder, callback) if callback else None
        plans.append((code, landings, method if code <= _TRIPLE else (size, method, picks)))
    plain, rows = _ACTIONS, _LINES if "\n" in text else _ACTIONS
    shifts, special, skip, junk = _SHIFTS, _SPECIAL, _SKIP, _JUNK
    one, outer, pair, triple, every, some = _ONE, _OUTER, _PAIR, _TRIPLE, _ALL, _SOME
    accept = _ACCEPT
    state = _tables.START
    states: list[int] = [state] * STACK_ROOM  # entry 0 is below the first token
    values: list[Any] = [None] * STACK_ROOM
    top = 0
    depth = counted = 0  # the parentheses open at `counted`, the end of the last new line
    # The tokens one by one (what finditer runs, without its test of each for None: the
    # end token is the last one asked for).
    search: Callable[[], Match[str]] = _LEXER.scanner(text).search  # type: ignore[attr-defined]
    while True:
        match = search()
        t = match.lastindex
        action = rows[state][t]  # type: ignore[index]
        if action < shifts:
            top += 1
            try:
                states[top] = state
            except IndexError:  # the stacks are full (a try costs nothing until it fails)
                _more_room(states, values)
                states[top] = state
            values[top] = match
            state = action
            continue
        if action >= special:
            if action == skip:
                continue
            if action == junk:
                raise _unexpected_character(text, match.start())
            at, end = match.span()
            if text[at] != ";":
                depth += _opened(text, counted, at)
                counted = end
                if depth > 0:
                    continue  # a new line inside parentheses continues the line
            action = plain[state][t]  # type: ignore[index]
        while True:
            if action < shifts:
                break
            code, landings, method = plans[action]
            # What a reduction leaves above the top is let go (None), or deep nesting,
            # which unwinds the stack, would keep a few values of every level.
            if code == one:
                values[top] = method(values[top])
            elif code == outer:
                last = values[top]
                values[top] = None
                top -= 1
                values[top] = None
                top -= 1
                values[top] = method(values[top], last)
            elif code == pair:
                last = values[top]
                values[top] = None
                top -= 1
                values[top] = method(values[top], last)
            elif code == triple:
                last = values[top]
                values[top] = None
                top -= 1
                middle = values[top]
                values[top] = None
                top -= 1
                values[top] = method(values[top], middle, last)
            elif code == every:
                size = method[0]
                top -= size - 1
                children = values[top : top + size]
                values[top + 1 : top + size] = _NONES[: size - 1]
                values[top] = method[1](*children)
            elif code == some:
                size, method, picks = method
                top -= size - 1
                children = values[top : top + size]
                values[top + 1 : top + size] = _NONES[: size - 1]
                values[top] = method(*[children[i] for i in picks])
            elif code == accept:
                return values[top]
            else:
                if code == _FAIL:
                    raise _syntax_error(_token(match, text), _expected(state), text)
                size, method, picks = method
                if size:
                    top -= size - 1
                    children = values[top : top + size]
                    values[top + 1 : top + size] = _NONES[: size - 1]
                else:  # a rule of no children: its value is shifted in this state
                    top += 1
                    if top == len(states):
                        _more_room(states, values)
                    states[top] = state
                    children = []
                values[top] = _reduce(code, method, picks, children)
            state, action = landings[states[top]][t]
        top += 1
        try:
            states[top] = state
        except IndexError:
            _more_room(states, values)
            states[top] = state
        values[top] = match
        state = action


def _more_room(states: list[int], values: list[Any]) -> None:
    """The parser's stacks, made as long again."""
    room = len(values)
    states += [0] * room
    values += [None] * room


def _opened(text: str, start: int, end: int) -> int:
    """How many more parentheses open than close in text[start:end], a stretch the
    parser has read up to a new line: counted there, and not on every parenthesis,
    since a "(" or ")" outside a comment is always its own token, and a comment runs
    to the end of the line."""
    comment = text.find("#", start, end)
    if comment != -1:
        end = comment
    return text.count("(", start, end) - text.count(")", start, end)


def _reduce(
    code: int,
    method: Callable[..., Any] | None,
    kept: tuple[tuple[int, bool], ...],
    children: list[Any],
) -> Any:
    """A reduction off the fast path: its value, made from its children."""
    if code == _PASS:
        ((i, _),) = kept
        return children[i]
    args: list[Any] = []
    # A spliced child is a list made by a rule of its own and held by nobody else:
    # the first one is extended in place, so that a long left-recursive repetition
    # (statement after statement) stays linear.
    for n, (i, splice) in enumerate(kept):
        if splice and n == 0:
            args = children[i]
        elif splice:
            args.extend(children[i])
        else:
            args.append(children[i])
    if code == _LIST:
        return args
    assert method is not None
    return method(*args)


def _token(match: re.Match[str], text: str) -> Token:
    """The token a match is, in the grammar's words (for a syntax error)."""
    start, end = match.span()
    if start == len(text) and start == end:
        return Token("$END", "", start, end)
    kind = match.lastgroup
    assert kind is not None
    return Token(kind, match.group(), start, end)


def _expected(state: int) -> list[str]:
    return sorted(s for s in _tables.STATES[state] if s.isupper())


_BLANK = re.compile(r"(\s|;|#[^\n]*)*")


def _has_statement(text: str) -> bool:
    return _BLANK.fullmatch(text) is None


# ---- syntax errors in words a student understands ---------------------------

_WHAT = {
    "NUMBER": N_("a number"),
    "NAME": N_("a name"),
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "POW": N_("'**' or '^'"),
    "SUPERSCRIPT": N_("a superscript power such as ²"),
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
    "_SEP": N_("';' or a new line"),
    "$END": N_("the end"),
}
_OPERAND_START = {"NUMBER", "NAME", "LPAR"}
_OPERAND_END = re.compile(r"[\w.)]$")


_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH", "POW", "AT"}
_OPERATORS |= {"SUPERSCRIPT", "MINUS_SIGN", "TIMES", "MIDDLE_DOT", "DOT_OPERATOR", "DIVIDE"}
# What a student may know from elsewhere, and bpcli writes otherwise.
_SAME_AS = {"ln": ("log", N_("log is the natural logarithm"))}


def _unexpected_character(text: str, pos: int) -> ParseError:
    """A character that is no part of the language, with the rewrite where there is one."""
    char = text[pos]
    message = tr("unexpected character {char!r}").format(char=char)
    if char == "|":  # |x|, as written on paper
        close = text.find("|", pos + 1)
        inner = text[pos + 1 : close].strip() if close != -1 else ""
        shown = inner if inner and "\n" not in inner and len(inner) <= 40 else "…"
        message = tr(
            "unexpected character {char!r}: for an absolute value use abs({shown})"
        ).format(char=char, shown=shown)
    return ParseError(message, span=(pos, pos + 1), source=text)


def _describe(kind: str) -> str:
    return tr(_WHAT.get(kind, kind))


def _syntax_error(token: Token, expected: list[str], text: str) -> ParseError:
    if token.type == "$END":
        end = len(text.rstrip())
        wanted = _wanted(expected)
        return ParseError(
            tr("the expression ends too early: expected {wanted}").format(wanted=wanted),
            span=(end, end),
            source=text,
        )
    start, end = _span(token)
    if token.type == "_SEP" and token.value != ";":
        return ParseError(
            tr("the line ends too early: expected {wanted}").format(wanted=_wanted(expected)),
            span=(start, start + 1),
            source=text,
        )
    before = text[:start].rstrip()
    if token.type == "SUPERSCRIPT":
        return ParseError(
            tr(
                "unexpected {value!r}: a superscript is a power of the name, number or (…) "
                "right before it, as in x²"
            ).format(value=token.value),
            span=(start, end),
            source=text,
        )
    if token.type in _OPERAND_START and _OPERAND_END.search(before):
        left = re.search(r"([\w.]+|\))$", before)
        left_text = left.group(0) if left else before[-1:]
        left_text = "(…)" if left_text == ")" else left_text
        right_text = "(…)" if token.type == "LPAR" else token.value
        message = N_(
            "missing operator before {value!r}: bpcli has no implicit multiplication; "
            "write {left_text}*{right_text}"
        )
        if token.type != "NUMBER" and not SIGNED_NUMBER.fullmatch(left_text):
            # two operands that may be matrices (W x): * is elementwise, and the product
            # a lecture writes side by side is @
            message = N_(
                "missing operator before {value!r}: bpcli has no implicit multiplication; "
                "write {left_text}*{right_text} (elementwise), or {left_text} @ {right_text}"
                " for a matrix product"
            )
        return ParseError(
            tr(message).format(value=token.value, left_text=left_text, right_text=right_text),
            span=(start, end),
            source=text,
        )
    if token.type == "RPAR" and "RPAR" not in expected and not set(expected) >= _OPERAND_START:
        return ParseError(
            tr("unmatched ')': there is no '(' to close"), span=(start, end), source=text
        )
    if token.type == "EQUAL":
        return ParseError(
            tr("'=' can only follow a name at the start of a statement, as in q = x + y"),
            span=(start, end),
            source=text,
        )
    return ParseError(
        tr("unexpected {value!r}: expected {wanted}").format(
            value=token.value, wanted=_wanted(expected)
        ),
        span=(start, end),
        source=text,
    )


def _wanted(expected: list[str]) -> str:
    kinds = set(expected)
    if kinds >= _OPERAND_START:
        return tr("a number, a name or '('")
    words = []
    if kinds >= _OPERATORS:
        words.append(tr("an operator"))
        kinds -= _OPERATORS | {"EQUAL", "LPAR"}
    words += [_describe(kind) for kind in sorted(kinds)]
    if len(words) <= 1:
        return "".join(words) or tr("something else")
    return tr("{items} or {last}").format(items=", ".join(words[:-1]), last=words[-1])
