"""Reading the command line: grad's options, the expression, the input values, sizes,
and every input file or stream, through one reader that holds at most the size limit.

Kept apart from Typer (cli.py) so that the fast path of `bpcli grad … --json`
(entry.py) reads a command line exactly as the full one does without importing it:
the options are declared here once, and cli.py builds the Typer command from them.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
import sys
from collections.abc import Collection
from contextlib import suppress
from itertools import pairwise
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

from .errors import InputError, ParseError, clipped
from .graph import Graph
from .i18n import N_, tr
from .ops import Conventions, TieRule, tie_rule
from .parser import MAX_NODES, parse
from .syntax import NAME, SIGNED_NUMBER
from .values import NotANumber, to_float

HELP_FLAGS = ("-h", "--help")


class Option(NamedTuple):  # not a dataclass: this is on the fast path, and 5x cheaper to make
    """One command-line option, declared once: cli.py gives the command's parameter of
    the same name its Typer option from this, and the fast path (entry.py) reads a
    command line by the same entries. The parameter's type is the command's signature."""

    name: str  # "--lr"
    param: str  # the command's parameter: "lr"
    default: Any
    metavar: str
    help: str
    flag: bool = False  # an on/off switch: takes no value
    min: int | None = None
    max: int | None = None

    def takes(self, raw: str) -> bool:
        """Whether `raw` is a whole number in the option's range (as Typer would take it;
        what is not, is the full command line's to refuse)."""
        if not (raw.isascii() and raw.isdigit()):
            return False
        value = int(raw)
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


PRECISION = Option("--precision", "precision", 6, "N", "Significant digits shown.", min=1, max=17)
FILE = Option("--file", "file", None, "PATH", "Read the expression from a file.")
MAX_TIE = Option(
    "--max-tie",
    "max_tie",
    "split",
    "split|first",
    "A max/min tie splits the gradient evenly, or sends it all to the first.",
)
MAX_SIZE_OPTION = Option(
    "--max-size",
    "max_size",
    "50MB",  # of every input: a file, stdin, a batch line, a problem set
    "SIZE",
    "The largest input read, in bytes or with KB, MB, GB (a file, stdin, a batch line).",
)
MAX_NODES_OPTION = Option(
    "--max-nodes",
    "max_nodes",
    MAX_NODES,
    "N",
    "The most nodes an expression may have; an answer takes about 2 KB a node.",
    min=1,
)

JOBS = Option(
    "--jobs",
    "jobs",
    1,
    "N",
    "Answer with N worker processes: at most one a CPU, and none for a file under"
    " 256 KB, which one process answers faster.",
    min=1,
    max=256,
)

# Every command's: the language of what bpcli writes for a person (i18n.py).
LANG_OPTION = Option(
    "--lang",
    "lang",
    None,
    "ko|en",
    "The language of what bpcli writes for people, Korean or English (JSON stays the same)."
    " Default: BPCLI_LANG, else the locale (LANGUAGE, LC_ALL, LC_MESSAGES, LANG).",
)

