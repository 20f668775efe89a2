"""`%load_ext bpcli`: the `%bpcli` line magic and the `%%bpcli` cell magic.

    %bpcli grad "(x+y)*z" --x -2 --y 5 --z -4 --explain

    %%bpcli --x -2 --y 5 --z -4 --explain
    q = x + y
    f = q * z

A magic line is a bpcli command line (the command may be left out: `grad`), read
by the command line's own options. A cell holds the program of `grad` and
`graph`, or the requests of `batch`. `grad` shows its Result the way a notebook
shows one (the picture, the answers, the table), then the walkthrough with
`--explain`; `graph --format html` shows the step-through page, stepping; every
other command line runs as in a terminal and shows what it prints. An error is
bpcli's own message, with its caret, never a traceback. Only IPython calls this
module, so it may import IPython.
"""

from __future__ import annotations

import importlib
import os
import shlex
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

COMMANDS = ("grad", "graph", "check", "key", "quiz", "batch")
# grad's options whose run a notebook shows as a Result: any other (--json, --format,
# --plot, --gradcheck, --no-nodes) runs as in a terminal
SHOWN_GRAD = frozenset(
    {"lr", "steps", "explain", "precision", "file", "max_tie", "max_size", "max_nodes", "dout"}
)


def load(ipython: Any) -> None:
    """Register `%bpcli` and `%%bpcli` (IPython's `load_ipython_extension`)."""
    ipython.register_magic_function(bpcli_magic, magic_kind="line_cell", magic_name="bpcli")


def bpcli_magic(line: str, cell: str | None = None) -> None:
    """Run a bpcli command line in the notebook (see the module's docstring)."""
    try:
        words = shlex.split(line)
    except ValueError as error:  # an unclosed quote
        sys.stderr.write(f"error: the magic's line cannot be read: {error}\n")
        return
    command = words.pop(0) if words[:1] and words[0] in COMMANDS else "grad"
    if cell is None:
        run(command, words)
        return
    if command in ("grad", "graph"):
        run(command, [cell.strip(), *words])
    elif command == "batch":
        with _file(cell) as path:
            run(command, [path, *words])
    else:
        sys.stderr.write(
            f"error: %%bpcli {command} takes no cell: write %bpcli {command} … on one line\n"
        )


def run(command: str, args: list[str]) -> None:
    """Show `bpcli COMMAND ARGS` the notebook's way if it has one, else as the CLI prints it."""
    from .process import errors_to_exit_codes

    try:
        with errors_to_exit_codes():
            if _shown(command, args):
                return
    except SystemExit:  # bpcli's message is on stderr already
        return
    _cli([command, *args])


def _shown(command: str, args: list[str]) -> bool:
    """Show `grad` as a Result and `graph --format html` as a page, when the command line
    asks for nothing else; False to leave it to the command line (which reports errors)."""
    import typer
    from typer.main import get_command

    from . import arguments, cli
    from .api import evaluate

    display: Any = importlib.import_module("IPython.display").display
    if command not in ("grad", "graph"):
        return False
    group: Any = get_command(cli.app)
    sub = group.commands[command]
    try:
        ctx = sub.make_context(command, list(args), parent=typer.Context(group, info_name="bpcli"))
    except (Exception, SystemExit):  # a usage error: the command line says it in its own words
        return False
    params = ctx.params
    given = {name for name, value in params.items() if value != _default(sub, name)}
    if command == "grad" and not given <= SHOWN_GRAD:
        return False
    if command == "grad" and params["steps"] is not None and params["lr"] is None:
        return False
    if command == "graph" and (params["fmt"] != "html" or params["output"] is not None):
        return False
    program, values, conventions = cli.read_program(
        ctx, params["file"], params["max_tie"], params["max_size"], params["max_nodes"]
    )
    steps = params.get("steps")
    dout = params.get("dout")
    upstream = None if dout is None else arguments.parse_dout(dout)
    result = evaluate(program, values, params["lr"], steps, conventions=conventions, dout=upstream)
    if command == "graph":
        display(result.page(params["precision"]))
        return True
    explained = result.explain(params["precision"]) if params["explain"] else None
    display(result)
    if explained is not None:
        display(explained)
    return True


def _default(command: Any, name: str) -> Any:
    for param in command.params:
        if param.name == name:
            return param.default
    return None


def _cli(argv: list[str]) -> None:
    """The command line itself, in this process: what it prints is the cell's output."""
    from .cli import app

    with suppress(SystemExit):  # its exit code: what it prints says it
        app(args=argv, prog_name="bpcli")


@contextmanager
def _file(text: str) -> Iterator[str]:
    """The cell's text in a file of its own for the command line to read, removed after."""
    handle, path = tempfile.mkstemp(prefix="bpcli-cell-", suffix=".jsonl")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        yield path
    finally:
        os.unlink(path)
