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
from typing import NamedTuple

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.tree import Tree

from ..graph import Graph
from ..i18n import N_, tr
from ..ops import OPS
from ..result import Result
from .numbers import DEFAULT_PRECISION, fmt
from .picture import label
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


def to_tree(
    graph: Graph, result: Result | None = None, precision: int = DEFAULT_PRECISION
) -> RenderableType:
    """The output's tree (and the trees that go on where it gets too deep)."""
    nodes = result.nodes if result is not None else None
    written: set[int] = set()  # the gates written out so far, in the printed order
    later: set[int] = set()  # the gates that go on in a tree below
    totalled: set[int] = set()  # the nodes whose whole gradient is shown

    def line(use: _Use) -> str:
        node = graph.nodes[use.node]
        op = OPS[node.op]
        text = escape(label(graph, node))
        if node.inputs:
            names = [label(graph, graph.nodes[i]) for i in node.inputs]
            text += f" = {escape(op.show(names))}  [dim]{escape(op.pattern.name)}[/]"
        if nodes is None or result is None:
            return text
        here = nodes[use.node]
        text += f"  [{VALUE}]{fmt(here.value, precision)}[/]"
        if here.grad is None:
            return text
        if len(here.uses) <= 1:
            return text + f"  [{GRAD}]∂ {fmt(here.grad, precision)}[/]"
        parts = []
        if use.node not in totalled:
            totalled.add(use.node)
            total = tr("[{style}]∂ {grad}[/] in all")
            parts.append(total.format(style=GRAD, grad=fmt(here.grad, precision)))
        if use.consumer is not None:
            sent = result.sent(use.consumer, use.k)
            use_grad = tr("[{style}]∂ {grad}[/] from this use")
            parts.append(use_grad.format(style=GRAD, grad=fmt(sent, precision)))
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