# `bpcli grad`'s options, in the order --help lists them.
GRAD_OPTIONS = (
    Option(
        "--lr", "lr", None, "ALPHA", "Learning rate: also show the update step x := x - α·∂f/∂x."
    ),
    Option(
        "--steps",
        "steps",
        None,
        "N",
        "Repeat the update N times and show the trajectory and its chart (needs --lr;"
        " at most 100,000 steps, and steps × nodes at most 10,000,000; past 1,000 steps,"
        " every k-th step is kept).",
        min=1,
    ),
    Option(
        "--explain",
        "explain",
        False,
        "",
        "Walk through the forward and backward pass, gate by gate.",
        flag=True,
    ),
    Option(
        "--format",
        "fmt",
        "table",
        "table|markdown|latex",
        "Tables in the terminal, or the --explain walkthrough as Markdown or LaTeX.",
    ),
    Option(
        "--plot",
        "plot",
        None,
        "FILE",
        "With --steps, draw the descent into FILE (.svg, .png or .pdf; needs matplotlib).",
    ),
    Option(
        "--gradcheck",
        "check_grad",
        False,
        "",
        "Check the gradients against central differences (exit 1 if one is wrong;"
        " inconclusive where the numeric gradient is too inaccurate to tell).",
        flag=True,
    ),
    Option(
        "--gradcheck-step",
        "check_step",
        1e-5,
        "H",
        "The step h of --gradcheck (for a mismatch, h·10^k are tried too).",
    ),
    Option(
        "--json",
        "as_json",
        False,
        "",
        "Write one JSON object to stdout instead of tables.",
        flag=True,
    ),
    Option(
        "--no-nodes",
        "no_nodes",
        False,
        "",
        "Leave out the node rows (and, in JSON, the nodes and the expression).",
        flag=True,
    ),
    Option(
        "--dout",
        "dout",
        None,
        "ARRAY",
        "The upstream gradient of a vector or matrix output, of its shape: [1, 0] or @FILE.",
    ),
    PRECISION,
    FILE,
    MAX_TIE,
    MAX_SIZE_OPTION,
    MAX_NODES_OPTION,
)


def split_own(args: list[str], takes_value: dict[str, bool]) -> tuple[list[str], list[str]]:
    """A command's own options (`takes_value`: option -> whether it takes a value), and
    every other argument, in order: the expression and the input values (`--x -2`,
    `--x=-2`, `x=-2`, `-tanh(x)`) that would look like options to Click. `--` ends the
    options: it and everything after it are free (split_arguments reads them as such).
    An option given twice (a flag too) is an InputError, as an input given twice is."""
    own: list[str] = []
    own_names: set[str] = set()
    free: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, _ = arg.partition("=")
        if arg == "--":
            free.extend(args[i:])
            break
        if name in takes_value:
            if name in own_names and name not in HELP_FLAGS:  # one rule, as for an input
                raise InputError(tr("{name} is given twice").format(name=name))
            own_names.add(name)
            own.append(arg)
            if takes_value[name] and not eq and i + 1 < len(args):
                i += 1
                own.append(args[i])
        else:
            free.append(arg)
        i += 1
    return own, free


def parse_number(what: str, raw: str) -> float:
    """A finite decimal number as the grammar writes it, with an optional sign."""
    text = raw.strip()
    if not SIGNED_NUMBER.fullmatch(text):
        raise InputError(
            tr("{what} must be a number such as 2, -0.5 or 1e-3, got {raw!r}").format(
                what=what, raw=clipped(raw)
            )
        )
    try:
        return to_float(float(text))
    except NotANumber:  # the text has a number's form, so the float can only be too large
        raise InputError(
            tr("{what} is too large for a float: {raw}").format(what=what, raw=clipped(raw))
        ) from None


def is_array_text(raw: str) -> bool:
    """A value written as a vector or matrix (`[1, 2]`) or a file of one (`@w.npy`)."""
    return raw.lstrip()[:1] in ("[", "@")


# The files a vector or matrix may be read from, by suffix (README, "Vectors and matrices").
ARRAY_FILES = (".json", ".csv", ".npy")


def _either(words: list[str]) -> str:
    """`a, b or c`: a list joined by the catalog's message for it."""
    if len(words) == 1:
        return words[0]
    return tr("{items} or {last}").format(items=", ".join(words[:-1]), last=words[-1])


