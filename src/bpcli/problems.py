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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .arguments import MAX_SIZE, Unreadable, read_input
from .errors import InputError
from .ops import TieRule, tie_rule
from .values import NotANumber, to_float

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ANSWER_KEYS = ("output", "grad", "nodes", "node_grads", "update", "new_output")
PROBLEM_KEYS = ("id", "points", "expr", "values", "lr", "rel_tol", "abs_tol", "max_tie", "answer")
TOLERANCE_KEYS = ("rel_tol", "abs_tol")
DEFAULT_KEYS = (*TOLERANCE_KEYS, "max_tie")  # what [defaults] sets for every problem
MAX_POINTS = 1_000_000  # a problem's points; any number of problems still adds up to a float
MAX_REL_TOL = 1.0  # at 1, a relative tolerance already accepts every answer of the right sign
TABLES = ("grad", "nodes", "node_grads", "update")  # answers that map a name to a number


@dataclass(frozen=True, slots=True)
class Tolerance:
    """An answer is right when |got - want| <= max(abs_tol, rel_tol * max(|got|, |want|))."""

    rel_tol: float = 1e-6
    abs_tol: float = 1e-9

    def close(self, got: float, want: float) -> bool:
        return abs(got - want) <= max(self.abs_tol, self.rel_tol * max(abs(got), abs(want)))


@dataclass(frozen=True, slots=True)
class Answer:
    """Submitted answers; an item not given is None (scalars) or absent (tables)."""

    output: float | None = None
    grad: dict[str, float] = field(default_factory=dict)
    nodes: dict[str, float] = field(default_factory=dict)
    node_grads: dict[str, float] = field(default_factory=dict)
    update: dict[str, float] = field(default_factory=dict)
    new_output: float | None = None

    def items(self) -> list[tuple[str, float]]:
        """Every answered item as (field, value): `output`, `grad.x`, `nodes.q`, …"""
        items: list[tuple[str, float]] = []
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
    values: dict[str, float]
    points: float = 1.0
    lr: float | None = None
    tolerance: Tolerance = Tolerance()
    answer: Answer = Answer()
    own: dict[str, float | str] = field(default_factory=dict)  # tolerances, max_tie as written
    max_tie: TieRule = "split"


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
            where.append(f"problem {self.problem}")
        if self.field is not None:
            where.append(self.field)
        return f"{': '.join(where)}: {self.message}"


@dataclass(frozen=True, slots=True)
class ProblemSet:
    file: str
    format: str  # "toml" or "json"
    defaults: dict[str, float | str]
    problems: list[Problem | Invalid]


