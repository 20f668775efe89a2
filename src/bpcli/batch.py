"""`bpcli batch`: answer a stream of JSON Lines requests, one JSON line per request.

A request: {"id": any JSON, "expr": "...", "values": {name: number}, "lr": number,
"steps": n, "max_tie": "split" or "first", "dout": the upstream gradient of a vector or
matrix output}; only "expr" is required. An answer:
{"id": …, "ok": true, "result": the `grad --json` object} or
{"id": …, "ok": false, "error": {"type": …, "message": …, "line": n}}.

Each line is answered on its own: a bad line costs that line only, so one typo
in a file of thousands does not lose the rest; so does a line that runs out of
memory ("type": "MemoryError") or meets a bug ("InternalError"). Answers keep the input's order
and go out in large writes, and at once whenever no more input is waiting, so a script can
talk to bpcli through a pipe. The usual request (a number for each input, with or without
lr) is answered by its graph's passes compiled into straight-line code (`_fast`); any
other request asked again (its id aside) is answered with the text of its first answer.
"""

from __future__ import annotations

import collections
import contextlib
import difflib
import io
import itertools
import json
import math
import os
import re
import stat
import struct
import sys
from collections.abc import Callable, Iterable, Iterator
from json.encoder import encode_basestring_ascii
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, NoReturn, cast

from . import engine
from .api import evaluate
from .arguments import open_input
from .errors import BpcliError, RequestError, clipped, upstream_given_as
from .graph import Graph
from .ops import Conventions, tie_rule
from .parser import parse
from .result import Result, Update, _Form
from .values import NotANumber, is_number, to_float

if TYPE_CHECKING:
    from .tensor import TensorResult

KEYS = ("id", "expr", "values", "lr", "steps", "max_tie", "dout")
CACHE_SIZE = 1024  # parsed expressions kept; a long-running pipe must not grow without end
MAX_ID_DEPTH = 100  # levels of arrays and objects in an id, which is echoed back

Cache = dict[str, Graph | BpcliError]


def answer_source(source: str, jobs: int, limit: int) -> bool:
    """Answer every request in `source` (a file, or - for standard input) on stdout,
    in order; True if every line was answered.

    The answers go out in large writes; whenever the input has no more lines
    waiting (a client that writes a line and waits for its answer, or a slow
    pipe), what is answered is written and flushed before bpcli waits to read.
    From a file, which never waits, stdout's buffer writes them in blocks.
    """

    def answer_all(stream: BinaryIO) -> bool:
        out = Output(waits=not _is_file(stream))
        workers = fan_out(stream, jobs) if out.binary is not None else 1
        if workers == 1:
            ok = run_blocks(read_blocks(stream, limit, out.before_waiting), out)
        else:
            ok = run_parallel(stream, limit, out, workers)
        out.flush()
        return ok

    if source == "-":
        return answer_all(sys.stdin.buffer)
    with open_input(source) as stream:
        return answer_all(stream)


FLUSH_AT = 1 << 16  # characters of answers gathered before they are written to stdout
READ_SIZE = 1 << 16  # bytes of requests read at a time
FAN_OUT = 4 * READ_SIZE  # a smaller file is answered by one process (see fan_out)


def fan_out(stream: BinaryIO, jobs: int) -> int:
    """How many worker processes `--jobs` gets where they can win: at most one a CPU that
    bpcli may run on, and none (one process) for a file of less than FAN_OUT bytes, whose
    few blocks take less time to answer than starting the workers and sharing them out,
    nor where processes cannot be forked safely (Windows has no fork; on macOS a forked
    process may crash in a system library that started a thread). The workers write to
    stdout's file descriptor: where it has none (a test's captured stdout), one process
    answers."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    jobs = min(jobs, cpus)
    if jobs > 1 and (not hasattr(os, "fork") or sys.platform == "darwin"):
        return 1
    if jobs > 1 and _is_file(stream):
        try:
            if os.fstat(stream.fileno()).st_size < FAN_OUT:
                return 1
        except (OSError, ValueError):
            pass
    return max(jobs, 1)


BUFFER = 1 << 20  # bytes the binary stdout holds


class Output:
    """Answers on their way to stdout: gathered, and written FLUSH_AT characters at a time,
    or at once when the input may wait (`before_waiting`), so that a reader that waits
    for an answer gets it.

    Where stdout is a file descriptor, through a binary buffer of its own, in writes of
    whole lines that fit in it: such a write either goes into the buffer whole or, on
    Ctrl-C, not at all, so the reader gets whole lines (the buffer is written out at
    exit), with PYTHONUNBUFFERED set or not. Elsewhere (a test's captured stdout, or
    where the text layer turns newlines into CRLF), through sys.stdout itself.
    """

    def __init__(self, *, waits: bool) -> None:
        self.waits = waits
        self.parts: list[str] = []
        self.size = 0
        self.binary = _binary_stdout()

    def write(self, text: str) -> None:
        self.parts.append(text)
        self.size += len(text)
        if self.size >= FLUSH_AT:
            self.send()

    def send(self) -> None:
        """Hand what is gathered to stdout's buffer (which may keep it a while)."""
        if self.parts:
            text = "".join(self.parts)
            self.parts, self.size = [], 0
            if self.binary is None:
                sys.stdout.write(text)
            else:
                self._send(text.encode("utf-8"))

    def _send(self, data: bytes) -> None:
        assert self.binary is not None
        start = 0
        while len(data) - start > BUFFER:  # whole lines that fit, while they can
            cut = data.rfind(b"\n", start, start + BUFFER) + 1 or data.find(b"\n", start) + 1
            if cut <= start:
                break
            self.binary.write(data[start:cut])
            start = cut
        self.binary.write(data[start:] if start else data)

    def flush(self) -> None:
        self.send()
        (sys.stdout if self.binary is None else self.binary).flush()

    def before_waiting(self, stream: BinaryIO) -> None:
        """Called before a read: from a pipe or a terminal whose next line has not come,
        the answers so far go out now (bpcli may wait long for that line)."""
        if self.waits and not _ready(stream):
            self.flush()


