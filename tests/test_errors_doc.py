"""docs/errors.md, every error bpcli can raise, is generated from examples that run here.

The catalogue (tests/errors_catalogue.py) gives each error its class, the module
it comes from, when it happens and an example. The tests run every example,
capture the real class and the exact message, and check:

- the page equals the one rendered from what the examples printed just now;
- each example raises the class its entry names, from its module, with an exit
  code the README lists and no traceback;
- every place in src/bpcli that raises a bpcli error (a "site", found by a scan
  of the source) is reached by some example while it runs, and each module has
  at least as many entries as sites: a new `raise InputError(...)` fails here
  until the catalogue has an entry for it.

After changing a message or the catalogue, write the page again with
    python tests/test_errors_doc.py
"""

from __future__ import annotations

import codecs
import contextlib
import difflib
import io
import json
import re
import shlex
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

import bpcli
from bpcli import errors
from errors_catalogue import (
    CATALOGUE,
    CLASS_ORDER,
    EXIT_CODES,
    SETUPS,
    Dir,
    Entry,
    FileSpec,
    Python,
    Sparse,
)

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "errors.md"
PACKAGE = Path(bpcli.__file__).resolve().parent  # the code that runs: src/ or an installed copy
BPCLI_ERRORS = ("ParseError", "BindError", "DomainError", "InputError", "RequestError")

# A site: a line that raises (or builds) a bpcli error. ops.py raises Undefined (or its
# kind Infinite), which the engine turns into a DomainError through _domain_error; api.py
# raises through its parameter `error`; the parser's _syntax_error returns its ParseErrors.
ERROR_SITE = re.compile(
    r"^\s*(?:raise|return)\s+"
    r"(?:ParseError|BindError|DomainError|InputError|RequestError"
    r"|Undefined|Infinite|error|_domain_error)\("
)
# A problem-set site: a problem that cannot be checked, which `bpcli check` reports.
PROBLEM_SITE = re.compile(r"^\s*(?:raise _Bad|return _broken)\(|\bInvalid\(")


@dataclass(frozen=True)
class Site:
    kind: str  # "error" or "problem"
    module: str  # relative to the package: "parser.py", "render/chart.py"
    line: int
    text: str


def scan() -> list[Site]:
    """Every site in the package's modules, in file and line order."""
    found = []
    for path in sorted([*PACKAGE.glob("*.py"), *PACKAGE.glob("render/*.py")]):
        module = path.relative_to(PACKAGE).as_posix()
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            for kind, pattern in (("error", ERROR_SITE), ("problem", PROBLEM_SITE)):
                if pattern.search(text):
                    found.append(Site(kind, module, number, text.strip()))
    return found


SITES = scan()


def kind_of(entry: Entry) -> str | None:
    """Which sites an entry stands for: a bpcli error's, a problem set's, or none."""
    if entry.cls in BPCLI_ERRORS:
        return "error"
    if entry.cls == "Invalid":
        return "problem"
    return None


# ---- running an example -----------------------------------------------------------------


@dataclass
class Outcome:
    entry: Entry
    cls: str | None = None  # the class caught (or the batch answer's type, "Invalid", …)
    message: str = ""  # the exact message: str(exc), the first stderr line, the answer's
    raised: str | None = None  # an API error's class as Python prints it
    value: object = None  # what an API example returned instead of raising
    code: int | None = None
    stdout: str = ""
    stderr: str = ""
    hits: set[tuple[str, int]] = field(default_factory=set)  # (module, line) of sites reached


@contextlib.contextmanager
def tracing(hits: set[tuple[str, int]]) -> Iterator[None]:
    """Record every site line that runs."""
    lines: dict[str, tuple[str, set[int]]] = {}
    for site in SITES:
        filename = str(PACKAGE / site.module)
        lines.setdefault(filename, (site.module, set()))[1].add(site.line)

    def trace(frame: Any, event: str, arg: object) -> Callable[..., Any] | None:
        watched = lines.get(frame.f_code.co_filename)
        if watched is None:
            return None
        module, numbers = watched

        def local(frame: Any, event: str, arg: object) -> Callable[..., Any]:
            if event == "line" and frame.f_lineno in numbers:
                hits.add((module, frame.f_lineno))
            return local

        return local

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        yield
    finally:
        sys.settrace(previous)


