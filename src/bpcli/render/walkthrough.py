"""The walkthrough of a run, step by step, gate by gate, in the lecture's words.

What `grad --explain`, the Markdown and LaTeX write-ups and the HTML page all
show: the forward pass node by node in topological order, the backward pass
gate by gate in reverse (each edge's upstream × local = downstream, each
gate's pattern with a reason tied to the numbers, a copy gate adding its
uses), and the update step. Formulas come from the op table, numbers from the
Result; a `notation` (plain text or LaTeX) writes them. The words are here
(and each pattern's in `patterns`), once, as whole phrases with named
placeholders; where they go on the page, and how each placeholder is set
(maths, bold), is the views' business.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Union

from ..i18n import N_, tr
from ..ops import OPS
from ..patterns import COPY, DISTRIBUTOR, ROUTER, RULES_JOIN, SWAP, Pattern
from ..result import NodeResult, Result
from .notation import Plain
from .numbers import DEFAULT_PRECISION

# ---- the walkthrough's words (a pattern's own are in `patterns`) ---------------------------
# A line of the terminal or the page is lower case; a write-up's sentence (…_SENTENCE) and
# heading (…_HEADING) are not. {inputs}, {output}, {updated} and {stepped} are equations
# (`x = -2`), {rate} (`α = 0.1`), {gate} and {node} maths: see `Walkthrough.phrase`.

FORWARD = N_("forward pass")
BACKWARD = N_("backward pass")
UPDATE = N_("update step")
FORWARD_HEADING = N_("Forward pass")
BACKWARD_HEADING = N_("Backward pass")
UPDATE_HEADING = N_("Update step")
INPUTS = N_("inputs: {inputs}")
INPUTS_SENTENCE = N_("Inputs: {inputs}.")
OUTPUT = N_("output: {output}")
OUTPUT_SENTENCE = N_("Output: {output}.")
RATE = N_("{rate}: {reason}")  # `α = 0.1: each input takes a step against its gradient`
RATE_SENTENCE = N_("{rate}: {reason}.")
UPDATED = N_("after the update: {updated}")
UPDATED_SENTENCE = N_("After the update: {updated}.")
STEPPED = N_("after {steps} steps: {stepped}")
STEPPED_SENTENCE = N_("After {steps} steps: {stepped}.")
STEP_REASON = N_("each input takes a step against its gradient")
NO_STEP_REASON = N_("there are no inputs, so nothing changes")
# the page's steps
INPUTS_STEP = N_("the inputs")
NO_INPUTS = N_("no inputs: every value is a constant")
FORWARD_REASON = N_("the forward pass computes each node from its inputs, in topological order")
COMPUTE_STEP = N_("compute {node}")
START_STEP = N_("start at the output {node}")
UPDATE_STEP = N_("update step, {rate}")
DESCENT_REASON = N_("gradient descent: {reason}")
# the backward pass
# Under the convention "infinite times zero": `the relu gate passes nothing back here,
# so sqrt's infinite local gradient never reaches x`.
STOPPED_REASON = N_(
    "the {op} gate passes nothing back here, so {origin}'s infinite local gradient never"
    " reaches {inputs}"
)
STOPPED_UNDEFINED = N_(
    "the {op} gate passes nothing back here, so {origin}'s undefined local gradient never"
    " reaches {inputs}"
)
GATE = N_("{gate}: {op} gate, {pattern}")  # `q = x + y: add gate, gradient distributor`
# What each equation of a gate is, named once per gate with the gate's own symbols:
# `downstream ∂f/∂x, ∂f/∂y = upstream ∂f/∂q · local ∂q/∂x, ∂q/∂y`.
CHAIN = N_("downstream {downstream} = upstream {upstream} · local {local}")
GATE_SEND = N_("{op} gate, {pattern}: to {input}")  # one edge of a gate, as a step of its own
COPY_GATE = N_("{node}: copy gate, {pattern}")  # `x: copy gate, gradient adder`
COPY_USES = N_("(used {uses} times)")  # after COPY_GATE
COPY_STEP = N_("copy gate: {node} adds its uses")
UNREACHED = N_("{node}: not used by the output")
UNREACHED_REASON = N_("the output does not depend on it: nothing flows back to it")
START = N_("the output: the backward pass starts here")  # after `∂f/∂f = 1`
START_SENTENCE = N_("the output, where the backward pass starts")  # … in a sentence of its own
START_REASON = N_(
    "the backward pass starts at the output: its gradient with respect to itself is 1"
)
LIST_JOIN = ", "  # the items of a list inside a sentence


@dataclass(frozen=True, slots=True)
class Equation:
    """`lhs sep terms[0] = terms[1] … = result`; `result` is a value or a gradient.

    A view that breaks it into lines breaks only before an `=` (each term stays whole);
    `addends`, where given, are the first term's, a long sum (a copy gate's), which may
    also break before a `+` or `-` when it alone is too wide for a line."""

    lhs: str
    terms: tuple[str, ...]
    result: str
    sep: str = "="
    addends: tuple[str, ...] = ()

    def text(self) -> str:
        return f"{self.lhs} {self.sep} " + " = ".join((*self.terms, self.result))


# A text, an equation, a list of equations, or a list of maths (`∂f/∂x, ∂f/∂y`).
Value = Union[str, Equation, tuple[Equation, ...], tuple[str, ...]]  # noqa: UP007 (3.10)


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words with named placeholders and the values that fill them. A view sets each
    value its own way (maths in `$…$`, the pattern in bold, a result in green) and the
    words as text; a list of equations is joined by LIST_JOIN."""

    template: str
    values: Mapping[str, Value]

    def text(self) -> str:
        return self.lay_out(str, lambda key, v: v, Equation.text)

    def pieces(self) -> list[tuple[str, str | None, Value | None]]:
        """The phrase as (words, key, value) in order; key and value None after the last."""
        return [
            (literal, key, None if key is None else self.values[key])
            for literal, key, _, _ in string.Formatter().parse(tr(self.template))
        ]

    def lay_out(
        self,
        words: Callable[[str], str],
        value: Callable[[str, str], str],
        equation: Callable[[Equation], str],
    ) -> str:
        """The phrase with its words through `words`, each text value through
        `value(key, v)` and each equation through `equation`."""
        parts = []
        for literal, key, v in self.pieces():
            parts.append(words(literal))
            if key is None or v is None:
                continue
            if isinstance(v, Equation):
                parts.append(equation(v))
            elif isinstance(v, tuple):
                parts.append(
                    LIST_JOIN.join(
                        equation(e) if isinstance(e, Equation) else value(key, e) for e in v
                    )
                )
            else:
                parts.append(value(key, v))
        return "".join(parts)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Forward: one op node computed from its inputs."""

    node: NodeResult
    equation: Equation


@dataclass(frozen=True, slots=True)
class Send:
    """Backward: what the `k`-th input edge of a gate sends back to `input`, the
    downstream gradient `downstream` = the upstream gradient × the local gradient
    `local` (`∂q/∂x`, or `∂(q·z)/∂q` at the output, never the gradient on the left),
    whose formula is `formula` (`z`) and value `local_value`."""

    k: int
    input: NodeResult
    equation: Equation
    downstream: str
    local: str
    formula: str
    local_value: str


@dataclass(frozen=True, slots=True)
class Gate:
    """Backward through one op node: its pattern, its edges, and why."""

    node: NodeResult
    pattern: Pattern
    sends: tuple[Send, ...]
    reason: str
    heading: Phrase  # GATE: {gate} (`q = x + y`, maths), {op}, {pattern} (its headline)

    upstream: str  # ∂f/∂q

    def send_title(self, send: Send) -> Phrase:
        """GATE_SEND: the title of one edge's step, {input} the input's name."""
        values = {"op": self.node.op, "pattern": self.pattern.headline, "input": send.input.name}
        return Phrase(GATE_SEND, values)

    def chain(self, *sends: Send) -> Phrase:
        """CHAIN: which term of the equations of `sends` (all the gate's if none) is the
        upstream, the local and the downstream gradient, each a list of maths."""
        sends = sends or self.sends
        values: dict[str, Value] = {
            "downstream": tuple(s.downstream for s in sends),
            "upstream": self.upstream,
            "local": tuple(s.local for s in sends),
        }
        return Phrase(CHAIN, values)


@dataclass(frozen=True, slots=True)
class CopyGate:
    """Backward: a node used more than once adds the gradients of its uses."""

    node: NodeResult
    equation: Equation
    reason: str
    heading: Phrase  # COPY_GATE: {node} (maths), {pattern} (the headline)
    note: Phrase  # COPY_USES: {uses}
    title: Phrase  # COPY_STEP: {node} (plain)


@dataclass(frozen=True, slots=True)
class Unreached:
    """Backward: an input the output does not depend on (its statement goes unused)."""

    node: NodeResult
    equation: Equation
    reason: str
    heading: Phrase  # UNREACHED: {node} (maths)


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
            if self.differentiated(node) and len(self.uses(node)) > 1:
                self.backward.append(self._copy_gate(node))
            if node.inputs and any(self.differentiated(self.nodes[i]) for i in node.inputs):
                self.backward.append(self._gate(node))
        for node_id in result.graph.variables.values():
            if not self.live[node_id]:
                node = self.nodes[node_id]
                equation = Equation(self.d(node), (), self.m.num(node.grad))
                heading = Phrase(UNREACHED, {"node": self.name(node)})
                self.backward.append(Unreached(node, equation, tr(UNREACHED_REASON), heading))
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
            if not self.differentiated(inp):
                continue
            symbol = self.local(node, inp)
            terms = [self.d(node) + self.m.dot + symbol]
            if formula != self.m.num(local) and not tie:
                terms.append(upstream + self.m.dot + self.m.group(formula))
            terms.append(upstream + self.m.dot + self.m.operand(local))
            sep = self.m.accumulate if len(self.uses(inp)) > 1 else "="
            equation = Equation(self.d(inp), tuple(terms), self.sent(node, k), sep)
            shown_formula = self.m.num(local) if tie else formula
            send = Send(k, inp, equation, self.d(inp), symbol, shown_formula, self.m.num(local))
            sends.append(send)
        reason = self._stopped(node, ins) or REASONS.get(op.pattern, _rule_reason)(self, node, ins)
        shown = self.m.show(node.op, names)
        values = {"gate": f"{self.name(node)} = {shown}", "op": node.op}
        heading = Phrase(GATE, {**values, "pattern": op.pattern.headline})
        return Gate(node, op.pattern, tuple(sends), reason, heading, self.d(node))

    def local(self, node: NodeResult, inp: NodeResult) -> str:
        """The local gradient of `node` with respect to its input `inp`: `∂q/∂x`, but at
        the output, where `∂f/∂q` would be the very gradient it helps compute, written
        from the gate's own rule, `∂(q·z)/∂q`."""
        if node.id != self.result.graph.output:
            return self.m.d(self.name(node), self.name(inp))
        names = [self.m.label(i) for i in node.inputs]
        return self.m.d(self.m.whole(node.op, names), self.name(inp))

    def _copy_gate(self, node: NodeResult) -> CopyGate:
        terms = [self.m.num(grad) for _, grad in self.uses(node)]
        addends = [terms[0]]
        for term in terms[1:]:  # `3 + -1 + 2` written as `3 - 1 + 2`
            addends.append(f"- {term[1:]}" if term.startswith("-") else f"+ {term}")
        text = " ".join(addends)
        equation = Equation(self.d(node), (text,), self.m.num(node.grad), addends=tuple(addends))
        return CopyGate(
            node,
            equation,
            COPY.reason("add"),
            Phrase(COPY_GATE, {"node": self.name(node), "pattern": COPY.headline}),
            Phrase(COPY_USES, {"uses": str(len(terms))}),
            Phrase(COPY_STEP, {"node": node.name}),
        )

    def differentiated(self, node: NodeResult) -> bool:
        """Whether the node gets a gradient: it is not a constant (a gradient of None on a
        node that is not a constant is infinite or undefined, and stopped later)."""
        return not self.result.graph.fixed[node.id]

    def _stopped(self, node: NodeResult, ins: list[NodeResult]) -> str:
        """At a gate whose upstream gradient is infinite or undefined (the convention
        "infinite times zero"), what stops it: "" if that is not this gate."""
        if node.grad is not None or not self.differentiated(node):
            return ""
        stopped = [
            self.name(inp)
            for inp, local in zip(ins, node.local, strict=True)
            if local == 0.0 and self.differentiated(inp)
        ]
        if not stopped:
            return ""
        origin, k = self._origin(node)
        template = STOPPED_REASON if self.result.infinite(origin.id, k) else STOPPED_UNDEFINED
        return tr(template).format(
            op=node.op, origin=origin.op, inputs=LIST_JOIN.join(map(self.m.math, stopped))
        )

    def _origin(self, node: NodeResult) -> tuple[NodeResult, int]:
        """The gate, and its input edge, whose infinite or undefined local gradient
        reached `node`."""
        while True:
            for consumer_id, _ in node.uses:
                consumer = self.nodes[consumer_id]
                k = consumer.inputs.index(node.id)
                if consumer.grad is not None and consumer.local[k] is None:
                    return consumer, k
                if consumer.grad is None and self.differentiated(consumer):
                    node = consumer
                    break
            else:
                raise AssertionError("an infinite gradient comes from a gate")

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
        return tr(STEP_REASON if self.update else NO_STEP_REASON)

    def phrase(self, template: str) -> Phrase:
        """One of the walkthrough's lines (INPUTS, OUTPUT, RATE, UPDATED, …) filled in."""
        f = self.f
        values: dict[str, Value] = {
            "inputs": tuple(Equation(n, (), v) for n, v in self.inputs_text()),
            "output": Equation(f, (), self.output),
        }
        if self.has_update:
            values["rate"] = f"{self.m.alpha} = {self.lr}"
            values["reason"] = self.update_reason
            values["updated"] = Equation(f, (), self.new_output)
        if self.after_steps is not None:
            values["steps"] = str(self.after_steps[0])
            values["stepped"] = Equation(f, (), self.after_steps[1])
        return Phrase(template, values)

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


# ---- the walkthrough as data: `grad --json --explain` -----------------------------------


def json_steps(result: Result, precision: int = DEFAULT_PRECISION) -> list[dict[str, Any]]:
    """`grad --json --explain`'s `steps`: the walkthrough in plain notation, as data."""
    return steps_data(Walkthrough(result, Plain(result.graph, precision)))


def steps_data(w: Walkthrough) -> list[dict[str, Any]]:
    """The walkthrough's steps as JSON data (`grad --json --explain`), in order: the
    forward pass node by node, the backward pass from the output gate by gate (each
    input's upstream, local and downstream gradient), the update step input by input.
    Numbers are the Result's; texts are the walkthrough's, in `w`'s notation."""
    steps: list[dict[str, Any]] = []
    for evaluation in w.forward:
        node = evaluation.node
        steps.append(
            {
                "pass": "forward",
                "kind": "node",
                "node": node.id,
                "name": node.name,
                "op": node.op,
                "inputs": list(node.inputs),
                "value": node.value,
                "text": evaluation.equation.text(),
            }
        )
    out = w.nodes[w.result.graph.output]
    start = {"pass": "backward", "kind": "start", "node": out.id, "name": out.name}
    steps.append({**start, "grad": 1.0, "text": w.start().text()})
    for step in w.backward:
        node = step.node
        head = {"pass": "backward", "kind": "", "node": node.id, "name": node.name}
        if isinstance(step, Gate):
            upstream = {"symbol": step.upstream, "value": node.grad}
            inputs = [
                {
                    "node": send.input.id,
                    "name": send.input.name,
                    "edge": send.k,
                    "local": {
                        "symbol": send.local,
                        "formula": send.formula,
                        "value": node.local[send.k],
                    },
                    "downstream": {
                        "symbol": send.downstream,
                        "value": w.result.sent(node.id, send.k),
                    },
                    "text": send.equation.text(),
                }
                for send in step.sends
            ]
            steps.append(
                {
                    **head,
                    "kind": "gate",
                    "op": node.op,
                    "pattern": step.pattern.name,
                    "text": step.heading.text(),
                    "upstream": upstream,
                    "inputs": inputs,
                    "reason": step.reason,
                }
            )
        elif isinstance(step, CopyGate):
            uses = [{"node": c, "grad": g} for c, g in w.uses(node)]
            steps.append(
                {
                    **head,
                    "kind": "copy",
                    "pattern": COPY.name,
                    "uses": uses,
                    "grad": node.grad,
                    "text": step.equation.text(),
                    "reason": step.reason,
                }
            )
        else:
            steps.append(
                {
                    **head,
                    "kind": "unreached",
                    "grad": node.grad,
                    "text": step.equation.text(),
                    "reason": step.reason,
                }
            )
    update = w.result.update
    if update is not None:
        after = update.trajectory[1].inputs if update.trajectory else update.inputs
        for descent in w.update:
            steps.append(
                {
                    "pass": "update",
                    "kind": "input",
                    "name": descent.name,
                    "value": w.result.inputs[descent.name],
                    "grad": w.result.gradients[descent.name],
                    "lr": update.lr,
                    "new_value": after[descent.name],
                    "text": descent.equation.text(),
                }
            )
    return steps


# ---- the reasons, one per pattern, tied to the numbers -------------------------------------

Reason = Callable[[Walkthrough, NodeResult, list[NodeResult]], str]


def _distributor_reason(w: Walkthrough, node: NodeResult, ins: list[NodeResult]) -> str:
    upstream = w.m.math(w.m.num(node.grad))
    if all(local == 1.0 for local in node.local):
        return DISTRIBUTOR.reason("unchanged", upstream=upstream)
    gets = LIST_JOIN.join(
        DISTRIBUTOR.reason("gets", input=w.m.math(w.name(i)), sent=w.m.math(w.sent(node, k)))
        for k, i in enumerate(ins)
        if w.differentiated(i)
    )
    return DISTRIBUTOR.reason("signed", upstream=upstream, gets=gets)


def _swap_reason(w: Walkthrough, node: NodeResult, ins: list[NodeResult]) -> str:
    g = w.m.num(node.grad)
    gets = LIST_JOIN.join(
        SWAP.reason(
            "gets",
            input=w.m.math(w.name(inp)),
            product=w.m.math(g + w.m.dot + w.m.factor(ins[1 - k].value)),
        )
        for k, inp in enumerate(ins)
        if w.differentiated(inp)
    )
    return SWAP.reason("swap", gets=gets)


def _router_reason(w: Walkthrough, node: NodeResult, ins: list[NodeResult]) -> str:
    upstream = w.m.math(w.m.num(node.grad))
    winners = [ins[k] for k in node.winners]
    value = w.m.math(w.m.num(node.value))
    if len(winners) == 1:
        winner = w.m.math(w.m.label(winners[0].id))
        which = OPS[node.op].symbol
        return ROUTER.reason("winner", winner=winner, which=which, value=value, upstream=upstream)
    names = LIST_JOIN.join(w.m.math(w.m.label(i.id)) for i in winners)
    key = "tie split" if w.result.conventions.max_tie == "split" else "tie first"
    return ROUTER.reason(key, winners=names, value=value, upstream=upstream)


def _rule_reason(w: Walkthrough, node: NodeResult, ins: list[NodeResult]) -> str:
    pattern = OPS[node.op].pattern
    names = [w.m.label(i.id) for i in ins]
    formulas = w.m.formulas(node.op, names, w.name(node))
    rules = [
        w.m.math(f"{w.local(node, i)} = {formula}")
        for i, formula in zip(ins, formulas, strict=True)
        if w.differentiated(i)
    ]
    return pattern.reason("rule", rules=RULES_JOIN.join(rules))


# The reason of a gate, found through its pattern; a pattern not here says its rule.
REASONS: dict[Pattern, Reason] = {
    DISTRIBUTOR: _distributor_reason,
    SWAP: _swap_reason,
    ROUTER: _router_reason,
}