def _binary_stdout() -> io.BufferedWriter | None:
    """A buffered binary writer of stdout's descriptor, where its text is bytes as they
    are (POSIX newlines); None where sys.stdout has no descriptor of its own."""
    if os.linesep != "\n":
        return None
    try:
        fd = sys.stdout.fileno()
        sys.stdout.flush()
    except (AttributeError, OSError, ValueError):
        return None
    return io.BufferedWriter(io.FileIO(fd, "wb", closefd=False), buffer_size=BUFFER)


def _ready(stream: BinaryIO) -> bool:
    """Whether the stream has bytes that a read would get without waiting."""
    try:
        import select

        return bool(select.select([stream.fileno()], [], [], 0)[0])
    except (OSError, ValueError, AttributeError, ImportError):  # no descriptor to poll
        return False


class TooLong:
    """Stands for a line longer than the limit, which was skipped rather than read."""

    def __init__(self, limit: int) -> None:
        self.limit = limit


Line = str | bytes | TooLong


Block = bytes | TooLong  # whole lines joined by newlines, or a line past the limit


def read_blocks(
    stream: BinaryIO, limit: int, before_waiting: Callable[[BinaryIO], None] | None = None
) -> Iterator[Block]:
    """The stream's lines in blocks of those that have arrived (about READ_SIZE bytes at a
    time): each block the bytes of one or more whole lines, joined by their newlines. No
    line of more than `limit` bytes is held in memory: a longer one is read past, and
    stands as a TooLong of its own, which fails that line alone. `before_waiting` is
    called before each read of the stream, which may wait for its writer."""
    read = getattr(stream, "read1", stream.read)
    rest = b""  # the start of a line whose end has not been read
    skipping = False  # past the limit: the rest of this line is not kept
    while True:
        if before_waiting is not None:
            before_waiting(stream)
        data = read(READ_SIZE)
        if not data:
            break
        if skipping:
            end = data.find(b"\n")
            if end < 0:
                continue
            yield TooLong(limit)
            skipping, data = False, data[end + 1 :]
        chunk = rest + data
        cut = chunk.rfind(b"\n")
        rest = chunk[cut + 1 :]
        if cut >= 0:
            yield from _within(chunk[:cut], limit)
        if len(rest) > limit:
            skipping, rest = True, b""
    if skipping:
        yield TooLong(limit)
    elif rest:
        yield rest


def _within(lines: bytes, limit: int) -> Iterator[Block]:
    """Whole lines as blocks, a line longer than `limit` as a TooLong between them."""
    if len(lines) <= limit:
        yield lines
        return
    run: list[bytes] = []
    for line in lines.split(b"\n"):
        if len(line) <= limit:
            run.append(line)
            continue
        if run:
            yield b"\n".join(run)
            run = []
        yield TooLong(limit)
    if run:
        yield b"\n".join(run)


def _lines(block: Block) -> list[bytes] | list[TooLong]:
    return [block] if isinstance(block, TooLong) else block.split(b"\n")


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
    return _answer_lines(enumerate(lines, start=1), {}, None, write)


def run_blocks(blocks: Iterable[Block], out: Output) -> bool:
    """`run` over blocks of lines (`read_blocks`), the answers into `out`."""
    number, ok = 0, True
    cache: Cache = {}
    memo: Memo = {}
    for block in blocks:
        number, block_ok = _answer_block(block, number, cache, memo, out.write)
        ok = ok and block_ok
    return ok


def _answer_block(
    block: Block, number: int, cache: Cache, memo: Memo, write: Callable[[str], None]
) -> tuple[int, bool]:
    """Answer a block's lines, of which the first is line `number` + 1, through `write`:
    the last line's number, and whether every line succeeded."""
    lines = _lines(block)
    ok = _answer_lines(enumerate(lines, start=number + 1), cache, memo, write)
    return number + len(lines), ok


