"""Process concerns: exit codes, errors as messages, the terminal.

Apart from Typer, so that the fast paths of the `bpcli` script (entry.py) end
a run exactly as the full command line (cli.py) does.
"""

from __future__ import annotations

import codecs
import errno
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import cache
from typing import TYPE_CHECKING, Any, NoReturn

from .errors import BpcliError

if TYPE_CHECKING:
    from rich.console import Console

    from .result import Result

EXIT_OK = 0
EXIT_CHECK_FAILED = 1  # a check found wrong answers (check, batch, --gradcheck)
EXIT_BAD_INPUT = 2
EXIT_INTERNAL_ERROR = 3
EXIT_INTERRUPTED = 130


def console(**options: Any) -> Console:
    """A Rich console, imported only when a command prints more than JSON (start-up time).

    On a closed pipe (`bpcli … | head -1`) Rich's own handling exits 1, which means
    "found wrong answers": this console raises BrokenPipeError instead, which
    `errors_to_exit_codes` turns into the quiet exit every other view makes.
    """
    return _console_class()(highlight=False, **options)


@cache
def _console_class() -> type[Console]:
    from rich.console import Console

    class PipeConsole(Console):
        def on_broken_pipe(self) -> None:
            self.quiet = True  # nothing more to write: the reader is gone
            raise BrokenPipeError(errno.EPIPE, "the reader closed the pipe")

    return PipeConsole


def stdout_takes_unicode() -> bool:
    """Whether stdout writes any character: UTF-8 almost everywhere, but a legacy code
    page (Windows with output to a file) or PYTHONIOENCODING=ascii does not, and JSON
    there spells non-ASCII names as \\u escapes, which every JSON reader decodes."""
    try:
        return codecs.lookup(sys.stdout.encoding or "utf-8").name in UNICODE_CODECS
    except (LookupError, AttributeError):
        return False


UNICODE_CODECS = {"utf-8", "utf-16", "utf-32", "utf-8-sig"}


def write_result_json(result: Result, nodes: bool = True) -> None:
    """The `--json` object on stdout, streamed: a million nodes never become one object."""
    for chunk in result.json_chunks(nodes=nodes, ascii=not stdout_takes_unicode()):
        sys.stdout.write(chunk)
    sys.stdout.write("\n")
    sys.stdout.flush()


def fail(error: BpcliError) -> NoReturn:
    """bpcli's own error: its message (and where in the source), and exit 2."""
    from rich.text import Text

    from .render.error import error_lines

    err = console(stderr=True, soft_wrap=True)
    first, *rest = error_lines(error)
    with suppress(BrokenPipeError):  # stderr closed too: the exit code still says it
        err.print(Text.assemble(("error:", "bold red"), first[len("error:") :]))
        for line in rest:
            err.print(Text(line))
    raise SystemExit(EXIT_BAD_INPUT)


@contextmanager
def errors_to_exit_codes() -> Iterator[None]:
    """bpcli's errors: a message and exit 2. Ctrl-C: exit 130. A closed pipe: a quiet exit.
    Anything else is a bug in bpcli: one line and exit 3 (BPCLI_TRACEBACK=1 shows it)."""
    try:
        yield
        sys.stdout.flush()  # here, where a closed pipe is caught, not at the interpreter's exit
    except BpcliError as error:
        fail(error)
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        # The reader went away (`bpcli … | head -1`). Point stdout at /dev/null so
        # that the interpreter's last flush at exit does not complain either.
        with suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(EXIT_OK) from None
    except Exception as exc:
        if os.environ.get("BPCLI_TRACEBACK"):
            raise
        sys.stderr.write(
            f"bpcli: internal error, a bug in bpcli: {type(exc).__name__}: {exc}\n"
            "Please report it with the command that caused it.\n"
        )
        raise SystemExit(EXIT_INTERNAL_ERROR) from None
