"""The explain view: the lecture's walkthroughs compared in full, and the copy-gate itemisation."""

from __future__ import annotations

import hashlib
import io
import json
import re
import sys
from pathlib import Path

import pytest
from rich.console import Console

import bpcli
from bpcli import i18n
from bpcli.ops import OPS
from bpcli.render.explain import ExplainView
from conftest import LECTURE
from strategies import FLOATS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench/ sits next to src/, it is not installed

from bench.growth import program  # noqa: E402


def explain(text, values, width=80, **options):
    """The walkthrough as `grad --explain` prints it (uncropped: a term wider than the
    line is never cut)."""
    console = Console(file=io.StringIO(), width=width, color_system=None, highlight=False)
    console.print(ExplainView(bpcli.grad(text, values, **options)), crop=False)
    return console.file.getvalue()


def test_lecture_walkthrough():
    # q = -2 + 5 = 3, f = 3 · (-4) = -12; at the output gate the local gradients are
    # ∂(q·z)/∂q = z = -4 and ∂(q·z)/∂z = q = 3; df/dx = df/dy = -4 · 1 = -4;
    # x := -2 - 0.1 × (-4) = -1.6, y := 5.4, z := -4 - 0.1 × 3 = -4.3; (x+y)z = 3.8 · (-4.3) = -16.34
    assert (
        explain("q = x + y; f = q * z", LECTURE, lr=0.1)
        == """\
╭─ 1. forward pass ────────────────────────────────────────────────────────────╮
│ inputs: x = -2, y = 5, z = -4                                                │
│ q = x + y = -2 + 5   =   3                                                   │
│ f = q · z = 3 · (-4) = -12                                                   │
│ output: f = -12                                                              │
╰──────────────────────────────────────────────────────────────────────────────╯
╭─ 2. backward pass ───────────────────────────────────────────────────────────╮
│ ∂f/∂f = 1  (the output: the backward pass starts here)                       │
│                                                                              │
│ f = q · z: mul gate, swap multiplier                                         │
│   downstream ∂f/∂q, ∂f/∂z = upstream ∂f/∂f · local ∂(q·z)/∂q, ∂(q·z)/∂z      │
│   ∂f/∂q = ∂f/∂f · ∂(q·z)/∂q = 1 · z = 1 · (-4) = -4                          │
│   ∂f/∂z = ∂f/∂f · ∂(q·z)/∂z = 1 · q = 1 · 3    =  3                          │
│   swap multiplier: each input gets the upstream gradient times the other     │
│   input's value (q: 1 · (-4), z: 1 · 3)                                      │
│                                                                              │
│ q = x + y: add gate, gradient distributor                                    │
│   downstream ∂f/∂x, ∂f/∂y = upstream ∂f/∂q · local ∂q/∂x, ∂q/∂y              │
│   ∂f/∂x = ∂f/∂q · ∂q/∂x = -4 · 1 = -4                                        │
│   ∂f/∂y = ∂f/∂q · ∂q/∂y = -4 · 1 = -4                                        │
│   gradient distributor: every input gets the upstream gradient -4 unchanged  │
╰──────────────────────────────────────────────────────────────────────────────╯
╭─ 3. update step ─────────────────────────────────────────────────────────────╮
│ α = 0.1: each input takes a step against its gradient                        │
│ x := x - α × ∂f/∂x = -2 - 0.1 × (-4) = -1.6                                  │
│ y := y - α × ∂f/∂y = 5 - 0.1 × (-4)  =  5.4                                  │
│ z := z - α × ∂f/∂z = -4 - 0.1 × 3    = -4.3                                  │
│ after the update: f = -16.34                                                 │
╰──────────────────────────────────────────────────────────────────────────────╯
"""
    )


