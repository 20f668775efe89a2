"""Build the parser's tables from grammar/expr.lark with Lark, ahead of time.

Lark computes the LALR(1) tables and the terminals from the grammar; this
module writes them into `_tables.py`, which `parser.py` runs with a small
driver of its own, and adds what makes that driver fast without a second
definition of anything: where each goto lands past the chains of unit
reductions (`collapse_units`), and the lexer as one regular expression over the
terminals (`master_pattern`). So the grammar stays the one definition of the language,
while bpcli does not need Lark at run time (it is a development dependency, in
the `test` extra) and builds no tables at start-up (importing Lark alone costs
more than the start-up budget of a command). After changing the grammar, run
the one regeneration command:

    python src/bpcli/tables.py

The file's header records the Lark version that made it and the grammar's
SHA-256; tests fail until the tables are what the grammar gives. (The command
runs as a script, without importing bpcli, so that it works even when the old
tables no longer fit the grammar.)
"""

from __future__ import annotations

import hashlib
import pprint
import re
import sys
from importlib import resources
from pathlib import Path
from typing import Any

# Where the grammar is in a source checkout (and so in an editable install).
SOURCE_GRAMMAR = Path(__file__).resolve().parents[2] / "grammar" / "expr.lark"
TABLES = Path(__file__).with_name("_tables.py")

COMMAND = "python src/bpcli/tables.py"

HEADER = '''"""LALR(1) tables for grammar/expr.lark, made by Lark {version}.

Written by `{command}`. Do not edit: change the grammar and run
that command (a test checks that the two agree).
"""

LARK_VERSION = {version!r}
GRAMMAR_SHA256 = {digest!r}

'''


def grammar_digest(grammar: str) -> str:
    """The SHA-256 of the grammar's text, as the tables' header records it."""
    return hashlib.sha256(grammar.encode("utf-8")).hexdigest()


def grammar_text() -> str:
    """The grammar, from inside the installed package or else from the source tree."""
    packaged = resources.files("bpcli").joinpath("grammar").joinpath("expr.lark")
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    return SOURCE_GRAMMAR.read_text(encoding="utf-8")


def generate(grammar: str) -> str:
    """The source of `_tables.py` for this grammar."""
    from lark import Lark
    from lark import __version__ as lark_version

    lark = Lark(grammar, parser="lalr", lexer="basic", maybe_placeholders=False)
    table = lark.parser.parser.parser.parse_table
    rules = list(lark.rules)
    index = {id(rule): i for i, rule in enumerate(rules)}

    # Terminals in the order Lark's lexer tries them, so that "**" wins over "*".
    terminals = sorted(
        lark.terminals,
        key=lambda t: (-t.priority, -t.pattern.max_width, -len(t.pattern.value), t.name),
    )
    patterns = []
    for terminal in terminals:
        pattern = terminal.pattern
        assert not pattern.flags, f"{terminal.name}: flags are not supported"
        text = pattern.value if pattern.type == "re" else re.escape(pattern.value)
        patterns.append((str(terminal.name), text))

    # Lark numbers its states in an order that can change from run to run (it
    # follows set iteration); number them by a walk from the start instead.
    start = table.start_states["start"]
    order = [start]
    number = {start: 0}
    for state in order:
        for _, (action, arg) in sorted(table.states[state].items()):
            if action.name == "Shift" and arg not in number:
                number[arg] = len(order)
                order.append(arg)
    states: list[dict[str, tuple[int, int]]] = []
    for state in order:
        actions = {}
        for symbol, (action, arg) in sorted(table.states[state].items()):
            shift = action.name == "Shift"
            actions[str(symbol)] = (0, number[arg]) if shift else (1, index[id(arg)])
        states.append(actions)

    reductions = [_reduction(rule) for rule in rules]
    lookaheads = [name for name, _ in patterns] + ["$END"]
    data: dict[str, Any] = {
        "TERMINALS": patterns,
        "LEXER": master_pattern(patterns),
        "IGNORE": sorted(str(name) for name in lark.ignore_tokens),
        "START": number[start],
        "END": number[table.end_states["start"]],
        "RULES": reductions,
        "STATES": states,
        "UNITS": collapse_units(states, reductions, lookaheads),
    }
    body = "".join(
        f"{name} = {pprint.pformat(value, width=100)}\n\n" for name, value in data.items()
    )
    header = HEADER.format(version=lark_version, command=COMMAND, digest=grammar_digest(grammar))
    return header + body.rstrip() + "\n"


# The terminals most programs are made of, tried first, in this order, where the
# grammar leaves the order free (see master_pattern): each token then costs the lexer
# fewer alternatives that fail. Only the speed depends on this list, not the tokens.
COMMON = (
    *("LPAR", "RPAR", "PLUS", "MINUS", "POW", "STAR", "SLASH"),
    *("NUMBER", "NAME", "WHITESPACE", "_SEP"),
)


