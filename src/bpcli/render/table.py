"""The default view of `bpcli grad`: a row per node, then the answers and the update step."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING

from rich.console import Console, ConsoleOptions, Group, JustifyMethod, RenderResult
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ..i18n import N_, tr, tr_n
from ..process import made_paused
from ..result import NodeResult, Result
from .chart import DescentChart
from .lines import Line, Lines, Prose, Stripped, cells, hung, line_cells, sentence, worded
from .numbers import DEFAULT_PRECISION, fmt
from .theme import GRAD, VALUE

if TYPE_CHECKING:
    from ..tensor import TensorResult

# With --dout: what the gradients are of, and what the backward pass starts with.
DOUT_SEED = N_("{L} = sum(dout ⊙ {f}), upstream ∂{L}/∂{f} = dout = ")
MAX_ROWS = 200  # a larger graph shows its first and last EDGE_ROWS rows
EDGE_ROWS = 20


class GradView:
    """Per-node values and gradients, the output and input gradients, and the update."""

    def __init__(
        self, result: Result, precision: int = DEFAULT_PRECISION, nodes: bool = True
    ) -> None:
        self.result = result
        self.precision = precision
        self.show_nodes = nodes

    def _n(self, value: float | None) -> str:
        return fmt(value, self.precision)

    @made_paused
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if self.show_nodes:
            yield Text(tr("computational graph"), style="bold")
            table = self.node_table(options.max_width)
            if table is not None:
                yield Stripped(table)  # a cell folded onto a second line: no padding
            else:
                yield Lines(self.node_blocks)
            yield self.answers()
        else:
            yield self.answers(gap=False)
        if self.result.update is not None:
            yield Text()
            yield self.update_view()

    def node_table(self, width: int = 80) -> Table | None:
        """The table at `width`: the name, op, value and gradient columns whole (a name or
        a number is never cut), the text broken between its tokens into what is left.
        None where the text would get fewer than TEXT_MIN cells, or fewer than its widest
        token: a block per node then, as the tensor table does."""
        f = self.result.output_name
        header = (tr("node"), tr("op"), tr("text"), tr("value"), tr("∂{f}/∂node").format(f=f))
        rows = list(self._rows())
        shown = [
            (row.name, row.op, row.text, self._n(row.value), self._n(row.grad))
            for row in rows
            if row is not None
        ]
        node_w, op_w, text_full, value_w, grad_w = (
            max(cells(header[k]), *(cells(row[k]) for row in shown)) for k in range(5)
        )
        room = width - node_w - op_w - value_w - grad_w - GAP * (len(header) - 1)
        widest_token = max(cells(token) for row in shown for token in _tokens(row[2]))
        text_w = min(text_full, room)
        if text_w < max(min(TEXT_MIN, text_full), widest_token, cells(header[2])):
            return None
        table = Table(box=None, pad_edge=False)
        table.add_column(header[0], no_wrap=True, width=node_w)
        table.add_column(header[1], no_wrap=True, width=op_w)
        table.add_column(header[2], no_wrap=True, width=text_w)
        table.add_column(header[3], justify="right", style=VALUE, no_wrap=True, width=value_w)
        table.add_column(header[4], justify="right", style=GRAD, no_wrap=True, width=grad_w)
        facts = iter(shown)
        for row in rows:
            if row is None:
                left_out = len(self.result.nodes) - 2 * EDGE_ROWS
                more = tr("{left_out} more nodes (--json lists them all)").format(left_out=left_out)
                table.add_row("…", "", "\n".join(_fold(more, text_w)), "", "")
                continue
            name, op, text, value, grad = next(facts)
            table.add_row(Text(name), op, Text("\n".join(_fold(text, text_w))), value, grad)
        return table

    def node_blocks(self, width: int) -> list[Line]:
        """Each node as a block, where the table does not fit (tensor table's layout)."""
        nodes = self.result.nodes
        return _node_blocks(
            [(n.name, n.op, "", n.text) for n in nodes],
            [n.value for n in nodes],
            [n.grad for n in nodes],
            self.result.output_name,
            lambda value, _: [self._n(value)],  # type: ignore[arg-type]
            width,
        )

    def _rows(self) -> Iterator[NodeResult | None]:
        nodes = self.result.nodes
        if len(nodes) <= MAX_ROWS:
            yield from nodes
            return
        yield from nodes[:EDGE_ROWS]
        yield None
        yield from nodes[-EDGE_ROWS:]

    def answers(self, gap: bool = True) -> Group:
        result = self.result
        f = result.output_name
        pair: Line = [(f"{f} = ", "bold"), (self._n(result.output), VALUE)]
        output = Lines(lambda width: _pack([pair], width))  # never `f =` then its value
        pairs = [
            [(f"∂{f}/∂{name} = ", ""), (self._n(grad), GRAD)]
            for name, grad in result.gradients.items()
        ]
        grads = Lines(lambda width: _pack(pairs, width))
        shown = (output, grads) if result.gradients else (output,)
        return Group(Text(), *shown) if gap else Group(*shown)

    def update_view(self) -> Group:
        update = self.result.update
        assert update is not None
        f = self.result.output_name
        table: Whole
        if update.trajectory is not None:
            heading = tr("gradient descent: α = {lr}, {steps} steps").format(
                lr=self._n(update.lr), steps=update.steps
            )
            step = tr("step")
            names = [*self.result.inputs, f]
            rows = [
                [str(s.step), *(self._n(v) for v in (*s.inputs.values(), s.output))]
                for s in update.trajectory
            ]
            columns: list[tuple[str, str, JustifyMethod]] = [(step, "", "right")]
            columns += [*((n, "", "right") for n in names[:-1]), (f, VALUE, "right")]
            table = Whole(columns, rows, lambda width: _steps(step, names, rows, width))
            summary = tr("after {steps} steps: {f} = ").format(steps=update.steps, f=f)
        else:
            heading = tr("update step: x := x - α·∂{f}/∂x with α = {lr}").format(
                f=f, lr=self._n(update.lr)
            )
            labels = (tr("value"), tr("∂{f}/∂input").format(f=f), tr("new value"))
            styles = (VALUE, GRAD, VALUE)
            rows = [
                [name, self._n(value), self._n(self.result.gradients[name]), self._n(new)]
                for (name, value), new in zip(
                    self.result.inputs.items(), update.inputs.values(), strict=True
                )
            ]
            blocks = [
                (
                    name,
                    "",
                    [*zip((labels[0], f"∂{f}/∂{name}", labels[2]), shown, styles, strict=True)],
                )
                for name, *shown in rows
            ]
            columns = [(tr("input"), "", "left")]
            columns += [(h, k, "right") for h, k in zip(labels, styles, strict=True)]
            table = Whole(columns, rows, lambda width: as_blocks(blocks, width))
            summary = tr("after the update: {f} = ").format(f=f)
        # the sentences broken between words, `α = 0.1` and `f = -16.34` kept whole
        title = Lines(worded([(heading, "bold")]).lines)
        line = Lines(worded([(summary, "bold"), (self._n(update.output), VALUE)]).lines)
        if update.trajectory is None:
            return Group(title, table, Text(), line)
        chart = DescentChart(update, self.result.output_name, precision=self.precision)
        return Group(title, table, Text(), line, Text(), chart)


class Whole:
    """A table of `columns` (header, style, justify) whose cells are never cut, at the
    width it is given; where they do not fit side by side, `blocks` lays the same rows
    out instead."""

    def __init__(
        self,
        columns: Sequence[tuple[str, str, JustifyMethod]],
        rows: Sequence[Sequence[str | Text]],
        blocks: Callable[[int], list[Line]],
    ) -> None:
        """A cell is text, or a Text of its own style (a verdict's colour)."""
        self.columns, self.rows, self.blocks = columns, rows, blocks

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        widths = [
            max(cells(header), *(cells(str(row[k])) for row in self.rows))
            for k, (header, _, _) in enumerate(self.columns)
        ]
        if sum(widths) + GAP * (len(widths) - 1) > options.max_width:
            yield Lines(self.blocks)
            return
        table = Table(box=None, pad_edge=False)
        for (header, style, justify), wide in zip(self.columns, widths, strict=True):
            table.add_column(Text(header), justify=justify, style=style, no_wrap=True, width=wide)
        for row in self.rows:
            table.add_row(*(cell if isinstance(cell, Text) else Text(cell) for cell in row))
        yield Stripped(table)  # no trailing spaces in a pipe or a file


def _steps(
    step: str, names: Sequence[str], rows: Sequence[Sequence[str]], width: int
) -> list[Line]:
    """The descent's steps where their table does not fit: `step 1`, then its inputs'
    values and the output's as `name = value` pairs (`_pack`)."""
    out: list[Line] = []
    pad = (" " * INDENT, "")
    for number, *shown in rows:
        out.append([(f"{step} {number}", "bold")])
        pairs: list[Line] = [
            [(f"{n} = ", ""), (v, VALUE)] for n, v in zip(names, shown, strict=True)
        ]
        out += [[pad, *line] for line in _pack(pairs, width - INDENT)]
    return out


PAIRS_GAP = "   "  # between two `∂f/∂x = -4` of the summary line


def _pack(pairs: list[Line], width: int) -> list[Line]:
    """`name = value` pairs on lines of at most `width` cells, broken only between two
    pairs (never between a name and its value)."""
    lines: list[Line] = []
    line: Line = []
    used = 0
    for pair in pairs:
        size = sum(cells(text) for text, _ in pair)
        if line and used + len(PAIRS_GAP) + size > width:
            lines.append(line)
            line, used = [], 0
        if line:
            line.append((PAIRS_GAP, ""))
            used += len(PAIRS_GAP)
        line += pair
        used += size
    return [*lines, line] if line else lines


# An input used only as an index (x[i]'s i) has no gradient: tensor.index_inputs
NO_GRADIENT_MESSAGE = N_(
    "∂{L}/∂{name} = — ({name} is an index: not differentiable, so no gradient)"
)


class TensorGradView:
    """A run over vectors and matrices (a tensor.TensorResult): the node table with a shape
    column, small tensors whole and larger ones summarised as NumPy prints them, the
    output and each input's gradient (of its shape), and the update of every input.

    Every value is laid out here for the width its column gets (render/arrays.py: a
    matrix a line per row, a row broken only between elements), so Rich never wraps
    inside one; where the console is too narrow for the table, each node is a block."""

    def __init__(
        self, result: TensorResult, precision: int = DEFAULT_PRECISION, nodes: bool = True
    ) -> None:
        self.result = result
        self.precision = precision
        self.show_nodes = nodes

    def _n(self, value: object, width: int | None = None) -> list[str]:
        from .arrays import value_lines

        return value_lines(value, self.precision, width)

    @made_paused
    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        result = self.result
        f = result.output_name
        width = options.max_width
        from ..tensor import differentiated

        if self.show_nodes:
            yield Text(tr("computational graph"), style="bold")
            table = self.node_table(width)
            if table is not None:
                yield Stripped(table)  # no trailing spaces in a pipe or a file
            else:
                yield Lines(self.node_blocks)
            yield Text()
        yield self._assigned(f"{f} = ", result.output, VALUE, width, bold=True)
        d = differentiated(result)
        if result.dout is not None:  # what the gradients are of (differentiated)
            seed = tr(DOUT_SEED).format(L=d, f=f)
            if cells(seed) + _widest([self._n(result.dout)], "") > width:
                said, _, rest = seed.partition(", ")
                yield Text(said + ",")
                seed = rest
            yield self._assigned(seed, result.dout, GRAD, width)
        for name, grad in result.gradients.items():
            if grad is None:  # an index input: tensor.index_inputs
                yield Lines(Prose().words(tr(NO_GRADIENT_MESSAGE).format(L=d, name=name)).lines)
                continue
            yield self._assigned(f"∂{d}/∂{name} = ", grad, GRAD, width)
        update = result.update
        if update is not None:
            from ..tensor import moved_inputs, parameter

            # the rule once for every input, by a symbol of its own (x would read as the
            # input x), and which inputs it moves
            heading = tr_n(
                "update, {steps} step: {rule} for {inputs}, {rate}",
                "update, {steps} steps: {rule} for {inputs}, {rate}",
                update.steps,
            )
            theta = parameter(result)
            moved = moved_inputs(result.graph)
            maths = {
                "rule": f"{theta} := {theta} - α·∂{d}/∂{theta}",
                "inputs": f"{theta} ∈ {{{', '.join(moved)}}}" if moved else f"{theta} ∈ ∅",
                "rate": f"α = {self._n(update.lr)[0]}",
                "steps": str(update.steps),
            }
            yield Text()
            yield Lines(sentence(heading, maths, "bold").lines)
            for name, value in update.inputs.items():
                yield self._assigned(f"{name} = ", value, VALUE, width)
            after = tr("after the update: {f} = ").format(f=f)
            yield self._assigned(after, update.output, VALUE, width, bold=True)
            if update.trajectory is not None:  # the loss is a number: the chart is a run's
                yield Text()
                yield DescentChart(update, d, precision=self.precision)

    def _facts(self) -> list[tuple[str, str, str, str]]:
        from ..tensor import show_shape

        shapes = self.result.shapes
        return [
            (name, op, show_shape(shapes[i]), text)
            for i, (name, op, _, text) in enumerate(self.result.graph.facts())
        ]

    def node_table(self, width: int) -> Table | None:
        """The table at `width`: node, op and shape whole, the text folded down to
        TEXT_MIN where the values need the room, the values laid out for what is left
        (split between the two value columns so that the table is shortest). None where
        that would cut a value into more than BROKEN times its lines: a block per node
        reads better then."""
        result = self.result
        from ..tensor import differentiated

        d = differentiated(result)
        header = (
            tr("node"),
            tr("op"),
            tr("text"),
            tr("shape"),
            tr("value"),
            tr("∂{f}/∂node").format(f=d),
        )
        facts = self._facts()
        node_w, op_w, shape_w, text_full = (
            max(cells(header[h]), *(cells(row[k]) for row in facts))
            for h, k in ((0, 0), (1, 1), (3, 2), (2, 3))
        )
        room = width - node_w - op_w - shape_w - GAP * (len(header) - 1)
        whole = [self._n(v) for v in result.values], [self._grad(i) for i in range(len(facts))]
        natural = [_widest(whole[0], header[4]), _widest(whole[1], header[5])]
        text = min(text_full, max(room - sum(natural), TEXT_MIN))
        budget = room - text
        values, grads = whole
        if sum(natural) > budget:
            best: tuple[int, list[list[str]], list[list[str]]] | None = None
            share = budget * natural[0] // max(sum(natural), 1)
            for value_budget in sorted({budget - natural[1], natural[0], budget // 2, share}):
                if value_budget < 1 or budget - value_budget < 1:
                    continue
                laid_values = [self._n(v, value_budget) for v in result.values]
                laid_grads = [self._grad(i, budget - value_budget) for i in range(len(facts))]
                tall = sum(map(max, map(len, laid_values), map(len, laid_grads)))
                if best is None or tall < best[0]:
                    best = (tall, laid_values, laid_grads)
            if best is None:
                return None
            _, values, grads = best
            natural = [_widest(values, header[4]), _widest(grads, header[5])]
            laid = (*values, *grads)
            if sum(natural) > budget or any(
                len(cut) > BROKEN * len(one)
                for cut, one in zip(laid, (*whole[0], *whole[1]), strict=True)
            ):
                return None
        table = Table(box=None, pad_edge=False)
        table.add_column(header[0], no_wrap=True)
        table.add_column(header[1], no_wrap=True)
        table.add_column(header[2], overflow="fold", max_width=text)
        table.add_column(header[3], no_wrap=True)
        table.add_column(header[4], justify="right", style=VALUE, no_wrap=True, width=natural[0])
        table.add_column(header[5], justify="right", style=GRAD, no_wrap=True, width=natural[1])
        for (name, op, shape, expr), value, grad in zip(facts, values, grads, strict=True):
            table.add_row(
                escape(name),
                op,
                escape(expr),
                Text(shape),
                _cell(value),
                _cell(grad),
            )
        return table

    def node_blocks(self, width: int) -> list[Line]:
        """Each node as a block, where the table does not fit (`_node_blocks`)."""
        result = self.result
        from ..tensor import differentiated

        d = differentiated(result)
        return _node_blocks(self._facts(), result.values, result.grads, d, self._n, width)

    def _grad(self, node_id: int, width: int | None = None) -> list[str]:
        """A node's gradient as the table shows it: — for an index input, which has none
        (blank for a constant, whose gradient is not computed)."""
        grad = self.result.grads[node_id]
        if grad is None and node_id in self.result.graph.variables.values():
            return ["—"]
        return self._n(grad, width)

    def _assigned(
        self, left: str, value: object, style: str, width: int, bold: bool = False
    ) -> Lines:
        """`left` then a value of one or more lines laid out for the width after it, each
        line after the first under the first."""
        laid = self._n(value, max(width - cells(left), 1))
        return Lines(lambda _: hung(left, laid, style, "bold" if bold else ""))


GAP = 2  # between two columns of the node table (Rich's padding of a cell each side)
TEXT_MIN = 12  # the text column folds down to this many cells before the values break
BROKEN = 2  # a value broken into more than this many times its lines: a block per node
INDENT = 2  # a node block's value lines, under its heading


def _node_blocks(
    facts: Sequence[tuple[str, str, str, str]],
    values: Sequence[object],
    grads: Sequence[object],
    d: str,
    lay: Callable[[object, int], list[str]],
    width: int,
) -> list[Line]:
    """Each node as a block, where a node table does not fit: its name, op, shape (a
    tensor run's) and text, then its value and its gradient, each under the other,
    laid out by `lay` for the width after its label."""
    return as_blocks(
        [
            (
                "  ".join(filter(None, (name, op, shape))),
                f"  {text}",
                [
                    (label, v, style)
                    for label, v, style in (
                        (tr("value"), values[i], VALUE),
                        (f"∂{d}/∂{name}", grads[i], GRAD),
                    )
                    if v is not None  # a constant's gradient is not computed
                ],
            )
            for i, (name, op, shape, text) in enumerate(facts)
        ],
        width,
        lay,
    )


def as_blocks(
    items: Sequence[tuple[str, str, Sequence[tuple[str, object, str]]]],
    width: int,
    lay: Callable[[object, int], list[str]] = lambda value, _: [str(value)],
) -> list[Line]:
    """Blocks of a heading (its first part bold) broken between words, then `label =
    value` lines, the labels' `=` aligned, each value laid out by `lay` for the width
    after its label: what a table too wide for the console shows instead."""
    out: list[Line] = []
    for i, (bold, rest, shown) in enumerate(items):
        if i:
            out.append([])
        head = Prose().words(bold, "bold").words(rest)
        for line in head.lines(width):  # broken at one of two spaces: none left at its end
            line = [*line[:-1], (line[-1][0].rstrip(" "), line[-1][1])]
            if line_cells(line) <= width:
                out.append(line)
            else:  # one word wider than the line (a text without spaces): between tokens
                text, style = "".join(t for t, _ in line), line[-1][1]
                out += [[(folded, style)] for folded in _fold(text, width)]
        if not shown:  # a heading alone (the rows a long list leaves out)
            continue
        wide = max(cells(label) for label, _, _ in shown)
        laid = [(label, lay(v, width - INDENT - wide - 3), style) for label, v, style in shown]
        if any(INDENT + wide + 3 + cells(lines[0]) > width for _, lines, _ in laid):
            wide = 0  # the labels' `=` aligned only where every value fits after them
        for label, v, style in shown:
            left = " " * INDENT + label + " " * max(wide - cells(label), 0) + " = "
            values = lay(v, width - cells(left))
            if cells(left) + cells(values[0]) > width:  # even so: the value under its label
                out.append([(left.rstrip(" "), "")])
                left = " " * 2 * INDENT
                values = lay(v, width - cells(left))
            out += hung(left, values, style)
    return out


_TOKEN = re.compile(r"\d[\d.]*(?:[eE][-+]?\d+)?|\w+|\S")  # a number, a name, a sign


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _fold(text: str, width: int) -> list[str]:
    """`text` (a node's expression) in lines of at most `width` cells, broken at a space
    where it can be, else between two tokens: never inside a name or a number (one wider
    than `width` has a line of its own, longer)."""
    out: list[str] = []
    line = ""
    for word in text.split(" "):
        joined = f"{line} {word}" if line else word
        if cells(joined) <= width:
            line = joined
            continue
        if line:
            out.append(line)
        line = ""
        if cells(word) <= width:
            line = word
            continue
        for token in _tokens(word):
            if line and cells(line + token) > width:
                out.append(line)
                line = ""
            line += token
    return [*out, line] if line or not out else out


def _cell(laid: list[str]) -> Text:
    """A value's lines as one cell, each as wide as the widest: right-justified as a
    block, so a broken row's continuation stays under its first element."""
    wide = max(map(cells, laid))
    return Text("\n".join(line + " " * (wide - cells(line)) for line in laid))


def _widest(laid: list[list[str]], header: str) -> int:
    return max(cells(header), *(cells(line) for lines in laid for line in lines))
