"""The engines, each timed on the same tape inside its own worker process.

An engine is prepared (imports, the input in its own form) before the
worker takes its memory baseline, then `run` once per repeat: it builds the
graph (bpcli: parses the text), runs the forward and the backward pass, and
returns the time of each phase and its answer for the correctness check.

PyTorch and micrograd are eager: building the graph *is* the forward pass,
so their build time includes it and their forward time is None.
"""

from __future__ import annotations

import importlib.util
import math
import sys
import threading
from collections.abc import Callable
from time import perf_counter
from typing import Any

from .adapter import Answer, bpcli_passes
from .graphs import ADD, CONST, MUL, SIGMOID, TANH, VAR, Tape
from .graphs import backward as tape_backward
from .graphs import forward as tape_forward

Phases = dict[str, float]  # "build", "forward", "backward", or "forward+backward" together

# What each engine needs importable; the runner skips an engine whose module is missing.
MODULES = {"bpcli": "bpcli", "torch": "torch", "micrograd": "micrograd", "sympy": "sympy"}
DESCRIPTIONS = {
    "bpcli": "`bpcli.parse` on the text, then the forward and the backward pass "
    "(`bpcli.engine.forward`, `backward`; see bench/adapter.py); the passes run up to "
    "5 times on one parse (for at most 1 s), each on the graph as parsed, and the run's "
    "forward and backward are the repeat with the median sum",
    "torch": "PyTorch, 0-dim float64 tensors with `requires_grad=True`, constants as "
    "Python floats, then `.backward()`",
    "micrograd": "micrograd's `Value`; it has no tanh or sigmoid, so they are added as "
    "micrograd adds an op (a `Value` with its own `_backward`); the recursion limit is "
    "raised in its process for its recursive topological sort",
    "sympy": "SymPy: build the expression (it simplifies as it goes: it collects like "
    "terms and distributes numeric factors), evaluate it with `xreplace`, then `diff` "
    "by every input and evaluate each derivative",
    "python": "plain Python floats walking the same tape forward and backward, no "
    "graph objects: the floor for a pure-Python engine",
}


def missing(name: str) -> str | None:
    """Why an engine cannot run here, or None."""
    module = MODULES.get(name)
    if module is not None and importlib.util.find_spec(module) is None:
        return f"{module} is not installed"
    return None


class Engine:
    name = ""
    build_is_forward = False  # eager: building the graph computes the forward pass
    note = ""  # shown in the report next to the engine's rows

    def prepare(self, tape: Tape, text: str | None) -> None:
        self.tape = tape

    def run(self) -> tuple[Phases, Answer]:
        raise NotImplementedError

    def nodes(self) -> int | None:
        """How many nodes the engine's own graph has, where it can tell (a check)."""
        return None


