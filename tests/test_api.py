"""The public API: binding values, errors, and the one JSON shape."""

from __future__ import annotations

import json

import pytest

import bpcli
from bpcli import BindError, BpcliError, InputError
from conftest import LECTURE


def test_the_public_api():
    graph = bpcli.parse("(x+y)*z")
    result = bpcli.evaluate(graph, LECTURE)
    assert isinstance(result, bpcli.Result)
    assert result.output == -12.0
    assert result.gradients == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert isinstance(result.nodes[0], bpcli.NodeResult)
    for cls in (bpcli.ParseError, bpcli.BindError, bpcli.DomainError, bpcli.InputError):
        assert issubclass(cls, BpcliError)


def test_values_may_be_pairs_ints_or_floats():
    result = bpcli.grad("x*y", [("x", 2), ("y", 0.5)])
    assert result.inputs == {"x": 2.0, "y": 0.5}
    assert all(type(v) is float for v in result.inputs.values())


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"x": 1}, "missing values for y, z"),
        ({"x": 1, "y": 2}, "missing a value for z"),
        ({"x": 1, "yy": 2, "z": 3}, "yy is not an input of the expression; did you mean y?"),
        ({"x": 1, "y": 2, "z": 3, "w": 4}, "w is not an input of the expression (its inputs are x, y, z)"),
        ({"x": 1, "y": 2, "z": 3, "q": 4}, "q is computed by the expression, not an input: it takes no value"),
        ([("x", 1), ("y", 2), ("x", 3), ("z", 1)], "a value for x is given twice"),
        ({"x": "1", "y": 2, "z": 3}, "the value of x must be a number, got '1'"),
        ({"x": True, "y": 2, "z": 3}, "the value of x must be a number, got True"),
        ({"x": float("nan"), "y": 2, "z": 3}, "the value of x must be a number, got nan"),
        ({"x": float("inf"), "y": 2, "z": 3}, "the value of x is too large for a float (got inf)"),
        ({"x": 10**400, "y": 2, "z": 3}, "the value of x is too large for a float"),
    ],
)  # fmt: skip
def test_bad_values_are_bind_errors(values, message):
    with pytest.raises(BindError) as info:
        bpcli.grad("q = x + y; q * z", values)
    assert info.value.message == message


@pytest.mark.parametrize(
    ("lr", "steps", "message"),
    [
        (None, 3, "steps needs a learning rate (lr)"),
        (0.1, 0, "the number of steps must be a whole number from 1 to 100,000, got 0"),
        (0.1, 1.5, "the number of steps must be a whole number from 1 to 100,000, got 1.5"),
        (float("nan"), None, "the learning rate must be a number, got nan"),
        (0.1, 100_001, "the number of steps must be a whole number from 1 to 100,000, got 100001"),
    ],
)
def test_bad_update_options_are_input_errors(lr, steps, message):
    with pytest.raises(InputError) as info:
        bpcli.grad("x*y", {"x": 1, "y": 2}, lr=lr, steps=steps)
    assert info.value.message == message


def test_to_dict_is_the_json_object():
    result = bpcli.grad("q = x + y; f = q * z", LECTURE, lr=0.1)
    data = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert list(data) == [
        "schema_version",
        "expression",
        "output",
        "inputs",
        "gradients",
        "nodes",
        "conventions",
        "update",
    ]
    assert data["schema_version"] == 1
    assert data["expression"] == "q = x + y; f = q * z"
    assert data["output"] == {"name": "f", "value": -12.0}
    assert data["inputs"] == LECTURE
    assert data["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert data["nodes"][2] == {
        "id": 2,
        "name": "q",
        "op": "add",
        "inputs": [0, 1],
        "text": "x + y",
        "value": 3.0,
        "grad": -4.0,
        "pattern": "distributor",
        "local": [1.0, 1.0],
        "uses": [{"node": 4, "grad": -4.0}],
    }
    assert [n["op"] for n in data["nodes"]] == ["var", "var", "add", "var", "mul"]
    assert data["conventions"] == {
        "relu_grad_at_0": 0.0,
        "abs_grad_at_0": 0.0,
        "max_min_tie": "split",
        "infinite_times_zero": 0.0,
    }
    assert data["update"]["lr"] == 0.1
    assert data["update"]["steps"] == 1
    assert data["update"]["inputs"] == pytest.approx({"x": -1.6, "y": 5.4, "z": -4.3})
    assert data["update"]["output"] == pytest.approx(-16.34)
    assert "trajectory" not in data


def test_to_dict_has_the_trajectory_when_steps_are_given():
    data = bpcli.grad("(x+y)*z", LECTURE, lr=0.1, steps=2).to_dict()
    assert [t["step"] for t in data["trajectory"]] == [0, 1, 2]
    assert data["trajectory"][0] == {"step": 0, "inputs": LECTURE, "output": -12.0}
    assert data["trajectory"][1]["output"] == pytest.approx(-16.34)
    assert data["trajectory"][2]["inputs"] == data["update"]["inputs"]


def test_a_constant_has_a_null_gradient_in_json():
    data = bpcli.grad("x*-4", {"x": 1}).to_dict()
    assert data["nodes"][1] == {
        "id": 1,
        "name": "const1",
        "op": "const",
        "inputs": [],
        "text": "-4",
        "value": -4.0,
        "grad": None,
        "pattern": "constant",
        "local": [],
        "uses": [{"node": 2, "grad": None}],
    }


