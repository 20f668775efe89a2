"""Build the parser's tables from grammar/expr.lark with Lark, ahead of time.

Lark computes the LALR(1) tables and the terminals from the grammar; this
module writes them into `_tables.py`, which `parser.py` runs with a small
driver of its own. So the grammar stays the one definition of the language,
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
    data: dict[str, Any] = {
        "TERMINALS": patterns,
        "IGNORE": sorted(str(name) for name in lark.ignore_tokens),
        "START": number[start],
        "END": number[table.end_states["start"]],
        "RULES": reductions,
        "STATES": states,
    }
    body = "".join(
        f"{name} = {pprint.pformat(value, width=100)}\n\n" for name, value in data.items()
    )
    header = HEADER.format(version=lark_version, command=COMMAND, digest=grammar_digest(grammar))
    return header + body.rstrip() + "\n"


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