def printed(snippet: str) -> str:
    """What a Python snippet prints (for input too long to show)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(snippet, {})  # a snippet of the catalogue's, never user input
    return out.getvalue()


def make_file(name: str, spec: FileSpec) -> None:
    path = Path(name)
    if isinstance(spec, Dir):
        path.mkdir()
    elif isinstance(spec, Sparse):
        with open(path, "wb") as stream:
            stream.truncate(spec.size)
    elif isinstance(spec, Python):
        path.write_text(printed(spec.snippet), encoding="utf-8")
    elif isinstance(spec, bytes):
        path.write_bytes(spec)
    else:
        path.write_text(spec, encoding="utf-8")


def run(entry: Entry) -> Outcome:
    """Run an example in a fresh directory holding its files, under its setup."""
    outcome = Outcome(entry)
    with (
        tempfile.TemporaryDirectory() as directory,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.chdir(directory)
        for name, spec in entry.files.items():
            make_file(name, spec)
        if entry.setup is not None:
            SETUPS[entry.setup][1](patch)
        with tracing(outcome.hits):
            if entry.api:
                run_api(entry, outcome)
            else:
                run_cli(entry, outcome, patch)
    return outcome


def run_api(entry: Entry, outcome: Outcome) -> None:
    namespace: dict[str, Any] = {"bpcli": bpcli}
    *setup, last = entry.api
    for line in setup:
        exec(line, namespace)  # the catalogue's own lines
    try:
        outcome.value = eval(last, namespace)
    except bpcli.BpcliError as exc:
        outcome.cls = type(exc).__name__
        outcome.raised = f"{type(exc).__module__}.{type(exc).__name__}"
        outcome.message = str(exc)
        return
    if isinstance(outcome.value, dict) and "error" in outcome.value:  # a batch answer
        outcome.cls = outcome.value["error"]["type"]
        outcome.message = outcome.value["error"]["message"]


def run_cli(entry: Entry, outcome: Outcome, patch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from bpcli import cli, process

    caught: list[bpcli.BpcliError] = []
    fail = process.fail

    def recording_fail(error: bpcli.BpcliError, for_scripts: bool = False) -> Any:
        caught.append(error)
        return fail(error, for_scripts)

    patch.setattr(process, "fail", recording_fail)
    stdin = printed(entry.stdin_python) if entry.stdin_python else entry.stdin
    result = CliRunner().invoke(cli.app, list(entry.cli), input=stdin, prog_name="bpcli")
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    outcome.code, outcome.stdout, outcome.stderr = result.exit_code, result.stdout, result.stderr
    errors_shown = [line for line in outcome.stderr.splitlines() if line.startswith("error: ")]
    answers = [json.loads(line) for line in outcome.stdout.splitlines()] if is_batch(entry) else []
    failed = [answer["error"] for answer in answers if not answer["ok"]]
    if errors_shown and USAGE.search(errors_shown[0]):  # Click's, said as bpcli's own
        outcome.cls, outcome.message = "UsageError", errors_shown[0]
    elif caught:
        outcome.cls, outcome.message = type(caught[-1]).__name__, errors_shown[0]
    elif failed:
        outcome.cls, outcome.message = failed[0]["type"], failed[0]["message"]
    elif errors_shown:  # check and key report a problem that cannot be checked
        outcome.cls, outcome.message = "Invalid", errors_shown[0]
    elif outcome.code == 3:
        outcome.cls, outcome.message = "internal", outcome.stderr.splitlines()[0]
    elif outcome.code == 130:
        outcome.cls, outcome.message = "interrupted", outcome.stderr.splitlines()[0]


# A usage error that Typer (Click) found ends by saying where the help is.
USAGE = re.compile(r" \(see bpcli(?: [a-z]+)? -h\)$")


def is_batch(entry: Entry) -> bool:
    return bool(entry.cli) and entry.cli[0] == "batch" and entry.cls == "RequestError"


def run_all() -> tuple[list[Outcome], list[tuple[int, str, Outcome]]]:
    outcomes = [run(entry) for entry in CATALOGUE]
    exits = [(code, meaning, run(entry)) for code, meaning, entry in EXIT_CODES]
    return outcomes, exits


# ---- the page ---------------------------------------------------------------------------

HEADER = """\
# Errors

<!-- Generated by tests/test_errors_doc.py from the catalogue in tests/errors_catalogue.py:
every example below was run and its output copied here. Do not edit this file by hand;
after changing a message or the catalogue, run `python tests/test_errors_doc.py`. -->

