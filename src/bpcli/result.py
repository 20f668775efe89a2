"""The result of a run, and to_dict(): the one JSON shape every command reuses."""

from __future__ import annotations

import functools
import itertools
import json
import operator
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from itertools import repeat
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from . import engine
from .engine import Step
from .graph import Graph
from .ops import OPS, Conventions
from .render.numbers import DEFAULT_PRECISION

if TYPE_CHECKING:
    from .tensor import TensorResult

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


class Named:
    """What every finished pass says of its graph: the expression and the output's name
    (a Result over numbers, a TensorResult over vectors and matrices)."""

    graph: Graph

    @property
    def expression(self) -> str:
        return self.graph.source

    @property
    def output_name(self) -> str:
        return self.graph.name(self.graph.output)

    # ---- the views by name, for numbers and tensors alike (each imported when asked) ------

    def _run(self) -> Result | TensorResult:
        return cast("Result | TensorResult", self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        from .render.notebook import bundle

        return bundle(self._run(), include, exclude)

    def explain(self, precision: int = DEFAULT_PRECISION, width: int = 80) -> str:
        """The walkthrough `bpcli grad --explain` prints, as text `width` columns wide."""
        from .process import plain_text
        from .render.explain import ExplainView
        from .render.notebook import Shown

        return Shown(plain_text(ExplainView(self._run(), precision), width))

    def markdown(self, precision: int = DEFAULT_PRECISION) -> str:
        """The walkthrough in Markdown (`bpcli grad --format markdown`)."""
        from .render.notebook import MarkdownText
        from .render.writeup import to_markdown

        return MarkdownText(to_markdown(self._run(), precision))

    def latex(self, precision: int = DEFAULT_PRECISION) -> str:
        """The walkthrough in LaTeX (`bpcli grad --format latex`)."""
        from .render.notebook import Shown
        from .render.writeup import to_latex

        return Shown(to_latex(self._run(), precision))

    def dot(self, precision: int = DEFAULT_PRECISION) -> str:
        """The graph in Graphviz DOT (`bpcli graph --format dot`)."""
        from .render.dot import to_dot
        from .render.notebook import Shown

        return Shown(to_dot(self.graph, self._run(), precision))

    def mermaid(self, precision: int = DEFAULT_PRECISION, fence: bool = False) -> str:
        """The graph in Mermaid (`bpcli graph --format mermaid`, `--fence`)."""
        from .render.mermaid import to_mermaid
        from .render.notebook import Shown

        return Shown(to_mermaid(self.graph, self._run(), precision, fence=fence))

    def tree(self, precision: int = DEFAULT_PRECISION, width: int = 80) -> str:
        """The graph as a tree from the output (`bpcli graph --format tree`)."""
        from .process import plain_text
        from .render.notebook import Shown
        from .render.tree import to_tree

        return Shown(plain_text(to_tree(self.graph, self._run(), precision), width))

    def svg(self, precision: int = DEFAULT_PRECISION) -> str:
        """The graph with every value and gradient as SVG, laid out and drawn by bpcli."""
        from .render.notebook import SvgText, picture

        return SvgText(picture(self._run(), precision))

    def page(self, precision: int = DEFAULT_PRECISION) -> str:
        """The step-through page (`bpcli graph --format html`), laid out by bpcli; in a
        notebook it shows itself, stepping, in a frame."""
        from .render.notebook import PageText
        from .render.page import to_html

        return PageText(to_html(self._run(), precision))


class Result(Named):
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
        piece (`compact`: with separators "," and ":"; `ascii`: ensure_ascii), to the byte:
        the head, then with `nodes` `"nodes": [`, one piece a node and `]`, then the tail.

        Written node by node, so that a million-node answer never exists as one
        object; a graph of at most KEEP_TEXT nodes keeps its node text that does not
        change with the values (NODE_FIELDS' BY_GRAPH), so that a batch of one
        expression encodes fast, and a larger one makes it node by node as it goes.
        """
        form = _Form.of(compact, ascii)
        yield self._head_text(form, nodes)
        if nodes:
            yield f'{form.item}"nodes"{form.key}['
            yield from self._node_texts(form)
            yield "]"
        yield self._tail_text(form, extra)

    def json_text(self, *, compact: bool = False, ascii: bool = False) -> str:
        """`"".join(self.json_chunks(compact=compact, ascii=ascii))`, made faster in one piece."""
        form = _Form.of(compact, ascii)
        head = self._head_text(form, True)
        if len(self.graph) <= KEEP_TEXT:
            nodes = self._nodes_text(form)
        else:
            nodes = "".join(self._node_texts(form))
        return f'{head}{form.item}"nodes"{form.key}[{nodes}]{self._tail_text(form, None)}'

    def _nodes_text(self, form: _Form) -> str:
        """Every node's JSON object as one text, from the graph's template of them (the
        numbers as json.dumps writes a list of them, put in place by `%`)."""
        template, order = _nodes_template(self.graph, form, self._flow.uses)
        local, uses = self._flow.local, self._flow.uses
        numbers = [*self.values, *self.grads, *itertools.chain.from_iterable(local)]
        numbers += [g for row in uses for _, g in row]
        text = _NUMBERS.encode(order(numbers))
        return template % tuple(text[1:-1].split(","))

    def _head_text(self, form: _Form, nodes: bool) -> str:
        """`{"schema_version": 1, …, "gradients": {…}`: the object up to its node list."""
        return form.dumps(self._head(nodes))[:-1]

    def _tail_text(self, form: _Form, extra: Mapping[str, Any] | None) -> str:
        """`, "conventions": {…}, "update": …, "trajectory": […]}` and `extra`'s fields."""
        tail = self._tail()
        if extra:
            tail.update(extra)
        return form.item + form.dumps(tail)[1:]

    def _node_texts(self, form: _Form) -> Iterator[str]:
        """Each node's JSON object as text, in order (all but the first led by `item`)."""
        columns: list[Iterable[str]] = []
        for gap, name in zip(_graph_text(self.graph, form), (*_BY_VALUES, None), strict=True):
            columns.append(gap)
            if name is not None:
                columns.append(self._texts(name, form))
        return map("".join, zip(*columns, strict=True))  # a node's, in NODE_FIELDS' order

    def _texts(self, name: str, form: _Form) -> Iterator[str]:
        """The JSON text of field `name` (one that changes with the values) for every node."""
        if name == "value":
            return _number_texts(self.values)
        if name == "grad":
            return _number_texts(self.grads)
        if name == "local":
            local = self._flow.local
            return _lists(local, _number_texts(list(itertools.chain.from_iterable(local))), form)
        assert name == "uses"
        uses = self._flow.uses
        return _uses(uses, _number_texts([g for row in uses for _, g in row]), form)

    def to_dict(self, nodes: bool = True) -> dict[str, Any]:
        """The `--json` object (schema_version 1). Without `nodes`, no per-node list and
        no echo of the expression, so that a huge graph's answer stays small."""
        data = self._head(nodes)
        if nodes:
            data["nodes"] = [node.to_dict() for node in self.nodes]
        return data | self._tail()

    def _head(self, nodes: bool) -> dict[str, Any]:
        """The `--json` object's fields before its nodes."""
        data: dict[str, Any] = {"schema_version": SCHEMA_VERSION}
        if nodes:
            data["expression"] = self.expression
        data["output"] = {"name": self.output_name, "value": self.output}
        data["inputs"] = dict(self.inputs)
        data["gradients"] = dict(self.gradients)
        return data

    def _tail(self) -> dict[str, Any]:
        """The `--json` object's fields after its nodes."""
        data: dict[str, Any] = {"conventions": self.conventions.to_dict()}
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

    def table(self, precision: int = DEFAULT_PRECISION, width: int = 80) -> str:
        """The table `bpcli grad` prints: a row per node, the answers, the update step."""
        from .process import plain_text
        from .render.notebook import Shown
        from .render.table import GradView

        return Shown(plain_text(GradView(self, precision), width))


_BY_VALUES = tuple(name for name in NODE_FIELDS if name not in BY_GRAPH)
_NUMBERS = json.JSONEncoder(allow_nan=False, separators=(",", ":"))  # a list of numbers
NUMBERS_AT_ONCE = 4096


def _lists(rows: Iterable[Sequence[Any]], texts: Iterator[str], form: _Form) -> Iterator[str]:
    """Each row as a JSON list of the next of `texts`, one a member."""
    item = form.item
    for row in rows:
        if len(row) == 1:
            yield f"[{next(texts)}]"
        else:
            yield "[" + item.join([next(texts) for _ in row]) + "]"


def _uses(
    rows: Iterable[Sequence[tuple[int, Any]]], texts: Iterator[str], form: _Form
) -> Iterator[str]:
    """Each node's uses as a JSON list of {"node": c, "grad": the next of `texts`}."""
    item, (node, grad) = form.item, form.use_keys
    for row in rows:
        if len(row) == 1:
            yield f"[{{{node}{row[0][0]}{item}{grad}{next(texts)}}}]"
        else:
            yield "[" + item.join([f"{{{node}{c}{item}{grad}{next(texts)}}}" for c, _ in row]) + "]"


def _number_texts(numbers: list[Any]) -> Iterator[str]:
    """Each number's JSON text (null for None; never NaN or Infinity), as json.dumps
    writes them: a few thousand at a time, as one list."""
    for start in range(0, len(numbers), NUMBERS_AT_ONCE):
        yield from _NUMBERS.encode(numbers[start : start + NUMBERS_AT_ONCE])[1:-1].split(",")


def _nodes_template(
    graph: Graph, form: _Form, uses: list[list[tuple[int, float | None]]]
) -> tuple[str, Callable[[list[Any]], tuple[Any, ...]]]:
    """The text of every node's object with `%s` for each number that changes with the
    values, and what picks those numbers, in that order, from the list of the values,
    the gradients, the local derivatives and what each use sends back (each in node
    order). The uses' consumers are the graph's: the same at every evaluation."""
    kept = ("json-template", form.item, form.key, form.ascii)
    made: tuple[str, Callable[[list[Any]], tuple[Any, ...]]] | None = graph.derived.get(kept)
    if made is not None:
        return made
    item, (node_key, grad_key) = form.item, form.use_keys
    gaps = [[text.replace("%", "%%") for text in column] for column in _graph_text(graph, form)]
    n = len(graph)
    local_at = 2 * n
    use_at = local_at + sum(len(graph.inputs(i)) for i in range(n))
    pieces: list[str] = []
    order: list[int] = []
    for i in range(n):
        inputs = len(graph.inputs(i))
        order += (i, n + i, *range(local_at, local_at + inputs))
        order += range(use_at, use_at + len(uses[i]))
        local_at += inputs
        use_at += len(uses[i])
        sent = item.join(f"{{{node_key}{c}{item}{grad_key}%s}}" for c, _ in uses[i])
        pieces += (
            gaps[0][i], "%s", gaps[1][i], "%s", gaps[2][i],
            "[", item.join(["%s"] * inputs), "]", gaps[3][i], "[", sent, "]", gaps[4][i],
        )  # fmt: skip
    pick = operator.itemgetter(*order)  # at least two: a node's value and gradient
    made = graph.derived[kept] = ("".join(pieces), pick)
    return made


KEEP_TEXT = 10_000  # a graph of more nodes makes its node text as it writes it, keeping none


class _Form:
    """One way of writing the JSON (separators, ensure_ascii) and its encoder, made once
    and kept (there are four)."""

    item: str
    key: str

    @classmethod
    @functools.cache
    def of(cls, compact: bool, ascii: bool) -> _Form:
        return cls(compact, ascii)

    def __init__(self, compact: bool, ascii: bool) -> None:
        self.item, self.key = (",", ":") if compact else (", ", ": ")
        self.ascii = ascii
        self.encoder = json.JSONEncoder(
            ensure_ascii=ascii, allow_nan=False, separators=(self.item, self.key)
        )
        self._string = encode_basestring_ascii if ascii else encode_basestring
        self.use_keys = tuple(self.text(field) + self.key for field in USE_FIELDS)

    def dumps(self, value: Any) -> str:
        return self.encoder.encode(value)

    def text(self, value: str) -> str:
        """A string's JSON text."""
        return self._string(value)


def _graph_text(graph: Graph, form: _Form) -> list[Iterable[str]]:
    """The node objects' text around the fields that change with the values: for each
    gap (before the first such field, between two, after the last) the text of every
    node there, as `{"id": 0, … "value": `, then `, "grad": `, …, then `]}`. Each node
    but the first starts with `item`. Kept for a graph of at most KEEP_TEXT nodes, made
    once per graph and form; a larger graph's is made node by node, as it is read."""
    kept = ("json", form.item, form.key, form.ascii)
    made: list[Iterable[str]] | None = graph.derived.get(kept)
    if made is not None:
        return made
    item, key, dumps, string = form.item, form.key, form.dumps, form.text
    facts = graph.facts()
    op_text = {op: dumps(op) for op in OPS}
    pattern_text = {op: dumps(rules.pattern.name) for op, rules in OPS.items()}
    # Each field the graph fixes, as text, node by node (column by column: fast).
    texts: dict[str, Iterator[str]] = {
        "id": map(str, range(len(facts))),  # an int's JSON text
        "name": map(string, map(operator.itemgetter(0), facts)),
        "op": map(op_text.__getitem__, map(operator.itemgetter(1), facts)),
        "inputs": ("[" + item.join(map(str, inputs)) + "]" for _, _, inputs, _ in facts),
        "text": map(string, map(operator.itemgetter(3), facts)),
        "pattern": map(pattern_text.__getitem__, map(operator.itemgetter(1), facts)),
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
    for n, gap in enumerate(gaps):
        if all(isinstance(piece, str) for piece in gap):  # the same for every node
            column: Iterable[str] = repeat("".join(gap), len(facts))  # type: ignore[arg-type]
        else:
            pieces = [repeat(piece) if isinstance(piece, str) else piece for piece in gap]
            column = map("".join, zip(*pieces, strict=False))  # repeat() is endless
        if n == 0:  # the first node follows the `[`
            first = (text[len(item) :] for text in itertools.islice(column, 1))
            column = itertools.chain(first, column)
        made.append(column)
    if len(facts) <= KEEP_TEXT:
        made = [list(column) for column in made]
        graph.derived[kept] = made
    return made
