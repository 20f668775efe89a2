"""Problem sets: the homework file format (TOML, or JSON of the same shape), read and written.

A problem set is a `[defaults]` table and a list of `[[problem]]` tables; each
problem has an expression, its input values, optionally a learning rate, its
tolerances and max tie rule (else those of `[defaults]`), and an
`[problem.answer]` table of submitted answers. Reading never stops at the
first bad problem: each problem is either a `Problem` or an `Invalid` that says
which file, problem and field is wrong, so every other problem still counts.
"""

from __future__ import annotations

import json
import math
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .arguments import MAX_SIZE, Unreadable, parse_number, read_input
from .errors import InputError
from .i18n import N_, tr
from .ops import TieRule, tie_rule
from .values import MAX_DIMENSIONS, NotANumber, NotATensor, to_float, to_value

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ANSWER_KEYS = ("output", "grad", "nodes", "node_grads", "update", "new_output")
PROBLEM_KEYS = (
    "id",
    "points",
    "expr",
    "values",
    "lr",
    "rel_tol",
    "abs_tol",
    "decimals",
    "sig_figs",
    "max_tie",
    "ask",
    "statement",
    "answer",
)
TOP_KEYS = ("student", "defaults", "problem")
TOLERANCE_KEYS = ("rel_tol", "abs_tol", "decimals", "sig_figs")
ROUNDING_KEYS = {"decimals": (0, 15), "sig_figs": (1, 17)}  # whole numbers, in these bounds
DEFAULT_KEYS = (*TOLERANCE_KEYS, "max_tie")  # what [defaults] sets for every problem
MAX_POINTS = 1_000_000  # a problem's points; any number of problems still adds up to a float
MAX_REL_TOL = 1.0  # at 1, a relative tolerance already accepts every answer of the right sign
TABLES = ("grad", "nodes", "node_grads", "update")  # answers that map a name to a number
# A value or an answer: a number, or a vector or matrix as nested lists of floats (issue 13)
Value = float | list[Any]


@dataclass(frozen=True, slots=True)
class Tolerance:
    """An answer is right when |got - want| <= max(abs_tol, rel_tol * max(|got|, |want|)),
    or, with `decimals` (`sig_figs`), when it is within half a unit of the last decimal
    (significant figure) asked for: the right answer rounded so, or closer."""

    rel_tol: float = 1e-6
    abs_tol: float = 1e-9
    decimals: int | None = None
    sig_figs: int | None = None

    def close(self, got: float, want: float) -> bool:
        gap = abs(got - want)
        if gap <= max(self.abs_tol, self.rel_tol * max(abs(got), abs(want))):
            return True
        return gap <= self.half_unit(want)

    def half_unit(self, want: float) -> float:
        """Half a unit of the last place asked for (0 when no rounding is asked for); a
        hair more, so that a tie written either way (0.125 as 0.12 or 0.13) is right."""
        half = 0.0
        if self.decimals is not None:
            half = 0.5 * 10.0**-self.decimals
        if self.sig_figs is not None and want != 0 and math.isfinite(want):
            exponent = math.floor(math.log10(abs(want)))
            half = max(half, 0.5 * 10.0 ** (exponent - self.sig_figs + 1))
        return half * (1 + 1e-9)


@dataclass(frozen=True, slots=True)
class Answer:
    """Submitted answers; an item not given is None (scalars) or absent (tables). An
    answer of a vector or matrix is nested lists (`Value`)."""

    output: Value | None = None
    grad: dict[str, Value] = field(default_factory=dict)
    nodes: dict[str, Value] = field(default_factory=dict)
    node_grads: dict[str, Value] = field(default_factory=dict)
    update: dict[str, Value] = field(default_factory=dict)
    new_output: Value | None = None

    def items(self) -> list[tuple[str, Value]]:
        """Every answered item as (field, value): `output`, `grad.x`, `nodes.q`, …"""
        items: list[tuple[str, Value]] = []
        for key in ANSWER_KEYS:
            value = getattr(self, key)
            if isinstance(value, dict):
                items.extend((f"{key}.{name}", number) for name, number in value.items())
            elif value is not None:
                items.append((key, value))
        return items


@dataclass(frozen=True, slots=True)
class Problem:
    id: str
    expr: str
    values: dict[str, Value]
    points: float = 1.0
    lr: float | None = None
    tolerance: Tolerance = Tolerance()
    answer: Answer = Answer()
    own: dict[str, float | str] = field(default_factory=dict)  # tolerances, max_tie as written
    max_tie: TieRule = "split"
    ask: tuple[str, ...] | None = None  # the kinds of item asked for; None: the set does not say

    def tolerance_settings(self) -> dict[str, float | str]:
        """The tolerance's settings, as a set writes them (for an override to replace)."""
        tol = self.tolerance
        found: dict[str, float | str] = {"rel_tol": tol.rel_tol, "abs_tol": tol.abs_tol}
        if tol.decimals is not None:
            found["decimals"] = tol.decimals
        if tol.sig_figs is not None:
            found["sig_figs"] = tol.sig_figs
        return found


