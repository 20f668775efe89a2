"""The explain view: the lecture's walkthroughs compared in full, and the copy-gate itemisation."""

from __future__ import annotations

import io
import re

import pytest
from rich.console import Console

import bpcli
from bpcli.ops import OPS
from bpcli.render.explain import ExplainView
from conftest import LECTURE
from strategies import FLOATS


def explain(text, values, width=80, **options):
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(ExplainView(bpcli.grad(text, values, **options)))
    return console.file.getvalue()


def test_lecture_walkthrough():
    # q = -2 + 5 = 3, f = 3 * -4 = -12; df/dq = z = -4, df/dz = q = 3; df/dx = df/dy = -4;
    # x := -2 - 0.1(-4) = -1.6, y := 5.4, z := -4 - 0.1(3) = -4.3; (x+y)z = -16.34
    assert (
        explain("q = x + y; f = q * z", LECTURE, lr=0.1)
        == """\
╭─ 1. forward pass ────────────────────────────────────────────────────────────╮
│ inputs: x = -2, y = 5, z = -4                                                │
│ q = x + y = -2 + 5 =   3                                                     │
│ f = q * z = 3 * -4 = -12                                                     │
│ output: f = -12                                                              │
╰──────────────────────────────────────────────────────────────────────────────╯
╭─ 2. backward pass ───────────────────────────────────────────────────────────╮
│ ∂f/∂f = 1  (the output: the backward pass starts here)                       │
│                                                                              │
│ f = q * z: mul gate, swap multiplier                                         │
│   ∂f/∂q = ∂f/∂f · ∂f/∂q = 1 · z = 1 · -4 = -4                                │
│   ∂f/∂z = ∂f/∂f · ∂f/∂z = 1 · q = 1 · 3  =  3                                │
│   swap multiplier: each input gets the upstream gradient times the other     │
│   input's value (q: 1 × (-4), z: 1 × 3)                                      │
│                                                                              │
│ q = x + y: add gate, gradient distributor                                    │
│   ∂f/∂x = ∂f/∂q · ∂q/∂x = -4 · 1 = -4                                        │
│   ∂f/∂y = ∂f/∂q · ∂q/∂y = -4 · 1 = -4                                        │
│   gradient distributor: every input gets the upstream gradient -4 unchanged  │
╰──────────────────────────────────────────────────────────────────────────────╯
╭─ 3. update step ─────────────────────────────────────────────────────────────╮
│ α = 0.1: each input takes a step against its gradient                        │
│ x := x - α·∂f/∂x = -2 - 0.1 × (-4) = -1.6                                    │
│ y := y - α·∂f/∂y = 5 - 0.1 × (-4)  =  5.4                                    │
│ z := z - α·∂f/∂z = -4 - 0.1 × 3    = -4.3                                    │
│ after the update: f = -16.34                                                 │
╰──────────────────────────────────────────────────────────────────────────────╯
"""
    )