class Bpcli(Engine):
    name = "bpcli"

    def prepare(self, tape: Tape, text: str | None) -> None:
        assert text is not None
        self.tape, self.text = tape, text
        self.passes = bpcli_passes()
        self.note = self.passes.note
        self.inputs = tape.inputs()
        self.graph_nodes: int | None = None

    def run(self) -> tuple[Phases, Answer]:
        passes = self.passes
        start = perf_counter()
        graph = passes.parse(self.text)
        parsed = perf_counter()
        try:
            self.graph_nodes = passes.node_count(graph)
        except (TypeError, AttributeError):  # the graph changed shape: skip this check
            self.graph_nodes = None
        if passes.forward is not None and passes.backward is not None and passes.answer:
            try:
                return self._passes(graph, parsed - start)
            except (TypeError, AttributeError, KeyError, IndexError) as exc:
                # The split passes changed shape: fall back to the public API from now on.
                self.note = f"split passes unusable ({type(exc).__name__}: {exc})"
                self.passes = passes = _without_split(passes)
                parsed = perf_counter()
        answer = passes.evaluate(graph, self.inputs)
        done = perf_counter()
        return {"build": parsed - start, "forward+backward": done - parsed}, answer

    def _passes(self, graph: Any, build: float) -> tuple[Phases, Answer]:
        """The passes, PASS_REPEATS times or for PASS_BUDGET_S: a 10^5-node graph's take
        tens of milliseconds, and one sample a parse left their median to the machine's
        noise (38 to 74 ms in two runs). Each repeat starts from the graph as parsed: what
        the passes make once and keep (graph.derived), they make again."""
        passes, derived = self.passes, getattr(graph, "derived", None)
        assert passes.forward is not None and passes.backward is not None and passes.answer
        repeats = 1 if derived is None else PASS_REPEATS  # without it, a repeat is warm
        timed: list[tuple[float, float]] = []
        answer = None
        spent = 0.0
        while len(timed) < repeats and (not timed or spent < PASS_BUDGET_S):
            if derived is not None:
                derived.clear()
            begun = perf_counter()
            values = passes.forward(graph, self.inputs)
            forwarded = perf_counter()
            grads = passes.backward(graph, values)
            done = perf_counter()
            timed.append((forwarded - begun, done - forwarded))
            spent += done - begun
            if answer is None:
                answer = passes.answer(graph, values, grads)
        forward, backward = sorted(timed, key=sum)[len(timed) // 2]
        assert answer is not None  # the loop runs at least once
        return {"build": build, "forward": forward, "backward": backward}, answer

    def nodes(self) -> int | None:
        return self.graph_nodes


PASS_REPEATS = 5  # forward + backward on one parse, at most (Bpcli._passes)
PASS_BUDGET_S = 1.0  # … and no more repeats once they have taken this long


def _without_split(passes: Any) -> Any:
    from dataclasses import replace

    return replace(passes, forward=None, backward=None, answer=None)


def _walk(tape: Tape, leaf: Callable[[str, float], Any], ops: dict[int, Callable[..., Any]]) -> Any:
    """Build an engine's graph by walking the tape: its own leaves and its own ops.

    Constants stay plain Python floats, as a user writes them (`y * 0.5`).
    Returns the output and the leaves by name.
    """
    code, left, right, number = tape.code, tape.left, tape.right, tape.number
    names = {node: name for name, node in tape.variables.items()}
    add, mul, tanh, sigmoid = ops[ADD], ops[MUL], ops[TANH], ops[SIGMOID]
    value: list[Any] = [None] * len(code)
    leaves: dict[str, Any] = {}
    for i in range(len(code)):
        op = code[i]
        if op == ADD:
            value[i] = add(value[left[i]], value[right[i]])
        elif op == MUL:
            value[i] = mul(value[left[i]], value[right[i]])
        elif op == TANH:
            value[i] = tanh(value[left[i]])
        elif op == SIGMOID:
            value[i] = sigmoid(value[left[i]])
        elif op == CONST:
            value[i] = number[i]
        elif op == VAR:
            name = names[i]
            value[i] = leaves[name] = leaf(name, number[i])
    return value[-1], leaves


def _add(a: Any, b: Any) -> Any:
    return a + b


def _mul(a: Any, b: Any) -> Any:
    return a * b


class Torch(Engine):
    name = "torch"
    build_is_forward = True

    def prepare(self, tape: Tape, text: str | None) -> None:
        import warnings

        warnings.filterwarnings("ignore")  # "Failed to initialize NumPy": not needed here
        import torch

        self.tape = tape
        self.torch = torch
        self.ops: dict[int, Callable[..., Any]] = {
            ADD: _add, MUL: _mul, TANH: torch.tanh, SIGMOID: torch.sigmoid,
        }  # fmt: skip

    def run(self) -> tuple[Phases, Answer]:
        torch = self.torch

        def leaf(name: str, value: float) -> Any:
            return torch.tensor(value, dtype=torch.float64, requires_grad=True)

        start = perf_counter()
        out, leaves = _walk(self.tape, leaf, self.ops)
        built = perf_counter()
        out.backward()
        done = perf_counter()
        answer = float(out.item()), {name: float(t.grad.item()) for name, t in leaves.items()}
        return {"build": built - start, "backward": done - built}, answer


class Micrograd(Engine):
    """micrograd 0.1.0's `Value` has +, *, ** and relu, not tanh or sigmoid: they are
    added here as micrograd adds an op (a Value with its own `_backward` closure)."""

    name = "micrograd"
    build_is_forward = True

    def prepare(self, tape: Tape, text: str | None) -> None:
        from micrograd.engine import Value

        self.tape = tape
        self.Value = Value

        def tanh(v: Any) -> Any:
            t = math.tanh(v.data)
            out = Value(t, (v,), "tanh")

            def _backward() -> None:
                v.grad += (1 - t * t) * out.grad

            out._backward = _backward
            return out

        def sigmoid(v: Any) -> Any:
            s = 1.0 / (1.0 + math.exp(-v.data)) if v.data >= 0 else _low_sigmoid(v.data)
            out = Value(s, (v,), "sigmoid")

            def _backward() -> None:
                v.grad += s * (1 - s) * out.grad

            out._backward = _backward
            return out

        self.ops: dict[int, Callable[..., Any]] = {
            ADD: _add,
            MUL: _mul,
            TANH: tanh,
            SIGMOID: sigmoid,
        }
        # Its topological sort recurses once per level of depth.
        sys.setrecursionlimit(max(10_000, 4 * len(tape) + 1_000))

    def run(self) -> tuple[Phases, Answer]:
        Value = self.Value
        result: list[Any] = []

        def work() -> None:
            try:
                start = perf_counter()
                out, leaves = _walk(self.tape, lambda name, value: Value(value), self.ops)
                built = perf_counter()
                out.backward()
                done = perf_counter()
                answer = float(out.data), {name: float(v.grad) for name, v in leaves.items()}
                result.append(({"build": built - start, "backward": done - built}, answer))
            except BaseException as exc:  # re-raised in the worker's main thread
                result.append(exc)

        # A deep recursion needs a deep C stack too (on Pythons that use it for calls).
        threading.stack_size(512 * 1024 * 1024)
        thread = threading.Thread(target=work)
        thread.start()
        thread.join()
        (outcome,) = result
        if isinstance(outcome, BaseException):
            raise outcome
        phases, answer = outcome
        return phases, answer


def _low_sigmoid(x: float) -> float:
    e = math.exp(x)
    return e / (1.0 + e)


class Sympy(Engine):
    """SymPy builds the expression (it simplifies as it goes: it collects like terms
    and distributes numeric factors), differentiates it by every input, and
    evaluates the output and each derivative by substituting the values."""

    name = "sympy"

    def prepare(self, tape: Tape, text: str | None) -> None:
        import sympy

        self.tape = tape
        self.sympy = sympy
        self.ops = {
            ADD: _add,
            MUL: _mul,
            TANH: sympy.tanh,
            SIGMOID: lambda z: 1 / (1 + sympy.exp(-z)),
        }

    def run(self) -> tuple[Phases, Answer]:
        sympy = self.sympy
        # SymPy caches results across calls: each run starts cold, as the first one did.
        sympy.core.cache.clear_cache()
        start = perf_counter()
        out, symbols = _walk(self.tape, lambda name, value: sympy.Symbol(name), self.ops)
        built = perf_counter()
        inputs = self.tape.inputs()
        at = {symbols[name]: sympy.Float(value) for name, value in inputs.items()}
        output = float(out.xreplace(at))
        forwarded = perf_counter()
        gradients = {name: float(sympy.diff(out, s).xreplace(at)) for name, s in symbols.items()}
        done = perf_counter()
        phases = {
            "build": built - start,
            "forward": forwarded - built,
            "backward": done - forwarded,
        }
        return phases, (output, gradients)


class Python(Engine):
    """The tape itself, forward and backward in plain Python floats: no graph to build."""

    name = "python"

    def run(self) -> tuple[Phases, Answer]:
        tape = self.tape
        start = perf_counter()  # no graph to build: the tape is the graph
        value = tape_forward(tape)
        forwarded = perf_counter()
        gradients = tape_backward(tape, value)
        done = perf_counter()
        answer = value[tape.output], gradients
        return {"forward": forwarded - start, "backward": done - forwarded}, answer


ENGINES: dict[str, type[Engine]] = {
    "bpcli": Bpcli,
    "torch": Torch,
    "micrograd": Micrograd,
    "sympy": Sympy,
    "python": Python,
}