@dataclass(frozen=True, slots=True)
class Invalid:
    """A problem (or a whole file, with `problem` None) that cannot be checked."""

    file: str
    problem: str | None
    field: str | None
    message: str
    points: float = 1.0

    def __str__(self) -> str:
        where = [self.file]
        if self.problem is not None:
            where.append(tr("problem {problem}").format(problem=self.problem))
        if self.field is not None:
            where.append(self.field)
        return f"{': '.join(where)}: {self.message}"


@dataclass(frozen=True, slots=True)
class ProblemSet:
    file: str
    format: str  # "toml" or "json"
    defaults: dict[str, float | str]
    problems: list[Problem | Invalid]
    student: str | None = None
    text: str = field(default="", repr=False)  # as read: the handout keeps it


class _Bad(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


class _BadArray(_Bad):
    """A vector or matrix bpcli does not take (ragged, empty, too deep): `reason` can say
    it of a subject (`the submitted ∂f/∂W is ragged: …`), as `message` cannot."""

    def __init__(self, field: str, reason: NotATensor) -> None:
        super().__init__(field, reason.detail())
        self.reason = reason


@dataclass(frozen=True)
class Unread:
    """A submitted answer's vector or matrix that could not be read, as `_BadArray` tells
    it: said of its item when the item is graded (`said`), when its subject, ∂f/∂W, is
    known (the problem's output names it)."""

    field: str  # answer.grad.W
    reason: NotATensor
    file: str

    def said(self, output: str) -> str:
        """Why, of the item in a problem whose output is `output`, with its field and file."""
        kind, _, name = self.field.removeprefix("answer.").partition(".")
        return f"{self.field}: {_said_of(self.reason, submitted(kind, name, output))} ({self.file})"


def submitted(kind: str, name: str, output: str) -> str:
    """A submitted answer's item as a subject (`the submitted ∂f/∂W`): of the answer
    `kind` for the input or node `name`, in a problem whose output is `output`."""
    if kind in ("grad", "node_grads"):
        return tr("the submitted {what}").format(what=f"∂{output}/∂{name}")
    if kind == "update":
        return tr("the submitted updated {name}").format(name=name)
    if kind == "new_output":
        return tr("the submitted new {output}").format(output=output)
    return tr("the submitted {what}").format(what=output if kind == "output" else name)


def _subject(field: str, expr: str) -> str | None:
    """The answer `field` (`answer.grad.W`) of the problem `expr` as a subject (None for
    an expression that does not parse, whose error comes first)."""
    from .errors import BpcliError
    from .parser import parse

    try:
        graph = parse(expr)
    except BpcliError:
        return None
    kind, _, name = field.removeprefix("answer.").partition(".")
    return submitted(kind, name, graph.name(graph.output))


def _said_of(reason: NotATensor, subject: str) -> str:
    """An array's reason, said of `subject`; of its element if it names one."""
    return reason.detail() if reason.where else reason.message(subject)


# ---- reading ---------------------------------------------------------------------


def load(path: Path) -> ProblemSet:
    """Read a problem set. A file that cannot be read at all is one Invalid entry."""
    name, kind = file_name(path), file_kind(path)
    try:
        text = read(path)
    except _Bad as bad:
        return _broken(name, kind, bad.message)
    return loads(text, name, kind)


def file_name(path: Path) -> str:
    return os.fsencode(path).decode("utf-8", "backslashreplace")  # printable, as the bytes


def file_kind(path: Path) -> str:
    return "json" if path.suffix.lower() == ".json" else "toml"


def read(path: Path) -> str:
    """A problem set's or a submission's text, bounded in size, or _Bad saying why not."""
    try:
        return read_input(path, MAX_SIZE, N_("too large for a problem set"))
    except Unreadable as exc:
        raise _Bad(None, str(exc)) from None


def decode(text: str, kind: str) -> Any:
    """The data of a TOML or JSON text (a UTF-8 byte-order mark is allowed), or _Bad."""
    text = text.removeprefix("\ufeff")
    try:
        return json.loads(text) if kind == "json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise _Bad(
            None, tr("not valid {upper}: {reason}").format(upper=kind.upper(), reason=exc)
        ) from None
    except RecursionError:  # both parsers recurse into nested arrays and tables
        raise _Bad(
            None,
            tr("not {upper} that bpcli can read: nested too deeply").format(upper=kind.upper()),
        ) from None


