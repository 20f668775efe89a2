"""The walkthrough over vectors and matrices (issue 13): `--explain`, `--json --explain`
and the write-ups of a tensor program.

The lecture's example (CS231n's f = ‖W·x‖²) is compared whole, from numbers worked by
hand; the other examples' numbers come from NumPy written out here and central
differences (and PyTorch float64 autograd where it is installed), never from bpcli.
"""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from rich.console import Console

import bpcli
from bpcli.render.explain import ExplainView
from bpcli.render.walkthrough import CopyGate, Gate, json_steps
from bpcli.render.writeup import to_latex, to_markdown
from latex import FRAGMENT_DOCUMENT, pdf_text
from test_explain import logical_lines as scalar_logical_lines

OPERATORS = (
    " ×",
    " -",
    " +",
    " ·",
    " ⊙",
    " ⊗",
    " @",
    " /",
    " *",
)  # a tensor's term breaks after them


def logical_lines(text: str) -> list[str]:
    """As for scalars (an equation's `=` lines joined back), and a tensor broken between
    its elements joined back too (a line inside an unclosed `[`, or after a line ending in
    an operator, goes on the one above), its padding undone: `[[ 0.9, 0, 0.7],` and
    `[ 0.4, …` give `[[0.9, 0, 0.7], [0.4, …`."""
    out: list[str] = []
    for line in scalar_logical_lines(text):
        if out and (out[-1].count("[") > out[-1].count("]") or out[-1].endswith(OPERATORS)):
            out[-1] += " " + line
        else:
            out.append(line)
    return [re.sub(r"\[ +", "[", line) for line in out]


try:
    import torch
except ImportError:  # torch is not a test dependency: PyTorch checks run where it is
    torch = None

LECTURE = ("q = W @ x; f = sum(q^2)", {"W": [[0.1, 0.5], [-0.3, 0.8]], "x": [0.2, 0.4]})


def explain(text, values, width=80, **options):
    """The walkthrough as `grad --explain` prints it (uncropped)."""
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(ExplainView(bpcli.grad(text, values, **options)), crop=False)
    return console.file.getvalue()


def central(f, value, h=1e-6):
    """Central differences of the number f(v) in every element of v at `value`."""
    base = np.asarray(value, dtype=float)
    grad = np.zeros(base.shape)
    for where in np.ndindex(base.shape):
        up, down = base.copy(), base.copy()
        up[where] += h
        down[where] -= h
        grad[where] = (f(up) - f(down)) / (2 * h)
    return grad


def by_hand(f, values):
    """Central differences of f(**values) for every value (f written in NumPy here)."""
    return {
        name: central(lambda v, name=name: f(**{**values, name: v}), value)
        for name, value in values.items()
    }


def by_torch(f, values):
    """PyTorch float64 gradients of f(**tensors) for every value (None without PyTorch)."""
    if torch is None:
        return None
    tensors = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in values.items()
    }
    f(**tensors).backward()
    return {k: t.grad.numpy() for k, t in tensors.items()}


