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

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Union

from ..i18n import N_, tr
from ..ops import OPS
from ..patterns import COPY, DISTRIBUTOR, MATMUL, ROUTER, RULES_JOIN, SWAP, Pattern
from ..result import NodeResult, Result
from .notation import Plain

if TYPE_CHECKING:
    from .notation import TensorPlain
from .numbers import DEFAULT_PRECISION

if TYPE_CHECKING:  # NumPy is imported only where a tensor appears
    from ..tensor import TensorResult

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
# vectors and matrices: each node's shape, and each gradient's (the dimension analysis)
SHAPES = N_("shapes: {shapes}")  # `shapes: W (2, 2), x (2,)`
SHAPES_SENTENCE = N_("Shapes: {shapes}.")
NODE_SHAPES = "{node}: {dims}"  # `q: (2, 2) @ (2,) → (2,)`
# `∂f/∂W = ∂f/∂q · xᵀ: (2,) ⊗ (2,) → (2, 2), the shape of W`
DIMS = N_("{gradient}: {dims}, the shape of {node}")
DIMS_SUMMED = N_("{gradient}: {dims}, summed to {shape}, the shape of {node}")
# Broadcasting undone: `b (3,) was broadcast over 4 rows: its gradient sums ∂f/∂add1
# over those rows`; {gradient} is what the gate sends back before the sum.
BROADCAST = {
    "rows": N_(
        "{node} {shape} was broadcast over {rows} rows: its gradient sums {gradient}"
        " over those rows"
    ),
    "columns": N_(
        "{node} {shape} was broadcast over {columns} columns: its gradient sums"
        " {gradient} over those columns"
    ),
    "elements": N_(
        "{node} {shape} was broadcast over {elements} elements: its gradient sums"
        " {gradient} over those elements"
    ),
    "both": N_(
        "{node} {shape} was broadcast over {rows} rows and {columns} columns: its"
        " gradient sums {gradient} over all {elements} elements"
    ),
}
# With --dout: what the gradients are of, defined where ∂L/∂q = dout is first written.
DOUT_START = N_("the upstream gradient given with --dout, of {loss}: the backward pass starts here")
NO_GRADIENT = "an index gets no gradient"
# The placeholders of the walkthrough's phrases that are maths, in every view.
MATHS = (
    "gate", "node", "rate", "upstream", "downstream", "local", "shapes", "dims", "gradient",
    "shape", "loss",
)  # fmt: skip


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
            for literal, key in _parsed(tr(self.template))
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


