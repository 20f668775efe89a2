"""Where each node of a graph picture goes: inputs on the left, the output on the right.

Graphviz's `dot` lays the graph out when the caller gives a way to run it (the
command line passes `bpcli.graphviz.layout_json`, which runs dot when it is
installed) and the graph is small enough for dot to be quick (DOT_MAX_NODES, and
tighter bounds when its edges carry labels; crossings minimised,
edges routed around nodes as splines); without it, if dot fails, or for a
bigger graph, bpcli places the nodes itself, in columns by depth (an input at
0, a gate one past its deepest input) ordered to keep edges short, with each
edge a curve from its source to its target. Both give the same `Layout`
(points, y downwards), which the HTML page and the TikZ picture draw, and which
`graph --output g.svg` hands Graphviz to draw for a graph too big for dot's layout.
The boxes' sizes are the caller's: the layout only places them.

An edge may carry a label (the gradient it sends back) of a size the caller
gives: the layout places it too, where no box is. dot lays each label out as
part of the graph (an edge label is a box of its own in dot's ranks); bpcli's own
layout widens the gap before a column to hold the labels of the edges that
arrive there, puts each label in that gap on its edge, and moves labels of the
same gap apart where they would overlap.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..graph import Graph

Point = tuple[float, float]
Size = tuple[float, float]
# DOT text in, dot's `-Tjson` layout of it out, or None when dot cannot give one.
RunDot = Callable[[str], bytes | None]

COLUMN_GAP = 48.0  # points between columns (bpcli's own layout)
ROW_GAP = 18.0  # points between boxes in a column
MARGIN = 8.0
ARROW = 6.0  # points of an edge's end that are its arrowhead, clear of labels
LABEL_GAP = 4.0  # points between a label and the columns either side of it, or the next label
DOT_MAX_NODES = 400  # beyond, dot takes seconds to minutes: bpcli's own layout instead
# With edge labels, each label is a box in dot's ranks and dot's time grows faster, most
# of all with a node's uses: `x + … + x` of 150 terms takes it 12 s (2.4 s unlabelled),
# `w0*x + … + w99*x` (300 nodes) 20 s, a 146-node chain 0.1 s. So a labelled graph goes
# to dot only up to these bounds: about 2 s at most.
DOT_MAX_LABELLED_NODES = 150
DOT_MAX_LABELLED_USES = 40  # uses of any one node


@dataclass(frozen=True, slots=True)
class Place:
    """A node's box: its centre and size."""

    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True, slots=True)
class Route:
    """The `k`-th input edge of `target`, from `source`: a cubic Bézier path
    (`points[0]`, then three points per segment), the arrow's tip, and the centre of
    its label when it has one."""

    source: int
    target: int
    k: int
    points: tuple[Point, ...]
    tip: Point
    label: Point | None = None

    def segments(self) -> list[tuple[Point, Point, Point]]:
        """The cubic Bézier segments after `points[0]`: (control, control, end) each."""
        rest = self.points[1:]
        return [(rest[i], rest[i + 1], rest[i + 2]) for i in range(0, len(rest) - 2, 3)]

    def y_at(self, x: float) -> float:
        """The path's y where it reaches `x` (a path that goes left to right, as
        bpcli's own curves do): by bisection on the segment that spans `x`, to
        1/65536 of it."""
        (x0, y0) = self.points[0]
        for (x1, y1), (x2, y2), (x3, y3) in self.segments():
            if min(x0, x3) <= x <= max(x0, x3):
                low, high = 0.0, 1.0
                for _ in range(16):
                    t = (low + high) / 2
                    u = 1 - t
                    if u * u * u * x0 + 3 * u * t * (u * x1 + t * x2) + t * t * t * x3 < x:
                        low = t
                    else:
                        high = t
                t = (low + high) / 2
                u = 1 - t
                return u * u * u * y0 + 3 * u * t * (u * y1 + t * y2) + t * t * t * y3
            x0, y0 = x3, y3
        return y0


@dataclass(frozen=True, slots=True)
class Layout:
    width: float
    height: float
    places: tuple[Place, ...]  # by node id
    routes: tuple[Route, ...]
    engine: str  # "graphviz" or "bpcli"


Labels = dict[tuple[int, int], Size]  # (target, k) -> the size of that edge's label


def layout(
    graph: Graph,
    sizes: list[Size],
    run_dot: RunDot | None = None,
    labels: Labels | None = None,
) -> Layout:
    """Place every node (sizes in points, by node id) and every edge's label (sizes by
    (target, k); an edge not in `labels` has none): with dot's layout, through
    `run_dot`, when it is given and gives one; else bpcli's own."""
    labels = labels or {}
    if run_dot is not None and small_for_dot(graph, len(sizes), bool(labels)):
        placed = _graphviz(graph, sizes, labels, run_dot(dot_text(graph, sizes, labels)))
        if placed is not None:
            return placed
    return _by_depth(graph, sizes, labels)


