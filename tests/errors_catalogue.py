"""The error catalogue: every error bpcli can raise, with an example that raises it.

tests/test_errors_doc.py runs each example, captures the real class and the
exact message, and renders docs/errors.md from them; it also checks that every
place in src/ that raises a bpcli error is reached by some example here. So a
new error in the code needs a new entry, and a changed message changes the page.

An entry's example is one of:

- `api`: Python lines, run after `import bpcli`; the last one raises the error
  (or, for `bpcli.batch`, returns the failed answer).
- `cli`: bpcli's arguments, as a shell would split them (a str is split with
  shlex), run in a fresh directory holding `files`, with `stdin` (or the output
  of the Python snippet `stdin_python`) on standard input.

`setup` names a condition the test creates first (Graphviz not installed, a
planted bug, …), shown in the page as a comment. `known_problem` marks a
bug that the example shows. `when` says, in a student's words, what went wrong.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# ---- what an example needs --------------------------------------------------------


@dataclass(frozen=True)
class Dir:
    """A directory, where a file is wanted."""


@dataclass(frozen=True)
class Sparse:
    """A file of `size` bytes, all zero, that takes no room on disk (`truncate -s`)."""

    size: int


@dataclass(frozen=True)
class Python:
    """A file holding what the Python snippet prints (for files too long to show)."""

    snippet: str


FileSpec = str | bytes | Dir | Sparse | Python


@dataclass(frozen=True)
class Entry:
    cls: str  # a bpcli error class, "Invalid" (a problem set), "UsageError" or "internal"
    module: str  # where in src/bpcli it comes from, e.g. "parser.py", "render/chart.py"
    when: str
    api: tuple[str, ...] = ()
    cli: tuple[str, ...] = ()
    stdin: str | bytes | None = None
    stdin_python: str | None = None
    files: dict[str, FileSpec] = field(default_factory=dict)
    setup: str | None = None
    known_problem: str | None = None  # a bug the example shows, marked in the page


def api(cls: str, module: str, when: str, *lines: str, **more: Any) -> Entry:
    return Entry(cls, module, when, api=lines, **more)


LECTURE_PROBLEM = """[[problem]]
id = "1"
expr = "(x+y)*z"
values = { x = -2, y = 5, z = -4 }
"""


def cli(cls: str, module: str, when: str, args: str | tuple[str, ...], **more: Any) -> Entry:
    split = tuple(shlex.split(args)) if isinstance(args, str) else args
    return Entry(cls, module, when, cli=split, **more)


def batch(module: str, when: str, line: str, cls: str = "RequestError", **more: Any) -> Entry:
    """A `bpcli batch` request line that fails."""
    return Entry(cls, module, when, cli=("batch",), stdin=line + "\n", **more)


def check(module: str, when: str, text: str, name: str = "hw.toml", **more: Any) -> Entry:
    """`bpcli check` on a problem set holding `text`."""
    files = {name: text, **more.pop("files", {})}
    return Entry("Invalid", module, when, cli=("check", name), files=files, **more)


# ---- conditions the test creates ----------------------------------------------------


def _no_graphviz(patch: Any) -> None:
    patch.setattr("bpcli.graphviz.shutil.which", lambda name: None)


def _slow_graphviz(patch: Any) -> None:
    patch.setenv("BPCLI_DOT_TIMEOUT", "0.05")


def _bad_dot_timeout(patch: Any) -> None:
    patch.setenv("BPCLI_DOT_TIMEOUT", "soon")


def _stand_in_dot(script: str, mode: int = 0o755) -> Callable[[Any], None]:
    """A `dot` that runs the POSIX sh `script`, found by bpcli in place of Graphviz's:
    the failures of dot's that are hard to cause on purpose."""

    def setup(patch: Any) -> None:
        from pathlib import Path

        program = Path("bin", "dot").resolve()  # in the example's own directory
        program.parent.mkdir()
        program.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
        program.chmod(mode)
        patch.setattr("bpcli.graphviz.shutil.which", lambda name: str(program))

    return setup


def _no_matplotlib(patch: Any) -> None:
    import sys

    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        patch.delitem(sys.modules, name)
    patch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` raises ImportError


def _planted_bug(patch: Any) -> None:
    def evaluate(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a planted bug")

    patch.setattr("bpcli.api.evaluate", evaluate)


def _interrupted(patch: Any) -> None:
    def evaluate(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    patch.setattr("bpcli.api.evaluate", evaluate)


def _out_of_memory(patch: Any) -> None:
    def evaluate(*args: object, **kwargs: object) -> None:
        raise MemoryError

    patch.setattr("bpcli.api.evaluate", evaluate)


def _nothing_workable(patch: Any) -> None:
    patch.setattr("bpcli.quiz._workable", lambda problem: False)


SETUPS: dict[str, tuple[str, Callable[[Any], None]]] = {
    "no graphviz": ("Graphviz's dot program is not installed", _no_graphviz),
    "slow graphviz": ("BPCLI_DOT_TIMEOUT=0.05: dot gets 0.05 s", _slow_graphviz),
    "bad dot timeout": ("BPCLI_DOT_TIMEOUT=soon", _bad_dot_timeout),
    "dot killed": (
        "a stand-in for Graphviz's dot that is killed (kill -9), as the kernel's"
        " out-of-memory killer kills dot",
        _stand_in_dot("kill -9 $$"),
    ),
    "dot fails": (
        "a stand-in for Graphviz's dot that says 'Error: syntax error in line 1' and exits 1",
        _stand_in_dot("echo 'Error: syntax error in line 1' >&2; exit 1"),
    ),
    "dot writes nothing": (
        "a stand-in for Graphviz's dot that writes nothing and exits 0",
        _stand_in_dot("exit 0"),
    ),
    "dot cannot start": (
        "a stand-in for Graphviz's dot that may not be run (its file is not executable)",
        _stand_in_dot("exit 0", mode=0o644),
    ),
    "no matplotlib": ("matplotlib is not installed", _no_matplotlib),
    "planted bug": ("a bug planted in bpcli.api.evaluate by the test", _planted_bug),
    "interrupted": (
        "Ctrl-C pressed while bpcli works (the test raises KeyboardInterrupt)",
        _interrupted,
    ),
    "out of memory": (
        "memory runs out while bpcli works (the test raises MemoryError; under a limit such"
        " as `ulimit -v` it is real)",
        _out_of_memory,
    ),
    "nothing workable": (
        "every random problem rejected (the test patches bpcli.quiz._workable)",
        _nothing_workable,
    ),
}

# the setups whose examples start a process (dot, or a stand-in for it)
RUNS_DOT = ("slow graphviz", "dot killed", "dot fails", "dot writes nothing", "dot cannot start")

# ---- the catalogue --------------------------------------------------------------------

LECTURE = "--x -2 --y 5 --z -4"

PARSE_ERRORS = [
    api("ParseError", "parser.py", "The expression given to the API is not a string.",
        "bpcli.parse(42)"),
    cli("ParseError", "parser.py", "The expression has no statement: it is blank or only comments.",
        "grad '# to do'"),
    cli("ParseError", "parser.py", "A character that is not part of the language: not a digit, a letter, an operator, a bracket, `,`, `;` or `#`.",
        "grad 'x $ y' x=1 y=2"),
    cli("ParseError", "parser.py", "`|x|` for an absolute value: bpcli writes abs(x).",
        "grad '2*|x - y|' x=1 y=2"),
    cli("ParseError", "parser.py", "A superscript power (`²`) with nothing before it to raise.",
        "grad '²x' x=1"),
    cli("ParseError", "parser.py", "The expression stops in the middle, for example after an operator.",
        "grad '(x+y)*' x=1 y=2"),
    cli("ParseError", "parser.py", "A line of a program stops in the middle (outside parentheses a new line ends the statement).",
        ("grad", "q = x +\nf = q * 2", "x=1")),
    cli("ParseError", "parser.py", "Two operands stand side by side: bpcli has no implicit multiplication.",
        "grad '2x + 1' --x 3"),
    cli("ParseError", "parser.py", "A `)` with no `(` before it.",
        "grad 'x + y)' x=1 y=2"),
    cli("ParseError", "parser.py", "An `=` anywhere but right after the name at the start of a statement.",
        "grad 'x + 1 = y' x=1 y=2"),
    cli("ParseError", "parser.py", "Any other token in the wrong place; the message says what could come there.",
        f"grad '(x + y) * * z' {LECTURE}"),
    cli("ParseError", "parser.py", "A call to a function bpcli does not have (or a name followed by `(`, meant as a product).",
        "grad 'w(x + 1)' w=2 x=1"),
    cli("ParseError", "parser.py", "`ln`, the natural logarithm, which bpcli calls log.",
        "grad 'ln(x)' x=1"),
    cli("ParseError", "parser.py", "`sum` or `mean` with more than a vector and an axis.",
        "grad 'sum(x, 0, 1)' x=1"),
    cli("ParseError", "parser.py", "A function with the wrong number of arguments.",
        "grad 'pow(x)' x=2"),
]  # fmt: skip