def loads(text: str, name: str = "<problems>", kind: str = "toml") -> ProblemSet:
    try:
        data = decode(text, kind)
    except _Bad as bad:
        return _broken(name, kind, bad.message)
    if not isinstance(data, dict):
        top = (
            N_("the top level must be an object")
            if kind == "json"
            else N_("the top level must be a table")
        )
        return _broken(name, kind, tr(top))
    unknown = sorted(set(data) - set(TOP_KEYS))
    if unknown:
        return _broken(
            name,
            kind,
            tr("unknown key {key!r} (the keys are {keys})").format(
                key=unknown[0], keys=", ".join(TOP_KEYS)
            ),
        )
    student = data.get("student")
    if student is not None and not isinstance(student, str):
        return _broken(name, kind, tr("student must be text (the student's id)"))
    try:
        defaults = _settings(data.get("defaults", {}), "defaults")
    except _Bad as bad:
        return ProblemSet(name, kind, {}, [Invalid(name, None, bad.field, bad.message)])
    raw = data.get("problem", [])
    if not isinstance(raw, list) or not raw:
        return _broken(name, kind, tr("no problems: add [[problem]] tables"))
    problems: list[Problem | Invalid] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw, start=1):
        problem = _problem(entry, index, defaults, name)
        if isinstance(problem, Problem) and problem.id in seen:
            twice = tr("the same id is used twice")
            problems.append(Invalid(name, problem.id, "id", twice, problem.points))
            continue
        if isinstance(problem, Problem):
            seen.add(problem.id)
        problems.append(problem)
    return ProblemSet(name, kind, defaults, problems, student, text)


def _broken(name: str, kind: str, message: str) -> ProblemSet:
    return ProblemSet(name, kind, {}, [Invalid(name, None, None, message)])


def _problem(
    entry: Any, index: int, defaults: dict[str, float | str], file: str
) -> Problem | Invalid:
    ident = str(index)
    points = 1.0
    try:
        if not isinstance(entry, dict):
            raise _Bad(None, tr("a problem must be a table"))
        if "id" in entry:
            if not isinstance(entry["id"], (str, int)) or isinstance(entry["id"], bool):
                raise _Bad("id", tr("must be text or a whole number"))
            ident = _text(str(entry["id"]), "id")
        if "points" in entry:
            points = _points(entry["points"])
        unknown = [key for key in entry if key not in PROBLEM_KEYS]
        if unknown:
            raise _Bad(
                shown(unknown[0]),
                tr("unknown key (the keys are {items})").format(items=", ".join(PROBLEM_KEYS)),
            )
        if "expr" not in entry:
            raise _Bad("expr", tr("missing: every problem needs an expression"))
        if not isinstance(entry["expr"], str):
            raise _Bad("expr", tr("must be text"))
        expr = _text(entry["expr"], "expr")
        values = _table(entry.get("values", {}), "values")
        lr = _number(entry["lr"], "lr") if "lr" in entry else None
        own = _settings(entry, "")
        ask = _ask(entry["ask"], lr) if "ask" in entry else None
        if "statement" in entry and not isinstance(entry["statement"], str):
            raise _Bad("statement", tr("must be text: the problem as the handout states it"))
        answer = _answer(entry.get("answer", {}), lr)
    except _BadArray as bad:
        message = bad.message
        where = bad.field or ""
        subject = _subject(where, expr) if where.startswith("answer.") else None
        if subject is not None:
            message = _said_of(bad.reason, subject)
        return Invalid(file, ident, bad.field, message, points)
    except _Bad as bad:
        return Invalid(file, ident, bad.field, bad.message, points)
    settings = {**defaults, **own}
    tolerance = tolerance_of(settings)
    max_tie = tie_rule(settings.get("max_tie", "split")) or "split"
    return Problem(ident, expr, values, points, lr, tolerance, answer, own, max_tie, ask)


def tolerance_of(settings: dict[str, float | str]) -> Tolerance:
    """The tolerance that checked settings (see `_settings`) describe."""
    found: dict[str, Any] = {}
    for key in TOLERANCE_KEYS:
        if key in settings:
            value = settings[key]
            found[key] = int(value) if key in ROUNDING_KEYS else float(value)
    return Tolerance(**found)


def overrides(raw: dict[str, Any]) -> dict[str, float | str]:
    """Tolerances given on the command line (`rel_tol`: a number, …), checked as a set's
    are; an InputError names the option."""
    try:
        return _settings(raw, "")
    except _Bad as bad:
        option = "--" + (bad.field or "").replace("_", "-")
        raise InputError(f"{option}: {bad.message}") from None