# ---- the lecture's example, whole --------------------------------------------------------
# By hand: q = W·x = [0.1·0.2 + 0.5·0.4, -0.3·0.2 + 0.8·0.4] = [0.22, 0.26]; q² =
# [0.0484, 0.0676]; f = 0.116. ∂f/∂q = 2q = [0.44, 0.52]; ∂f/∂W = ∂f/∂q ⊗ x =
# [[0.44·0.2, 0.44·0.4], [0.52·0.2, 0.52·0.4]] = [[0.088, 0.176], [0.104, 0.208]];
# ∂f/∂x = Wᵀ·∂f/∂q = [0.1·0.44 - 0.3·0.52, 0.5·0.44 + 0.8·0.52] = [-0.112, 0.636].
# Update with α = 0.1: W - 0.1·∂f/∂W = [[0.0912, 0.4824], [-0.3104, 0.7792]], x - 0.1·∂f/∂x =
# [0.2112, 0.3364]; then q = [0.0912·0.2112 + 0.4824·0.3364, -0.3104·0.2112 + 0.7792·0.3364]
# = [0.1815408, 0.1965664] and f = 0.0329571 + 0.0386383 = 0.0715954.
LECTURE_WALKTHROUGH = """\
╭─ 1. forward pass ────────────────────────────────────────────────────────────╮
│ inputs: W = [[0.1, 0.5], [-0.3, 0.8]], x = [0.2, 0.4]                        │
│ q    = W @ x = [[0.1, 0.5], [-0.3, 0.8]] @ [0.2, 0.4] =     [0.22, 0.26]     │
│ pow1 = q^2 = [0.22, 0.26]^2                           = [0.0484, 0.0676]     │
│ f    = sum(pow1) = sum([0.0484, 0.0676])              =            0.116     │
│ shapes: W (2, 2), x (2,)                                                     │
│   q: (2, 2) @ (2,) → (2,)                                                    │
│   pow1: (2,)^2 → (2,)                                                        │
│   f: sum((2,)) → ()                                                          │
│ output: f = 0.116                                                            │
╰──────────────────────────────────────────────────────────────────────────────╯
╭─ 2. backward pass ───────────────────────────────────────────────────────────╮
│ ∂f/∂f = 1  (the output: the backward pass starts here)                       │
│                                                                              │
│ f = sum(pow1): sum gate, gradient distributor                                │
│   downstream ∂f/∂pow1 = upstream ∂f/∂f · local ∂sum(pow1)/∂pow1              │
│   ∂f/∂pow1 = ∂f/∂f = 1 = [1, 1]                                              │
│   ∂f/∂pow1 = ∂f/∂f: () → (2,), the shape of pow1                             │
│   gradient distributor: sum adds up the elements of pow1, as an add gate     │
│   adds its inputs, so each element gets the upstream gradient 1 of its sum   │
│   unchanged                                                                  │
│                                                                              │
│ pow1 = q^2: pow gate, power rule                                             │
│   downstream ∂f/∂q = upstream ∂f/∂pow1 · local ∂pow1/∂q                      │
│   ∂f/∂q = ∂f/∂pow1 ⊙ (2·q^(2 - 1)) = [1, 1] ⊙ (2·[0.22, 0.26]^(2 - 1))       │
│         = [0.44, 0.52]                                                       │
│   ∂f/∂q = ∂f/∂pow1 ⊙ (2·q^(2 - 1)): (2,) ⊙ (2,) → (2,), the shape of q       │
│   power rule, elementwise: the local gradient is ∂pow1/∂q = 2·q^(2 - 1),     │
│   element by element                                                         │
│                                                                              │
│ q = W @ x: matmul gate, matrix multiplier                                    │
│   downstream ∂f/∂W, ∂f/∂x = upstream ∂f/∂q · local ∂q/∂W, ∂q/∂x              │
│   ∂f/∂W = ∂f/∂q · xᵀ = [0.44, 0.52] ⊗ [0.2, 0.4]                             │
│         = [[0.088, 0.176], [0.104, 0.208]]                                   │
│   ∂f/∂x = Wᵀ · ∂f/∂q = [[0.1, 0.5], [-0.3, 0.8]]ᵀ · [0.44, 0.52]             │
│         = [-0.112, 0.636]                                                    │
│   ∂f/∂W = ∂f/∂q · xᵀ: (2,) ⊗ (2,) → (2, 2), the shape of W                   │
│   ∂f/∂x = Wᵀ · ∂f/∂q: (2, 2)ᵀ · (2,) → (2,), the shape of x                  │
│   matrix multiplier, the swap multiplier for matrices: each input gets the   │
│   upstream gradient times the other input (W: ∂f/∂q · xᵀ, x: Wᵀ · ∂f/∂q),    │
│   the other input transposed: that is the one way to multiply them that      │
│   gives the input's own shape                                                │
╰──────────────────────────────────────────────────────────────────────────────╯
╭─ 3. update step ─────────────────────────────────────────────────────────────╮
│ α = 0.1: each input takes a step against its gradient                        │
│ W := W - α × ∂f/∂W                                                           │
│    = [[0.1, 0.5], [-0.3, 0.8]] - 0.1 × [[0.088, 0.176], [0.104, 0.208]]      │
│    = [[0.0912, 0.4824], [-0.3104, 0.7792]]                                   │
│ x := x - α × ∂f/∂x = [0.2, 0.4] - 0.1 × [-0.112, 0.636] = [0.2112, 0.3364]   │
│ after the update: f = 0.0715954                                              │
╰──────────────────────────────────────────────────────────────────────────────╯
"""


def test_the_lecture_walkthrough_in_full():
    assert explain(*LECTURE, lr=0.1) == LECTURE_WALKTHROUGH


def test_the_lecture_command_line_explains_after_the_table(bpcli):
    run = bpcli("grad", LECTURE[0], "--W", "[[0.1, 0.5], [-0.3, 0.8]]", "--x", "[0.2, 0.4]",
                "--lr", "0.1", "--explain")  # fmt: skip
    assert run.code == 0, run.stderr
    assert run.stdout.startswith("computational graph\n")
    # the walkthrough after the table, as the API lays it out at the terminal's 80 columns
    assert run.stdout.endswith("\n\n" + LECTURE_WALKTHROUGH)
    assert all(line == line.rstrip() for line in run.stdout.splitlines())  # no trailing spaces


def test_precision_sets_the_tensor_table_and_walkthrough(bpcli):
    # mean([1, 2]) / 3 = 0.5: ∂f/∂x = [1/6, 1/6] = [0.1666…, 0.1666…]
    run = bpcli("grad", "mean(x) / 3", "--x", "[1, 2]", "--precision", "3", "--explain")
    assert run.code == 0, run.stderr
    assert "∂f/∂x = [0.167, 0.167]" in run.stdout  # the table's answer
    assert "[0.166667" not in run.stdout and "0.167" in run.stdout.split("╭─ 2.")[1]


# ---- more programs: the two-layer net, a broadcast bias, a tensor used twice, softmax ----
# Values chosen so that no relu input is 0 and no max ties (no kink: central differences hold).
NET = "h = relu(W1 @ x + b1); s = W2 @ h + b2; f = sum(s^2)"
NET_VALUES = {
    "W1": [[0.2, -0.5, 0.1], [1.5, 1.3, -0.1]],
    "x": [1.0, 2.0, -1.0],
    "b1": [0.0, 0.1],
    "W2": [[1.0, -1.0], [0.5, 0.5], [-0.3, 0.2]],
    "b2": [0.0, 0.0, 0.1],
}