def parse_value(what: str, raw: str) -> Any:
    """A vector or matrix: JSON text (`[[0.1, 0.5], [-0.3, 0.8]]`), or `@FILE` for a .json
    file of the same, a .csv file (one row: a vector; more: a matrix) or NumPy's .npy;
    as a float64 NumPy array (a number in a file is a float). InputError naming `what`."""
    from .values import NotATensor, to_value

    text = raw.strip()
    source = what
    if text.startswith("@"):
        path = text[1:]
        suffix = os.path.splitext(path)[1].lower()
        if suffix not in ARRAY_FILES:
            raise InputError(
                tr("{what}: {text} must name a {items} file (by its suffix)").format(
                    what=what, text=clipped(text), items=_either(list(ARRAY_FILES))
                )
            )
        source = f"{what} ({clipped(path)})"
        if suffix == ".npy":
            data: Any = _read_npy(path, source)
        else:
            content = read_text(Path(path), source, MAX_SIZE)
            data = _json_array(content, source) if suffix == ".json" else _csv(content, source)
    else:
        data = _json_array(text, what)
    try:
        return to_value(data)
    except (NotANumber, NotATensor) as exc:  # a number in a file, too large; a ragged array
        raise InputError(exc.message(source)) from None


def parse_dout(raw: str) -> Any:
    """--dout: a number, or a vector or matrix as an input value is written."""
    if is_array_text(raw):
        return parse_value("--dout", raw)
    return parse_number("--dout", raw)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number bpcli takes")


def _json_array(text: str, what: str) -> Any:
    import json

    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise InputError(
            tr("{what} is not a number nor a JSON array such as [1, 2]: {reason}").format(
                what=what, reason=exc
            )
        ) from None


def _csv(text: str, what: str) -> Any:
    """Rows of numbers separated by commas: a vector if there is one row."""
    rows = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        row = []
        for cell in line.split(","):
            if not SIGNED_NUMBER.fullmatch(cell.strip()):
                raise InputError(
                    tr("{what}: line {n} has {strip!r}, not a number").format(
                        what=what, n=n, strip=clipped(cell.strip())
                    )
                )
            row.append(float(cell))
        rows.append(row)
    return rows[0] if len(rows) == 1 else rows


NPY_SIGNATURE = b"\x93NUMPY"  # how every .npy file begins (NumPy's format, version 1 to 3)


def _read_npy(path: str, what: str) -> Any:
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise InputError(f"{what}: {exc.strerror or exc}") from None
    if size > MAX_SIZE:
        raise InputError(
            tr("{what}: larger than {max_size:,} bytes").format(what=what, max_size=MAX_SIZE)
        )
    try:
        with open(path, "rb") as file:  # a short block (batch.OUT_OF_MEMORY)
            return _npy_array(file, what)
    except OSError as exc:
        raise InputError(f"{what}: {exc.strerror or exc}") from None
    except ValueError:  # NumPy's header or data, cut short or not NumPy's
        raise InputError(
            tr("{what}: a damaged .npy file: it is cut short, or its header is not NumPy's").format(
                what=what
            )
        ) from None


def _npy_array(file: BinaryIO, what: str) -> Any:
    """The array of an open .npy file, refusing what is not one, or holds objects."""
    import numpy as np

    # np.load would read any other file as a pickle (and refuse it in pickle's words)
    if file.read(len(NPY_SIGNATURE)) != NPY_SIGNATURE:
        raise InputError(
            tr("{what}: not a NumPy .npy file (it does not start as numpy.save writes one)").format(
                what=what
            )
        )
    file.seek(0)
    version = np.lib.format.read_magic(file)
    if version == (1, 0):
        dtype = np.lib.format.read_array_header_1_0(file)[2]
    else:
        dtype = np.lib.format.read_array_header_2_0(file)[2]
    if dtype.hasobject:  # pickled Python objects: loading them could run any code
        raise InputError(
            tr(
                "{what}: the .npy file holds Python objects, not numbers"
                " (bpcli never loads pickled objects)"
            ).format(what=what)
        )
    file.seek(0)
    return np.lib.format.read_array(file, allow_pickle=False)