def _ask(raw: Any, lr: float | None) -> tuple[str, ...]:
    """The kinds of item a problem asks for: a list of answer keys."""
    kinds = ", ".join(ANSWER_KEYS)
    if not isinstance(raw, list) or not raw or not all(isinstance(k, str) for k in raw):
        raise _Bad(
            "ask", tr("must be a list of the items asked for, some of {kinds}").format(kinds=kinds)
        )
    for kind in raw:
        if kind not in ANSWER_KEYS:
            raise _Bad(
                "ask",
                tr("{shown!r} is not an item (the items are {kinds})").format(
                    shown=shown(kind), kinds=kinds
                ),
            )
        if lr is None and kind in ("update", "new_output"):
            raise _Bad("ask", tr("asks for {kind}, but the problem has no lr").format(kind=kind))
    return tuple(dict.fromkeys(raw))


def _points(raw: Any) -> float:
    points = _number(raw, "points")
    if points < 0:
        raise _Bad("points", tr("must not be negative"))
    if points > MAX_POINTS:
        raise _Bad(
            "points",
            tr("must be at most {max_points:,}, got {points!r}").format(
                max_points=MAX_POINTS, points=points
            ),
        )
    return points


def _answer(raw: Any, lr: float | None) -> Answer:
    if not isinstance(raw, dict):
        raise _Bad("answer", tr("must be a table"))
    unknown = [key for key in raw if key not in ANSWER_KEYS]
    if unknown:
        raise _Bad(
            f"answer.{shown(unknown[0])}",
            tr("unknown answer (the answers are {items})").format(items=", ".join(ANSWER_KEYS)),
        )
    if lr is None:
        for key in ("update", "new_output"):
            if key in raw:
                raise _Bad(f"answer.{key}", tr("the problem has no lr, so there is no update step"))
    parts: dict[str, Any] = {}
    for key in ANSWER_KEYS:
        if key not in raw:
            continue
        where = f"answer.{key}"
        parts[key] = _table(raw[key], where) if key in TABLES else _value(raw[key], where)
    return Answer(**parts)


def _settings(raw: Any, where: str) -> dict[str, float | str]:
    """The tolerances and the max tie rule of `[defaults]` (where "defaults") or a problem."""
    if not isinstance(raw, dict):
        raise _Bad(where, tr("must be a table"))
    if where == "defaults":
        unknown = [key for key in raw if key not in DEFAULT_KEYS]
        if unknown:
            keys = ", ".join(DEFAULT_KEYS)
            raise _Bad(
                f"defaults.{shown(unknown[0])}",
                tr("unknown key (the keys are {keys})").format(keys=keys),
            )
    found: dict[str, float | str] = {}
    for key in TOLERANCE_KEYS:
        if key in raw and key in ROUNDING_KEYS:
            label = f"{where}.{key}" if where else key
            low, high = ROUNDING_KEYS[key]
            places = raw[key]
            if isinstance(places, bool) or not isinstance(places, int) or not low <= places <= high:
                raise _Bad(
                    label,
                    tr("must be a whole number from {low} to {high}, got {places!r}").format(
                        low=low, high=high, places=places
                    ),
                )
            found[key] = places
        elif key in raw:
            label = f"{where}.{key}" if where else key
            tolerance = _number(raw[key], label)
            if tolerance < 0:
                raise _Bad(label, tr("must not be negative"))
            if key == "rel_tol" and tolerance > MAX_REL_TOL:
                raise _Bad(
                    label,
                    tr(
                        "must be at most {max_rel_tol:g} (a relative tolerance of 1 already "
                        "accepts every answer of the right sign), got {tolerance!r}"
                    ).format(max_rel_tol=MAX_REL_TOL, tolerance=tolerance),
                )
            found[key] = tolerance
    if "max_tie" in raw:
        rule = tie_rule(raw["max_tie"])
        if rule is None:
            label = f"{where}.max_tie" if where else "max_tie"
            raise _Bad(
                label, tr('must be "split" or "first", got {raw!r}').format(raw=raw["max_tie"])
            )
        found["max_tie"] = rule
    return found


def _table(raw: Any, where: str) -> dict[str, Value]:
    """A table of name = number, or = a vector or matrix (nested lists of numbers)."""
    if not isinstance(raw, dict):
        raise _Bad(where, tr("must be a table of name = number"))
    table = {}
    for name, value in raw.items():
        label = f"{where}.{shown(str(name))}"
        table[_text(str(name), label)] = _value(value, label)
    return table


