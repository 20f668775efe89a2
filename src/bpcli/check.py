"""Grading homework: every submitted answer against the truth bpcli computes.

Graded against an instructor's set (`check_submissions`), the set is the only
truth: expressions, values, points, tolerances and the items each problem asks
for come from it, and a submission gives answers keyed by problem id, nothing
else. A problem's points are split evenly over the items it asks for (in a
self-check without `ask`, over the items the file answers). A wrong
gradient gets a hint in the lecture's terms only when exactly one mistake
model (the update step's sign, the upstream gradient left out, an add gate's
split, a max gate as a distributor, the mul gate not swapped, a function's
local gradient left out, one sign flipped at a named sub or neg gate, a copy
gate's use missed) gives the submitted number. A vector or matrix (nested lists) is
graded elementwise, and its shape first: a wrong shape is wrong, with the shape the
dimension analysis asks for (a gradient has its variable's shape), the transpose, or
a broadcast gradient not summed back named when that is what was submitted.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .api import grad
from .errors import BindError, BpcliError, InputError
from .i18n import N_, tr, tr_n
from .ops import OPS, Conventions, TieRule
from .patterns import (
    COPY,
    DISTRIBUTOR,
    PATTERNS,
    ROUTER,
    SWAP,
    UPDATE_SIGN,
    UPSTREAM_LEFT_OUT,
    Pattern,
)
from .problems import (
    ANSWER_KEYS,
    Answer,
    Entry,
    Invalid,
    Problem,
    ProblemSet,
    Submission,
    Tolerance,
    Unread,
    Value,
    shown,
    tolerance_of,
)
from .render.numbers import fmt, fmt_value
from .result import NodeResult, Result

if TYPE_CHECKING:
    from .tensor import TensorResult

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Item:
    """One answered item: `grad.x` submitted as `got`; `expected` None: there is no such
    thing. A vector or matrix is nested lists; its item's JSON also says both shapes."""

    field: str
    expected: Value | None
    got: Value | None
    ok: bool
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "field": self.field,
            "expected": self.expected,
            "got": self.got,
            "ok": self.ok,
        }
        if isinstance(self.expected, list) or isinstance(self.got, list):
            data["expected_shape"] = None if self.expected is None else _shape(self.expected)
            data["got_shape"] = None if self.got is None else _shape(self.got)
        if self.hint is not None:
            data["hint"] = self.hint
        return data


@dataclass(frozen=True, slots=True)
class Graded:
    """One problem checked: its items and score, or why it could not be checked."""

    id: str
    file: str
    score: float
    max_score: float
    items: tuple[Item, ...] = ()
    error: str | None = None
    missing: bool = False  # the submission has no such problem: every item is wrong

    @property
    def passed(self) -> bool:
        return self.error is None and all(item.ok for item in self.items)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "file": self.file,
            "score": self.score,
            "max_score": self.max_score,
            "items": [item.to_dict() for item in self.items],
            "error": self.error,
            "missing": self.missing,
        }


class _Scored:
    """The score of a set of graded problems: a student's, or a whole report's."""

    __slots__ = ()

    @property
    def problems(self) -> tuple[Graded, ...]:
        raise NotImplementedError  # a field of Student, a property of Report

    @property
    def score(self) -> float:
        return sum(p.score for p in self.problems)

    @property
    def max_score(self) -> float:
        return sum(p.max_score for p in self.problems)


