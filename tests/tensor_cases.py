"""Tensor programs the graph views are tested on, with every node's value and gradient
from an independent source: the lecture's by hand (CS231n), the two-layer net's by
central differences through a NumPy copy of the net (and by PyTorch float64 autograd,
when it is installed, which must agree).

Each case gives, by node name, the value and ∂f/∂node; every node of these programs is
used once (but q of COPY, by hand too), so what an edge sends back is its source's
gradient.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from test_tensor_explain import central

try:
    import torch
except ImportError:  # torch is not a test dependency: PyTorch checks run where it is
    torch = None

LECTURE_TEXT = "q = W @ x; f = sum(q^2)"
LECTURE_AT = {"W": [[0.1, 0.5], [-0.3, 0.8]], "x": [0.2, 0.4]}
NET_TEXT = "h = relu(W1 @ x + b1); s = W2 @ h + b2; f = sum(s^2)"
# The README's two-layer net with the softmax loss (docs/two-layer-net.txt), at its values
SOFTMAX_NET_TEXT = "h = relu(W1 @ x + b1); s = W2 @ h + b2; loss = -log(softmax(s)[y])"
SOFTMAX_NET_AT = {
    "W1": [[0.2, -0.5, 0.1], [1.5, 1.3, -0.1]],
    "x": [1, 2, -1],
    "b1": [0, 0.1],
    "W2": [[1, -1], [0.5, 0.5], [-0.3, 0.2]],
    "b2": [0, 0, 0.1],
    "y": 2,
}
COPY_TEXT = "q = W @ x; f = sum(q^2) + sum(q)"


@dataclass
class Case:
    text: str
    at: dict[str, list]
    values: dict[str, object]  # node name -> value
    grads: dict[str, object]  # node name -> ∂f/∂node
    shapes: dict[str, tuple[int, ...]]
    sent: dict[tuple[str, str], object] = field(default_factory=dict)  # (source, target)


def _shapes(values: dict[str, object]) -> dict[str, tuple[int, ...]]:
    return {k: tuple(np.shape(v)) for k, v in values.items()}


def lecture() -> Case:
    """CS231n's ‖W·x‖², worked by hand: q = Wx, ∂f/∂q = 2q, ∂f/∂W = 2q·xᵀ, ∂f/∂x = 2Wᵀq."""
    values = {
        "W": LECTURE_AT["W"],
        "x": LECTURE_AT["x"],
        "q": [0.22, 0.26],
        "pow1": [0.0484, 0.0676],
        "f": 0.116,
    }
    grads = {
        "W": [[0.088, 0.176], [0.104, 0.208]],
        "x": [-0.112, 0.636],
        "q": [0.44, 0.52],
        "pow1": [1.0, 1.0],
        "f": 1.0,
    }
    sent = {("W", "q"): grads["W"], ("x", "q"): grads["x"], ("q", "pow1"): grads["q"]}
    sent[("pow1", "f")] = grads["pow1"]
    return Case(LECTURE_TEXT, LECTURE_AT, values, grads, _shapes(values), sent)


def copy_gate() -> Case:
    """q used twice: ∂f/∂q = 2q + 1 = [1.44, 1.52], by hand; each use sends its own part."""
    values = {"W": LECTURE_AT["W"], "x": LECTURE_AT["x"], "q": [0.22, 0.26]}
    values |= {"pow1": [0.0484, 0.0676], "sum1": 0.116, "sum2": 0.48, "f": 0.596}
    grads = {
        "W": [[0.288, 0.576], [0.304, 0.608]],  # outer([1.44, 1.52], [0.2, 0.4])
        "x": [-0.312, 1.936],  # Wᵀ[1.44, 1.52]
        "q": [1.44, 1.52],
        "pow1": [1.0, 1.0],
        "sum1": 1.0,
        "sum2": 1.0,
        "f": 1.0,
    }
    sent = {("W", "q"): grads["W"], ("x", "q"): grads["x"], ("q", "pow1"): [0.44, 0.52]}
    sent |= {("q", "sum2"): [1.0, 1.0], ("pow1", "sum1"): [1.0, 1.0]}
    sent |= {("sum1", "f"): 1.0, ("sum2", "f"): 1.0}
    return Case(COPY_TEXT, LECTURE_AT, values, grads, _shapes(values), sent)


