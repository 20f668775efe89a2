"""The computational graph as a Rich tree, from the output down to the inputs."""

from __future__ import annotations

from rich.markup import escape
from rich.tree import Tree

from ..graph import Graph
from ..ops import OPS
from ..result import Result
from .numbers import DEFAULT_PRECISION, fmt
from .picture import label
from .theme import GRAD, VALUE


def to_tree(graph: Graph, result: Result | None = None, precision: int = DEFAULT_PRECISION) -> Tree:
    """Each node once in full; a node used again shows as `x (shared, above)`."""
    nodes = result.nodes if result is not None else None

    def line(node_id: int, again: bool) -> str:
        node = graph.nodes[node_id]
        op = OPS[node.op]
        text = escape(label(graph, node))
        if node.inputs:
            names = [label(graph, graph.nodes[i]) for i in node.inputs]
            text += f" = {escape(op.show(names))}  [dim]{escape(op.pattern.name)}[/]"
        if nodes is not None:
            text += f"  [{VALUE}]{fmt(nodes[node_id].value, precision)}[/]"
            grad = nodes[node_id].grad
            if grad is not None:
                text += f"  [{GRAD}]∂ {fmt(grad, precision)}[/]"
        if again:
            text += "  [italic](shared, shown above)[/]"
        return text

    root = Tree(line(graph.output, False))
    shown = {graph.output}
    stack = [(graph.output, root)]  # no recursion: graphs can be 100,000 deep
    while stack:
        node_id, branch = stack.pop()
        children = []
        for i in graph.nodes[node_id].inputs:
            again = i in shown and bool(graph.nodes[i].inputs)
            child = branch.add(line(i, again))
            if not again and graph.nodes[i].inputs:
                shown.add(i)
                children.append((i, child))
        stack.extend(reversed(children))
    return root
