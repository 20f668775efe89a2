"""Grading homework: every submitted answer against the truth bpcli computes.

A problem's points are split evenly over the items it answers; a wrong
gradient gets a hint in the lecture's terms when the submitted number is what
a known mistake gives (the mul gate not swapped, a max gate's gradient sent to
the loser, a copy gate's uses not added, a flipped sign).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .api import grad
from .errors import BindError, BpcliError, InputError
from .ops import OPS, Conventions, TieRule
from .patterns import COPY, ROUTER, SWAP, Pattern
from .problems import Answer, Invalid, Problem, ProblemSet, Tolerance
from .render.numbers import fmt
from .result import NodeResult, Result

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class Item:
    """One answered item: `grad.x` submitted as `got`; `expected` None: there is no such thing."""

    field: str
    expected: float | None
    got: float | None
    ok: bool
    hint: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "field": self.field,
            "expected": self.expected,
            "got": self.got,
            "ok": self.ok,
        }
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
        }


@dataclass(frozen=True, slots=True)
class Report:
    problems: tuple[Graded, ...]

    @property
    def score(self) -> float:
        return sum(p.score for p in self.problems)

    @property
    def max_score(self) -> float:
        return sum(p.max_score for p in self.problems)

    @property
    def invalid(self) -> bool:
        return any(p.error is not None for p in self.problems)

    @property
    def all_right(self) -> bool:
        return all(p.passed for p in self.problems)

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "score": self.score,
            "max_score": self.max_score,
            "problems": [p.to_dict() for p in self.problems],
        }

    def gradescope(self) -> dict[str, Any]:
        """A Gradescope autograder results.json: one test per problem."""
        tests = []
        for number, problem in enumerate(self.problems, start=1):
            tests.append(
                {
                    "name": f"problem {problem.id}",
                    "number": str(number),
                    "score": problem.score,
                    "max_score": problem.max_score,
                    "status": "passed" if problem.passed else "failed",
                    "output": "\n".join(describe(problem)),
                }
            )
        right = sum(1 for p in self.problems if p.passed)
        summary = (
            f"{right} of {len(self.problems)} problems right;"
            f" score {fmt(self.score)} of {fmt(self.max_score)}"
        )
        return {"score": self.score, "output": summary, "tests": tests}


def describe(problem: Graded) -> list[str]:
    """A problem's items as plain lines (for Gradescope's output)."""
    if problem.error is not None:
        return [f"not checked: {problem.error}"]
    lines = []
    for item in problem.items:
        verdict = "right" if item.ok else "wrong"
        line = f"{item.field}: {verdict}, submitted {fmt(item.got)}"
        if not item.ok:
            line += f", expected {fmt(item.expected)}"
        lines.append(line + (f" ({item.hint})" if item.hint else ""))
    return lines


def check(
    sets: Sequence[ProblemSet], all_or_nothing: bool = False, max_tie: TieRule | None = None
) -> Report:
    """Grade every problem of `sets`; `max_tie`, if given, overrides each problem's own."""
    graded = []
    for problems in sets:
        for problem in problems.problems:
            if isinstance(problem, Invalid):
                ident = problem.problem if problem.problem is not None else "-"
                graded.append(Graded(ident, problem.file, 0.0, problem.points, error=str(problem)))
            else:
                graded.append(grade(problem, problems.file, all_or_nothing, max_tie))
    report = Report(tuple(graded))
    if not (math.isfinite(report.max_score) and math.isfinite(report.score)):
        # load() bounds each problem's points; a Problem made in Python is not bounded
        raise InputError("the points add up to more than a float holds: give each problem fewer")
    return report


def grade(
    problem: Problem, file: str, all_or_nothing: bool = False, max_tie: TieRule | None = None
) -> Graded:
    """Check every answered item of one problem against the computed truth."""
    try:
        result = result_of(problem, max_tie)
    except BpcliError as exc:
        error = str(Invalid(file, problem.id, field_of(exc), str(exc)))
        return Graded(problem.id, file, 0.0, problem.points, error=error)
    truth = _Truth(result, problem.tolerance)
    answered = problem.answer.items()
    if not answered:
        items: tuple[Item, ...] = (Item("answer", None, None, False, "no answers given"),)
    else:
        items = tuple(truth.item(field, got) for field, got in answered)
    right = sum(item.ok for item in items)
    if all_or_nothing:
        score = problem.points if right == len(items) else 0.0
    else:
        score = problem.points * right / len(items)
    return Graded(problem.id, file, score, problem.points, items)


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

    def item(self, field: str, got: float) -> Item:
        kind, _, name = field.partition(".")
        expected, missing = self.expected(kind, name)
        if expected is None:
            return Item(field, None, got, False, missing)
        ok = self.tolerance.close(got, expected)
        hint = None
        if not ok and kind in ("grad", "node_grads"):
            hint = self.hint(self.by_name[name], got)
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
                return None, f"{name} is not an input of this problem ({_listed(result.inputs)})"
            if kind == "grad":
                return result.gradients[name], None
            assert result.update is not None
            return result.update.inputs[name], None
        node = self.by_name.get(name)
        if node is None:
            return None, f"there is no node named {name} in this problem"
        if kind == "nodes":
            return node.value, None
        if node.grad is None:
            return None, f"{name} is a constant: it has no gradient"
        return node.grad, None

    def hint(self, node: NodeResult, got: float) -> str | None:
        """Name the mistake that gives `got` instead of the node's gradient, if one does."""
        assert node.grad is not None
        close = self.tolerance.close
        if close(got, -node.grad) and node.grad != 0:
            return "the sign is flipped: a sub or neg gate passes the gradient with a minus"
        for k, (consumer_id, sent) in enumerate(node.uses):
            consumer = self.result.nodes[consumer_id]
            mistake = MISTAKES.get(OPS[consumer.op].pattern)
            if mistake is None or sent is None:
                continue
            wrong_sent, message = mistake(self.result, consumer, node, k)
            if wrong_sent is not None and close(got, node.grad - sent + wrong_sent):
                return message
        sends = [s for _, s in node.uses if s is not None]
        if 1 < len(sends) <= 12:
            for size in range(1, len(sends)):
                for subset in itertools.combinations(sends, size):
                    if close(got, sum(subset)):
                        return COPY.hint(
                            "missed use",
                            node=node.name,
                            uses=str(len(sends)),
                            terms=" + ".join(fmt(s) for s in sends),
                            grad=fmt(node.grad),
                        )
        return None


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
        share = node.uses[k][1] or 0.0
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


# The mistakes a gate's pattern invites, found through the pattern itself.
MISTAKES: dict[Pattern, Mistake] = {SWAP: _not_swapped, ROUTER: _misrouted}


def _listed(names: dict[str, float]) -> str:
    return f"its inputs are {', '.join(names)}" if names else "it has no inputs"


def result_of(problem: Problem, max_tie: TieRule | None = None) -> Result:
    """The forward and backward pass a problem asks for (and its update step), under its
    own max tie rule or, if given, `max_tie`."""
    conventions = Conventions(max_tie=max_tie or problem.max_tie)
    return grad(problem.expr, problem.values, lr=problem.lr, conventions=conventions)


def solve(problem: Problem, result: Result | None = None) -> Answer:
    """Every item a problem can ask for, answered right: the answer key."""
    if result is None:
        result = result_of(problem)
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
