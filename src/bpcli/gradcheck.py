"""Numerical gradient check: backprop's gradients against central differences.

As in the lecture's notes (cs231n): each input x alone is moved to x + h and
x - h, the numeric gradient is n = (f(x+h) - f(x-h)) / 2h, and it is compared
with the analytic gradient a from the backward pass by the relative error
|a - n| / max(|a|, |n|, 1e-8). The 2h is the distance (x+h) - (x-h) actually
stepped, which differs from 2h by rounding when |x| is large next to h.

The numeric gradient has an error of its own, estimated per input as the sum
of two parts (the notes' "smaller h is not necessarily better"):

- round-off: f(x+h) and f(x-h) are floats, each off by about
  δ = ε·Σ|v·∂f/∂v| over the computed nodes v (each node's rounding, ε = 2.2e-16
  of its value, carried to f by its gradient: at least ε·|f|, far more where f
  is a difference of large terms, as in x + 1e8), so n is off by about δ/h;
- truncation: n = f'(x) + h²·f'''(x)/6 + …, and the numeric gradient with step
  h/2 is off by a quarter of that, so the error at h is about 4/3 of the
  difference between the two (which carries their round-off too).

Verdicts: good (relative error < 1e-7) and acceptable (< 1e-4), as in the
notes. A larger mismatch is measured again with the steps h·10^k, k = -6 … 3
(the larger ones times max(1, |x|): f changes more, round-off weighs less),
that stay inside the domain and clear of kinks, and judged at the step whose
estimated error is smallest among those where the estimate holds (`step` of
each input). It holds where the truncation estimate is below 1/MARGIN of the
numeric gradient or within its round-off; elsewhere f changes too fast for the
step (it wiggles, or a singularity is near) and the estimate means nothing.
The mismatch is "wrong" when it is still at least 1e-4, more than MARGIN (10)
times the estimated error, the estimate holds, and the numeric gradients of
all the steps where it holds agree within MARGIN times their estimated errors
(aliasing: a function that wiggles faster than the steps can give two
estimates that agree by chance, rarely all of them). Otherwise it is
"inconclusive": the numeric gradient cannot tell, and `reason` says why, with
the estimate. Only "wrong" fails the check (the CLI's exit code 1).

Where f has a kink (relu or abs at 0, a max or min tie) it has no derivative:
backprop uses a convention there, and the numeric gradient averages the two
sides, so the two need not agree. An input is flagged when a kink node depends
on it at the given point (`kink`), or when the step from x - h to x + h crosses
a kink, that is a kink node's local derivatives differ at the points stepped
to (the notes' "a winner changed"; `near_kink`). A mismatch there is
"inconclusive", not "wrong".

The check of one input is `judge`, over a probe that evaluates f with that input
moved: the tensor check (`tensor.gradcheck`) judges each element of a vector or
matrix with it, so both give the same verdict by the same rules.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from . import engine
from .errors import DomainError, InputError
from .graph import NO_INPUT, Graph, Node
from .i18n import tr
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
MARGIN = 10.0
"""A mismatch within this many times the numeric gradient's estimated error is inconclusive."""
EPSILON = sys.float_info.epsilon
"""A float's relative rounding error, at most (2.2e-16): a node's rounding in the estimate."""
STEP_FACTORS = (10.0, 0.1, 100.0, 0.01, 1000.0, 0.001, 1e-4, 1e-5, 1e-6)
"""For a mismatch at h, the steps h·k tried as well, a larger one times max(1, |x|) (less
round-off: f changes more); h stays where none is better."""

Verdict = Literal["good", "acceptable", "wrong", "inconclusive", "undefined"]
VERDICTS: tuple[Verdict, ...] = ("good", "acceptable", "wrong", "inconclusive", "undefined")


