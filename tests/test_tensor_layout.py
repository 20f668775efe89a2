"""How a vector or matrix is written as lines at a width (render/arrays.py), in the table,
the answers under it and the walkthrough: bpcli's numbers, a matrix a line per row, a row
broken only between elements, never a line wider than the console."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest
from rich.cells import cell_len
from rich.console import Console

import bpcli
from bpcli.render.arrays import cells_of, lines, literals, one_line, parse
from bpcli.render.explain import ExplainView
from bpcli.render.table import TensorGradView
from tensor_cases import SOFTMAX_NET_AT, SOFTMAX_NET_TEXT

WIDTHS = (40, 60, 80, 120)
NUMBER = re.compile(r"(?<![\w.])-?(?:\d+\.?\d*(?:e[+-]\d+)?|inf|nan)")

NET = "h = relu(W1 @ x + b1); s = W2 @ h + b2; f = sum(s^2)"
NET_VALUES = {
    "W1": [[1, 2, 3], [4, 5, 6], [7, 8, 9], [1, 1, 1]],
    "x": [1, -1, 0.5],
    "b1": [0.1, 0.2, 0.3, 0.4],
    "W2": [[1, 0, 1, 0], [0, 1, 0, 1]],
    "b2": [1, 2],
}
SCORES = [1.5, 2.25, 3, 4, 5, 6, 7, 8, 9, 10]
SOFTMAX = ("f = -log(softmax(s)[y])", {"s": SCORES, "y": 3})


def shown(view, width):
    """The view as printed at `width`, uncropped: a line too wide is seen, not cut."""
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(view, crop=False)
    return console.file.getvalue()


def six(x: float) -> str:
    """A number as bpcli writes it, worked out here: 6 significant digits, 0 for ±0."""
    return "0" if x == 0 else format(x, ".6g")


VALUES = {
    "vector": np.array(SCORES),
    "softmax": np.exp(SCORES) / np.exp(SCORES).sum(),
    "matrix": np.array([[10.8, -10.8, 5.4], [10.2, -10.2, 5.1]]),
    "wide matrix": np.arange(24.0).reshape(3, 8) * 1.25 - 7,
    "long vector": np.linspace(-1, 1, 24) / 7,
}


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("name", VALUES)
def test_a_value_breaks_only_between_its_elements(name, width):
    """No line passes the width; joined, the lines give every element in order, each as
    bpcli writes a number; a matrix starts a line per row, under its first `[`."""
    value = VALUES[name]
    laid = lines(cells_of(value, 6), width)
    assert all(len(line) <= width for line in laid), laid
    assert all(line == line.rstrip() for line in laid)
    assert NUMBER.findall(" ".join(laid)) == [six(float(x)) for x in value.ravel()]
    if value.ndim == 2:
        starts = [k for k, line in enumerate(laid) if line.lstrip().startswith("[")]
        assert len(starts) == value.shape[0] and laid[0].startswith("[[")
        assert all(laid[k].startswith(" [") for k in starts[1:])
    # a row's continuation lines are under its first line: each element ends in a
    # column where one of the first line's ends (elements padded alike, as NumPy does)
    first: list[int] = []
    for line in laid:
        ends = [m.end() for m in re.finditer(r"[^\s,\[\]]+", line)]
        if line.lstrip().startswith("["):
            first = ends
        elif not line.lstrip().startswith("..."):
            assert set(ends) <= set(first) and line[: value.ndim].strip() == "", laid


def test_a_large_tensor_is_summarised_at_numpys_thresholds():
    """More than 24 elements: two at each end of an axis, `...` between (NumPy's
    threshold and edge items), each as bpcli writes a number."""
    assert one_line(cells_of(np.arange(30.0), 6)) == "[0, 1, ..., 28, 29]"
    assert lines(cells_of(np.arange(24.0), 6), 200) == [
        "[" + ", ".join(str(k) for k in range(24)) + "]"
    ]
    matrix = lines(cells_of(np.arange(50.0).reshape(5, 10), 6))
    assert matrix == [
        "[[ 0,  1, ...,  8,  9],",
        " [10, 11, ..., 18, 19],",
        " ...,",
        " [30, 31, ..., 38, 39],",
        " [40, 41, ..., 48, 49]]",
    ]


def test_precision_is_honoured_and_whole_numbers_read_as_bpcli_writes_them():
    assert one_line(cells_of([1.0, 2.0, 3.0], 6)) == "[1, 2, 3]"  # not NumPy's [1., 2., 3.]
    assert one_line(cells_of([[1 / 3, -0.0]], 3)) == "[[0.333, 0]]"


def test_one_line_text_reads_back():
    for value in VALUES.values():
        cells = cells_of(value, 6)
        assert parse(one_line(cells)) == cells
    for text in ("1.5", "-638.257 ⊙ (1 at [3], else 0)", "[1, 2", "[1,2]", "[0.1, 0.2] + [1, 2]"):
        assert parse(text) is None


def test_the_lecture_table_at_80_columns():
    """CS231n's ‖W·x‖², worked by hand: q = [0.1·0.2 + 0.5·0.4, -0.3·0.2 + 0.8·0.4] =
    [0.22, 0.26], q² = [0.0484, 0.0676], f = 0.116; ∂f/∂q = 2q = [0.44, 0.52],
    ∂f/∂W = 2q·xᵀ = [[0.088, 0.176], [0.104, 0.208]], ∂f/∂x = Wᵀ·2q = [-0.112, 0.636]."""
    result = bpcli.grad(
        "q = W @ x; f = sum(q^2)", {"W": [[0.1, 0.5], [-0.3, 0.8]], "x": [0.2, 0.4]}
    )
    assert shown(TensorGradView(result), 80) == (
        "computational graph\n"
        "node    op      text      shape              value          ∂f/∂node\n"
        "W       var     W         (2, 2)    [[ 0.1,  0.5],  [[0.088, 0.176],\n"
        "                                     [-0.3,  0.8]]   [0.104, 0.208]]\n"
        "x       var     x         (2,)          [0.2, 0.4]   [-0.112, 0.636]\n"
        "q       matmul  W @ x     (2,)        [0.22, 0.26]      [0.44, 0.52]\n"
        "const1  const   2         ()                     2\n"
        "pow1    pow     q^2       (2,)    [0.0484, 0.0676]            [1, 1]\n"
        "f       sum     sum(q^2)  ()                 0.116                 1\n"
        "\n"
        "f = 0.116\n"
        "∂f/∂W = [[0.088, 0.176],\n"
        "         [0.104, 0.208]]\n"
        "∂f/∂x = [-0.112, 0.636]\n"
    )


def test_with_dout_the_gradients_are_of_the_scalar_sum_dout_times_q():
    """q = W·x is a vector: ∂q/∂W would be a (2, 2, 2) tensor, so what --dout gives is
    the gradient of L = sum(dout ⊙ q), CS231n's dW for an upstream dout. By hand, with
    dout = [1, 2]: ∂L/∂W = dout·xᵀ = [[1·0.2, 1·0.4], [2·0.2, 2·0.4]] = [[0.2, 0.4],
    [0.4, 0.8]], ∂L/∂x = Wᵀ·dout = [0.1 - 0.6, 0.5 + 1.6] = [-0.5, 2.1]; with lr 0.1
    the update is θ := θ - α·∂L/∂θ, and a graph that names L takes ℓ."""
    values = {"W": [[0.1, 0.5], [-0.3, 0.8]], "x": [0.2, 0.4]}
    result = bpcli.grad("q = W @ x", values, dout=[1, 2])
    assert shown(TensorGradView(result), 80) == (
        "computational graph\n"
        "node  op      text   shape            value      ∂L/∂node\n"
        "W     var     W      (2, 2)  [[ 0.1,  0.5],  [[0.2, 0.4],\n"
        "                              [-0.3,  0.8]]   [0.4, 0.8]]\n"
        "x     var     x      (2,)        [0.2, 0.4]   [-0.5, 2.1]\n"
        "q     matmul  W @ x  (2,)      [0.22, 0.26]        [1, 2]\n"
        "\n"
        "q = [0.22, 0.26]\n"
        "L = sum(dout ⊙ q), upstream ∂L/∂q = dout = [1, 2]\n"
        "∂L/∂W = [[0.2, 0.4],\n"
        "         [0.4, 0.8]]\n"
        "∂L/∂x = [-0.5, 2.1]\n"
    )
    narrow = shown(TensorGradView(result), 30)
    assert "  ∂L/∂W = [[0.2, 0.4],\n" in narrow and "  ∂L/∂q = [1, 2]\n" in narrow
    assert "L = sum(dout ⊙ q),\nupstream ∂L/∂q = dout = [1, 2]\n" in narrow
    assert "∂q/" not in narrow
    stepped = shown(TensorGradView(bpcli.grad("q = W @ x", values, 0.1, dout=[1, 2])), 80)
    assert "update, 1 step: θ := θ - α·∂L/∂θ for θ ∈ {W, x}, α = 0.1\n" in stepped
    named = shown(TensorGradView(bpcli.grad("L = W @ x", values, dout=[1, 2])), 80)
    assert "ℓ = sum(dout ⊙ L), upstream ∂ℓ/∂L = dout = [1, 2]\n" in named
    assert "∂ℓ/∂W = [[0.2, 0.4],\n" in named and "∂L/∂" not in named


def test_the_lecture_at_40_columns_is_a_block_per_node():
    """Too narrow for the table's columns: each node its own lines, the same numbers (as
    worked by hand above), a matrix a line per row, no constant's missing gradient."""
    result = bpcli.grad(
        "q = W @ x; f = sum(q^2)", {"W": [[0.1, 0.5], [-0.3, 0.8]], "x": [0.2, 0.4]}
    )
    assert shown(TensorGradView(result), 40).split("\n\nf = 0.116")[0] == (
        "computational graph\n"
        "W  var  (2, 2)  W\n"
        "  value = [[ 0.1,  0.5],\n"
        "           [-0.3,  0.8]]\n"
        "  ∂f/∂W = [[0.088, 0.176],\n"
        "           [0.104, 0.208]]\n"
        "\n"
        "x  var  (2,)  x\n"
        "  value = [0.2, 0.4]\n"
        "  ∂f/∂x = [-0.112, 0.636]\n"
        "\n"
        "q  matmul  (2,)  W @ x\n"
        "  value = [0.22, 0.26]\n"
        "  ∂f/∂q = [0.44, 0.52]\n"
        "\n"
        "const1  const  ()  2\n"
        "  value = 2\n"
        "\n"
        "pow1  pow  (2,)  q^2\n"
        "  value    = [0.0484, 0.0676]\n"
        "  ∂f/∂pow1 = [1, 1]\n"
        "\n"
        "f  sum  ()  sum(q^2)\n"
        "  value = 0.116\n"
        "  ∂f/∂f = 1"
    )