class _Bad(Exception):
    def __init__(self, field: str | None, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# ---- reading ---------------------------------------------------------------------


def load(path: Path) -> ProblemSet:
    """Read a problem set. A file that cannot be read at all is one Invalid entry."""
    name = os.fsencode(path).decode("utf-8", "backslashreplace")  # printable, as the bytes
    kind = "json" if path.suffix.lower() == ".json" else "toml"
    try:
        text = read_input(path, MAX_SIZE, "too large for a problem set")
    except Unreadable as exc:
        return _broken(name, kind, str(exc))
    return loads(text, name, kind)


def loads(text: str, name: str = "<problems>", kind: str = "toml") -> ProblemSet:
    try:
        data = json.loads(text) if kind == "json" else tomllib.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        return _broken(name, kind, f"not valid {kind.upper()}: {exc}")
    except RecursionError:  # both parsers recurse into nested arrays and tables
        return _broken(name, kind, f"not {kind.upper()} that bpcli can read: nested too deeply")
    if not isinstance(data, dict):
        return _broken(
            name, kind, f"the top level must be {'an object' if kind == 'json' else 'a table'}"
        )
    unknown = sorted(set(data) - {"defaults", "problem"})
    if unknown:
        return _broken(name, kind, f"unknown key {unknown[0]!r} (the keys are defaults, problem)")
    try:
        defaults = _settings(data.get("defaults", {}), "defaults")
    except _Bad as bad:
        return ProblemSet(name, kind, {}, [Invalid(name, None, bad.field, bad.message)])
    raw = data.get("problem", [])
    if not isinstance(raw, list) or not raw:
        return _broken(name, kind, "no problems: add [[problem]] tables")
    problems: list[Problem | Invalid] = []
    seen: set[str] = set()
    for index, entry in enumerate(raw, start=1):
        problem = _problem(entry, index, defaults, name)
        if isinstance(problem, Problem) and problem.id in seen:
            twice = "the same id is used twice"
            problems.append(Invalid(name, problem.id, "id", twice, problem.points))
            continue
        if isinstance(problem, Problem):
            seen.add(problem.id)
        problems.append(problem)
    return ProblemSet(name, kind, defaults, problems)


def _broken(name: str, kind: str, message: str) -> ProblemSet:
    return ProblemSet(name, kind, {}, [Invalid(name, None, None, message)])


def _problem(
    entry: Any, index: int, defaults: dict[str, float | str], file: str
) -> Problem | Invalid:
    ident = str(index)
    points = 1.0
    try:
        if not isinstance(entry, dict):
            raise _Bad(None, "a problem must be a table")
        if "id" in entry:
            if not isinstance(entry["id"], (str, int)) or isinstance(entry["id"], bool):
                raise _Bad("id", "must be text or a whole number")
            ident = _text(str(entry["id"]), "id")
        if "points" in entry:
            points = _points(entry["points"])
        unknown = [key for key in entry if key not in PROBLEM_KEYS]
        if unknown:
            raise _Bad(shown(unknown[0]), f"unknown key (the keys are {', '.join(PROBLEM_KEYS)})")
        if "expr" not in entry:
            raise _Bad("expr", "missing: every problem needs an expression")
        if not isinstance(entry["expr"], str):
            raise _Bad("expr", "must be text")
        expr = _text(entry["expr"], "expr")
        values = _table(entry.get("values", {}), "values")
        lr = _number(entry["lr"], "lr") if "lr" in entry else None
        own = _settings(entry, "")
        answer = _answer(entry.get("answer", {}), lr)
    except _Bad as bad:
        return Invalid(file, ident, bad.field, bad.message, points)
    settings = {**defaults, **own}
    tolerance = Tolerance(**{k: float(v) for k, v in settings.items() if k in TOLERANCE_KEYS})
    max_tie = tie_rule(settings.get("max_tie", "split")) or "split"
    return Problem(ident, expr, values, points, lr, tolerance, answer, own, max_tie)


def _points(raw: Any) -> float:
    points = _number(raw, "points")
    if points < 0:
        raise _Bad("points", "must not be negative")
    if points > MAX_POINTS:
        raise _Bad("points", f"must be at most {MAX_POINTS:,}, got {points!r}")
    return points


def _answer(raw: Any, lr: float | None) -> Answer:
    if not isinstance(raw, dict):
        raise _Bad("answer", "must be a table")
    unknown = [key for key in raw if key not in ANSWER_KEYS]
    if unknown:
        raise _Bad(
            f"answer.{shown(unknown[0])}",
            f"unknown answer (the answers are {', '.join(ANSWER_KEYS)})",
        )
    if lr is None:
        for key in ("update", "new_output"):
            if key in raw:
                raise _Bad(f"answer.{key}", "the problem has no lr, so there is no update step")
    parts: dict[str, Any] = {}
    for key in ANSWER_KEYS:
        if key not in raw:
            continue
        where = f"answer.{key}"
        parts[key] = _table(raw[key], where) if key in TABLES else _number(raw[key], where)
    return Answer(**parts)


def _settings(raw: Any, where: str) -> dict[str, float | str]:
    """The tolerances and the max tie rule of `[defaults]` (where "defaults") or a problem."""
    if not isinstance(raw, dict):
        raise _Bad(where, "must be a table")
    if where == "defaults":
        unknown = [key for key in raw if key not in DEFAULT_KEYS]
        if unknown:
            keys = ", ".join(DEFAULT_KEYS)
            raise _Bad(f"defaults.{shown(unknown[0])}", f"unknown key (the keys are {keys})")
    found: dict[str, float | str] = {}
    for key in TOLERANCE_KEYS:
        if key in raw:
            label = f"{where}.{key}" if where else key
            tolerance = _number(raw[key], label)
            if tolerance < 0:
                raise _Bad(label, "must not be negative")
            if key == "rel_tol" and tolerance > MAX_REL_TOL:
                raise _Bad(
                    label,
                    f"must be at most {MAX_REL_TOL:g} (a relative tolerance of 1 already accepts"
                    f" every answer of the right sign), got {tolerance!r}",
                )
            found[key] = tolerance
    if "max_tie" in raw:
        rule = tie_rule(raw["max_tie"])
        if rule is None:
            label = f"{where}.max_tie" if where else "max_tie"
            raise _Bad(label, f'must be "split" or "first", got {raw["max_tie"]!r}')
        found["max_tie"] = rule
    return found


def _table(raw: Any, where: str) -> dict[str, float]:
    if not isinstance(raw, dict):
        raise _Bad(where, "must be a table of name = number")
    table = {}
    for name, value in raw.items():
        label = f"{where}.{shown(str(name))}"
        table[_text(str(name), label)] = _number(value, label)
    return table


def _text(raw: str, where: str) -> str:
    """Text that can be written out: JSON's `\\ud800` escape reads as a lone surrogate."""
    if shown(raw) != raw:
        raise _Bad(where, f"is not Unicode text: it holds a lone surrogate ({shown(raw)[:80]})")
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
        data["problem"] = [_problem_dict(p) for p in valid]
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
        for key, value in _problem_dict(problem).items():
            if key != "answer":
                lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
        lines.append("")
        lines.append("[problem.answer]")
        answer = _answer_dict(problem.answer)
        lines.extend(f"{key} = {_toml_value(value)}" for key, value in answer.items())
        if not answer and hints:
            lines.extend(f"# {line}" for line in blanks(problem))
        lines.append("")
    return "\n".join(lines)


def blanks(problem: Problem) -> list[str]:
    """The answer lines a student fills in, with ? for each number (used with `hints`)."""
    from .parser import parse

    graph = parse(problem.expr)
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


def _problem_dict(problem: Problem) -> dict[str, Any]:
    data: dict[str, Any] = {"id": problem.id}
    if problem.points != 1:
        data["points"] = problem.points
    data["expr"] = problem.expr
    data["values"] = problem.values
    if problem.lr is not None:
        data["lr"] = problem.lr
    data.update(problem.own)
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


def _toml_number(value: float) -> str:
    if not math.isfinite(value):
        raise InputError(f"cannot write {value} to TOML")
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, dict):
        inner = ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items())
        return f"{{ {inner} }}" if inner else "{}"
    return _toml_number(float(value))