@dataclass(frozen=True, slots=True)
class Student(_Scored):
    """One submission graded: each problem of the set, and what was ignored in the file."""

    id: str
    file: str
    problems: tuple[Graded, ...]
    notes: tuple[str, ...] = ()
    error: str | None = None  # the file could not be read: every problem scores 0

    @property
    def right(self) -> int:
        return sum(1 for p in self.problems if p.passed)

    def to_dict(self) -> dict[str, Any]:
        return {
            "student": self.id,
            "file": self.file,
            "score": self.score,
            "max_score": self.max_score,
            "problems": [p.to_dict() for p in self.problems],
            "notes": list(self.notes),
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class Report(_Scored):
    """Every submission graded; `self_check`: each file against its own problems."""

    students: tuple[Student, ...]
    self_check: bool = True
    set_file: str | None = None

    @property
    def problems(self) -> tuple[Graded, ...]:
        return tuple(p for student in self.students for p in student.problems)

    @property
    def invalid(self) -> bool:
        return any(p.error is not None for p in self.problems)

    @property
    def all_right(self) -> bool:
        return all(p.passed for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "mode": "self-check" if self.self_check else "graded",
            "problem_set": self.set_file,
            "score": self.score,
            "max_score": self.max_score,
            "problems": [p.to_dict() for p in self.problems],
            "students": [s.to_dict() for s in self.students],
        }

    def gradebook(self) -> list[list[str]]:
        """Rows of a gradebook: a header, then one row per student."""
        ids = [p.id for p in self.students[0].problems] if self.students else []
        rows = [["student", *ids, "total", "max"]]
        for student in self.students:
            scores = [_number(p.score) for p in student.problems]
            ident = "'" + student.id if student.id[:1] in _FORMULA else student.id
            rows.append([ident, *scores, _number(student.score), _number(student.max_score)])
        return rows

    def gradescope(
        self, visibility: str = "visible", hide_expected: bool = False
    ) -> dict[str, Any]:
        """A Gradescope autograder results.json: one test per item asked, named by its
        problem and item (in the chosen language: a student reads the names), scoring the
        item's share of its problem's points (their sum is the problem's score); with
        `hide_expected`, no right answer, no number, no hint."""
        tests: list[dict[str, Any]] = []
        for number, problem in enumerate(self.problems, start=1):
            if problem.error is not None or not problem.items:
                tests.append(
                    {
                        "name": tr("problem {id}").format(id=problem.id),
                        "number": str(number),
                        "score": problem.score,
                        "max_score": problem.max_score,
                        "status": "passed" if problem.passed else "failed",
                        "output": "\n".join(describe(problem, hide_expected)),
                        "tags": [f"problem {problem.id}"],
                        "visibility": visibility,
                    }
                )
                continue
            share = problem.max_score / len(problem.items)
            for k, item in enumerate(problem.items, start=1):
                earned = share if item.ok and problem.score > 0 else 0.0
                tests.append(
                    {
                        "name": tr("problem {id}: {field}").format(id=problem.id, field=item.field),
                        "number": f"{number}.{k}",
                        "score": earned,
                        "max_score": share,
                        "status": "passed" if item.ok else "failed",
                        "output": describe_item(item, problem, hide_expected),
                        "tags": [f"problem {problem.id}"],
                        "visibility": visibility,
                    }
                )
        right = sum(1 for p in self.problems if p.passed)
        summary = tr("{right} of {problems} problems right; score {score} of {max_score}").format(
            right=right,
            problems=len(self.problems),
            score=fmt(self.score),
            max_score=fmt(self.max_score),
        )
        return {
            "score": self.score,
            "output": summary,
            "visibility": visibility,
            "stdout_visibility": "hidden",
            "tests": tests,
        }


GRADESCOPE_VISIBILITY = ("visible", "hidden", "after_due_date", "after_published")


_FORMULA = tuple("=+-@\t\r")  # a spreadsheet runs a cell that starts so as a formula


def _number(value: float) -> str:
    """A score as a spreadsheet reads it: 4, 2.5, 0.6666666666666666."""
    return str(int(value)) if value.is_integer() else repr(value)


MISSING = N_("not in the submission: every item it asks for is wrong")


def describe(problem: Graded, hide_expected: bool = False) -> list[str]:
    """A problem's items as plain lines (for Gradescope's output)."""
    if problem.error is not None:
        return [tr("not checked: {error}").format(error=problem.error)]
    return [describe_item(item, problem, hide_expected) for item in problem.items]


# Gradescope's line for an item, whole sentences in the chosen language
ITEM_MISSING = (N_("{field}: right: {missing}"), N_("{field}: wrong: {missing}"))
ITEM_HIDDEN = (N_("{field}: right"), N_("{field}: wrong"))
ITEM_UNANSWERED = (N_("{field}: right, not answered"), N_("{field}: wrong, not answered"))
ITEM_RIGHT = N_("{field}: right, submitted {got}")
ITEM_WRONG = N_("{field}: wrong, submitted {got}, expected {expected}")
ITEM_HINT = N_("{line} ({hint})")


def describe_item(item: Item, problem: Graded, hide_expected: bool = False) -> str:
    """One item as a plain line; hiding the expected answers hides every number and hint
    (a right answer's number is the expected one, and hints name numbers too)."""
    field = item.field
    if problem.missing:
        return tr(ITEM_MISSING[not item.ok]).format(field=field, missing=tr(MISSING))
    if hide_expected:
        if item.got is None:
            return tr(ITEM_UNANSWERED[not item.ok]).format(field=field)
        return tr(ITEM_HIDDEN[not item.ok]).format(field=field)
    got = fmt_value(item.got)
    line = (
        tr(ITEM_RIGHT).format(field=field, got=got)
        if item.ok
        else tr(ITEM_WRONG).format(field=field, got=got, expected=fmt_value(item.expected))
    )
    return tr(ITEM_HINT).format(line=line, hint=item.hint) if item.hint else line


def check(
    sets: Sequence[ProblemSet],
    all_or_nothing: bool = False,
    max_tie: TieRule | None = None,
    tolerances: Mapping[str, float | str] | None = None,
) -> Report:
    """Self-check: every problem of `sets` against its own answers; `max_tie` and
    `tolerances`, if given, override each problem's own. Each file is a student."""
    students = []
    for problems in sets:
        graded = []
        for problem in problems.problems:
            if isinstance(problem, Invalid):
                graded.append(_invalid(problem))
            else:
                problem = with_tolerances(problem, tolerances)
                graded.append(grade(problem, problems.file, all_or_nothing, max_tie))
        ident = problems.student or Path(problems.file).stem
        students.append(Student(shown(ident), problems.file, tuple(graded)))
    return _bounded(Report(tuple(students)))


def check_submissions(
    problems: ProblemSet,
    submissions: Sequence[Submission],
    all_or_nothing: bool = False,
    max_tie: TieRule | None = None,
    tolerances: Mapping[str, float | str] | None = None,
) -> Report:
    """Grade each submission against the instructor's set `problems`, the only truth
    (`max_tie` and `tolerances`, if given, override the set's)."""
    truths: list[Problem | Graded] = []
    for problem in problems.problems:
        if isinstance(problem, Invalid):
            truths.append(_invalid(problem))
        else:
            truths.append(with_tolerances(problem, tolerances))
    # by truth: made once for every submission
    passes: dict[int, Result | TensorResult | BpcliError] = {}
    students = []
    for sub in submissions:
        graded: list[Graded] = []
        notes = list(sub.notes)
        for index, truth in enumerate(truths):
            if isinstance(truth, Graded):
                graded.append(replace(truth, file=sub.file))
            elif sub.error is not None:
                graded.append(Graded(truth.id, sub.file, 0.0, truth.points, error=sub.error))
            else:
                entry = sub.entries.get(truth.id)
                if index not in passes:
                    passes[index] = _passes(truth, max_tie)
                done = grade(
                    truth,
                    sub.file,
                    all_or_nothing,
                    max_tie,
                    entry,
                    submitted=True,
                    passes=passes[index],
                )
                if entry is not None:
                    notes.extend(differences(truth, entry))
                    notes.extend(_not_asked(truth.id, entry, done))
                graded.append(done)
        known = {p.id for p in problems.problems if isinstance(p, Problem)}
        for ident in sub.entries:
            if ident not in known:
                notes.append(
                    tr("problem {id}: not in the problem set; it scores nothing").format(id=ident)
                )
        students.append(Student(sub.student, sub.file, tuple(graded), tuple(notes), sub.error))
    return _bounded(Report(tuple(students), self_check=False, set_file=problems.file))


def with_tolerances(problem: Problem, tolerances: Mapping[str, float | str] | None) -> Problem:
    """The problem under the command line's tolerances, each replacing the set's own."""
    if not tolerances:
        return problem
    settings = {**problem.tolerance_settings(), **tolerances}
    return replace(problem, tolerance=tolerance_of(settings))


def _invalid(problem: Invalid) -> Graded:
    ident = problem.problem if problem.problem is not None else "-"
    return Graded(ident, problem.file, 0.0, problem.points, error=str(problem))


def _bounded(report: Report) -> Report:
    if not (math.isfinite(report.max_score) and math.isfinite(report.score)):
        # load() bounds each problem's points; a Problem made in Python is not bounded
        raise InputError(
            tr("the points add up to more than a float holds: give each problem fewer")
        )
    return report


def differences(problem: Problem, entry: Entry) -> list[str]:
    """What a submission's copy of a problem says that the set does not: all ignored."""
    from .problems import problem_dict

    theirs = problem_dict(problem)
    notes = []
    for key, value in entry.rest.items():
        label = shown(str(key))[:80]
        if key not in theirs or not _same(value, theirs[key]):
            notes.append(
                tr(
                    "problem {id}: the submission's {label} differs from the problem set;"
                    " graded against the set"
                ).format(id=problem.id, label=label)
            )
    for key in entry.ignored:
        notes.append(
            tr("problem {id}: answer.{key} is not an item; ignored").format(id=problem.id, key=key)
        )
    return notes


def _not_asked(ident: str, entry: Entry, graded: Graded) -> list[str]:
    """The submission's answers to items the set does not ask for: ignored, and said so."""
    asked = {item.field for item in graded.items}
    return [
        tr("problem {id}: answer {field} is not asked for by the problem set; ignored").format(
            id=ident, field=shown(field)[:80]
        )
        for field, _ in entry.answer.items()
        if field not in asked
    ]


def _same(mine: Any, theirs: Any) -> bool:
    if isinstance(theirs, dict):
        return (
            isinstance(mine, dict)
            and mine.keys() == theirs.keys()
            and all(_same(mine[k], theirs[k]) for k in theirs)
        )
    if isinstance(theirs, (int, float)) and not isinstance(theirs, bool):
        return isinstance(mine, (int, float)) and not isinstance(mine, bool) and mine == theirs
    return bool(mine == theirs)


def grade(
    problem: Problem,
    file: str,
    all_or_nothing: bool = False,
    max_tie: TieRule | None = None,
    entry: Entry | None = None,
    *,
    submitted: bool | None = None,
    passes: Result | TensorResult | BpcliError | None = None,
) -> Graded:
    """Check one problem: against a submission's `entry` when grading (`submitted`, the
    default when an entry is given; a missing entry answers nothing), else its own answers.
    `passes`: the problem's `_passes`, if they are made already."""
    result = _passes(problem, max_tie) if passes is None else passes
    if isinstance(result, BpcliError):
        error = str(Invalid(file, problem.id, field_of(result), str(result)))
        return Graded(problem.id, file, 0.0, problem.points, error=error)
    truth = (
        _Truth(result, problem.tolerance)
        if isinstance(result, Result)
        else _TensorTruth(result, problem.tolerance)
    )
    if submitted is None:
        submitted = entry is not None
    if submitted:
        answer, errors = (entry.answer, entry.errors) if entry is not None else (Answer(), {})
    else:
        answer, errors = problem.answer, {}
    if submitted or problem.ask is not None:
        items = _asked(problem, result, truth, answer, errors, entry is not None)
    elif not answer.items():
        items = (Item("answer", None, None, False, tr("no answers given")),)
    else:
        items = tuple(truth.item(field, got) for field, got in answer.items())
    right = sum(item.ok for item in items)
    if all_or_nothing:
        score = problem.points if items and right == len(items) else 0.0
    else:
        score = problem.points * right / len(items) if items else 0.0
    missing = submitted and entry is None
    return Graded(problem.id, file, score, problem.points, items, missing=missing)


def asked_fields(problem: Problem, result: Result | TensorResult) -> list[str]:
    """The items a problem asks for (`output`, `grad.x`, …), in the answer key's order."""
    key = solve(problem, result)
    kinds = problem.ask or tuple(k for k in ANSWER_KEYS if getattr(key, k) not in (None, {}))
    return [field for field, _ in key.items() if field.partition(".")[0] in kinds]


def _asked(
    problem: Problem,
    result: Result | TensorResult,
    truth: _Truth | _TensorTruth,
    answer: Answer,
    errors: dict[str, str | Unread],
    present: bool,
) -> tuple[Item, ...]:
    """Every item the problem asks for, answered or not: a required item left out is wrong."""
    given = dict(answer.items())
    items = []
    for field in asked_fields(problem, result):
        kind = field.partition(".")[0]
        error = errors.get(field) or errors.get(kind)
        if isinstance(error, Unread):
            error = error.said(result.output_name)
        got = given.get(field)
        if got is not None:
            items.append(truth.item(field, got))
        else:
            why = error or (tr("not answered") if present else tr(MISSING))
            items.append(Item(field, truth.expected(*_split(field))[0], None, False, why))
    if not items:
        kinds = ", ".join(problem.ask or ())
        none_here = tr("asks for {kinds}: none here").format(kinds=kinds)
        items.append(Item("answer", None, None, False, none_here))
    return tuple(items)


def _split(field: str) -> tuple[str, str]:
    kind, _, name = field.partition(".")
    return kind, name


def field_of(exc: BpcliError) -> str:
    """The problem's field an error is about: its values for a name error, else its expr."""
    return "values" if isinstance(exc, BindError) else "expr"


class _Truth:
    """The right answers of one problem, looked up by item field."""

    def __init__(self, result: Result, tolerance: Tolerance) -> None:
        self.result = result
        self.tolerance = tolerance
        self.by_name = {node.name: node for node in result.nodes}
        for name, node_id in result.graph.assigned.items():
            self.by_name.setdefault(name, result.nodes[node_id])

    def item(self, field: str, got: Value) -> Item:
        kind, _, name = field.partition(".")
        expected, missing = self.expected(kind, name)
        if expected is None:
            return Item(field, None, got, False, missing)
        if isinstance(got, list):  # a vector or matrix for a number: a shape to say
            ok, hint = compare(got, expected, self.tolerance, kind, name, self.result.output_name)
            return Item(field, expected, got, ok, hint)
        ok = self.tolerance.close(got, expected)
        hint = None
        if not ok:
            hint = rounded(got, expected, self.tolerance)
        if not ok and hint is None and kind in ("grad", "node_grads"):
            hint = self.hint(self.by_name[name], got)
        if not ok and hint is None and kind == "update":
            hint = self.update_hint(name, got)
        return Item(field, expected, got, ok, hint)

    def expected(self, kind: str, name: str) -> tuple[float | None, str | None]:
        """The right answer, or None and why there is none."""
        result = self.result
        if kind == "output":
            return result.output, None
        if kind == "new_output":
            assert result.update is not None
            return result.update.output, None
        if kind in ("grad", "update"):
            if name not in result.inputs:
                return None, tr("{name} is not an input of this problem ({inputs})").format(
                    name=name, inputs=_listed(result.inputs)
                )
            if kind == "grad":
                return result.gradients[name], None
            assert result.update is not None
            return result.update.inputs[name], None
        node = self.by_name.get(name)
        if node is None:
            return None, tr("there is no node named {name} in this problem").format(name=name)
        if kind == "nodes":
            return node.value, None
        if node.grad is None:
            return None, tr("{name} is a constant: it has no gradient").format(name=name)
        return node.grad, None

    def hint(self, node: NodeResult, got: float) -> str | None:
        """Name the mistake that gives `got` instead of the node's gradient: each mistake
        model computes what it would give, and a hint is given only when exactly one
        model gives `got` (two that agree cannot tell which mistake was made)."""
        assert node.grad is not None
        close = self.tolerance.close
        found: list[str] = []
        seen: dict[int, int] = {}
        for consumer_id, sent in node.uses:
            consumer = self.result.nodes[consumer_id]
            position = _position(consumer, node.id, seen.get(consumer_id, 0))
            seen[consumer_id] = seen.get(consumer_id, 0) + 1
            if sent is None:
                continue
            for wrong_sent, message in _use_mistakes(self.result, consumer, node, position):
                if wrong_sent is not None and close(got, node.grad - sent + wrong_sent):
                    found.append(message)
        found.extend(self._flipped_signs(node, got))
        sends = [s for _, s in node.uses if s is not None]
        if 1 < len(sends) <= 12:
            missed = any(
                close(got, sum(subset))
                for size in range(1, len(sends))
                for subset in itertools.combinations(sends, size)
            )
            if missed:
                found.append(
                    COPY.hint(
                        "missed use",
                        node=node.name,
                        uses=str(len(sends)),
                        terms=" + ".join(fmt(s) for s in sends),
                        grad=fmt(node.grad),
                    )
                )
        distinct = list(dict.fromkeys(found))
        return distinct[0] if len(distinct) == 1 else None

    def _flipped_signs(self, node: NodeResult, got: float) -> list[str]:
        """For each minus on the way from `node` to the output (a distributor's input with a
        local gradient of -1), what flipping that one sign gives: the gradient it sends
        back, negated, carried back to `node` by the chain rule."""
        nodes = self.result.nodes
        assert node.grad is not None
        # d(v)/d(node) for every v, forward along the graph (nodes come in order)
        ahead: dict[int, float] = {node.id: 1.0}
        for v in nodes[node.id + 1 :]:
            total = 0.0
            for i, local in zip(v.inputs, v.local, strict=True):
                if i in ahead and ahead[i] != 0 and local is not None:
                    total += local * ahead[i]
            if total != 0:
                ahead[v.id] = total
        found = []
        for gate in nodes:
            if OPS[gate.op].pattern is not DISTRIBUTOR or gate.grad is None:
                continue
            for i, local in zip(gate.inputs, gate.local, strict=True):
                if local is None or local >= 0 or i not in ahead or gate.grad == 0:
                    continue
                sent = local * gate.grad
                if self.tolerance.close(got, node.grad - 2 * sent * ahead[i]):
                    found.append(
                        DISTRIBUTOR.hint(
                            "sign", op=gate.op, gate=gate.name, input=nodes[i].name, sent=fmt(sent)
                        )
                    )
        return found

    def update_hint(self, name: str, got: float) -> str | None:
        """The update step taken with the gradient, not against it."""
        update = self.result.update
        if update is None or name not in self.result.gradients:
            return None
        value, grad = self.result.inputs[name], self.result.gradients[name]
        if grad == 0 or not self.tolerance.close(got, value + update.lr * grad):
            return None
        return tr(UPDATE_SIGN).format(
            node=name,
            value=fmt(value),
            lr=fmt(update.lr),
            grad=fmt(grad),
            want=fmt(update.inputs[name]),
        )


def _position(gate: NodeResult, node_id: int, occurrence: int) -> int:
    """Which input of `gate` a use of `node_id` is: its `occurrence`-th (x*x uses x twice)."""
    positions = [p for p, i in enumerate(gate.inputs) if i == node_id]
    return positions[min(occurrence, len(positions) - 1)]


def _use_mistakes(
    result: Result, gate: NodeResult, node: NodeResult, position: int
) -> list[tuple[float | None, str]]:
    """What the gate would send back to `node` under the mistake its pattern invites, and
    under the chain rule's own: the upstream gradient left out."""
    found = []
    mistake = MISTAKES.get(OPS[gate.op].pattern)
    if mistake is not None:
        found.append(mistake(result, gate, node, position))
    upstream = gate.grad or 0.0
    local = gate.local[position]
    if local is not None and upstream != 1:
        message = tr(UPSTREAM_LEFT_OUT).format(
            local=fmt(local), sent=fmt(local * upstream), **_words(gate, node)
        )
        found.append((local, message))
    return found


def _words(gate: NodeResult, node: NodeResult) -> dict[str, str]:
    return {"op": gate.op, "gate": gate.name, "node": node.name, "upstream": fmt(gate.grad or 0)}


ROUNDING = N_(
    "a rounding difference: {got} is the right answer {want} rounded to {places};"
    " this problem accepts {accepts}: write more digits"
)
MAX_PLACES = 8


def rounded(got: float, want: float, tolerance: Tolerance) -> str | None:
    """The rounding hint, when `got` is `want` rounded to some decimals or figures."""
    if got == 0 or not math.isfinite(want):
        return None
    for places in range(MAX_PLACES + 1):
        if _equal(got, round(want, places)):
            unit = tr_n("{count} decimal", "{count} decimals", places).format(count=places)
            return _rounding(got, want, unit, tolerance)
    exponent = math.floor(math.log10(abs(want))) if want else 0
    for figures in range(1, MAX_PLACES + 1):
        if _equal(got, round(want, figures - 1 - exponent)):
            unit = tr_n("{count} significant figure", "{count} significant figures", figures)
            return _rounding(got, want, unit.format(count=figures), tolerance)
    return None


def _equal(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-12 * max(abs(a), abs(b))


def _rounding(got: float, want: float, places: str, tolerance: Tolerance) -> str:
    accepts = [tr("a relative error up to {rel_tol:g}").format(rel_tol=tolerance.rel_tol)]
    if tolerance.decimals is not None:
        accepts.append(tr("{count} decimals").format(count=tolerance.decimals))
    if tolerance.sig_figs is not None:
        accepts.append(tr("{count} significant figures").format(count=tolerance.sig_figs))
    return tr(ROUNDING).format(
        got=fmt(got, 15), want=fmt(want), places=places, accepts=tr(" or ").join(accepts)
    )


Mistake = Callable[[Result, NodeResult, NodeResult, int], tuple[float | None, str]]


def _not_swapped(
    result: Result, gate: NodeResult, node: NodeResult, k: int
) -> tuple[float | None, str]:
    """The mul gate times the input's own value instead of the other input's."""
    upstream = gate.grad or 0.0
    others = [result.nodes[i] for i in gate.inputs if i != node.id]
    if not others:
        return None, ""
    return upstream * node.value, SWAP.hint(
        "own value",
        op=gate.op,
        gate=gate.name,
        node=node.name,
        upstream=fmt(upstream),
        other=fmt(others[0].value),
    )


def _misrouted(
    result: Result, gate: NodeResult, node: NodeResult, k: int
) -> tuple[float | None, str]:
    """The max/min gate's gradient sent to the loser, or withheld from the winner."""
    upstream = gate.grad or 0.0
    winners = [gate.inputs[w] for w in gate.winners]
    if node.id in winners and len(winners) > 1:  # a tie: a share, not the whole gradient
        share = (gate.local[k] or 0.0) * upstream  # k: the node's position in the gate
        rule = result.conventions.max_tie
        return 0.0 if share else upstream, ROUTER.hint(
            "tie split" if rule == "split" else "tie first",
            op=gate.op,
            gate=gate.name,
            winners=", ".join(result.nodes[w].name for w in winners),
            value=fmt(node.value),
            upstream=fmt(upstream),
            first=result.nodes[winners[0]].name,
            node=node.name,
            share=fmt(share),
        )
    if node.id in winners:
        return 0.0, ROUTER.hint(
            "withheld",
            op=gate.op,
            gate=gate.name,
            node=node.name,
            value=fmt(node.value),
            upstream=fmt(upstream),
        )
    winner = result.nodes[winners[0]]
    return upstream, ROUTER.hint(
        "misrouted",
        op=gate.op,
        gate=gate.name,
        winner=winner.name,
        value=fmt(winner.value),
        node=node.name,
    )


def _split_up(
    result: Result, gate: NodeResult, node: NodeResult, position: int
) -> tuple[float | None, str]:
    """The add gate's gradient split between its inputs, not given whole to each."""
    if len(gate.inputs) < 2 or gate.local[position] != 1:
        return None, ""  # a neg gate, or a sub gate's minus: the sign model's
    ways = len(gate.inputs)
    message = DISTRIBUTOR.hint("split", ways=str(ways), **_words(gate, node))
    return (gate.grad or 0.0) / ways, message


def _local_left_out(
    result: Result, gate: NodeResult, node: NodeResult, position: int
) -> tuple[float | None, str]:
    """A function gate passing the upstream gradient on without its local gradient."""
    local = gate.local[position]
    pattern = OPS[gate.op].pattern
    if local is None or local == 1 or not OPS[gate.op].function:
        return None, ""
    message = pattern.hint("local left out", local=fmt(local), **_words(gate, node))
    return gate.grad or 0.0, message


# The mistakes a gate's pattern invites, found through the pattern itself (a sign flipped
# at a distributor's minus is found along the whole path: see _Truth._flipped_signs).
MISTAKES: dict[Pattern, Mistake] = {
    SWAP: _not_swapped,
    ROUTER: _misrouted,
    DISTRIBUTOR: _split_up,
    **{p: _local_left_out for p in PATTERNS if "local left out" in p.hints},
}


def _listed(names: dict[str, float]) -> str:
    if not names:
        return tr("it has no inputs")
    return tr("its inputs are {inputs}").format(inputs=", ".join(names))


def _passes(problem: Problem, max_tie: TieRule | None) -> Result | TensorResult | BpcliError:
    """The problem's passes (`result_of`), or why it has none."""
    try:
        return result_of(problem, max_tie)
    except BpcliError as exc:
        return exc


def result_of(problem: Problem, max_tie: TieRule | None = None) -> Result | TensorResult:
    """The forward and backward pass a problem asks for (and its update step), under its
    own max tie rule or, if given, `max_tie`: a TensorResult where a value is a vector
    or a matrix."""
    conventions = Conventions(max_tie=max_tie or problem.max_tie)
    return grad(problem.expr, problem.values, lr=problem.lr, conventions=conventions)


def solve(problem: Problem, result: Result | TensorResult | None = None) -> Answer:
    """Every item a problem can ask for, answered right: the answer key."""
    if result is None:
        result = result_of(problem)
    if not isinstance(result, Result):
        return _solve_tensors(result)
    graph = result.graph
    named = [name for name, node_id in graph.assigned.items() if node_id != graph.output]
    nodes = {name: result.nodes[graph.assigned[name]] for name in named}
    update = result.update
    return Answer(
        output=result.output,
        grad=dict(result.gradients),
        nodes={name: node.value for name, node in nodes.items()},
        node_grads={name: node.grad for name, node in nodes.items() if node.grad is not None},
        update=dict(update.inputs) if update is not None else {},
        new_output=update.output if update is not None else None,
    )


# ---- vectors and matrices ---------------------------------------------------------------

SHAPE = N_(
    "{what} must have {owner}'s shape {shape} (a gradient has its variable's shape), not {got}"
)
VALUE_SHAPE = N_("{what} has shape {shape}, not {got}")
# the transpose of the right answer: of another shape (both said), or of a square one
TRANSPOSED = N_("this is the transpose: {what} must have {owner}'s shape {shape}, not {got}")
VALUE_TRANSPOSED = N_("this is the transpose: {what} has shape {shape}, not {got}")
SQUARE_TRANSPOSED = N_(
    "this is the transpose: {what} has {owner}'s shape {shape}, its element [i][j] the"
    " derivative by {owner}[i][j]"
)
SQUARE_VALUE_TRANSPOSED = N_("this is the transpose of {what}")
RESHAPED = N_(
    "the right numbers in the wrong shape: {what} must have {owner}'s shape {shape}, not {got}"
)
VALUE_RESHAPED = N_("the right numbers in the wrong shape: {what} has shape {shape}, not {got}")
NOT_SUMMED = {  # by the axes the broadcast added (_broadcast_to)
    "rows": N_(
        "{owner} {shape} was broadcast to {got}: {what} is that gradient summed over the"
        " broadcast rows, back to {owner}'s shape {shape}"
    ),
    "columns": N_(
        "{owner} {shape} was broadcast to {got}: {what} is that gradient summed over the"
        " broadcast columns, back to {owner}'s shape {shape}"
    ),
    "axes": N_(
        "{owner} {shape} was broadcast to {got}: {what} is that gradient summed over the"
        " broadcast axes, back to {owner}'s shape {shape}"
    ),
}
ELEMENTS = N_(
    "{wrong} of {size} elements wrong; the first at {at}: submitted {got}, expected {want}"
)


def _shape(value: Value) -> list[int]:
    """The shape of a number ([]) or of nested lists, as the JSON writes shapes."""
    shape = []
    while isinstance(value, list):
        shape.append(len(value))
        value = value[0]
    return shape


def _said(kind: str, name: str, output: str) -> tuple[str, str, bool]:
    """What an item is (`∂f/∂W`), whose shape it has (`W`), and whether it is a gradient."""
    if kind in ("grad", "node_grads"):
        return f"∂{output}/∂{name}", name, True
    if kind == "update":
        return tr("the updated {name}").format(name=name), name, True
    if kind == "new_output":
        return tr("the new {output}").format(output=output), output, False
    return (output if kind == "output" else name), (output if kind == "output" else name), False


def compare(
    got: Value, want: Value, tolerance: Tolerance, kind: str, name: str, output: str
) -> tuple[bool, str | None]:
    """A submitted vector or matrix (or number) against the right one, elementwise under
    `tolerance`: right, or wrong with a hint from the dimension analysis (the shape it
    must have; the transpose; a broadcast gradient not summed back) or the first element
    that is wrong."""
    import numpy as np

    from .tensor import show_shape, unbroadcast

    g, w = np.asarray(got, dtype=float), np.asarray(want, dtype=float)
    what, owner, gradient = _said(kind, name, output)
    words = {"what": what, "owner": owner, "shape": show_shape(w.shape), "got": show_shape(g.shape)}

    def close(a: Any, b: Any) -> bool:
        return a.shape == b.shape and all(
            map(tolerance.close, a.ravel().tolist(), b.ravel().tolist())
        )

    if g.shape != w.shape:
        if g.ndim == 2 and close(g.T, w):
            return False, tr(TRANSPOSED if gradient else VALUE_TRANSPOSED).format(**words)
        if g.size == w.size and close(g.reshape(w.shape), w):  # a column for a vector
            return False, tr(RESHAPED if gradient else VALUE_RESHAPED).format(**words)
        summed = _broadcast_to(w.shape, g.shape)
        if (
            gradient
            and summed is not None
            and g.size > w.size
            and close(unbroadcast(g, w.shape), w)
        ):
            return False, tr(NOT_SUMMED[summed]).format(**words)
        return False, tr(SHAPE if gradient else VALUE_SHAPE).format(**words)
    flat_g, flat_w = g.ravel().tolist(), w.ravel().tolist()
    pairs = enumerate(zip(flat_g, flat_w, strict=True))
    wrong = [k for k, (a, b) in pairs if not tolerance.close(a, b)]
    if not wrong:
        return True, None
    if g.ndim == 0:
        return False, rounded(flat_g[0], flat_w[0], tolerance)
    if g.ndim == 2 and g.shape[0] == g.shape[1] and close(g.T, w):
        square = SQUARE_TRANSPOSED if gradient else SQUARE_VALUE_TRANSPOSED
        return False, tr(square).format(**words)
    first = wrong[0]
    at = "".join(f"[{int(i)}]" for i in np.unravel_index(first, g.shape))
    hint = tr(ELEMENTS).format(
        wrong=len(wrong), size=g.size, at=at, got=fmt(flat_g[first]), want=fmt(flat_w[first])
    )
    rounding = rounded(flat_g[first], flat_w[first], tolerance)
    return False, hint if rounding is None else f"{hint}; {rounding}"


def _broadcast_to(shape: tuple[int, ...], wide: tuple[int, ...]) -> str | None:
    """Which axes broadcasting `shape` to `wide` adds ("rows", "columns", "axes"), or
    None when `shape` does not broadcast to `wide`."""
    if len(shape) > len(wide) or shape == wide:
        return None
    padded = (1,) * (len(wide) - len(shape)) + tuple(shape)
    if any(s not in (1, w) for s, w in zip(padded, wide, strict=True)):
        return None
    added = [k for k, (s, w) in enumerate(zip(padded, wide, strict=True)) if s != w]
    if len(wide) == 2 and added == [0]:
        return "rows"
    if len(wide) == 2 and added == [1]:
        return "columns"
    return "axes"


class _TensorTruth:
    """The right answers of a problem over vectors and matrices, looked up by item field,
    each as nested lists (a number as a float)."""

    def __init__(self, result: TensorResult, tolerance: Tolerance) -> None:
        self.result = result
        self.tolerance = tolerance
        graph = result.graph
        self.by_name = {graph.name(i): i for i in range(len(graph))}
        for name, node_id in graph.assigned.items():
            self.by_name.setdefault(name, node_id)

    def item(self, field: str, got: Value) -> Item:
        kind, _, name = field.partition(".")
        expected, missing = self.expected(kind, name)
        if expected is None:
            return Item(field, None, got, False, missing)
        ok, hint = compare(got, expected, self.tolerance, kind, name, self.result.output_name)
        return Item(field, expected, got, ok, hint)

    def expected(self, kind: str, name: str) -> tuple[Value | None, str | None]:
        """The right answer, or None and why there is none."""
        from .tensor import plain

        result = self.result
        if kind == "output":
            return plain(result.output), None
        if kind == "new_output":
            assert result.update is not None
            return plain(result.update.output), None
        if kind in ("grad", "update"):
            if name not in result.inputs:
                return None, f"{name} is not an input of this problem ({_listed(result.inputs)})"
            if kind == "grad":
                return plain(result.gradients[name]), None
            assert result.update is not None
            return plain(result.update.inputs[name]), None
        node = self.by_name.get(name)
        if node is None:
            return None, f"there is no node named {name} in this problem"
        if kind == "nodes":
            return plain(result.values[node]), None
        if result.grads[node] is None:
            return None, f"{name} is a constant: it has no gradient"
        return plain(result.grads[node]), None


def _solve_tensors(result: TensorResult) -> Answer:
    """The answer key of a problem over vectors and matrices, as nested lists."""
    from .tensor import plain

    graph = result.graph
    named = [name for name, node_id in graph.assigned.items() if node_id != graph.output]
    update = result.update
    return Answer(
        output=plain(result.output),
        grad={  # an index input has no gradient to ask for (tensor.index_inputs)
            name: plain(value) for name, value in result.gradients.items() if value is not None
        },
        nodes={name: plain(result.values[graph.assigned[name]]) for name in named},
        node_grads={
            name: plain(result.grads[graph.assigned[name]])
            for name in named
            if result.grads[graph.assigned[name]] is not None
        },
        update={k: plain(v) for k, v in update.inputs.items()} if update is not None else {},
        new_output=plain(update.output) if update is not None else None,
    )
