"""The walkthrough of a run, step by step, gate by gate, in the lecture's words.

What `grad --explain`, the Markdown and LaTeX write-ups and the HTML page all
show: the forward pass node by node in topological order, the backward pass
gate by gate in reverse (each edge's upstream × local = downstream, each
gate's pattern with a reason tied to the numbers, a copy gate adding its
uses), and the update step. Formulas come from the op table, numbers from the
Result; a `notation` (plain text or LaTeX) writes them. Where it goes on the
page is the views' business.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..ops import OPS
from ..result import NodeResult, Result
from .notation import Plain

# The lecture's names for the patterns: "add gate: gradient distributor", …
HEADLINES = {"distributor": "gradient distributor", "router": "gradient router"}


@dataclass(frozen=True, slots=True)
class Equation:
    """`lhs sep terms[0] = terms[1] … = result`; `result` is a value or a gradient."""

    lhs: str
    terms: tuple[str, ...]
    result: str
    sep: str = "="

    def text(self) -> str:
        return f"{self.lhs} {self.sep} " + " = ".join((*self.terms, self.result))


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Forward: one op node computed from its inputs."""

    node: NodeResult
    equation: Equation


@dataclass(frozen=True, slots=True)
class Send:
    """Backward: what the `k`-th input edge of a gate sends back to `input`."""

    k: int
    input: NodeResult
    equation: Equation