_TOO_DEEP = (
    N_("is nested too deep: a value is a number, a vector or a matrix"),
    N_("{what} is nested too deep: a value is a number, a vector or a matrix"),
)


def _value(raw: Any, where: str, number: Callable[[Any, str], float] | None = None) -> Value:
    """A number (`number` reads it: `_number` unless given), or a vector or matrix:
    nested lists of numbers, each read by `number`, no deeper than a matrix, not ragged,
    not empty (values.to_value's rules, with its words); else _Bad naming the element."""
    read = _number if number is None else number
    if not isinstance(raw, list):
        return read(raw, where)

    def walk(item: Any, at: str, depth: int) -> Any:
        if not isinstance(item, list):
            return read(item, f"{where}{at}")
        if depth >= MAX_DIMENSIONS:  # before going deeper: a nesting may be very deep
            raise _BadArray(where, NotATensor(*_TOO_DEEP))
        return [walk(x, f"{at}[{i}]", depth + 1) for i, x in enumerate(item)]

    data = walk(raw, "", 0)
    try:
        to_value(data)
    except NotATensor as exc:
        raise _BadArray(where, exc) from None
    return data  # type: ignore[no-any-return]


def _text(raw: str, where: str) -> str:
    """Text that can be written out: JSON's `\\ud800` escape reads as a lone surrogate."""
    if shown(raw) != raw:
        raise _Bad(
            where,
            tr("is not Unicode text: it holds a lone surrogate ({shown})").format(
                shown=shown(raw)[:80]
            ),
        )
    return raw


def shown(text: str) -> str:
    """`text` with any lone surrogate written as an escape, so that it can be printed."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _number(raw: Any, where: str) -> float:
    try:
        return to_float(raw)
    except NotANumber as exc:
        raise _Bad(where, exc.message(digits=True)) from None


# ---- the handout ---------------------------------------------------------------

_PROBLEM_HEADER = re.compile(r"^\s*\[\[\s*problem\s*\]\]\s*(#.*)?$")
_ANSWER_HEADER = re.compile(r"^\s*\[\s*problem\s*\.\s*answer\s*\]\s*(#.*)?$")
_HEADER = re.compile(r"^\s*\[")
_ANSWER_KEY = re.compile(r"^\s*answer\s*=")
_KEPT = re.compile(r"^\s*(#.*)?$")  # a blank or comment line: it may introduce what follows
HANDOUT = N_('Replace each ? with your answer, then hand in this file (student = "your id").')


def handout(problems: ProblemSet, fields: list[list[str]]) -> str:
    """The student's handout of a set: the set's own text (its comments, its numbers as
    written), without any answers, and each problem's asked `fields` as `?`."""
    text = problems.text
    tables = [_blank_table(f) for f in fields]
    if problems.format == "json":
        # Each number is kept as the set writes it (1e-3 stays 1e-3, 2.50 stays 2.50):
        # read as a token unique to this run, written back as its own text.
        import secrets

        nonce = secrets.token_hex(8)
        written: list[str] = []

        def keep(raw: str) -> str:
            written.append(raw)
            return f"{nonce}:{len(written) - 1}"

        data = json.loads(text.removeprefix("\ufeff"), parse_float=keep, parse_int=keep)
        for entry, table in zip(data["problem"], fields, strict=True):
            entry["answer"] = _blank_json(table)
        dumped = json.dumps(data, ensure_ascii=False, indent=2)
        return re.sub(f'"{nonce}:(\\d+)"', lambda m: written[int(m.group(1))], dumped) + "\n"
    lines = text.removeprefix("\ufeff").splitlines()
    starts = [n for n, line in enumerate(lines) if _PROBLEM_HEADER.match(line)]
    out = [f"# {tr(HANDOUT)}"]
    out.extend(lines[: starts[0]] if starts else lines)
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        block: list[str] = []
        held: list[str] = []
        skipping = False
        open_brackets, kept = 0, True  # a value written over lines (a matrix, a row a line)
        for line in lines[start:end]:
            if open_brackets > 0:  # goes where the line that opened it went
                open_brackets += _brackets(line)
                if kept:
                    block.append(line)
                continue
            open_brackets = _brackets(line)
            if _HEADER.match(line):
                skipping = bool(_ANSWER_HEADER.match(line))
                held = []  # comments inside an answer table go with it
                if skipping:
                    continue
            kept = False
            if skipping and _KEPT.match(line):
                held.append(line)  # kept if nothing of the table follows: the next problem's
            elif skipping:
                held = []
            elif not _ANSWER_KEY.match(line):
                block.append(line)
                kept = True
        block.extend(held)
        cut = len(block)
        while cut > 1 and _KEPT.match(block[cut - 1]):
            cut -= 1  # the comments before the next problem stay before it
        tail = block[cut:]
        while tail and not tail[0].strip():
            tail.pop(0)
        out.extend([*block[:cut], "", "[problem.answer]", *tables[k], *([""] if tail else [])])
        out.extend(tail)
    return "\n".join(out) + "\n"