def split_arguments(
    args: list[str], options: set[str]
) -> tuple[list[str], list[tuple[str, Any]], list[str]]:
    """Sort free arguments into expressions, (name, value) pairs, and names given as --NAME.

    `options` are the command's own option names, for "did you mean --json?". After
    `--`, every argument is a positional, the expression or NAME=VALUE: `--x` is `-(-x)`."""
    expressions: list[str] = []
    values: list[tuple[str, Any]] = []
    dashed: list[str] = []
    positional = False
    i = 0
    while i < len(args):
        arg = args[i]
        name, eq, raw = arg.partition("=")
        if arg == "--" and not positional:
            positional = True
        elif arg.startswith("--") and len(arg) > 2 and not positional:
            name = name[2:]
            shown = clipped(name)
            if not NAME.fullmatch(name):
                raise InputError(
                    tr("{arg} is not an option, and {shown!r} is not a name").format(
                        arg=clipped(arg), shown=shown
                    )
                )
            if not eq:
                raw = args[i + 1] if i + 1 < len(args) else ""
                i += 1
            check_utf8(tr("the value of {name}").format(name=shown), raw)
            if is_array_text(raw):
                values.append(
                    (name, parse_value(tr("the value of {name}").format(name=shown), raw))
                )
                dashed.append(name)
                i += 1
                continue
            if not SIGNED_NUMBER.fullmatch(raw.strip()):
                guess = difflib.get_close_matches(name, sorted(options), n=1)
                if guess:
                    raise InputError(
                        tr("--{shown} is not an option; did you mean --{guess}?").format(
                            shown=shown, guess=guess[0]
                        )
                    )
                if not raw:
                    example = f": --{name} 1.5" if shown == name else ""
                    raise InputError(
                        tr("--{shown} needs a value{example}").format(shown=shown, example=example)
                    )
            values.append((name, parse_number(tr("the value of {name}").format(name=shown), raw)))
            dashed.append(name)
        elif eq and NAME.fullmatch(name.strip()) and SIGNED_NUMBER.fullmatch(raw.strip()):
            what = tr("the value of {name}").format(name=clipped(name.strip()))
            values.append((name.strip(), parse_number(what, raw)))
        elif eq and NAME.fullmatch(name.strip()) and is_array_text(raw):
            what = tr("the value of {name}").format(name=clipped(name.strip()))
            values.append((name.strip(), parse_value(what, raw)))
        else:
            expressions.append(arg)
        i += 1
    return expressions, values, dashed


_SIZE = re.compile(r"([0-9]+)\s*(B|KB|MB|GB|KIB|MIB|GIB|K|M|G)?", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 10**3, "KB": 10**3, "M": 10**6, "MB": 10**6, "G": 10**9}
_UNITS |= {"GB": 10**9, "KIB": 2**10, "MIB": 2**20, "GIB": 2**30}


READ_PIECE = 1 << 20
MAX_MAX_SIZE = 10**12  # 1 TB: beyond any memory here, and within a file offset


def parse_size(raw: str) -> int:
    """A size in bytes: 5000000, 50MB, 512KiB (KB, MB, GB are powers of 1000)."""
    found = _SIZE.fullmatch(raw.strip())
    if found is None or int(found.group(1)) == 0:
        raise InputError(
            tr("--max-size is a size such as 50MB, 512KiB or 100000, got {raw!r}").format(
                raw=clipped(raw)
            )
        )
    size = int(found.group(1)) * _UNITS[(found.group(2) or "").upper()]
    if size > MAX_MAX_SIZE:
        raise InputError(tr("--max-size is at most 1000GB, got {raw!r}").format(raw=clipped(raw)))
    return size


MAX_SIZE = parse_size(MAX_SIZE_OPTION.default)  # of every input unless --max-size says


_OPERATOR = re.compile(r"[-+*/^(),;#=\s]")  # what only an expression has


