"""The computational graph as a Rich tree, from the output down to the inputs.

Each gate is written out in full once, at its first use in the printed order;
each later use is one line that says where it is written out. A node used more
than once shows, on each use, what that use sends back to it (x*x + x at x = 3:
3, 3 and 1), and its whole gradient once, at its first use. A branch deeper than
MAX_DEPTH goes on in a tree of its own below the first: lines never grow wider
than MAX_DEPTH guides, so the text grows linearly with the graph, however deep.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any, NamedTuple

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.tree import Tree

from ..graph import Graph
from ..i18n import N_, tr
from ..ops import OPS
from ..result import Result
from .numbers import DEFAULT_PRECISION
from .picture import Run, constant, flat, label, shape_text, shapes_unknown, texts
from .theme import GRAD, VALUE

MAX_DEPTH = 12  # levels of one tree: 48 columns of guides
ABOVE = N_("  [italic](shared, shown above)[/]")
BELOW = N_("  [italic](shared, shown below)[/]")
GOES_ON = N_("  [italic](continued below)[/]")
GOES_ON_FROM = N_("  [italic](continued from above)[/]")


class _Use(NamedTuple):
    """A node to print as its consumer's k-th input (`consumer` None: a tree's root)."""

    node: int
    branch: Tree | None  # where its line goes (None: it is the root of a new tree)
    consumer: int | None
    k: int
    depth: int


def _shown(result: Run, precision: int) -> Callable[[Any], str]:
    """A value as the tree's markup writes it: a number as the table does; a tensor on one
    line, escaped (its brackets are not markup)."""
    write = texts(result)
    if isinstance(result, Result):
        return lambda value: write(value, precision)
    return lambda value: escape(flat(write(value, precision)))


def to_tree(
    graph: Graph, result: Run | None = None, precision: int = DEFAULT_PRECISION
) -> RenderableType:
    """The output's tree (and the trees that go on where it gets too deep); a tensor run's
    nodes with their shapes, a matrix's rows side by side on the node's line."""
    show = None if result is None else _shown(result, precision)
    tensor = result is not None and not isinstance(result, Result)
    written: set[int] = set()  # the gates written out so far, in the printed order
    later: set[int] = set()  # the gates that go on in a tree below
    totalled: set[int] = set()  # the nodes whose whole gradient is shown
    uses = [0] * len(graph)
    for node in graph.nodes:
        for source in node.inputs:
            uses[source] += 1

    def line(use: _Use) -> str:
        node = graph.nodes[use.node]
        op = OPS[node.op]
        text = escape(label(graph, node))
        if node.inputs:
            names = [label(graph, graph.nodes[i]) for i in node.inputs]
            text += f" = {escape(op.show(names))}  [dim]{escape(op.pattern.name)}[/]"
        if show is None or result is None:
            if not node.inputs and not constant(graph, node) and shapes_unknown(graph):
                text += f"  [dim]{escape(tr('(shape unknown: give its value)'))}[/]"
            return text
        if tensor and not constant(graph, node):
            text += f"  [dim]{escape(shape_text(result, use.node))}[/]"
        text += f"  [{VALUE}]{show(result.values[use.node])}[/]"
        grad = result.grads[use.node]
        if grad is None:
            return text
        if uses[use.node] <= 1:
            return text + f"  [{GRAD}]∂ {show(grad)}[/]"
        parts = []
        if use.node not in totalled:
            totalled.add(use.node)
            total = tr("[{style}]∂ {grad}[/] in all")
            parts.append(total.format(style=GRAD, grad=show(grad)))
        if use.consumer is not None:
            sent = result.sent(use.consumer, use.k)
            use_grad = tr("[{style}]∂ {grad}[/] from this use")
            parts.append(use_grad.format(style=GRAD, grad=show(sent)))
        if parts:
            text += "  " + ", ".join(parts)
        return text

    trees: list[Tree] = []
    roots = deque([graph.output])
    while roots:
        top = roots.popleft()
        stack = [_Use(top, None, None, 0, 0)]  # no recursion: graphs can be 100,000 deep
        while stack:
            use = stack.pop()
            gate = bool(graph.nodes[use.node].inputs)
            text = line(use)
            expand = gate and use.node not in written
            if use.branch is None:
                text += tr(GOES_ON_FROM) if use.node != graph.output else ""
            elif gate and use.node in later:
                text += tr(BELOW)
                expand = False
            elif gate and not expand:
                text += tr(ABOVE)
            elif expand and use.depth >= MAX_DEPTH:
                text += tr(GOES_ON)
                later.add(use.node)
                roots.append(use.node)
                expand = False
            if use.branch is None:
                branch = Tree(text)
                trees.append(branch)
            else:
                branch = use.branch.add(text)
            if expand:
                written.add(use.node)
                later.discard(use.node)
                inputs = graph.nodes[use.node].inputs
                stack.extend(
                    _Use(i, branch, use.node, k, use.depth + 1)
                    for k, i in reversed(list(enumerate(inputs)))
                )
    return trees[0] if len(trees) == 1 else Group(*trees)