# ---- Graphviz ----------------------------------------------------------------------------


def small_for_dot(graph: Graph, nodes: int, labelled: bool) -> bool:
    """Whether dot lays the graph out in a second or two (see DOT_MAX_NODES): the page's
    picture and `graph --output g.svg` (graphviz.py's `picture`) both ask."""
    if not labelled:
        return nodes <= DOT_MAX_NODES
    if nodes > DOT_MAX_LABELLED_NODES:
        return False
    uses = [0] * nodes
    for node in graph.nodes:
        for source in node.inputs:
            uses[source] += 1
    return max(uses, default=0) <= DOT_MAX_LABELLED_USES


def dot_text(graph: Graph, sizes: list[Size], labels: Labels | None = None) -> str:
    """The graph for dot to lay out: boxes of the given sizes, each edge named by its use,
    a labelled edge's label an empty cell of its label's size (so that dot makes room
    for it; the caller writes the text)."""
    labels = labels or {}
    lines = [
        "digraph g {",
        "  rankdir=LR; nodesep=0.25; ranksep=0.2;",
        "  node [shape=box];",
    ]
    for i, (w, h) in enumerate(sizes):
        lines.append(f"  n{i} [fixedsize=true, width={w / 72:.4f}, height={h / 72:.4f}];")
    for node in graph.nodes:
        for k, source in enumerate(node.inputs):
            size = labels.get((node.id, k))
            label = "" if size is None else f", label={_cell(size)}"
            lines.append(f'  n{source} -> n{node.id} [id="e{node.id}_{k}"{label}];')
    lines.append("}")
    return "\n".join(lines)


def measured(output: bytes | None, nodes: int, labels: int) -> tuple[list[Size], list[Size]] | None:
    """The sizes Graphviz gives the boxes (`n{id}`) and the edge labels (`l{j}`) of a DOT
    text that it drew where each was put (render/dot.py's `to_measure`, through
    `neato -n2 -Npos=0,0 -Tjson`): the boxes by node id, the labels by j. None when the
    output is not such JSON (an old or broken Graphviz)."""
    found: dict[str, list[Size | None]] = {"n": [None] * nodes, "l": [None] * labels}
    try:
        data: Any = json.loads(output or b"null")
        for obj in data["objects"]:
            name = obj["name"]
            found[name[0]][int(name[1:])] = (72 * float(obj["width"]), 72 * float(obj["height"]))
    except (ValueError, TypeError, KeyError, IndexError):
        return None
    boxes = [size for size in found["n"] if size is not None]
    sent = [size for size in found["l"] if size is not None]
    return (boxes, sent) if (len(boxes), len(sent)) == (nodes, labels) else None


def _cell(size: Size) -> str:
    """An HTML-like label that is an empty box of `size` points."""
    return (
        '<<TABLE BORDER="0" CELLPADDING="0" CELLSPACING="0"><TR><TD FIXEDSIZE="TRUE"'
        f' WIDTH="{size[0]:.0f}" HEIGHT="{size[1]:.0f}"></TD></TR></TABLE>>'
    )


def _graphviz(
    graph: Graph, sizes: list[Size], labels: Labels, output: bytes | None
) -> Layout | None:
    """The layout in dot's JSON output, or None if there is none (an old or broken
    Graphviz: bpcli's own layout still works)."""
    try:
        data = json.loads(output) if output else None
    except ValueError:
        data = None
    if data is None:
        return None
    _, _, right, top = (float(v) for v in data["bb"].split(","))
    height = top + 2 * MARGIN

    def point(text: str) -> Point:
        x, y = text.split(",")
        return float(x) + MARGIN, top - float(y) + MARGIN  # Graphviz's y goes up

    places: list[Place | None] = [None] * len(sizes)
    for obj in data.get("objects", []):
        i = int(obj["name"][1:])
        x, y = point(obj["pos"])
        places[i] = Place(x, y, *sizes[i])
    routes = []
    for edge in data.get("edges", []):
        target, k = (int(v) for v in edge["id"][1:].split("_"))
        source = graph.inputs(target)[k]
        tip, *rest = edge["pos"].split()
        assert tip.startswith("e,")
        centre = point(edge["lp"]) if "lp" in edge else None
        if (target, k) in labels and centre is None:
            return None
        route = Route(source, target, k, tuple(point(p) for p in rest), point(tip[2:]), centre)
        routes.append(route)
    if any(p is None for p in places):
        return None
    routes.sort(key=lambda r: (r.target, r.k))
    return Layout(
        right + 2 * MARGIN, height, tuple(p for p in places if p), tuple(routes), "graphviz"
    )


# ---- bpcli's own: columns by depth ---------------------------------------------------------