BIND_ERRORS = [
    cli("BindError", "parser.py", "A function name used as a variable.",
        "grad 'exp + 1'"),
    cli("BindError", "parser.py", "A function name given a value with `=`.",
        "grad 'exp = x + 1; f = exp * 2' x=1"),
    cli("BindError", "parser.py", "The same name assigned by two statements.",
        "grad 'q = x + y; q = q * z' --x -2 --y 5 --z -4"),
    cli("BindError", "parser.py", "A name assigned after an earlier statement used it as an input.",
        "grad 'y = x * 2; x = 3; f = x + y' x=1"),
    cli("BindError", "parser.py", "A name assigned after an earlier statement used it as the constant pi or e.",
        "grad 'y = 2*pi; pi = 3; f = y*x' x=1"),
    cli("BindError", "api.py", "A value given twice for the same input.",
        "grad 'x*x' --x 1 x=2"),
    cli("BindError", "api.py", "A value given for a name that a statement computes.",
        "grad 'q = x + 1; f = q * 2' x=1 q=2"),
    cli("BindError", "api.py", "A value given for a name the expression does not use, close to one it does.",
        "grad '(x+y)*z' --x -2 --yy 5 --z -4"),
    cli("BindError", "api.py", "A value given for a name the expression does not use.",
        "grad 'x*y' x=1 y=2 z=3"),
    cli("BindError", "api.py", "A value given to an expression that has no inputs at all.",
        "grad '2*3' x=1"),
    cli("BindError", "api.py", "An input without a value.",
        "grad '(x+y)*z' --x -2 --y 5"),
    cli("BindError", "api.py", "Several inputs without a value.",
        "grad '(x+y)*z' --x -2"),
    api("BindError", "api.py", "A name in the API's values that is not a string.",
        'bpcli.grad("x", {1: 2})'),
    api("BindError", "api.py", "The API's values are neither a mapping nor (name, value) pairs.",
        'bpcli.grad("x", 5)'),
    api("BindError", "api.py", "An item of the API's (name, value) pairs is not a pair.",
        'bpcli.grad("x", [("x",)])'),
    api("BindError", "api.py", "A value in the API that is not a number (a string, True, None).",
        'bpcli.grad("x", {"x": "1"})'),
    api("BindError", "api.py", "A whole number too large for a float (beyond about 1.8e308).",
        'bpcli.grad("x", {"x": 10**400})'),
    api("BindError", "api.py", "A value that is NaN (not a number).",
        "import math", 'bpcli.grad("x", {"x": math.nan})'),
    api("BindError", "api.py", "A value that is infinite, as 1e999 or a TOML or JSON 1e400 reads.",
        "import math", 'bpcli.grad("x", {"x": math.inf})'),
]  # fmt: skip

DOMAIN_ERRORS = [
    cli("DomainError", "parser.py", "A number in the expression too large for a float.",
        "grad '1e999 * x' x=1"),
    cli("DomainError", "ops.py", "A division by zero.",
        "grad 'x/y' x=1 y=0"),
    cli("DomainError", "ops.py", "0 raised to a negative power (a division by zero too).",
        "grad 'x^-1' x=0"),
    cli("DomainError", "ops.py", "A negative number raised to a power that is not a whole number.",
        "grad 'x^0.5' x=-1"),
    cli("DomainError", "ops.py", "The derivative of x^p at x = 0 for a power p below 1: it is infinite.",
        "grad 'x^0.5' x=0"),
    cli("DomainError", "ops.py", "x^y with a negative x, differentiated with respect to the exponent y.",
        "grad 'x^y' x=-2 y=2"),
    cli("DomainError", "ops.py", "The log of 0 or of a negative number.",
        "grad 'log(x)' x=0"),
    cli("DomainError", "ops.py", "The square root of a negative number.",
        "grad 'sqrt(x)' x=-1"),
    cli("DomainError", "ops.py", "The derivative of sqrt at 0: it is infinite.",
        "grad 'sqrt(x)' x=0"),
    cli("DomainError", "engine.py", "A value too large for a float (about 1.8e308), here from exp.",
        "grad 'exp(exp(exp(10)))'"),
    cli("DomainError", "engine.py", "A value too large for a float, from a tower of powers.",
        "grad '2^2^2^2^2^2'"),
    cli("DomainError", "engine.py", "A value too large for a float, from a product.",
        "grad '1e308 * 10'"),
    cli("DomainError", "engine.py", "An infinite local gradient that reaches an input: no exactly zero local gradient stops it on the way (here sqrt's at 0, through the add gate's edge to x).",
        "grad 'sqrt(relu(x) + x)' x=0"),
    cli("DomainError", "engine.py", "A gradient too large for a float at a computed node.",
        "grad 'q = 2*x; f = 1/q' x=5e-201"),
    cli("DomainError", "engine.py", "A gradient too large for a float at an input.",
        "grad '1/x' x=1e-200"),
    cli("DomainError", "engine.py", "An update step x - α·∂f/∂x too large for a float: the learning rate is far too large.",
        "grad 'x*x' x=1 --lr 1e308"),
    cli("DomainError", "engine.py", "Gradient descent walks out of the function's domain: the error of that step, with its number.",
        "grad 'log(x)' x=1 --lr 2 --steps 3"),
]  # fmt: skip