@lru_cache(maxsize=256)
def _parsed(template: str) -> tuple[tuple[str, str | None], ...]:
    """A phrase's words and placeholders (a walkthrough has few phrases, used thousands of
    times)."""
    return tuple((literal, key) for literal, key, _, _ in string.Formatter().parse(template))


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Forward: one op node computed from its inputs."""

    node: NodeResult
    equation: Equation
    dims: Phrase | None = None  # NODE_SHAPES, over vectors and matrices


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
    # over vectors and matrices: DIMS, and BROADCAST where broadcasting was undone
    dims: Phrase | None = None
    broadcast: Phrase | None = None


@dataclass(frozen=True, slots=True)
class Gate:
    """Backward through one op node: its pattern, its edges, and why."""

    node: NodeResult
    pattern: Pattern
    sends: tuple[Send, ...]
    reason: str
    heading: Phrase  # GATE: {gate} (`q = x + y`, maths), {op}, {pattern} (its headline)

    upstream: str  # ∂f/∂q

    @property
    def dims(self) -> tuple[Phrase, ...]:
        """Over vectors and matrices: each send's DIMS (none for numbers)."""
        return tuple(send.dims for send in self.sends if send.dims is not None)

    @property
    def broadcasts(self) -> tuple[Phrase, ...]:
        """Over vectors and matrices: each BROADCAST undone."""
        return tuple(send.broadcast for send in self.sends if send.broadcast is not None)

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
        self.df = self.f  # what each gradient is of, ∂df/∂node (tensor.differentiated)
        self.forward = [self._evaluation(n) for n in self.nodes if n.inputs]
        # The backward pass goes through the nodes the output depends on: a statement
        # whose result goes unused sends back 0, and the output's gradient is the seed.
        self.live = result.graph.live()
        self._uses: dict[int, list[tuple[int, float | None]]] = {}
        self.backward = self._backward()
        self.has_update = result.update is not None
        self.update = self._update() if result.update is not None else []

    def _backward(self) -> list[Gate | CopyGate | Unreached]:
        """The backward pass, gate by gate from the output, then the unreached inputs."""
        backward: list[Gate | CopyGate | Unreached] = []
        for node in reversed(self.nodes):
            if not self.live[node.id]:
                continue
            if self.differentiated(node) and len(self.uses(node)) > 1:
                backward.append(self._copy_gate(node))
            if node.inputs and any(self.differentiated(self.nodes[i]) for i in node.inputs):
                backward.append(self._gate(node))
        for node_id in self.result.graph.variables.values():
            if not self.live[node_id]:
                node = self.nodes[node_id]
                equation = Equation(self.d(node), (), self.m.num(node.grad))
                heading = Phrase(UNREACHED, {"node": self.name(node)})
                backward.append(Unreached(node, equation, tr(UNREACHED_REASON), heading))
        return backward

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
        return self.m.d(self.df, self.name(node))

    def inputs_text(self) -> list[tuple[str, str]]:
        """The inputs and their values: [("x", "-2"), …]."""
        return [(self.m.name(n), self.m.num(v)) for n, v in self.result.inputs.items()]

    @property
    def output(self) -> str:
        return self.m.num(self.result.output)

    def start(self) -> Equation:
        """∂f/∂f = 1: where the backward pass starts."""
        return Equation(self.m.d(self.f, self.f), (), "1")

    def start_phrase(self, sentence: bool = False) -> Phrase:
        """What `start()` is: START (START_SENTENCE in a sentence of its own)."""
        return Phrase(START_SENTENCE if sentence else START, {})

    def start_reason(self) -> Phrase:
        """Why the backward pass starts with `start()` (the page's step): START_REASON."""
        return Phrase(START_REASON, {})

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

    def sent_value(self, node: NodeResult, k: int) -> Any:
        """The gradient that the k-th input edge of `node` sends back, as JSON holds it."""
        return self.result.sent(node.id, k)

    def after_inputs(self) -> Mapping[str, Any]:
        """The inputs after one step of gradient descent."""
        update = self.result.update
        assert update is not None
        return update.trajectory[1].inputs if update.trajectory else update.inputs

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
        after = self.after_inputs()
        rows = []
        for name, value in self.result.inputs.items():
            x = self.m.name(name)
            grad = self.result.gradients[name]
            terms = (
                f"{x} - {self.m.alpha_times}{self.m.d(self.df, x)}",
                f"{self.m.num(value)} - {self.lr}{self.m.times}{self.m.factor(grad)}",
            )
            equation = Equation(x, terms, self.m.num(after[name]), self.m.assign)
            rows.append(Descent(name, equation))
        return rows


# ---- the walkthrough as data: `grad --json --explain` -----------------------------------


def json_steps(
    result: Result | TensorResult, precision: int = DEFAULT_PRECISION
) -> list[dict[str, Any]]:
    """`grad --json --explain`'s `steps`: the walkthrough in plain notation, as data."""
    if getattr(result, "tensor", False):
        from .notation import TensorPlain

        return steps_data(walkthrough(result, TensorPlain(result.graph, precision)))
    return steps_data(walkthrough(result, Plain(result.graph, precision)))


