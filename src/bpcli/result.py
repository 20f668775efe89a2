"""The result of a run, and to_dict(): the one JSON shape every command reuses."""

from __future__ import annotations

import bisect
import functools
import json
import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from itertools import compress, repeat
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import TYPE_CHECKING, Any, cast

from . import engine
from .engine import Step
from .graph import Graph
from .ops import OP_NAMES, OPS, Conventions, Op
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
        self._flows: engine.Flow | None = None
        self._gradients: dict[str, float] | None = None

    @property
    def output(self) -> float:
        return self.values[self.graph.output]

    @property
    def gradients(self) -> dict[str, float]:
        """d(output)/d(input) for every input variable, in order of first appearance (made
        once, and not as a cached_property: see _flow)."""
        grads = self._gradients
        if grads is None:
            grads = self._gradients = {}
            for name, node_id in self.graph.variables.items():
                grad = self.grads[node_id]
                assert grad is not None
                grads[name] = grad
        return grads

    @cached_property
    def nodes(self) -> tuple[NodeResult, ...]:
        flow = self._flow
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
                    flow.local_row(i),
                    flow.uses(i),
                    kink,
                    winners,
                )
            )
        return tuple(nodes)

    def sent(self, node_id: int, k: int) -> float | None:
        """The gradient that node `node_id`'s k-th input edge sends back to that input."""
        flow = self._flow
        return flow.sent[flow.edges.start[node_id] + k]

    def infinite(self, node_id: int, k: int) -> bool:
        """Whether node `node_id`'s local derivative along its k-th input edge is infinite
        (its JSON `local` is null; else it is undefined, or a number)."""
        return engine.infinite(self.graph, self.values, node_id, k, self.conventions)

    @property
    def _flow(self) -> engine.Flow:
        """Every edge's local derivative and what it sends back: made when first asked
        (not as a cached_property, whose lock costs a batch line more than the rest)."""
        flow = self._flows
        if flow is None:
            flow = self._flows = engine.flow(self.graph, self.values, self.grads, self.conventions)
        return flow

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
        the head, then with `nodes` `"nodes": [`, the nodes' objects NODES_AT_ONCE a
        piece and `]`, then the tail (json_bytes' pieces, as text).

        Written node by node, so that a million-node answer never exists as one
        object; a graph of at most KEEP_TEXT nodes keeps its node text that does not
        change with the values (NODE_FIELDS' BY_GRAPH), so that a batch of one
        expression encodes fast, and a larger one makes it node by node as it goes.
        """
        pieces = self.json_bytes(
            nodes, compact=compact, ascii=ascii, extra=extra, errors="surrogatepass"
        )
        return (piece.decode("utf-8", "surrogatepass") for piece in pieces)

    def json_bytes(
        self,
        nodes: bool = True,
        *,
        compact: bool = False,
        ascii: bool = False,
        extra: Mapping[str, Any] | None = None,
        errors: str = "strict",
    ) -> Iterator[bytes]:
        """json_chunks' pieces encoded in UTF-8 (with `errors`, as a stream that writes
        UTF-8 would encode them): what `--json` writes, made as bytes, never as text."""
        form = _Form.of(compact, ascii)
        yield self._head_text(form, nodes).encode("utf-8", errors)
        if nodes:
            yield f'{form.item}"nodes"{form.key}['.encode()
            if len(self.graph) > KEEP_TEXT:
                yield from self._node_bytes(form, errors)
            else:
                yield self._nodes_text(form).encode("utf-8", errors)
            yield b"]"
        yield self._tail_text(form, extra).encode("utf-8", errors)

    def json_text(self, *, compact: bool = False, ascii: bool = False) -> str:
        """`"".join(self.json_chunks(compact=compact, ascii=ascii))`, made faster in one piece:
        for a graph of at most KEEP_TEXT nodes, from the graph's template of the whole
        answer (the numbers as json.dumps writes a list of them, put in place by `%`)."""
        form = _Form.of(compact, ascii)
        made = None if len(self.graph) > KEEP_TEXT else self._answer_template(form)
        if made is None:  # a large graph, or a trajectory: its own tail
            return "".join(self.json_chunks(compact=compact, ascii=ascii))
        flow, update = self._flow, self.update
        numbers = [*self.values, *self.grads, *flow.local, *flow.sent]
        template, pick = made
        if update is not None:
            numbers += [update.lr, update.steps, *update.inputs.values(), update.output]
        text = _NUMBERS.encode(numbers)
        answer: str = template % pick(text[1:-1].split(","))
        return answer

    def _answer_template(self, form: _Form) -> tuple[str, Callable[[list[Any]], Any]] | None:
        """The whole answer's text with `%s` for each number that changes with the values,
        and what picks the numbers' texts, in that order, from those of json_text's list
        of them: the nodes' numbers (see _nodes_template), then the update's (the output,
        the inputs and the gradients are nodes' values and gradients: written once).
        Made once per graph, form and shape of answer (the order the inputs were given
        in, the conventions, whether there is an update); None for an answer with a
        trajectory, whose tail is its own."""
        update = self.update
        if update is not None and update.trajectory is not None:
            return None
        shape = (tuple(self.inputs), self.conventions, None if update is None else update.every)
        kept = ("json-answer", form.item, form.key, form.ascii, shape)
        made: tuple[str, Callable[[list[Any]], Any]] | None = self.graph.derived.get(kept)
        if made is not None:
            return made
        head, tail = self._head(True), self._tail()
        head["output"]["value"] = _NUMBER
        head["inputs"] = dict.fromkeys(head["inputs"], _NUMBER)
        head["gradients"] = dict.fromkeys(head["gradients"], _NUMBER)
        if update is not None:
            tail["update"].update(lr=_NUMBER, steps=_NUMBER, output=_NUMBER)
            tail["update"]["inputs"] = dict.fromkeys(update.inputs, _NUMBER)
        nodes, order = _nodes_template(self.graph, form, self._flow.edges)
        flow = self._flow
        at = len(self.values) + len(self.grads) + len(flow.local) + len(flow.sent)
        graph, n = self.graph, len(self.values)
        if not all(name in graph.variables for name in self.inputs):
            return None  # not a result of this graph's inputs: written as it is
        given = [graph.variables[name] for name in self.inputs]
        before = [graph.output, *given, *(n + node for node in graph.variables.values())]
        after = 0 if update is None else 3 + len(update.inputs)
        head_text, tail_text = (_placed(form.dumps(part)) for part in (head, tail))
        if head_text.count("%s") != len(before) or tail_text.count("%s") != after:
            return None  # cannot happen: no name or text writes as a lone NUL
        template = (
            f'{head_text[:-1]}{form.item}"nodes"{form.key}[{nodes}]{form.item}{tail_text[1:]}'
        )
        picks = [*before, *order, *range(at, at + after)]
        made = self.graph.derived[kept] = (template, operator.itemgetter(*picks))
        return made

    def _head_text(self, form: _Form, nodes: bool) -> str:
        """`{"schema_version": 1, …, "gradients": {…}`: the object up to its node list."""
        return form.dumps(self._head(nodes))[:-1]

    def _tail_text(self, form: _Form, extra: Mapping[str, Any] | None) -> str:
        """`, "conventions": {…}, "update": …, "trajectory": […]}` and `extra`'s fields."""
        tail = self._tail()
        if extra:
            tail.update(extra)
        return form.item + form.dumps(tail)[1:]

    def _nodes_text(self, form: _Form) -> str:
        """Every node's JSON object, as a list's items: from the graph's template of
        them (kept), the numbers as json.dumps writes a list of them, put in place by `%`."""
        flow = self._flow
        nodes, order = _nodes_template(self.graph, form, flow.edges)
        numbers = [*self.values, *self.grads, *flow.local, *flow.sent]
        text = _NUMBERS.encode(operator.itemgetter(*order)(numbers))
        made: str = nodes % tuple(text[1:-1].split(","))
        return made

    def _node_bytes(self, form: _Form, errors: str) -> Iterator[bytes]:
        """Every node's JSON object in UTF-8, as a list's items (all but the first led by
        `item`), NODES_AT_ONCE nodes a piece, keeping nothing of a node once written.

        Each piece is one `%` of bytes: the nodes' templates (one for each op, whether
        the node has a label, whether its text is cut, whether it has more than two
        inputs, whether its one use is written from its gradient, whether its local
        derivatives are written in place: form.templates) joined, filled from columns
        made for all its nodes at once: the ids, the names' numbers or labels, the
        inputs, the texts, the values and gradients as json.dumps writes them, the local
        derivatives (two columns: in place where the piece's ops allow, _in_place_columns,
        else each node's list of them, _local_columns), and its uses: in a piece where
        every node has at most one use and each sends back exactly its gradient (a
        chain, a tree), the consumer and the gradient's text again; else each node's
        uses as text of their own. In a chain whose piece writes its local derivatives
        in place, where the flow's contract settles that each use sends its gradient
        (_sent_as_grads), the flow is not made (a third of a million-node chain's
        writing was the flow and its edges); elsewhere it is, when first read.
        """
        graph, values, grads = self.graph, self.values, self.grads
        edges, templates = engine.edges(graph), form.templates
        uses_start, used_by = edges.uses_start, edges.used_by
        many = sorted(graph.more)  # the nodes of more than two inputs (max, min)
        at = 0
        args: list[Any] = []
        joined_keys: list[int] = []  # the keys of the last piece's templates, and those joined
        joined = b""
        shape: tuple[list[int], list[int], list[int]] | None = None  # … and what made them
        value_texts: list[bytes] = []  # … and its values' texts
        texts_of = graph.text_columns(size=NODES_AT_ONCE, encoded=True)
        plain = '"' not in graph.source and "\\" not in graph.source  # texts as they are
        chunks = zip(graph.name_numbers(NODES_AT_ONCE), texts_of, strict=True)
        for (first, names, labelled), (texts, cut) in chunks:
            last = first + len(names)
            u0, u1 = uses_start[first], uses_start[last]
            if edges.chained and u1 - u0 == len(names):  # none has two: one use each
                counts = [1] * len(names)
            else:
                counts = list(
                    map(operator.sub, uses_start[first + 1 : last + 1], uses_start[first:last])
                )
            piece_grads = grads[first:last]
            grad_texts = _number_bytes(piece_grads)
            codes = graph.codes[first:last]
            inputs: list[Any] = graph.first[first:last].tolist()  # more than two: their text
            seconds: list[Any] = graph.second[first:last].tolist()
            end = bisect.bisect_left(many, last, at)
            before, value_texts = value_texts, _number_bytes(values[first:last])
            locals_ = (
                None
                if end > at
                else self._in_place_columns(first, codes, (inputs, seconds), value_texts, before)
            )
            consumers: Any
            if locals_ is not None and u1 > u0 and _sent_as_grads(graph, edges, first, last, grads):
                one, sends = True, []  # not read: what each use sends is its gradient
            else:
                sends = self._sends(u0, u1)
                one = _sends_are_grads(counts, sends, piece_grads)
            if not one:  # each node's uses as text of their own
                uses: list[Any] = [None] * (2 * (u1 - u0))
                uses[0::2] = used_by[u0:u1]
                uses[1::2] = _number_bytes(sends)
                use_lists = b"".join(map(form.uses_templates.__getitem__, counts)) % tuple(uses)
                consumers, use_texts = [None] * len(names), use_lists.split(b"\0")[:-1]
            elif u1 - u0 == len(names):  # one use each: its consumer, its gradient's text
                consumers, use_texts = used_by[u0:u1], grad_texts
            else:  # … and some have none (the output, a result left unused)
                taken = iter(used_by[u0:u1])
                consumers = [next(taken) if count else None for count in counts]
                use_texts = [t if c else b"[]" for t, c in zip(grad_texts, counts, strict=True)]
            cut_keys = _CUT_ONE_KEY if one and u1 - u0 == len(names) else _CUT_KEY
            if locals_ is None:  # each node's local derivatives as text of their own
                locals_ = self._local_columns(form, first, last, many[at:end])
            else:  # … or in place
                cut_keys = [key + _IN_PLACE_KEY for key in cut_keys]
            # a piece whose keys are its codes' and cuts' alone, as the last one's: its
            # keys (a long chain's pieces have the same: made and joined once)
            simple = not labelled and end == at and (not one or u1 - u0 == len(names))
            if simple and shape is not None and shape == (cut_keys, codes, cut):
                keys = joined_keys
            else:
                keys = list(map(operator.add, codes, map(cut_keys.__getitem__, cut)))
                if one and u1 - u0 != len(names):
                    keys = list(map(operator.add, keys, map(_ONE_KEY.__getitem__, counts)))
                shape = (cut_keys, codes, cut) if simple else None
            named: list[Any] = names  # a label's text in place of its node's 0
            for i in labelled:
                keys[i - first] += _LABELLED_KEY
                named[i - first] = form.string(graph.labels[i], errors)
            for i in many[at:end]:
                keys[i - first] += _MORE_KEY
                inputs[i - first] = ("[" + form.item.join(map(str, graph.more[i])) + "]").encode()
                seconds[i - first] = b""
            at = end
            columns = (
                range(first, last), named, inputs, seconds, form.strings(texts, errors, plain),
                value_texts, grad_texts, *locals_, consumers, use_texts,
            )  # fmt: skip
            width = len(columns)
            if len(args) != width * len(names):  # else every place is filled below
                args[:] = repeat(None, width * len(names))
            for k, column in enumerate(columns):
                args[k::width] = column
            if keys is not joined_keys and keys != joined_keys:
                joined_keys, joined = keys, b"".join(map(templates.__getitem__, keys))
            text = joined % tuple(args)
            yield text if first else text[len(form.item) :]  # the first node follows the `[`

    def _sends(self, u0: int, u1: int) -> list[float | None]:
        """What uses `u0` to `u1` - 1 send back, in use order (from the flow: made here
        when first asked, so that a writer that does not read it does not make it)."""
        flow = self._flow
        if flow.edges.chained:  # the uses are the edges, in order
            return flow.sent[u0:u1]
        return list(map(flow.sent.__getitem__, flow.edges.order[u0:u1]))

    def _local_columns(
        self, form: _Form, first: int, last: int, many: list[int]
    ) -> tuple[list[bytes], list[bytes]]:
        """The local derivatives of nodes `first` to `last` - 1 as two columns: each
        node's list of them as text, made by one `%` of their own (a node's count of them
        varies; `many`, the nodes of more than two inputs among them), and nothing."""
        start, codes = self._flow.edges.start, self.graph.codes[first:last]
        local_templates = list(map(form.local_templates.__getitem__, codes))
        for i in many:
            local_templates[i - first] = form.local_template(len(self.graph.more[i]))
        local = _number_bytes(self._flow.local[start[first] : start[last]])
        local_lists = b"".join(local_templates) % tuple(local)
        return local_lists.split(b"\0")[:-1], [b""] * len(codes)

    def _in_place_columns(
        self,
        first: int,
        codes: list[int],
        inputs: tuple[list[int], list[int]],
        value_texts: list[bytes],
        before: list[bytes],
    ) -> tuple[list[bytes], list[bytes]] | None:
        """Where every node of the piece that starts at `first` has an op whose local
        derivatives are literals of the table or a value (an input's, `a`, `b`, or its
        own, `out`: the engine's local derivative there is that value itself), the texts
        of those values, in the order the node's template in place takes them, as two
        columns (empty where a node takes fewer): the values' texts are made once, and a
        literal's text is the template's. `inputs` are the piece's columns of first and
        second input ids, `value_texts` its values' texts and `before` the last piece's;
        None where an op's are not, or a value is one of a node before those."""
        ops = bytes(codes)
        present = list(filter(ops.__contains__, _OP_CODES))  # (a set of codes costs more)
        if not all(map(_IN_PLACE.__getitem__, present)):
            return None
        n, offset = len(codes), first - len(before)
        window = before + value_texts  # the values' texts of nodes `offset` on
        columns = ([b""] * n, [b""] * n)
        for code in present:
            sources = _VALUES_TAKEN[code]
            if not sources:
                continue
            mask = ops.translate(_ONLY[code])  # 1 for a node of this op
            at = list(compress(range(n), mask))
            for column, source in zip(columns, sources, strict=False):
                if source is None:  # the node's own value
                    ids = list(map(operator.add, at, repeat(first)))
                else:
                    ids = list(map(inputs[source].__getitem__, at))
                if min(ids) < offset:
                    return None
                texts = map(window.__getitem__, map(operator.sub, ids, repeat(offset)))
                for k, text in zip(at, texts, strict=True):
                    column[k] = text
        return columns

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


# Result._node_texts writes the fields that change with the values in this order.
assert tuple(name for name in NODE_FIELDS if name not in BY_GRAPH) == (
    "value", "grad", "local", "uses",
)  # fmt: skip
_NUMBERS = json.JSONEncoder(allow_nan=False, separators=(",", ":"))  # a list of numbers
_NUMBER = "\0"  # where a template takes a number: as JSON, "\u0000" in every form


def _placed(text: str) -> str:
    """JSON text with each _NUMBER's text as `%s`, and every other `%` as `%%`."""
    return text.replace("%", "%%").replace(json.dumps(_NUMBER), "%s")


NODES_AT_ONCE = 4096  # nodes whose text is made at a time


def _number_bytes(numbers: list[Any]) -> list[bytes]:
    """Each number's JSON text (null for None; never NaN or Infinity: json.dumps' error),
    as json.dumps writes them. Written by orjson, whose shortest round-trip digits are
    Python's and which writes a float ten times faster than its repr (half of a
    million-node answer's writing was that repr), where it spells it as json.dumps
    does: everywhere but in an exponent (orjson `1e-9`, `1e16`; Python `1e-09`,
    `1e+16`) and below 1e-4 (orjson `0.00001`, Python `1e-05`), and not NaN or an
    infinity (orjson null): those, and all of a list orjson does not take (a float's
    subclass, an int beyond 64 bits), json writes."""
    if not numbers:
        return []
    import orjson  # (here: 20 ms to import, for a large graph's answer only)

    try:
        text = orjson.dumps(numbers)
    except TypeError:  # not one orjson takes
        text = b""
    nan = b"null" in text and text.count(b"null") != numbers.count(None)  # … or infinity
    if not text or nan:
        return _NUMBERS.encode(numbers).encode()[1:-1].split(b",")  # (json.dumps' error)
    texts = text[1:-1].split(b",")
    if b"e" in text or b"0.0000" in text:  # (the whole list's test first)
        for i, part in enumerate(texts):
            if b"e" in part or part.startswith(_BELOW):
                texts[i] = _NUMBERS.encode(numbers[i]).encode()
    return texts


# below 1e-4, orjson's digits without an exponent (which json spells, as it does each
# number of orjson's with an `e`: its exponent, or true's or false's)
_BELOW = (b"0.0000", b"-0.0000")


def _sent_as_grads(
    graph: Graph, edges: engine.Edges, first: int, last: int, grads: list[Any]
) -> bool:
    """Whether what each use of nodes `first` to `last` - 1 sends back is, to the bit,
    its node's gradient, as the flow's contract settles it without the flow: in a chain
    (no node used twice) a node's gradient is 0.0 plus what its one use sends, the same
    number unless that is a zero (-0.0 gives 0.0), so none may be zero; a constant gets
    None and has None, so None only at the fixed nodes, the consumers' too; and every
    op up to the last consumer one whose sends the backward pass and the flow work out
    from the same expression of the table (`g * b`, `g`, `-g`: _SENT_AS_GRADS)."""
    if not edges.chained:
        return False
    consumer = edges.used_by[edges.uses_start[last] - 1]  # the piece's last use's
    span = grads[first : consumer + 1]
    if 0.0 in span[: last - first] or span.count(None) != graph.fixed.count(1, first, consumer + 1):
        return False
    return not any(map(bytes(graph.codes[first : consumer + 1]).__contains__, _NOT_SENT_AS_GRADS))


def _sends_are_grads(counts: list[int], sends: list[Any], grads: list[Any]) -> bool:
    """Whether each of these nodes has at most one use (`counts`), and what each use
    sends back (`sends`, in use order) is its node's gradient (`grads`), so that the
    text of a use's number is its gradient's. A gradient is 0.0 plus what its one use
    sends: the same number, written the same, but where that is -0.0 (its gradient
    0.0), which is why no send may be zero; None (a constant's) is null in both."""
    if len(sends) == len(counts):
        return 0 not in counts and sends == grads and 0 not in sends
    return max(counts, default=0) <= 1 and sends == list(compress(grads, counts)) and 0 not in sends


def _nodes_template(graph: Graph, form: _Form, edges: engine.Edges) -> tuple[str, list[int]]:
    """The text of every node's object with `%s` for each number that changes with the
    values, and what picks those numbers, in that order, from the list of the values,
    the gradients, the local derivatives and what each edge sends back, as engine.Flow
    holds them (their positions in that list). The uses' consumers are the graph's: the same at
    every evaluation."""
    kept = ("json-template", form.item, form.key, form.ascii)
    made: tuple[str, list[int]] | None = graph.derived.get(kept)
    if made is not None:
        return made
    item, (node_key, grad_key) = form.item, form.use_keys
    n = len(graph)
    fixed = {
        field: [text.replace("%", "%%") for text in texts]
        for field, texts in _graph_text(graph, form).items()
    }
    start, uses_start, used_by, uses = edges.start, edges.uses_start, edges.used_by, edges.order
    local_at, use_at = 2 * n, 2 * n + start[n]
    pieces: list[str] = []
    order: list[int] = []
    for i in range(n):
        inputs = start[i + 1] - start[i]
        consumers = used_by[uses_start[i] : uses_start[i + 1]]
        order += (i, n + i, *range(local_at + start[i], local_at + start[i + 1]))
        order += [use_at + e for e in uses[uses_start[i] : uses_start[i + 1]]]
        sent = item.join(f"{{{node_key}{c}{item}{grad_key}%s}}" for c in consumers)
        changing = {
            "value": "%s", "grad": "%s",
            "local": "[" + item.join(["%s"] * inputs) + "]", "uses": "[" + sent + "]",
        }  # fmt: skip
        texts = tuple(fixed[f][i] if f in BY_GRAPH else changing[f] for f in NODE_FIELDS)
        pieces.append(form.node % texts)
    pieces[0] = pieces[0][len(item) :]  # the first node follows the `[`
    made = graph.derived[kept] = ("".join(pieces), order)
    return made


KEEP_TEXT = 10_000  # a graph of more nodes makes its node text as it writes it, keeping none


class _Form:
    """One way of writing the JSON (separators, ensure_ascii) and its encoder, made once
    and kept (there are four)."""

    item: str
    key: str
    before: list[str]

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
        # What comes before each field's text in a node's object, in NODE_FIELDS' order
        # (every node but the first of a list leads with `item`); then "}".
        leads = [self.item + "{"] + [self.item] * (len(NODE_FIELDS) - 1)
        self.before = [
            f"{lead}{self.text(f)}{self.key}" for lead, f in zip(leads, NODE_FIELDS, strict=True)
        ]
        self.node = "%s".join([*self.before, "}"])  # with %s for each field's text

    def dumps(self, value: Any) -> str:
        return self.encoder.encode(value)

    # ---- Result._node_bytes' templates (made when a large graph is first written) --------

    @cached_property
    def templates(self) -> _ByCount:
        """A node's object with `%` for each of its columns, by key (see _CUT_KEY)."""
        return _ByCount(self._node_template)

    def _node_template(self, key: int) -> bytes:
        code, labelled = key % len(OP_NAMES), key // _LABELLED_KEY % 2
        cut, more, one = key // _CUT_KEY[1] % 2, key // _MORE_KEY % 2, key // _ONE_KEY[1] % 2
        op = OP_NAMES[code]
        arity = OPS[op].arity
        # the local derivatives from two columns: in place (the literals' text, a value's
        # text from a column), or their list's text and nothing
        local = "%b%.0b"
        if key // _IN_PLACE_KEY:
            taken = [
                _literal(_NUMBERS.encode(float(e))) if engine._literal(e) else "%b"
                for e in OPS[op].local
            ]
            local = "[" + self.item.join(taken) + "]" + "%.0b" * (2 - taken.count("%b"))
        ellipsis = self.text("…")[1:-1] if cut else ""
        fields = {
            "id": "%d",
            "name": "%b" if labelled else _literal(self.text(op)[:-1]) + '%d"',
            "op": _literal(self.text(op)),
            # [a, b], [a] or [] from two columns of input ids, or the text of more
            "inputs": "%b%b"
            if more
            else _INPUTS.get(2 if arity is None else arity, f"[%d{self.item}%d]"),
            "text": f'"%b{ellipsis}"',
            "value": "%b",
            "grad": "%b",
            "pattern": _literal(self.text(OPS[op].pattern.name)),
            "local": local,
            # its one use from two columns, the consumer and its gradient's text; or,
            # the consumer column empty, the text of its uses
            "uses": f"[{{{self.use_keys[0]}%d{self.item}{self.use_keys[1]}%b}}]"
            if one
            else "%.0a%b",
        }
        text = "".join(f"{b}{fields[f]}" for b, f in zip(self.before, NODE_FIELDS, strict=True))
        return f"{text}}}".encode()

    @cached_property
    def local_templates(self) -> list[bytes]:
        """By op code: the list of a node's local derivatives, one per input, and a NUL."""
        return [self.local_template(2 if op.arity is None else op.arity) for op in OPS.values()]

    def local_template(self, count: int) -> bytes:
        return ("[" + self.item.join(["%b"] * count) + "]\0").encode()

    @cached_property
    def uses_templates(self) -> _ByCount:
        return _ByCount(self._uses_template)

    def _uses_template(self, count: int) -> bytes:
        """The list of `count` uses, each {"node": consumer, "grad": sent}, and a NUL."""
        node, grad = self.use_keys
        use = f"{{{node}%d{self.item}{grad}%b}}"
        return ("[" + self.item.join([use] * count) + "]\0").encode()

    def string(self, value: str, errors: str) -> bytes:
        """A string's JSON text, in UTF-8."""
        return self.text(value).encode("utf-8", errors)

    def strings(self, values: list[str] | list[bytes], errors: str, plain: bool) -> list[bytes]:
        """Each string's JSON text without its quotes, in UTF-8: all at once where none
        needs escaping (a NUL parts them: none is in a node's text). Strings given as
        their UTF-8 bytes (ASCII) are their text where `plain` (no quote or backslash
        in the source they are from)."""
        if values and isinstance(values[0], bytes):
            if plain:
                return values
            values = [value.decode("ascii") for value in values]
        values = cast("list[str]", values)
        joined = "\0".join(values)
        if (
            '"' not in joined  # a node's text holds no control character (graph.visible)
            and "\\" not in joined
            and (not self.ascii or joined.isascii())
            and joined.count("\0") == len(values) - 1
        ):
            return joined.encode("utf-8", errors).split(b"\0")
        return [self.text(value)[1:-1].encode("utf-8", errors) for value in values]

    def text(self, value: str) -> str:
        """A string's JSON text."""
        return self._string(value)


class _ByCount(dict[int, bytes]):
    """Templates by count, each made when first asked for."""

    def __init__(self, make: Callable[[int], bytes]) -> None:
        super().__init__()
        self.make = make

    def __missing__(self, count: int) -> bytes:
        made = self[count] = self.make(count)
        return made


def _literal(text: str) -> str:
    return text.replace("%", "%%")


# A node's template key in Result._node_bytes: its op code, plus these for a node with
# a label, a cut text, more than two inputs, one use written from its gradient.
_LABELLED_KEY = len(OP_NAMES)
_CUT_KEY = [0, 2 * len(OP_NAMES), 2 * len(OP_NAMES)]  # by graph.text_columns' cut: 0, 1 or 2
_MORE_KEY = 4 * len(OP_NAMES)
_ONE_KEY = [0, 8 * len(OP_NAMES)]  # by the node's count of uses, 0 or 1
_CUT_ONE_KEY = [key + _ONE_KEY[1] for key in _CUT_KEY]
_IN_PLACE_KEY = 16 * len(OP_NAMES)  # … and one whose local derivatives are in place


def _taken(op: Op) -> tuple[int | None, ...] | None:
    """Where an op's local derivatives that are a value take it from, in order: its
    input 0 or 1, or None, the node itself; None where
    one is neither a literal nor a value (nor is any of a router's)."""
    if op.arity is None:
        return None
    taken = []
    for expression in op.local:
        if expression in _SOURCES:
            taken.append(_SOURCES[expression])
        elif not engine._literal(expression):
            return None
    return tuple(taken)


_SOURCES = {"a": 0, "b": 1, "out": None}  # where a parameter's value is: which input, or the node
_VALUES_TAKEN = [_taken(OPS[name]) for name in OP_NAMES]  # by op code
_IN_PLACE = [taken is not None for taken in _VALUES_TAKEN]
# … and of those the scalar ops, one local derivative an input (the tensor ops have none)
_SENT_AS_GRADS = [
    in_place and len(OPS[name].local) == (OPS[name].arity or 0)
    for name, in_place in zip(OP_NAMES, _IN_PLACE, strict=True)
]
_NOT_SENT_AS_GRADS = [code for code, same in enumerate(_SENT_AS_GRADS) if not same]
_OP_CODES = range(len(OP_NAMES))
_ONLY = [bytes(k == code for k in range(256)) for code in range(len(OP_NAMES))]  # translations
_INPUTS = {0: "[]%.0a%.0a", 1: "[%d]%.0a"}  # the absent input columns hold -1: not shown


def _graph_text(graph: Graph, form: _Form) -> dict[str, list[str]]:
    """The JSON text of each field the graph fixes (NODE_FIELDS' BY_GRAPH) for every
    node, field by field: made once per graph and form, and kept (a graph of at most
    KEEP_TEXT nodes; a larger one's is made as it is written, see _node_bytes)."""
    kept = ("json", form.item, form.key, form.ascii)
    made: dict[str, list[str]] | None = graph.derived.get(kept)
    if made is None:
        string, codes, n = form.text, graph.codes, len(graph)
        made = graph.derived[kept] = {  # column by column: fast
            "id": list(map(str, range(n))),  # an int's JSON text
            "name": list(map(string, graph.iter_names())),
            "op": list(map(_OP_TEXT.__getitem__, codes)),
            "inputs": _inputs_texts(graph, form.item),
            "text": list(map(string, graph.texts(0, n))),
            "pattern": list(map(_PATTERN_TEXT.__getitem__, codes)),
        }
        assert made.keys() == BY_GRAPH
    return made


def _inputs_texts(graph: Graph, item: str) -> list[str]:
    """The JSON list of each node's inputs."""
    rows = [
        "[]" if a < 0 else f"[{a}]" if b < 0 else f"[{a}{item}{b}]"
        for a, b in zip(graph.first, graph.second, strict=True)
    ]
    for i, inputs in graph.more.items():
        rows[i] = "[" + item.join(map(str, inputs)) + "]"
    return rows


# An op's name and its pattern's name as JSON text (ASCII, so the same in every form), by code.
_OP_TEXT = [json.dumps(name) for name in OP_NAMES]
_PATTERN_TEXT = [json.dumps(OPS[name].pattern.name) for name in OP_NAMES]
