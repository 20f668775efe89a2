"""The result of a run, and to_dict(): the one JSON shape every command reuses."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from itertools import repeat
from typing import Any, NamedTuple

from . import engine
from .engine import Step
from .graph import Graph
from .ops import OPS, Conventions
from .render.numbers import DEFAULT_PRECISION

SCHEMA_VERSION = 1


# ---- the node JSON shape, once ------------------------------------------------------------
# A node's JSON object has these fields, in this order; NodeResult.to_dict makes it
# and Result.json_chunks writes its text, both from this list. The fields in
# BY_GRAPH are the same at every evaluation of a graph: their text is written once
# per graph and kept. A use is written as an object of USE_FIELDS.
NODE_FIELDS = ("id", "name", "op", "inputs", "text", "value", "grad", "pattern", "local", "uses")
BY_GRAPH = frozenset({"id", "name", "op", "inputs", "text", "pattern"})
USE_FIELDS = ("node", "grad")


@dataclass(frozen=True, slots=True)
class NodeResult:
    """One node with its forward value and its gradient (None for constants).

    `local` holds d(node)/d(input) for each input (None where undefined);
    `uses` each use of this node as (consumer id, gradient sent back), whose
    sum is `grad`; `pattern` is the op's gradient-flow pattern. Not in the JSON:
    `kink` says whether the node sits where its op has no derivative and a
    convention decides (relu at 0, a max tie); `winners`, for a router (max,
    min), the positions of the inputs that won (more than one: a tie).
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
    kink: bool = False
    winners: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {name: _PLAIN.get(name, _same)(getattr(self, name)) for name in NODE_FIELDS}


def _same(value: Any) -> Any:
    return value


# How a field that is not a JSON value as it is held becomes one.
_PLAIN: dict[str, Callable[[Any], Any]] = {
    "inputs": list,
    "local": list,
    "uses": lambda uses: [dict(zip(USE_FIELDS, use, strict=True)) for use in uses],
}


class Flow(NamedTuple):
    """Every node's local derivatives, what each of its input edges sends back (aligned
    with its inputs), and its uses as (consumer id, what that use sends back)."""

    local: list[tuple[float | None, ...]]
    sends: list[tuple[float | None, ...]]
    uses: list[list[tuple[int, float | None]]]