def steps_data(w: Walkthrough) -> list[dict[str, Any]]:
    """The walkthrough's steps as JSON data (`grad --json --explain`), in order: the
    forward pass node by node, the backward pass from the output gate by gate (each
    input's upstream, local and downstream gradient), the update step input by input.
    Numbers are the Result's; texts are the walkthrough's, in `w`'s notation. Over
    vectors and matrices, values are nested lists, each with its `shape`, and a gate's
    inputs say their `dims` (and `broadcast`, where one was undone); a local gradient
    there is a Jacobian, never formed, so it has no `value`."""
    tensors = w if isinstance(w, TensorWalkthrough) else None
    data = tensors.plain if tensors is not None else _same

    def shaped(node_id: int, fields: dict[str, Any]) -> dict[str, Any]:
        if tensors is not None:
            fields["shape"] = list(tensors.shape(node_id))
        return fields

    steps: list[dict[str, Any]] = []
    for evaluation in w.forward:
        node = evaluation.node
        row = {
            "pass": "forward",
            "kind": "node",
            "node": node.id,
            "name": node.name,
            "op": node.op,
            "inputs": list(node.inputs),
            "value": data(node.value),
            "text": evaluation.equation.text(),
        }
        if tensors is not None and evaluation.dims is not None:
            row["shape"] = list(tensors.shape(node.id))
            row["dims"] = evaluation.dims.text()
        steps.append(row)
    out = w.nodes[w.result.graph.output]
    start = {"pass": "backward", "kind": "start", "node": out.id, "name": out.name}
    dout = tensors.tensors.dout if tensors is not None else None
    steps.append({**start, "grad": 1.0 if dout is None else data(dout), "text": w.start().text()})
    for step in w.backward:
        node = step.node
        head = {"pass": "backward", "kind": "", "node": node.id, "name": node.name}
        if isinstance(step, Gate):
            upstream = shaped(node.id, {"symbol": step.upstream, "value": data(node.grad)})
            inputs = []
            for send in step.sends:
                local: dict[str, Any] = {"symbol": send.local, "formula": send.formula}
                if tensors is None:
                    local["value"] = node.local[send.k]
                downstream = {"symbol": send.downstream, "value": w.sent_value(node, send.k)}
                item = {
                    "node": send.input.id,
                    "name": send.input.name,
                    "edge": send.k,
                    "local": local,
                    "downstream": shaped(send.input.id, downstream),
                    "text": send.equation.text(),
                }
                if send.dims is not None:
                    item["dims"] = send.dims.text()
                if send.broadcast is not None:
                    item["broadcast"] = send.broadcast.text()
                inputs.append(item)
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
            uses = [{"node": c, "grad": data(g)} for c, g in w.uses(node)]
            steps.append(
                shaped(
                    node.id,
                    {
                        **head,
                        "kind": "copy",
                        "pattern": COPY.name,
                        "uses": uses,
                        "grad": data(node.grad),
                        "text": step.equation.text(),
                        "reason": step.reason,
                    },
                )
            )
        else:
            steps.append(
                {
                    **head,
                    "kind": "unreached",
                    "grad": data(node.grad),
                    "text": step.equation.text(),
                    "reason": step.reason,
                }
            )
    update = w.result.update
    if update is not None:
        after = w.after_inputs()
        for descent in w.update:
            steps.append(
                {
                    "pass": "update",
                    "kind": "input",
                    "name": descent.name,
                    "value": data(w.result.inputs[descent.name]),
                    "grad": data(w.result.gradients[descent.name]),
                    "lr": update.lr,
                    "new_value": data(after[descent.name]),
                    "text": descent.equation.text(),
                }
            )
    return steps


def _same(value: Any) -> Any:
    return value


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


def _rule_reason(w: Walkthrough, node: NodeResult, ins: list[NodeResult], words: str = "") -> str:
    pattern = OPS[node.op].pattern
    names = [w.m.label(i.id) for i in ins]
    formulas = w.m.formulas(node.op, names, w.name(node))
    rules = [
        w.m.math(f"{w.local(node, i)} = {formula}")
        for i, formula in zip(ins, formulas, strict=True)
        if w.differentiated(i)
    ]
    if words:  # over tensors, of an elementwise gate
        return tr(words).format(headline=pattern.headline, rules=RULES_JOIN.join(rules))
    return pattern.reason("rule", rules=RULES_JOIN.join(rules))


# The reason of a gate, found through its pattern; a pattern not here says its rule.
REASONS: dict[Pattern, Reason] = {
    DISTRIBUTOR: _distributor_reason,
    SWAP: _swap_reason,
    ROUTER: _router_reason,
}


# ---- vectors and matrices ------------------------------------------------------------------
# The same walkthrough over a TensorResult: the same steps, gates and patterns, each
# gradient written as the op table's vjp (`∂f/∂q · xᵀ`, never a Jacobian), with the
# shapes that make it (the dimension analysis) and any broadcasting undone.