INPUT_ERRORS = [
    cli("InputError", "parser.py", "The expression has more nodes than --max-nodes (bpcli.parse's max_nodes) allows.",
        "grad 'x + x + x + x' x=1 --max-nodes 3"),
    cli("InputError", "cli.py", "--steps without --lr.",
        "grad 'x*y' x=1 y=2 --steps 3"),
    api("InputError", "api.py", "Steps of gradient descent without a learning rate, in the API.",
        'bpcli.grad("x*y", {"x": 1, "y": 2}, steps=3)'),
    cli("InputError", "api.py", "A step count that is not a whole number from 1 to 100,000.",
        "grad 'x*x' x=1 --lr 0.1 --steps 100001"),
    api("InputError", "api.py", "More steps × nodes than 10,000,000: a descent of minutes.",
        'bpcli.grad("+".join(["x"] * 101), {"x": 1}, lr=0.1, steps=100_000)'),
    api("InputError", "api.py", "A learning rate in the API that is not a number.",
        'bpcli.grad("x", {"x": 1}, lr="0.1")'),
    api("InputError", "api.py", "A learning rate too large for a float.",
        'bpcli.grad("x", {"x": 1}, lr=10**400)'),
    api("InputError", "api.py", "A learning rate that is infinite (as --lr 1e999 reads).",
        "import math", 'bpcli.grad("x", {"x": 1}, lr=math.inf)'),
    api("InputError", "api.py", "A learning rate that is NaN (not a number).",
        "import math", 'bpcli.grad("x", {"x": 1}, lr=math.nan)'),
    cli("InputError", "arguments.py", "An input's value that is not a number.",
        "grad 'x*2' --x abc"),
    cli("InputError", "arguments.py", "An input's value too large for a float.",
        "grad 'x*2' --x 1e999"),
    cli("InputError", "arguments.py", "A `--` word that is neither an option nor a name.",
        "grad 'x*2' --1x 2"),
    cli("InputError", "arguments.py", "A misspelt option.",
        "grad 'x*2' x=1 --jsn"),
    cli("InputError", "arguments.py", "An input given as --NAME with no value after it.",
        "grad 'x*2' --x"),
    cli("InputError", "arguments.py", "A misspelt option followed by a number: it could be an input, but the expression has no such input.",
        "grad 'x*2' x=1 --jsn 3"),
    cli("InputError", "arguments.py", "An input named like one of bpcli's options, given as --NAME.",
        "grad 'x*lr' x=1 --lr 0.5"),
    cli("InputError", "arguments.py", "No expression on the command line.",
        "grad x=1"),
    cli("InputError", "arguments.py", "More than one expression: an expression with spaces must be quoted.",
        "grad x + y x=1 y=1"),
    cli("InputError", "arguments.py", "An input given with one dash, as -x -2: it reads as two more expressions.",
        "grad -x -2 -y 5 'x*y'"),
    cli("InputError", "arguments.py", "A file name where the expression goes: the expression is read from a file with --file.",
        "grad prog.bp --x 1", files={"prog.bp": "x*2\n"}),
    cli("InputError", "arguments.py", "--max-size that is not a size.",
        "grad x x=1 --max-size lots"),
    cli("InputError", "arguments.py", "--max-size beyond 1000GB.",
        "grad x x=1 --max-size 2000GB"),
    cli("InputError", "arguments.py", "An expression on the command line longer than --max-size.",
        "grad 'x + x + x' x=1 --max-size 5"),
    cli("InputError", "arguments.py", "An expression file longer than --max-size.",
        "grad --file big.bp x=1 --max-size 10", files={"big.bp": "x + x + x + x\n"}),
    cli("InputError", "arguments.py", "An expression on standard input longer than --max-size.",
        "grad - x=1 --max-size 10", stdin="x + x + x + x\n"),
    cli("InputError", "arguments.py", "An expression file that is not UTF-8 text.",
        "grad --file latin1.bp x=1", files={"latin1.bp": b"x * 2 # \xe9\n"}),
    cli("InputError", "arguments.py", "An expression on standard input that is not UTF-8 text.",
        "grad - x=1", stdin=b"x * 2 # \xe9\n"),
    cli("InputError", "arguments.py", "An expression argument with a byte that is not UTF-8 (a Latin-1 é).",
        ("grad", "x * 2 # \udce9", "x=1")),
    cli("InputError", "arguments.py", "An input value with a byte that is not UTF-8.",
        ("grad", "x * 2", "x=1\udce9")),
    cli("InputError", "arguments.py", "An option after --, which ends the options.",
        "grad -- 'x*2' x=1 --json"),
    cli("InputError", "arguments.py", "An option given twice (a flag too), as an input given twice is.",
        "grad 'x*2' x=1 --lr 0.1 --lr 0.2"),
    cli("InputError", "arguments.py", "A long name in a message: its first 40 characters and its length.",
        ("grad", "x*2", "--" + "a" * 100)),
    cli("InputError", "arguments.py", "--file names a file that does not exist.",
        "grad --file missing.bp x=1"),
    cli("InputError", "arguments.py", "--file names a directory.",
        "grad --file notes x=1", files={"notes": Dir()}),
    cli("InputError", "arguments.py", "--file names a file that cannot be read (no permission, a path through a file, …).",
        "grad --file notes.txt/e.bp x=1", files={"notes.txt": "x\n"}),
    cli("InputError", "arguments.py", "--max-tie that is neither split nor first.",
        "grad 'max(x, y)' x=1 y=1 --max-tie last"),
    cli("InputError", "cli.py", "--plot without --steps.",
        "grad 'x*x' x=1 --lr 0.1 --plot descent.svg"),
    cli("InputError", "cli.py", "`bpcli graph --format` that is not dot, mermaid, tree or html.",
        "graph 'x*y' --format png"),
    cli("InputError", "cli.py", "`bpcli graph --format html` without the input values: the page steps through a computation.",
        "graph 'x*y' --format html"),
    cli("InputError", "cli.py", "`bpcli graph --lr` with a format other than html (only the page shows the update).",
        "graph 'x*y' x=1 y=2 --lr 0.1 --format dot"),
    cli("InputError", "cli.py", "`bpcli grad --format` that is not table, markdown or latex.",
        "grad 'x*y' x=1 y=2 --explain --format html"),
    cli("InputError", "cli.py", "`bpcli grad --format markdown` or `latex` with --json or --gradcheck.",
        "grad 'x*y' x=1 y=2 --format latex --json"),
    cli("InputError", "cli.py", "`bpcli key --format` without --solutions.",
        "key homework.toml --format latex", files={"homework.toml": LECTURE_PROBLEM}),
    cli("InputError", "cli.py", "`bpcli key --solutions --format` that is not markdown or latex.",
        "key homework.toml --solutions --format html", files={"homework.toml": LECTURE_PROBLEM}),
    cli("InputError", "cli.py", "`bpcli key --solutions --output` named for what the sheet is not (it is Markdown or LaTeX text).",
        "key homework.toml --solutions --output sol.pdf", files={"homework.toml": LECTURE_PROBLEM}),
    cli("InputError", "cli.py", "`bpcli key --solutions --format` that disagrees with the --output file's suffix.",
        "key homework.toml --solutions --format latex --output sol.md", files={"homework.toml": LECTURE_PROBLEM}),
    cli("InputError", "cli.py", "`bpcli graph --format` that disagrees with the --output file's suffix (an image, .svg, .png or .pdf, is drawn from DOT: give no --format).",
        "graph 'x*y' --format dot --output g.svg"),
    cli("InputError", "cli.py", "`bpcli graph --output` a file whose suffix bpcli does not write (.jpg, .md).",
        "graph 'x*y' --output g.jpg"),
    cli("InputError", "graphviz.py", "`bpcli graph --output` an image without Graphviz installed.",
        "graph 'x*y' --output g.svg", setup="no graphviz"),
    cli("InputError", "graphviz.py", "`bpcli graph --output` an image that Graphviz's dot cannot draw in time (BPCLI_DOT_TIMEOUT seconds, 20 by default) or in its memory (2 GB), or any other failure of dot's (here `x + x + … + x`, 40 terms, which dot lays out in a few tenths of a second: a node used many times slows dot's layout, and past 40 uses bpcli lays the graph out itself).",
        "graph --file sum.bp x=1 --output g.svg", setup="slow graphviz",
        files={"sum.bp": Python('print(" + ".join(["x"] * 40))')}),
    cli("InputError", "graphviz.py", "`bpcli graph --output` an image when Graphviz's dot is killed (by the kernel, out of memory).",
        "graph 'x*y' --output g.svg", setup="dot killed"),
    cli("InputError", "graphviz.py", "`bpcli graph --output` an image when Graphviz's dot fails with an error.",
        "graph 'x*y' --output g.svg", setup="dot fails"),
    cli("InputError", "graphviz.py", "`bpcli graph --output` an image when Graphviz's dot writes no picture.",
        "graph 'x*y' --output g.svg", setup="dot writes nothing"),
    cli("InputError", "graphviz.py", "`bpcli graph --output` an image when Graphviz's dot cannot be started.",
        "graph 'x*y' --output g.svg", setup="dot cannot start"),
    cli("InputError", "graphviz.py", "BPCLI_DOT_TIMEOUT, the seconds dot may take, that is not a number above 0.",
        "graph 'x*y' --output g.svg", setup="bad dot timeout"),
    cli("InputError", "process.py", "An output file that cannot be written (here its directory does not exist).",
        "graph 'x*y' --output nodir/g.dot"),
    cli("InputError", "process.py", "An output file that is one of the command's inputs (the same file under any name, or through a link): writing it would replace what was read.",
        "check --problems homework.toml homework.toml --gradescope homework.toml", files={"homework.toml": LECTURE_PROBLEM}),
    cli("InputError", "cli.py", "`bpcli check --csv` or `--gradescope` without --problems: a self-check proves nothing to a TA.",
        "check homework.toml --csv grades.csv", files={"homework.toml": LECTURE_PROBLEM}),
    cli("InputError", "cli.py", "`bpcli check --gradescope` with more than one submission (the autograder grades one).",
        "check --problems homework.toml a.toml b.toml --gradescope results.json",
        files={"homework.toml": LECTURE_PROBLEM, "a.toml": LECTURE_PROBLEM, "b.toml": LECTURE_PROBLEM}),
    cli("InputError", "problems.py", "`bpcli check --rel-tol`, `--abs-tol`, `--decimals` or `--sig-figs` out of its bounds (the same as a problem set's).",
        "check homework.toml --decimals 16", files={"homework.toml": LECTURE_PROBLEM}),
    cli("InputError", "cli.py", "`bpcli check --visibility` or `--hide-expected` without --gradescope.",
        "check --problems homework.toml homework.toml --hide-expected", files={"homework.toml": LECTURE_PROBLEM}),
    cli("InputError", "cli.py", "`bpcli check --visibility` that is not one of Gradescope's.",
        "check --problems homework.toml homework.toml --gradescope results.json --visibility later",
        files={"homework.toml": LECTURE_PROBLEM}),
    cli("InputError", "cli.py", "`bpcli key --blank` with --solutions: the handout or the solution sheet, not both.",
        "key homework.toml --blank --solutions", files={"homework.toml": LECTURE_PROBLEM}),
    cli("InputError", "cli.py", "`bpcli key --blank --output` in another format than the set's (the handout keeps the set's text).",
        "key homework.toml --blank --output handout.json", files={"homework.toml": LECTURE_PROBLEM}),
    cli("InputError", "cli.py", "`bpcli check --problems SET` with a set that cannot be read at all.",
        "check --problems missing.toml a.toml", files={"a.toml": LECTURE_PROBLEM}),
    cli("InputError", "arguments.py", "`bpcli check --max-tie` or `bpcli key --max-tie` that is neither split nor first.",
        "check homework.toml --max-tie last", files={"homework.toml": LECTURE_PROBLEM}),
    cli("InputError", "cli.py", "`bpcli key --output` (the answer key) to a file whose name ends in neither .toml nor .json.",
        "key homework.toml --output key.txt", files={"homework.toml": LECTURE_PROBLEM}),
    api("InputError", "check.py", "Points that add up to more than a float holds, in the API (a problem set read from a file has at most 1,000,000 points a problem).",
        "from bpcli.check import check",
        "from bpcli.problems import Problem, ProblemSet",
        'check([ProblemSet("hw.toml", "toml", {}, [Problem(n, "x", {"x": 1.0}, 1e308) for n in "ab"])])'),
    cli("InputError", "arguments.py", "`bpcli batch` on a file that does not exist.",
        "batch missing.jsonl"),
    cli("InputError", "arguments.py", "`bpcli batch` on a directory.",
        "batch notes", files={"notes": Dir()}),
    cli("InputError", "arguments.py", "`bpcli batch` on a file that cannot be read.",
        "batch notes.txt/requests.jsonl", files={"notes.txt": "x\n"}),
    api("InputError", "gradcheck.py", "A gradient-check step h in the API that is not a number.",
        "from bpcli.gradcheck import gradcheck",
        'gradcheck(bpcli.grad("x*x", {"x": 1}), "1e-5")'),
    cli("InputError", "gradcheck.py", "A gradient-check step h that is not greater than 0, or not finite.",
        "grad 'x*x' x=1 --gradcheck --gradcheck-step -1"),
    cli("InputError", "quiz.py", "`bpcli quiz --count` outside 1 to 1000.",
        "quiz --count 0"),
    cli("InputError", "quiz.py", "`bpcli quiz --depth` outside 1 to 6.",
        "quiz --depth 7"),
    cli("InputError", "quiz.py", "`bpcli quiz --ops` with a name that is not an op.",
        "quiz --ops add,times"),
    cli("InputError", "quiz.py", "`bpcli quiz --ops` with no op.",
        "quiz --ops ,"),
    cli("InputError", "quiz.py", "`bpcli quiz` finds no problem over the ops that can be worked by hand (defined, off every kink, with some gradient); a safety net that no choice of ops is known to reach.",
        "quiz --seed 1 --count 1 --ops log", setup="nothing workable"),
    cli("InputError", "quiz.py", "`bpcli quiz --tensors` finds no matrix problem off every kink with some gradient (a safety net, as for numbers).",
        "quiz --tensors --seed 1 --count 1", setup="nothing workable"),
    api("InputError", "problems.py", "A problem set written with a number that TOML cannot hold (a safety net: bpcli's own problem sets hold finite numbers only).",
        "import math",
        "from bpcli.problems import Problem, ProblemSet, dumps",
        'dumps(ProblemSet("hw.toml", "toml", {}, [Problem("1", "x", {"x": math.inf})]))'),
    cli("InputError", "process.py", "--plot with a file name that is not .svg, .png or .pdf.",
        "grad 'x*x' x=1 --lr 0.1 --steps 3 --plot descent.txt"),
    api("InputError", "process.py", "A plot of a single update step: it needs the steps.",
        "from pathlib import Path",
        "from bpcli.process import write_plot",
        'write_plot(bpcli.grad("x*x", {"x": 1}, lr=0.1).update, "f", Path("descent.svg"))'),
    cli("InputError", "process.py", "--plot without matplotlib installed.",
        "grad 'x*x' x=1 --lr 0.1 --steps 3 --plot descent.svg", setup="no matplotlib"),
    cli("InputError", "process.py", "--plot to a file that cannot be written.",
        "grad 'x*x' x=1 --lr 0.1 --steps 3 --plot nodir/descent.svg"),
    cli("InputError", "process.py", "Memory ran out: the input is too large for the memory bpcli was given (a `batch` line answers with a MemoryError and costs that line only).",
        "grad 'x*x' x=1", setup="out of memory"),
]  # fmt: skip

