"""`bpcli batch`: answer a stream of JSON Lines requests, one JSON line per request.

A request: {"id": any JSON, "expr": "...", "values": {name: number}, "lr": number,
"steps": n, "max_tie": "split" or "first"}; only "expr" is required. An answer:
{"id": …, "ok": true, "result": the `grad --json` object} or
{"id": …, "ok": false, "error": {"type": …, "message": …, "line": n}}.

Each line is answered on its own: a bad line costs that line only, so one typo
in a file of thousands does not lose the rest; so does a line that runs out of
memory ("type": "MemoryError") or meets a bug ("InternalError"). Answers keep the input's order
and go out as soon as each is ready, so a script can talk to bpcli through a pipe.
"""

from __future__ import annotations

import difflib
import itertools
import json
import math
import os
import stat
import sys
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, BinaryIO

from .api import evaluate
from .arguments import open_input
from .errors import BpcliError, RequestError, clipped
from .graph import Graph
from .ops import Conventions, tie_rule
from .parser import parse
from .result import Result
from .values import NotANumber, is_number, to_float

KEYS = ("id", "expr", "values", "lr", "steps", "max_tie")
CACHE_SIZE = 1024  # parsed expressions kept; a long-running pipe must not grow without end
MAX_ID_DEPTH = 100  # levels of arrays and objects in an id, which is echoed back

Cache = dict[str, Graph | BpcliError]


def answer_source(source: str, jobs: int, limit: int) -> bool:
    """Answer every request in `source` (a file, or - for standard input) on stdout,
    in order; True if every line was answered. From a pipe or a terminal, whose next
    request may wait for this answer, each answer is flushed as soon as it is ready;
    from a file, stdout's buffer writes them in blocks (a flush a line would cost a
    tenth of the time)."""

    def answer_all(stream: BinaryIO) -> bool:
        flush = not _is_file(stream)

        def write(piece: str) -> None:
            sys.stdout.write(piece)
            if flush and piece.endswith("\n"):  # a whole answer, not a piece of a long one
                sys.stdout.flush()

        lines = read_lines(stream, limit)
        ok = run(lines, write) if jobs == 1 else run_parallel(lines, write, jobs, waits=flush)
        sys.stdout.flush()
        return ok

    if source == "-":
        return answer_all(sys.stdin.buffer)
    with open_input(source) as stream:
        return answer_all(stream)


def _is_file(stream: BinaryIO) -> bool:
    """Whether the stream reads a regular file (which never waits for a writer)."""
    try:
        return stat.S_ISREG(os.fstat(stream.fileno()).st_mode)
    except (OSError, ValueError, AttributeError):
        return False


def run(lines: Iterable[Line], write: Callable[[str], None]) -> bool:
    """Answer each request line with one JSON line through `write`; True if every line succeeded.

    `lines` may be text or bytes (as from a file opened "rb"): bytes are decoded
    line by line, so a line that is not UTF-8 fails alone. `write` gets each
    answer as one line ending in a newline, in input order (an answer for a graph
    of more than STREAM_NODES nodes comes in pieces, of which the last ends the
    line, so that it is never held whole); it should flush at a newline.
    """
    cache: Cache = {}
    ok = True
    for number, line in enumerate(lines, start=1):
        response = respond(line, number, cache)
        if response is not None:
            text, line_ok = response
            if isinstance(text, str):
                write(text)
            else:
                for piece in text:
                    write(piece)
            ok = ok and line_ok
    return ok


STREAM_NODES = 10_000  # a larger answer is written piece by piece, never joined
PIECE = 1 << 16  # characters a piece of a streamed answer gathers before it is written