def net(W1, x, b1, W2, b2, relu=lambda v: np.maximum(v, 0)):
    h = relu(W1 @ x + b1)
    return ((W2 @ h + b2) ** 2).sum()


# a batch of 4 rows: b (3,) is broadcast over them
BIAS = "s = X @ W + b; f = sum(s^2)"
BIAS_VALUES = {
    "X": [[1.0, 2.0], [0.0, 1.0], [2.0, -1.0], [1.0, 1.0]],
    "W": [[0.1, 0.2, -0.3], [0.4, -0.1, 0.5]],
    "b": [1.0, -1.0, 0.5],
}


def bias(X, W, b):
    return ((X @ W + b) ** 2).sum()


TWICE = ("f = sum(x * x)", {"x": [1.0, -2.0, 3.0]})
# CS231n's cat scores: p = softmax(s), loss = -log p[y]; ∂loss/∂s = p - onehot(y)
SOFTMAX = ("loss = -log(softmax(s)[y])", {"s": [3.2, 5.1, -1.7], "y": 0})

EXAMPLES = {
    "lecture": (*LECTURE, {"lr": 0.1}),
    "two-layer net": (NET, NET_VALUES, {"lr": 0.01}),
    "broadcast bias": (BIAS, BIAS_VALUES, {}),
    "used twice": (*TWICE, {}),
    "softmax loss": (*SOFTMAX, {}),
}


def walk_equations(text, values, **options):
    """Every equation the walkthrough shows, unbroken."""
    w = ExplainView(bpcli.grad(text, values, **options)).walk
    equations = [e.equation for e in w.forward] + [d.equation for d in w.update]
    for step in w.backward:
        equations += [s.equation for s in step.sends] if isinstance(step, Gate) else [step.equation]
    return [" ".join(e.text().split()) for e in equations]


@pytest.mark.parametrize("width", [40, 60, 80, 120])
@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_joining_each_equations_lines_gives_it_back(example, width):
    """An equation breaks only before an `=` (or a copy gate's sum before a `+`), at
    every width: joined back, each line gives the whole equation again."""
    text, values, options = EXAMPLES[example]
    shown = explain(text, values, width, **options)
    lines = logical_lines(shown)
    for equation in walk_equations(text, values, **options):
        assert equation in lines, (equation, shown)
    # each box is the console's width: a formula too wide for a line breaks after an
    # operator (softmax's local gradient, 54 cells, did not, and widened its box)
    panels: list[list[str]] = []
    for line in shown.splitlines():
        if line.startswith("╭"):
            panels.append([])
        panels[-1].append(line)
    for panel in panels:
        assert {len(line) for line in panel} == {width}, shown
    if width >= 80 and example in ("lecture", "softmax loss", "used twice"):
        assert {len(line) for line in shown.splitlines()} == {width}


def _steps(text, values, **options):
    return json_steps(bpcli.grad(text, values, **options))


def _downstream(steps):
    """{input name: [downstream values]} over every gate of the JSON steps."""
    sent: dict[str, list] = {}
    for step in steps:
        if step["kind"] == "gate":
            for item in step["inputs"]:
                sent.setdefault(item["name"], []).append(item["downstream"]["value"])
    return sent


def test_the_two_layer_net_against_central_differences_and_torch():
    text = explain(NET, NET_VALUES)
    want = by_hand(net, {k: np.array(v) for k, v in NET_VALUES.items()})
    torch_wants = by_torch(lambda **t: net(**t, relu=torch.relu), NET_VALUES)
    sent = _downstream(_steps(NET, NET_VALUES))
    for name, grad in want.items():
        (got,) = sent[name]  # each input is used once: its gradient is its one downstream
        np.testing.assert_allclose(got, grad, rtol=1e-6, atol=1e-8)
        if torch_wants is not None:
            np.testing.assert_allclose(got, torch_wants[name], rtol=1e-12, atol=1e-12)
    joined = " ".join(logical_lines(text))
    # the dimension analysis of both layers' matrix products
    assert "∂f/∂W2 = ∂f/∂matmul2 · hᵀ: (3,) ⊗ (2,) → (3, 2), the shape of W2" in joined
    assert "∂f/∂h = W2ᵀ · ∂f/∂matmul2: (3, 2)ᵀ · (3,) → (2,), the shape of h" in joined
    assert "∂f/∂W1 = ∂f/∂matmul1 · xᵀ: (2,) ⊗ (3,) → (2, 3), the shape of W1" in joined
    assert "∂f/∂x = W1ᵀ · ∂f/∂matmul1: (2, 3)ᵀ · (2,) → (3,), the shape of x" in joined
    # the lecture's patterns, said over tensors
    assert "h = relu(add1): relu gate, switch" in joined
    assert "switch, elementwise: the local gradient is ∂h/∂add1 = 1 if add1 > 0, else 0" in joined
    assert "add1 = matmul1 + b1: add gate, gradient distributor" in joined
    assert "matrix multiplier, the swap multiplier for matrices" in joined
    # by hand: W1·x + b1 = [0.2 - 1 - 0.1, 1.5 + 2.6 + 0.1] + [0, 0.1] = [-0.9, 4.3]: the relu
    # blocks the first element, so ∂f/∂W1's first row is 0
    np.testing.assert_array_equal(np.asarray(sent["W1"][0])[0], [0, 0, 0])


