"""Forward and backward passes as two loops over the graph, and the update step.

All maths comes from the op table; nothing here knows an op by name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from .errors import DomainError
from .graph import Graph, Node
from .ops import OPS, Conventions, Partial, Undefined


def _domain_error(graph: Graph, node: Node, message: str) -> DomainError:
    return DomainError(f"{message}, in `{graph.text(node)}`", span=node.span, source=graph.source)


def forward(graph: Graph, inputs: Mapping[str, float]) -> list[float]:
    """Every node's value, in topological order. `inputs` holds every variable."""
    values: list[float] = [0.0] * len(graph.nodes)
    for node in graph.nodes:
        if not node.inputs:
            values[node.id] = node.value if node.value is not None else inputs[node.name]
            continue
        rule = OPS[node.op].forward
        assert rule is not None
        try:
            value = rule(*[values[i] for i in node.inputs])
        except Undefined as exc:
            raise _domain_error(graph, node, str(exc)) from None
        except OverflowError:
            value = math.inf
        if not math.isfinite(value):
            raise _domain_error(graph, node, f"{node.op} overflows: the value is too large")
        values[node.id] = value
    return values


def backward(
    graph: Graph, values: list[float], conventions: Conventions = Conventions()
) -> list[float | None]:
    """d(output)/d(node) for every node; None for constants, which are not differentiated.

    Seeds the output with 1 and walks the nodes in reverse topological order,
    adding each use's contribution (+=): a node used twice sums both, the copy
    gate. A gate whose upstream gradient is exactly 0 sends 0 to its inputs
    without evaluating its local derivatives.
    """
    nodes = graph.nodes
    grads: list[float | None] = [0.0 if OPS[node.op].differentiable else None for node in nodes]
    grads[graph.output] = 1.0
    partials: dict[tuple[str, int], tuple[Partial, ...]] = {}
    for node in reversed(nodes):
        upstream = grads[node.id]
        if upstream is None:
            continue
        if not math.isfinite(upstream):
            raise _domain_error(graph, node, f"the gradient at {node.name} overflows")
        if not node.inputs or upstream == 0.0:
            continue
        key = (node.op, len(node.inputs))
        if key not in partials:
            partials[key] = OPS[node.op].partials_for(len(node.inputs), conventions)
        rules = partials[key]
        assert len(rules) == len(node.inputs), f"{node.op}: one partial per input"
        args = tuple(values[i] for i in node.inputs)
        out = values[node.id]
        for i, rule in zip(node.inputs, rules, strict=True):
            grad = grads[i]
            if grad is None:
                continue
            try:
                local = rule(args, out)
            except Undefined as exc:
                raise _domain_error(graph, node, str(exc)) from None
            except OverflowError:
                local = math.inf
            grads[i] = grad + upstream * local
    return grads


def local_gradients(
    graph: Graph, values: list[float], conventions: Conventions = Conventions()
) -> list[tuple[float | None, ...]]:
    """Every node's local derivatives d(node)/d(input), one per input; None where undefined.

    The backward pass needs only some of these; explanations show them all.
    """
    result: list[tuple[float | None, ...]] = []
    for node in graph.nodes:
        if not node.inputs:
            result.append(())
            continue
        args = tuple(values[i] for i in node.inputs)
        out = values[node.id]
        row: list[float | None] = []
        for rule in OPS[node.op].partials_for(len(node.inputs), conventions):
            try:
                local: float | None = rule(args, out)
            except (Undefined, OverflowError):
                local = None
            row.append(local)
        result.append(tuple(row))
    return result


def uses(
    graph: Graph, grads: list[float | None], local: list[tuple[float | None, ...]]
) -> list[list[tuple[int, float | None]]]:
    """For every node, each use as (consumer id, the gradient that use sends back).

    A node's gradient is the sum of what its uses send back (the copy gate);
    the output's is the seed, 1. A use by a consumer whose gradient is 0 sends
    0, as in the backward pass; a constant gets None.
    """
    result: list[list[tuple[int, float | None]]] = [[] for _ in graph.nodes]
    for node in graph.nodes:
        upstream = grads[node.id]
        for i, local_grad in zip(node.inputs, local[node.id], strict=True):
            sent: float | None
            if grads[i] is None or upstream is None:
                sent = None
            elif upstream == 0.0:
                sent = 0.0
            else:
                assert local_grad is not None, "the backward pass refused this edge"
                sent = upstream * local_grad
            result[i].append((node.id, sent))
    return result


@dataclass(frozen=True, slots=True)
class Step:
    """One point of a gradient-descent trajectory: the inputs and the output there."""

    step: int
    inputs: dict[str, float]
    output: float


def descend(
    graph: Graph,
    values: list[float],
    grads: list[float | None],
    lr: float,
    steps: int,
    conventions: Conventions = Conventions(),
) -> list[Step]:
    """Gradient descent, x := x - lr * df/dx for every input, from a point whose
    forward `values` and `grads` are known: the points of steps 0 to `steps`."""
    trajectory: list[Step] = []
    for step in range(steps + 1):
        point = {name: values[node_id] for name, node_id in graph.variables.items()}
        trajectory.append(Step(step, point, values[graph.output]))
        if step == steps:
            break
        try:
            if step > 0:
                grads = backward(graph, values, conventions)
            moved = {}
            for name, node_id in graph.variables.items():
                grad = grads[node_id]
                assert grad is not None
                new = point[name] - lr * grad
                if not math.isfinite(new):
                    raise DomainError(
                        f"the update of {name} overflows (is the learning rate too large?)"
                    )
                moved[name] = new
            values = forward(graph, moved)
        except DomainError as exc:
            raise _at_step(exc, step + 1) from None
    return trajectory


def _at_step(exc: DomainError, step: int) -> DomainError:
    return DomainError(
        f"at step {step} of gradient descent: {exc.message}", span=exc.span, source=exc.source
    )