def respond(line: Line, number: int, cache: Cache) -> tuple[str | Iterator[str], bool] | None:
    """The answer to one line as its JSON text, or for a large one the pieces of that
    text (the last ends the line), and whether it succeeded; None for a blank line.

    Whatever may fail for want of memory happens here, before the first piece is
    written (a streamed answer computes its per-node facts first): a line that
    runs out of memory is answered with a MemoryError reply and costs that line only.
    """
    reply = answer(line, number, cache)
    if reply is None:
        return None
    try:
        result = reply.get("result")
        if isinstance(result, Result) and len(result.graph) > STREAM_NODES:
            chunks = result.json_chunks(compact=True, ascii=True)
            # The head, "nodes": [ and the first node: every per-node table is made.
            first = [_head(reply["id"]), *itertools.islice(chunks, 3)]
            return _pieces(first, chunks, reply["id"], number), True
        return encode(reply), reply["ok"] is True
    except MemoryError:
        cache.clear()
        return encode(_out_of_memory(reply["id"], number)), False


def _head(request_id: object) -> str:
    head = json.dumps({"id": request_id, "ok": True}, allow_nan=False, separators=(",", ":"))
    return f'{head[:-1]},"result":'


def _pieces(
    first: list[str], rest: Iterator[str], request_id: object, number: int
) -> Iterator[str]:
    """A long answer's text in pieces of about PIECE characters; the last ends the line.

    Should memory run out between two pieces (the answer was begun, so it cannot
    be taken back), the line is ended and a MemoryError reply follows it: the
    reader sees that line fail, and later lines still come.
    """
    block, size, begun = first, 0, False
    try:
        for chunk in rest:
            block.append(chunk)
            size += len(chunk)
            if size >= PIECE:
                yield "".join(block)
                block, size, begun = [], 0, True
        block.append("}\n")
        yield "".join(block)
    except MemoryError:
        block = []
        yield ("\n" if begun else "") + encode(_out_of_memory(request_id, number))


def _out_of_memory(request_id: object, number: int) -> dict[str, Any]:
    message = (
        f"line {number}: out of memory answering this request;"
        " give it more memory, or send a smaller expression"
    )
    return _failure(request_id, "MemoryError", message, number)


class TooLong:
    """Stands for a line longer than the limit, which was skipped rather than read."""

    def __init__(self, limit: int) -> None:
        self.limit = limit


def read_lines(stream: BinaryIO, limit: int) -> Iterator[bytes | TooLong]:
    """The stream's lines, none of more than `limit` bytes held in memory: a longer
    one is read past in pieces and stands as a TooLong, which fails that line alone."""
    while True:
        line = stream.readline(limit + 1)
        if not line:
            return
        if len(line) > limit and not line.endswith(b"\n"):
            while line and not line.endswith(b"\n"):
                line = stream.readline(limit + 1)
            yield TooLong(limit)
            continue
        yield line


Line = str | bytes | TooLong
CHUNK = 256  # the most lines sent to a worker at a time: enough to pay for the trip