REQUEST_ERRORS = [
    Entry("RequestError", "batch.py", "A request line longer than --max-size (the line is skipped, not read).",
          cli=("batch", "--max-size", "20"), stdin='{"expr": "x + x + x + x", "values": {"x": 1}}\n'),
    Entry("RequestError", "batch.py", "A request line that is not UTF-8 text.",
          cli=("batch",), stdin=b'{"expr": "x * 2 # \xe9", "values": {"x": 1}}\n'),
    api("RequestError", "batch.py", "A request line given to the API as a string with a character UTF-8 cannot hold (a lone surrogate).",
        "from bpcli.batch import answer",
        'answer(\'{"expr": "x\\ud800"}\', 1, {})'),
    api("RequestError", "batch.py", "The same, from bytes decoded with surrogateescape.",
        "from bpcli.batch import answer",
        'answer(b\'{"expr": "x\\xe9"}\'.decode("utf-8", "surrogateescape"), 1, {})'),
    batch("batch.py", "A request line that is not JSON.",
          "x * 2"),
    Entry("RequestError", "batch.py", "JSON nested deeper than Python's JSON reader can go.",
          cli=("batch",), stdin_python='print("[" * 100000)'),
    Entry("RequestError", "batch.py", "A JSON number with more digits than Python reads (4300).",
          cli=("batch",), stdin_python='print("{\\"expr\\": \\"x\\", \\"values\\": {\\"x\\": " + "1" * 5000 + "}}")'),
    batch("batch.py", "A request that is JSON but not an object.",
          '["x * 2", {"x": 1}]'),
    batch("batch.py", "NaN or Infinity, which are not JSON.",
          '{"expr": "x", "values": {"x": NaN}}'),
    batch("batch.py", "An id with a number too large for a float (it could not be written back).",
          '{"id": 1e400, "expr": "x", "values": {"x": 1}}'),
    Entry("RequestError", "batch.py", "An id nested more than 100 levels deep.",
          cli=("batch",), stdin_python='print("{\\"id\\": " + "[" * 101 + "]" * 101 + ", \\"expr\\": \\"x\\"}")'),
    batch("batch.py", "A misspelt key.",
          '{"id": 1, "expresion": "x * 2", "values": {"x": 1}}'),
    batch("batch.py", "Keys a request does not have.",
          '{"id": 1, "exp": "x * 2", "vals": {"x": 1}}'),
    batch("batch.py", 'A request without `"expr"`.',
          '{"id": 1, "values": {"x": 1}}'),
    batch("batch.py", '`"expr"` that is not a string.',
          '{"id": 1, "expr": 5}'),
    batch("batch.py", '`"lr"` that is not a number.',
          '{"id": 1, "expr": "x*x", "values": {"x": 1}, "lr": "0.1"}'),
    batch("batch.py", '`"steps"` that is not a number.',
          '{"id": 1, "expr": "x*x", "values": {"x": 1}, "lr": 0.1, "steps": "3"}'),
    batch("batch.py", '`"values"` that is not an object.',
          '{"id": 1, "expr": "x*y", "values": [1, 2]}'),
    batch("batch.py", 'A value in `"values"` that is not a number.',
          '{"id": 1, "expr": "x*2", "values": {"x": "1"}}'),
    Entry("RequestError", "batch.py", "A whole number too large for a float.",
          cli=("batch",), stdin_python='print("{\\"expr\\": \\"x*2\\", \\"values\\": {\\"x\\": 1" + "0" * 400 + "}}")'),
    batch("batch.py", '`"max_tie"` that is neither `"split"` nor `"first"`.',
          '{"id": 1, "expr": "max(x, y)", "values": {"x": 1, "y": 1}, "max_tie": "last"}'),
]  # fmt: skip