def read_expression(
    expressions: list[str], file: Path | None, max_size: int, options: Collection[str] = ()
) -> str:
    """The one expression: an argument, `-` for standard input, or --file (`options`: the
    command's own option names, for one given after `--`)."""
    sources = len(expressions) + (file is not None)
    if sources == 0:
        raise InputError(tr('no expression given: bpcli grad "(x+y)*z" --x -2 --y 5 --z -4'))
    if sources > 1:
        for arg in expressions:  # `x=nan`, `x=0x10`, `x=`: a value that is not a number
            name, eq, raw = arg.partition("=")
            if eq and NAME.fullmatch(name.strip()) and not _OPERATOR.search(raw.lstrip("+-")):
                check_utf8(tr("the value of {name}").format(name=clipped(name.strip())), raw)
                parse_number(tr("the value of {name}").format(name=clipped(name.strip())), raw)
        for arg in expressions:  # only after `--`: before it, an option is read as one
            if arg.startswith("--") and arg[2:].partition("=")[0] in options:
                late = clipped(arg)
                raise InputError(
                    tr("{late} is after --, which ends the options: put it before --").format(
                        late=late
                    )
                )
        for arg, raw in pairwise(expressions):  # -x -2: one dash where two are meant
            name, value = clipped(arg[1:]), clipped(raw)
            one_dash = arg[:1] == "-" and arg[:2] != "--" and NAME.fullmatch(arg[1:])
            if one_dash and SIGNED_NUMBER.fullmatch(raw.strip()):
                raise InputError(
                    tr(
                        "-{name} {value} is not an input's value: did you mean --{name} "
                        "{value}? (two dashes, or {name}={value})"
                    ).format(name=name, value=value)
                )
        given = [repr(clipped(e)) for e in expressions] + ([f"--file {file}"] if file else [])
        raise InputError(
            tr(
                "give one expression, got {count}: {items} (quote an expression that has spaces)"
            ).format(count=len(given), items=", ".join(given))
        )
    if file is not None:
        return read_text(file, str(file), max_size)
    if expressions[0] == "-":
        return read_text(sys.stdin.buffer, tr("standard input"), max_size)
    check_utf8(tr("the expression"), expressions[0])
    if len(expressions[0].encode("utf-8")) > max_size:
        raise InputError(
            tr("the expression is larger than {max_size:,} bytes, the --max-size").format(
                max_size=max_size
            )
        )
    return expressions[0]


class Unreadable(Exception):
    """Why an input cannot be read, said without its name: the caller says where."""


def read_input(
    source: Path | str | BinaryIO, max_size: int, limit: str = N_("the --max-size")
) -> str:
    """The UTF-8 text of a file named on the command line, or of an open stream: at most
    `max_size` bytes are ever read into memory, whatever it is (a pipe, /dev/zero, a
    file that grows), or Unreadable saying why not (`limit` names the size refused)."""
    if isinstance(source, (Path, str)):
        with _open(source) as stream:
            return read_input(stream, max_size, limit)
    too_large = Unreadable(
        tr("larger than {max_size:,} bytes, {limit}").format(max_size=max_size, limit=tr(limit))
    )
    with suppress(OSError, ValueError):  # a stream that is not a file descriptor
        status = os.fstat(source.fileno())
        if stat.S_ISREG(status.st_mode) and status.st_size > max_size:
            raise too_large  # without reading it
    pieces = []
    total = 0
    try:
        while total <= max_size:  # in pieces: read(n) would set aside n bytes at once
            piece = source.read(min(max_size + 1 - total, READ_PIECE))
            if not piece:
                break
            pieces.append(piece)
            total += len(piece)
    except OSError as exc:
        raise Unreadable(tr("cannot read it ({reason})").format(reason=exc.strerror)) from None
    if total > max_size:
        raise too_large
    try:
        # a byte-order mark (Windows editors write one) is no part of the text
        return b"".join(pieces).decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        raise Unreadable(not_utf8(exc.start)) from None


