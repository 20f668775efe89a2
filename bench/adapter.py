"""The one place that knows bpcli's internals: how to time its passes one by one.

The benchmark times bpcli's parse, forward and backward apart. Only `bpcli.parse`
and `bpcli.evaluate` are public; the split passes live in `bpcli.engine` and
may be renamed or restructured. If they change, change this file only: when
they cannot be used, the runner times `bpcli.evaluate` as forward + backward
together and says so in the report.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

Answer = tuple[float, dict[str, float]]  # the output's value, d(output)/d(input) by name


@dataclass(frozen=True)
class BpcliPasses:
    """bpcli's passes as the benchmark times them.

    `forward(graph, inputs) -> state` and `backward(graph, state) -> state` are
    the split passes (None when unavailable); `answer(graph, forward_state,
    backward_state)` reads the output and the input gradients from them.
    `evaluate(graph, inputs)` runs both passes through the public API.
    """

    parse: Callable[[str], Any]
    evaluate: Callable[[Any, Mapping[str, float]], Answer]
    forward: Callable[[Any, Mapping[str, float]], Any] | None
    backward: Callable[[Any, Any], Any] | None
    answer: Callable[[Any, Any, Any], Answer] | None
    node_count: Callable[[Any], int]
    note: str  # why the split passes are not used, or ""


def bpcli_passes() -> BpcliPasses:
    import bpcli

    def evaluate(graph: Any, inputs: Mapping[str, float]) -> Answer:
        result = bpcli.evaluate(graph, inputs)
        return result.output, dict(result.gradients)

    def node_count(graph: Any) -> int:
        return len(graph.nodes)

    try:
        from bpcli.engine import backward, forward
    except ImportError as exc:
        return BpcliPasses(
            bpcli.parse, evaluate, None, None, None, node_count, f"no split passes ({exc})"
        )

    def answer(graph: Any, values: Any, grads: Any) -> Answer:
        gradients = {name: float(grads[node]) for name, node in graph.variables.items()}
        return float(values[graph.output]), gradients

    return BpcliPasses(
        bpcli.parse,
        evaluate,
        forward,
        lambda graph, values: backward(graph, values),
        answer,
        node_count,
        "",
    )