def net_gradients():
    """The two-layer net's input gradients, by NumPy by hand (relu's inputs all > 0)."""
    W1, x, b1 = (np.array(NET_VALUES[k], dtype=float) for k in ("W1", "x", "b1"))
    W2, b2 = (np.array(NET_VALUES[k], dtype=float) for k in ("W2", "b2"))
    z = W1 @ x + b1
    assert (z > 0).all()
    h = z
    ds = 2 * (W2 @ h + b2)
    dh = W2.T @ ds
    return {"W1": np.outer(dh, x), "x": W1.T @ dh, "b1": dh, "W2": np.outer(ds, h), "b2": ds}


def answers(text: str) -> dict[str, list[str]]:
    """The numbers of each `∂f/∂name = …` answer under the table, its lines joined."""
    out: dict[str, list[str]] = {}
    name = None
    for line in text.split("\n\n")[-1].splitlines():
        m = re.match(r"∂f/∂(\w+) = (.*)", line)
        if m:
            name, line = m.group(1), m.group(2)
            out[name] = []
        elif not line.startswith(" "):
            name = None
        if name:
            out[name] += NUMBER.findall(line)
    return out


@pytest.mark.parametrize("width", WIDTHS)
def test_the_two_layer_net_fits_every_width(width):
    result = bpcli.grad(NET, NET_VALUES)
    text = shown(TensorGradView(result), width)
    assert all(len(line) <= width for line in text.splitlines()), text
    assert all(line == line.rstrip() for line in text.splitlines())
    got = answers(text)
    for name, grad in net_gradients().items():
        assert got[name] == [six(float(g)) for g in grad.ravel()], (name, text)