class _End:
    """The reader thread's last item: the lines ended, or reading them failed."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def run_parallel(
    lines: Iterable[Line], write: Callable[[str], None], jobs: int, *, waits: bool = True
) -> bool:
    """`run`, with the lines answered by `jobs` worker processes, in chunks.

    A thread reads the lines as they come; a chunk is what has arrived, up to
    CHUNK lines: from a client that writes one line and waits for its answer, a
    chunk of that one line, answered at once (`waits`: the lines may wait for a
    writer, as from a pipe; from a file, which never waits, the thread passes
    them on CHUNK at a time). The answers are written in input order. At most two
    chunks per worker are in flight and about as many lines wait, so a stream of
    any length is never read whole into memory. The workers ignore Ctrl-C: the
    parent alone reports it, with whole lines written, and stops them.
    """
    import queue
    import threading
    from concurrent.futures import Future, ProcessPoolExecutor

    arrived: queue.Queue[list[tuple[int, Line]] | _End] = queue.Queue(maxsize=2 * jobs * CHUNK)
    numbered = enumerate(lines, start=1)

    def read() -> None:
        try:
            if waits:
                for item in numbered:
                    arrived.put([item])
            else:
                while chunk := list(itertools.islice(numbered, CHUNK)):
                    arrived.put(chunk)
        except BaseException as exc:  # given to the main thread, which raises it
            arrived.put(_End(exc))
        else:
            arrived.put(_End())

    pool = ProcessPoolExecutor(max_workers=jobs, initializer=_ignore_interrupts)
    done = False
    try:
        pool.submit(int).result()  # every worker forked before the reader thread starts
        threading.Thread(target=read, daemon=True).start()
        ok = True
        pending: deque[Future[tuple[list[str], bool]]] = deque()
        end: _End | None = None
        while True:
            while end is None and len(pending) < 2 * jobs:
                chunk, end = _arrived(arrived, wait=not pending)
                if not chunk:
                    break
                pending.append(pool.submit(_answer_chunk, chunk))
            if not pending and end is not None:
                if end.error is not None:
                    raise end.error
                done = True
                return ok
            if pending:
                answers, chunk_ok = pending.popleft().result()
                for text in answers:
                    write(text)
                ok = ok and chunk_ok
    finally:
        if not done:
            # Ctrl-C or a closed pipe: drop what is queued rather than answer it first, and
            # stop the workers now (one may be deep in a long line; there is no public way).
            # Then wait for the pool's own thread: left running, its exit races the
            # interpreter's and prints "Bad file descriptor" (1 run in 40 seen).
            for process in list((pool._processes or {}).values()):
                process.terminate()
        pool.shutdown(wait=True, cancel_futures=not done)


def _arrived(arrived: Any, *, wait: bool) -> tuple[list[tuple[int, Line]], _End | None]:
    """The lines that have arrived (about CHUNK at most), waiting for the first if
    `wait`; and the end, if it came."""
    import queue

    chunk: list[tuple[int, Line]] = []
    while len(chunk) < CHUNK:
        try:
            item = arrived.get() if wait and not chunk else arrived.get_nowait()
        except queue.Empty:
            break
        if isinstance(item, _End):
            return chunk, item
        chunk += item
    return chunk, None


def _ignore_interrupts() -> None:
    """In a worker: Ctrl-C goes to the whole process group, and the parent handles it."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


_worker_cache: Cache = {}  # each worker process parses an expression once


def _answer_chunk(chunk: list[tuple[int, Line]]) -> tuple[list[str], bool]:
    """A worker's answers, each whole: they travel back to the parent as one text."""
    answers = []
    ok = True
    for number, line in chunk:
        response = respond(line, number, _worker_cache)
        if response is not None:
            text, line_ok = response
            answers.append(text if isinstance(text, str) else "".join(text))
            ok = ok and line_ok
    return answers, ok


def answer(line: Line, number: int, cache: Cache) -> dict[str, Any] | None:
    """The answer to one request line (`number` counts from 1); None for a blank line.
    A success carries the Result itself; `encode` writes it as the `grad --json` object.
    A line that fails for any reason gets a failure reply: bpcli's errors with their
    own type, running out of memory as MemoryError, a bug in bpcli as InternalError."""
    request_id: object = None
    try:
        if isinstance(line, TooLong):
            raise RequestError(f"longer than {line.limit:,} bytes, the --max-size")
        text = _decode(line, first=number == 1)
        if not text.strip():
            return None
        request = _load(text)
        request_id = _id(request)
        expr, values, lr, steps, conventions = _fields(request)
        graph = _parse(expr, cache)
        if len(graph) > STREAM_NODES:  # kept, its tables would outlive its answer
            cache.pop(expr, None)
        result = evaluate(graph, values, lr, steps, conventions=conventions)
        return {"id": request_id, "ok": True, "result": result}
    except RequestError as exc:
        return _failure(request_id, "RequestError", f"line {number}: {exc}", number)
    except BpcliError as exc:
        return _failure(request_id, type(exc).__name__, str(exc), number)
    except MemoryError:
        cache.clear()  # a huge graph parsed for this line must not stay to fail the next
        return _out_of_memory(request_id, number)
    except Exception as exc:
        if os.environ.get("BPCLI_TRACEBACK"):
            raise
        message = f"line {number}: internal error, a bug in bpcli: {type(exc).__name__}: {exc}"
        return _failure(request_id, "InternalError", message, number)