def master_pattern(terminals: list[tuple[str, str]]) -> str:
    """The lexer: one regular expression, an alternative per terminal, each marked at its
    end by an empty group named after it; then any one character (no terminal matches
    it: an error) and the end of the text (the end token), both unnamed. A group inside
    a terminal's own pattern is made non-capturing: every group makes each token's
    match object bigger, and only the marks are read; and an optional group, a branch
    with the empty text (the same match, found faster).

    The first alternative that matches wins, so Lark's order decides between terminals
    that can start with the same character ("**" before "*"). Terminals that cannot
    start alike never compete for the same text, so their order is free: the COMMON
    ones go first, then those whose pattern begins with a plain character or a set of
    characters, since the regular-expression engine skips such an alternative after
    one look at the current character (an empty group at the start would stop that,
    hence the marks at the end).
    """
    firsts = [_first_characters(pattern) for _, pattern in terminals]
    placed: list[int] = []
    waiting = list(range(len(terminals)))

    def rank(i: int) -> tuple[int, bool, int]:
        name, pattern = terminals[i]
        common = COMMON.index(name) if name in COMMON else len(COMMON)
        return common, not _skippable(pattern), i

    while waiting:
        ready = [
            i for i in waiting if not any(_overlap(firsts[i], firsts[j]) for j in waiting if j < i)
        ]
        chosen = min(ready, key=rank)
        placed.append(chosen)
        waiting.remove(chosen)
    alternatives = [
        f"(?:{_optional_as_empty_branch(_without_groups(terminals[i][1]))})(?P<{terminals[i][0]}>)"
        for i in placed
    ]
    return "|".join([*alternatives, r"(?s:(.))", r"(\Z)"])