USAGE_ERRORS = [
    cli("UsageError", "Typer/Click", "A command bpcli does not have.",
        "frob 'x*2'"),
    cli("UsageError", "Typer/Click", "An option's value out of its range (--steps, --precision, --max-nodes, --jobs).",
        "grad 'x*x' x=1 --lr 0.1 --steps 0"),
    cli("UsageError", "Typer/Click", "An option's value of the wrong kind.",
        "grad 'x*x' x=1 --lr fast"),
    cli("UsageError", "Typer/Click", "An option that takes a value, with none after it.",
        "grad 'x*x' x=1 --lr"),
    cli("UsageError", "Typer/Click", "An option a command does not have (grad and graph say which of theirs was meant).",
        "check hw.toml --frob"),
    cli("UsageError", "Typer/Click", "A command's argument missing.",
        "check"),
    cli("UsageError", "Typer/Click", "More arguments than the command takes.",
        "batch a.jsonl b.jsonl"),
]  # fmt: skip

PROBLEM_SET_ERRORS = [
    check("problems.py", "A problem set larger than 50 MB.",
          "", name="big.toml", files={"big.toml": Sparse(50_000_001)}),
    Entry("Invalid", "problems.py", "A problem set that does not exist.",
          cli=("check", "missing.toml")),
    Entry("Invalid", "problems.py", "A directory given as a problem set.",
          cli=("check", "notes"), files={"notes": Dir()}),
    check("problems.py", "A problem set that is not UTF-8 text.",
          "", name="latin1.toml", files={"latin1.toml": b"# caf\xe9\n"}),
    Entry("Invalid", "problems.py", "A problem set that cannot be read.",
          cli=("check", "notes.txt/hw.toml"), files={"notes.txt": "x\n"}),
    check("problems.py", "A problem set that is not valid TOML.",
          '[[problem]]\nexpr = "x*y\n'),
    check("problems.py", "A problem set that is not valid JSON (a file named .json is read as JSON).",
          '{"problem": [{"expr": "x*y",}]}\n', name="hw.json"),
    check("problems.py", "A problem set nested deeper than the TOML or JSON reader can go.",
          "", name="deep.json", files={"deep.json": Python('print("[" * 100000)')}),
    Entry("Invalid", "problems.py", "A submission that is not valid TOML: it scores 0 of the set's total, and the line and column say where.",
          cli=("check", "--problems", "hw.toml", "kim.toml"),
          files={"hw.toml": LECTURE_PROBLEM, "kim.toml": '[[problem]\nid = "1"\n'}),
    Entry("Invalid", "problems.py", "A submission that does not exist: it scores 0 of the set's total.",
          cli=("check", "--problems", "hw.toml", "lee.toml"), files={"hw.toml": LECTURE_PROBLEM}),
    check("problems.py", "A problem's `decimals` (or `sig_figs`) that is not a whole number in its bounds.",
          '[[problem]]\nexpr = "x"\ndecimals = 2.5\n'),
    check("problems.py", "A problem's `statement` that is not text.",
          '[[problem]]\nexpr = "x"\nstatement = 3\n'),
    check("problems.py", "A problem set whose `student` is not text.",
          'student = 7\n[[problem]]\nexpr = "x"\n'),
    check("problems.py", "A problem's `ask` that is not a list of item names.",
          '[[problem]]\nexpr = "x"\nask = "grad"\n'),
    check("problems.py", "A problem's `ask` naming something that is not an item.",
          '[[problem]]\nexpr = "x"\nask = ["grads"]\n'),
    check("problems.py", "A problem's `ask` naming the update step of a problem without lr.",
          '[[problem]]\nexpr = "x"\nask = ["update"]\n'),
    check("problems.py", "A JSON problem set that is not an object.",
          '[{"expr": "x*y"}]\n', name="hw.json"),
    check("problems.py", "A top-level key other than `defaults` and `problem`.",
          'title = "homework 1"\n\n[[problem]]\nexpr = "x"\n'),
    check("problems.py", "A problem set without a `[[problem]]` table.",
          "[defaults]\nrel_tol = 1e-3\n"),
    check("problems.py", "`defaults` that is not a table.",
          'defaults = 1e-3\n\n[[problem]]\nexpr = "x"\n'),
    check("problems.py", "A key in `[defaults]` other than `rel_tol`, `abs_tol` and `max_tie`.",
          '[defaults]\ntol = 1e-3\n\n[[problem]]\nexpr = "x"\n'),
    check("problems.py", "A negative tolerance.",
          '[defaults]\nrel_tol = -1e-3\n\n[[problem]]\nexpr = "x"\n'),
    check("problems.py", "A relative tolerance above 1 (at 1 it already accepts every answer of the right sign).",
          '[defaults]\nrel_tol = 2\n\n[[problem]]\nexpr = "x"\n'),
    check("engine.py", "A problem's learning rate so large that gradient descent overflows: said of its `lr`.",
          '[[problem]]\nexpr = "x*x"\nvalues = { x = 3 }\nlr = 1e308\n'),
    check("problems.py", "An absolute tolerance above 0.5 (at 0.5 it already accepts whatever rounds to the right whole number; 1e300 would accept any answer).",
          '[defaults]\nabs_tol = 1e300\n\n[[problem]]\nexpr = "x"\n'),
    check("problems.py", '`max_tie` that is neither `"split"` nor `"first"` (in `[defaults]` or a problem).',
          '[[problem]]\nexpr = "max(x, y)"\nvalues = { x = 1, y = 1 }\nmax_tie = "last"\n'),
    check("problems.py", "A problem that is not a table.",
          '{"problem": ["x*y"]}\n', name="hw.json"),
    check("problems.py", "An id that is neither text nor a whole number.",
          '[[problem]]\nid = 1.5\nexpr = "x"\nvalues = { x = 1 }\n'),
    check("problems.py", "Negative points.",
          '[[problem]]\npoints = -1\nexpr = "x"\nvalues = { x = 1 }\n'),
    check("problems.py", "More than 1,000,000 points for a problem.",
          '[[problem]]\npoints = 1e308\nexpr = "x"\nvalues = { x = 1 }\n'),
    check("problems.py", "Text that holds a lone surrogate (JSON's `\\ud800` escape), in an id, an expression or a name.",
          '{"problem": [{"id": "\\ud800", "expr": "x", "values": {"x": 1}}]}\n', name="hw.json"),
    check("problems.py", "A misspelt key in a problem.",
          '[[problem]]\nexpression = "x"\nvalues = { x = 1 }\n'),
    check("problems.py", "A problem without `expr`.",
          "[[problem]]\nvalues = { x = 1 }\n"),
    check("problems.py", "`expr` that is not text.",
          "[[problem]]\nexpr = 5\n"),
    check("problems.py", "`answer` that is not a table.",
          '[[problem]]\nexpr = "x"\nvalues = { x = 1 }\nanswer = 1\n'),
    check("problems.py", "A misspelt answer.",
          '[[problem]]\nexpr = "x"\nvalues = { x = 1 }\n\n[problem.answer]\ngradient = { x = 1 }\n'),
    check("problems.py", "An answer to the update step (`update`, `new_output`) of a problem without `lr`.",
          '[[problem]]\nexpr = "x"\nvalues = { x = 1 }\n\n[problem.answer]\nnew_output = 0.9\n'),
    check("problems.py", "`values` that is not a table of name = number.",
          '[[problem]]\nexpr = "x"\nvalues = 1\n'),
    check("problems.py", "A `grad` answer that is not a table of name = number.",
          '[[problem]]\nexpr = "x*y"\nvalues = { x = 1, y = 2 }\n\n[problem.answer]\ngrad = 2\n'),
    check("problems.py", "A value that is not a number.",
          '[[problem]]\nexpr = "x"\nvalues = { x = "one" }\n'),
    check("problems.py", "A value that is a vector or a matrix with rows of different lengths (ragged), or empty.",
          '[[problem]]\nexpr = "sum(x)"\nvalues = { x = [[1, 2], [3]] }\n'),
    check("problems.py", "A value nested deeper than a matrix (a list of lists of lists).",
          '[[problem]]\nexpr = "sum(x)"\nvalues = { x = [[[1, 2]]] }\n'),
    check("problems.py", "`true` or `false` where a number is wanted: they are not numbers.",
          '[[problem]]\npoints = true\nexpr = "x"\nvalues = { x = 1 }\n'),
    check("problems.py", "A number that is NaN (not a number).",
          '[[problem]]\nexpr = "x"\nvalues = { x = nan }\n'),
    check("problems.py", "A number too large for a float, as TOML reads 1e400 or inf.",
          '[[problem]]\nexpr = "x"\nvalues = { x = 1e400 }\n'),
    check("problems.py", "A whole number too large for a float (309 digits or more).",
          "", name="big.toml", files={"big.toml": Python('print("[[problem]]\\nexpr = \\"x\\"\\nvalues = { x = 1" + "0" * 400 + " }")')}),
    check("problems.py", "Two problems with the same id.",
          '[[problem]]\nid = "1a"\nexpr = "x"\nvalues = { x = 1 }\n\n[[problem]]\nid = "1a"\nexpr = "2*x"\nvalues = { x = 1 }\n'),
    check("check.py", "A problem whose expression does not parse: the ParseError, under expr.",
          '[[problem]]\nexpr = "2x"\nvalues = { x = 1 }\n'),
    check("check.py", "A problem whose values do not fit its expression: the BindError, under values.",
          '[[problem]]\nexpr = "x*y"\nvalues = { x = 1 }\n'),
    check("check.py", "A problem whose maths is undefined at its values: the DomainError, under expr.",
          '[[problem]]\nexpr = "log(x)"\nvalues = { x = 0 }\n'),
    Entry("Invalid", "cli.py", "`bpcli key` on a problem that cannot be solved: the error, under expr.",
          cli=("key", "hw.toml"), files={"hw.toml": '[[problem]]\nexpr = "log(x)"\nvalues = { x = 0 }\n'}),
]  # fmt: skip

