"""Process concerns: exit codes, errors as messages, the terminal, the files written.

Apart from Typer, so that the fast paths of the `bpcli` script (entry.py) end
a run exactly as the full command line (cli.py) does.
"""

from __future__ import annotations

import codecs
import errno
import gc
import importlib
import json
import os
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from functools import cache, wraps
from typing import TYPE_CHECKING, Any, NoReturn, ParamSpec, TypeVar

from .errors import BpcliError, InputError
from .i18n import tr

T = TypeVar("T")
P = ParamSpec("P")

if TYPE_CHECKING:
    from pathlib import Path
    from types import TracebackType

    from rich.console import Console

    from .gradcheck import GradCheck
    from .result import Result, Update
    from .tensor import TensorResult, TensorUpdate

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
    In a notebook's kernel too it writes text, as through a pipe, not Rich's HTML:
    the `%bpcli` magic shows what the command line prints.
    """
    return _console_class()(highlight=False, force_jupyter=False, **options)


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector off while a parse or a view builds its many small objects
    (tuples, lines, segments), none of them in a reference cycle: each collection would
    trace every object still held, a fifth of `grad --explain`'s time on a node used 4,000
    times. It is back as it was afterwards, after an error too.

    What was made meanwhile and is still held (the graph, the view's lines) goes to the
    collector's oldest generation untraced (gc.freeze, then gc.unfreeze, which moves the
    frozen objects there and zeroes the young generation's count): else the collection
    that the first allocation afterwards sets off traces every one of them, a tenth of
    a big tree's time. Where the program froze objects of its own, nothing is moved."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            if not gc.get_freeze_count():
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def paused(items: Iterable[T]) -> Iterator[T]:
    """`items`, each made with the cycle collector paused (`collector_paused`), and back
    on once they are all made or the caller stops: for a view's segments, made while
    Rich takes them one by one. A big tree's segments were made with every branch
    held, and each collection traced them all: 4 times the time at 10^5 nodes."""
    with collector_paused():
        yield from items


def made_paused(make: Callable[P, Iterable[T]]) -> Callable[P, Iterator[T]]:
    """`make`, whose items are each made with the cycle collector paused (`paused`): for a
    view's `__rich_console__`, whose segments Rich takes one by one, and the views nested
    in it with them."""

    @wraps(make)
    def made(*args: P.args, **kwargs: P.kwargs) -> Iterator[T]:
        return paused(make(*args, **kwargs))

    return made


def plain_text(renderable: object, width: int) -> str:
    """What a terminal `width` columns wide would show of a Rich renderable, uncoloured:
    for a file (`graph --output t.txt`) and for the notebook's views."""
    import io

    buffer = io.StringIO()
    out = console(file=buffer, width=width, color_system=None, soft_wrap=False)
    out.print(renderable, crop=False)  # the walkthrough lays out its own lines: a wider term stays
    return buffer.getvalue()


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


def json_text(data: Mapping[str, Any], ascii: bool = False) -> str:
    """Strict JSON (no NaN or Infinity) on one line, with json.dumps' separators."""
    return json.dumps(data, ensure_ascii=ascii, allow_nan=False)


def write_json(
    data: Result | TensorResult | Mapping[str, Any],
    nodes: bool = True,
    extra: Mapping[str, Any] | None = None,
) -> None:
    """One strict JSON object on one line of stdout, never through Rich: every `--json`.

    A Result is streamed (its `--json` object, with `extra`'s fields at the end), so
    a million nodes never become one object; a reader that goes away mid-way is
    errors_to_exit_codes' closed pipe, a quiet exit.
    """
    ascii = not stdout_takes_unicode()
    chunks: Iterable[str]
    if isinstance(data, Mapping):
        chunks = (json_text(data, ascii),)
    elif (stream := _utf8_bytes()) is not None and hasattr(data, "json_bytes"):
        # a Result makes its text as UTF-8 bytes: written as they are, past the text layer
        sys.stdout.flush()
        errors = getattr(sys.stdout, "errors", None) or "strict"
        for piece in data.json_bytes(nodes=nodes, ascii=ascii, extra=extra, errors=errors):
            stream.write(piece)
        chunks = ()
    else:
        chunks = data.json_chunks(nodes=nodes, ascii=ascii, extra=extra)
    for chunk in chunks:
        sys.stdout.write(chunk)
    sys.stdout.write("\n")
    sys.stdout.flush()


def _utf8_bytes() -> Any:
    """The binary stream under stdout where stdout writes UTF-8, else None."""
    try:
        if codecs.lookup(sys.stdout.encoding).name == "utf-8":
            return sys.stdout.buffer
    except (LookupError, AttributeError, TypeError):
        pass
    return None


