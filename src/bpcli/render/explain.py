"""`bpcli grad --explain`: the forward and backward passes worked step by step, gate by gate.

Formulas come from the op table (`Op.show`, `Op.formulas_for`), numbers from the
Result; this module only lays them out, in the lecture's words.
"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..ops import OPS
from ..result import NodeResult, Result
from .numbers import DEFAULT_PRECISION, fmt
from .picture import label

VALUE = "green"
GRAD = "red"
PATTERN = "bold cyan"

# The lecture's names for the patterns: "add gate: gradient distributor", …
HEADLINES = {"distributor": "gradient distributor", "router": "gradient router"}


class ExplainView:
    """The walkthrough: forward pass, backward pass, and the update step."""

    def __init__(self, result: Result, precision: int = DEFAULT_PRECISION) -> None:
        self.result = result
        self.precision = precision
        self.f = result.output_name
        self.nodes = result.nodes

    def n(self, value: float | None) -> str:
        return fmt(value, self.precision) if value is not None else "undefined"

    def label(self, node: NodeResult) -> str:
        """How a node is written in a formula: its name, or a constant's number."""
        return label(self.result.graph, self.result.graph.nodes[node.id])

    def d(self, node: NodeResult) -> str:
        return f"∂{self.f}/∂{node.name}"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield Panel(self.forward(), title="1. forward pass", title_align="left")
        yield Panel(self.backward(), title="2. backward pass", title_align="left")
        if self.result.update is not None:
            yield Panel(self.update(), title="3. update step", title_align="left")

    # ---- forward ------------------------------------------------------------------

    def forward(self) -> RenderableType:
        inputs = [
            f"{escape(name)} = [{VALUE}]{self.n(value)}[/]"
            for name, value in self.result.inputs.items()
        ]
        parts: list[RenderableType] = []
        if inputs:
            parts.append(Text.from_markup("inputs: " + ", ".join(inputs)))
        rows = _Equations()
        for node in self.nodes:
            if not node.inputs:
                continue
            ins = [self.nodes[i] for i in node.inputs]
            op = OPS[node.op]
            rows.add(
                node.name,
                [op.show([self.label(i) for i in ins]), op.show([self.n(i.value) for i in ins])],
                f"[{VALUE}]{self.n(node.value)}[/]",
            )
        if rows:
            parts.append(rows.table)
        parts.append(
            Text.from_markup(f"output: {escape(self.f)} = [{VALUE}]{self.n(self.result.output)}[/]")
        )
        return Group(*parts)

    # ---- backward -----------------------------------------------------------------

    def backward(self) -> RenderableType:
        f = escape(self.f)
        parts: list[RenderableType] = [
            Text.from_markup(
                f"∂{f}/∂{f} = [{GRAD}]1[/]  (the output: the backward pass starts here)"
            )
        ]
        for node in reversed(self.nodes):
            if node.grad is not None and len(node.uses) > 1:
                parts.append(self.copy_gate(node))
            if node.inputs and any(self.nodes[i].grad is not None for i in node.inputs):
                parts.append(self.gate(node))
        return Group(*parts)

    def gate(self, node: NodeResult) -> RenderableType:
        op = OPS[node.op]
        ins = [self.nodes[i] for i in node.inputs]
        formulas = op.formulas_for(len(ins))
        names = [self.label(i) for i in ins]
        headline = HEADLINES.get(op.pattern, op.pattern)
        head = Text.from_markup(
            f"\n{escape(node.name)} = {escape(op.show(names))}: "
            f"{op.name} gate, [{PATTERN}]{escape(headline)}[/]"
        )
        rows = _Equations()
        upstream = self.n(node.grad)
        for k, (inp, formula, local) in enumerate(zip(ins, formulas, node.local, strict=True)):
            if inp.grad is None:
                continue
            formula = formula.format(*names, out=node.name)
            steps = [f"{self.d(node)} · ∂{node.name}/∂{inp.name}"]
            if formula != self.n(local):
                steps.append(f"{upstream} · {_group(formula)}")
            steps.append(f"{upstream} · {self.n(local)}")
            many = len(inp.uses) > 1
            rows.add(
                self.d(inp),
                steps,
                f"[{GRAD}]{self.n(self.sent(node, k))}[/]",
                sep="+=" if many else "=",
            )
        reason = REASONS.get(op.pattern, _rule)(self, node, ins)
        return Group(head, Padding(rows.table, (0, 0, 0, 2)), _reason(reason))

    def sent(self, node: NodeResult, k: int) -> float | None:
        """The gradient that node's k-th input edge sends back."""
        return self.result.sent(node.id, k)

    def copy_gate(self, node: NodeResult) -> RenderableType:
        sends = _sum([self.n(grad) for _, grad in node.uses])
        head = Text.from_markup(
            f"\n{escape(node.name)}: copy gate, [{PATTERN}]gradient adder[/]"
            f" (used {len(node.uses)} times)"
        )
        rows = _Equations()
        rows.add(self.d(node), [sends], f"[{GRAD}]{self.n(node.grad)}[/]")
        reason = _reason("the gradients that flow back along its uses add up")
        return Group(head, Padding(rows.table, (0, 0, 0, 2)), reason)

    # ---- update ---------------------------------------------------------------------

    def update(self) -> RenderableType:
        update = self.result.update
        assert update is not None
        after = update.trajectory[1].inputs if update.trajectory else update.inputs
        alpha = self.n(update.lr)
        rows = _Equations()
        for name, value in self.result.inputs.items():
            grad = self.result.gradients[name]
            rows.add(
                name,
                [
                    f"{name} - α·∂{self.f}/∂{name}",
                    f"{self.n(value)} - {alpha} × {_paren(self.n(grad))}",
                ],
                f"[{VALUE}]{self.n(after[name])}[/]",
                sep=":=",
            )
        output = update.trajectory[1].output if update.trajectory else update.output
        lines: list[RenderableType] = [
            Text(f"α = {alpha}: each input takes a step against its gradient"),
            rows.table,
            Text.from_markup(f"after the update: {escape(self.f)} = [{VALUE}]{self.n(output)}[/]"),
        ]
        if update.trajectory and update.steps > 1:
            lines.append(
                Text.from_markup(
                    f"after {update.steps} steps: {escape(self.f)} ="
                    f" [{VALUE}]{self.n(update.output)}[/]"
                )
            )
        return Group(*lines)