Every problem bpcli finds with what it was given is a `bpcli.BpcliError`, one of
five classes; the command line adds its own usage errors, and `bpcli check`
reports a problem set it cannot check. This page lists each error, when it
happens, an example, and the exact message.

- On the command line an error is `error: MESSAGE` on stderr, followed, when it
  is about a place in the expression, by that line with a caret `^` under the
  place; the exit code is 2. On a terminal a long MESSAGE is wrapped to its
  width, between words (never inside a quoted `'x + y'`); in a pipe, and with
  `--json` or `batch`, it is one line.
- In Python it is raised: `str(exc)` is the message, after `line L, column C: `
  when it has a place; `exc.message`, `exc.span`, `exc.line` and `exc.column`
  hold the parts. Python examples run after `import bpcli`.
- `bpcli batch` answers a request that fails with
  `{"id": …, "ok": false, "error": {"type", "message", "line"}}`, goes on with
  the next line, and exits with 1.
- `bpcli check` and `bpcli key` write `error: FILE: problem ID: FIELD: MESSAGE`
  for each problem they cannot check, check all the others, and exit with 2.

Command-line examples run in an empty directory holding the files they show.
"""

SECTIONS = {
    "UsageError": (
        "Command-line usage errors",
        "Typer (through Click) checks the command line before bpcli sees it: an"
        " unknown command, an option's value of the wrong kind or out of range, a"
        " missing argument. bpcli says it as its own errors, `error: MESSAGE (see"
        " bpcli COMMAND -h)` on one line, and exits with 2. The wording of MESSAGE"
        " is Typer's, and may change with its version.",
    ),
    "Invalid": (
        "Problem-set errors",
        "`bpcli check` and `bpcli key` report a file or a problem they cannot check"
        " as `error: FILE: problem ID: FIELD: MESSAGE` on stderr (a file that cannot"
        " be read at all has no problem or field), still check every other problem,"
        " and exit with 2. These are not exceptions: each is a `bpcli.problems.Invalid`"
        " in the problem set that `bpcli.problems.load` returns.",
    ),
    "internal": (
        "Internal errors",
        "Anything else that goes wrong is a bug in bpcli: one line on stderr, exit"
        " code 3. Please report it with the command that caused it.",
    ),
    "interrupted": ("Interrupted", "Ctrl-C stops bpcli without a traceback: exit code 130."),
}

WHAT = {
    "ParseError": "the text is not a valid bpcli program",
    "BindError": "a name is misused, or a value is missing, unknown or not a number",
    "DomainError": "the maths is undefined or overflows at the given values",
    "InputError": "something other than the expression is wrong: a file, an option, a count",
    "RequestError": "a `bpcli batch` line is not a request",
    "UsageError": "the command line itself (Typer/Click)",
    "Invalid": "a problem set that `bpcli check` cannot check",
    "internal": "a bug in bpcli",
    "interrupted": "Ctrl-C",
}


def title(cls: str) -> str:
    return f"`bpcli.{cls}`" if cls in BPCLI_ERRORS else SECTIONS[cls][0]


def row(*cells: str) -> str:
    """A Markdown table row; a | inside a cell, even in code, must be escaped."""
    return "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |"


def anchor(heading: str) -> str:
    """GitHub's anchor for a heading."""
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def render(outcomes: list[Outcome], exits: list[tuple[int, str, Outcome]]) -> str:
    by_class: dict[str, list[Outcome]] = {cls: [] for cls in CLASS_ORDER}
    for outcome in outcomes:
        by_class[outcome.entry.cls].append(outcome)
    out = [HEADER]
    out += ["| errors | what is wrong | examples |", "|---|---|---|"]
    for cls, group in by_class.items():
        out.append(row(f"[{title(cls)}](#{anchor(title(cls))})", WHAT[cls], str(len(group))))
    out += ["", "## Exit codes", "", "| code | meaning | example |", "|---|---|---|"]
    for code, meaning, outcome in exits:
        setup = outcome.entry.setup
        example = f"`{command(outcome.entry)}`" + (f" — {SETUPS[setup][0]}" if setup else "")
        out.append(row(str(code), meaning, example))
    for cls, group in by_class.items():
        out += ["", f"## {title(cls)}", ""]
        if cls in BPCLI_ERRORS:
            doc = getattr(errors, cls).__doc__
            out += [doc]
        else:
            out += [SECTIONS[cls][1]]
        modules = list(dict.fromkeys(outcome.entry.module for outcome in group))
        for module in modules:
            if len(modules) > 1 or cls in BPCLI_ERRORS:
                out += ["", f"### {module}"]
            for outcome in group:
                if outcome.entry.module == module:
                    out += ["", *render_entry(outcome)]
    return "\n".join(out) + "\n"