def _by_depth(graph: Graph, sizes: list[Size], labels: Labels) -> Layout:
    n = len(sizes)
    depth = [0] * n
    for node in graph.nodes:  # topological order: inputs come first
        if node.inputs:
            depth[node.id] = 1 + max(depth[i] for i in node.inputs)
    consumers: list[list[int]] = [[] for _ in range(n)]
    for node in graph.nodes:
        for source in node.inputs:
            consumers[source].append(node.id)
    variables = set(graph.variables.values())
    for i in range(n):  # a constant sits just before its first use, not with the inputs
        if i not in variables and consumers[i] and not graph.inputs(i):
            depth[i] = min(depth[c] for c in consumers[i]) - 1
    columns: list[list[int]] = [[] for _ in range(max(depth) + 1)]
    for i in range(n):
        columns[depth[i]].append(i)
    rank = [0.0] * n  # the position in its column
    for column in columns:
        for r, i in enumerate(column):
            rank[i] = r
    for sweep in range(4):  # order each column by the mean position of its neighbours
        order = columns[1:] if sweep % 2 == 0 else columns[-2::-1]
        for column in order:
            for i in column:
                near = graph.inputs(i) if sweep % 2 == 0 else consumers[i]
                if near:
                    rank[i] = sum(rank[j] for j in near) / len(near)
            column.sort(key=lambda i: rank[i])
            for r, i in enumerate(column):
                rank[i] = r
    widths = [max(sizes[i][0] for i in column) for column in columns]
    heights = [sum(sizes[i][1] for i in c) + ROW_GAP * (len(c) - 1) for c in columns]
    gaps = [COLUMN_GAP] * len(columns)  # gaps[c]: before column c, wide enough for its labels
    for (target, _), (w, _) in labels.items():
        gaps[depth[target]] = max(gaps[depth[target]], w + 2 * LABEL_GAP + ARROW)
    total_h = max(heights) + 2 * MARGIN
    places: list[Place | None] = [None] * n
    left = MARGIN - gaps[0]
    lefts = []  # each column's left edge
    for column, width, column_h, gap in zip(columns, widths, heights, gaps, strict=True):
        left += gap
        lefts.append(left)
        y = (total_h - column_h) / 2
        for i in column:
            w, h = sizes[i]
            places[i] = Place(left + width / 2, y + h / 2, w, h)
            y += h + ROW_GAP
        left += width
    placed = [p for p in places if p is not None]
    routes = []
    for node in graph.nodes:
        seen: dict[int, int] = {}
        for k, source in enumerate(node.inputs):
            copy = seen.get(source, 0)  # x*x: two edges, bent apart
            seen[source] = copy + 1
            ends = (placed[source], placed[node.id])
            routes.append(_curve(source, node.id, k, len(node.inputs), ends, copy))
    spots = [at - ARROW - (gap - ARROW) / 2 for at, gap in zip(lefts, gaps, strict=True)]
    routes, bottom = _labelled(routes, depth, spots, labels)
    height = max(total_h, bottom + MARGIN)
    return Layout(left + MARGIN, height, tuple(placed), tuple(routes), "bpcli")


def _labelled(
    routes: list[Route], depth: list[int], spots: list[float], labels: Labels
) -> tuple[list[Route], float]:
    """The routes with their labels placed, and the lowest label's bottom: each label in
    the gap before its target's column (centred at x = `spots[column]`), on its edge,
    moved down past the label above it in that gap where they would overlap."""
    by_gap: dict[int, list[tuple[float, int, float]]] = {}  # column -> (y, route, height)
    for r, route in enumerate(routes):
        size = labels.get((route.target, route.k))
        if size is not None:
            column = depth[route.target]
            by_gap.setdefault(column, []).append((route.y_at(spots[column]), r, size[1]))
    bottom = 0.0
    out = list(routes)
    for column, items in by_gap.items():
        x = spots[column]
        items.sort()
        floor = -float("inf")  # the lowest bottom so far in this gap
        for y, r, h in items:
            y = max(y, floor + LABEL_GAP + h / 2, MARGIN + h / 2)
            floor = y + h / 2
            out[r] = replace(routes[r], label=(x, y))
        bottom = max(bottom, floor)
    return out, bottom


def _curve(source: int, target: int, k: int, n: int, ends: tuple[Place, Place], copy: int) -> Route:
    """A curve from the source's right side to the target's left, the k-th of n arriving."""
    a, b = ends
    start = (a.x + a.width / 2, a.y)
    spread = min(10.0, b.height / (n + 1))
    tip = (b.x - b.width / 2, b.y + (k - (n - 1) / 2) * spread)
    end = (tip[0] - 6, tip[1])
    bend = 14.0 * ((copy + 1) // 2) * (-1 if copy % 2 else 1)  # 0, -14, 14, -28, …
    mid = (start[0] + end[0]) / 2
    return Route(source, target, k, (start, (mid, start[1] + bend), (mid, end[1] + bend), end), tip)
