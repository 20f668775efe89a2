"""Numerical gradient check: backprop's gradients against central differences.

As in the lecture's notes (cs231n): each input x alone is moved to x + h and
x - h, the numeric gradient is n = (f(x+h) - f(x-h)) / 2h, and it is compared
with the analytic gradient a from the backward pass by the relative error
|a - n| / max(|a|, |n|, 1e-8). The 2h is the distance (x+h) - (x-h) actually
stepped, which differs from 2h by rounding when |x| is large next to h.

Where f has a kink (relu or abs at 0, a max or min tie) it has no derivative:
backprop uses a convention there, and the numeric gradient averages the two
sides, so the two need not agree. An input is flagged when a kink node depends
on it at the given point (`kink`), or when the step from x - h to x + h crosses
a kink, that is a kink node's local derivatives differ at the two points (the
notes' "a winner changed"; `near_kink`). A mismatch there is "inconclusive",
not "wrong".
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from . import engine
from .errors import DomainError, InputError
from .graph import Graph, Node
from .ops import OPS, Conventions, Undefined
from .result import Result
from .values import NotANumber, is_number, to_float

DEFAULT_STEP = 1e-5
GOOD = 1e-7
"""A relative error below this: the gradients agree."""
ACCEPTABLE = 1e-4
"""Below this (and at least GOOD): agreement to the accuracy central differences
reach near a kink or where f is large next to its gradient; elsewhere worth a look."""
FLOOR = 1e-8
"""The relative error's denominator is at least this, so that 0 against 1e-12 is good."""

Verdict = Literal["good", "acceptable", "wrong", "inconclusive", "undefined"]
VERDICTS: tuple[Verdict, ...] = ("good", "acceptable", "wrong", "inconclusive", "undefined")


@dataclass(frozen=True, slots=True)
class InputCheck:
    """One input's check.

    `numeric` and `relative_error` are None when the numeric gradient is
    unavailable (verdict "undefined", `reason` says why). `kink`: a kink node
    depends on this input at the given point; `near_kink`: moving it by ±h
    crosses a kink. `reason` also explains an "inconclusive" verdict.
    """

    name: str
    analytic: float
    numeric: float | None
    relative_error: float | None
    verdict: Verdict
    kink: bool = False
    near_kink: bool = False
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "analytic": self.analytic,
            "numeric": self.numeric,
            "relative_error": self.relative_error,
            "verdict": self.verdict,
            "kink": self.kink,
            "near_kink": self.near_kink,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class Kink:
    """A node of the graph at or near a kink of its op, and the inputs it affects.

    `at_point`: the node sits on the kink at the given inputs (its `inputs`
    depend on it); otherwise stepping each of its `inputs` by ±h crosses it.
    `args` are its non-constant arguments as (source text, value) at the point.
    """

    node: int
    name: str
    op: str
    text: str
    at_point: bool
    args: tuple[tuple[str, float], ...]
    inputs: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "name": self.name,
            "op": self.op,
            "text": self.text,
            "at_point": self.at_point,
            "inputs": list(self.inputs),
        }


@dataclass(frozen=True, slots=True)
class GradCheck:
    """The check of every input, in the graph's order, and the kinks that matter."""

    step: float
    inputs: dict[str, InputCheck]
    kinks: tuple[Kink, ...]

    @property
    def ok(self) -> bool:
        """False when some input's gradient is wrong (what the CLI's exit code 1 reports)."""
        return all(check.verdict != "wrong" for check in self.inputs.values())

    def count(self, verdict: Verdict) -> int:
        return sum(check.verdict == verdict for check in self.inputs.values())

    def to_dict(self) -> dict[str, Any]:
        """The `gradcheck` object of `--json`: strict JSON (None for what is unavailable)."""
        return {
            "step": self.step,
            "thresholds": {"good": GOOD, "acceptable": ACCEPTABLE},
            "inputs": {name: check.to_dict() for name, check in self.inputs.items()},
            "kinks": [kink.to_dict() for kink in self.kinks],
            "ok": self.ok,
        }


def relative_error(analytic: float, numeric: float) -> float:
    """|a - n| / max(|a|, |n|, 1e-8), without overflow for huge a and n."""
    scale = max(abs(analytic), abs(numeric), FLOOR)
    diff = abs(analytic - numeric)
    if math.isinf(diff):
        return abs(analytic / scale - numeric / scale)
    return diff / scale


def classify(error: float, kink: bool = False) -> Verdict:
    """The verdict for a relative error: good < 1e-7 <= acceptable < 1e-4 <= wrong.

    At or near a kink a disagreement is "inconclusive": the numeric gradient
    means little there, so it cannot show backprop wrong.
    """
    if error < GOOD:
        return "good"
    if error < ACCEPTABLE:
        return "acceptable"
    return "inconclusive" if kink else "wrong"