def render_entry(outcome: Outcome) -> list[str]:
    entry = outcome.entry
    when = entry.when
    if outcome.code is not None:
        when += f" Exit code {outcome.code}."
    lines = [when, ""]
    if entry.api:
        lines.append("```python")
        lines += [f">>> {line}" for line in entry.api]
        if outcome.raised is not None:
            lines += ["Traceback (most recent call last):", "  ..."]
            lines.append(f"{outcome.raised}: {outcome.message}")
        else:
            lines.append(repr(outcome.value))
    else:
        lines.append("```console")
        lines += shell(entry)
        shown = outcome.stdout if is_batch(entry) else outcome.stderr
        lines += [line.rstrip() for line in shown.splitlines()]
    lines.append("```")
    if entry.known_problem:
        lines += ["", f"**Known problem:** {entry.known_problem}"]
    return lines


def shell(entry: Entry) -> list[str]:
    """The example as shell commands: its setup, its files, and the command."""
    lines = []
    if entry.setup is not None:
        lines.append(f"# {SETUPS[entry.setup][0]}")
    for name, spec in entry.files.items():
        if isinstance(spec, Dir):
            lines.append(f"$ mkdir {shlex.quote(name)}")
        elif isinstance(spec, Sparse):
            lines.append(f"$ truncate -s {spec.size} {shlex.quote(name)}")
        elif isinstance(spec, Python):
            lines.append(f"$ python -c {shlex.quote(spec.snippet)} > {shlex.quote(name)}")
        elif isinstance(spec, bytes):
            lines.append(f"$ printf {printf_format(spec)} > {shlex.quote(name)}")
        else:
            lines.append(f"$ cat {shlex.quote(name)}")
            lines += spec.splitlines()
    lines.append(f"$ {command(entry)}")
    return lines


def command(entry: Entry) -> str:
    text = "bpcli " + " ".join(shell_word(arg) for arg in entry.cli)
    if entry.stdin_python is not None:
        return f"python -c {shlex.quote(entry.stdin_python)} | {text}"
    if isinstance(entry.stdin, str) and plain_line(entry.stdin):
        return f"echo {shlex.quote(entry.stdin[:-1])} | {text}"
    if entry.stdin is not None:
        data = entry.stdin.encode() if isinstance(entry.stdin, str) else entry.stdin
        return f"printf {printf_format(data)} | {text}"
    return text


def shell_word(arg: str) -> str:
    """An argument as a shell writes it; a byte that is not UTF-8 (a lone surrogate, as
    sys.argv holds it) in bash's $'\\xff' quoting."""
    if not any("\udc80" <= c <= "\udcff" for c in arg):
        return shlex.quote(arg)
    escaped = (
        f"\\x{ord(c) - 0xDC00:02x}" if "\udc80" <= c <= "\udcff" else "\\" * (c in "'\\") + c
        for c in arg
    )
    return "$'" + "".join(escaped) + "'"


def plain_line(text: str) -> bool:
    return text.endswith("\n") and "\n" not in text[:-1] and text[:-1].isprintable()


def printf_format(data: bytes) -> str:
    """A quoted printf format that writes exactly `data` (octal escapes: POSIX printf)."""
    parts = []
    for byte in data:
        char = chr(byte)
        if char == "\n":
            parts.append("\\n")
        elif char in "\\%'":
            parts.append({"\\": "\\\\", "%": "%%", "'": "'\\''"}[char])
        elif 32 <= byte < 127:
            parts.append(char)
        else:
            parts.append(f"\\{byte:03o}")
    return "'" + "".join(parts) + "'"


# ---- the tests ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ran() -> tuple[list[Outcome], list[tuple[int, str, Outcome]]]:
    return run_all()


@pytest.fixture(scope="module")
def outcomes(ran: tuple[list[Outcome], Any]) -> list[Outcome]:
    return ran[0]