def _answer_lines(
    numbered: Iterable[tuple[int, Line]],
    cache: Cache,
    memo: Memo | None,
    write: Callable[[str], None],
) -> bool:
    """Answer each (number, line) through `write`, one after another; whether all succeeded.
    The usual request is `_fast`'s; any other, or one it leaves, is `respond`'s."""
    ok = True
    for number, line in numbered:
        if FAST:
            try:
                known = _fast(line, cache)
            except Exception:  # out of memory, or a bug: the general path answers the line
                if os.environ.get("BPCLI_TRACEBACK"):
                    raise
                known = None
            if known is not None:
                write(known)
                continue
        response = respond(line, number, cache, memo)
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


def respond(
    line: Line, number: int, cache: Cache, memo: Memo | None = None
) -> tuple[str | Iterator[str], bool] | None:
    """The answer to one line as its JSON text, or for a large one the pieces of that
    text (the last ends the line), and whether it succeeded; None for a blank line.

    Whatever may fail for want of memory happens here, before the first piece is
    written (a streamed answer computes its per-node facts first): a line that
    runs out of memory is answered with a MemoryError reply and costs that line only.
    With a `memo`, a request asked again (its id aside) is answered with the text
    its first answer had.
    """
    reply = answer(line, number, cache, memo)
    if reply is None:
        return None
    request_id = reply["id"]
    try:
        result = reply.get("result")
        if isinstance(result, Result) and len(result.graph) > STREAM_NODES:
            chunks = result.json_chunks(compact=True, ascii=True)
            # The head, "nodes": [ and the first node: every per-node table is made.
            first = [_head(reply["id"]), *itertools.islice(chunks, 3)]
            return _pieces(first, chunks, reply["id"], number), True
        if isinstance(result, Result) and memo is not None and reply.get("key") is not None:
            body = result.json_text(compact=True, ascii=True)
            _remember(memo, reply["key"], body)
            return f"{_head(reply['id'])}{body}}}\n", True
        return encode(reply), reply["ok"] is True
    except MemoryError:
        pass  # answered below, with the memory back (see OUT_OF_MEMORY)
    del reply  # and its result
    cache.clear()
    if memo is not None:
        memo.clear()
    return encode(_out_of_memory(request_id, number)), False


Memo = dict[tuple[Any, ...], str]
MEMO_SIZE = 1024  # answers kept, each at most MEMO_CHARS long
MEMO_CHARS = 1 << 15
MEMO_NODES = 200  # a larger graph's answer is not kept


def _remember(memo: Memo, key: tuple[Any, ...], body: str) -> None:
    if len(body) <= MEMO_CHARS:
        memo[key] = body
        if len(memo) > MEMO_SIZE:
            del memo[next(iter(memo))]


def _memo_key(
    expr: str, values: dict[str, Any], lr: float | None, steps: Any, conventions: Conventions
) -> tuple[Any, ...] | None:
    """What an answer depends on, its id aside; None where equal keys could differ in the
    answer (0.0 and -0.0 are equal, yet written apart)."""
    if 0.0 in values.values() or lr == 0.0 or type(steps) not in (int, type(None)):
        return None
    if any(type(value) is list for value in values.values()):  # a vector: not hashable
        return None
    return (expr, tuple(values.items()), lr, steps, conventions)


_BEFORE_ID, _AFTER_ID = '{"id":', ',"ok":true,"result":'  # an answer's text around its id


def _head(request_id: object) -> str:
    """`{"id":…,"ok":true,"result":`: an answer up to its result."""
    return f"{_BEFORE_ID}{_id_text(request_id)}{_AFTER_ID}"


def _id_text(request_id: object) -> str:
    """An id as JSON, as an answer writes it."""
    if request_id is None:
        return "null"
    if type(request_id) is int:
        return int.__repr__(request_id)
    if type(request_id) is str:
        return encode_basestring_ascii(request_id)
    return json.dumps(request_id, allow_nan=False, separators=(",", ":"))


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
        return
    except MemoryError:
        pass  # answered below, with the memory back (see OUT_OF_MEMORY)
    del block, first, rest  # the answer's pieces, and its result
    yield ("\n" if begun else "") + encode(_out_of_memory(request_id, number))


# OUT_OF_MEMORY: a line that runs out of memory is answered after its `except MemoryError`
# block has ended, never inside it. Inside it, the exception's traceback still holds
# every frame it left, and their graphs and lists: the memory is still used up. And
# CPython 3.11 to 3.13 loop for ever when they cannot allocate the int of an instruction
# offset above 256 while unwinding into a `with` block or out of an `except` block
# (python/cpython#132508): so the handlers only `pass`, and the `with` around a request's
# passes sits at the top of a short function of its own (_run); a command's body runs in
# process.guarded. A test reads the exception table of every function of bpcli
# (tests/test_streams.py).


