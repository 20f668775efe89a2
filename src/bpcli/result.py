"""The result of a run, and to_dict(): the one JSON shape every command reuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
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
        local, uses = self._flow
        values, grads = self.values, self.grads
        return tuple(
            NodeResult(
                i,
                name,
                op,
                inputs,
                text,
                values[i],
                grads[i],
                OPS[op].pattern.name,
                local[i],
                tuple(uses[i]),
            )
            for i, (name, op, inputs, text) in enumerate(self.graph.facts())
        )

    def sent(self, node_id: int, k: int) -> float | None:
        """The gradient that node `node_id`'s k-th input edge sends back to that input."""
        inputs = self.graph.inputs(node_id)
        source = inputs[k]
        seen = inputs[:k].count(source)  # earlier edges from the same input
        mine = [grad for consumer, grad in self._flow[1][source] if consumer == node_id]
        return mine[seen]

    @cached_property
    def _flow(self) -> tuple[list[tuple[float | None, ...]], list[list[tuple[int, float | None]]]]:
        """Every node's local derivatives and what each of its uses sends back."""
        local = engine.local_gradients(self.graph, self.values, self.conventions)
        return local, engine.uses(self.graph, self.grads, local)

    def json_chunks(
        self, nodes: bool = True, *, compact: bool = False, ascii: bool = False
    ) -> Iterator[str]:
        """The text of `json.dumps(self.to_dict(nodes), allow_nan=False)`, piece by piece
        (`compact`: with separators "," and ":"; `ascii`: ensure_ascii), to the byte.

        Written node by node, so that a million-node answer never exists as one
        object, and reusing each graph's node text that does not change with the
        values, so that a batch of one expression encodes fast.
        """
        item, key = (",", ":") if compact else (", ", ": ")

        def dumps(value: Any) -> str:
            return json.dumps(value, ensure_ascii=ascii, allow_nan=False, separators=(item, key))

        data = self.to_dict(nodes=False)
        head = {k: data.pop(k) for k in ("schema_version", "output", "inputs", "gradients")}
        if nodes:
            head = {"schema_version": SCHEMA_VERSION, "expression": self.expression, **head}
        yield dumps(head)[:-1]
        if nodes:
            yield f'{item}"nodes"{key}['
            local, uses = self._flow
            values, grads = self.values, self.grads
            for i, prefix in enumerate(self.graph.json_prefixes(item, key, ascii)):
                yield (
                    ("" if i == 0 else item)
                    + prefix[0]
                    + _number(values[i])
                    + prefix[1]
                    + _number(grads[i])
                    + prefix[2]
                    + item.join(_number(g) for g in local[i])
                    + f']{item}"uses"{key}['
                    + item.join(
                        f'{{"node"{key}{c}{item}"grad"{key}{_number(g)}}}' for c, g in uses[i]
                    )
                    + "]}"
                )
            yield "]"
        yield item + dumps(data)[1:]  # conventions, update, trajectory

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


def _number(value: float | None) -> str:
    """A number as json.dumps writes it: float.__repr__, or null; never NaN or Infinity."""
    if value is None:
        return "null"
    if value - value:
        raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
    return float.__repr__(value)