def test_the_page_is_rendered_from_the_examples(ran):
    want = render(*ran)
    have = DOC.read_text(encoding="utf-8") if DOC.exists() else ""
    if have != want:
        diff = difflib.unified_diff(
            have.splitlines(), want.splitlines(), "docs/errors.md", "rendered now", lineterm=""
        )
        shown = "\n".join(list(diff)[:80])
        pytest.fail(f"docs/errors.md is out of date: python tests/test_errors_doc.py\n{shown}")


def test_each_example_raises_the_class_of_its_entry(outcomes):
    wrong = [
        (outcome.entry.when, outcome.entry.cls, outcome.cls, outcome.message)
        for outcome in outcomes
        if outcome.cls != outcome.entry.cls
    ]
    assert wrong == []


def expected_code(entry: Entry) -> int | None:
    if entry.api:
        return None
    if is_batch(entry):
        return 1  # the failed line is answered; the others go on
    return {"internal": 3, "interrupted": 130}.get(entry.cls, 2)


def test_each_example_exits_as_the_readme_says_without_a_traceback(outcomes):
    wrong = [
        (outcome.entry.when, outcome.code)
        for outcome in outcomes
        if outcome.code != expected_code(outcome.entry)
    ]
    assert wrong == []
    for outcome in outcomes:
        assert "Traceback" not in outcome.stdout + outcome.stderr, outcome.entry.when
        assert outcome.message, outcome.entry.when
        if outcome.entry.cli and outcome.entry.cls in BPCLI_ERRORS and not is_batch(outcome.entry):
            assert outcome.message.startswith("error: "), outcome.entry.when


def test_each_example_comes_from_the_module_of_its_entry(outcomes):
    wrong = []
    for outcome in outcomes:
        kind = kind_of(outcome.entry)
        if kind is None:
            continue
        reached = {module for module, _ in outcome.hits}
        if outcome.entry.module not in reached:
            wrong.append((outcome.entry.when, outcome.entry.module, sorted(reached)))
    assert wrong == []


def test_every_site_is_reached_by_an_example(outcomes):
    reached = set().union(*(outcome.hits for outcome in outcomes))
    missed = [site for site in SITES if (site.module, site.line) not in reached]
    assert missed == [], "add an entry to tests/errors_catalogue.py for each of these"


def test_each_module_has_an_entry_for_each_of_its_sites():
    sites = Counter((site.kind, site.module) for site in SITES)
    entries = Counter((kind_of(e), e.module) for e in CATALOGUE if kind_of(e) is not None)
    short = {key: (count, entries[key]) for key, count in sites.items() if entries[key] < count}
    assert short == {}, "(kind, module): (sites, entries)"
    assert sites[("error", "parser.py")] > 10 and sites[("problem", "problems.py")] > 10


def test_each_exit_code_has_an_example(ran):
    _, exits = ran
    assert [(code, outcome.code) for code, _, outcome in exits] == [
        (code, code) for code, _, _ in exits
    ]
    assert [code for code, _, _ in exits] == [0, 1, 2, 3, 130]


def test_the_examples_are_shown_as_they_run():
    for entry in CATALOGUE:
        assert bool(entry.api) != bool(entry.cli), entry.when
        for spec in entry.files.values():
            assert not isinstance(spec, str) or spec.endswith("\n") or not spec, entry.when
        if isinstance(entry.stdin, str):
            assert len(entry.stdin) < 200, "long input: use stdin_python"
        line = command(entry).rpartition("| ")[2]
        if "$'" in line:  # bash's quoting, which shlex does not read: each word read back
            assert line == "bpcli " + " ".join(shell_word(arg) for arg in entry.cli)
            for arg in entry.cli:
                word = shell_word(arg)
                if word.startswith("$'"):
                    raw = codecs.decode(word[2:-1], "unicode_escape").encode("latin-1")
                    assert raw.decode("utf-8", "surrogateescape") == arg
            continue
        assert shlex.split(line) == ["bpcli", *entry.cli]
    assert printf_format(b"a'%\\\n\xe9") == "'a'\\''%%\\\\\\n\\351'"


def main() -> None:
    """Write docs/errors.md from the examples, run now."""
    import conftest  # noqa: F401  the tests' environment: no colour, 80 columns

    DOC.write_text(render(*run_all()), encoding="utf-8")
    print(f"wrote {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