def test_a_broadcast_bias_sums_its_gradient_over_the_rows():
    values = {k: np.array(v) for k, v in BIAS_VALUES.items()}
    text = " ".join(logical_lines(explain(BIAS, BIAS_VALUES)))
    assert "b (3,) was broadcast over 4 rows: its gradient sums ∂f/∂s over those rows" in text
    assert "∂f/∂b = ∂f/∂s: (4, 3) → (4, 3), summed to (3,), the shape of b" in text
    # by hand: ∂f/∂s = 2s, and ∂f/∂b is its sum over the 4 rows
    s = values["X"] @ values["W"] + values["b"]
    rows = 2 * s.sum(axis=0)
    want = by_hand(bias, values)
    np.testing.assert_allclose(rows, want["b"], rtol=1e-6)
    (got,) = _downstream(_steps(BIAS, BIAS_VALUES))["b"]
    np.testing.assert_allclose(got, rows, rtol=1e-12)
    assert "∂f/∂b = sum(∂f/∂s, 0) = " in text  # the sum written as the program writes one
    np.testing.assert_allclose(_downstream(_steps(BIAS, BIAS_VALUES))["X"][0], want["X"], rtol=1e-6)


@pytest.mark.parametrize(
    ("text", "values", "sentence"),
    [
        # a column (4, 1) broadcast over 3 columns
        ("f = sum(X * c)", {"X": np.ones((4, 3)), "c": [[1.0], [2.0], [3.0], [4.0]]},
         "c (4, 1) was broadcast over 3 columns: its gradient sums ∂f/∂mul1 ⊙ X over those"
         " columns"),
        # a number broadcast over a whole matrix
        ("f = sum(a * X)", {"X": np.ones((4, 3)), "a": 2.0},
         "a () was broadcast over 4 rows and 3 columns: its gradient sums ∂f/∂mul1 ⊙ X over"
         " all 12 elements"),
        # a number broadcast over a vector
        ("f = sum(x - m)", {"x": [1.0, 2.0, 3.0], "m": 0.5},
         "m () was broadcast over 3 elements: its gradient sums -∂f/∂sub1 over those elements"),
    ],
)  # fmt: skip
def test_each_broadcast_is_undone_and_said(text, values, sentence):
    assert sentence in " ".join(logical_lines(explain(text, values, width=120)))


def test_a_tensor_used_twice_is_a_copy_gate():
    result = bpcli.grad(*TWICE)
    walk = ExplainView(result).walk
    (copy,) = [step for step in walk.backward if isinstance(step, CopyGate)]
    # by hand: each use of x in x * x sends ∂f/∂mul1 ⊙ x = [1, -2, 3]; they add up to 2x
    assert copy.equation.text() == "∂f/∂x = [1, -2, 3] + [1, -2, 3] = [2, -4, 6]"
    text = " ".join(logical_lines(explain(*TWICE)))
    assert "x: copy gate, gradient adder (used 2 times)" in text
    assert "∂f/∂x += ∂f/∂mul1 ⊙ x = [1, 1, 1] ⊙ [1, -2, 3] = [1, -2, 3]" in text
    assert "swap multiplier, elementwise: each input gets the upstream gradient" in text
    assert "the gradients that flow back along its uses add up" in text


def test_the_softmax_loss():
    # by hand: e^3.2 = 24.53253, e^5.1 = 164.02191, e^-1.7 = 0.1826835, their sum 188.73712;
    # p = [0.1299823, 0.8690495, 0.0009679], loss = -ln 0.1299823 = 2.040357,
    # ∂loss/∂s = p - [1, 0, 0] = [-0.870017, 0.86905, 0.000967926]; y is an index, which
    # is not differentiable: no gradient (PyTorch's y.grad is None), no equation for it
    text = " ".join(logical_lines(explain(*SOFTMAX)))
    assert "output: loss = 2.04036" in text
    assert "softmax1 = softmax(s): softmax gate, softmax" in text
    assert "∂loss/∂s = (diag(softmax1) - softmax1·softmax1ᵀ) · ∂loss/∂softmax1" in text
    assert "= [-0.870017, 0.86905, 0.000967926]" in text
    assert "∂loss/∂y" not in text
    assert (
        "gradient router: softmax1[y] picks one element of softmax1, which gets the whole"
        " gradient -7.69334; the other elements get 0, and the index gets no gradient"
    ) in text  # -1/p[0] = -1/0.129983
    # a gate of numbers only reads as the scalar walkthrough: `·`, and no shapes
    assert "∂loss/∂index1 = ∂loss/∂log1 · 1/index1 = -1 · 1/0.129983 = -7.69334" in text
    s = np.array(SOFTMAX[1]["s"])
    p = np.exp(s) / np.exp(s).sum()
    (got,) = _downstream(_steps(*SOFTMAX))["s"]
    want = central(lambda v: -np.log(np.exp(v[0]) / np.exp(v).sum()), s)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    np.testing.assert_allclose(got, p - [1, 0, 0], rtol=1e-12)