def test_the_lectures_pattern_example():
    # f = 2(xy + max(z, w)) at x=3, y=-4, z=2, w=-1: xy = -12, max = 2, f = -20;
    # the add gate sends 2 to both, the max gate routes 2 to z and 0 to w,
    # the mul gate swaps: df/dx = 2y = -8, df/dy = 2x = 6
    assert (
        explain("2*(x*y + max(z, w))", {"x": 3, "y": -4, "z": 2, "w": -1})
        == """\
╭─ 1. forward pass ────────────────────────────────────────────────────────────╮
│ inputs: x = 3, y = -4, z = 2, w = -1                                         │
│ mul1 = x * y = 3 * -4         = -12                                          │
│ max1 = max(z, w) = max(2, -1) =   2                                          │
│ add1 = mul1 + max1 = -12 + 2  = -10                                          │
│ f    = 2 * add1 = 2 * -10     = -20                                          │
│ output: f = -20                                                              │
╰──────────────────────────────────────────────────────────────────────────────╯
╭─ 2. backward pass ───────────────────────────────────────────────────────────╮
│ ∂f/∂f = 1  (the output: the backward pass starts here)                       │
│                                                                              │
│ f = 2 * add1: mul gate, swap multiplier                                      │
│   ∂f/∂add1 = ∂f/∂f · ∂f/∂add1 = 1 · 2 = 2                                    │
│   swap multiplier: each input gets the upstream gradient times the other     │
│   input's value (add1: 1 × 2)                                                │
│                                                                              │
│ add1 = mul1 + max1: add gate, gradient distributor                           │
│   ∂f/∂mul1 = ∂f/∂add1 · ∂add1/∂mul1 = 2 · 1 = 2                              │
│   ∂f/∂max1 = ∂f/∂add1 · ∂add1/∂max1 = 2 · 1 = 2                              │
│   gradient distributor: every input gets the upstream gradient 2 unchanged   │
│                                                                              │
│ max1 = max(z, w): max gate, gradient router                                  │
│   ∂f/∂z = ∂f/∂max1 · ∂max1/∂z = 2 · (1 if z is the max, else 0) = 2 · 1 = 2  │
│   ∂f/∂w = ∂f/∂max1 · ∂max1/∂w = 2 · (1 if w is the max, else 0) = 2 · 0 = 0  │
│   gradient router: z is the max (2) and gets the whole gradient 2; the       │
│   others get 0                                                               │
│                                                                              │
│ mul1 = x * y: mul gate, swap multiplier                                      │
│   ∂f/∂x = ∂f/∂mul1 · ∂mul1/∂x = 2 · y = 2 · -4 = -8                          │
│   ∂f/∂y = ∂f/∂mul1 · ∂mul1/∂y = 2 · x = 2 · 3  =  6                          │
│   swap multiplier: each input gets the upstream gradient times the other     │
│   input's value (x: 2 × (-4), y: 2 × 3)                                      │
╰──────────────────────────────────────────────────────────────────────────────╯
"""
    )


def test_copy_gate_adds_its_uses():
    text = explain("x*x + x", {"x": 3}, width=100)
    assert "x: copy gate, gradient adder (used 3 times)" in text
    assert "∂f/∂x = 3 + 3 + 1 = 7" in text
    assert len(re.findall(r"∂f/∂x +\+= ", text)) == 3


def test_a_named_intermediate_used_twice_is_a_copy_gate():
    text = explain("q = x + y; f = q * q", {"x": 2, "y": 3}, width=100)
    assert "q: copy gate, gradient adder (used 2 times)" in text
    assert "∂f/∂q = 5 + 5 = 10" in text  # df/dq = 2q


def test_a_tie_names_the_convention():
    split = explain("max(x, y)", {"x": 1, "y": 1}, width=120)
    assert "x, y tie at 1; the gradient 1 is split evenly among them" in split
    first = explain(
        "max(x, y)", {"x": 1, "y": 1}, width=120, conventions=bpcli.Conventions(max_tie="first")
    )
    assert "the gradient 1 is sent to the first of them (--max-tie first)" in first


def test_sub_is_a_distributor_with_a_sign():
    text = explain("x - y", {"x": 1, "y": 2}, width=120)
    assert "sub gate, gradient distributor" in text
    assert "x gets 1, y gets -1" in text


def test_other_ops_show_their_local_rule():
    text = explain("tanh(x)", {"x": 0.5}, width=120)
    # tanh(0.5) = 0.462117, 1 - tanh² = 0.786448
    assert "∂f/∂x = ∂f/∂f · ∂f/∂x = 1 · (1 - f²) = 1 · 0.786448 = 0.786448" in text
    assert "squashing: the local gradient is ∂f/∂x = 1 - f²" in text


# ---- uses and local derivatives in the JSON ------------------------------------------


def test_uses_itemise_the_copy_gate():
    nodes = bpcli.grad("x*x + x", {"x": 3}).to_dict()["nodes"]
    x, mul, add = nodes
    assert x["uses"] == [
        {"node": 1, "grad": 3.0},
        {"node": 1, "grad": 3.0},
        {"node": 2, "grad": 1.0},
    ]
    assert sum(use["grad"] for use in x["uses"]) == x["grad"] == 7.0
    assert mul["local"] == [3.0, 3.0]  # the other input, x = 3, for each
    assert (mul["pattern"], add["pattern"]) == ("swap multiplier", "distributor")