def _out_of_memory(request_id: object, number: int) -> dict[str, Any]:
    message = (
        f"line {number}: out of memory answering this request;"
        " give it more memory, or send a smaller expression"
    )
    return _failure(request_id, "MemoryError", message, number)


def run_parallel(stream: BinaryIO, limit: int, out: Output, jobs: int) -> bool:
    """`run_blocks`, with the blocks answered by `jobs` worker processes, in turn.

    Block k (about READ_SIZE bytes of whole lines, as read) goes to worker k mod `jobs`
    through a pipe of that worker's own, and the worker writes its answers to stdout
    itself once block k - 1's are written: a baton passes from worker to worker round
    a ring of pipes. The parent only reads and hands out; no answer crosses a second
    pipe, and no block waits for the parent. A worker's pipe holds a few blocks, so
    the parent's write waits while that worker is behind, and a stream of any length
    is never read whole into memory. An answered block is written as soon as its turn
    comes, whether or not the parent is waiting to read: a client that writes a line
    and waits gets its answer. The workers ignore Ctrl-C: the parent alone reports
    it and stops them; a worker writes whole lines (see `_write_lines`), so the reader
    gets whole lines. A worker that fails ends the run with its error, the others
    stopped: a closed stdout (BrokenPipeError) as anywhere in bpcli.
    """
    import multiprocessing
    import select

    out.flush()
    context = multiprocessing.get_context("fork")
    tasks = [os.pipe() for _ in range(jobs)]
    batons = [os.pipe() for _ in range(jobs)]  # worker w reads batons[w], passes to w + 1
    reports = [context.Pipe(duplex=False) for _ in range(jobs)]
    every = [fd for pair in tasks + batons for fd in pair]
    os.write(batons[0][1], b".")  # block 0 is written first
    pipe = _stdout_pipe()
    workers = []
    for w in range(jobs):
        own = (tasks[w][0], batons[w][0], batons[(w + 1) % jobs][1])
        worker = context.Process(
            target=_work, args=(own, every, limit, pipe, reports[w][1]), daemon=True
        )
        worker.start()
        workers.append(worker)
    hands = [write for _, write in tasks]  # the parent keeps these ends only
    for fd in every:
        if fd not in hands:
            os.close(fd)
    for _, sender in reports:
        sender.close()
    for fd in hands:
        os.set_blocking(fd, False)
        _widen(fd)
    ended = [worker.sentinel for worker in workers]

    said: dict[int, tuple[bool, BaseException | None]] = {}  # the workers' reports

    def failed() -> NoReturn:
        _failed(workers, reports, said)

    def hand(fd: int, data: bytes) -> None:
        """Write all of `data` into a worker's pipe, waiting while it is full; a worker
        that ends meanwhile ends the run."""
        view, at = memoryview(data), 0
        while at < len(data):
            try:
                at += os.write(fd, view[at:])
                continue
            except BlockingIOError:
                pass
            except BrokenPipeError:  # the worker is gone: its report says why
                failed()
            if select.select(ended, [fd], [])[0]:
                failed()

    done = False
    try:
        number = 0
        for index, block in enumerate(read_blocks(stream, limit)):
            if isinstance(block, TooLong):
                count, data = 1, _HEAD.pack(number, -1)
            else:
                count, data = block.count(b"\n") + 1, _HEAD.pack(number, len(block)) + block
            hand(hands[index % jobs], data)
            number += count
        for fd in hands:
            os.close(fd)
        hands = []
        waiting = dict(zip(ended, range(jobs), strict=True))
        while waiting:  # every worker ends with its report
            for sentinel in select.select(list(waiting), [], [])[0]:
                w = waiting.pop(sentinel)
                workers[w].join()
                said[w] = _report(reports[w][0])
                if said[w][1] is not None or workers[w].exitcode != 0:
                    failed()
        done = True
        return all(worker_ok for worker_ok, _ in said.values())
    finally:
        for fd in hands:
            os.close(fd)
        if not done:  # Ctrl-C, a closed pipe, a failure: stop the workers now
            for worker in workers:
                worker.terminate()
        for worker in workers:
            worker.join()


_HEAD = struct.Struct("qq")  # a block's first line number - 1, and its size (-1: a TooLong)
PIPE_SIZE = 4 * READ_SIZE  # bytes a worker's pipe of blocks holds (where it can be set)


def _widen(fd: int) -> None:
    """Let a worker's pipe hold a few blocks (Linux; elsewhere the pipe stays as it is)."""
    try:
        import fcntl

        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
    except (ImportError, AttributeError, OSError):
        pass


class _Ended(Exception):
    """In a worker: the worker before it in the ring ended, so this one's turn never comes."""