SMALL = 6  # a tensor of at most this many elements is substituted into the equations
_PLACEHOLDER = re.compile(r"\{(g|out|n|local|\d+)\}(ᵀ?)")
_FILLED = re.compile(r"\{(g|out|n|local|\d+)\}")


class TensorWalkthrough(Walkthrough):
    """Everything a walkthrough shows of a tensor.TensorResult, in one notation (a
    TensorPlain or TensorTex)."""

    m: TensorPlain

    def __init__(self, result: TensorResult, notation: TensorPlain) -> None:
        import numpy

        from .. import tensor

        self.np = numpy
        self.tensor = tensor
        self.result = result  # type: ignore[assignment]
        self.tensors = result
        self.m = notation
        self.edges = tensor.edges(result)
        self.nodes = self._nodes()
        self.f = notation.name(result.output_name)
        self.df = notation.name(tensor.differentiated(result))
        self.forward = [self._evaluation(n) for n in self.nodes if n.inputs]
        self.live = result.graph.live()
        self._uses = {}
        self.backward = self._backward()
        self.has_update = result.update is not None
        self.update = self._update() if result.update is not None else []

    def _nodes(self) -> tuple[NodeResult, ...]:
        result = self.tensors
        uses: list[list[tuple[int, Any]]] = [[] for _ in result.values]
        for i, row in enumerate(self.edges):
            for j, edge in zip(result.graph.inputs(i), row, strict=True):
                if edge is not None:
                    uses[j].append((i, edge.sent))
        return tuple(
            NodeResult(
                i,
                name,
                op,
                ins,
                text,
                result.values[i],
                result.grads[i],
                OPS[op].pattern.name,
                (),
                tuple(uses[i]),
            )
            for i, (name, op, ins, text) in enumerate(result.graph.facts())
        )

    # ---- pieces ---------------------------------------------------------------------

    def shape(self, node_id: int) -> tuple[int, ...]:
        return self.tensors.shapes[node_id]

    def show_shape(self, shape: tuple[int, ...]) -> str:
        return self.tensor.show_shape(shape)

    def of_numbers(self, node: NodeResult) -> bool:
        """Whether a gate has no tensor, in or out: it is written as the scalar walkthrough
        writes it (`·`, no shapes)."""
        return not any(self.shape(i) for i in (node.id, *node.inputs))

    def small(self, *values: Any) -> bool:
        """Whether every value is small enough to be substituted into an equation."""
        return all(self.np.size(v) <= SMALL for v in values)

    def count(self, node: NodeResult) -> str:
        """How many elements of its first input go into each element of the node: the n
        of a mean."""
        np = self.np
        return str(int(np.size(self.nodes[node.inputs[0]].value) // max(np.size(node.value), 1)))

    def start(self) -> Equation:
        """∂f/∂f = 1, or with --dout the upstream gradient given."""
        dout = self.tensors.dout
        start = self.m.d(self.df, self.f)
        return Equation(start, (), "1" if dout is None else self.m.num(dout))

    def start_phrase(self, sentence: bool = False) -> Phrase:
        """With --dout, DOUT_START: the upstream gradient given, and L = sum(dout ⊙ q), the
        number whose gradients these are (tensor.differentiated)."""
        if self.tensors.dout is None:
            return super().start_phrase(sentence)
        return Phrase(DOUT_START, {"loss": self.m.loss(self.df, self.f)})

    def start_reason(self) -> Phrase:
        """With --dout, not `its gradient with respect to itself is 1`: DOUT_START."""
        return super().start_reason() if self.tensors.dout is None else self.start_phrase()

    def shapes_phrase(self, template: str) -> Phrase:
        """SHAPES (or its sentence): every input's shape, `W (2, 2)`."""
        graph = self.result.graph
        shapes = tuple(
            f"{self.m.name(n)} {self.show_shape(self.shape(i))}" for n, i in graph.variables.items()
        )
        return Phrase(template, {"shapes": shapes})

    # ---- forward ----------------------------------------------------------------------

    def _evaluation(self, node: NodeResult) -> Evaluation:
        names = [self.m.label(i) for i in node.inputs]
        values = [self.nodes[i].value for i in node.inputs]
        shown = self.m.show(node.op, names)
        terms: tuple[str, ...] = (shown,)
        if self.small(*values):
            numbers = self.m.show_numbers(node.op, values)
            terms = (shown,) if numbers == shown else (shown, numbers)
        equation = Equation(self.name(node), terms, self.m.num(node.value))
        # the shapes that make the node: a number by its name, a tensor by its shape
        operands = [
            self.m.label(i) if not self.shape(i) else self.show_shape(self.shape(i))
            for i in node.inputs
        ]
        arrow = f"{self.m.shapes(node.op, operands)} → {self.show_shape(self.shape(node.id))}"
        dims = Phrase(NODE_SHAPES, {"node": self.name(node), "dims": self.m.symbols(arrow)})
        return Evaluation(node, equation, dims)

    # ---- backward -----------------------------------------------------------------------

    def _said(self, node: NodeResult, k: int, formula: str) -> str:
        """How input k's downstream gradient is written, a template over {g}, {0}, {1},
        {out}, {n}, {local}: the op table's, else the upstream gradient times the local
        one (the `formula`, written out as {local}), elementwise."""
        rule = OPS[node.op].tensor
        assert rule is not None
        if rule.said and rule.said[k]:
            return rule.said[k]
        if formula == "1":
            return "{g}"
        if formula == "-1":
            return "-{g}"
        return "{g} ⊙ {local}"

    def _dims_template(self, node: NodeResult, k: int, said: str) -> str:
        """The shapes whose product is input k's downstream gradient: the op table's,
        else the upstream gradient's (and the local gradient's, if not 1 or -1)."""
        rule = OPS[node.op].tensor
        assert rule is not None
        if rule.dims and rule.dims[k]:
            return rule.dims[k]
        return "{g}" if said in ("{g}", "-{g}") else "{g} ⊙ {local}"

    def _product(self, template: str, ndims: Mapping[str, int], raw: int) -> str:
        """The template with a vector's `ᵀ` left out (a vector is its own transpose),
        and a product of two vectors that gives a matrix written as the outer product."""
        used = [m.group(1) for m in _PLACEHOLDER.finditer(template)]
        out = _PLACEHOLDER.sub(
            lambda m: "{" + m.group(1) + "}" + ("" if ndims.get(m.group(1)) == 1 else m.group(2)),
            template,
        )
        if len(used) == 2 and raw == 2 and all(ndims.get(key) == 1 for key in used):
            out = out.replace(" · ", " ⊗ ")
        return out

    def _fill(self, template: str, values: Mapping[str, str], numbers: bool = False) -> str:
        """The template in this notation's signs, its placeholders filled (of a gate of
        `numbers` only, with the scalar walkthrough's product sign)."""
        if numbers:
            template = template.replace(" ⊙ ", " · ")
        return _FILLED.sub(lambda m: values[m.group(1)], self.m.symbols(template))

    def _gate(self, node: NodeResult) -> Gate:
        np = self.np
        op = OPS[node.op]
        ins = [self.nodes[i] for i in node.inputs]
        names = [self.m.label(i) for i in node.inputs]
        scalar = self.of_numbers(node)
        formulas = self.m.formulas(node.op, names, self.name(node))
        texts = [self._operand(i.value, k) for k, i in enumerate(ins)]
        number_formulas = self.m.formulas(node.op, texts, self.m.num(node.value))
        n = self.count(node)
        symbols = {"g": self.d(node), "out": self.name(node), "n": n}
        symbols |= {str(k): name for k, name in enumerate(names)}
        numbers = {"g": self._operand(node.grad, 0), "out": self.m.num(node.value), "n": n}
        numbers |= {str(k): text for k, text in enumerate(texts)}
        values = {"g": node.grad, "out": node.value}
        values |= {str(k): i.value for k, i in enumerate(ins)}
        ndims = {key: int(np.ndim(v)) for key, v in values.items()}
        sends = []
        written: dict[int, str] = {}  # each input's downstream gradient, as written
        for k, (inp, edge) in enumerate(zip(ins, self.edges[node.id], strict=True)):
            if edge is None or not self.differentiated(inp):
                continue
            symbol = self.local(node, inp)
            sep = self.m.accumulate if len(self.uses(inp)) > 1 else "="
            result = self.m.num(edge.sent)
            if edge.raw is None:  # an index: no gradient flows into it
                equation = Equation(self.d(inp), (), result, sep)
                sends.append(Send(k, inp, equation, self.d(inp), symbol, formulas[k], ""))
                continue
            said = self._said(node, k, formulas[k])
            raw = tuple(np.shape(edge.raw))
            axes = _summed(raw, self.shape(inp.id))
            gradient = self._fill(said, {**symbols, "local": self.m.group(formulas[k])}, scalar)
            written[k] = gradient
            terms = [self.m.summed(gradient, axes, len(raw))]
            # the values the equation would substitute, the local formula's among them
            keys = _FILLED.findall(said)
            if "local" in keys:
                keys += _FILLED.findall(OPS[node.op].formulas_for(len(ins))[k])
            used = [values[key] for key in keys if key in values]
            if self.small(*used) and sum(np.ndim(v) > 0 for v in used) <= 2:
                # bracketed where the formula is (`(2·[0.22, 0.26]^(2 - 1))`), not a value
                grouped = self.m.group(formulas[k]) != formulas[k]
                local = f"({number_formulas[k]})" if grouped else number_formulas[k]
                filled = {**numbers, "local": local}
                text = self._fill(self._product(said, ndims, len(raw)), filled, scalar)
                text = self.m.summed(text, axes, len(raw))
                if text not in (terms[0], result):
                    terms.append(text)
            equation = Equation(self.d(inp), tuple(terms), result, sep)
            dims = broadcast = None
            if not scalar:
                template = self._product(self._dims_template(node, k, said), ndims, len(raw))
                dims = self._dims(node, inp, raw, template, f"{self.d(inp)} = {gradient}")
                if axes:
                    broadcast = self._broadcast(inp, raw, axes, gradient)
            send = Send(k, inp, equation, self.d(inp), symbol, formulas[k], "", dims, broadcast)
            sends.append(send)
        reason = TENSOR_REASONS.get(op.pattern, _tensor_rule)(self, node, ins, written)
        shown = self.m.show(node.op, names)
        heading = Phrase(
            GATE,
            {"gate": f"{self.name(node)} = {shown}", "op": node.op, "pattern": op.pattern.headline},
        )
        return Gate(node, op.pattern, tuple(sends), reason, heading, self.d(node))

    def _operand(self, value: Any, k: int) -> str:
        """A value substituted into a formula: a negative number bracketed, but first."""
        return self.m.num(value) if k == 0 else self.m.factor(value)

    def _dims(
        self, node: NodeResult, inp: NodeResult, raw: tuple[int, ...], template: str, gradient: str
    ) -> Phrase:
        """DIMS: the shapes whose product is the downstream gradient, and the check that
        it has its input's shape (after any broadcasting is undone)."""
        np = self.np
        shape_of = self.show_shape
        try:
            local = tuple(np.broadcast_shapes(self.shape(node.id), self.shape(inp.id)))
        except ValueError:
            local = self.shape(inp.id)
        shapes = {"g": shape_of(self.shape(node.id)), "out": shape_of(self.shape(node.id))}
        shapes |= {str(j): shape_of(self.shape(i)) for j, i in enumerate(node.inputs)}
        shapes["local"] = shape_of(local)
        dims = self._fill(template + " → " + shape_of(raw), shapes)
        values = {"gradient": gradient, "dims": dims, "node": self.name(inp)}
        if raw == self.shape(inp.id):
            return Phrase(DIMS, values)
        return Phrase(DIMS_SUMMED, {**values, "shape": shape_of(self.shape(inp.id))})

    def _broadcast(
        self, inp: NodeResult, raw: tuple[int, ...], axes: tuple[int, ...], gradient: str
    ) -> Phrase:
        """BROADCAST: which axes the input was broadcast over, its gradient summed back."""
        values = {
            "node": self.name(inp), "shape": self.show_shape(self.shape(inp.id)),
            "gradient": gradient,
        }  # fmt: skip
        count = 1
        for axis in axes:
            count *= raw[axis]
        if len(raw) == 2 and axes == (0,):
            return Phrase(BROADCAST["rows"], {**values, "rows": str(raw[0])})
        if len(raw) == 2 and axes == (1,):
            return Phrase(BROADCAST["columns"], {**values, "columns": str(raw[1])})
        if len(raw) == 2 and axes == (0, 1):
            sizes = {"rows": str(raw[0]), "columns": str(raw[1]), "elements": str(count)}
            return Phrase(BROADCAST["both"], {**values, **sizes})
        return Phrase(BROADCAST["elements"], {**values, "elements": str(count)})

    def sent(self, node: NodeResult, k: int) -> str:
        return self.m.num(self.sent_value(node, k))

    def sent_value(self, node: NodeResult, k: int) -> Any:
        edge = self.edges[node.id][k]
        return None if edge is None else self.plain(edge.sent)

    def plain(self, value: Any) -> Any:
        """A value as JSON holds it: a number, or nested lists."""
        return self.tensor.plain(value)

    def after_inputs(self) -> Mapping[str, Any]:
        return self._after()[0]

    # ---- update ---------------------------------------------------------------------------

    def _after(self) -> tuple[dict[str, Any], Any]:
        """The inputs and the output after one step of gradient descent."""
        update = self.tensors.update
        assert update is not None
        if update.trajectory:
            _, inputs, output = update.trajectory[1]
            return inputs, output
        return update.inputs, update.output

    @property
    def new_output(self) -> str:
        return self.m.num(self._after()[1])

    def moved(self) -> list[str]:
        """The inputs gradient descent moves (not one used only as an index)."""
        return self.tensor.moved_inputs(self.tensors.graph)

    def _update(self) -> list[Descent]:
        after = self.after_inputs()
        rows = []
        for name in self.moved():
            value = self.tensors.inputs[name]
            x = self.m.name(name)
            grad = self.tensors.gradients[name]
            terms = [f"{x} - {self.m.alpha_times}{self.m.d(self.df, x)}"]
            if self.small(value):
                terms.append(f"{self.m.num(value)} - {self.lr}{self.m.times}{self.m.factor(grad)}")
            equation = Equation(x, tuple(terms), self.m.num(after[name]), self.m.assign)
            rows.append(Descent(name, equation))
        return rows


def _summed(raw: tuple[int, ...], shape: tuple[int, ...]) -> tuple[int, ...]:
    """The axes of a gradient of shape `raw` that broadcasting added or stretched, which
    are summed to give the input's `shape` (tensor.unbroadcast)."""
    lead = len(raw) - len(shape)
    return tuple(
        axis
        for axis in range(len(raw))
        if axis < lead or (shape[axis - lead] == 1 and raw[axis] != 1)
    )


def walkthrough(result: Result | TensorResult, notation: Plain) -> Walkthrough:
    """The walkthrough of a run of numbers, or of vectors and matrices."""
    if getattr(result, "tensor", False):
        return TensorWalkthrough(result, notation)  # type: ignore[arg-type]
    return Walkthrough(result, notation)  # type: ignore[arg-type]


# ---- the reasons over vectors and matrices: the lecture's patterns carried over -------------
# Each is given the gate's downstream gradients as written (`∂f/∂q · xᵀ`), by input.

TensorReason = Callable[[TensorWalkthrough, NodeResult, list[NodeResult], dict[int, str]], str]


def _upstream(w: TensorWalkthrough, node: NodeResult) -> str:
    """The upstream gradient in a reason: its value where small, else its symbol."""
    return w.m.math(w.m.num(node.grad) if w.small(node.grad) else w.d(node))


def _tensor_distributor(
    w: TensorWalkthrough, node: NodeResult, ins: list[NodeResult], sent: dict[int, str]
) -> str:
    rule = OPS[node.op].tensor
    assert rule is not None
    upstream = _upstream(w, node)
    if rule.reason:  # sum, mean: an add gate over the elements of its input
        values = {"input": w.m.math(w.name(ins[0])), "upstream": upstream, "n": w.count(node)}
        return DISTRIBUTOR.tensor_reason(rule.reason, **values)
    if all(formula == "1" for formula in OPS[node.op].formulas):
        return DISTRIBUTOR.reason("unchanged", upstream=upstream)
    gets = _gets(w, node, ins, sent, DISTRIBUTOR, by_value=True)
    return DISTRIBUTOR.reason("signed", upstream=upstream, gets=gets)


def _gets(
    w: TensorWalkthrough,
    node: NodeResult,
    ins: list[NodeResult],
    sent: dict[int, str],
    pattern: Pattern,
    by_value: bool,
) -> str:
    """`x gets -1, y gets -∂f/∂q`: each input and what it is sent (`by_value`, its
    value where small; else as written), by the pattern's words."""
    items = []
    for k, gradient in sent.items():
        value = w.sent_value(node, k)
        text = w.m.math(w.sent(node, k) if by_value and w.small(value) else gradient)
        words = tr(pattern.tensor_reasons.get("gets") or pattern.reasons["gets"])
        items.append(words.format(input=w.m.math(w.name(ins[k])), sent=text, product=text))
    return LIST_JOIN.join(items)


def _tensor_swap(
    w: TensorWalkthrough, node: NodeResult, ins: list[NodeResult], sent: dict[int, str]
) -> str:
    """mul elementwise, matmul as matrices: each input gets the upstream gradient times
    the other input (for matmul transposed: the pattern's own words say why)."""
    pattern = OPS[node.op].pattern
    return pattern.tensor_reason("swap", gets=_gets(w, node, ins, sent, pattern, by_value=False))


def _tensor_router(
    w: TensorWalkthrough, node: NodeResult, ins: list[NodeResult], sent: dict[int, str]
) -> str:
    np = w.np
    rule = OPS[node.op].tensor
    assert rule is not None
    upstream = _upstream(w, node)
    value = w.m.math(w.m.num(node.value) if w.small(node.value) else w.name(node))
    source = w.m.math(w.name(ins[0]))
    if rule.reason:  # s[y]: one element picked
        element = w.m.math(f"{w.m.label(ins[0].id)}[{w.m.label(ins[1].id)}]")
        return ROUTER.tensor_reason(rule.reason, element=element, input=source, upstream=upstream)
    if len(ins) > 1:  # max(0, s): elementwise, each element's gradient to its winner
        shape = np.shape(node.value)
        wins = sum(np.broadcast_to(np.asarray(i.value) == node.value, shape) for i in ins)
        ties = ["".join(f"[{k}]" for k in at) for at in np.argwhere(wins > 1)]
        if not ties or not shape:
            return ROUTER.tensor_reason("elementwise", which=OPS[node.op].symbol, upstream=upstream)
        tie = w.result.conventions.max_tie
        key = "elementwise tie split" if tie == "split" else "elementwise tie first"
        return ROUTER.tensor_reason(key, which=OPS[node.op].symbol, at=LIST_JOIN.join(ties))
    won = [tuple(int(i) for i in at) for at in np.argwhere(np.asarray(ins[0].value) == node.value)]
    names = [w.m.math(w.m.label(ins[0].id) + "".join(f"[{i}]" for i in at)) for at in won]
    if len(won) == 1:
        return ROUTER.tensor_reason(
            "reduce", which=OPS[node.op].symbol, input=source, winner=names[0], value=value,
            upstream=upstream,
        )  # fmt: skip
    key = "reduce tie split" if w.result.conventions.max_tie == "split" else "reduce tie first"
    return ROUTER.tensor_reason(
        key, which=OPS[node.op].symbol, input=source, winners=LIST_JOIN.join(names),
        first=names[0], value=value, upstream=upstream,
    )  # fmt: skip


def _tensor_rule(
    w: TensorWalkthrough, node: NodeResult, ins: list[NodeResult], sent: dict[int, str]
) -> str:
    """A gate whose reason is its rule: said to hold element by element, where it does."""
    pattern = OPS[node.op].pattern
    if w.of_numbers(node) or "rule" not in pattern.tensor_reasons:
        return _rule_reason(w, node, ins)
    return _rule_reason(w, node, ins, pattern.tensor_reasons["rule"])


TENSOR_REASONS: dict[Pattern, TensorReason] = {
    DISTRIBUTOR: _tensor_distributor,
    SWAP: _tensor_swap,
    MATMUL: _tensor_swap,
    ROUTER: _tensor_router,
}