def net(seed: int = 8, hidden: int = 4, inputs: int = 3, classes: int = 2) -> Case:
    """The two-layer net at seeded random values: every node's value by NumPy, every
    gradient by central differences of f as a function of that node."""
    rng = np.random.default_rng(seed)
    at = {
        "W1": rng.normal(size=(hidden, inputs)).round(2),
        "x": rng.normal(size=inputs).round(2),
        "b1": rng.normal(size=hidden).round(2),
        "W2": rng.normal(size=(classes, hidden)).round(2),
        "b2": rng.normal(size=classes).round(2),
    }
    W1, x, b1, W2, b2 = (at[k] for k in ("W1", "x", "b1", "W2", "b2"))
    # f from each node on: the rest of the net, in NumPy
    rest = {
        "f": lambda f: f,
        "pow1": lambda p: np.sum(p),
        "s": lambda s: np.sum(s**2),
        "matmul2": lambda m: np.sum((m + b2) ** 2),
        "h": lambda h: np.sum((W2 @ h + b2) ** 2),
        "add1": lambda a: np.sum((W2 @ np.maximum(a, 0) + b2) ** 2),
        "matmul1": lambda m: np.sum((W2 @ np.maximum(m + b1, 0) + b2) ** 2),
        "W1": lambda w: np.sum((W2 @ np.maximum(w @ x + b1, 0) + b2) ** 2),
        "x": lambda v: np.sum((W2 @ np.maximum(W1 @ v + b1, 0) + b2) ** 2),
        "b1": lambda b: np.sum((W2 @ np.maximum(W1 @ x + b, 0) + b2) ** 2),
        "W2": lambda w: np.sum((w @ np.maximum(W1 @ x + b1, 0) + b2) ** 2),
        "b2": lambda b: np.sum((W2 @ np.maximum(W1 @ x + b1, 0) + b) ** 2),
    }
    m1 = W1 @ x
    a1 = m1 + b1
    h = np.maximum(a1, 0)
    m2 = W2 @ h
    s = m2 + b2
    values = {**at, "matmul1": m1, "add1": a1, "h": h, "matmul2": m2, "s": s}
    values |= {"pow1": s**2, "f": float(np.sum(s**2))}
    assert np.all(np.abs(a1) > 1e-3), "a relu input at its kink: choose another seed"
    grads = {k: central(fn, values[k]) for k, fn in rest.items()}
    if torch is not None:
        for k, g in by_torch(at).items():
            np.testing.assert_allclose(g, grads[k], rtol=1e-6, atol=1e-8)
    edges = [("W1", "matmul1"), ("x", "matmul1"), ("matmul1", "add1"), ("b1", "add1")]
    edges += [("add1", "h"), ("W2", "matmul2"), ("h", "matmul2"), ("matmul2", "s")]
    edges += [("b2", "s"), ("s", "pow1"), ("pow1", "f")]
    sent = {edge: grads[edge[0]] for edge in edges}
    plain = {k: v.tolist() for k, v in at.items()}
    return Case(NET_TEXT, plain, values, grads, _shapes(values), sent)


def by_torch(at: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The net in PyTorch float64: ∂f/∂node for every input and intermediate node."""
    t = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in at.items()}
    nodes = {"matmul1": t["W1"] @ t["x"]}
    nodes["add1"] = nodes["matmul1"] + t["b1"]
    nodes["h"] = torch.relu(nodes["add1"])
    nodes["matmul2"] = t["W2"] @ nodes["h"]
    nodes["s"] = nodes["matmul2"] + t["b2"]
    nodes["pow1"] = nodes["s"] ** 2
    f = nodes["pow1"].sum()
    for node in nodes.values():
        node.retain_grad()
    f.backward()
    out = {k: v.grad.numpy() for k, v in t.items()}
    out |= {k: v.grad.numpy() for k, v in nodes.items()}
    return out


NUMBER = re.compile(r"-?\d+(?:\.\d*)?(?:e[-+]?\d+)?")


def numbers(text: str) -> list[float]:
    """Every number written in `text`, in order (`[[ 0.1, 0.5], [-0.3, 0.8]]`: four)."""
    return [float(n) for n in NUMBER.findall(text)]


def same(text: str, expected: object) -> bool:
    """Whether `text` writes exactly the elements of `expected` (to the 6 decimals a
    tensor is shown with), in order."""
    want = np.ravel(np.asarray(expected, dtype=float))
    got = numbers(text)
    return len(got) == want.size and np.allclose(got, want, rtol=1e-5, atol=2e-6)