def not_utf8(start: int) -> str:
    """Why an input is refused whose first byte that is not UTF-8 is at offset `start`."""
    return tr("not UTF-8 text (byte {byte})").format(byte=start + 1)


def check_utf8(what: str, arg: str) -> None:
    """An InputError, saying where, for a command-line argument with a byte that is not
    UTF-8 (Python's sys.argv holds it as a lone surrogate, which no output can write)."""
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError as exc:
        start = len(arg[: exc.start].encode("utf-8"))
        raise InputError(f"{what}: {not_utf8(start)}") from None


def _open(path: Path | str) -> BinaryIO:
    try:
        return open(path, "rb")  # the caller closes it
    except FileNotFoundError:
        raise Unreadable(tr("no such file")) from None
    except IsADirectoryError:
        raise Unreadable(tr("is a directory, not a file")) from None
    except OSError as exc:
        raise Unreadable(tr("cannot read it ({reason})").format(reason=exc.strerror)) from None


def open_input(path: Path | str) -> BinaryIO:
    """A file named on the command line, open for reading, or an InputError saying why not."""
    try:
        return _open(path)
    except Unreadable as exc:
        raise InputError(f"{path}: {exc}") from None


def read_text(source: Path | BinaryIO, what: str, max_size: int) -> str:
    """`read_input`, or an InputError that names the input as `what`."""
    try:
        return read_input(source, max_size)
    except Unreadable as exc:
        raise InputError(f"{what}: {exc}") from None


def check_names(
    variables: dict[str, int], values: list[tuple[str, Any]], dashed: list[str], options: set[str]
) -> None:
    """Name clashes between input values and bpcli's own options, said in CLI terms."""
    given = {name for name, _ in values}
    for name in variables:
        if name in options and name not in given:
            raise InputError(
                tr(
                    "missing a value for {name}: --{name} is bpcli's own option, so give the "
                    "input as {name}=VALUE"
                ).format(name=name)
            )
    for name in dashed:
        if name not in variables:
            guess = difflib.get_close_matches(name, sorted(options), n=1)
            if guess:
                raise InputError(
                    tr(
                        "--{name} is neither an input of the expression nor an option; did "
                        "you mean --{guess}?"
                    ).format(name=clipped(name), guess=guess[0])
                )


def read_max_tie(max_tie: str) -> TieRule:
    """The tie rule --max-tie names, for every command that takes the option."""
    rule = tie_rule(max_tie)
    if rule is None:
        raise InputError(
            tr("--max-tie is split or first, got {max_tie!r}").format(max_tie=clipped(max_tie))
        )
    return rule


_FILE_NAME = re.compile(r"[\w./\\~:-]*\w\.[^\W\d]\w*")  # prog.bp, hw/1.txt, C:\\hw\\f.bp


def _names_a_file(text: str) -> bool:
    """Whether an argument that is not an expression is a file's name, or looks like one."""
    return _FILE_NAME.fullmatch(text) is not None or os.path.isfile(text)


def read_program(
    args: list[str],
    options: set[str],
    file: Path | None,
    max_tie: str,
    max_size: int,
    max_nodes: int,
) -> tuple[Graph, list[tuple[str, Any]], Conventions]:
    """The parsed expression, the input values given, and the conventions asked for,
    from a command's free arguments (`options`: its own option names, for hints)."""
    rule = read_max_tie(max_tie)
    expressions, values, dashed = split_arguments(args, options)
    text = read_expression(expressions, file, max_size, options)
    try:
        graph = parse(text, max_nodes, inputs={name for name, _ in values})
    except ParseError:
        if file is None and expressions != ["-"] and _names_a_file(text):
            from shlex import quote

            shown = clipped(text)
            raise InputError(
                tr("{shown!r} is not an expression: did you mean --file {quoted}?").format(
                    shown=shown, quoted=quote(shown)
                )
            ) from None
        raise
    check_names(graph.variables, values, dashed, options)
    return graph, values, Conventions(max_tie=rule)