def encode(reply: dict[str, Any]) -> str:
    """One answer as compact, strict JSON on one line (never NaN or Infinity), in ASCII:
    names such as α come as \\u escapes, which every JSON reader decodes, so a lone
    surrogate from a "\\ud800" in a request can be written too (and ASCII is faster)."""
    result = reply.get("result")
    if result is not None and hasattr(result, "json_chunks"):  # a Result or a TensorResult
        body = "".join(result.json_chunks(compact=True, ascii=True))
        return f"{_head(reply['id'])}{body}}}\n"
    return json.dumps(reply, allow_nan=False, separators=(",", ":")) + "\n"


def _failure(request_id: object, kind: str, message: str, number: int) -> dict[str, Any]:
    return {
        "id": request_id,
        "ok": False,
        "error": {"type": kind, "message": message, "line": number},
    }


# ---- reading one request ------------------------------------------------------


def _decode(line: str | bytes, *, first: bool) -> str:
    """The line as text; a byte that is not UTF-8 (or its surrogateescape stand-in) fails it."""
    try:
        if isinstance(line, bytes):
            text = line.decode("utf-8")
        else:
            text = line
            text.encode("utf-8")  # lone surrogates, as surrogateescape makes of bad bytes
    except (UnicodeDecodeError, UnicodeEncodeError) as exc:
        raise RequestError(_not_utf8(exc)) from None
    # Editors on Windows start a file with a byte order mark; JSON does not allow it.
    return text.removeprefix("\ufeff") if first else text


def _not_utf8(exc: UnicodeDecodeError | UnicodeEncodeError) -> str:
    if isinstance(exc, UnicodeDecodeError):
        column = len(exc.object[: exc.start].decode("utf-8")) + 1
        return f"not UTF-8 text: byte 0x{exc.object[exc.start]:02x} at column {column}"
    char = ord(exc.object[exc.start])
    column = exc.start + 1
    if 0xDC80 <= char <= 0xDCFF:  # a byte that surrogateescape could not decode
        return f"not UTF-8 text: byte 0x{char - 0xDC00:02x} at column {column}"
    return f"not UTF-8 text: U+{char:04X} at column {column}"