@dataclass(frozen=True, slots=True)
class Gate:
    """Backward through one op node: its pattern, its edges, and why."""

    node: NodeResult
    shown: str  # `q = x + y`'s right-hand side, `x + y`
    pattern: str  # the headline: "gradient distributor", "swap multiplier", …
    sends: tuple[Send, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class CopyGate:
    """Backward: a node used more than once adds the gradients of its uses."""

    node: NodeResult
    uses: int  # how many uses add up
    equation: Equation
    reason: str


@dataclass(frozen=True, slots=True)
class Unreached:
    """Backward: an input the output does not depend on (its statement goes unused)."""

    node: NodeResult
    equation: Equation
    reason: str


@dataclass(frozen=True, slots=True)
class Descent:
    """The update step of one input."""

    name: str
    equation: Equation


class Walkthrough:
    """Everything a walkthrough shows of a Result, written in one notation."""

    def __init__(self, result: Result, notation: Plain) -> None:
        self.result = result
        self.m = notation
        self.nodes = result.nodes
        self.f = notation.name(result.output_name)
        self.forward = [self._evaluation(n) for n in self.nodes if n.inputs]
        # The backward pass goes through the nodes the output depends on: a statement
        # whose result goes unused sends back 0, and the output's gradient is the seed.
        self.live = result.graph.live()
        self._uses: dict[int, list[tuple[int, float | None]]] = {}
        self.backward: list[Gate | CopyGate | Unreached] = []
        for node in reversed(self.nodes):
            if not self.live[node.id]:
                continue
            if node.grad is not None and len(self.uses(node)) > 1:
                self.backward.append(self._copy_gate(node))
            if node.inputs and any(self.nodes[i].grad is not None for i in node.inputs):
                self.backward.append(self._gate(node))
        for node_id in result.graph.variables.values():
            if not self.live[node_id]:
                node = self.nodes[node_id]
                equation = Equation(self.d(node), (), self.m.num(node.grad))
                reason = "the output does not depend on it: nothing flows back to it"
                self.backward.append(Unreached(node, equation, reason))
        self.has_update = result.update is not None
        self.update = self._update() if result.update is not None else []

    # ---- pieces ---------------------------------------------------------------------

    def name(self, node: NodeResult) -> str:
        return self.m.name(node.name)

    def uses(self, node: NodeResult) -> list[tuple[int, float | None]]:
        """The node's uses by nodes the output depends on: (consumer id, gradient sent)."""
        uses = self._uses.get(node.id)
        if uses is None:
            uses = self._uses[node.id] = [(c, g) for c, g in node.uses if self.live[c]]
        return uses

    def d(self, node: NodeResult) -> str:
        """∂f/∂node."""
        return self.m.d(self.f, self.name(node))

    def inputs_text(self) -> list[tuple[str, str]]:
        """The inputs and their values: [("x", "-2"), …]."""
        return [(self.m.name(n), self.m.num(v)) for n, v in self.result.inputs.items()]

    @property
    def output(self) -> str:
        return self.m.num(self.result.output)

    def start(self) -> Equation:
        """∂f/∂f = 1: where the backward pass starts."""
        return Equation(self.m.d(self.f, self.f), (), "1")

    # ---- forward ----------------------------------------------------------------------

    def _evaluation(self, node: NodeResult) -> Evaluation:
        ins = [self.nodes[i] for i in node.inputs]
        names = [self.m.label(i) for i in node.inputs]
        shown = self.m.show(node.op, names)
        numbers = self.m.show_numbers(node.op, [i.value for i in ins])
        terms = (shown,) if numbers == shown else (shown, numbers)  # `2 * 3` once, not twice
        return Evaluation(node, Equation(self.name(node), terms, self.m.num(node.value)))

    # ---- backward -----------------------------------------------------------------------

    def _gate(self, node: NodeResult) -> Gate:
        op = OPS[node.op]
        ins = [self.nodes[i] for i in node.inputs]
        names = [self.m.label(i) for i in node.inputs]
        formulas = self.m.formulas(node.op, names, self.name(node))
        upstream = self.m.num(node.grad)
        # At a max or min tie a convention gives the local gradient, not the formula
        # ("1 if x is the max"): the reason says which.
        tie = len(node.winners) > 1
        sends = []
        for k, (inp, formula, local) in enumerate(zip(ins, formulas, node.local, strict=True)):
            if inp.grad is None:
                continue
            terms = [self.d(node) + self.m.dot + self.m.d(self.name(node), self.name(inp))]
            if formula != self.m.num(local) and not tie:
                terms.append(upstream + self.m.dot + self.m.group(formula))
            terms.append(upstream + self.m.dot + self.m.operand(local))
            sep = self.m.accumulate if len(self.uses(inp)) > 1 else "="
            equation = Equation(self.d(inp), tuple(terms), self.sent(node, k), sep)
            sends.append(Send(k, inp, equation))
        headline = HEADLINES.get(op.pattern, op.pattern)
        reason = REASONS.get(op.pattern, _rule_reason)(self, node, ins)
        return Gate(node, self.m.show(node.op, names), headline, tuple(sends), reason)

    def _copy_gate(self, node: NodeResult) -> CopyGate:
        terms = [self.m.num(grad) for _, grad in self.uses(node)]
        text = terms[0]
        for term in terms[1:]:  # `3 + -1 + 2` written as `3 - 1 + 2`
            text += f" - {term[1:]}" if term.startswith("-") else f" + {term}"
        equation = Equation(self.d(node), (text,), self.m.num(node.grad))
        reason = "the gradients that flow back along its uses add up"
        return CopyGate(node, len(terms), equation, reason)

    def sent(self, node: NodeResult, k: int) -> str:
        """The gradient (as text) that the k-th input edge of `node` sends back."""
        return self.m.num(self.result.sent(node.id, k))

    # ---- update ---------------------------------------------------------------------------

    @property
    def lr(self) -> str:
        assert self.result.update is not None
        return self.m.num(self.result.update.lr)

    @property
    def update_reason(self) -> str:
        if self.update:
            return "each input takes a step against its gradient"
        return "there are no inputs, so nothing changes"

    @property
    def new_output(self) -> str:
        """The output after one update step."""
        update = self.result.update
        assert update is not None
        return self.m.num(update.trajectory[1].output if update.trajectory else update.output)

    @property
    def after_steps(self) -> tuple[int, str] | None:
        """With more than one step: how many, and the output at the end."""
        update = self.result.update
        if update is None or not update.trajectory or update.steps < 2:
            return None
        return update.steps, self.m.num(update.output)

    def _update(self) -> list[Descent]:
        update = self.result.update
        assert update is not None
        after = update.trajectory[1].inputs if update.trajectory else update.inputs
        rows = []
        for name, value in self.result.inputs.items():
            x = self.m.name(name)
            grad = self.result.gradients[name]
            terms = (
                f"{x} - {self.m.alpha_times}{self.m.d(self.f, x)}",
                f"{self.m.num(value)} - {self.lr}{self.m.times}{self.m.factor(grad)}",
            )
            equation = Equation(x, terms, self.m.num(after[name]), self.m.assign)
            rows.append(Descent(name, equation))
        return rows


# ---- the reasons, one per pattern, tied to the numbers -------------------------------------

Reason = Callable[[Walkthrough, NodeResult, list[NodeResult]], str]


def _distributor_reason(w: Walkthrough, node: NodeResult, ins: list[NodeResult]) -> str:
    g = w.m.math(w.m.num(node.grad))
    if all(local == 1.0 for local in node.local):
        return f"gradient distributor: every input gets the upstream gradient {g} unchanged"
    gets = ", ".join(
        f"{w.m.math(w.name(i))} gets {w.m.math(w.sent(node, k))}"
        for k, i in enumerate(ins)
        if i.grad is not None
    )
    return (
        f"gradient distributor with a sign: each input gets the upstream gradient {g}"
        f" times its sign: {gets}"
    )


def _swap_reason(w: Walkthrough, node: NodeResult, ins: list[NodeResult]) -> str:
    g = w.m.num(node.grad)
    gets = [
        f"{w.m.math(w.name(inp))}: {w.m.math(g + w.m.times + w.m.factor(ins[1 - k].value))}"
        for k, inp in enumerate(ins)
        if inp.grad is not None
    ]
    return (
        "swap multiplier: each input gets the upstream gradient times the other input's value"
        f" ({', '.join(gets)})"
    )


def _router_reason(w: Walkthrough, node: NodeResult, ins: list[NodeResult]) -> str:
    g = w.m.math(w.m.num(node.grad))
    winners = [ins[k] for k in node.winners]
    which = OPS[node.op].symbol
    value = w.m.math(w.m.num(node.value))
    if len(winners) == 1:
        return (
            f"gradient router: {w.m.math(w.m.label(winners[0].id))} is the {which} ({value}) "
            f"and gets the whole gradient {g}; the others get 0"
        )
    names = ", ".join(w.m.math(w.m.label(i.id)) for i in winners)
    tie = w.result.conventions.max_tie
    rule = (
        "split evenly among them (--max-tie first sends it all to the first)"
        if tie == "split"
        else "sent to the first of them (--max-tie first)"
    )
    return f"gradient router: {names} tie at {value}; the gradient {g} is {rule}"


def _rule_reason(w: Walkthrough, node: NodeResult, ins: list[NodeResult]) -> str:
    op = OPS[node.op]
    names = [w.m.label(i.id) for i in ins]
    formulas = w.m.formulas(node.op, names, w.name(node))
    rules = [
        w.m.math(f"{w.m.d(w.name(node), w.name(i))} = {formula}")
        for i, formula in zip(ins, formulas, strict=True)
        if i.grad is not None
    ]
    return f"{op.pattern}: the local gradient is {'; '.join(rules)}"


REASONS: dict[str, Reason] = {
    "distributor": _distributor_reason,
    "swap multiplier": _swap_reason,
    "router": _router_reason,
}
