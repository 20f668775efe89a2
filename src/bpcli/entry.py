"""The `bpcli` script: fast paths for `grad` and `batch`, else the full command line.

Grading scripts run `bpcli grad EXPR VALUES --json` thousands of times, and a
student's first `bpcli grad EXPR VALUES` is the table, where start-up is most of
the time, and most of start-up is Typer (which imports pydantic to read a
command's options) and Rich. So a plain `grad` command line (its own options
only among --json, --no-nodes, --explain, --lr, --steps, --max-tie, --file) is read
here, with the same functions the full command line uses (`arguments`), and answered
without Typer, by the full path's own writer (`process.write_grad`): as JSON without
Rich either, as the table (and the walkthrough) with Rich's console only.
Anything else goes to the Typer app in cli.py: help, other options, and every
error, which the full path then reports itself (so an error costs a second
reading, and looks exactly the same). The fast path gives the same output,
byte for byte: a test runs the two side by side.

`batch` is the same: a plain `batch [--jobs N] [FILE|-]` runs the full path's own code
(`batch.answer_source`, guarded by `process.errors_to_exit_codes`) without Typer.
"""

from __future__ import annotations

import os
import sys
from contextlib import suppress
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from .arguments import (
    FILE,
    GRAD_OPTIONS,
    HELP_FLAGS,
    JOBS,
    LANG_OPTION,
    MAX_NODES_OPTION,
    MAX_SIZE,
    MAX_TIE,
    PRECISION,
    parse_number,
    read_program,
    split_own,
)
from .errors import InputError
from .process import (
    EXIT_CHECK_FAILED,
    EXIT_INTERRUPTED,
    fail,
    guarded,
    out_of_memory,
    stdout_takes_unicode,
    write_grad,
)

if TYPE_CHECKING:
    from .result import Result

# grad's own options, and whether each takes a value, from the declarations the Typer
# command is built from, to split a command line the way it does.
GRAD_TAKES_VALUE = {option.name: not option.flag for option in GRAD_OPTIONS}
GRAD_TAKES_VALUE |= dict.fromkeys(HELP_FLAGS, False) | {LANG_OPTION.name: True}
GRAD_DEFAULTS = {option.param: option.default for option in GRAD_OPTIONS}
NAMES = {option.name[2:] for option in (*GRAD_OPTIONS, LANG_OPTION)}
FAST_FLAGS = ("--json", "--no-nodes", "--explain")
FAST_VALUES = ("--lr", "--steps", "--max-tie", "--file", LANG_OPTION.name)


def run() -> None:
    """The `bpcli` script."""
    if not stdout_takes_unicode():  # a legacy code page: ∂ as d, ✓ as +, █ as #
        from .render.theme import STAND_IN_ERRORS

        for stream in (sys.stdout, sys.stderr):
            with suppress(AttributeError, ValueError):
                stream.reconfigure(errors=STAND_IN_ERRORS)  # type: ignore[union-attr]
    args = sys.argv[1:]
    if args[:1] == ["grad"] and (fast_grad_json(args[1:]) or fast_grad_table(args[1:])):
        return
    if args[:1] == ["batch"] and fast_batch(args[1:]):
        return
    from .cli import app

    app(prog_name="bpcli")


def fast_grad_json(args: list[str]) -> bool:
    """Answer `grad` with these arguments if it is a plain --json run that works;
    False (having written nothing) to leave it to the full command line."""
    return _fast_grad(args, as_json=True)


def fast_grad_table(args: list[str]) -> bool:
    """The same for the table a student sees first: a plain run without --json."""
    return _fast_grad(args, as_json=False)


