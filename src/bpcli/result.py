"""The result of a run, and to_dict(): the one JSON shape every command reuses."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from . import engine
from .engine import Step
from .graph import Graph
from .ops import OPS, Conventions

SCHEMA_VERSION = 1


@dataclass(frozen=True, slots=True)
class NodeResult:
    """One node with its forward value and its gradient (None for constants).

    `local` holds d(node)/d(input) for each input (None where undefined);
    `uses` each use of this node as (consumer id, gradient sent back), whose
    sum is `grad`; `pattern` is the op's gradient-flow pattern.
    """

    id: int
    name: str
    op: str
    inputs: tuple[int, ...]
    text: str
    value: float
    grad: float | None
    pattern: str
    local: tuple[float | None, ...]
    uses: tuple[tuple[int, float | None], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "op": self.op,
            "inputs": list(self.inputs),
            "text": self.text,
            "value": self.value,
            "grad": self.grad,
            "pattern": self.pattern,
            "local": list(self.local),
            "uses": [{"node": node, "grad": grad} for node, grad in self.uses],
        }


@dataclass(frozen=True, slots=True)
class Update:
    """Gradient descent from the given inputs: where it ends and, if asked, the path."""

    lr: float
    steps: int
    inputs: dict[str, float]
    output: float
    trajectory: tuple[Step, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"lr": self.lr, "steps": self.steps, "inputs": self.inputs, "output": self.output}


class Result:
    """A finished forward and backward pass over a graph at given inputs."""

    def __init__(
        self,
        graph: Graph,
        inputs: dict[str, float],
        values: list[float],
        grads: list[float | None],
        conventions: Conventions,
        update: Update | None = None,
    ) -> None:
        self.graph = graph
        self.inputs = inputs
        self.values = values
        self.grads = grads
        self.conventions = conventions
        self.update = update

    @property
    def expression(self) -> str:
        return self.graph.source

    @property
    def output_name(self) -> str:
        return self.graph.name(self.graph.output)

    @property
    def output(self) -> float:
        return self.values[self.graph.output]

    @cached_property
    def gradients(self) -> dict[str, float]:
        """d(output)/d(input) for every input variable, in order of first appearance."""
        grads = {}
        for name, node_id in self.graph.variables.items():
            grad = self.grads[node_id]
            assert grad is not None
            grads[name] = grad
        return grads

    @cached_property
    def nodes(self) -> tuple[NodeResult, ...]:
        graph = self.graph
        local = engine.local_gradients(graph, self.values, self.conventions)
        uses = engine.uses(graph, self.grads, local)
        return tuple(
            NodeResult(
                i,
                graph.name(i),
                graph.op(i),
                graph.inputs(i),
                graph.text(i),
                self.values[i],
                self.grads[i],
                OPS[graph.op(i)].pattern,
                local[i],
                tuple(uses[i]),
            )
            for i in range(len(graph))
        )

    def to_dict(self, nodes: bool = True) -> dict[str, Any]:
        """The `--json` object (schema_version 1). Without `nodes`, no per-node list and
        no echo of the expression, so that a huge graph's answer stays small."""
        data: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        if nodes:
            data["expression"] = self.expression
        data["output"] = {"name": self.output_name, "value": self.output}
        data["inputs"] = dict(self.inputs)
        data["gradients"] = dict(self.gradients)
        if nodes:
            data["nodes"] = [node.to_dict() for node in self.nodes]
        data["conventions"] = self.conventions.to_dict()
        if self.update is not None:
            data["update"] = self.update.to_dict()
            if self.update.trajectory is not None:
                data["trajectory"] = [
                    {"step": s.step, "inputs": s.inputs, "output": s.output}
                    for s in self.update.trajectory
                ]
        return data
