"""Reading the command line: the expression, the input values, sizes and files.

Kept apart from Typer (cli.py) so that the fast path of `bpcli grad … --json`
(entry.py) reads a command line exactly as the full one does without importing it.
"""

from __future__ import annotations

import difflib
import re
import sys
from pathlib import Path
from typing import BinaryIO

from .errors import InputError
from .graph import Graph
from .ops import Conventions, tie_rule


def split_own(args: list[str], takes_value: dict[str, bool]) -> tuple[list[str], list[str]]:
    """A command's own options (`takes_value`: option -> whether it takes a value), and
    every other argument, in order: the expression and the input values (`--x -2`,
    `--x=-2`, `x=-2`, `-tanh(x)`) that would look like options to Click. After `--`,
    everything is free."""
    own: list[str] = []
    free: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, _ = arg.partition("=")
        if arg == "--":
            free.extend(args[i + 1 :])
            break
        if name in takes_value:
            own.append(arg)
            if takes_value[name] and not eq and i + 1 < len(args):
                i += 1
                own.append(args[i])
        else:
            free.append(arg)
        i += 1
    return own, free


_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
_NAME = re.compile(r"[^\W\d]\w*")


def parse_number(what: str, raw: str) -> float:
    """A finite decimal number as the grammar writes it, with an optional sign."""
    text = raw.strip()
    if not _NUMBER.fullmatch(text):
        raise InputError(f"{what} must be a number such as 2, -0.5 or 1e-3, got {raw!r}")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise InputError(f"{what} is too large for a float: {raw}")
    return value


def split_arguments(
    args: list[str], options: set[str]
) -> tuple[list[str], list[tuple[str, float]], list[str]]:
    """Sort free arguments into expressions, (name, value) pairs, and names given as --NAME.

    `options` are the command's own option names, for "did you mean --json?"."""
    expressions: list[str] = []
    values: list[tuple[str, float]] = []
    dashed: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, raw = arg.partition("=")
        if arg.startswith("--") and len(arg) > 2:
            name = name[2:]
            if not _NAME.fullmatch(name):
                raise InputError(f"{arg} is not an option, and {name!r} is not a name")
            if not eq:
                raw = args[i + 1] if i + 1 < len(args) else ""
                i += 1
            if not _NUMBER.fullmatch(raw.strip()):
                guess = difflib.get_close_matches(name, sorted(options), n=1)
                if guess:
                    raise InputError(f"--{name} is not an option; did you mean --{guess[0]}?")
                if not raw:
                    raise InputError(f"--{name} needs a value: --{name} 1.5")
            values.append((name, parse_number(f"the value of {name}", raw)))
            dashed.append(name)
        elif eq and _NAME.fullmatch(name.strip()) and _NUMBER.fullmatch(raw.strip()):
            values.append((name.strip(), parse_number(f"the value of {name.strip()}", raw)))
        else:
            expressions.append(arg)
        i += 1
    return expressions, values, dashed


DEFAULT_MAX_SIZE = "50MB"
_SIZE = re.compile(r"(\d+)\s*(B|KB|MB|GB|KIB|MIB|GIB|K|M|G)?", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9}
_UNITS |= {"GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}


READ_PIECE = 1 << 20
MAX_MAX_SIZE = 10**12  # 1 TB: beyond any memory here, and within a file offset


def parse_size(raw: str) -> int:
    """A size in bytes: 5000000, 50MB, 512KiB (KB, MB, GB are powers of 1000)."""
    found = _SIZE.fullmatch(raw.strip())
    if found is None or int(found.group(1)) == 0:
        raise InputError(f"--max-size is a size such as 50MB, 512KiB or 100000, got {raw!r}")
    size = int(found.group(1)) * _UNITS[(found.group(2) or "").upper()]
    if size > MAX_MAX_SIZE:
        raise InputError(f"--max-size is at most 1000GB, got {raw!r}")
    return size


def read_expression(expressions: list[str], file: Path | None, max_size: int) -> str:
    """The one expression: an argument, `-` for standard input, or --file."""
    sources = len(expressions) + (file is not None)
    if sources == 0:
        raise InputError('no expression given: bpcli grad "(x+y)*z" --x -2 --y 5 --z -4')
    if sources > 1:
        given = [repr(e) for e in expressions] + ([f"--file {file}"] if file else [])
        raise InputError(
            f"give one expression, got {len(given)}: {', '.join(given)}"
            " (quote an expression that has spaces)"
        )
    if file is not None:
        return read_text_file(file, max_size)
    if expressions[0] == "-":
        return read_text(sys.stdin.buffer, "standard input", max_size)
    if len(expressions[0].encode("utf-8", "surrogatepass")) > max_size:
        raise InputError(f"the expression is larger than {max_size:,} bytes, the --max-size")
    return expressions[0]


def read_text(stream: BinaryIO, what: str, max_size: int) -> str:
    """At most `max_size` bytes of UTF-8 text: never more is read into memory."""
    pieces = []
    total = 0
    while total <= max_size:  # in pieces: read(n) would set aside n bytes at once
        piece = stream.read(min(max_size + 1 - total, READ_PIECE))
        if not piece:
            break
        pieces.append(piece)
        total += len(piece)
    data = b"".join(pieces)
    if len(data) > max_size:
        raise InputError(f"{what}: larger than {max_size:,} bytes, the --max-size")
    try:
        return data.decode("utf-8").removeprefix("\ufeff")  # a byte-order mark: Windows editors
    except UnicodeDecodeError as exc:
        raise InputError(f"{what}: not UTF-8 text (byte {exc.start + 1})") from None


def open_input(path: Path | str) -> BinaryIO:
    """A file named on the command line, open for reading, or an InputError saying why not."""
    try:
        return open(path, "rb")  # the caller closes it
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory, not a file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read it ({exc.strerror})") from None


def read_text_file(path: Path, max_size: int) -> str:
    with open_input(path) as stream:
        return read_text(stream, str(path), max_size)


def check_names(
    variables: dict[str, int], values: list[tuple[str, float]], dashed: list[str], options: set[str]
) -> None:
    """Name clashes between input values and bpcli's own options, said in CLI terms."""
    given = {name for name, _ in values}
    for name in variables:
        if name in options and name not in given:
            raise InputError(
                f"missing a value for {name}: --{name} is bpcli's own option,"
                f" so give the input as {name}=VALUE"
            )
    for name in dashed:
        if name not in variables:
            guess = difflib.get_close_matches(name, sorted(options), n=1)
            if guess:
                raise InputError(
                    f"--{name} is neither an input of the expression nor an option;"
                    f" did you mean --{guess[0]}?"
                )


def read_program(
    args: list[str],
    options: set[str],
    file: Path | None,
    max_tie: str,
    max_size: int,
    max_nodes: int,
) -> tuple[Graph, list[tuple[str, float]], Conventions]:
    """The parsed expression, the input values given, and the conventions asked for,
    from a command's free arguments (`options`: its own option names, for hints)."""
    from .parser import parse

    rule = tie_rule(max_tie)
    if rule is None:
        raise InputError(f"--max-tie is split or first, got {max_tie!r}")
    expressions, values, dashed = split_arguments(args, options)
    graph = parse(read_expression(expressions, file, max_size), max_nodes)
    check_names(graph.variables, values, dashed, options)
    return graph, values, Conventions(max_tie=rule)