def test_the_two_layer_net_at_80_columns_is_a_table_with_matrix_rows():
    text = shown(TensorGradView(bpcli.grad(NET, NET_VALUES)), 80)
    assert "[1., 2., 3.]" not in text and "201. " not in text
    assert "     [[1, 2, 3],   [[ 10.8, -10.8,   5.4],\n" in text
    assert "∂f/∂W1 = [[ 10.8, -10.8,   5.4],\n          [ 10.2, -10.2,   5.1],\n" in text
    assert "∂f/∂x = [137.4, 169.2, 201]\n" in text  # Wᵀ·dh, by hand: 1·10.8+4·10.2+…
    assert not any(re.match(r"\s*[,\]]", line) for line in text.splitlines())


def softmax_gradient():
    p = np.exp(SCORES) / np.exp(SCORES).sum()
    return p - np.eye(len(SCORES))[3]  # ∂(-log p[y])/∂s = p - onehot(y)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_ten_class_softmax_loss_fits_every_width(width):
    result = bpcli.grad(*SOFTMAX)
    table = shown(TensorGradView(result), width)
    walk = shown(ExplainView(result), width)
    assert all(len(line) <= width for line in table.splitlines()), table
    assert all(line == line.rstrip() for line in table.splitlines())
    # the box is the console's width at every width: a formula alone too wide for a line
    # (softmax's local gradient, 54 cells) breaks after an operator, never inside a symbol
    assert {len(line) for line in walk.splitlines()} == {width}, walk
    for line in walk.splitlines():
        inside = line.strip("│╭╮╰╯─").strip()
        assert len(inside) <= width - 4 or not re.search(r"\[ *-?\d", inside), walk
    assert answers(table)["s"] == [six(g) for g in softmax_gradient()]
    # the walkthrough's ∂f/∂s equation: its value broken between elements, in order
    if width >= 80:
        backward = walk.split("2. backward pass")[1]
        equation = backward.split("· ∂f/∂softmax1")[1].split("∂f/∂s")[0]
        value = equation[equation.index("= [") :]
        assert NUMBER.findall(value) == [six(g) for g in softmax_gradient()], walk