_QUOTED = re.compile(r""""(?:[^"\\]|\\.)*"|'[^']*'""")


def _brackets(line: str) -> int:
    """How many more brackets and braces the line opens than it closes, outside its
    strings and its comment: above 0, its value goes on over the next lines."""
    bare = _QUOTED.sub("", line).partition("#")[0]
    return bare.count("[") + bare.count("{") - bare.count("]") - bare.count("}")


def _blank_table(fields: list[str]) -> list[str]:
    """`output = ?`, `grad = { x = ?, y = ? }`: the asked fields, a line a kind."""
    kinds: dict[str, list[str]] = {}
    for field_name in fields:
        kind, _, name = field_name.partition(".")
        kinds.setdefault(kind, []).append(name)
    lines = []
    for kind, names in kinds.items():
        if kind in TABLES:
            inner = ", ".join(f"{_toml_key(name)} = ?" for name in names)
            lines.append(f"{kind} = {{ {inner} }}")
        else:
            lines.append(f"{kind} = ?")
    return lines


def _blank_json(fields: list[str]) -> dict[str, Any]:
    answer: dict[str, Any] = {}
    for field_name in fields:
        kind, _, name = field_name.partition(".")
        if kind in TABLES:
            answer.setdefault(kind, {})[name] = "?"
        else:
            answer[kind] = "?"
    return answer


# ---- submissions -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Entry:
    """One problem of a submission: its answers, the items that could not be read (field or
    kind -> why), and everything else it holds, to be compared with the set and ignored."""

    answer: Answer
    errors: dict[str, str | Unread]
    rest: dict[str, Any]
    ignored: tuple[str, ...] = ()  # answer keys that are no items


@dataclass(frozen=True, slots=True)
class Submission:
    """A student's file, read as untrusted answers keyed by problem id, nothing more."""

    file: str
    student: str
    entries: dict[str, Entry]
    notes: tuple[str, ...] = ()
    error: str | None = None  # the file cannot be read at all


def load_submission(path: Path) -> Submission:
    """A submission: never an exception, whatever the file holds."""
    name, kind = file_name(path), file_kind(path)
    stem = shown(path.stem)
    try:
        text = read(path)
    except _Bad as bad:
        return Submission(name, stem, {}, error=f"{name}: {bad.message}")
    return submission(text, name, stem, kind)


def submission(text: str, name: str, stem: str, kind: str = "toml") -> Submission:
    """The answers of a submission's text; `stem` is the student's id unless it says one.
    A `?` left from the handout (not TOML, nor JSON) is read as a mark that costs its item."""
    try:
        data = decode(_marked(text), kind)
    except _Bad as bad:
        return Submission(name, stem, {}, error=f"{name}: {bad.message}")
    if not isinstance(data, dict):
        return Submission(
            name, stem, {}, error=tr("{name}: the top level must be a table").format(name=name)
        )
    student = data.get("student")
    notes = []
    if isinstance(student, str) and student.strip() and shown(student) == student:
        stem = student.strip()[:200]
    elif student is not None:
        notes.append(
            tr("{name}: student must be text; the file's name {stem} is the student's id").format(
                name=name, stem=stem
            )
        )
    for key in data:
        if key not in ("student", "problem"):
            notes.append(
                tr("{name}: {shown} is ignored; graded against the set").format(
                    name=name, shown=shown(str(key))[:80]
                )
            )
    raw = data.get("problem", [])
    if not isinstance(raw, list):
        raw = []
    if not raw:
        notes.append(tr("{name}: no problems: every problem of the set scores 0").format(name=name))
    entries: dict[str, Entry] = {}
    for index, item in enumerate(raw, start=1):
        if not isinstance(item, dict):
            notes.append(
                tr("{name}: problem {index} is not a table; ignored").format(name=name, index=index)
            )
            continue
        ident = item.get("id", str(index))
        if isinstance(ident, bool) or not isinstance(ident, (str, int)):
            notes.append(
                tr("{name}: problem {index} has an id that is not text; ignored").format(
                    name=name, index=index
                )
            )
            continue
        ident = shown(str(ident))
        if ident in entries:
            notes.append(
                tr("problem {ident}: answered twice; the first answers are graded").format(
                    ident=ident
                )
            )
            continue
        rest = {k: v for k, v in item.items() if k not in ("id", "answer")}
        entries[ident] = _entry(item.get("answer", {}), rest, _Lines(name, text))
    return Submission(name, stem, entries, tuple(notes))