@dataclass(frozen=True, slots=True)
class InputCheck:
    """One input's check.

    `numeric` and `relative_error` are None when the numeric gradient is
    unavailable (verdict "undefined", `reason` says why). `kink`: a kink node
    depends on this input at the given point; `near_kink`: moving it by ±h
    crosses a kink. `reason` also explains an "inconclusive" verdict. `step` is
    the step the numeric gradient was taken with, and `roundoff` and
    `truncation` the two parts of its estimated error `estimated_error` (None
    where there is no numeric gradient; None too for a part that is not
    finite, as where f is undefined at x ± h/2).
    """

    name: str
    analytic: float
    numeric: float | None
    relative_error: float | None
    verdict: Verdict
    kink: bool = False
    near_kink: bool = False
    reason: str | None = None
    step: float | None = None
    estimated_error: float | None = None
    roundoff: float | None = None
    truncation: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "analytic": self.analytic,
            "numeric": self.numeric,
            "relative_error": self.relative_error,
            "verdict": self.verdict,
            "kink": self.kink,
            "near_kink": self.near_kink,
            "reason": self.reason,
            "step": self.step,
            "estimated_error": self.estimated_error,
            "roundoff": self.roundoff,
            "truncation": self.truncation,
        }


@dataclass(frozen=True, slots=True)
class Estimate:
    """A numeric gradient with step `step`, the two parts of its estimated error, and the
    kinks (positions among those watched) whose side changes between the points stepped to."""

    step: float
    numeric: float
    roundoff: float
    truncation: float
    crossed: tuple[int, ...]

    @property
    def error(self) -> float:
        return self.roundoff + self.truncation

    @property
    def smooth(self) -> bool:
        """The truncation estimate holds: it is a small correction to the numeric gradient
        (below 1/MARGIN of it), or no more than the round-off it carries (4/3 of the two
        numeric gradients' round-off, 2δ/2h and 2δ/h). Otherwise f changes too fast for
        the step (it wiggles, or a singularity is near), and the estimate means nothing."""
        t = self.truncation
        return t <= abs(self.numeric) / MARGIN or t <= 4 * self.roundoff


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
    """The check of every input, in the graph's order, and the kinks that matter. Over
    tensors every element is an input (`x[0]`), and `sampled` says of which inputs a
    seeded sample was checked: {name: (elements checked, elements)}."""

    step: float
    inputs: dict[str, InputCheck]
    kinks: tuple[Kink, ...]
    sampled: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """False when some input's gradient is wrong (what the CLI's exit code 1 reports)."""
        return all(check.verdict != "wrong" for check in self.inputs.values())

    def count(self, verdict: Verdict) -> int:
        return sum(check.verdict == verdict for check in self.inputs.values())

    def to_dict(self) -> dict[str, Any]:
        """The `gradcheck` object of `--json`: strict JSON (None for what is unavailable)."""
        data: dict[str, Any] = {
            "step": self.step,
            "thresholds": {"good": GOOD, "acceptable": ACCEPTABLE, "margin": MARGIN},
            "inputs": {name: check.to_dict() for name, check in self.inputs.items()},
            "kinks": [kink.to_dict() for kink in self.kinks],
            "ok": self.ok,
        }
        if self.sampled:  # over tensors only: a scalar run's object is as it was
            data["sampled"] = {
                name: {"checked": checked, "elements": total}
                for name, (checked, total) in self.sampled.items()
            }
        return data


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
    """Check every input's gradient in `result` by central differences with step `step`
    (and, for a mismatch, the steps around it: see the module's docstring)."""
    h = check_step(step)
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

    noise = _roundoff(result)
    checks: dict[str, InputCheck] = {}
    for name, var in graph.variables.items():
        on_kink = False
        if at_point:
            reach = _descendants(graph, var)
            for node in at_point:
                if reach[node.id]:
                    sits[node.id].append(name)
                    on_kink = True

        def probe(t: float, name: str = name) -> tuple[float, Sides]:
            values = engine.forward(graph, {**result.inputs, name: t})
            sides = tuple(_branch(node, values, conventions) for node in elsewhere)
            return values[graph.output], sides

        check, crossed = judge(
            name, result.inputs[name], result.gradients[name], h, probe, noise, on_kink
        )
        checks[name] = check
        for k in crossed:
            crosses.setdefault(elsewhere[k].id, []).append(name)

    kinks = [_kink(graph, node, result.values, True, sits[node.id]) for node in at_point]
    kinks += [
        _kink(graph, node, result.values, False, crosses[node.id])
        for node in elsewhere
        if node.id in crosses
    ]
    kinks = [kink for kink in kinks if kink.inputs]  # a kink no input reaches: relu(0)
    kinks.sort(key=lambda kink: kink.node)
    return GradCheck(h, checks, tuple(kinks))