def test_the_softmax_walkthrough_box_is_the_console_width_at_80():
    walk = shown(ExplainView(bpcli.grad(*SOFTMAX)), 80)
    assert {len(line) for line in walk.splitlines() if line[:1] in "╭│╰"} == {80}
    assert (
        "│          = [0.000128608, 0.000272263, 0.000576382,  0.00156677,  0.00425892, │" in walk
    )
    assert (
        "│               0.0115769,   0.0314694,   0.0855426,    0.232529,    0.632079] │" in walk
    )


def test_a_scalar_run_is_untouched():
    """The scalar table is not the tensor view's: the lecture's numbers, as before."""
    from bpcli.render.table import GradView

    text = shown(GradView(bpcli.grad("(x+y)*z", {"x": -2, "y": 5, "z": -4})), 80)
    assert "f = -12\n∂f/∂x = -4   ∂f/∂y = -4   ∂f/∂z = 3\n" in text


@pytest.mark.parametrize("width", (80, 120))
def test_the_two_layer_net_walkthrough_keeps_the_console_width(width):
    """Its boxes are the console's width; ∂f/∂W1 = ∂f/∂matmul1 · xᵀ's 4×3 value, each number
    as NumPy works it out by hand, in order; at 80 columns, where it cannot be one line,
    a line per row."""
    walk = shown(ExplainView(bpcli.grad(NET, NET_VALUES)), width)
    assert {len(line) for line in walk.splitlines()} == {width}, walk
    backward = walk.split("2. backward pass")[1]
    equation = backward.split("∂f/∂W1 = ∂f/∂matmul1 · xᵀ")[1].split("∂f/∂x")[0]
    value = equation[equation.index("= [[") :]
    expected = net_gradients()["W1"]
    assert NUMBER.findall(value) == [six(float(g)) for g in expected.ravel()], walk
    if width == 80:
        rows = [line.strip("│ ") for line in value.splitlines() if "[" in line]
        assert len(rows) == 4, walk
        for row, numbers in zip(rows, expected, strict=True):
            assert NUMBER.findall(row) == [six(float(g)) for g in numbers], walk