def test_the_lectures_pattern_example():
    # f = 2(xy + max(z, w)) at x=3, y=-4, z=2, w=-1: xy = -12, max = 2, f = 2 · (-10) = -20;
    # the output gate's local gradient ∂(2·add1)/∂add1 = 2; the add gate sends 2 to both,
    # the max gate routes 2 to z and 0 to w, the mul gate swaps: df/dx = 2y = -8, df/dy = 2x = 6
    assert (
        explain("2*(x*y + max(z, w))", {"x": 3, "y": -4, "z": 2, "w": -1})
        == """\
╭─ 1. forward pass ────────────────────────────────────────────────────────────╮
│ inputs: x = 3, y = -4, z = 2, w = -1                                         │
│ mul1 = x · y = 3 · (-4)       = -12                                          │
│ max1 = max(z, w) = max(2, -1) =   2                                          │
│ add1 = mul1 + max1 = -12 + 2  = -10                                          │
│ f    = 2 · add1 = 2 · (-10)   = -20                                          │
│ output: f = -20                                                              │
╰──────────────────────────────────────────────────────────────────────────────╯
╭─ 2. backward pass ───────────────────────────────────────────────────────────╮
│ ∂f/∂f = 1  (the output: the backward pass starts here)                       │
│                                                                              │
│ f = 2 · add1: mul gate, swap multiplier                                      │
│   downstream ∂f/∂add1 = upstream ∂f/∂f · local ∂(2·add1)/∂add1               │
│   ∂f/∂add1 = ∂f/∂f · ∂(2·add1)/∂add1 = 1 · 2 = 2                             │
│   swap multiplier: each input gets the upstream gradient times the other     │
│   input's value (add1: 1 · 2)                                                │
│                                                                              │
│ add1 = mul1 + max1: add gate, gradient distributor                           │
│   downstream ∂f/∂mul1, ∂f/∂max1 = upstream ∂f/∂add1 ·                        │
│   local ∂add1/∂mul1, ∂add1/∂max1                                             │
│   ∂f/∂mul1 = ∂f/∂add1 · ∂add1/∂mul1 = 2 · 1 = 2                              │
│   ∂f/∂max1 = ∂f/∂add1 · ∂add1/∂max1 = 2 · 1 = 2                              │
│   gradient distributor: every input gets the upstream gradient 2 unchanged   │
│                                                                              │
│ max1 = max(z, w): max gate, gradient router                                  │
│   downstream ∂f/∂z, ∂f/∂w = upstream ∂f/∂max1 · local ∂max1/∂z, ∂max1/∂w     │
│   ∂f/∂z = ∂f/∂max1 · ∂max1/∂z = 2 · (1 if z is the max, else 0) = 2 · 1 = 2  │
│   ∂f/∂w = ∂f/∂max1 · ∂max1/∂w = 2 · (1 if w is the max, else 0) = 2 · 0 = 0  │
│   gradient router: z is the max (2) and gets the whole gradient 2; the       │
│   others get 0                                                               │
│                                                                              │
│ mul1 = x · y: mul gate, swap multiplier                                      │
│   downstream ∂f/∂x, ∂f/∂y = upstream ∂f/∂mul1 · local ∂mul1/∂x, ∂mul1/∂y     │
│   ∂f/∂x = ∂f/∂mul1 · ∂mul1/∂x = 2 · y = 2 · (-4) = -8                        │
│   ∂f/∂y = ∂f/∂mul1 · ∂mul1/∂y = 2 · x = 2 · 3    =  6                        │
│   swap multiplier: each input gets the upstream gradient times the other     │
│   input's value (x: 2 · (-4), y: 2 · 3)                                      │
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
    # tanh(0.5) = 0.462117, 1 - tanh² = 0.786448; at the output the local gradient is
    # written from the gate's own rule, ∂tanh(x)/∂x, never ∂f/∂x, the gradient it computes
    assert "∂f/∂x = ∂f/∂f · ∂tanh(x)/∂x = 1 · (1 - f²) = 1 · 0.786448 = 0.786448" in text
    assert "squashing: the local gradient is ∂tanh(x)/∂x = 1 - f²" in text


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
    shown = op.formulas_for(op.arity)  # as the walkthrough shows them: {i} is input i
    for i, (formula, partial) in enumerate(zip(shown, op.partials, strict=True)):
        value = eval(_python(formula, names, "o"), scope)  # test-only, on our own table
        assert value == pytest.approx(partial(args, out), rel=1e-12), (op.name, i, formula)


def test_a_gate_of_constants_shows_its_numbers_once():
    # 2 · 3 = 6 (not "2 · 3 = 2 · 3 = 6"); then f = 6 + 1 = 7
    text = explain("2*3 + x", {"x": 1})
    assert re.search(r"mul1 = 2 · 3 +=\s+6", text)
    assert "2 · 3 = 2 · 3" not in text
    assert re.search(r"f +=\s+mul1 \+ x = 6 \+ 1 = 7", text)


def test_a_statement_that_goes_unused_is_not_walked_back():
    # f = a = 2x at x = 3; b = a + a is computed but unused: df/da is the seed 1, and
    # df/dx = 2, through the mul gate alone (b sends back 0 and is no copy gate's use)
    text = explain("a = x*2; b = a + a; a", {"x": 3}, width=100)
    assert "∂a/∂a = 1  (the output" in text
    assert "copy gate" not in text
    assert "b = a + a: add gate" not in text
    assert re.search(r"∂a/∂x += ∂a/∂a · ∂\(x·2\)/∂x = 1 · 2 = 2", text)


def test_the_update_step_with_no_inputs():
    text = explain("2*3", {}, lr=0.1)
    assert "3. update step" in text
    assert "α = 0.1: there are no inputs, so nothing changes" in text
    assert "after the update: f = 6" in text


def test_a_max_tie_shows_the_convention_not_the_formula():
    # max(x, y) at x = y = 1: the split convention gives each 1/2; "1 if x is the max"
    # would say 1, so at the tie the formula step is left out and the reason says why
    text = explain("max(x, y)", {"x": 1, "y": 1}, width=120)
    assert "∂f/∂x = ∂f/∂f · ∂max(x, y)/∂x = 1 · 0.5 = 0.5" in text
    assert "is the max, else 0" not in text


# ---- equations that never break ------------------------------------------------------
# CS231n's sigmoid neuron, f = 1/(1 + exp(-(w0·x0 + w1·x1 + w2))) at w0=2, x0=-1, w1=-3,
# x1=-2, w2=-3, by hand: w0·x0 = -2, w1·x1 = 6, sum 4, + w2 = 1, neg -1, exp(-1) = 0.367879,
# 1 + that = 1.36788, f = 1/1.36788 = 0.731059; ∂f/∂add3 = -f/add3 = -1/1.36788² = -0.534447,
# ∂f/∂neg1 = -0.534447 · 0.367879 = -0.196612, ∂f/∂add2 = 0.196612 = ∂f/∂w2 = ∂f/∂mul1;
# ∂f/∂w0 = 0.196612 · (-1), ∂f/∂x0 = 0.196612 · 2 = 0.393224, ∂f/∂w1 = 0.196612 · (-2)
# = -0.393224, ∂f/∂x1 = 0.196612 · (-3) = -0.589836.
NEURON = "1/(1+exp(-(w0*x0+w1*x1+w2)))"
NEURON_VALUES = {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}
# A staged program with long names: mul1 = 3 · 2 = 6, hidden_sum = 6 + (-1) = 5,
# squared_error = 25, loss = 12.5; ∂loss/∂squared_error = 1/2, hidden_sum is used twice
# (2.5 + 2.5 = 5), ∂loss/∂weight = 5 · 2 = 10, ∂loss/∂input = 5 · 3 = 15, ∂loss/∂bias = 5.
STAGED = (
    "hidden_sum = weight * input + bias; squared_error = hidden_sum * hidden_sum;"
    " loss = squared_error / 2"
)
STAGED_VALUES = {"weight": 3, "input": 2, "bias": -1}
# sin(1.5) = 0.997495, cos(2) = -0.416147, f = -0.415104; ∂f/∂x = cos(2) · cos(1.5)
# = -0.416147 · 0.0707372 = -0.0294371, ∂f/∂y = sin(1.5) · (-sin(2)) = 0.997495 · (-0.909297)
# = -0.90702
SIN_COS = ("sin(x)*cos(y)", {"x": 1.5, "y": 2})
EXAMPLES = {
    "lecture": ("(x+y)*z", LECTURE, {"lr": 0.1}),
    "neuron": (NEURON, NEURON_VALUES, {"lr": 0.1}),
    "sin cos": (*SIN_COS, {"lr": 0.1}),
    "staged": (STAGED, STAGED_VALUES, {"lr": 0.01}),
}
CONTINUED = re.compile(r"\s*(\+?=|:=|[-+] )")  # a line that goes on the equation above it


def logical_lines(text: str) -> list[str]:
    """The box's lines with each equation's lines joined back (a line starting with `=`,
    `+=` or an addend goes on the one above), every run of spaces made one."""
    out: list[str] = []
    for raw in text.splitlines():
        line = raw.strip().strip("│╭╮╰╯─").strip()
        if out and out[-1] and CONTINUED.match(line):
            out[-1] += " " + line
        else:
            out.append(line)
    return [" ".join(line.split()) for line in out]


def walk_equations(text, values, **options):
    """Every equation the walkthrough shows, unbroken."""
    w = ExplainView(bpcli.grad(text, values, **options)).walk
    equations = [e.equation for e in w.forward] + [d.equation for d in w.update]
    for step in w.backward:
        equations += [s.equation for s in step.sends] if hasattr(step, "sends") else [step.equation]
    return [" ".join(e.text().split()) for e in equations]


@pytest.mark.parametrize("width", [40, 60, 80, 120])
@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_joining_each_equations_lines_gives_it_back(example, width):
    text, values, options = EXAMPLES[example]
    shown = explain(text, values, width, **options)
    lines = logical_lines(shown)
    for equation in walk_equations(text, values, **options):
        assert equation in lines, (equation, shown)
    for raw in shown.splitlines():  # only a term wider than the line widens the box
        assert len(raw) <= width or example == "staged", raw


def test_a_long_equation_breaks_before_an_equals_sign_only():
    # the example: at 80 columns the sine gate's equation was cut inside
    # `-0.416147 · 0.0707372`, after its result
    text = explain(*SIN_COS, width=80)
    assert (
        "│   ∂f/∂x = ∂f/∂sin1 · ∂sin1/∂x = -0.416147 · cos(x) = -0.416147 · 0.0707372   │\n"
        "│         = -0.0294371                                                         │\n"
    ) in text


def test_the_neuron_at_60_columns():
    # numbers by hand: see NEURON
    text = explain(NEURON, NEURON_VALUES, width=60)
    assert text.startswith("""\
╭─ 1. forward pass ────────────────────────────────────────╮
│ inputs: w0 = 2, x0 = -1, w1 = -3, x1 = -2, w2 = -3       │
│ mul1 = w0 · x0 = 2 · (-1)      =       -2                │
│ mul2 = w1 · x1 = -3 · (-2)     =        6                │
│ add1 = mul1 + mul2 = -2 + 6    =        4                │
│ add2 = add1 + w2 = 4 + (-3)    =        1                │
│ neg1 = -add2 = -(1)            =       -1                │
│ exp1 = exp(neg1) = exp(-1)     = 0.367879                │
│ add3 = 1 + exp1 = 1 + 0.367879 =  1.36788                │
│ f    = 1 / add3 = 1 / 1.36788  = 0.731059                │
│ output: f = 0.731059                                     │
╰──────────────────────────────────────────────────────────╯
╭─ 2. backward pass ───────────────────────────────────────╮
│ ∂f/∂f = 1  (the output: the backward pass starts here)   │
│                                                          │
│ f = 1 / add3: div gate, divider                          │
│   downstream ∂f/∂add3 = upstream ∂f/∂f ·                 │
│   local ∂(1/add3)/∂add3                                  │
│   ∂f/∂add3 = ∂f/∂f · ∂(1/add3)/∂add3 = 1 · (-f/add3)     │
│            = 1 · (-0.534447) = -0.534447                 │
│   divider: the local gradient is                         │
│   ∂(1/add3)/∂add3 = -f/add3                              │
│                                                          │
│ add3 = 1 + exp1: add gate, gradient distributor          │
│   downstream ∂f/∂exp1 = upstream ∂f/∂add3 ·              │
│   local ∂add3/∂exp1                                      │
│   ∂f/∂exp1 = ∂f/∂add3 · ∂add3/∂exp1 = -0.534447 · 1      │
│            = -0.534447                                   │
│   gradient distributor: every input gets the upstream    │
│   gradient -0.534447 unchanged                           │
│                                                          │
│ exp1 = exp(neg1): exp gate, exponential                  │
│   downstream ∂f/∂neg1 = upstream ∂f/∂exp1 ·              │
│   local ∂exp1/∂neg1                                      │
│   ∂f/∂neg1 = ∂f/∂exp1 · ∂exp1/∂neg1 = -0.534447 · exp1   │
│            = -0.534447 · 0.367879 = -0.196612            │
│   exponential: the local gradient is ∂exp1/∂neg1 = exp1  │
│                                                          │
│ neg1 = -add2: neg gate, gradient distributor             │
│   downstream ∂f/∂add2 = upstream ∂f/∂neg1 ·              │
│   local ∂neg1/∂add2                                      │
│   ∂f/∂add2 = ∂f/∂neg1 · ∂neg1/∂add2 = -0.196612 · (-1)   │
│            = 0.196612                                    │
""")
    assert (
        """\
│ mul1 = w0 · x0: mul gate, swap multiplier                │
│   downstream ∂f/∂w0, ∂f/∂x0 = upstream ∂f/∂mul1 ·        │
│   local ∂mul1/∂w0, ∂mul1/∂x0                             │
│   ∂f/∂w0 = ∂f/∂mul1 · ∂mul1/∂w0 = 0.196612 · x0          │
│          = 0.196612 · (-1) = -0.196612                   │
│   ∂f/∂x0 = ∂f/∂mul1 · ∂mul1/∂x0 = 0.196612 · w0          │
│          = 0.196612 · 2 = 0.393224                       │
"""
        in text
    )


def test_the_lecture_at_40_columns():
    assert (
        explain("(x+y)*z", LECTURE, width=40, lr=0.1)
        == """\
╭─ 1. forward pass ────────────────────╮
│ inputs: x = -2, y = 5, z = -4        │
│ add1 = x + y = -2 + 5      =   3     │
│ f    = add1 · z = 3 · (-4) = -12     │
│ output: f = -12                      │
╰──────────────────────────────────────╯
╭─ 2. backward pass ───────────────────╮
│ ∂f/∂f = 1  (the output: the backward │
│ pass starts here)                    │
│                                      │
│ f = add1 · z: mul gate, swap         │
│ multiplier                           │
│   downstream ∂f/∂add1, ∂f/∂z         │
│   = upstream ∂f/∂f · local           │
│   ∂(add1·z)/∂add1, ∂(add1·z)/∂z      │
│   ∂f/∂add1 = ∂f/∂f · ∂(add1·z)/∂add1 │
│            = 1 · z = 1 · (-4) = -4   │
│   ∂f/∂z    = ∂f/∂f · ∂(add1·z)/∂z    │
│            = 1 · add1 = 1 · 3 = 3    │
│   swap multiplier: each input gets   │
│   the upstream gradient times the    │
│   other input's value (add1:         │
│   1 · (-4), z: 1 · 3)                │
│                                      │
│ add1 = x + y: add gate, gradient     │
│ distributor                          │
│   downstream ∂f/∂x, ∂f/∂y            │
│   = upstream ∂f/∂add1 ·              │
│   local ∂add1/∂x, ∂add1/∂y           │
│   ∂f/∂x = ∂f/∂add1 · ∂add1/∂x        │
│         = -4 · 1 = -4                │
│   ∂f/∂y = ∂f/∂add1 · ∂add1/∂y        │
│         = -4 · 1 = -4                │
│   gradient distributor: every input  │
│   gets the upstream gradient -4      │
│   unchanged                          │
╰──────────────────────────────────────╯
╭─ 3. update step ─────────────────────╮
│ α = 0.1: each input takes a step     │
│ against its gradient                 │
│ x := x - α × ∂f/∂x = -2 - 0.1 × (-4) │
│    = -1.6                            │
│ y := y - α × ∂f/∂y = 5 - 0.1 × (-4)  │
│    = 5.4                             │
│ z := z - α × ∂f/∂z = -4 - 0.1 × 3    │
│    = -4.3                            │
│ after the update: f = -16.34         │
╰──────────────────────────────────────╯
"""
    )


def test_long_names_at_40_columns_hang_under_the_left_hand_side():
    # numbers by hand: see STAGED
    text = explain(STAGED, STAGED_VALUES, width=40)
    assert text.startswith("""\