def gradcheck(result: Result, step: float = DEFAULT_STEP) -> GradCheck:
    """Check every input's gradient in `result` by central differences with step `step`."""
    h = _step(step)
    graph = result.graph
    conventions = result.conventions
    live = graph.live()
    kink_ops = [
        node
        for node in graph.nodes
        if node.inputs and live[node.id] and OPS[node.op].kink is not None
    ]
    on = [_on_kink(node, result.values) for node in kink_ops]
    at_point = [node for node, at in zip(kink_ops, on, strict=True) if at]
    elsewhere = [node for node, at in zip(kink_ops, on, strict=True) if not at]
    sits: dict[int, list[str]] = {node.id: [] for node in at_point}
    crosses: dict[int, list[str]] = {}

    checks: dict[str, InputCheck] = {}
    for name, var in graph.variables.items():
        on_kink = False
        if at_point:
            reach = _descendants(graph, var)
            for node in at_point:
                if reach[node.id]:
                    sits[node.id].append(name)
                    on_kink = True
        numeric, reason, crossed = _numeric(result, name, h, elsewhere, conventions)
        for node_id in crossed:
            crosses.setdefault(node_id, []).append(name)
        checks[name] = _check(name, result.gradients[name], numeric, reason, on_kink, bool(crossed))

    kinks = [_kink(graph, node, result.values, True, sits[node.id]) for node in at_point]
    kinks += [
        _kink(graph, node, result.values, False, crosses[node.id])
        for node in elsewhere
        if node.id in crosses
    ]
    kinks = [kink for kink in kinks if kink.inputs]  # a kink no input reaches: relu(0)
    kinks.sort(key=lambda kink: kink.node)
    return GradCheck(h, checks, tuple(kinks))


def _step(step: object) -> float:
    try:
        h = to_float(step)
    except NotANumber as exc:
        if not is_number(step):
            raise InputError(exc.message("the gradient-check step h")) from None
        h = math.nan  # NaN, an infinity or past the float range: not a step
    if not h > 0:
        raise InputError(
            f"the gradient-check step h must be a finite number greater than 0, got {step!r}"
        )
    return h


def _check(
    name: str,
    analytic: float,
    numeric: float | None,
    reason: str | None,
    kink: bool,
    near_kink: bool,
) -> InputCheck:
    if numeric is None:
        return InputCheck(name, analytic, None, None, "undefined", kink, near_kink, reason)
    error = relative_error(analytic, numeric)
    verdict = classify(error, kink or near_kink)
    if verdict == "inconclusive":
        where = (
            f"{name} sits on a kink" if kink else f"a kink lies between {name} - h and {name} + h"
        )
        reason = f"{where}, where the numeric gradient is not meaningful"
    return InputCheck(name, analytic, numeric, error, verdict, kink, near_kink, reason)


def _numeric(
    result: Result, name: str, h: float, kink_nodes: Sequence[Node], conventions: Conventions
) -> tuple[float | None, str | None, list[int]]:
    """(numeric gradient, None, kinks crossed) or (None, why it is unavailable, [])."""
    x = result.inputs[name]
    plus, minus = x + h, x - h
    if not (math.isfinite(plus) and math.isfinite(minus)):
        return None, f"{name} ± h overflows", []
    width = plus - minus  # 2h, up to rounding: the distance actually stepped
    if width == 0:
        return None, f"h = {h:g} is too small to move {name} = {x:g}: {name} ± h rounds to it", []
    values = []
    for shown, point in ((f"{name} + h", plus), (f"{name} - h", minus)):
        try:
            values.append(engine.forward(result.graph, {**result.inputs, name: point}))
        except DomainError as exc:
            return None, f"f is undefined at {shown} = {point:g}: {exc.message}", []
    out = result.graph.output
    numeric = (values[0][out] - values[1][out]) / width
    if not math.isfinite(numeric):
        return None, f"the numeric gradient of {name} overflows", []
    crossed = [
        node.id
        for node in kink_nodes
        if _branch(node, values[0], conventions) != _branch(node, values[1], conventions)
    ]
    return numeric, None, crossed


def _on_kink(node: Node, values: list[float]) -> bool:
    kink = OPS[node.op].kink
    assert kink is not None
    return kink(tuple(values[i] for i in node.inputs), values[node.id])


def _branch(node: Node, values: list[float], conventions: Conventions) -> tuple[float | None, ...]:
    """The node's local derivatives: at a kink op, which side of the kink it is on."""
    args = tuple(values[i] for i in node.inputs)
    out = values[node.id]
    branch: list[float | None] = []
    for rule in OPS[node.op].partials_for(len(node.inputs), conventions):
        try:
            branch.append(rule(args, out))
        except (Undefined, OverflowError):
            branch.append(None)
    return tuple(branch)


def _descendants(graph: Graph, start: int) -> bytearray:
    """1 for `start` and every node that depends on it (a loop: graphs can be very deep)."""
    reach = bytearray(len(graph.nodes))
    reach[start] = 1
    for node in graph.nodes[start + 1 :]:
        for i in node.inputs:
            if reach[i]:
                reach[node.id] = 1
                break
    return reach


def _kink(graph: Graph, node: Node, values: list[float], at_point: bool, inputs: list[str]) -> Kink:
    args = tuple(
        (graph.text(graph.nodes[i]), values[i])
        for i in node.inputs
        if graph.nodes[i].value is None  # constants say nothing about where the kink is
    )
    return Kink(node.id, node.name, node.op, graph.text(node), at_point, args, tuple(inputs))