def test_max_of_one_tensor_routes_to_its_largest_element():
    text = " ".join(logical_lines(explain("max(s)", {"s": [1.0, 5.0, 2.0]})))
    assert (
        "gradient router: max(s) is its element s[1] = 5, which gets the whole gradient 1;"
        " the other elements get 0"
    ) in text
    tie = " ".join(logical_lines(explain("max(s)", {"s": [5.0, 1.0, 5.0]})))
    assert "the elements s[0], s[2] of s tie for the max at 5; the gradient 1 is split" in tie


def test_mean_transpose_and_a_large_tensor():
    mean = " ".join(logical_lines(explain("mean(s)", {"s": [3.0, 6.0, 9.0]})))
    assert "∂f/∂s = ∂f/∂f / 3 = 1 / 3 = [0.333333, 0.333333, 0.333333]" in mean
    assert "mean is a sum divided by 3" in mean
    transpose = " ".join(
        logical_lines(explain("sum(A.T @ v)", {"A": [[1, 2], [3, 4]], "v": [1, -1]}))
    )
    # by hand: ∂f/∂(Aᵀ) = [1, 1] ⊗ [1, -1] = [[1, -1], [1, -1]], and ∂f/∂A its transpose
    assert "∂f/∂A = ∂f/∂transpose1ᵀ = [[1, -1], [1, -1]]ᵀ = [[1, 1], [-1, -1]]" in transpose
    assert "∂f/∂A = ∂f/∂transpose1ᵀ: (2, 2)ᵀ → (2, 2), the shape of A" in transpose
    # more than 24 elements: summarised as the table summarises them, never substituted
    big = " ".join(logical_lines(explain("sum(x)", {"x": np.arange(30.0)}, width=120)))
    assert "f = sum(x) = 435" in big
    assert "∂f/∂x = ∂f/∂f = 1 = [1, 1, ..., 1, 1]" in big
    assert "inputs: x = [0, 1, ..., 28, 29]" in big


def test_the_upstream_gradient_given_with_dout_starts_the_backward_pass():
    result = bpcli.grad("s = W @ x", LECTURE[1], dout=[1.0, 0.0])
    text = " ".join(logical_lines(explain("s = W @ x", LECTURE[1], dout=[1.0, 0.0])))
    # the gradients are of L = sum(dout ⊙ s), not of the vector s: ∂L/∂s = dout
    assert "∂L/∂s = [1, 0] (the upstream gradient given with --dout" in text
    # by hand: ∂/∂W of [1, 0]·(W x) = [1, 0] ⊗ x = [[0.2, 0.4], [0, 0]]
    assert "∂L/∂W = ∂L/∂s · xᵀ = [1, 0] ⊗ [0.2, 0.4] = [[0.2, 0.4], [0, 0]]" in text
    assert "∂s/∂" not in text
    assert json_steps(result)[1]["grad"] == [1.0, 0.0]


def test_with_dout_every_view_says_what_the_gradients_are_of():
    """∂L/∂W with L = sum(dout ⊙ s) defined where it is used, in every view (the write-ups
    said ∂L without saying what L is; DOT, the notebook and the page said ∂s/∂… or that
    the output's gradient is 1). By hand: ∂L/∂W = dout ⊗ x, ∂L/∂x = Wᵀ·dout."""
    from bpcli.render.dot import to_dot
    from bpcli.render.mermaid import to_mermaid
    from bpcli.render.page import steps_of

    result = bpcli.grad("s = W @ x", LECTURE[1], dout=[1.0, 0.0])
    text = " ".join(logical_lines(explain("s = W @ x", LECTURE[1], dout=[1.0, 0.0])))
    assert (
        "∂L/∂s = [1, 0] (the upstream gradient given with --dout, of L = sum(dout ⊙ s): the"
        " backward pass starts here)"
    ) in text
    markdown, latex = to_markdown(result), to_latex(result)
    assert (
        r"given with --dout, of $L = \operatorname{sum}(\mathrm{dout} \odot s)$: the backward"
    ) in markdown
    assert r"of $L = \operatorname{sum}(\mathrm{dout} \odot s)$: the backward" in latex
    assert r"\frac{\partial L}{\partial W}" in latex and r"\frac{\partial s}" not in latex
    start = next(step for step in steps_of(result) if step.phase == "backward")
    assert start.reason.startswith("the upstream gradient given with --dout, of L = sum(dout")
    dot = to_dot(result.graph, result)
    assert "red: ∂L/∂node, of L = sum(dout ⊙ s)" in dot and "∂s/∂" not in dot
    assert "  %% grad: ∂L/∂node, of L = sum(dout ⊙ s)\n" in to_mermaid(result.graph, result)
    bundle = result._repr_mimebundle_()
    for mime in ("text/plain", "text/html", "text/markdown"):
        assert "∂s/∂" not in bundle[mime], (mime, bundle[mime])
    assert "L = sum(dout ⊙ s), upstream ∂L/∂s = dout = **[1, 0]**" in bundle["text/markdown"]
    assert "∂L/∂W = **[[0.2, 0.4], [0, 0]]**, ∂L/∂x = **[0.1, 0.5]**" in bundle["text/markdown"]
    assert "| ∂L/∂node |" in bundle["text/markdown"] and "<th>∂L/∂node</th>" in bundle["text/html"]
    assert (
        bundle["text/plain"]
        == "TensorResult(s: (2,), L = sum(dout ⊙ s), ∂L/∂W: (2, 2), ∂L/∂x: (2,))"
    )