def _load(text: str) -> dict[str, Any]:
    try:
        request = json.loads(text.rstrip("\r\n"), parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        message = exc.msg[:1].lower() + exc.msg[1:]
        raise RequestError(f"not JSON at column {exc.colno}: {message}") from None
    except RecursionError:
        raise RequestError("not JSON that bpcli can read: nested too deeply") from None
    except ValueError:  # Python's limit on the digits of an integer
        raise RequestError("not JSON that bpcli can read: a number has too many digits") from None
    if not isinstance(request, dict):
        raise RequestError(f"a request must be a JSON object, got {_shown(request)}")
    return request


def _no_constant(name: str) -> object:
    raise RequestError(f"not JSON: {name} is not a JSON number")


def _id(request: dict[str, Any]) -> object:
    """The id to echo back, once it is known that it can be written out again.

    json.dumps recurses, so the nesting is bounded; 1e400 reads as inf, which
    strict JSON cannot write.
    """
    request_id = request.get("id")
    if request_id is None or isinstance(request_id, (str, int)):  # the usual ids
        return request_id
    level = [request_id]
    for _ in range(MAX_ID_DEPTH):
        if any(isinstance(value, float) and not math.isfinite(value) for value in level):
            raise RequestError("id has a number too large for a float")
        level = [
            item
            for value in level
            if isinstance(value, (list, dict))
            for item in (value.values() if isinstance(value, dict) else value)
        ]
        if not level:
            return request_id
    raise RequestError(f"id is nested more than {MAX_ID_DEPTH} levels deep")


def _fields(
    request: dict[str, Any],
) -> tuple[str, dict[str, float], float | None, Any, Conventions]:
    """Check the kind of each field; the values themselves are bpcli's to judge.

    null is the same as leaving a key out. bpcli's API checks names, missing
    values, finiteness, the step count and steps without lr, with the messages
    `bpcli grad` gives; `steps` goes to it as it came (1.5 is its to refuse).
    """
    unknown = [key for key in request if key not in KEYS]
    if unknown:
        raise RequestError(_unknown_keys(unknown))
    if "expr" not in request:
        raise RequestError('missing "expr", the expression to differentiate')
    expr = request["expr"]
    if not isinstance(expr, str):
        raise RequestError(f"expr must be a string, got {_shown(expr)}")
    lr = request.get("lr")
    if lr is not None:
        if not is_number(lr):
            raise RequestError(f"lr must be a number, got {_shown(lr)}")
        lr = _float("lr", lr)
    steps = request.get("steps")
    if isinstance(steps, float) and steps.is_integer():
        steps = int(steps)  # JSON has one kind of number: 2.0 is 2
    if steps is not None and not is_number(steps):
        raise RequestError(f"steps must be a whole number, got {_shown(steps)}")
    return expr, _values(request.get("values")), lr, steps, _conventions(request.get("max_tie"))


def _values(values: object) -> dict[str, Any]:
    """Numbers as floats; a vector or matrix (nested lists) is the API's to judge."""
    if values is None:
        return {}
    need = "values must be an object of name: number"
    if not isinstance(values, dict):
        raise RequestError(f"{need}, got {_shown(values)}")
    for name, value in values.items():
        if not is_number(value) and not isinstance(value, list):
            raise RequestError(f"{need}; the value of {clipped(name)} is {_shown(value)}")
    return {
        name: value if isinstance(value, list) else _float(f"the value of {clipped(name)}", value)
        for name, value in values.items()
    }


def _float(what: str, value: int | float) -> float:
    """As a float. An infinity (JSON's 1e400) is bpcli's to refuse, as the API does for
    `grad`; a whole number past the float range is the request's."""
    if isinstance(value, float):
        return value
    try:
        return to_float(value)
    except NotANumber as exc:
        raise RequestError(exc.message(what)) from None


def _conventions(max_tie: object) -> Conventions:
    rule = tie_rule("split" if max_tie is None else max_tie)
    if rule is None:
        raise RequestError(f'max_tie must be "split" or "first", got {_shown(max_tie)}')
    return Conventions(max_tie=rule)


def _unknown_keys(unknown: list[str]) -> str:
    shown = ", ".join(clipped(json.dumps(key, ensure_ascii=False)) for key in unknown)
    message = f"unknown key{'s' if len(unknown) > 1 else ''} {shown}"
    guess = difflib.get_close_matches(unknown[0], KEYS, n=1)
    if len(unknown) == 1 and guess:
        message += f' (did you mean "{guess[0]}"?)'
    return f"{message}; a request has the keys {', '.join(KEYS)}"


def _shown(value: object) -> str:
    """A JSON value for a message: scalars as JSON (cut short), containers by kind.

    Containers are never printed: they may be huge or nested too deeply to print.
    """
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    text = json.dumps(value, ensure_ascii=False)
    return clipped(text)


# ---- parsing, once per distinct expression ------------------------------------------


def _parse(expr: str, cache: Cache) -> Graph:
    """The graph of `expr`, parsed at most once while it stays among the recent ones.

    A failed parse is kept too: parsing is a pure function of the text, so the
    same text fails the same way, and a file that repeats a typo pays for it once.
    """
    if expr in cache:
        found = cache.pop(expr)
        cache[expr] = found  # the most recently used goes last
    else:
        try:
            found = parse(expr)
        except BpcliError as exc:
            found = exc
        cache[expr] = found
        if len(cache) > CACHE_SIZE:
            del cache[next(iter(cache))]
    if isinstance(found, BpcliError):
        raise found.with_traceback(None)  # raised again and again: keep no old frames
    return found