def write_output(path: Path, data: bytes, what: str | None = None) -> None:
    """Write `data` to the file `path`, replacing it whole: into a temporary file beside
    it, then renamed into place, so an interrupted or failed run leaves the old file as
    it was. Through a symbolic link the file it points to is replaced; what is not a
    regular file (/dev/stdout, a named pipe) is written into as it is."""
    import tempfile  # here, not at the top: the fast paths' start-up time

    try:
        # asked of the path itself: /dev/stdout into a pipe is /proc/self/fd/1 ->
        # pipe:[…], which realpath cannot name
        if os.path.exists(path) and not os.path.isfile(path):
            with open(path, "wb") as stream:
                stream.write(data)
            return
        target = os.path.realpath(path)  # a regular file, or none yet: through its links
        if os.path.exists(target):
            mode = stat.S_IMODE(os.stat(target).st_mode)
        else:
            umask = os.umask(0o022)
            os.umask(umask)
            mode = 0o666 & ~umask
        folder, name = os.path.split(target)
        handle, temporary = tempfile.mkstemp(prefix=f".{name}.", dir=folder)
        try:
            _write_whole(handle, data)
            os.chmod(temporary, mode)
            os.replace(temporary, target)
        except BaseException:
            _unlink(temporary)
            raise
    except OSError as exc:
        raise InputError(
            tr("cannot write {what}: {reason}").format(
                what=what or path, reason=exc.strerror or exc
            )
        ) from None


def _write_whole(handle: int, data: bytes) -> None:
    """Write `data` to the open file `handle`, through to the disk, and close it."""
    with os.fdopen(handle, "wb") as stream:  # short blocks here (batch.OUT_OF_MEMORY)
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())


def _unlink(path: str) -> None:
    with suppress(OSError):
        os.unlink(path)


def refuse_to_replace(option: str, output: Path | None, inputs: Sequence[Path | None]) -> None:
    """An output that is one of the command's inputs (the same file under any name, or
    through a link) would replace what was read: an error, before anything is written."""
    if output is None:
        return
    for given in inputs:
        if given is not None and _same_file(output, given):
            raise InputError(
                tr(
                    "{option} {output} is the input {given}: writing it would replace the "
                    "input; give another file"
                ).format(option=option, output=output, given=given)
            )


def _same_file(first: Path, second: Path) -> bool:
    try:
        return os.path.samefile(first, second)
    except (OSError, ValueError):  # one of them does not exist (yet)
        return os.path.realpath(first) == os.path.realpath(second)


def fail(error: BpcliError, for_scripts: bool = False) -> NoReturn:
    """bpcli's own error: its message (and where in the source), and exit 2. On a
    terminal the message is wrapped to its width (render.error.wrapped); in a pipe, or
    `for_scripts` (--json, batch), it is one line, as a script reads it."""
    from rich.text import Text

    from .render.error import error_lines, wrapped

    err = console(stderr=True, soft_wrap=True)
    first, *rest = error_lines(error)
    message = wrapped(first, err.width) if err.is_terminal and not for_scripts else [first]
    with suppress(BrokenPipeError):  # stderr closed too: the exit code still says it
        err.print(Text.assemble(("error:", "bold red"), message[0][len("error:") :]))
        for line in [*message[1:], *rest]:  # the source line and its caret: never wrapped
            err.print(Text(line))
    raise SystemExit(EXIT_BAD_INPUT)