def _fast_grad(args: list[str], as_json: bool) -> bool:
    try:
        own, free = split_own(args, GRAD_TAKES_VALUE)
    except InputError:  # the full path's to report
        return False
    options = _fast_options(own)
    if options is None or ("--json" in options) != as_json:
        return False  # not this run
    if "-" in free or ("--file" in options and not os.path.isfile(options["--file"])):
        return False  # stdin, a pipe, a device can be read only once (and a file that is not)
    if not _fast_language(options.get(LANG_OPTION.name)):
        return False
    if as_json:  # for scripts: English, whatever the language (as the full path's)
        from .i18n import SOURCE, use

        use(SOURCE)
    ran_out = False
    try:
        result = _answer(free, options)
    except MemoryError:  # said below, once its traceback has let go (batch.OUT_OF_MEMORY)
        ran_out = True
    except Exception:  # every other error is the full path's to report
        return False
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    if ran_out:  # the full path would only run out again
        fail(out_of_memory(), for_scripts=as_json)
    if result is None:
        return False
    written = partial(
        write_grad,
        result,
        explain="--explain" in options,
        fmt="table",
        plot=None,
        check_grad=False,
        check_step=GRAD_DEFAULTS["check_step"],
        as_json=as_json,
        no_nodes="--no-nodes" in options,
        precision=PRECISION.default,
    )
    guarded(written, for_scripts=as_json)  # a closed pipe, Ctrl-C: as on the full path
    return True


def _fast_language(lang: str | None) -> bool:
    """The language --lang chooses, as the full path's --lang does; False for a value
    that is not one (the full path's to report)."""
    from .i18n import LANGUAGES, choose, use

    if lang is not None and lang not in LANGUAGES:
        return False
    use(choose(lang))
    return True


def _fast_options(own: list[str]) -> dict[str, str] | None:
    """grad's own options as {option: value}, or None unless they are a plain run."""
    options: dict[str, str] = {}
    i = 0
    while i < len(own):
        name, eq, value = own[i].partition("=")
        if name in FAST_FLAGS and not eq:
            pass
        elif name in FAST_VALUES and not eq and i + 1 < len(own):
            i += 1
            value = own[i]
        elif name not in FAST_VALUES or not eq:
            return None
        options[name] = value
        i += 1
    return options


def _answer(free: list[str], options: dict[str, str]) -> Result | None:
    """The run the options ask for, or None where the full path must decide."""
    from .api import evaluate

    lr = parse_number("--lr", options["--lr"]) if "--lr" in options else None
    steps = None
    if "--steps" in options:
        raw = options["--steps"]
        if not (raw.isascii() and raw.isdigit() and int(raw) >= 1 and lr is not None):
            return None
        steps = int(raw)
    tie = options.get("--max-tie", MAX_TIE.default)
    file = Path(options["--file"]) if "--file" in options else FILE.default
    graph, values, conventions = read_program(
        free, NAMES, file, tie, MAX_SIZE, MAX_NODES_OPTION.default
    )
    result = evaluate(graph, values, lr, steps, conventions=conventions)
    from .result import Result

    return result if isinstance(result, Result) else None  # vectors: the full path's


def fast_batch(args: list[str]) -> bool:
    """Answer `batch` with these arguments if they are a plain `batch [--jobs N]
    [FILE|-]`; False to leave them (other options, help, a --jobs the full path must
    refuse) to the full command line. What it answers, and how it ends (exit 1 if a line
    failed, a bad file's error), is the full path's own code. (`--jobs` is here because
    its workers start after the parent: the full path's start, twice this one's, would
    be the one part of a run they cannot share.)"""
    from .batch import answer_source
    from .i18n import SOURCE, use

    jobs, free = JOBS.default, []
    rest = iter(args)
    for arg in rest:
        name, eq, raw = arg.partition("=")
        if name != JOBS.name:
            free.append(arg)
            continue
        raw = raw if eq else next(rest, "")
        if not JOBS.takes(raw):
            return False  # the full path's to report
        jobs = int(raw)
    if len(free) > 1 or any(arg.startswith("-") and arg != "-" for arg in free):
        return False
    use(SOURCE)  # JSON for scripts: English, as the full path's batch
    ok = guarded(partial(answer_source, free[0] if free else "-", jobs, MAX_SIZE))
    if not ok:
        raise SystemExit(EXIT_CHECK_FAILED)
    return True