def test_an_elementwise_max_says_where_it_ties_and_the_tie_rule_there():
    """The multiclass SVM loss at s = [1, 0, 2], y = 0: s - s[0] + 1 = [1, 0, 2], so
    max(0, ·) ties at element [1] (0 against 0): split, it sends 1/2 there, [1, 0.5, 1];
    under --max-tie first the constant 0, the first input, takes it all, [1, 0, 1]."""
    svm = "L = sum(max(0, s - s[y] + 1)) - 1"
    values = {"s": [1, 0, 2], "y": 0}
    split = " ".join(logical_lines(explain(svm, values)))
    assert "= [1, 0.5, 1]" in split
    assert (
        "the others get 0. A tie at [1]: there the gradient is split evenly among the inputs"
        " that tie (--max-tie first sends it all to the first)"
    ) in split
    first = " ".join(logical_lines(explain(svm, values, conventions=bpcli.Conventions("first"))))
    assert "= [1, 0, 1]" in first
    assert "A tie at [1]: there the gradient goes to the first of the inputs that tie" in first
    # no tie, no note: s - s[0] + 1 = [1, -1, 3] at s = [1, -1, 3]
    plain = " ".join(logical_lines(explain(svm, {"s": [1, -1, 3], "y": 0})))
    assert "elementwise: each element's gradient goes to" in plain and "A tie" not in plain
    # a matrix: ties at [0][0] and [1][1]
    both = {"A": [[1, 2], [3, 4]], "B": [[1, 0], [5, 4]]}
    assert "A tie at [0][0], [1][1]: there" in " ".join(
        logical_lines(explain("f = sum(max(A, B))", both))
    )


# ---- --json --explain ------------------------------------------------------------------------


def test_json_explain_steps_of_the_lecture(bpcli):
    W, x = LECTURE[1]["W"], LECTURE[1]["x"]
    run = bpcli("grad", LECTURE[0], "--W", json.dumps(W), "--x", json.dumps(x),
                "--json", "--explain")  # fmt: skip
    assert run.code == 0, run.stderr
    data = json.loads(run.stdout)
    steps = data["steps"]
    assert [(s["pass"], s["kind"], s["name"]) for s in steps] == [
        ("forward", "node", "q"), ("forward", "node", "pow1"), ("forward", "node", "f"),
        ("backward", "start", "f"),
        ("backward", "gate", "f"), ("backward", "gate", "pow1"), ("backward", "gate", "q"),
    ]  # fmt: skip
    q = steps[0]
    np.testing.assert_allclose(q["value"], [0.22, 0.26], rtol=1e-12)
    assert (q["shape"], q["dims"]) == ([2], "q: (2, 2) @ (2,) → (2,)")
    assert steps[2]["value"] == pytest.approx(0.116, rel=1e-12) and steps[2]["shape"] == []
    # ∂f/∂q by central differences of sum(q²) at q, not from bpcli
    pow_gate = steps[5]
    (item,) = pow_gate["inputs"]
    want_q = central(lambda v: float((v**2).sum()), q["value"])
    np.testing.assert_allclose(item["downstream"]["value"], want_q, rtol=1e-6)
    assert item["downstream"]["shape"] == [2] and "value" not in item["local"]
    assert pow_gate["upstream"] == {"symbol": "∂f/∂pow1", "value": [1.0, 1.0], "shape": [2]}
    matmul = steps[6]
    assert (matmul["op"], matmul["pattern"]) == ("matmul", "matrix multiplier")

    def f(W, x):
        return float(((np.asarray(W) @ np.asarray(x)) ** 2).sum())

    want = by_hand(f, {"W": np.array(W), "x": np.array(x)})
    torch_want = by_torch(lambda W, x: ((W @ x) ** 2).sum(), {"W": W, "x": x})
    for item, name in zip(matmul["inputs"], ("W", "x"), strict=True):
        assert item["name"] == name
        np.testing.assert_allclose(item["downstream"]["value"], want[name], rtol=1e-6)
        if torch_want is not None:
            np.testing.assert_allclose(item["downstream"]["value"], torch_want[name], rtol=1e-12)
    assert [i["dims"] for i in matmul["inputs"]] == [
        "∂f/∂W = ∂f/∂q · xᵀ: (2,) ⊗ (2,) → (2, 2), the shape of W",
        "∂f/∂x = Wᵀ · ∂f/∂q: (2, 2)ᵀ · (2,) → (2,), the shape of x",
    ]
    assert matmul["inputs"][0]["downstream"]["shape"] == [2, 2]
    # the rest of the JSON is what --json alone writes
    alone = bpcli("grad", LECTURE[0], "--W", json.dumps(W), "--x", json.dumps(x), "--json")
    without = dict(data)
    del without["steps"]
    assert json.dumps(without) == json.dumps(json.loads(alone.stdout))