INTERNAL_ERRORS = [
    cli("internal", "cli.py", "A bug in bpcli: any exception that is not a bpcli error. BPCLI_TRACEBACK=1 shows the traceback.",
        "grad 'x*x' x=1", setup="planted bug"),
    cli("interrupted", "cli.py", "Ctrl-C.",
        "grad 'x*x' x=1", setup="interrupted"),
]  # fmt: skip

TENSOR_ERRORS = [
    api("BindError", "api.py", "A vector or matrix that is ragged (its rows differ in length), empty, of more than 2 dimensions, or with an element that is not a number.",
        'bpcli.grad("sum(x)", x=[[1, 2], [3]])'),
    cli("InputError", "arguments.py", "A vector or matrix on the command line that is ragged, empty, of more than 2 dimensions, or with an element that is not a number.",
        "grad 'sum(x)' --x '[[1, 2], [3]]'"),
    cli("DomainError", "tensor.py", "An upstream gradient (--dout) of another shape than the output's.",
        "grad 'W @ x' --W '[[0.1, 0.5], [-0.3, 0.8]]' --x '[0.2, 0.4]' --dout '[1, 2, 3]'"),
    cli("DomainError", "tensor.py", "The sizes of a matrix product do not fit: the caret is under the `@`, both shapes are said.",
        "grad 'sum(W @ x)' --W '[[0.1, 0.5], [-0.3, 0.8]]' --x '[1, 2, 3]'"),
    cli("DomainError", "tensor.py", "A program whose output is a vector or matrix, without the upstream gradient (--dout).",
        "grad 'W @ x' --W '[[0.1, 0.5], [-0.3, 0.8]]' --x '[0.2, 0.4]'"),
    check("tensor.py", "A problem whose output is a vector or matrix: a problem set gives no upstream gradient, so it asks for a number.",
          '[[problem]]\nexpr = "W @ x"\nvalues = { W = [[1, 2], [3, 4]], x = [1, 2] }\n'),
    api("DomainError", "tensor.py", "The same in the API: the passes of a problem whose output is a vector.",
        "from bpcli.check import result_of",
        "from bpcli.problems import Problem",
        'result_of(Problem("1", "W @ x", {"W": [[1, 2], [3, 4]], "x": [1, 2]}))'),
    cli("InputError", "api.py", "`bpcli key --solutions` of a problem over vectors and matrices (`bpcli key` without it writes their answer key).",
        "key hw.toml --solutions", files={"hw.toml": '[[problem]]\nexpr = "sum(x * x)"\nvalues = { x = [1, 2] }\n'}),
    batch("batch.py", "A request whose `dout` (the upstream gradient) is neither a number nor an array.",
          '{"id": 1, "expr": "W @ x", "values": {"W": [[1, 0], [0, 1]], "x": [1, 2]}, "dout": "ones"}'),
    cli("InputError", "cli.py", "`bpcli graph --dout` without the input values: there is no computation to seed.",
        "graph 'W @ x' --dout '[1, 0]'"),
    cli("InputError", "arguments.py", "A value that starts like an array but is not JSON.",
        "grad 'sum(x)' --x '[1, 2'"),
    cli("InputError", "arguments.py", "A vector or matrix file of another kind than .json, .csv or .npy.",
        "grad 'sum(x)' --x @x.txt", files={"x.txt": "1, 2\n"}),
    cli("InputError", "arguments.py", "A vector or matrix file (.json, .csv) whose numbers do not fit: ragged rows.",
        "grad 'sum(x)' --x @x.csv", files={"x.csv": "1, 2\n3\n"}),
    cli("InputError", "arguments.py", "A .csv file with a cell that is not a number.",
        "grad 'sum(x)' --x @x.csv", files={"x.csv": "1, two\n"}),
    cli("InputError", "arguments.py", "A .csv file with a number too large for a float (1e999 reads as infinite).",
        "grad 'sum(x)' --x @x.csv", files={"x.csv": "1e999, 2\n"}),
    cli("InputError", "arguments.py", "A .npy file that does not exist.",
        "grad 'sum(x)' --x @x.npy"),
    cli("InputError", "arguments.py", "A .npy file larger than the --max-size.",
        "grad 'sum(x)' --x @x.npy", files={"x.npy": Sparse(50_000_001)}),
    cli("InputError", "arguments.py", "A .npy file that is not NumPy's format.",
        "grad 'sum(x)' --x @x.npy", files={"x.npy": "not numpy\n"}),
    cli("InputError", "arguments.py", "A .npy file of Python objects (pickled), not numbers: never loaded.",
        "grad 'sum(x)' --x @x.npy",
        files={"x.npy": b"\x93NUMPY\x01\x007\x00{'descr': '|O', 'fortran_order': False, 'shape': (2,)}\n"}),
    cli("InputError", "arguments.py", "A .npy file cut short after NumPy's signature.",
        "grad 'sum(x)' --x @x.npy", files={"x.npy": b"\x93NUMPY\x01\x00"}),
    cli("InputError", "arguments.py", "A .npy name that is a directory.",
        "grad 'sum(x)' --x @x.npy", files={"x.npy": Dir()}),
    cli("DomainError", "tensor.py", "A division by zero in an element of a vector or matrix.",
        "grad 'sum(x / y)' --x '[1, 2]' --y '[1, 0]'"),
    cli("DomainError", "tensor.py", "An element 0 raised to a negative power.",
        "grad 'sum(x ^ -1)' --x '[1, 0]'"),
    cli("DomainError", "tensor.py", "A negative element raised to a power that is not a whole number.",
        "grad 'sum(x ^ 0.5)' --x '[1, -1]'"),
    cli("DomainError", "tensor.py", "The derivative of x^p at an element 0, for a power p below 1: it is infinite.",
        "grad 'sum(x ^ 0.5)' --x '[1, 0]'"),
    cli("DomainError", "tensor.py", "x^y with a negative element of x, differentiated with respect to the exponent y.",
        "grad 'sum(x ^ y)' --x '[1, -2]' --y '[2, 2]'"),
    cli("DomainError", "tensor.py", "The log of an element 0 or negative.",
        "grad 'sum(log(x))' --x '[1, 0]'"),
    cli("DomainError", "tensor.py", "The square root of a negative element.",
        "grad 'sum(sqrt(x))' --x '[1, -1]'"),
    cli("DomainError", "tensor.py", "The derivative of sqrt at an element 0: it is infinite.",
        "grad 'sum(sqrt(x))' --x '[1, 0]'"),
    cli("DomainError", "tensor.py", "An element too large for a float.",
        "grad 'sum(exp(x))' --x '[1, 1000]'"),
    cli("DomainError", "engine.py", "An update step too large for a float in an element of a vector or matrix (one check for numbers and tensors: engine.update_overflows).",
        "grad 'sum(x * x)' --x '[1, 2]' --lr 1e308"),
    api("InputError", "api.py", "A number of steps out of range, for a program over vectors and matrices.",
        'bpcli.grad("sum(x)", x=[1.0], lr=0.1, steps=0)'),
]  # fmt: skip