def _report(receiver: Any) -> tuple[bool, BaseException | None]:
    """An ended worker's last word: (every line answered, None or its failure); a worker
    that ended without one (killed by a signal) failed. Polled, never waited for: the
    other workers, forked with every pipe open, hold this one's end too, so a worker
    that sent nothing leaves no end of file to read."""
    try:
        if receiver.poll():
            found: tuple[bool, BaseException | None] = receiver.recv()
            return found
    except (EOFError, OSError):
        pass
    return False, None


def _failed(
    workers: list[Any], reports: list[Any], said: dict[int, tuple[bool, BaseException | None]]
) -> NoReturn:
    """A worker failed: stop them all, and raise the first cause: a worker's own error
    or death before a closed stdout, before a worker that stopped because another had."""
    import signal

    for worker in workers:
        worker.terminate()
    causes: list[tuple[bool, BaseException]] = []
    for w, worker in enumerate(workers):
        worker.join()
        if w not in said:
            said[w] = _report(reports[w][0])
        failure = said[w][1]
        if isinstance(failure, _Ended):
            continue
        if failure is None and worker.exitcode not in (0, -signal.SIGTERM):
            failure = RuntimeError(
                f"a worker process of --jobs ended with exit code {worker.exitcode}"
            )
        if failure is not None:
            causes.append((isinstance(failure, BrokenPipeError), failure))
    if not causes:
        causes.append((False, RuntimeError("a worker process of --jobs ended early")))
    raise min(causes, key=lambda cause: cause[0])[1]


def _stdout_pipe() -> bool:
    """Whether stdout is not a regular file (a pipe, a terminal): one a write may wait on."""
    return not _is_file(sys.stdout)  # type: ignore[arg-type]


def _work(own: tuple[int, int, int], every: list[int], limit: int, pipe: bool, report: Any) -> None:
    """A worker: answer the blocks from its pipe, each written to stdout in its turn,
    then report (every line answered, None or the failure) to the parent."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C goes to the whole process group
    tasks_fd, baton_in, baton_out = own
    for fd in every:
        if fd not in own:
            os.close(fd)
    _keep_freed_memory()
    cache: Cache = {}  # each worker parses an expression once
    memo: Memo = {}
    ok, failure = True, None
    # the tasks' pipe is kept open until the worker exits: its report comes first (a
    # closed pipe would fail the parent's next write before the report is there to say why)
    try:
        turns = _Turns(baton_in, baton_out, sys.stdout.fileno(), PIPE_PIECE if pipe else FLUSH_AT)
        for number, block in _tasks(tasks_fd, limit, turns):
            answers: list[str] = []
            _, block_ok = _answer_block(block, number, cache, memo, answers.append)
            ok = ok and block_ok
            turns.add(list(_groups(answers)))
        turns.finish()
    except BaseException as exc:  # reported to the parent, which raises it
        failure = exc
    try:
        report.send((ok, failure))
    except Exception:  # an error that cannot be pickled: its text
        report.send((ok, RuntimeError(f"{type(failure).__name__}: {failure}")))


def _tasks(fd: int, limit: int, turns: _Turns) -> Iterator[tuple[int, Block]]:
    """The blocks the parent hands a worker through its pipe `fd`, each as (the number of
    the line before it, the block). While no whole block has come, the answers waiting
    for their turn are written as it comes (a reader may be waiting for them)."""
    buffer = bytearray()
    while True:
        if len(buffer) >= _HEAD.size:
            number, size = _HEAD.unpack_from(buffer)
            end = _HEAD.size + max(size, 0)
            if len(buffer) >= end:
                with memoryview(buffer) as view:  # one copy of the block, not two
                    block: Block = TooLong(limit) if size < 0 else bytes(view[_HEAD.size : end])
                del buffer[:end]
                yield number, block
                continue
        turns.wait_for(fd)
        data = os.read(fd, PIPE_SIZE)
        if not data:  # the parent has handed out every block
            return
        buffer += data


AHEAD = 4  # answered blocks a worker holds while it waits for their turn


class _Turns:
    """A worker's answered blocks, each written to stdout when its turn comes: a byte (the
    baton) from the worker before it in the ring says that the block before is written;
    once this one is, the byte goes on to the next worker. Waiting for its turn, a
    worker answers its next block (up to AHEAD of them): the two never wait for each
    other in step, block by block."""

    def __init__(self, baton_in: int, baton_out: int, fd: int, piece: int) -> None:
        from select import select

        self.baton_in, self.baton_out, self.fd, self.piece = baton_in, baton_out, fd, piece
        self.waiting: collections.deque[list[bytes]] = collections.deque()
        self.select = select

    def add(self, groups: list[bytes]) -> None:
        """An answered block's text: written at once if its turn has come."""
        self.waiting.append(groups)
        while self.waiting and (
            len(self.waiting) > AHEAD or self.select([self.baton_in], [], [], 0)[0]
        ):
            self._take_turn()

    def wait_for(self, fd: int) -> None:
        """Until `fd` has something to read, write each waiting block as its turn comes."""
        while self.waiting:
            ready = self.select([fd, self.baton_in], [], [])[0]
            if self.baton_in in ready:
                self._take_turn()
            if fd in ready:
                return

    def finish(self) -> None:
        """Write every waiting block, each in its turn."""
        while self.waiting:
            self._take_turn()

    def _take_turn(self) -> None:
        """Wait for the baton, write the oldest waiting block, and pass the baton on."""
        if not os.read(self.baton_in, 1):
            raise _Ended
        groups = self.waiting.popleft()
        try:
            for data in groups:
                _write_lines(self.fd, data, self.piece)
        finally:
            with contextlib.suppress(BrokenPipeError):  # the next one has ended
                os.write(self.baton_out, b".")