def test_a_term_is_cut_only_around_the_tensors_written_in_it():
    assert literals("softmax1[y] + [1, -2.5e-07]") == [
        ("softmax1[y] + ", None),
        ("[1, -2.5e-07]", ["1", "-2.5e-07"]),
    ]
    assert literals("[[1, 2], [3, 4]]ᵀ · [0, 1, ..., 28, 29]") == [
        ("[[1, 2], [3, 4]]", [["1", "2"], ["3", "4"]]),
        ("ᵀ · ", None),
        ("[0, 1, ..., 28, 29]", ["0", "1", "...", "28", "29"]),
    ]


# The README's two-layer net with the softmax loss (docs/two-layer-net.txt)
DOCS_NET, DOCS_VALUES = SOFTMAX_NET_TEXT, SOFTMAX_NET_AT


@pytest.mark.parametrize("width", WIDTHS)
def test_the_softmax_rule_breaks_between_its_terms_at_every_width(width):
    """softmax's local gradient has no value in it: where it does not fit, it breaks after
    an operator (its box stays the console's width), never inside a symbol; ∂loss/∂s is
    softmax(s) - onehot(y), by NumPy, s = W2·relu(W1·x + b1) + b2 worked out here."""
    v = {k: np.array(x, dtype=float) for k, x in DOCS_VALUES.items() if k != "y"}
    s = v["W2"] @ np.maximum(v["W1"] @ v["x"] + v["b1"], 0) + v["b2"]
    want = np.exp(s) / np.exp(s).sum() - np.eye(3)[2]
    walk = shown(ExplainView(bpcli.grad(DOCS_NET, DOCS_VALUES, lr=0.1)), width)
    assert {len(line) for line in walk.splitlines()} == {width}, walk
    gate = walk.split("softmax gate")[1].split("│ s = matmul2 + b2")[0]
    inside = [line[2:-2].rstrip() for line in gate.splitlines()[1:]]
    if width == 40:  # laid out by hand: after `-` and `·`, the value between elements
        at = inside.index("  ∂loss/∂s")
        assert inside[at : at + 6] == [
            "  ∂loss/∂s",
            "    = (diag(softmax1) -",
            "      softmax1·softmax1ᵀ) ·",
            "      ∂loss/∂softmax1",
            "    = [0.00121038,   0.765813,",
            "        -0.767023]",
        ], walk
    joined = re.sub(r"\[ +", "[", " ".join(" ".join(inside).split()))
    rule = "∂loss/∂s = (diag(softmax1) - softmax1·softmax1ᵀ) · ∂loss/∂softmax1 = "
    value = joined.split(rule)[1].split("]")[0]
    assert NUMBER.findall(value) == [six(float(g)) for g in want], walk
    local = "∂softmax1/∂s = diag(softmax1) - softmax1·softmax1ᵀ"  # the reason's rule, whole
    assert local in joined, walk