class _Equations:
    """Rows `lhs = a = b = result`: the first `=` aligned, the results right-aligned."""

    def __init__(self) -> None:
        self.table = Table.grid(padding=(0, 1))
        self.table.add_column(no_wrap=True)
        self.table.add_column(no_wrap=True)
        self.table.add_column()
        self.table.add_column(no_wrap=True)
        self.table.add_column(justify="right", no_wrap=True)

    def add(self, lhs: str, steps: list[str], result: str, sep: str = "=") -> None:
        """`lhs sep steps[0] = steps[1] … = result`; `result` is markup, the rest plain text."""
        self.table.add_row(
            Text(lhs), Text(sep), Text(" = ".join(steps)), Text("="), Text.from_markup(result)
        )

    def __len__(self) -> int:
        return self.table.row_count


def _reason(text: str) -> RenderableType:
    return Padding(Text(text, style="dim"), (0, 0, 0, 2))


def _group(formula: str) -> str:
    """A formula as a factor: `1 - t²` becomes `(1 - t²)`; a name or number stays as it is."""
    return f"({formula})" if " " in formula else formula


def _sum(terms: list[str]) -> str:
    """`3 + -1 + 2` written as `3 - 1 + 2`."""
    text = terms[0]
    for term in terms[1:]:
        text += f" - {term[1:]}" if term.startswith("-") else f" + {term}"
    return text


def _paren(number: str) -> str:
    return f"({number})" if number.startswith("-") else number


# ---- the reasons, one per pattern, tied to the numbers ----------------------------------

Reason = Callable[[ExplainView, NodeResult, list[NodeResult]], str]


def _distributor(view: ExplainView, node: NodeResult, ins: list[NodeResult]) -> str:
    g = view.n(node.grad)
    if all(local == 1.0 for local in node.local):
        return f"gradient distributor: every input gets the upstream gradient {g} unchanged"
    gets = ", ".join(
        f"{i.name} gets {view.n(view.sent(node, k))}"
        for k, i in enumerate(ins)
        if i.grad is not None
    )
    return (
        f"gradient distributor with a sign: each input gets the upstream gradient {g}"
        f" times its sign: {gets}"
    )


def _swap(view: ExplainView, node: NodeResult, ins: list[NodeResult]) -> str:
    g = view.n(node.grad)
    gets = [
        f"{inp.name}: {g} × {_paren(view.n(ins[1 - k].value))}"
        for k, inp in enumerate(ins)
        if inp.grad is not None
    ]
    return (
        "swap multiplier: each input gets the upstream gradient times the other input's value"
        f" ({', '.join(gets)})"
    )


def _router(view: ExplainView, node: NodeResult, ins: list[NodeResult]) -> str:
    g = view.n(node.grad)
    winners = [i for i in ins if i.value == node.value]
    which = OPS[node.op].symbol
    if len(winners) == 1:
        return (
            f"gradient router: {view.label(winners[0])} is the {which} ({view.n(node.value)}) "
            f"and gets the whole gradient {g}; the others get 0"
        )
    names = ", ".join(view.label(w) for w in winners)
    tie = view.result.conventions.max_tie
    rule = (
        "split evenly among them (--max-tie first sends it all to the first)"
        if tie == "split"
        else "sent to the first of them (--max-tie first)"
    )
    return f"gradient router: {names} tie at {view.n(node.value)}; the gradient {g} is {rule}"


def _rule(view: ExplainView, node: NodeResult, ins: list[NodeResult]) -> str:
    op = OPS[node.op]
    names = [view.label(i) for i in ins]
    rules = [
        f"∂{node.name}/∂{i.name} = {formula.format(*names, out=node.name)}"
        for i, formula in zip(ins, op.formulas_for(len(ins)), strict=True)
        if i.grad is not None
    ]
    return f"{op.pattern}: the local gradient is {'; '.join(rules)}"


REASONS: dict[str, Reason] = {
    "distributor": _distributor,
    "swap multiplier": _swap,
    "router": _router,
}