def _without_groups(pattern: str) -> str:
    """The pattern with each capturing group made non-capturing: a `(` that is not
    escaped, not in a set of characters and not followed by `?` becomes `(?:`."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        step = 1
        if pattern[i] == "\\":
            step = 2  # an escaped character, whatever it is
        elif pattern[i] == "[":
            step = _set_end(pattern, i) + 1 - i
        elif pattern[i] == "(" and not pattern.startswith("?", i + 1):
            out.append("(?:")
            i += 1
            continue
        out.append(pattern[i : i + step])
        i += step
    made = "".join(out)
    assert _sre_parse.parse(made).state.groups == 1, f"{pattern}: named groups are not supported"
    return made


def _optional_as_empty_branch(pattern: str) -> str:
    """The pattern with each optional non-capturing group, `(?:X)?`, written `(?:X|)`:
    the same match (X if it can, else nothing), which Python's engine finds as one more
    branch, where an optional group is a general repeat (a number's exponent, `e-3`,
    cost every number a quarter more)."""
    out: list[str] = []
    opened: list[bool] = []  # for each group open at this point: whether it is `(?:`
    i = 0
    while i < len(pattern):
        step = 1
        if pattern[i] == "\\":
            step = 2
        elif pattern[i] == "[":
            step = _set_end(pattern, i) + 1 - i
        elif pattern[i] == "(":
            opened.append(pattern.startswith("?:", i + 1))
        elif pattern[i] == ")":
            plain = opened.pop()
            lazy_or_possessive = pattern[i + 2 : i + 3] in ("?", "+")
            if plain and pattern[i + 1 : i + 2] == "?" and not lazy_or_possessive:
                out.append("|)")
                i += 2
                continue
        out.append(pattern[i : i + step])
        i += step
    return "".join(out)


def _set_end(pattern: str, start: int) -> int:
    """Where the set of characters that begins at `start` ends: its closing `]`."""
    i = start + 1
    i += pattern.startswith("^", i)
    i += pattern.startswith("]", i)  # a "]" first in a set is a member
    while pattern[i] != "]":
        i += 2 if pattern[i] == "\\" else 1
    return i


# A pattern's possible first characters, from Python's own parser of regular
# expressions: a set of them; or, for a pattern that begins with a set too big to
# list (with a class such as \w, or negated), that set as an expression of its own,
# which tells of any one character whether it is in; None where that is not simply
# known (a lookaround, a group that may be empty), which keeps the pattern in place.
try:
    from re import _constants as _sre  # type: ignore[attr-defined,unused-ignore]
    from re import _parser as _sre_parse  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # Python 3.10
    import sre_constants as _sre  # type: ignore[no-redef,unused-ignore]
    import sre_parse as _sre_parse  # type: ignore[no-redef,unused-ignore]


Firsts = frozenset[int] | re.Pattern[str] | None


def _first_characters(pattern: str) -> Firsts:
    try:
        items = list(_sre_parse.parse(pattern))
        first, nullable = _firsts(items)
    except (re.error, ValueError, TypeError):
        return None
    if first is None and items[0][0] is _sre.IN and pattern.startswith("["):
        return re.compile(pattern[: _set_end(pattern, 0) + 1])
    return None if nullable else first


def _firsts(items: list[Any]) -> tuple[frozenset[int] | None, bool]:
    """(the first characters, whether the items can match the empty text)."""
    found: set[int] = set()
    for op, av in items:
        if op is _sre.LITERAL:
            return frozenset(found | {av}), False
        if op is _sre.IN:
            chars: set[int] = set()
            for kind, value in av:
                if kind is _sre.LITERAL:
                    chars.add(value)
                elif kind is _sre.RANGE and value[1] - value[0] < 1024:
                    chars.update(range(value[0], value[1] + 1))
                else:
                    return None, False
            return frozenset(found | chars), False
        if op is _sre.SUBPATTERN:
            inner, nullable = _firsts(list(av[-1]))
        elif op is _sre.BRANCH:
            parts = [_firsts(list(branch)) for branch in av[1]]
            if any(first is None for first, _ in parts):
                return None, False
            inner = frozenset().union(*(first for first, _ in parts if first is not None))
            nullable = any(n for _, n in parts)
        elif op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT):
            inner, nullable = _firsts(list(av[2]))
            nullable = nullable or av[0] == 0
        else:
            return None, False
        if inner is None:
            return None, False
        found |= inner
        if not nullable:
            return frozenset(found), False
    return frozenset(found), True


def _overlap(a: Firsts, b: Firsts) -> bool:
    if isinstance(a, frozenset) and isinstance(b, frozenset):
        return bool(a & b)
    if isinstance(a, frozenset) and isinstance(b, re.Pattern):
        return any(b.match(chr(char)) for char in a)
    if isinstance(b, frozenset) and isinstance(a, re.Pattern):
        return any(a.match(chr(char)) for char in b)
    return True  # not simply known: they may


def _skippable(pattern: str) -> bool:
    """Whether the pattern begins with one character or one set of characters."""
    try:
        items = list(_sre_parse.parse(pattern))
    except re.error:
        return False
    return bool(items) and items[0][0] in (_sre.LITERAL, _sre.IN)


def collapse_units(
    states: list[dict[str, tuple[int, int]]],
    reductions: list[tuple[str, int, str, str, tuple[tuple[int, bool], ...]]],
    lookaheads: list[str],
) -> dict[int, dict[str, dict[str, int]]]:
    """Unit-rule elimination: where each goto really lands, by lookahead.

    A unit rule is a `?rule` alternative of one symbol (`?product: unary`): its
    reduction keeps the value and only replaces the state on top of the stack, so a
    chain of them (atom → power → unary → product → sum → expr) costs the driver one
    step each for nothing. After a reduction to A in state s, the goto lands in
    goto(s, A); if that state reduces a unit rule B: A on the lookahead, the stack is
    back to s and lands in goto(s, B), and so on. The walk depends only on s, A and
    the lookahead, so it is done here, once: `UNITS[s][A][lookahead]` is the state
    the chain ends in, where it differs from goto(s, A). The driver then takes the
    same actions as before minus the unit reductions, and fails, where it fails, in
    the same state, with the same expected tokens.
    """
    units: dict[int, dict[str, dict[str, int]]] = {}
    for s, actions in enumerate(states):
        for symbol, (action, target) in actions.items():
            if action != 0 or symbol in lookaheads:
                continue  # a shift of a terminal, not a goto
            for lookahead in lookaheads:
                landed, seen = target, {target}
                while True:
                    step = states[landed].get(lookahead)
                    if step is None or step[0] == 0:
                        break
                    origin, size, how, _, _ = reductions[step[1]]
                    if how != "pass" or size != 1:
                        break
                    landed = states[s][origin][1]
                    assert landed not in seen, "a cycle of unit rules"
                    seen.add(landed)
                if landed != target:
                    units.setdefault(s, {}).setdefault(symbol, {})[lookahead] = landed
    return units


def _reduction(rule: Any) -> tuple[str, int, str, str, tuple[tuple[int, bool], ...]]:
    """(origin, size, how, callback, kept children) for one grammar rule, as Lark builds trees.

    `how` is "call" (the builder's method `callback` gets the kept children),
    "pass" (a `?rule` with one child: the child itself) or "splice" (a rule
    whose name starts with `_`: its children go into its parent's). A kept
    child is (index, spliced): anonymous and `_` tokens are dropped.
    """
    origin = str(rule.origin.name)
    kept = tuple(
        (i, not symbol.is_term and symbol.name.startswith("_"))
        for i, symbol in enumerate(rule.expansion)
        if rule.options.keep_all_tokens or not (symbol.is_term and symbol.filter_out)
    )
    if origin.startswith("_"):
        return origin, len(rule.expansion), "splice", "", kept
    if rule.alias:
        return origin, len(rule.expansion), "call", str(rule.alias), kept
    if rule.options.expand1:
        assert len(kept) == 1, f"?{origin} must have one child"
        return origin, len(rule.expansion), "pass", "", kept
    return origin, len(rule.expansion), "call", origin, kept


def main() -> None:
    TABLES.write_text(generate(SOURCE_GRAMMAR.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {TABLES}", file=sys.stderr)


if __name__ == "__main__":
    main()