def test_the_update_heading_says_the_rule_for_the_actual_inputs():
    """Not `x := x - α·∂f/∂x` (x reads as the input x, and W and b are not x): the rule
    once, by θ, for the inputs it moves (not y, an index); ϑ where θ is a name. The new
    values by hand: W - 0.1·∂loss/∂W, ∂loss/∂W1 = [[0, 0, 0], [0.228291, …]] (README)."""
    text = shown(TensorGradView(bpcli.grad(DOCS_NET, DOCS_VALUES, lr=0.1)), 80)
    update = text.split("\n\nupdate")[1]
    assert update.startswith(
        ", 1 step: θ := θ - α·∂loss/∂θ for θ ∈ {W1, x, b1, W2, b2}, α = 0.1\n"
        "W1 = [[       0.2,       -0.5,        0.1],\n"
        "      [   1.47717,    1.25434, -0.0771709]]\n"
    ), text  # 1.5 - 0.1·0.228291, 1.3 - 0.1·0.456583, -0.1 + 0.1·0.228291
    assert "x := x" not in text
    values = {"θ": [1.0, 2.0], "x": [3.0, -1.0]}
    named = shown(TensorGradView(bpcli.grad("f = sum(θ * x)", values, lr=0.5, steps=2)), 80)
    # ∂f/∂θ = x, ∂f/∂x = θ: θ, x = [1, 2], [3, -1] → [-0.5, 2.5], [2.5, -2] → [-1.75, 3.5]
    assert "update, 2 steps: ϑ := ϑ - α·∂f/∂ϑ for ϑ ∈ {θ, x}, α = 0.5\n" in named
    assert "θ = [-1.75, 3.5]\n" in named


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", ("en", "ko"))
def test_the_update_heading_fits_every_width_without_trailing_spaces(width, lang):
    """Rich wrapped the heading at 40 columns inside `α = 0.1`, leaving a space at the end
    of the line; bpcli breaks it between words, its maths whole."""
    from bpcli import i18n

    i18n.use(lang)
    text = shown(TensorGradView(bpcli.grad(DOCS_NET, DOCS_VALUES, lr=0.1, steps=3)), width)
    lines = text.splitlines()
    assert all(cell_len(line) <= width and line == line.rstrip() for line in lines), text
    rules = [line for line in lines if "α = 0.1" in line]
    assert len(rules) == 1 and "θ := θ - α·∂loss/∂θ" in text, text


COPIED = "f = sum(relu(W @ x + b) * (W @ x))"  # W @ x twice, W and x copy gates of matrices
COPIED_VALUES = {
    "W": [[0.523, -0.231, 0.871], [1.402, 0.355, -0.618], [-0.94, 1.208, 0.311],
          [0.264, -1.777, 0.59]],
    "x": [-1.246, -0.732, -0.544],
    "b": [1.12, 1.3, 0.4, 2.5],
}  # fmt: skip


@pytest.mark.parametrize("width", WIDTHS)
def test_a_copy_gate_of_matrices_and_an_elementwise_product_keep_the_width(width):
    """A copy gate's addends, 4×3 matrices, each a line per row, its rows broken between
    elements (its box was 125 columns wide at 80); `[…] * […]` breaks after its `*`; the
    inputs' matrix a line per row, never cut inside the sentence. ∂f/∂W by NumPy: with
    m = Wx and a = m + b (no element at relu's kink), f = Σ relu(a)·m, so
    ∂f/∂m = [a > 0]·m + relu(a) and ∂f/∂W = ∂f/∂m ⊗ x."""
    v = {k: np.array(x) for k, x in COPIED_VALUES.items()}
    m = v["W"] @ v["x"]
    a = m + v["b"]
    assert np.all(np.abs(a) > 1e-3)
    want = np.outer((a > 0) * m + np.maximum(a, 0), v["x"])
    walk = shown(ExplainView(bpcli.grad(COPIED, COPIED_VALUES)), width)
    assert {len(line) for line in walk.splitlines()} == {width}, walk
    inside = [line[2:-2].rstrip() for line in walk.splitlines()]
    copy = walk.split("W: copy gate")[1].split("the gradients that flow back")[0]
    total = " ".join(line[2:-2] for line in copy.splitlines()).split(" = ")[-1]
    assert NUMBER.findall(total) == [six(float(g)) for g in want.ravel()], walk
    if width == 40:
        assert "W = [[0.523, -0.231, 0.871]," not in walk  # a line per row, padded
        at = inside.index("inputs:")
        assert inside[at + 1 : at + 5] == [
            "W = [[ 0.523, -0.231,  0.871],",
            "     [ 1.402,  0.355, -0.618],",
            "     [ -0.94,  1.208,  0.311],",
            "     [ 0.264, -1.777,   0.59]]",
        ], walk