def check_step(step: object) -> float:
    try:
        h = to_float(step)
    except NotANumber as exc:
        if not is_number(step):
            raise InputError(exc.message(tr("the gradient-check step h"))) from None
        h = math.nan  # NaN, an infinity or past the float range: not a step
    if not h > 0:
        raise InputError(
            tr(
                "the gradient-check step h must be a finite number greater than 0, got {step!r}"
            ).format(step=step)
        )
    return h


def _clash(estimates: Sequence[Estimate]) -> tuple[Estimate, Estimate] | None:
    """Two numeric gradients further apart than MARGIN times their estimated errors: where
    the estimates hold, all steps measure the same f'(x) (f wiggles faster than they see)."""
    for i, one in enumerate(estimates):
        for other in estimates[i + 1 :]:
            if abs(one.numeric - other.numeric) > MARGIN * (one.error + other.error):
                return one, other
    return None


def _check(
    name: str,
    analytic: float,
    estimate: Estimate,
    kink: bool,
    near_kink: bool,
    clash: tuple[Estimate, Estimate] | None = None,
) -> InputCheck:
    numeric, estimated = estimate.numeric, estimate.error
    error = relative_error(analytic, numeric)
    verdict = classify(error, kink or near_kink)
    reason = None
    if verdict == "inconclusive":
        where = (
            f"{name} sits on a kink" if kink else f"a kink lies between {name} - h and {name} + h"
        )
        reason = f"{where}, where the numeric gradient is not meaningful"
    elif verdict == "wrong" and not estimate.smooth:
        verdict = "inconclusive"
        reason = (
            f"f changes too fast for every step tried: at h = {estimate.step:g} the numeric"
            f" gradient's truncation error is estimated at {_sci(estimate.truncation)},"
            f" more than 1/{MARGIN:g} of the numeric gradient itself, so it cannot be trusted"
        )
    elif verdict == "wrong" and clash is not None:
        verdict = "inconclusive"
        one, other = clash
        reason = (
            f"f changes too fast for the steps tried: the numeric gradients at h ="
            f" {one.step:g} ({one.numeric:g}) and at h = {other.step:g} ({other.numeric:g})"
            f" differ by more than {MARGIN:g} times their estimated errors"
        )
    elif verdict == "wrong" and not abs(analytic - numeric) > MARGIN * estimated:
        verdict = "inconclusive"
        reason = (
            f"the numeric gradient is too inaccurate to tell: its estimated error"
            f" {_sci(estimated)} (round-off {_sci(estimate.roundoff)}, truncation"
            f" {_sci(estimate.truncation)}, at h = {estimate.step:g}) is at least"
            f" 1/{MARGIN:g} of |a - n| = {_sci(abs(analytic - numeric))}"
        )
    return InputCheck(
        name,
        analytic,
        numeric,
        error,
        verdict,
        kink,
        near_kink,
        reason,
        estimate.step,
        _finite(estimated),
        _finite(estimate.roundoff),
        _finite(estimate.truncation),
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def _sci(value: float) -> str:
    return format(value, ".1e") if math.isfinite(value) else "too large to estimate"


def _roundoff(result: Result) -> float:
    """The rounding error of one forward pass's output, to first order: ε·Σ|v·∂f/∂v| over
    the computed nodes (constants and gates of constants only are the same at every point)."""
    graph, values, grads = result.graph, result.values, result.grads
    return roundoff(
        abs(values[i] * g)
        for i, g in enumerate(grads)
        if g is not None and graph.first[i] != NO_INPUT
    )


def roundoff(terms: Iterable[float]) -> float:
    """ε·Σ|v·∂f/∂v| from the terms |v·∂f/∂v| of the computed nodes (over a tensor node,
    the sum over its elements): the rounding error of one evaluation of f."""
    return EPSILON * math.fsum(terms)


Sides = tuple[Hashable, ...]
"""Which side of its kink each kink node watched is on, at a point (its local derivatives)."""
Probe = Callable[[float], tuple[float, Sides]]
"""f, and the sides of the kinks watched, with one input (or one element) moved to t; a
DomainError where f is undefined there."""


def judge(
    name: str,
    x: float,
    analytic: float,
    h: float,
    probe: Probe,
    noise: float,
    on_kink: bool = False,
    base: Sides | None = None,
    at_point: frozenset[int] = frozenset(),
) -> tuple[InputCheck, tuple[int, ...]]:
    """The check of one input (a number, or one element of a tensor) whose value is `x`:
    its numeric gradient with step h, and for a mismatch the steps around it, and the
    verdict (see the module's docstring), with the positions of the kinks watched whose
    side changes between the points stepped to. `noise` is the rounding error of one
    evaluation of f (`_roundoff`). With `base`, the sides at x itself: a kink whose side
    there differs counts as crossed too; one of the positions `at_point` (sitting on its
    kink at x) makes the input sit on a kink, the others put it within h of one."""
    estimate = _numeric(name, x, h, probe, noise, base)
    if isinstance(estimate, str):
        return InputCheck(name, analytic, None, None, "undefined", on_kink, False, estimate, h), ()
    crossed = estimate.crossed
    on_kink = on_kink or any(k in at_point for k in crossed)
    near = any(k not in at_point for k in crossed)
    clash = None
    if not (on_kink or near) and relative_error(analytic, estimate.numeric) >= ACCEPTABLE:
        tried = [estimate]
        scale = max(1.0, abs(x))
        for factor in STEP_FACTORS:
            step = h * factor * (scale if factor > 1 else 1.0)
            other = _numeric(name, x, step, probe, noise, base)
            if not isinstance(other, str) and not other.crossed:
                tried.append(other)
        # the smallest estimated error where the estimate holds; the first of equals: h
        estimate = min(tried, key=lambda e: (not e.smooth, e.error))
        clash = _clash([e for e in tried if e.smooth])
    return _check(name, analytic, estimate, on_kink, near, clash), crossed


def _numeric(
    name: str, x: float, h: float, probe: Probe, noise: float, base: Sides | None = None
) -> Estimate | str:
    """The numeric gradient with step h and its estimated error, or why it is unavailable."""
    plus, minus = x + h, x - h
    if not (math.isfinite(plus) and math.isfinite(minus)):
        return f"{name} ± h overflows"
    width = plus - minus  # 2h, up to rounding: the distance actually stepped
    if width == 0:
        return f"h = {h:g} is too small to move {name} = {x:g}: {name} ± h rounds to it"
    half = x + h / 2, x - h / 2
    points = ((f"{name} + h", plus), (f"{name} - h", minus), ("", half[0]), ("", half[1]))
    outputs: list[float] = []
    sides: list[Sides] = [] if base is None else [base]
    for shown, point in points:
        try:
            out, side = probe(point)
        except DomainError as exc:
            if not shown:  # only the error estimate needs x ± h/2: it is unknown
                break
            return f"f is undefined at {shown} = {point:g}: {exc.message}"
        outputs.append(out)
        sides.append(side)
    numeric = (outputs[0] - outputs[1]) / width
    if not math.isfinite(numeric):
        return f"the numeric gradient of {name} overflows"
    truncation = math.inf
    if len(outputs) == 4 and half[0] != half[1]:
        halved = (outputs[2] - outputs[3]) / (half[0] - half[1])
        truncation = abs(numeric - halved) * 4 / 3
    crossed = tuple(k for k in range(len(sides[0])) if len({side[k] for side in sides}) > 1)
    return Estimate(h, numeric, 2 * noise / width, truncation, crossed)


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
