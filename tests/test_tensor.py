"""Vectors and matrices (issue 13): values, ops, shapes, grad, against hand-worked numbers,
central differences always, and PyTorch float64 autograd when it is installed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import bpcli
import bpcli as bpcli_api
from bpcli import BindError, DomainError
from bpcli.ops import TensorRule
from bpcli.tensor import TensorResult, gradcheck

try:
    import torch
except ImportError:  # torch is not a test dependency: PyTorch checks run where it is
    torch = None

LECTURE = {"W": [[0.1, 0.5], [-0.3, 0.8]], "x": [0.2, 0.4]}


def numeric(expr, values, name, h=1e-6, dout=None):
    """Central differences of the (scalar, or dout-weighted) output in every element."""
    graph = bpcli.parse(expr)
    base = np.asarray(values[name], dtype=float)
    grad = np.zeros(base.shape)

    def f(point):
        out = bpcli.tensor.forward(graph, bpcli.api.bind(graph, point))[graph.output]
        return float(np.sum(np.asarray(dout) * out)) if dout is not None else float(out)

    for where in np.ndindex(base.shape):
        up, down = base.copy(), base.copy()
        up[where] += h
        down[where] -= h
        grad[where] = (f({**values, name: up}) - f({**values, name: down})) / (2 * h)
    return grad


def by_torch(fn, values):
    """PyTorch float64 gradients of fn(**tensors) for every value."""
    tensors = {
        k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in values.items()
    }
    fn(**tensors).backward()
    return {k: t.grad.numpy() for k, t in tensors.items()}


# ---- the lecture's example, by hand ------------------------------------------------------


def test_the_lecture_example_every_number():
    r = bpcli.grad("q = W @ x; f = sum(q^2)", LECTURE)
    assert isinstance(r, TensorResult)
    q = r.values[r.graph.node_named("q")]
    np.testing.assert_allclose(q, [0.22, 0.26], rtol=1e-12)
    assert r.output == pytest.approx(0.116, rel=1e-12)
    np.testing.assert_allclose(r.grads[r.graph.node_named("q")], [0.44, 0.52], rtol=1e-12)
    np.testing.assert_allclose(r.gradients["W"], [[0.088, 0.176], [0.104, 0.208]], rtol=1e-12)
    np.testing.assert_allclose(r.gradients["x"], [-0.112, 0.636], rtol=1e-12)
    assert r.shapes[r.graph.output] == ()


def test_a_tensor_result_shows_itself_on_one_line():
    r = bpcli.grad("q = W @ x; f = sum(q^2)", LECTURE)
    assert repr(r) == "TensorResult(f=0.116, ∂f/∂W: (2, 2), ∂f/∂x: (2,))"


def test_the_lecture_example_as_json():
    data = bpcli.grad("q = W @ x; f = sum(q^2)", LECTURE).to_dict()
    assert data["output"]["shape"] == [] and data["shapes"] == {"W": [2, 2], "x": [2]}
    np.testing.assert_allclose(data["gradients"]["W"], [[0.088, 0.176], [0.104, 0.208]])
    q = next(node for node in data["nodes"] if node["name"] == "q")
    assert (q["op"], q["shape"], q["pattern"]) == ("matmul", [2], "matrix multiplier")
    json.dumps(data, allow_nan=False)


# ---- values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], "the value of x is empty"),
        ([[1.0], [1.0, 2.0]], "the value of x is ragged"),
        ([1.0, "a"], r"the value of x: the element \[1\] must be a number, got 'a'"),
        ([[[1.0]]], "nested too deep"),
        (np.zeros((1, 1, 1)), "has 3 dimensions"),
        (np.zeros((2, 0)), "is empty"),
        ([1.0, float("nan")], r"the element \[1\]"),
        (np.array(["a"]), "must hold numbers"),
    ],
)
def test_a_bad_array_is_an_error_naming_the_input(value, message):
    with pytest.raises(BindError, match=message):
        bpcli.grad("sum(x)", {"x": value})


def test_lists_tuples_and_numpy_arrays_are_the_same_value():
    for x in ([1.0, 2.0], (1.0, 2.0), np.array([1, 2]), np.array([1.0, 2.0], dtype=np.float32)):
        r = bpcli.grad("sum(x * x)", {"x": x})
        np.testing.assert_allclose(r.gradients["x"], [2.0, 4.0])


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")  # np.matrix's own
def test_a_masked_element_is_refused_and_subclasses_compute_as_plain_arrays():
    # A masked element would drop out of the value (numpy's sum skips it) but not of the
    # gradient: refused, naming the element.
    masked = np.ma.masked_array([1.0, 2.0], mask=[False, True])
    with pytest.raises(BindError, match=r"the value of x: the element \[1\] is masked"):
        bpcli.grad("sum(x)", {"x": masked})
    # Nothing masked: the plain values. By hand: sum(x*x) = 1 + 4, gradient 2x.
    r = bpcli.grad("sum(x * x)", {"x": np.ma.masked_array([1.0, 2.0], mask=[False, False])})
    assert r.output == 5.0 and type(r.gradients["x"]) is np.ndarray
    # np.matrix's `*` is a matrix product; bpcli's `*` is elementwise whatever it is given:
    # sum(x*x) over [[1, 2], [3, 4]] is 1 + 4 + 9 + 16 = 30 (the matrix product's sum is 54).
    r = bpcli.grad("sum(x * x)", {"x": np.matrix([[1.0, 2.0], [3.0, 4.0]])})
    assert r.output == 30.0
    np.testing.assert_array_equal(r.gradients["x"], [[2.0, 4.0], [6.0, 8.0]])
    assert type(r.gradients["x"]) is np.ndarray


def test_a_0d_array_stays_a_number_on_the_scalar_path():
    r = bpcli.grad("x * y", {"x": np.array(2.0), "y": 3})
    assert not isinstance(r, TensorResult) and r.gradients == {"x": 3.0, "y": 2.0}


# ---- every op, elementwise and broadcast ------------------------------------------------------

UNARY = {
    "exp": "exp", "log": "log", "sqrt": "sqrt", "sin": "sin", "cos": "cos", "tan": "tan",
    "tanh": "tanh", "sigmoid": "sigmoid", "relu": "relu", "abs": "abs", "neg": None,
}  # fmt: skip
BINARY = ("+", "-", "*", "/", "^")
SHAPE_PAIRS = [
    ((3,), (3,)),
    ((), (3,)),
    ((3,), ()),
    ((2, 3), (3,)),
    ((2, 1), (1, 3)),
    ((2, 3), (2, 3)),
]
POSITIVE = st.floats(0.5, 2.0)


def _array(draw, shape):
    return np.array(
        draw(st.lists(POSITIVE, min_size=int(np.prod(shape)), max_size=int(np.prod(shape))))
    ).reshape(shape)


@st.composite
def binary_case(draw):
    a_shape, b_shape = draw(st.sampled_from(SHAPE_PAIRS))
    a, b = _array(draw, a_shape), _array(draw, b_shape)
    op = draw(st.sampled_from(BINARY))
    return op, {"a": a if a.ndim else float(a), "b": b if b.ndim else float(b)}


@settings(max_examples=60, deadline=None)
@given(binary_case())
def test_every_binary_op_broadcasts_against_central_differences_and_torch(case):
    op, values = case
    expr = f"sum(a {op} b)"
    r = bpcli.grad(expr, values)
    for name in values:
        assert np.shape(r.gradients[name]) == np.shape(values[name]), (
            "a gradient has its input's shape"
        )
        np.testing.assert_allclose(
            r.gradients[name], numeric(expr, values, name), rtol=1e-5, atol=1e-6
        )
    if torch is not None:
        fns = {"+": torch.add, "-": torch.sub, "*": torch.mul, "/": torch.div, "^": torch.pow}
        want = by_torch(lambda a, b: fns[op](a, b).sum(), values)
        for name in values:
            np.testing.assert_allclose(r.gradients[name], want[name], rtol=1e-10, atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.sampled_from(sorted(UNARY)), st.sampled_from([(3,), (2, 3)]), st.data())
def test_every_function_elementwise_against_central_differences_and_torch(name, shape, data):
    x = (
        _array(data.draw, shape) * data.draw(st.sampled_from([1.0, -1.0]))
        if name not in ("log", "sqrt")
        else _array(data.draw, shape)
    )
    expr = "sum(-x)" if name == "neg" else f"sum({name}(x))"
    r = bpcli.grad(expr, {"x": x})
    np.testing.assert_allclose(r.gradients["x"], numeric(expr, {"x": x}, "x"), rtol=1e-5, atol=1e-6)
    if torch is not None:
        fn = {"neg": torch.neg, "relu": torch.relu, "abs": torch.abs}.get(name) or getattr(
            torch, name
        )
        want = by_torch(lambda x: fn(x).sum(), {"x": x})
        np.testing.assert_allclose(r.gradients["x"], want["x"], rtol=1e-10, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.data())
def test_matmul_of_every_kind_against_central_differences(m, n, p, data):
    for a_shape, b_shape in (((m, n), (n, p)), ((m, n), (n,)), ((n,), (n, p)), ((n,), (n,))):
        values = {"A": _array(data.draw, a_shape), "B": _array(data.draw, b_shape)}
        expr = "sum((A @ B)^2)"
        r = bpcli.grad(expr, values)
        for name in values:
            np.testing.assert_allclose(
                r.gradients[name], numeric(expr, values, name), rtol=1e-5, atol=1e-6
            )


@pytest.mark.parametrize(
    "expr",
    ["sum(x, 0)", "sum(x, 1)", "mean(x)", "mean(x, 0)", "max(x)", "min(x)", "x.T", "transpose(x)",
     "softmax(x)", "logsumexp(x)", "x[1]", "x[-1]"],
)  # fmt: skip
def test_reductions_transpose_softmax_and_index_against_central_differences(expr):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 3))
    full = f"sum(({expr}) * w)"
    w = rng.normal(size=np.shape(bpcli.grad(f"sum({expr})", {"x": x}).values[-2]))
    values = {"x": x, "w": w if np.ndim(w) else float(w)}
    r = bpcli.grad(full, values)
    np.testing.assert_allclose(r.gradients["x"], numeric(full, values, "x"), rtol=1e-5, atol=1e-7)


def test_max_of_one_vector_is_a_router_with_the_tie_convention():
    r = bpcli.grad("max(s)", {"s": [1.0, 3.0, 3.0]})
    assert r.output == 3.0
    np.testing.assert_array_equal(r.gradients["s"], [0.0, 0.5, 0.5])
    first = bpcli.grad(
        "max(s)", {"s": [1.0, 3.0, 3.0]}, conventions=bpcli.Conventions(max_tie="first")
    )
    np.testing.assert_array_equal(first.gradients["s"], [0.0, 1.0, 0.0])


# ---- the losses and the two-layer net ---------------------------------------------------------

SVM = "sum(max(0, s - s[y] + 1)) - 1"
SOFTMAX = "-log(softmax(s)[y])"
NET = "h = relu(W1 @ x + b1); s = W2 @ h + b2; sum(s^2)"


@settings(max_examples=25, deadline=None)
@given(st.integers(2, 5), st.data())
def test_the_svm_and_softmax_losses(classes, data):
    s = np.array(data.draw(st.lists(st.floats(-3, 3), min_size=classes, max_size=classes)))
    y = data.draw(st.integers(0, classes - 1))
    margins = s - s[y] + 1
    if np.any(np.abs(margins[np.arange(classes) != y]) < 1e-3):  # a kink: no derivative
        return
    svm = bpcli.grad(SVM, {"s": s, "y": y})
    assert svm.output == pytest.approx(np.sum(np.maximum(0, margins)) - 1)
    np.testing.assert_allclose(svm.gradients["s"], numeric(SVM, {"s": s, "y": y}, "s"), atol=1e-6)
    soft = bpcli.grad(SOFTMAX, {"s": s, "y": y})
    p = np.exp(s - s.max()) / np.exp(s - s.max()).sum()
    want = p.copy()
    want[y] -= 1  # CS231n: dL/ds = p - onehot(y)
    np.testing.assert_allclose(soft.gradients["s"], want, rtol=1e-10, atol=1e-12)
    assert soft.gradients["y"] is None  # a class label gets no gradient (an index: none)
    if torch is not None:
        t = by_torch(lambda s: torch.clamp(s - s[y] + 1, min=0).sum() - 1, {"s": s})
        np.testing.assert_allclose(svm.gradients["s"], t["s"], atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(0, 1000))
def test_the_two_layer_net(d, hidden, classes, seed):
    rng = np.random.default_rng(seed)
    values = {
        "W1": rng.normal(size=(hidden, d)), "x": rng.normal(size=d), "b1": rng.normal(size=hidden),
        "W2": rng.normal(size=(classes, hidden)), "b2": rng.normal(size=classes),
    }  # fmt: skip
    r = bpcli.grad(NET, values)
    for name in values:
        np.testing.assert_allclose(
            r.gradients[name], numeric(NET, values, name), rtol=1e-5, atol=1e-6
        )
    if torch is not None:
        want = by_torch(
            lambda W1, x, b1, W2, b2: ((W2 @ torch.relu(W1 @ x + b1) + b2) ** 2).sum(), values
        )
        for name in values:
            np.testing.assert_allclose(r.gradients[name], want[name], rtol=1e-9, atol=1e-12)


def test_the_bias_of_a_broadcast_add_gets_the_sum_over_the_rows():
    X = np.arange(12.0).reshape(4, 3) / 10
    r = bpcli.grad(
        "sum((X + b) * G)",
        {"X": X, "b": [1.0, 2.0, 3.0], "G": np.ones((4, 3)) * [[1], [2], [3], [4]]},
    )
    np.testing.assert_allclose(r.gradients["b"], [10.0, 10.0, 10.0])  # 1+2+3+4 in every column


def test_a_tensor_used_twice_adds_both_gradients():
    r = bpcli.grad("sum(x * x)", {"x": [1.0, -2.0, 3.0]})  # the copy gate: x and x
    np.testing.assert_allclose(r.gradients["x"], [2.0, -4.0, 6.0])


def test_a_scalar_output_through_sum_and_through_indexing():
    assert bpcli.grad("sum(x)", {"x": [1.0, 2.0]}).output == 3.0
    r = bpcli.grad("x[1] * 2", {"x": [1.0, 5.0]})
    assert r.output == 10.0
    np.testing.assert_array_equal(r.gradients["x"], [0.0, 2.0])


# ---- the output, --dout, shapes ------------------------------------------------------------


def test_a_vector_output_needs_dout():
    with pytest.raises(
        DomainError,
        match=r"the output has shape \(2,\): reduce it, e.g. sum\(...\), or give the upstream gradient with --dout",
    ):
        bpcli.grad("W @ x", LECTURE)
    dout = [1.0, -2.0]
    r = bpcli.grad("W @ x", LECTURE, dout=dout)
    W, x = np.array(LECTURE["W"]), np.array(LECTURE["x"])
    np.testing.assert_allclose(r.gradients["W"], np.outer(dout, x))  # dout · xᵀ
    np.testing.assert_allclose(r.gradients["x"], W.T @ dout)  # Wᵀ · dout
    with pytest.raises(DomainError, match=r"--dout has shape \(3,\)"):
        bpcli.grad("W @ x", LECTURE, dout=[1.0, 2.0, 3.0])


def test_a_shape_mismatch_is_an_error_under_the_operator():
    text = "f = W @ x"
    with pytest.raises(DomainError) as caught:
        bpcli.grad(text, {"W": np.ones((2, 3)), "x": [1.0, 2.0]})
    error = caught.value
    assert error.message == "W @ x: (2, 3) @ (2,): inner sizes 3 and 2 differ"
    assert text[error.span[0] : error.span[1]] == "@"
    assert isinstance(error, DomainError)


@pytest.mark.parametrize(
    ("expr", "values", "message"),
    [
        ("x + y", {"x": [1.0, 2.0], "y": [1.0, 2.0, 3.0]}, r"\(2,\) \+ \(3,\): shapes"),
        ("x[5]", {"x": [1.0, 2.0]}, "index 5 is out of range"),
        ("x[0.5]", {"x": [1.0, 2.0]}, "whole number"),
        ("sum(x, 2)", {"x": [[1.0]]}, "axis 2 is out of range"),
        # past 2**53 the float typed is shown as it reads, not int()'s digits of it
        ("x[99999999999999999999999]", {"x": [1.0, 2.0]}, r"index 1e\+23 is out of range"),
        ("sum(x, 1e30)", {"x": [1.0, 2.0]}, r"axis 1e\+30 is out of range"),
        ("x[9007199254740992]", {"x": [1.0, 2.0]}, "index 9007199254740992 is out"),
        ("2 @ x", {"x": [1.0]}, "use \\*"),
    ],
)
def test_shape_errors(expr, values, message):
    with pytest.raises(DomainError, match=message):
        bpcli.grad(expr, values)


def test_a_domain_error_names_the_element():
    with pytest.raises(DomainError, match=r"log needs a positive input at \[1\]"):
        bpcli.grad("sum(log(x))", {"x": [1.0, -1.0]})


# ---- descent and gradcheck ---------------------------------------------------------------------


def test_lr_updates_every_input_tensor():
    r = bpcli.grad("q = W @ x; f = sum(q^2)", LECTURE, lr=0.1)
    np.testing.assert_allclose(
        r.update.inputs["W"],
        np.array(LECTURE["W"]) - 0.1 * np.array([[0.088, 0.176], [0.104, 0.208]]),
    )
    np.testing.assert_allclose(
        r.update.inputs["x"], np.array(LECTURE["x"]) - 0.1 * np.array([-0.112, 0.636])
    )
    steps = bpcli.grad("sum(x^2)", {"x": [1.0, -2.0]}, lr=0.25, steps=2)
    np.testing.assert_allclose(steps.update.inputs["x"], [0.25, -0.5])  # x·(1 - 2·0.25) twice


def test_gradcheck_passes_and_catches_a_wrong_tensor_rule(patch_op):
    result = bpcli.grad(
        NET,
        {
            "W1": np.ones((2, 2)) * 0.3,
            "x": [0.5, -1.0],
            "b1": [0.1, 0.2],
            "W2": [[1.0, -1.0]],
            "b2": [0.5],
        },
    )
    assert gradcheck(result).ok
    patch_op(
        "matmul",
        tensor=TensorRule("_matmul(a, b)", ("_mm_a(g, a, b)", "_mm_a(g, a, b).T"), "matmul"),
    )
    wrong = bpcli.grad("sum(W @ x)", {"W": [[1.0, 2.0], [3.0, 4.0]], "x": [1.0, -1.0]})
    checked = gradcheck(wrong)
    failed = [name for name, check in checked.inputs.items() if check.verdict == "wrong"]
    assert not checked.ok and failed and all(name.startswith("x[") for name in failed)


# What the scalar check says of f at x0, the tensor check says of sum(f(x)) at [x0, 2] in
# its element x[0]: relu at 0 sits on a kink (numeric (h - 0)/2h = 0.5 against backprop's
# 0), x + 1e8 has only cancellation error (its derivative is 1), sqrt and log cannot be
# stepped to x0 - h, sin is smooth (cos 0.5).
SHARED = [
    ("relu(x)", 0.0, "inconclusive", 0.5),
    ("x + 1e8", 1.0, "acceptable", 1.0),
    ("sqrt(x)", 1e-12, "undefined", None),
    ("log(x)", 1e-7, "undefined", None),
    ("sin(x)", 0.5, "good", np.cos(0.5)),
]


@pytest.mark.parametrize(("expr", "x0", "verdict", "numeric"), SHARED)
def test_the_tensor_gradcheck_judges_an_element_as_the_scalar_check_an_input(
    expr, x0, verdict, numeric
):
    """Issue 17 for tensors: one judgement (kinks, cancellation, the domain's edge), so no
    false alarm over a vector where a number has none, and nothing lost."""
    from bpcli.gradcheck import gradcheck as scalar_gradcheck

    scalar = scalar_gradcheck(bpcli.grad(expr, {"x": x0})).inputs["x"]
    checked = gradcheck(bpcli.grad(f"sum({expr})", {"x": [x0, 2.0]}))
    element = checked.inputs["x[0]"]
    assert (element.verdict, scalar.verdict) == (verdict, verdict)
    assert (element.kink, element.near_kink) == (scalar.kink, scalar.near_kink)
    if numeric is None:
        assert element.numeric is None and element.reason.startswith("f is undefined at x[0] - h")
    else:
        assert element.numeric == pytest.approx(numeric, rel=1e-4)
        assert scalar.numeric == pytest.approx(numeric, rel=1e-4)
    assert checked.inputs["x[1]"].verdict in ("good", "acceptable") and checked.ok


def test_the_tensor_gradcheck_names_the_kink_an_element_sits_on(bpcli):
    """A ReLU layer whose pre-activation W @ x + b is [0, 0] (1·1 + 0·(-1) - 1 and
    0·1 + 1·(-1) + 1): every element moves it across the kink, so every mismatch is
    inconclusive, as for relu(x) at 0, and the run exits 0."""
    run = bpcli("grad", "h = relu(W @ x + b); f = sum(h)", "--W", "[[1,0],[0,1]]",
                "--x", "[1,-1]", "--b", "[-1, 1]", "--gradcheck")  # fmt: skip
    assert run.code == 0, run.stdout
    assert "warning: x[0] sits on a kink: relu(W @ x + b) at (W @ x + b)[0] = 0" in run.stdout
    assert "gradient check found nothing wrong: 8 inconclusive" in run.stdout
    one = bpcli("grad", "sum(relu(x))", "--x", "[0, 1]", "--gradcheck", "--json")
    data = json.loads(one.stdout)["gradcheck"]
    assert one.code == 0 and data["ok"] is True
    assert data["inputs"]["x[0]"]["kink"] is True and data["inputs"]["x[0]"][
        "numeric"
    ] == pytest.approx(0.5)
    assert data["kinks"][0]["inputs"] == ["x[0]"] and data["kinks"][0]["at_point"] is True


def test_the_tensor_gradcheck_at_the_domains_edge_keeps_the_run(bpcli):
    """sqrt at 1e-12: x - h is outside the domain; the element is undefined, the rest is
    checked, the gradients are still shown (0.5/sqrt(1e-12) = 5e5), and the run exits 0."""
    run = bpcli("grad", "sum(sqrt(x))", "--x", "[1e-12, 1]", "--gradcheck", "--json")
    assert run.code == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["gradients"]["x"] == pytest.approx([5e5, 0.5])
    verdicts = {k: v["verdict"] for k, v in data["gradcheck"]["inputs"].items()}
    assert verdicts == {"x[0]": "undefined", "x[1]": "good"}
    text = bpcli("grad", "sum(log(x))", "--x", "[1e-7, 1]", "--gradcheck")
    assert text.code == 0 and "warning: x[0] has no numeric gradient: f is undefined" in text.stdout


def test_the_tensor_gradcheck_of_a_large_input_checks_a_sample(bpcli):
    run = bpcli("grad", "sum(x^2)", "--x", json.dumps(list(range(30))), "--gradcheck", "--json")
    check = json.loads(run.stdout)["gradcheck"]
    assert check["sampled"] == {"x": {"checked": 20, "elements": 30}}
    assert len(check["inputs"]) == 20 and check["ok"]
    for name, element in check["inputs"].items():  # d/dx x² = 2x, x[k] = k
        assert element["numeric"] == pytest.approx(2 * int(name[2:-1]), abs=1e-6)


def test_the_tensor_gradcheck_with_dout_checks_the_weighted_sum(bpcli):
    """W @ x with dout [1, 2]: L = sum(dout ⊙ Wx), ∂L/∂W = dout xᵀ = [[1, -1], [2, -2]],
    ∂L/∂x = Wᵀ dout = [7, 10]."""
    run = bpcli("grad", "W @ x", "--W", "[[1,2],[3,4]]", "--x", "[1,-1]", "--dout", "[1,2]",
                "--gradcheck", "--json")  # fmt: skip
    check = json.loads(run.stdout)["gradcheck"]
    numeric = {k: v["numeric"] for k, v in check["inputs"].items()}
    want = {"W[0][0]": 1, "W[0][1]": -1, "W[1][0]": 2, "W[1][1]": -2, "x[0]": 7, "x[1]": 10}
    assert numeric == pytest.approx(want) and check["ok"]
    text = bpcli("grad", "W @ x", "--W", "[[1,2],[3,4]]", "--x", "[1,-1]", "--dout", "[1,2]",
                 "--gradcheck")  # fmt: skip
    assert "numeric = (L(x+h) - L(x-h)) / 2h" in text.stdout


def test_tensor_descent_that_overflows_says_at_which_step(bpcli):
    """As the scalar descent says it (x^2 at 1 with lr 1e200 moves x to about -2e200)."""
    run = bpcli("grad", "sum(x^2)", "--x", "[1, 2]", "--lr", "1e200", "--steps", "5")
    assert run.code == 2
    assert "at step 1 of gradient descent: pow overflows: a value is too large" in run.stderr
    scalar = bpcli("grad", "x^2", "--x", "1", "--lr", "1e200", "--steps", "5")
    assert "at step 1 of gradient descent: pow overflows" in scalar.stderr
    # -1e308 - 1e308·1 is past the float range: the update itself, in the same words
    update = bpcli("grad", "sum(x)", "--x", "[-1e308, 0]", "--lr", "1e308")
    words = "at step 1 of gradient descent: the update of x overflows"
    assert update.code == 2 and words in update.stderr
    assert words in bpcli("grad", "x", "--x", "-1e308", "--lr", "1e308").stderr


# ---- the command line ----------------------------------------------------------------------------


def run(*args):
    return subprocess.run([sys.executable, "-m", "bpcli", *args], capture_output=True, text=True)


@pytest.mark.integration
def test_the_command_line_reads_json_arrays_and_files(tmp_path):
    np.save(tmp_path / "w.npy", np.array(LECTURE["W"]))
    (tmp_path / "x.csv").write_text("0.2, 0.4\n")
    (tmp_path / "x.json").write_text("[0.2, 0.4]")
    for W, x in (
        (f"--W={LECTURE['W']}", "x=[0.2, 0.4]"),
        (f"--W=@{tmp_path / 'w.npy'}", f"--x=@{tmp_path / 'x.csv'}"),
        ("W=" + json.dumps(LECTURE["W"]), f"x=@{tmp_path / 'x.json'}"),
    ):
        out = run("grad", "q = W @ x; f = sum(q^2)", W, x, "--json")
        assert out.returncode == 0, out.stderr
        data = json.loads(out.stdout)
        np.testing.assert_allclose(data["gradients"]["x"], [-0.112, 0.636])


@pytest.mark.integration
def test_the_command_line_errors_and_refusals():
    W = "--W=[[0.1, 0.5], [-0.3, 0.8]]"
    cases = [
        (["grad", "W @ x", W, "--x", "[0.2, 0.4]"], "the output has shape (2,): reduce it"),
        (["grad", "W @ x", W, "--x", "[1, 2, 3]"], "inner sizes 2 and 3 differ"),
        (["grad", "sum(x)", "--x", "[[1], [1, 2]]"], "the value of x is ragged"),
        (["grad", "sum(x)", "--x", "[]"], "the value of x is empty"),
        (["grad", "sum(x)", "--x", "@x.txt"], "must name a .json, .csv or .npy file"),
        (["graph", "W @ x", W, "--x", "[0.2, 0.4]"], "the output has shape (2,): reduce it"),
        (["graph", "W @ x", "--dout", "[1, 0]"], "--dout is the upstream gradient of a"),
    ]
    for args, message in cases:
        out = run(*args)
        assert (out.returncode, message in out.stderr) == (2, True), (args, out.stderr)
        assert "Traceback" not in out.stderr
    caret = run("grad", "W @ x", W, "--x", "[1, 2, 3]")
    assert "  W @ x\n    ^\n" in caret.stderr
    ok = run("grad", "W @ x", W, "--x", "[0.2, 0.4]", "--dout", "[1, 0]", "--json")
    np.testing.assert_allclose(json.loads(ok.stdout)["gradients"]["W"], [[0.2, 0.4], [0.0, 0.0]])


@pytest.mark.integration
def test_gradcheck_on_the_command_line():
    out = run("grad", "sum(x * x)", "--x", "[1, 2, 3]", "--gradcheck")
    assert out.returncode == 0 and "gradient check passed: 3 good" in out.stdout


@pytest.mark.integration
def test_a_scalar_run_does_not_import_numpy_and_keeps_its_json():
    out = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bpcli", "grad", "x*y", "--x", "1", "--y", "2", "--json"],
        capture_output=True, text=True,
    )  # fmt: skip
    assert out.returncode == 0
    assert "numpy" not in out.stderr
    data = json.loads(out.stdout)
    assert "shape" not in data["output"] and "shapes" not in data  # today's JSON, no tensor fields


LECTURE_JSON = (
    '{"schema_version": 1, "output": {"name": "f", "value": -12.0},'
    ' "inputs": {"x": -2.0, "y": 5.0, "z": -4.0}, "gradients": {"x": -4.0, "y": -4.0, "z": 3.0},'
    ' "conventions": {"relu_grad_at_0": 0.0, "abs_grad_at_0": 0.0, "max_min_tie": "split",'
    ' "infinite_times_zero": 0.0}}\n'
)  # the lecture's hand-worked numbers, in the JSON shape of schema_version 1


@pytest.mark.integration
@pytest.mark.parametrize("extra", [[], ["--precision", "6"]])  # the fast path, the full path
def test_a_scalar_program_s_json_is_byte_for_byte_today_s(extra):
    args = ["grad", "(x+y)*z", "--x", "-2", "--y", "5", "--z", "-4", "--json", "--no-nodes"]
    out = run(*args, *extra)
    assert (out.returncode, out.stdout) == (0, LECTURE_JSON)


# ---- the grammar -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ops"),
    [
        ("s[y]^2", ["var", "var", "index", "const", "pow"]),  # the index binds tighter than ^
        ("W.T @ x", ["var", "transpose", "var", "matmul"]),  # .T tighter than @
        ("-x.T", ["var", "transpose", "neg"]),  # and than a unary minus
        ("a * b @ c", ["var", "var", "mul", "var", "matmul"]),  # @ is as tight as *, left to right
        ("(W @ x)[0]", ["var", "var", "matmul", "const", "index"]),
        ("x.T.T", ["var", "transpose", "transpose"]),
    ],
)
def test_index_transpose_and_matmul_bind_as_in_python(text, ops):
    graph = bpcli.parse(text)
    assert [graph.op(i) for i in range(len(graph))] == ops


def test_a_name_that_starts_with_T_after_a_dot_is_no_transpose():
    with pytest.raises(bpcli.ParseError):
        bpcli.parse("x.Tx")


@pytest.mark.integration
@pytest.mark.parametrize("jobs", [[], ["--jobs", "2"]])
def test_batch_answers_tensor_requests_also_asked_twice(jobs):
    line = json.dumps({"id": 1, "expr": "q = W @ x; f = sum(q^2)", "values": LECTURE})
    ragged = json.dumps({"id": 3, "expr": "sum(x)", "values": {"x": [[1], [1, 2]]}})
    out = subprocess.run(
        [sys.executable, "-m", "bpcli", "batch", *jobs],
        input="\n".join([line, line.replace('"id": 1', '"id": 2'), ragged]) + "\n",
        capture_output=True,
        text=True,
    )
    first, second, bad = map(json.loads, out.stdout.splitlines())
    for answer in (first, second):
        assert answer["ok"] is True
        np.testing.assert_allclose(answer["result"]["gradients"]["x"], [-0.112, 0.636])
    assert (second["id"], bad["ok"], bad["error"]["type"]) == (2, False, "BindError")
    assert "ragged" in bad["error"]["message"]


def test_a_npy_file_that_is_not_numpys_format_gets_bpclis_own_message(tmp_path, monkeypatch):
    """np.load reads any file without the .npy signature as a pickle, and refused it in
    pickle's words; a pickled object inside a .npy is refused, never unpickled."""
    import pickle

    from bpcli.arguments import parse_value
    from bpcli.errors import InputError

    monkeypatch.chdir(tmp_path)
    np.save("ok.npy", np.array([[1.0, 2.0], [3.0, 4.0]]))
    np.save("objects.npy", np.array([1, "a"], dtype=object), allow_pickle=True)
    Path("text.npy").write_text("not numpy\n")
    Path("pickle.npy").write_bytes(pickle.dumps([1.0, 2.0]))
    np.savez("arrays.npz", a=np.ones(2))
    Path("zip.npy").write_bytes(Path("arrays.npz").read_bytes())
    np.testing.assert_array_equal(parse_value("the value of W", "@ok.npy"), [[1, 2], [3, 4]])
    expected = (
        "the value of W ({}): not a NumPy .npy file (it does not start as numpy.save writes one)"
    )
    for name in ("text.npy", "pickle.npy", "zip.npy"):
        with pytest.raises(InputError) as caught:
            parse_value("the value of W", "@" + name)
        assert str(caught.value) == expected.format(name)
    with pytest.raises(InputError) as caught:
        parse_value("the value of W", "@objects.npy")
    assert str(caught.value) == (
        "the value of W (objects.npy): the .npy file holds Python objects, not numbers"
        " (bpcli never loads pickled objects)"
    )


def test_an_index_input_has_no_gradient_in_every_view():
    """x[i] with i an input: an index is not differentiable, so i has no gradient (PyTorch's
    i.grad is None for an integer index), where it showed ∂f/∂i = 0. By hand: f = 2·x[1],
    ∂f/∂x = [0, 2, 0]; x := x - 0.1·∂f/∂x = [1, 1.8, 3], i stays 1."""
    from bpcli.check import solve
    from bpcli.problems import loads

    result = bpcli.grad("f = x[i] * 2", x=[1, 2, 3], i=1, lr=0.1)
    np.testing.assert_array_equal(result.gradients["x"], [0, 2, 0])
    assert result.gradients["i"] is None
    data = result.to_dict()
    assert data["gradients"] == {"x": [0.0, 2.0, 0.0], "i": None}  # JSON null, as a constant's
    assert [node["grad"] for node in data["nodes"] if node["name"] in ("i", "const1")] == [None] * 2
    assert data["update"]["inputs"] == {"x": [1.0, 1.8, 3.0], "i": 1.0}
    table = str(result.table())
    assert "∂f/∂i = — (i is an index: not differentiable, so no gradient)" in table
    rows = [line.split() for line in table.splitlines()]
    assert [row[-1] for row in rows if row[:2] == ["i", "var"]] == ["—"]  # its ∂f/∂node cell
    assert "∂f/∂i" not in str(result.explain()).replace("∂f/∂index1", "")
    assert "n1 -> n2;" in result.dot()  # no gradient written on the index's edge
    key = solve(
        loads("[[problem]]\nexpr = 'x[i] * 2'\nvalues = { x = [1, 2, 3], i = 1 }").problems[0]
    )
    assert key.grad == {"x": [0.0, 2.0, 0.0]}  # no grad.i to ask for
    # an input used as an index and in the sum too keeps its gradient there (1)
    assert bpcli.grad("x[i] + i", x=[1, 2, 3], i=1).gradients["i"] == 1.0


def test_gradient_descent_over_a_variadic_max_of_vectors():
    """max(x, y, z) has one tensor rule for all its inputs: descent asked it for the
    rule of input 1 and failed (IndexError, exit 3). By hand: the winners are y[0], z[1]."""
    result = bpcli.grad("sum(max(x, y, z))", x=[1, 2], y=[3, 0], z=[0, 5], lr=0.1)
    assert {k: list(v) for k, v in result.update.inputs.items()} == {
        "x": [1.0, 2.0],
        "y": [2.9, 0.0],
        "z": [0.0, 4.9],
    }


def test_a_descent_with_dout_charts_the_number_it_descends(bpcli):
    # q = W @ x with dout [1, 0]: L = q[0]. By hand: 5 at step 0; W and x move by
    # 0.1 · ([[1, 2], [0, 0]], [1, 2]) to W[0] = x = [0.9, 1.8], L = 0.81 + 3.24 = 4.05;
    # then W[0] = x = [0.81, 1.62], L = 0.6561 + 2.6244 = 3.2805.
    from bpcli.render.chart import descent_steps

    result = bpcli_api.grad(
        "q = W @ x", {"W": [[1, 2], [3, 4]], "x": [1, 2]}, dout=[1, 0], lr=0.1, steps=2
    )
    losses = [step.output for step in descent_steps(result.update)]
    assert losses == pytest.approx([5.0, 4.05, 3.2805])
    np.testing.assert_allclose(result.update.trajectory[-1][2], [3.2805, 8.91])  # q kept
    args = ("grad", "q = W @ x", "--W", "[[1,2],[3,4]]", "--x", "[1,2]", "--dout", "[1, 0]")
    done = bpcli(*args, "--lr", "0.1", "--steps", "2")  # was an internal error (exit 3)
    assert done.code == 0 and "L over 2 steps" in done.stdout, done.stderr