@contextmanager
def errors_to_exit_codes(for_scripts: bool = False) -> Iterator[None]:
    """bpcli's errors: a message and exit 2. Ctrl-C: exit 130. A closed pipe: a quiet exit.
    Running out of memory (under a limit such as `ulimit -v`): a message and exit 2, an
    input too large for the memory given. Anything else is a bug in bpcli: one line and
    exit 3 (BPCLI_TRACEBACK=1 shows it). `for_scripts`: a run whose output is for
    scripts (--json, batch), as `fail` takes it."""
    try:
        yield
        sys.stdout.flush()  # here, where a closed pipe is caught, not at the interpreter's exit
    except BpcliError as error:
        fail(error, for_scripts)
    except MemoryError as exc:
        # Said in words below, after this block (batch.OUT_OF_MEMORY), once the frames the
        # work failed in let go of their lists: the exception's traceback keeps them (and
        # contextlib's exit keeps the traceback).
        _let_go(exc.__traceback__)
    except KeyboardInterrupt:
        sys.stderr.write(tr("interrupted") + "\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
    except BrokenPipeError:
        _stdout_to_null()
        raise SystemExit(EXIT_OK) from None
    except Exception as exc:
        if os.environ.get("BPCLI_TRACEBACK"):
            raise
        sys.stderr.write(
            f"bpcli: internal error, a bug in bpcli: {type(exc).__name__}: {exc}\n"
            "Please report it with the command that caused it.\n"
        )
        raise SystemExit(EXIT_INTERNAL_ERROR) from None
    else:
        return
    fail(out_of_memory(), for_scripts)


def _stdout_to_null() -> None:
    """The reader went away (`bpcli … | head -1`): point stdout at /dev/null, so that
    the interpreter's last flush at exit does not complain either."""
    with suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def out_of_memory() -> InputError:
    """What a run that ran out of memory says (exit 2: an input too large for the memory
    given); `fail` writes it."""
    return InputError(tr("out of memory: give bpcli more memory, or a smaller input"))


def guarded(work: Callable[[], T], for_scripts: bool = False) -> T:
    """`work()` under errors_to_exit_codes, in a frame of its own. A command's body runs
    here, not inside a `with` block of its own function: CPython 3.11 to 3.13 loop for
    ever unwinding into a `with` block past instruction 256 when memory has run out
    (batch.OUT_OF_MEMORY), and this one ends long before."""
    with errors_to_exit_codes(for_scripts):
        return work()
    raise AssertionError("errors_to_exit_codes ends a failed run with SystemExit")


def _let_go(trace: TracebackType | None) -> None:
    """Clear the locals of every frame in `trace` that has ended (the ones still running,
    the command's and this one's, keep theirs)."""
    while trace is not None:
        try:  # noqa: SIM105 (no with block here: see batch.OUT_OF_MEMORY)
            trace.tb_frame.clear()
        except RuntimeError:  # a frame still running
            pass
        trace = trace.tb_next


def write_grad(
    result: Result | TensorResult,
    explain: bool,
    fmt: str,
    plot: Path | None,
    check_grad: bool,
    check_step: float,
    as_json: bool,
    no_nodes: bool,
    precision: int,
) -> None:
    """What grad writes of a run, over numbers or tensors alike: the table (with shapes
    over tensors) or --json, --explain and the write-ups, the plot and --gradcheck (the
    full command line's `grad` and the fast path's both write it here)."""
    from .result import Result

    checked: GradCheck | None = None
    checked_of = result.output_name  # what the gradients are of: with --dout, L
    if check_grad:
        if isinstance(result, Result):
            from .gradcheck import gradcheck

            checked = gradcheck(result, check_step)
        else:
            from .tensor import differentiated
            from .tensor import gradcheck as tensor_gradcheck

            checked = tensor_gradcheck(result, check_step)
            checked_of = differentiated(result)
    if plot is not None:  # first: if it fails, nothing else was written
        assert result.update is not None
        write_plot(result.update, result.output_name, plot)
    if as_json:
        extra: dict[str, object] = {} if checked is None else {"gradcheck": checked.to_dict()}
        if explain:  # the walkthrough's steps as data
            from .render.walkthrough import json_steps

            extra["steps"] = json_steps(result, precision)
        write_json(result, nodes=not no_nodes, extra=extra or None)
    elif fmt != "table":
        from .render.writeup import to_latex, to_markdown

        sys.stdout.write((to_markdown if fmt == "markdown" else to_latex)(result, precision))
    else:
        out = console()
        _print_table(out, result, precision, not no_nodes, explain)
        if checked is not None:
            from .render.gradcheck import GradCheckView

            out.print()
            out.print(GradCheckView(checked, checked_of, precision))
    if checked is not None and not checked.ok:
        raise SystemExit(EXIT_CHECK_FAILED)


@collector_paused()  # the many small objects of its layout, none in a reference cycle
def _print_table(
    out: Console, result: Result | TensorResult, precision: int, nodes: bool, explain: bool
) -> None:
    """The table of a run (with shapes over tensors), and --explain's walkthrough."""
    from .render.table import GradView, TensorGradView
    from .result import Result

    if isinstance(result, Result):
        out.print(GradView(result, precision, nodes=nodes))
    else:
        out.print(TensorGradView(result, precision, nodes=nodes))
    if explain:
        from .render.explain import ExplainView

        out.print()
        out.print(ExplainView(result, precision), crop=False)  # its lines fit


def write_plot(update: Update | TensorUpdate, output_name: str, path: Path) -> None:
    """The descent plot (`grad --plot`) into `path`, in the format its suffix names."""
    from .render.plot import FORMATS, descent_image

    image_format = FORMATS.get(path.suffix.lower())
    if image_format is None:
        known = ", ".join(FORMATS)
        raise InputError(
            tr("cannot tell the image format of {path!r}: its name must end in {known}").format(
                path=str(path), known=known
            )
        )
    if update.trajectory is None:
        raise InputError(tr("a plot of gradient descent needs its steps: give --steps"))
    try:
        importlib.import_module("matplotlib")
    except ImportError:
        raise InputError(tr("writing a plot needs matplotlib: pip install matplotlib")) from None
    image = descent_image(update, output_name, image_format)
    write_output(path, image, what=tr("the plot to {path!r}").format(path=str(path)))