def test_json_explain_steps_carry_the_update_and_the_broadcast(bpcli):
    steps = _steps(*LECTURE, lr=0.1)
    update = [s for s in steps if s["pass"] == "update"]
    assert [s["name"] for s in update] == ["W", "x"]
    # by hand (see LECTURE_WALKTHROUGH)
    np.testing.assert_allclose(update[0]["new_value"], [[0.0912, 0.4824], [-0.3104, 0.7792]])
    np.testing.assert_allclose(update[1]["new_value"], [0.2112, 0.3364])
    bias_steps = _steps(BIAS, BIAS_VALUES)
    (b,) = [i for s in bias_steps if s["kind"] == "gate" for i in s["inputs"] if i["name"] == "b"]
    assert (
        b["broadcast"]
        == "b (3,) was broadcast over 4 rows: its gradient sums ∂f/∂s over those rows"
    )
    assert b["downstream"]["shape"] == [3]
    copy = [s for s in _steps(*TWICE) if s["kind"] == "copy"]
    assert [(c["name"], c["grad"], c["shape"]) for c in copy] == [("x", [2.0, -4.0, 6.0], [3])]
    json.dumps(bias_steps, allow_nan=False)  # strict JSON throughout


# ---- the write-ups: matrices as matrices ----------------------------------------------------

LECTURE_MATMUL_MARKDOWN = r"""**$q = W x$: matmul gate, matrix multiplier**

downstream $\frac{\partial f}{\partial W}$, $\frac{\partial f}{\partial x}$ = upstream $\frac{\partial f}{\partial q}$ · local $\frac{\partial q}{\partial W}$, $\frac{\partial q}{\partial x}$

$$
\begin{aligned}
\frac{\partial f}{\partial W} &= \frac{\partial f}{\partial q} \cdot x^{\top} = \begin{bmatrix} 0.44 \\ 0.52 \end{bmatrix} \otimes \begin{bmatrix} 0.2 \\ 0.4 \end{bmatrix} = \begin{bmatrix} 0.088 & 0.176 \\ 0.104 & 0.208 \end{bmatrix} \\
\frac{\partial f}{\partial x} &= W^{\top} \cdot \frac{\partial f}{\partial q} = \begin{bmatrix} 0.1 & 0.5 \\ -0.3 & 0.8 \end{bmatrix}^{\top} \cdot \begin{bmatrix} 0.44 \\ 0.52 \end{bmatrix} = \begin{bmatrix} -0.112 \\ 0.636 \end{bmatrix}
\end{aligned}
$$

$\frac{\partial f}{\partial W} = \frac{\partial f}{\partial q} \cdot x^{\top}$: $(2,) \otimes (2,) \to (2, 2)$, the shape of $W$

$\frac{\partial f}{\partial x} = W^{\top} \cdot \frac{\partial f}{\partial q}$: $(2, 2)^{\top} \cdot (2,) \to (2,)$, the shape of $x$
"""


def test_the_lecture_markdown_sets_matrices_as_matrices(bpcli):
    run = bpcli("grad", LECTURE[0], "--W", "[[0.1, 0.5], [-0.3, 0.8]]", "--x", "[0.2, 0.4]",
                "--format", "markdown")  # fmt: skip
    assert run.code == 0, run.stderr
    md = run.stdout
    assert md.startswith("## Forward pass\n\n")
    assert (
        r"Inputs: $W = \begin{bmatrix} 0.1 & 0.5 \\ -0.3 & 0.8 \end{bmatrix}$,"
        r" $x = \begin{bmatrix} 0.2 \\ 0.4 \end{bmatrix}$."
    ) in md
    assert "Shapes: $W (2, 2)$, $x (2,)$." in md
    assert LECTURE_MATMUL_MARKDOWN in md  # numbers by hand: see LECTURE_WALKTHROUGH
    assert md == to_markdown(bpcli_grad(*LECTURE))


def bpcli_grad(text, values, **options):
    return bpcli.grad(text, values, **options)


@pytest.mark.integration
def test_the_write_ups_of_tensors_compile_and_read_right(tmp_path):
    fragments = [
        to_latex(bpcli.grad(*LECTURE, lr=0.1)),
        to_latex(bpcli.grad(BIAS, BIAS_VALUES)),
        to_latex(bpcli.grad(NET, NET_VALUES)),
        to_latex(bpcli.grad(*SOFTMAX)),
        to_latex(bpcli.grad(*TWICE)),
        to_latex(bpcli.grad("sum(x)", {"x": np.arange(30.0).reshape(5, 6)})),
    ]
    assert r"\begin{bmatrix} 0.088 & 0.176 \\ 0.104 & 0.208 \end{bmatrix}" in fragments[0]
    assert r"\vdots" in fragments[-1] and r"\ddots" in fragments[-1]
    text = pdf_text(tmp_path, FRAGMENT_DOCUMENT % "\n".join(fragments))
    text = text.replace("−", "-")
    for expected in [
        "matmul gate, matrix multiplier",
        "the shape of W",
        "0.088 0.176",  # the rows of ∂f/∂W, read back from the matrix
        "0.104 0.208",
        "b (3, ) was broadcast over 4 rows",
        "sum adds up the elements of",
        "gradient adder",
        "the index gets no gradient",
        "After the update: f = 0.0715954.",
    ]:
        assert expected in text, expected
    md = to_markdown(bpcli.grad(*LECTURE))
    assert "[U+" not in "".join(fragments) + md