# A bare ? where a value goes (`x = ?`, `"x": ?`), outside of any quotes before it
_LEFTOVER = re.compile(r"""^((?:[^"'#]|"[^"\n]*")*[=:]\s*)\?(?=\s*(?:[,}\]#]|$))""")
_MARK = "?\x00"  # a leftover ? as a string, with its line: "?\x0011"


def _marked(text: str) -> str:
    """`text` with each leftover `x = ?` written `x = "?\\u0000LINE"`, so that the file
    reads and only that item is lost. One a line: the handout writes one table a line."""
    lines = text.splitlines(keepends=True)
    for number, line in enumerate(lines, start=1):
        marked = line
        while True:
            found = _LEFTOVER.match(marked)
            if found is None:
                break
            marked = f'{found.group(1)}"?\\u0000{number}"{marked[found.end() :]}'
        lines[number - 1] = marked
    return "".join(lines)


class _Lines:
    """Where in a submission's text a value is written, for its messages."""

    def __init__(self, file: str, text: str) -> None:
        self.file = file
        self.lines = text.splitlines()

    def of(self, raw: str) -> str:
        """`kim.toml, line 11`: the first line where the string `raw` is written."""
        if raw.startswith(_MARK):
            return tr("{file}, line {line}").format(file=self.file, line=raw[len(_MARK) :])
        for quoted in (json.dumps(raw), f"'{raw}'"):
            for number, line in enumerate(self.lines, start=1):
                if quoted in line:
                    return tr("{file}, line {line}").format(file=self.file, line=number)
        return self.file


def _entry(raw: Any, rest: dict[str, Any], lines: _Lines) -> Entry:
    """A submission's answers, item by item: an item that is not a number costs itself."""
    if not isinstance(raw, dict):
        return Entry(Answer(), {kind: "answer must be a table" for kind in ANSWER_KEYS}, rest)
    parts: dict[str, Any] = {}
    errors: dict[str, str | Unread] = {}
    for key in ANSWER_KEYS:
        if key not in raw:
            continue
        if key not in TABLES:
            number, error = _lenient_value(raw[key], f"answer.{key}", lines)
            if error is None:
                parts[key] = number
            else:
                errors[key] = error
            continue
        if not isinstance(raw[key], dict):
            errors[key] = tr("answer.{key} must be a table of name = number").format(key=key)
            continue
        table = {}
        for name, value in raw[key].items():
            label = f"{key}.{shown(str(name))}"
            number, error = _lenient_value(value, f"answer.{label}", lines)
            if error is None:
                table[shown(str(name))] = number
            else:
                errors[label] = error
        parts[key] = table
    ignored = tuple(shown(str(k))[:80] for k in raw if k not in ANSWER_KEYS)
    return Entry(Answer(**parts), errors, rest, ignored)


def _lenient_value(raw: Any, where: str, lines: _Lines) -> tuple[Value | None, str | Unread | None]:
    """A submitted number (as `_lenient`), or a vector or matrix of them; else why not."""
    if not isinstance(raw, list):
        return _lenient(raw, where, lines)

    def number(item: Any, at: str) -> float:
        got, error = _lenient(item, at, lines)
        if error is not None:
            raise _Unanswered(error)
        assert got is not None
        return got

    try:
        return _value(raw, where, number), None
    except _Unanswered as unread:  # an element's own message, which says where it is
        return None, str(unread)
    except _BadArray as bad:  # said of its subject when graded: Unread.said
        return None, Unread(where, bad.reason, lines.file)
    except _Bad as bad:
        return None, f"{bad.field}: {bad.message} ({lines.file})"


class _Unanswered(Exception):
    """An element of a submitted vector or matrix that is no number: its item's error."""


def _lenient(raw: Any, where: str, lines: _Lines) -> tuple[float | None, str | None]:
    """A submitted number: a number, or one written as a string; else why it is not, where
    it is, and what to write instead."""
    if isinstance(raw, str):
        text = raw.strip()
        if text == "?" or text.startswith(_MARK):
            return None, tr("{where}: replace the ? with your answer ({line})").format(
                where=where, line=lines.of(raw)
            )
        try:  # the grammar's numbers; a typographic minus, as slides write it, is a minus
            raw = parse_number(where, text.replace("\u2212", "-"))
        except InputError:
            return None, tr(
                "{where}: write a number such as -0.5 without quotes, not {raw!r} ({line})"
            ).format(where=where, raw=shown(raw)[:40], line=lines.of(raw))
    try:
        return _number(raw, where), None
    except _Bad as bad:
        return None, tr("{where}: {message}; write a number such as -0.5 ({file})").format(
            where=where, message=bad.message, file=lines.file
        )


