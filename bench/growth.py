"""How a graph view's time grows with the graph: the fitted exponent of time against size.

A view that finds each edge's gradient by searching the node's uses is quadratic
in a node's uses: `to_dot` on `x + x + … + x` once took 0.16 s for 2,000 uses of
`x` and 6.45 s for 16,000. Here each view is timed (evaluate, then lay out, as
`bpcli graph` does) on that sum at three or more sizes at least 10x apart, and the
slope of log(time) against log(size) is its growth exponent: about 1 for a
linear view, about 2 for a quadratic one.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from time import perf_counter
from typing import Any

TARGET = 1.15  # at most this exponent: linear, with room for the noise of a busy machine
SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (100, 1_000, 10_000)

# A view to time at a size: made once per size (parse outside the timing), then called.
View = Callable[[int], Callable[[], object]]


def exponent(sizes: Sequence[float], seconds: Sequence[float]) -> float:
    """The least-squares slope of log(seconds) against log(sizes)."""
    xs = [math.log(size) for size in sizes]
    ys = [math.log(max(s, 1e-12)) for s in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread


def check_sizes(sizes: Sequence[int]) -> None:
    """At least three sizes, each at least 10x the one before: ValueError if not."""
    if len(sizes) < 3 or any(b < 10 * a for a, b in itertools.pairwise(sizes)):
        raise ValueError(f"growth needs three or more sizes, each 10x the last: {list(sizes)}")


@dataclass(frozen=True)
class Growth:
    """One view's times (best of the repeats) at each size, and their exponent."""

    view: str
    sizes: tuple[int, ...]
    seconds: tuple[float, ...]

    @property
    def exponent(self) -> float:
        return exponent(self.sizes, self.seconds)


def measure(
    view: str,
    make: View,
    sizes: Sequence[int],
    repeat: int = 3,
    clock: Callable[[], float] = perf_counter,
) -> Growth:
    check_sizes(sizes)
    times = []
    for size in sizes:
        run = make(size)
        best = math.inf
        for _ in range(max(1, repeat)):
            start = clock()
            run()
            best = min(best, clock() - start)
        times.append(best)
    return Growth(view, tuple(sizes), tuple(times))


def sum_of_uses(n: int) -> str:
    """`x + x + … + x`: one node used n times, the shape that made the views quadratic."""
    return " + ".join(["x"] * n)


def _view(lay_out: Callable[[Any, Any], object]) -> View:
    def make(n: int) -> Callable[[], object]:
        import bpcli

        graph = bpcli.parse(sum_of_uses(n))
        return lambda: lay_out(graph, bpcli.evaluate(graph, {"x": 1.0}))

    return make


def _dot(graph: Any, result: Any) -> object:
    from bpcli.render.dot import to_dot

    return to_dot(graph, result)


def _mermaid(graph: Any, result: Any) -> object:
    from bpcli.render.mermaid import to_mermaid

    return to_mermaid(graph, result)


VIEWS: dict[str, View] = {"to_dot": _view(_dot), "to_mermaid": _view(_mermaid)}


def measure_views(sizes: Sequence[int], repeat: int = 3) -> list[Growth]:
    return [measure(name, make, sizes, repeat) for name, make in VIEWS.items()]