╭─ 1. forward pass ────────────────────╮
│ inputs: weight = 3, input = 2,       │
│ bias = -1                            │
│ mul1          = weight · input       │
│               = 3 · 2 = 6            │
│ hidden_sum    = mul1 + bias          │
│               = 6 + (-1) = 5         │
│ squared_error                        │
│   = hidden_sum · hidden_sum = 5 · 5  │
│   = 25                               │
│ loss          = squared_error / 2    │
│               = 25 / 2 = 12.5        │
│ output: loss = 12.5                  │
╰──────────────────────────────────────╯
""")
    # `∂loss/∂squared_error · ∂squared_error/∂hidden_sum` is wider than 36 columns: the box
    # grows to hold it, whole
    assert (
        "│   ∂loss/∂hidden_sum                                      │\n"
        "│     += ∂loss/∂squared_error · ∂squared_error/∂hidden_sum │\n"
        "│      = 0.5 · hidden_sum = 0.5 · 5 = 2.5                  │\n"
    ) in text
    assert "│   ∂loss/∂hidden_sum = 2.5 + 2.5 = 5" in text
    assert (
        "│   ∂loss/∂weight = ∂loss/∂mul1 · ∂mul1/∂weight            │\n"
        "│                 = 5 · input = 5 · 2 = 10                 │\n"
        "│   ∂loss/∂input  = ∂loss/∂mul1 · ∂mul1/∂input             │\n"
        "│                 = 5 · weight = 5 · 3 = 15                │\n"
    ) in text


def test_a_copy_gate_of_many_uses_breaks_between_its_addends():
    # x + x + … + x, 40 uses: each sends 1, ∂f/∂x = 40
    text = explain("+".join(["x"] * 40), {"x": 1}, width=40)
    lines = text.splitlines()
    (start,) = [i for i, line in enumerate(lines) if "∂f/∂x = 1 + 1" in line]
    assert lines[start : start + 7] == [
        "│   ∂f/∂x = 1 + 1 + 1 + 1 + 1 + 1 + 1  │",
        *["│           + 1 + 1 + 1 + 1 + 1 + 1    │"] * 5,
        "│           + 1 + 1 + 1 = 40           │",
    ]
    assert " ".join(["∂f/∂x = 1"] + ["+ 1"] * 39) + " = 40" in logical_lines(text)


# ---- upstream × local = downstream ------------------------------------------------------


@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_the_local_gradient_is_never_the_gradient_it_computes(example):
    text, values, options = EXAMPLES[example]
    w = ExplainView(bpcli.grad(text, values, **options)).walk
    gates = [step for step in w.backward if hasattr(step, "sends")]
    assert gates
    for gate in gates:
        for send in gate.sends:
            assert send.local != send.downstream != gate.upstream
            assert send.equation.terms[0] == f"{gate.upstream} · {send.local}"
        chain = gate.chain().text()
        assert chain.startswith("downstream ") and " = upstream " in chain and " · local " in chain


def test_each_gate_names_its_upstream_local_and_downstream_gradients():
    text = explain("q = x + y; f = q * z", LECTURE)
    # the output gate: the local gradient written from the gate's own rule, ∂(q·z)/∂q = z
    assert "downstream ∂f/∂q, ∂f/∂z = upstream ∂f/∂f · local ∂(q·z)/∂q, ∂(q·z)/∂z" in text
    assert "∂f/∂q = ∂f/∂f · ∂(q·z)/∂q = 1 · z = 1 · (-4) = -4" in text
    assert "∂f/∂f · ∂f/∂q" not in text
    # an inner gate: the lecture's own line
    assert "downstream ∂f/∂x, ∂f/∂y = upstream ∂f/∂q · local ∂q/∂x, ∂q/∂y" in text
    assert "∂f/∂x = ∂f/∂q · ∂q/∂x = -4 · 1 = -4" in text


def test_the_neurons_divider_says_its_own_rule():
    text = " ".join(logical_lines(explain(NEURON, NEURON_VALUES, width=120)))
    assert "∂f/∂add3 = -0.534447" not in text.replace("∂f/∂add3 = ∂f/∂f", "")
    assert "divider: the local gradient is ∂(1/add3)/∂add3 = -f/add3" in text
    assert (
        "∂f/∂add3 = ∂f/∂f · ∂(1/add3)/∂add3 = 1 · (-f/add3) = 1 · (-0.534447) = -0.534447" in text
    )


# ---- one multiplication sign per panel, negative numbers in brackets -----------------------


def panels(text: str) -> list[str]:
    return re.split(r"\n(?=╭─ \d\. )", text)


@pytest.mark.parametrize("example", EXAMPLES, ids=str)
def test_one_multiplication_sign_per_panel(example):
    text, values, options = EXAMPLES[example]
    forward, backward, update = panels(explain(text, values, 120, **options))
    for panel in (forward, backward):
        assert "*" not in panel and "×" not in panel
    assert "·" not in update and "*" not in update and "×" in update


def test_negative_numbers_are_bracketed_where_substituted():
    text = explain(NEURON, NEURON_VALUES, width=120)
    assert "neg1 = -add2 = -(1)" in text and "-1 = -1" not in text
    assert "add2 = add1 + w2 = 4 + (-3)" in text
    assert "mul2 = w1 · x1 = -3 · (-2)" in text  # the first operand of a product stays bare
    assert "-0.196612 · (-1) = 0.196612" in text
    assert "1 · (-f/add3)" in text
    assert not re.search(r"[·×+] -\d", text)


# ---- the boxes ----------------------------------------------------------------------------


@pytest.mark.parametrize("width", [40, 80])
def test_the_box_is_drawn_as_richs_panel(width):
    from rich.panel import Panel

    from bpcli.render.lines import Boxed, Lines

    lines = [[("a line", "")], [], [("∂f/∂x = ", ""), ("-4", "red")]]
    mine, rich = (Console(file=io.StringIO(), width=width, color_system=None) for _ in range(2))
    mine.print(Boxed("1. forward pass", lambda w: lines))
    rich.print(Panel(Lines(lambda w: lines), title="1. forward pass", title_align="left"))
    assert mine.file.getvalue() == rich.file.getvalue()


# ---- the walkthrough as data: grad --json --explain ------------------------------------------


def test_json_explain_carries_the_walkthroughs_steps(bpcli):
    run = bpcli("grad", "q = x + y; f = q * z", "x=-2", "y=5", "z=-4", "--lr", "0.1",
                "--json", "--explain")  # fmt: skip
    assert run.code == 0, run.stderr
    steps = json.loads(run.stdout)["steps"]
    assert [(s["pass"], s["kind"], s.get("name")) for s in steps] == [
        ("forward", "node", "q"), ("forward", "node", "f"),
        ("backward", "start", "f"), ("backward", "gate", "f"), ("backward", "gate", "q"),
        ("update", "input", "x"), ("update", "input", "y"), ("update", "input", "z"),
    ]  # fmt: skip
    assert steps[1]["value"] == -12 and steps[1]["text"] == "f = q · z = 3 · (-4) = -12"
    mul = steps[3]
    assert (mul["op"], mul["pattern"]) == ("mul", "swap multiplier")
    assert mul["upstream"] == {"symbol": "∂f/∂f", "value": 1}
    # the lecture: ∂f/∂q = 1 · z = -4, ∂f/∂z = 1 · q = 3
    assert mul["inputs"] == [
        {"node": 2, "name": "q", "edge": 0,
         "local": {"symbol": "∂(q·z)/∂q", "formula": "z", "value": -4},
         "downstream": {"symbol": "∂f/∂q", "value": -4},
         "text": "∂f/∂q = ∂f/∂f · ∂(q·z)/∂q = 1 · z = 1 · (-4) = -4"},
        {"node": 3, "name": "z", "edge": 1,
         "local": {"symbol": "∂(q·z)/∂z", "formula": "q", "value": 3},
         "downstream": {"symbol": "∂f/∂z", "value": 3},
         "text": "∂f/∂z = ∂f/∂f · ∂(q·z)/∂z = 1 · q = 1 · 3 = 3"},
    ]  # fmt: skip
    add = steps[4]
    assert [(i["name"], i["local"]["value"], i["downstream"]["value"]) for i in add["inputs"]] == [
        ("x", 1, -4),
        ("y", 1, -4),
    ]
    assert add["upstream"]["value"] == -4
    x = steps[5]
    assert (x["value"], x["grad"], x["lr"], x["new_value"]) == (-2, -4, 0.1, pytest.approx(-1.6))
    assert x["text"] == "x := x - α × ∂f/∂x = -2 - 0.1 × (-4) = -1.6"


def test_json_explain_lists_a_copy_gate_and_json_alone_has_no_steps(bpcli):
    run = bpcli("grad", "x*x + x", "x=3", "--json", "--explain")
    data = json.loads(run.stdout)
    (copy,) = [s for s in data["steps"] if s["kind"] == "copy"]
    # d/dx (x·x + x) = 3 + 3 + 1 = 7 at x = 3
    assert copy["uses"] == [{"node": 1, "grad": 3}, {"node": 1, "grad": 3}, {"node": 2, "grad": 1}]
    assert (copy["name"], copy["grad"], copy["pattern"]) == ("x", 7, "copy")
    alone = bpcli("grad", "x*x + x", "x=3", "--json")
    assert "steps" not in json.loads(alone.stdout)
    without = dict(data)
    del without["steps"]
    assert json.dumps(without) == json.dumps(json.loads(alone.stdout))


def test_the_command_line_lays_the_walkthrough_out_for_columns(bpcli, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    run = bpcli("grad", *SIN_COS[0:1], "x=1.5", "y=2", "--explain")
    assert run.code == 0, run.stderr
    box = run.stdout[run.stdout.index("╭─ 1. forward pass") :]
    assert {len(line) for line in box.splitlines()} == {60}
    # numbers by hand: see SIN_COS
    assert (
        "│   ∂f/∂x = ∂f/∂sin1 · ∂sin1/∂x = -0.416147 · cos(x)       │\n"
        "│         = -0.416147 · 0.0707372 = -0.0294371             │\n"
    ) in box


def test_korean_names_take_two_columns_each():
    # 가격 = 3 · 2 = 6, f = 6 + 1 = 7; each Korean letter is two cells wide
    from rich.cells import cell_len

    text = explain("가격 = x * 2; 가격 + 1", {"x": 3}, width=40)
    assert {cell_len(line) for line in text.splitlines()} == {40}
    assert "│ 가격 = x · 2 = 3 · 2    = 6" in text
    assert "∂f/∂x = ∂f/∂가격 · ∂가격/∂x = 1 · 2 = 2" in " ".join(logical_lines(text))


# ---- the text, byte for byte, as it was before its layout was made cheaper ----------------
#
# The digests below were recorded with bpcli at commit f4eb37f: a walkthrough that still
# agrees with them breaks the same lines, aligns the same equations and writes the same
# boxes and styles, in a pipe and in a terminal (colour), in English and Korean.


@pytest.mark.parametrize(
    ("program_text", "values", "lr", "width", "colour", "lang", "digest"),
    [
        ("(x+y)*z", LECTURE, None, 80, False, "en", "5b467f344a2b89b9226bc7883ac24150"),
        ("(x+y)*z", LECTURE, 0.1, 40, False, "ko", "f940af9caa13d0944137cb17491c782f"),
        ("x*x + x + max(x, y) + tanh(x)/y", {"x": 3, "y": 2}, 0.1, 80, True, "en",
         "9481bc2f7246652522833e4ce41dba95"),
        ("uses", 300, None, 80, False, "en", "75db782e10e1029fe5690ea2b144c941"),
        ("uses", 300, None, 80, False, "ko", "c0df140644d0c0b6734139383711385f"),
        ("dag", 100, 0.1, 100, False, "en", "96ff6293221e742d662af93dbbc41d7a"),
    ],
)  # fmt: skip
def test_the_walkthrough_is_the_recorded_text(
    program_text, values, lr, width, colour, lang, digest
):
    i18n.use(lang)
    if program_text in ("uses", "dag"):  # the benchmark's shapes, of that size
        program_text, values = program(program_text, values)
    result = bpcli.grad(program_text, values, lr=lr)
    out = io.StringIO()
    system = "truecolor" if colour else None  # (and no NO_COLOR, which the tests set)
    screen = Console(file=out, width=width, color_system=system, no_color=False, highlight=False)
    screen.print(ExplainView(result), crop=False)
    assert hashlib.md5(out.getvalue().encode()).hexdigest() == digest