def test_an_expression_with_no_inputs():
    result = bpcli.grad("2 * 3", {})
    assert result.output == 6.0
    assert result.gradients == {}
    with pytest.raises(
        BindError, match=r"x is not an input of the expression \(it has no inputs\)"
    ):
        bpcli.grad("2 * 3", {"x": 1})


def test_errors_carry_position_and_source():
    with pytest.raises(bpcli.ParseError) as info:
        bpcli.parse("(x +\n  * y)")
    err = info.value
    assert err.source == "(x +\n  * y)"
    assert err.span == (7, 8)
    assert (err.line, err.column) == (2, 3)


@pytest.mark.parametrize(
    ("text", "values", "options"),
    [
        ("(x+y)*z", LECTURE, {"lr": 0.1, "steps": 2}),
        ("q = x + y; f = q * q", {"x": 2, "y": 3}, {"lr": 0.5}),
        ('α = x*-4; max(α, y, 3) / (1 + exp(x)) # "quoted" <tag> \\\\', {"x": 0.3, "y": 2}, {}),
        ("2*3", {}, {}),
        ("relu(sqrt(x)) + 1e-300*y", {"x": 0, "y": 1e-5}, {}),
    ],
)
def test_the_streamed_json_is_exactly_json_dumps_of_to_dict(text, values, options):
    result = bpcli.grad(text, values, **options)
    for nodes in (True, False):
        for compact in (True, False):
            for ascii in (True, False):
                separators = (",", ":") if compact else (", ", ": ")
                want = json.dumps(
                    result.to_dict(nodes),
                    ensure_ascii=ascii,
                    allow_nan=False,
                    separators=separators,
                )
                got = "".join(result.json_chunks(nodes, compact=compact, ascii=ascii))
                assert got == want
    extra = {"gradcheck": {"ok": True, "α": [1.5, None]}}
    want = json.dumps({**result.to_dict(), **extra}, ensure_ascii=False, allow_nan=False)
    assert "".join(result.json_chunks(extra=extra)) == want


def test_a_node_json_object_has_its_fields_in_the_documented_order():
    node = bpcli.grad("x * 2", {"x": 3}).to_dict()["nodes"][2]
    assert list(node) == [
        "id", "name", "op", "inputs", "text", "value", "grad", "pattern", "local", "uses",
    ]  # fmt: skip


def test_each_edge_knows_what_it_sends_back():
    # f = x*x + x at x = 3: each edge of x*x sends 1 * 3 = 3, the edge of + sends 1;
    # df/dx = 3 + 3 + 1 = 7, the copy gate
    result = bpcli.grad("x*x + x", {"x": 3})
    assert [result.sent(1, k) for k in (0, 1)] == [3.0, 3.0]
    assert [result.sent(2, k) for k in (0, 1)] == [1.0, 1.0]
    assert result.nodes[0].uses == ((1, 3.0), (1, 3.0), (2, 1.0))
    assert result.nodes[0].grad == 7.0
    # a constant gets nothing: 2 * x sends None to the 2
    assert bpcli.grad("2 * x", {"x": 3}).sent(2, 0) is None


@pytest.mark.parametrize(
    ("text", "values", "kinks", "winners"),
    [
        # max(x, y, x) at x = 3, y = 1: both uses of x win, a tie (a kink)
        ("max(x, y, x)", {"x": 3, "y": 1}, {"f": True}, {"f": (0, 2)}),
        ("max(x, y)", {"x": 3, "y": 1}, {"f": False}, {"f": (0,)}),
        ("min(x, y) * 2", {"x": 3, "y": 1}, {"min1": False}, {"min1": (1,)}),
        # relu and abs at 0 sit on their kink; not a router: no winners
        ("relu(x) + abs(y)", {"x": 0, "y": 2}, {"relu1": True, "abs1": False}, {"relu1": ()}),
        ("x * y", {"x": 0, "y": 0}, {"f": False}, {"f": ()}),
    ],
)
def test_a_node_says_whether_it_sits_on_a_kink_and_who_won(text, values, kinks, winners):
    nodes = {node.name: node for node in bpcli.grad(text, values).nodes}
    assert {name: nodes[name].kink for name in kinks} == kinks
    assert {name: nodes[name].winners for name in winners} == winners


def test_a_name_pasted_decomposed_is_the_name_typed():
    # macOS pastes Hangul and accents decomposed (NFD): 가 as U+1100 U+1161, é as e + U+0301.
    # Either way round it is one name; by hand, d(2·v)/dv = 2 and d(v·v)/dv = 2v.
    import unicodedata

    nfd = unicodedata.normalize("NFD", "가")
    assert nfd != "가" and len(nfd) == 2
    for expr, given in (("가 * 2", nfd), (f"{nfd} * 2", "가"), (f"{nfd} * 2", nfd)):
        r = bpcli.grad(expr, {given: 1.5})
        assert (r.output, r.gradients) == (3.0, {"가": 2.0})
    accent = unicodedata.normalize("NFD", "é")
    r = bpcli.grad(f"{accent} * {accent}", {"é": 3.0})
    assert (r.output, r.gradients) == (9.0, {"é": 6.0})