# ---- every op of the table, walked through ---------------------------------------------------
# One small program per op that has a tensor rule (a new op adds its own: the test below
# says which is missing); values keep clear of kinks and of each op's domain's edges.
A = [[0.5, 1.5, 2.0], [1.0, 0.25, 3.0]]
ROW = [0.5, 2.0, 1.5]
OP_PROGRAMS = {
    "add": ("sum(A + r)", {"A": A, "r": ROW}),
    "sub": ("sum(A - r)", {"A": A, "r": ROW}),
    "mul": ("sum(A * r)", {"A": A, "r": ROW}),
    "div": ("sum(A / r)", {"A": A, "r": ROW}),
    "neg": ("sum(-r)", {"r": ROW}),
    "pow": ("sum(A ^ r)", {"A": A, "r": ROW}),
    "exp": ("sum(exp(r))", {"r": ROW}),
    "log": ("sum(log(A))", {"A": A}),
    "sqrt": ("sum(sqrt(A))", {"A": A}),
    "sin": ("sum(sin(r))", {"r": ROW}),
    "cos": ("sum(cos(r))", {"r": ROW}),
    "tan": ("sum(tan(r))", {"r": ROW}),
    "tanh": ("sum(tanh(r))", {"r": ROW}),
    "sigmoid": ("sum(sigmoid(r))", {"r": ROW}),
    "relu": ("sum(relu(r - 1))", {"r": ROW}),
    "abs": ("sum(abs(r - 1))", {"r": ROW}),
    "max": ("max(r) + sum(max(A, r))", {"A": A, "r": ROW}),
    "min": ("min(r) + sum(min(A, r))", {"A": A, "r": ROW}),
    "matmul": ("sum(A @ r)", {"A": A, "r": ROW}),
    "index": ("r[y] * 2", {"r": ROW, "y": 1}),
    "transpose": ("sum(A.T @ v)", {"A": A, "v": [1.0, -2.0]}),
    "sum": ("sum(sum(A, 0) * r)", {"A": A, "r": ROW}),
    "mean": ("mean(mean(A, 1) * v)", {"A": A, "v": [1.0, -2.0]}),
    "softmax": ("-log(softmax(r)[2])", {"r": ROW}),
    "logsumexp": ("sum(logsumexp(A))", {"A": A}),
}


def test_every_op_with_a_tensor_rule_has_a_program_here():
    from bpcli.ops import OPS

    ops = {op.name for op in OPS.values() if op.tensor is not None}
    assert ops == set(OP_PROGRAMS), ops ^ set(OP_PROGRAMS)


def _numeric(text, values):
    """Central differences of the program's output in every element of every input."""
    graph = bpcli.parse(text)

    def f(point):
        return float(bpcli.tensor.forward(graph, bpcli.api.bind(graph, point))[graph.output])

    return {
        name: central(lambda v, name=name: f({**values, name: v}), value)
        for name, value in values.items()
    }


@pytest.mark.parametrize("op", OP_PROGRAMS, ids=str)
def test_each_ops_walkthrough_checks_every_shape_and_number(op):
    text, values = OP_PROGRAMS[op]
    shown = explain(text, values)
    joined = logical_lines(shown)
    for equation in walk_equations(text, values):
        assert equation in joined, (equation, shown)
    result = bpcli.grad(text, values)
    steps = json_steps(result)
    shapes = {n["name"]: n["shape"] for n in result.to_dict()["nodes"]}
    uses: dict[str, int] = {}
    for step in steps:
        for item in step.get("inputs", []) if step["kind"] == "gate" else []:
            uses[item["name"]] = uses.get(item["name"], 0) + 1
    numeric = _numeric(text, values)
    for step in steps:
        if step["kind"] != "gate":
            continue
        for item in step["inputs"]:
            down = item["downstream"]
            # a gradient has its variable's shape: the value, its `shape`, the node's shape
            assert list(np.shape(down["value"])) == down["shape"] == shapes[item["name"]]
            if "dims" in item:  # said, not assumed: "…, the shape of x"
                assert item["dims"].endswith(f"the shape of {item['name']}"), item["dims"]
                shape = (
                    "("
                    + ", ".join(map(str, down["shape"]))
                    + ("," if len(down["shape"]) == 1 else "")
                    + ")"
                )
                assert item["dims"].endswith(f"{shape}, the shape of {item['name']}"), item["dims"]
            used_once = item["name"] in numeric and uses[item["name"]] == 1
            if used_once and "dims" in item:  # an input used once (not as an index: 0)
                np.testing.assert_allclose(
                    down["value"], numeric[item["name"]], rtol=1e-5, atol=1e-7
                )


@pytest.mark.integration
def test_every_ops_write_ups_compile(tmp_path):
    fragments = [to_latex(bpcli.grad(*program, lr=0.01)) for program in OP_PROGRAMS.values()]
    markdown = [to_markdown(bpcli.grad(*program)) for program in OP_PROGRAMS.values()]
    text = pdf_text(tmp_path, FRAGMENT_DOCUMENT % "\n".join(fragments))
    assert text.count("Forward pass") == len(OP_PROGRAMS)
    assert "[U+" not in "".join(fragments + markdown)