def _keep_freed_memory() -> None:
    """glibc hands the top of the heap back to the system as soon as 128 KB of it is free,
    and a block's megabyte of answers is made and freed again for every block: a page
    fault each 4 KB, a sixth of a worker's time. A worker keeps what it freed instead."""
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        libc.mallopt(-1, 1 << 26)  # M_TRIM_THRESHOLD: 64 MB
    except (OSError, AttributeError, TypeError):  # not glibc: nothing to do
        pass


PIPE_PIECE = 4096  # POSIX's PIPE_BUF: a write to a pipe of at most this many bytes is whole


def _groups(answers: list[str]) -> Iterator[bytes]:
    """The answers in UTF-8, about FLUSH_AT at a time (a block's whole text would be a
    megabyte made and dropped for every block)."""
    group: list[str] = []
    size = 0
    for text in answers:
        group.append(text)
        size += len(text)
        if size >= FLUSH_AT:
            yield "".join(group).encode("utf-8")
            group, size = [], 0
    if group:
        yield "".join(group).encode("utf-8")


def _write_lines(fd: int, data: bytes, piece: int) -> None:
    """Write `data` in writes of whole lines of at most `piece` bytes where lines are that
    short: stopped at any moment (the parent's Ctrl-C), the worker leaves whole lines.
    Into a pipe, a write of at most PIPE_BUF bytes goes in whole or not at all."""
    view = memoryview(data)
    start, end = 0, len(data)
    while start < end:
        cut = end if end - start <= piece else data.rfind(b"\n", start, start + piece) + 1
        if cut <= start:  # a line longer than a piece: as it is
            cut = data.find(b"\n", start) + 1 or end
        while start < cut:
            start += os.write(fd, view[start:cut])