CATALOGUE: list[Entry] = [
    *PARSE_ERRORS,
    *BIND_ERRORS,
    *DOMAIN_ERRORS,
    *TENSOR_ERRORS,
    *INPUT_ERRORS,
    *REQUEST_ERRORS,
    *USAGE_ERRORS,
    *PROBLEM_SET_ERRORS,
    *INTERNAL_ERRORS,
]

# ---- exit codes: an example of each ---------------------------------------------------

EXIT_CODES: list[tuple[int, str, Entry]] = [
    (0, "success", cli("", "", "", f"grad '(x+y)*z' {LECTURE}")),
    (
        1,
        "the command ran, but found wrong answers: `check` (a wrong item), `batch` (a failed"
        " line), `grad --gradcheck` (a wrong gradient)",
        batch("", "", '{"id": 1, "expr": "2x", "values": {"x": 1}}', cls=""),
    ),
    (
        2,
        "bad input or usage: every error on this page but the two below",
        cli("", "", "", "grad '2x + 1' --x 3"),
    ),
    (
        3,
        "an internal error: a bug in bpcli",
        cli("", "", "", "grad 'x*x' x=1", setup="planted bug"),
    ),
    (130, "interrupted (Ctrl-C)", cli("", "", "", "grad 'x*x' x=1", setup="interrupted")),
]

CLASS_ORDER = (
    "ParseError",
    "BindError",
    "DomainError",
    "InputError",
    "RequestError",
    "UsageError",
    "Invalid",
    "internal",
    "interrupted",
)