# ---- writing ---------------------------------------------------------------------


def dumps(problems: ProblemSet, header: str = "", hints: bool = False) -> str:
    """The problem set as text in its format. TOML is written by hand, so the same
    set gives the same bytes everywhere. With `hints`, an empty answer table lists,
    as comments, what a student can fill in (see `blanks`)."""
    valid = [p for p in problems.problems if isinstance(p, Problem)]
    if problems.format == "json":
        data: dict[str, Any] = {}
        if problems.defaults:
            data["defaults"] = dict(problems.defaults)
        data["problem"] = [problem_dict(p) for p in valid]
        return json.dumps(data, ensure_ascii=False, allow_nan=False, indent=2) + "\n"
    lines = [f"# {line}" if line else "#" for line in header.splitlines()]
    if lines:
        lines.append("")
    if problems.defaults:
        lines.append("[defaults]")
        lines.extend(f"{key} = {_toml_value(v)}" for key, v in problems.defaults.items())
        lines.append("")
    for problem in valid:
        lines.append("[[problem]]")
        for key, value in problem_dict(problem).items():
            if key != "answer":
                lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
        lines.append("")
        lines.append("[problem.answer]")
        answer = _answer_dict(problem.answer)
        lines.extend(
            f"{key} = {_toml_value(value, problem.tolerance)}" for key, value in answer.items()
        )
        if not answer and hints:
            lines.extend(f"# {line}" for line in blanks(problem))
        lines.append("")
    return "\n".join(lines)


def blanks(problem: Problem) -> list[str]:
    """The answer lines a student fills in, with ? for each number (used with `hints`)."""
    from .parser import parse

    graph = parse(problem.expr, inputs=problem.values)
    grad = ", ".join(f"{_toml_key(name)} = ?" for name in graph.variables)
    lines = ["output = ?", f"grad = {{ {grad} }}"]
    named = [n for n, i in graph.assigned.items() if i != graph.output]
    if named:
        lines.append(f"nodes = {{ {', '.join(f'{_toml_key(n)} = ?' for n in named)} }}")
        lines.append(f"node_grads = {{ {', '.join(f'{_toml_key(n)} = ?' for n in named)} }}")
    if problem.lr is not None:
        lines.append(f"update = {{ {grad} }}")
        lines.append("new_output = ?")
    return lines


def problem_dict(problem: Problem) -> dict[str, Any]:
    data: dict[str, Any] = {"id": problem.id}
    if problem.points != 1:
        data["points"] = problem.points
    data["expr"] = problem.expr
    data["values"] = problem.values
    if problem.lr is not None:
        data["lr"] = problem.lr
    data.update(problem.own)
    if problem.ask is not None:
        data["ask"] = list(problem.ask)
    data["answer"] = _answer_dict(problem.answer)
    return data


def _answer_dict(answer: Answer) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for key in ANSWER_KEYS:
        value = getattr(answer, key)
        if value is not None and value != {}:
            data[key] = value
    return data


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(key: str) -> str:
    return key if _BARE.fullmatch(key) else _toml_string(key)


def _toml_string(text: str) -> str:
    # JSON's escapes are TOML's, except that TOML also forbids a raw DEL
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")


def _toml_number(value: float, tolerance: Tolerance | None = None) -> str:
    """`value` as the shortest decimal that reads back as it. An answer graded under
    `tolerance` is the shortest decimal that rounds to it at 15 significant digits
    (0.116, not float arithmetic's 0.11600000000000003) when the tolerance accepts that
    as the value (an exact one, rel_tol and abs_tol 0, does not). A value of 15 digits
    or fewer (0.1, -16.34) is written as it is either way."""
    if not math.isfinite(value):
        raise InputError(tr("cannot write {value} to TOML").format(value=value))
    if tolerance is not None:
        rounded = float(f"{value:.15g}")
        if tolerance.close(rounded, value):
            value = rounded
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _toml_value(value: Any, tolerance: Tolerance | None = None) -> str:
    """A value as TOML; the numbers of an answer graded under `tolerance`, as
    _toml_number writes them."""
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return f"[{', '.join(_toml_value(v, tolerance) for v in value)}]"
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v, tolerance)}" for k, v in value.items())
        return f"{{ {inner} }}" if inner else "{}"
    return _toml_number(float(value), tolerance)