def answer(
    line: Line, number: int, cache: Cache, memo: Memo | None = None
) -> dict[str, Any] | None:
    """The answer to one request line (`number` counts from 1); None for a blank line.
    A success carries the Result itself (or, for a request in the `memo`, its text, and
    for one that may go there, its "key"); `encode` writes it as the `grad --json` object.
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
        dout = _dout(request.get("dout"))
        if dout is not None:  # not memoised: its lists are not hashable
            memo = None
        key = None if memo is None else _memo_key(expr, values, lr, steps, conventions)
        if key is not None:
            known = memo.pop(key, None)  # type: ignore[union-attr]
            if known is not None:
                memo[key] = known  # type: ignore[index]  # the most recently used goes last
                return {"id": request_id, "ok": True, "result": known}
        result = _run(expr, values, lr, steps, conventions, dout, cache)
        if key is not None and len(result.graph) <= MEMO_NODES:
            return {"id": request_id, "ok": True, "result": result, "key": key}
        return {"id": request_id, "ok": True, "result": result}
    except RequestError as exc:
        return _failure(request_id, "RequestError", f"line {number}: {exc}", number)
    except BpcliError as exc:
        return _failure(request_id, type(exc).__name__, str(exc), number)
    except MemoryError:
        pass  # answered below, with the memory back (see OUT_OF_MEMORY)
    except Exception as exc:
        if os.environ.get("BPCLI_TRACEBACK"):
            raise
        message = f"line {number}: internal error, a bug in bpcli: {type(exc).__name__}: {exc}"
        return _failure(request_id, "InternalError", message, number)
    cache.clear()  # a huge graph parsed for this line must not stay to fail the next
    return _out_of_memory(request_id, number)


def _run(
    expr: str,
    values: dict[str, float],
    lr: float | None,
    steps: int | None,
    conventions: Conventions,
    dout: Any,
    cache: Cache,
) -> Result | TensorResult:
    """A request's passes. A function of its own (see OUT_OF_MEMORY): its `with`
    covers only the first instructions of a short function, and its graph goes with its
    frame."""
    graph = _parse(expr, cache)
    if len(graph) > STREAM_NODES:  # kept, its tables would outlive its answer
        cache.pop(expr, None)
    with upstream_given_as('"dout"'):  # a request's key, not grad's --dout
        return evaluate(graph, values, lr, steps, conventions=conventions, dout=dout)


def encode(reply: dict[str, Any]) -> str:
    """One answer as compact, strict JSON on one line (never NaN or Infinity), in ASCII:
    names such as α come as \\u escapes, which every JSON reader decodes, so a lone
    surrogate from a "\\ud800" in a request can be written too (and ASCII is faster)."""
    result = reply.get("result")
    if isinstance(result, Result):
        return f"{_head(reply['id'])}{result.json_text(compact=True, ascii=True)}}}\n"
    if isinstance(result, str):  # an answer's text, from the memo
        return f"{_head(reply['id'])}{result}}}\n"
    if result is not None and hasattr(result, "json_chunks"):  # a tensor.TensorResult
        return f"{_head(reply['id'])}{''.join(result.json_chunks(compact=True, ascii=True))}}}\n"
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
        name: value
        if type(value) is float or isinstance(value, list)
        else _float(f"the value of {clipped(name)}", value)
        for name, value in values.items()
    }


def _dout(dout: object) -> object:
    """The upstream gradient, as `grad --dout` takes it: a number or nested lists, which
    the API judges."""
    if dout is not None and not is_number(dout) and not isinstance(dout, list):
        raise RequestError(f"dout must be a number or an array, got {_shown(dout)}")
    return dout


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
    return _CONVENTIONS[rule]


_CONVENTIONS = {rule: Conventions(max_tie=rule) for rule in ("split", "first")}  # made once


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


# ---- the common request, answered by its graph's straight-line passes ---------------

FAST = True  # False: every line takes the general path (the tests compare the two)
FAST_AFTER = 8  # a graph's passes are compiled after this many answers a node (at most 400)
_FAST_KEYS = frozenset(("id", "expr", "values", "lr"))
_NUMBER_KINDS = frozenset((float, int))
_SCAN: Callable[[str, int], tuple[Any, int]]
_SCAN = json.JSONDecoder(parse_constant=_no_constant).scan_once  # type: ignore[attr-defined]
_FORM = _Form.of(True, True)  # batch's JSON: compact, ASCII


def _fast(line: Line, cache: Cache) -> str | None:
    """The answer to a request of the usual shape, {"id": a number, a string or null,
    "expr": an expression parsed before, "values": a finite number for each of its inputs,
    "lr": a finite number or null}, as its text: from the graph's straight-line passes
    (`engine.straight_line`) and the graph's writer of the answer (`_writer`), with each
    number's repr, as json_text writes it. None for anything else, or where the passes meet
    anything but plain finite numbers: the general path answers that line (and says
    what is wrong, if anything is), so every answer and every message is its own."""
    try:
        if type(line) is bytes:
            text = line.decode("utf-8")
        elif type(line) is str:
            line.encode("utf-8")  # lone surrogates, as surrogateescape makes of bad bytes
            text = line.removesuffix("\n")
        else:
            return None
        request, end = _SCAN(text, 0)
    except Exception:  # not JSON, not UTF-8, a BOM, a space first: the general path's
        return None
    if end != len(text) or type(request) is not dict or not request.keys() <= _FAST_KEYS:
        return None
    expr, values = request.get("expr"), request.get("values")
    if type(expr) is not str or type(values) is not dict:
        return None
    graph = cache.get(expr)
    if type(graph) is not Graph:
        return None  # not parsed yet, or failed to parse
    variables = graph.variables
    if len(values) != len(variables):
        return None
    try:
        inputs = list(map(values.__getitem__, variables))
        if not _NUMBER_KINDS.issuperset(map(type, inputs)):  # true, text, a vector: general
            return None
        inputs = list(map(float, inputs))
        lr = request.get("lr")
        if type(lr) is not float and lr is not None:
            if type(lr) is not int:
                return None
            lr = float(lr)
    except (KeyError, OverflowError):  # a name that is not an input; an int past floats
        return None
    total = sum(inputs, 0.0 if lr is None else lr)
    if total - total:  # an infinity (1e400 reads as inf), or a sum too large: general
        return None
    request_id = request.get("id")
    if type(request_id) is not int:
        if request_id is not None and type(request_id) is not str:
            return None
        request_id = _id_text(request_id)  # an int is written by the f-string as it is
    key = _PLAN[lr is None]
    plan: Plan | Literal[False] | None = graph.derived.get(key)
    if plan is None:
        # compiled once it has paid for itself (compiling costs about what 400 answers a
        # node save): until then, or if it cannot be, the general path answers
        uses = graph.derived[key, "uses"] = graph.derived.get((key, "uses"), 0) + 1
        if uses <= min(FAST_AFTER * len(graph), 400):
            return None
        plan = _plan(graph, inputs, lr)
    if not plan:
        return None
    run, answer = plan
    numbers = run(inputs, lr)
    if numbers is None:
        return None
    cache[expr] = cache.pop(expr)  # the most recently used goes last
    return answer(numbers, lr, request_id)


_PLAN = {True: ("batch plan", "no lr"), False: ("batch plan", "lr")}
Plan = tuple[
    Callable[[list[float], float | None], list[Any] | None],
    Callable[[list[Any], Any, str | int], str],
]


def _plan(graph: Graph, inputs: list[float], lr: float | None) -> Plan | Literal[False] | None:
    """How `_fast` answers a request for this graph with or without lr: the graph's
    straight-line passes, and what writes the answer from their numbers (`_writer`),
    made from Result's template of the answer (made once per graph) with the numbers
    that never change (the one step, a constant's gradient: null) in their places.
    Made from these inputs' answer (the template does not depend on the numbers); None
    if these passes fail (made at the next line), False if the graph has none (kept)."""
    key = _PLAN[lr is None]
    straight = engine.straight_line(graph)
    if straight is None:
        graph.derived[key] = False
        return False
    numbers = straight.run(inputs, lr)
    if numbers is None:
        return None
    n, size = len(graph), len(engine.edges(graph).order)
    at = 2 * n + 2 * size  # where json_text's list of numbers has the update's
    update = None
    if lr is not None:
        moved = dict(zip(graph.variables, cast("list[float]", numbers[at:-1]), strict=True))
        update = Update(lr, 1, moved, cast(float, numbers[-1]))
    point = dict(zip(graph.variables, inputs, strict=True))
    values = cast("list[float]", numbers[:n])
    result = Result(graph, point, values, numbers[n : 2 * n], _CONVENTIONS["split"], update)
    made = result._answer_template(_FORM)
    if made is None:
        graph.derived[key] = False
        return False
    template, pick = made
    slots = iter(pick(list(range(at + 3 + len(graph.variables)))))  # their places in that list
    pieces: list[str | int] = []  # the template's text, and the places of its numbers
    for piece in re.split("(%%|%s)", template):
        if piece != "%s":
            pieces.append(piece)
            continue
        place = next(slots)
        if place == at + 1:  # the update's steps: one
            pieces.append("1")
            continue
        place = len(numbers) if place == at else place if place < at else place - 2  # lr last
        place = straight.same.get(place, place)
        if place in straight.nones:
            pieces.append("null")
        elif place in straight.known:
            pieces.append(repr(straight.known[place]))
        else:
            pieces.append(place)
    if sum(isinstance(piece, int) for piece in pieces) < 2:  # one number: not worth a case
        graph.derived[key] = False
        return False
    plan = graph.derived[key] = (straight.run, _writer(pieces, [*numbers, lr]))
    return plan


def _writer(
    pieces: list[str | int], first: list[Any]
) -> Callable[[list[Any], Any, str | int], str]:
    """What writes an answer, `answer(numbers, lr, the id: an int, or its JSON text)`:
    one f-string of the answer's constant pieces (names in its scope: no text of a
    request's is ever read as code) with each number's repr in its places. A number in
    more than one place (an input's value, its gradient, the output) is written once;
    one equal to another, and not zero, is the same float to the bit, and takes the
    other's text (x's and y's gradients in (x+y)*z are z's value). `first` is the
    numbers of the answer the plan is made from, lr last (its place is len(numbers)):
    where two were equal there, the answer asks at each line whether they still are."""
    counts = collections.Counter(piece for piece in pieces if isinstance(piece, int))
    seen: dict[float, int] = {}
    like = {}  # a place: the place of the first number equal to it
    for place in counts:
        value = first[place]
        if type(value) is float and value:
            like[place] = seen.setdefault(value, place)
    kept = {place for place in counts if counts[place] > 1 or like.get(place, place) != place}
    kept |= {like[place] for place in kept if place in like}

    def number(place: int) -> str:
        return "lr" if place == len(first) - 1 else f"n[{place}]"

    scope: dict[str, Any] = {"P0": _BEFORE_ID}
    lines, body, text, made = [], ["{P0}{i}"], _AFTER_ID, set()
    for piece in pieces:
        if isinstance(piece, str):
            text += "%" if piece == "%%" else piece
            continue
        name = f"P{len(scope)}"
        scope[name], text = text, ""
        if piece not in kept:
            body.append(f"{{{name}}}{{{number(piece)}!r}}")
            continue
        if piece not in made:  # its first place: its text, kept for the others
            written, other = f"f'{{{number(piece)}!r}}'", like.get(piece, piece)
            if other != piece:
                written = f"t{other} if {number(piece)} == {number(other)} != 0.0 else {written}"
            lines.append(f"t{piece} = {written}")
            made.add(piece)
        body.append(f"{{{name}}}{{t{piece}}}")
    name = f"P{len(scope)}"
    scope[name] = text + "}\n"
    body.append(f"{{{name}}}")
    source = "\n".join(
        [
            "def answer(n, lr, i):",
            *(f"    {line}" for line in lines),
            f'    return f"{"".join(body)}"',
        ]
    )
    exec(compile(source, ANSWER_FILENAME, "exec"), scope)  # the graph's places and names only
    answer: Callable[[list[Any], Any, str | int], str] = scope["answer"]
    return answer


ANSWER_FILENAME = "<bpcli.batch answer>"


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