def test_uses_of_a_named_intermediate():
    nodes = bpcli.grad("q = x + y; f = q * q", {"x": 2, "y": 3}).to_dict()["nodes"]
    q = nodes[2]
    assert q["name"] == "q"
    assert q["uses"] == [{"node": 3, "grad": 5.0}, {"node": 3, "grad": 5.0}]
    assert q["grad"] == 10.0
    assert nodes[0]["uses"] == [{"node": 2, "grad": 10.0}]


def test_every_node_grad_is_the_sum_of_its_uses():
    result = bpcli.grad("a = x*y; b = a + x; c = max(b, y) * a; c / (1 + x*x)", {"x": 1.5, "y": -2})
    for node in result.nodes[:-1]:
        if node.grad is None:  # a constant
            assert [g for _, g in node.uses] == [None]
            continue
        assert node.grad == pytest.approx(sum(g for _, g in node.uses), rel=1e-15)


# ---- formulas come from the op table -------------------------------------------------


def _python(formula: str, names: list[str], out: str) -> str:
    text = formula.format(*names, out=out)
    for a, b in [("·", "*"), ("²", "**2"), ("^", "**"), (", else", " else"), ("sign(", "_sign(")]:
        text = text.replace(a, b)
    return text


@pytest.mark.parametrize(
    "op", [op for op in OPS.values() if op.arity and op.scalar], ids=lambda op: op.name
)
def test_each_formula_computes_its_local_derivative(op):
    """The formula shown for every op and input equals the partial the engine uses."""
    names = ["a", "b"][: op.arity]
    args = (1.3, 0.7)[: op.arity]
    out = op.forward(*args)
    scope = {**FLOATS, "a": args[0], "b": args[-1], "o": out}
    for i, (formula, partial) in enumerate(zip(op.formulas, op.partials, strict=True)):
        value = eval(_python(formula, names, "o"), scope)  # test-only, on our own table
        assert value == pytest.approx(partial(args, out), rel=1e-12), (op.name, i, formula)


def test_a_gate_of_constants_shows_its_numbers_once():
    # 2 * 3 = 6 (not "2 * 3 = 2 * 3 = 6"); then f = 6 + 1 = 7
    text = explain("2*3 + x", {"x": 1})
    assert re.search(r"mul1 = 2 \* 3 +=\s+6", text)
    assert "2 * 3 = 2 * 3" not in text
    assert re.search(r"f +=\s+mul1 \+ x = 6 \+ 1 = 7", text)


def test_a_statement_that_goes_unused_is_not_walked_back():
    # f = a = 2x at x = 3; b = a + a is computed but unused: df/da is the seed 1, and
    # df/dx = 2, through the mul gate alone (b sends back 0 and is no copy gate's use)
    text = explain("a = x*2; b = a + a; a", {"x": 3}, width=100)
    assert "∂a/∂a = 1  (the output" in text
    assert "copy gate" not in text
    assert "b = a + a: add gate" not in text
    assert re.search(r"∂a/∂x += ∂a/∂a · ∂a/∂x = 1 · 2 = 2", text)


def test_the_update_step_with_no_inputs():
    text = explain("2*3", {}, lr=0.1)
    assert "3. update step" in text
    assert "α = 0.1: there are no inputs, so nothing changes" in text
    assert "after the update: f = 6" in text


def test_a_max_tie_shows_the_convention_not_the_formula():
    # max(x, y) at x = y = 1: the split convention gives each 1/2; "1 if x is the max"
    # would say 1, so at the tie the formula step is left out and the reason says why
    text = explain("max(x, y)", {"x": 1, "y": 1}, width=120)
    assert "∂f/∂x = ∂f/∂f · ∂f/∂x = 1 · 0.5 = 0.5" in text
    assert "is the max, else 0" not in text