@dataclass(frozen=True, slots=True)
class Update:
    """Gradient descent from the given inputs: where it ends and, if asked, the path."""

    lr: float
    steps: int
    inputs: dict[str, float]
    output: float
    trajectory: tuple[Step, ...] | None = None
    every: int = 1  # the trajectory keeps every k-th step (and step 1 and the last)

    def to_dict(self) -> dict[str, Any]:
        data = {"lr": self.lr, "steps": self.steps, "inputs": self.inputs, "output": self.output}
        if self.every > 1:
            data["trajectory_every"] = self.every
        return data


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
        local, _, uses = self._flow
        values, grads = self.values, self.grads
        nodes = []
        for i, (name, op, inputs, text) in enumerate(self.graph.facts()):
            rules = OPS[op]
            kink = False
            winners: tuple[int, ...] = ()
            if rules.kink is not None or rules.router is not None:
                args = tuple([values[j] for j in inputs])
                kink = rules.kink is not None and rules.kink(args, values[i])
                if rules.router is not None:  # max, min: the inputs equal to the node won
                    winners = tuple(k for k, arg in enumerate(args) if arg == values[i])
            nodes.append(
                NodeResult(
                    i,
                    name,
                    op,
                    inputs,
                    text,
                    values[i],
                    grads[i],
                    rules.pattern.name,
                    local[i],
                    tuple(uses[i]),
                    kink,
                    winners,
                )
            )
        return tuple(nodes)

    def sent(self, node_id: int, k: int) -> float | None:
        """The gradient that node `node_id`'s k-th input edge sends back to that input."""
        return self._flow.sends[node_id][k]

    def infinite(self, node_id: int, k: int) -> bool:
        """Whether node `node_id`'s local derivative along its k-th input edge is infinite
        (its JSON `local` is null; else it is undefined, or a number)."""
        return engine.infinite(self.graph, self.values, node_id, k, self.conventions)

    @cached_property
    def _flow(self) -> Flow:
        local = engine.local_gradients(self.graph, self.values, self.conventions)
        return Flow(local, *engine.flow(self.graph, self.values, self.grads, local))

    def json_chunks(
        self,
        nodes: bool = True,
        *,
        compact: bool = False,
        ascii: bool = False,
        extra: Mapping[str, Any] | None = None,
    ) -> Iterator[str]:
        """The text of `json.dumps(self.to_dict(nodes) | extra, allow_nan=False)`, piece by
        piece (`compact`: with separators "," and ":"; `ascii`: ensure_ascii), to the byte.

        Written node by node, so that a million-node answer never exists as one
        object, and reusing each graph's node text that does not change with the
        values (NODE_FIELDS' BY_GRAPH), so that a batch of one expression encodes fast.
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
            gaps = _graph_text(self.graph, item, key, ascii)
            columns: list[Iterable[str]] = [gaps[0]]
            for name, gap in zip(_BY_VALUES, gaps[1:], strict=True):
                columns += (self._texts(name, item, key, ascii), gap)
            for pieces in zip(*columns, strict=True):  # a node's, in NODE_FIELDS' order
                yield "".join(pieces)
            yield "]"
        if extra:
            data.update(extra)
        yield item + dumps(data)[1:]  # conventions, update, trajectory, and `extra`

    def _texts(self, name: str, item: str, key: str, ascii: bool) -> Iterator[str]:
        """The JSON text of field `name` (one that changes with the values) for every node."""
        if name == "value":
            return map(_number, self.values)
        if name == "grad":
            return map(_number, self.grads)
        if name == "local":
            return ("[" + item.join(map(_number, row)) + "]" for row in self._flow.local)
        assert name == "uses"
        node, grad = _use_keys(key, ascii)
        return (
            "[" + item.join(f"{{{node}{c}{item}{grad}{_number(g)}}}" for c, g in row) + "]"
            for row in self._flow.uses
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

    # ---- in a notebook, and the views by name (each imported when asked for) ----------------

    def __repr__(self) -> str:
        from .render.notebook import one_line

        return one_line(self)

    def __getitem__(self, name: str) -> NodeResult:
        """A node by name (an input, an assigned name or a node's label): its value, its
        gradient and the rest of its row."""
        node_id = self.graph.node_named(name) if isinstance(name, str) else None
        if node_id is None:
            raise KeyError(name)
        return self.nodes[node_id]

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from .render.notebook import bundle

        return bundle(self, include, exclude)

    def table(self, precision: int = DEFAULT_PRECISION, width: int = 80) -> str:
        """The table `bpcli grad` prints: a row per node, the answers, the update step."""
        from .render.notebook import Shown, text
        from .render.table import GradView

        return Shown(text(GradView(self, precision), width))

    def explain(self, precision: int = DEFAULT_PRECISION, width: int = 80) -> str:
        """The walkthrough `bpcli grad --explain` prints, as text `width` columns wide."""
        from .render.explain import ExplainView
        from .render.notebook import Shown, text

        return Shown(text(ExplainView(self, precision), width))

    def markdown(self, precision: int = DEFAULT_PRECISION) -> str:
        """The walkthrough in Markdown (`bpcli grad --format markdown`)."""
        from .render.notebook import MarkdownText
        from .render.writeup import to_markdown

        return MarkdownText(to_markdown(self, precision))

    def latex(self, precision: int = DEFAULT_PRECISION) -> str:
        """The walkthrough in LaTeX (`bpcli grad --format latex`)."""
        from .render.notebook import Shown
        from .render.writeup import to_latex

        return Shown(to_latex(self, precision))

    def dot(self, precision: int = DEFAULT_PRECISION) -> str:
        """The graph in Graphviz DOT (`bpcli graph --format dot`)."""
        from .render.dot import to_dot
        from .render.notebook import Shown

        return Shown(to_dot(self.graph, self, precision))

    def mermaid(self, precision: int = DEFAULT_PRECISION, fence: bool = False) -> str:
        """The graph in Mermaid (`bpcli graph --format mermaid`, `--fence`)."""
        from .render.mermaid import to_mermaid
        from .render.notebook import Shown

        return Shown(to_mermaid(self.graph, self, precision, fence=fence))

    def tree(self, precision: int = DEFAULT_PRECISION, width: int = 80) -> str:
        """The graph as a tree from the output (`bpcli graph --format tree`)."""
        from .render.notebook import Shown, text
        from .render.tree import to_tree

        return Shown(text(to_tree(self.graph, self, precision), width))

    def svg(self, precision: int = DEFAULT_PRECISION) -> str:
        """The graph with every value and gradient as SVG, laid out and drawn by bpcli."""
        from .render.notebook import SvgText, picture

        return SvgText(picture(self, precision))

    def page(self, precision: int = DEFAULT_PRECISION) -> str:
        """The step-through page (`bpcli graph --format html`), laid out by bpcli; in a
        notebook it shows itself, stepping, in a frame."""
        from .render.notebook import PageText
        from .render.page import to_html

        return PageText(to_html(self, precision))


def _number(value: float | None) -> str:
    """A number as json.dumps writes it: float.__repr__, or null; never NaN or Infinity."""
    if value is None:
        return "null"
    if value - value:
        raise ValueError(f"Out of range float values are not JSON compliant: {value!r}")
    return float.__repr__(value)


_BY_VALUES = tuple(name for name in NODE_FIELDS if name not in BY_GRAPH)


@functools.cache
def _use_keys(key: str, ascii: bool) -> tuple[str, ...]:
    """`"node": ` and `"grad": `, the keys of a use's object (USE_FIELDS) as text."""
    return tuple(json.dumps(field, ensure_ascii=ascii) + key for field in USE_FIELDS)


def _graph_text(graph: Graph, item: str, key: str, ascii: bool) -> list[list[str]]:
    """The node objects' text around the fields that change with the values: for each
    gap (before the first such field, between two, after the last) the text of every
    node there, as `{"id": 0, … "value": `, then `, "grad": `, …, then `]}`. Each node
    but the first starts with `item`. Made once per graph and format, and kept."""
    made: list[list[str]] | None = graph.derived.get(("json", item, key, ascii))
    if made is not None:
        return made

    def dumps(value: object) -> str:
        return json.dumps(value, ensure_ascii=ascii, separators=(item, key))

    facts = graph.facts()
    op_text = {op: dumps(op) for op in OPS}
    pattern_text = {op: dumps(rules.pattern.name) for op, rules in OPS.items()}
    # Each field the graph fixes, as text, node by node (column by column: fast).
    texts: dict[str, Iterator[str]] = {
        "id": map(str, range(len(facts))),  # an int's JSON text
        "name": (dumps(name) for name, _, _, _ in facts),
        "op": (op_text[op] for _, op, _, _ in facts),
        "inputs": (dumps(list(inputs)) for _, _, inputs, _ in facts),
        "text": (dumps(text) for _, _, _, text in facts),
        "pattern": (pattern_text[op] for _, op, _, _ in facts),
    }
    assert texts.keys() == BY_GRAPH
    gaps: list[list[str | Iterator[str]]] = [[item + "{"]]
    for n, field in enumerate(NODE_FIELDS):
        gaps[-1].append(("" if n == 0 else item) + dumps(field) + key)
        if field in BY_GRAPH:
            gaps[-1].append(texts[field])
        else:
            gaps.append([])
    gaps[-1].append("}")
    made = []
    for gap in gaps:
        if all(isinstance(piece, str) for piece in gap):  # the same for every node
            made.append(["".join(gap)] * len(facts))  # type: ignore[arg-type]
        else:
            pieces = [repeat(piece) if isinstance(piece, str) else piece for piece in gap]
            made.append(list(map("".join, zip(*pieces, strict=False))))  # repeat() is endless
    if facts:
        made[0][0] = made[0][0][len(item) :]  # the first node follows the `[`
    graph.derived[("json", item, key, ascii)] = made
    return made
