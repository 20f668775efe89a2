"""Text to graph: structure, spans, precedence (checked against SymPy), and syntax errors."""

from __future__ import annotations

import contextlib
import gc
import hashlib
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest
import sympy

import bpcli
from bpcli import BindError, DomainError, ParseError
from bpcli.graph import Graph
from bpcli.ops import OPS

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench/ sits next to src/, it is not installed

from bench.graphs import generate, to_bpcli  # noqa: E402

FUNCTIONS = sorted(name for name, op in OPS.items() if op.function)  # by name, in the message


def ops(text: str) -> list[tuple[str, tuple[int, ...]]]:
    return [(node.op, node.inputs) for node in bpcli.parse(text).nodes]


def test_lecture_graph_is_built_in_topological_order():
    graph = bpcli.parse("(x+y)*z")
    assert ops("(x+y)*z") == [
        ("var", ()),
        ("var", ()),
        ("add", (0, 1)),
        ("var", ()),
        ("mul", (2, 3)),
    ]
    assert graph.output == 4
    assert graph.variables == {"x": 0, "y": 1, "z": 3}
    assert [graph.text(node) for node in graph.nodes] == ["x", "y", "x+y", "z", "(x+y)*z"]


def test_a_variable_used_twice_is_one_node_with_two_uses():
    graph = bpcli.parse("x*x + x")
    assert [node.op for node in graph.nodes] == ["var", "mul", "add"]
    assert graph.nodes[1].inputs == (0, 0)
    assert graph.nodes[2].inputs == (1, 0)


@pytest.mark.parametrize(
    ("text", "structure"),
    [
        ("-x**2", [("var", ()), ("const", ()), ("pow", (0, 1)), ("neg", (2,))]),
        ("x^3^2", [("var", ()), ("const", ()), ("const", ()), ("pow", (1, 2)), ("pow", (0, 3))]),
        ("x-y-z", [("var", ()), ("var", ()), ("sub", (0, 1)), ("var", ()), ("sub", (2, 3))]),
        ("x/y/z", [("var", ()), ("var", ()), ("div", (0, 1)), ("var", ()), ("div", (2, 3))]),
        ("x**-1", [("var", ()), ("const", ()), ("pow", (0, 1))]),
        ("x^-1", [("var", ()), ("const", ()), ("pow", (0, 1))]),
        ("x+y*z", [("var", ()), ("var", ()), ("var", ()), ("mul", (1, 2)), ("add", (0, 3))]),
        ("-x*y", [("var", ()), ("neg", (0,)), ("var", ()), ("mul", (1, 2))]),
        ("+x", [("var", ())]),
        ("pow(x, 2)", [("var", ()), ("const", ()), ("pow", (0, 1))]),
        ("max(x, y, z)", [("var", ()), ("var", ()), ("var", ()), ("max", (0, 1, 2))]),
    ],
)
def test_precedence_and_associativity(text, structure):
    assert ops(text) == structure


# Values from SymPy, which applies Python's precedence (and reads ^ as **).
@pytest.mark.parametrize(
    "text",
    [
        "-x**2",
        "x^3^2",
        "x**-1",
        "x^-y",
        "x-y-z",
        "x/y/z",
        "x - -y",
        "-x*-y",
        "2*-x**2",
        "x+y*z**2/w",
        "-(x+y)*z",
        "(x+y)^2^0.5",
        "-2**2",
        "- -x",
        "x*+y",
        "1e-3*x + 2.5E+1*y - .5*z",
    ],
)
def test_values_agree_with_sympy(text):
    point = {"x": 1.5, "y": 2.0, "z": 0.75, "w": 3.0}
    graph = bpcli.parse(text)
    values = {name: point[name] for name in graph.variables}
    want = sympy.sympify(text).subs({sympy.Symbol(k): v for k, v in values.items()})
    assert bpcli.evaluate(graph, values).output == pytest.approx(float(want), rel=1e-12)


@pytest.mark.parametrize(
    ("literal", "value"),
    [("3", 3.0), ("0.5", 0.5), (".5", 0.5), ("1e-3", 0.001), ("2.5E+4", 25000.0), ("7.", 7.0)],
)
def test_number_forms(literal, value):
    (node,) = bpcli.parse(literal).nodes
    assert node.op == "const"
    assert node.value == value


def test_minus_on_a_literal_is_one_negative_constant():
    graph = bpcli.parse("(x+y)*-4")
    consts = [node for node in graph.nodes if node.op == "const"]
    assert [(c.value, graph.text(c)) for c in consts] == [(-4.0, "-4")]
    assert "neg" not in [node.op for node in graph.nodes]


def test_minus_on_a_named_constant_is_not_folded():
    graph = bpcli.parse("c = 4; -c")
    assert [node.op for node in graph.nodes] == ["const", "neg"]
    assert graph.nodes[0].value == 4.0


# ---- operators pasted from slides or a PDF -----------------------------------------

# Each pasted form and the ASCII it stands for: the same graph, op for op, and the same
# numbers, which SymPy computes from the ASCII text.
PASTED = [
    ("x − y", "x - y"),  # U+2212 MINUS SIGN
    ("−x", "-x"),
    ("x*−2", "x*-2"),
    ("x × y", "x * y"),
    ("x·y", "x*y"),  # U+00B7 MIDDLE DOT
    ("x⋅y", "x*y"),  # U+22C5 DOT OPERATOR
    ("x ÷ y", "x / y"),
    ("x²", "x**2"),
    ("x³ + y", "x**3 + y"),
    (
        "x⁰ + x¹ + x⁴ + x⁵ + x⁶ + x⁷ + x⁸ + x⁹",
        "x**0 + x**1 + x**4 + x**5 + x**6 + x**7 + x**8 + x**9",
    ),
    ("x¹⁰", "x**10"),
    ("x⁻¹", "x**-1"),
    ("-x²", "-x**2"),
    ("2·x²·y", "2*x**2*y"),
    ("(x + y)²", "(x + y)**2"),
    ("exp(x)²", "exp(x)**2"),
    ("x^y²", "x^y**2"),
    ("(x − y) × z ÷ x²", "(x - y) * z / x**2"),
]


@pytest.mark.parametrize(("pasted", "ascii"), PASTED)
def test_a_pasted_operator_is_the_ascii_one(pasted, ascii):
    assert ops(pasted) == ops(ascii)
    point = {"x": 1.5, "y": 2.0, "z": 0.75}
    graph = bpcli.parse(pasted)
    values = {name: point[name] for name in graph.variables}
    result = bpcli.evaluate(graph, values)
    expr = sympy.sympify(ascii.replace("^", "**"))
    at = {sympy.Symbol(k): v for k, v in values.items()}
    assert result.output == pytest.approx(float(expr.subs(at)), rel=1e-12)
    for name in values:
        want = float(sympy.diff(expr, sympy.Symbol(name)).subs(at))
        assert result.gradients[name] == pytest.approx(want, rel=1e-12)


def test_the_lecture_pasted_from_slides():
    result = bpcli.grad("q = x + y\nf = q × z", {"x": -2, "y": 5, "z": -4})
    assert result.output == -12.0
    assert result.gradients == {"x": -4.0, "y": -4.0, "z": 3.0}
    square = bpcli.grad("x²", {"x": 3})  # by hand: 3² = 9, 2·3 = 6
    assert (square.output, square.gradients) == (9.0, {"x": 6.0})


def test_a_superscript_ends_a_name_and_spans_its_own_characters():
    graph = bpcli.parse("w²·x")
    assert list(graph.variables) == ["w", "x"]
    assert [graph.text(node) for node in graph.nodes] == ["w", "²", "w²", "x", "w²·x"]
    assert graph.nodes[1].value == 2.0


@pytest.mark.parametrize(
    ("text", "caret"),
    [("x × ÷ y", "÷"), ("x − − − ", " "), ("(x · y) z", "z"), ("x² ³", "³"), ("a·b⋅c ⋅", " ")],
)
def test_a_syntax_error_points_at_the_pasted_character(text, caret):
    """The spans are offsets into the text as typed: the caret is under the character."""
    from bpcli.render.error import error_lines

    err = error(text)
    _, shown, marks = error_lines(err)
    assert shown == "  " + text
    column = marks.index("^") - 2
    assert (text + " ")[column] == caret
    assert err.column == column + 1


# ---- named constants: pi and e, unless given a value ---------------------------------


def test_pi_and_e_are_constants_without_a_value():
    graph = bpcli.parse("pi*x + e")
    assert list(graph.variables) == ["x"]
    assert [(node.op, node.name, node.value) for node in graph.nodes if node.op == "const"] == [
        ("const", "pi", math.pi),
        ("const", "e", math.e),
    ]
    result = bpcli.evaluate(graph, {"x": 2})
    assert result.output == 2 * math.pi + math.e
    assert result.gradients == {"x": math.pi}  # no entry for pi or e


def test_e_to_the_x_differentiates_to_itself():
    for x in (-1.0, 0.0, 0.5, 2.0):
        result = bpcli.grad("e**x", {"x": x})
        assert result.output == pytest.approx(math.exp(x), rel=1e-15)
        assert result.gradients == {"x": pytest.approx(math.exp(x), rel=1e-15)}


def test_a_constant_used_twice_is_one_node():
    graph = bpcli.parse("pi*x + pi")
    assert [node.op for node in graph.nodes] == ["const", "var", "mul", "add"]
    assert graph.nodes[3].inputs == (2, 0)


@pytest.mark.parametrize("values", [{"e": 2, "x": 1}, [("x", 1), ("e", 2)]])
def test_a_value_for_e_makes_it_an_input(values):
    """By hand: f = e**x at e = 2, x = 1 is 2; ∂f/∂e = x·e**(x-1) = 1, ∂f/∂x = 2·ln 2."""
    result = bpcli.grad("e**x", values)
    assert result.output == 2.0
    assert result.gradients == {"e": 1.0, "x": pytest.approx(2 * math.log(2), rel=1e-15)}
    graph = bpcli.parse("e**x")  # parsed without the values, as batch and the API do
    assert bpcli.evaluate(graph, values).gradients == result.gradients
    assert list(bpcli.parse("e**x", inputs={"e"}).variables) == ["e", "x"]


def test_one_constant_given_a_value_leaves_the_other_a_constant():
    result = bpcli.grad("pi*e*x", {"pi": 3, "x": 1})
    assert result.output == 3 * math.e
    assert result.gradients == {"pi": math.e, "x": 3 * math.e}


def test_an_assigned_name_hides_the_constant():
    result = bpcli.grad("e = 2*x; f = e*e", {"x": 3})
    assert (result.output, result.gradients) == (36.0, {"x": 24.0})  # (2x)², 8x


# ---- names ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["x", "w0", "x_1", "α", "_tmp", "θ2", "가격"])
def test_names(name):
    graph = bpcli.parse(f"{name} * 2")
    assert list(graph.variables) == [name]


def test_program_names_label_nodes_and_last_statement_is_the_output():
    graph = bpcli.parse("q = x + y; f = q * z")
    assert [node.name for node in graph.nodes] == ["x", "y", "q", "z", "f"]
    assert graph.output == 4
    assert graph.text(graph.nodes[2]) == "x + y"


def test_newlines_comments_and_blank_lines_separate_statements():
    text = "# the lecture\n\nq = x + y   # add gate\n;\nf = q * z\n"
    graph = bpcli.parse(text)
    assert [node.name for node in graph.nodes] == ["x", "y", "q", "z", "f"]


def test_a_newline_inside_parentheses_continues_the_statement():
    graph = bpcli.parse("f = (x +\n     y) * z")
    assert [node.op for node in graph.nodes] == ["var", "var", "add", "var", "mul"]
    assert graph.text(graph.nodes[2]) == "x + y"  # the newline shows as a space


def test_generated_names_are_unique_and_avoid_user_names():
    graph = bpcli.parse("add1 + x*2 + x*3")
    names = [node.name for node in graph.nodes]
    assert len(set(names)) == len(names)
    assert names[0] == "add1"
    assert "add2" in names and names[-1] == "f"


def test_a_generated_name_skips_exactly_the_names_taken():
    """add2 is an input, so the second add is add3; add01 and mul0 are not names bpcli
    generates (k counts from 1, written without leading zeros), so mul counts on."""
    graph = bpcli.parse("add2 + x*y + x*y + add01*mul0")
    names = ["add2", "x", "y", "mul1", "add1", "mul2", "add3", "add01", "mul0", "mul3", "f"]
    assert list(graph.iter_names()) == names
    for size in (1, 2, 3, 4096):  # made a few nodes at a time: the counts go on
        numbers = [k for _, chunk, _ in graph.name_numbers(size) for k in chunk]
        assert numbers == [0, 0, 0, 1, 1, 2, 3, 0, 0, 3, 0]  # 0: a node with a label


def test_each_nodes_text_made_column_by_column_is_its_text():
    """graph.texts and text_columns (all of a chunk's nodes at once, where nothing needs
    folding) give each node's text as graph.text does, node by node."""
    sources = [
        "(x+y)*z",
        "\n  q = x + y  \n  f = q * z  \n\n",
        "f = (x +\n     y) * z",
        "f = (x +\t# tab, é, 한글, \x01\n y) * (x\n - y)",
        "(" * 70 + "x" + "*2+1)" * 70,  # bare: no space, no newline
        "(" * 70 + "x" + "*2+1)" * 70 + "\n",
        "(" * 70 + "x" + " * 2 + 1)" * 70,  # long texts whose 60th character is a space
        " + ".join(["x"] * 100),
        " + ".join([f"x{i}" for i in range(40)]) + " + " + "y" * 300,
        "a = x * 2\n" + "\n".join(f"b{i} = a * b{i - 1} + {i}" for i in range(1, 40)),
        "(" + " +\n".join(f"x{i}" for i in range(30)) + ") * y",
        "무게 * 입력 + " + " + ".join(["편향"] * 50),
    ]
    for source in sources:
        graph = bpcli.parse(source)
        want = [graph.text(i) for i in range(len(graph))]
        assert graph.texts(0, len(graph)) == want, source
        for size in (1, 3, 4096):
            made = [
                text + "…" if cut else text
                for texts, cuts in graph.text_columns(size=size)
                for text, cut in zip(texts, cuts, strict=True)
            ]
            assert made == want, (source, size)
            encoded = [
                (
                    text + (b"\xe2\x80\xa6" if isinstance(text, bytes) else "…") if cut else text,
                    type(text),
                )
                for texts, cuts in graph.text_columns(size=size, encoded=True)
                for text, cut in zip(texts, cuts, strict=True)
            ]  # bytes where every text is its source as it is, and that source ASCII
            body = source.strip()  # a bare source: nothing to fold or make visible
            bare = body.isprintable() and " " not in body
            kind = bytes if bare and source.isascii() else str
            assert encoded == [(text.encode() if kind is bytes else text, kind) for text in want]
        assert graph.texts(2, 5) == want[2:5]


def test_the_output_is_not_called_f_when_f_is_an_input():
    graph = bpcli.parse("f*2")
    assert graph.nodes[graph.output].name == "mul1"


def test_an_alias_keeps_the_first_label():
    graph = bpcli.parse("a = x*2; b = a; b + 1")
    assert graph.nodes[2].name == "a"
    assert graph.nodes[4].inputs == (2, 3)


def test_text_is_short_and_on_one_line():
    text = "(" + " +\n".join(f"x{i}" for i in range(100)) + ") * y"
    graph = bpcli.parse(text)
    shown = graph.text(graph.nodes[graph.output])
    assert len(shown) == 60
    assert shown.endswith("…")
    assert "\n" not in shown


def test_a_comment_inside_a_node_is_not_its_text():
    """A comment runs to the end of its line; inside parentheses the expression goes
    on after it, and the node's text is the expression's alone."""
    graph = bpcli.parse("(x +  # the sum of the two\n y) * z  # the output\n")
    assert graph.texts(0, len(graph.nodes)) == ["x", "y", "x + y", "z", "(x + y) * z"]
    long = "(" + "".join(f"x{i} +  # term {i}\n" for i in range(20)) + "y)"
    shown = bpcli.parse(long).text(bpcli.parse(long).output)
    assert "#" not in shown and shown.startswith("x0 + x1 + x2") and shown.endswith("…")


def test_a_deep_expression_parses_without_recursion(shallow_stack):
    depth = 8 * shallow_stack  # 2 nodes a level: (… * a + b)
    text = "(" * depth + "x" + "*a+b)" * depth
    graph = bpcli.parse(text)
    assert len(graph.nodes) == 2 * depth + 3  # x, a, b once each, plus mul and add a level


@pytest.mark.parametrize("count", [1, 2, 32, 33, 64, 65, 8192, 8193, 16384, 16390])
def test_numbers_and_sums_past_the_room_made_for_them(count):
    """The builder makes room for its columns as it goes (64 nodes, then as many again,
    at most 16,384 at a time) and finds it full where a store fails: a sum of one-digit
    numbers is laid out by hand, the kth number at 2k, each sum from 0 to its number."""
    text = "+".join(str(k % 10) for k in range(count))
    graph = bpcli.parse(text)
    number_ids = [0] + [2 * k - 1 for k in range(1, count)]
    assert len(graph.codes) == 2 * count - 1
    assert [graph.op(i) for i in number_ids] == ["const"] * count
    assert [graph.consts[i] for i in number_ids] == [float(k % 10) for k in range(count)]
    assert [graph.starts[i] for i in number_ids] == [2 * k for k in range(count)]
    assert [graph.ends[i] for i in number_ids] == [2 * k + 1 for k in range(count)]
    assert [graph.op(2 * k) for k in range(1, count)] == ["add"] * (count - 1)
    assert [(graph.starts[2 * k], graph.ends[2 * k]) for k in range(1, count)] == [
        (0, 2 * k + 1) for k in range(1, count)
    ]


@pytest.mark.parametrize("limit", [1, 2, 63, 64, 65, 128, 129])
def test_max_nodes_stops_a_number_or_a_sum_where_it_starts(limit):
    """One node past max_nodes is refused where that node starts: the number k at 2k
    (node 2k - 1), or a sum at 0 (node 2k)."""
    with pytest.raises(bpcli.BpcliError) as info:
        bpcli.parse("+".join(["1"] * 100), max_nodes=limit)
    at = limit + 1 if limit % 2 else 0
    assert type(info.value).__name__ == "InputError"
    assert info.value.span == (at, at + 1)
    assert f"more than {limit:,} nodes" in info.value.message


def test_a_shallow_stack_stops_what_recurses(shallow_stack):
    """The tests above can fail: under the fixture, a walk that recurses once a level
    gets through a few hundred levels, not through the inputs they use."""

    def walk(n: int) -> int:
        return 0 if n == 0 else 1 + walk(n - 1)

    assert walk(shallow_stack // 2) == shallow_stack // 2
    with pytest.raises(RecursionError):
        walk(8 * shallow_stack)


# ---- errors ---------------------------------------------------------------------


def error(text: str) -> bpcli.BpcliError:
    with pytest.raises(bpcli.BpcliError) as info:
        bpcli.parse(text)
    return info.value


@pytest.mark.parametrize(
    ("text", "kind", "message", "column"),
    [
        ("2x", ParseError, "missing operator before 'x': bpcli has no implicit multiplication; write 2*x", 2),
        ("x y", ParseError, "missing operator before 'y': bpcli has no implicit multiplication; write x*y (elementwise), or x @ y for a matrix product", 3),
        ("(x)(y)", ParseError, "missing operator before '(': bpcli has no implicit multiplication; write (…)*(…) (elementwise), or (…) @ (…) for a matrix product", 4),
        ("x 2", ParseError, "missing operator before '2': bpcli has no implicit multiplication; write x*2", 3),
        ("x +", ParseError, "the expression ends too early: expected a number, a name or '('", 4),
        ("(x+y", ParseError, "the expression ends too early: expected ')'", 5),
        ("x)", ParseError, "unmatched ')': there is no '(' to close", 2),
        ("x * * y", ParseError, "unexpected '*': expected a number, a name or '('", 5),
        ("$x", ParseError, "unexpected character '$'", 1),
        ("|x|", ParseError, "unexpected character '|': for an absolute value use abs(x)", 1),
        ("2*|x - y| + 1", ParseError, "unexpected character '|': for an absolute value use abs(x - y)", 3),
        ("|x", ParseError, "unexpected character '|': for an absolute value use abs(…)", 1),
        ("ln(x)", ParseError, "unknown function 'ln': did you mean log? (log is the natural logarithm)", 1),
        ("²x", ParseError, "unexpected '²': a superscript is a power of the name, number or (…) right before it, as in x²", 1),
        ("x × × y", ParseError, "unexpected '×': expected a number, a name or '('", 5),
        ("x −", ParseError, "the expression ends too early: expected a number, a name or '('", 4),
        ("2 = x", ParseError, "'=' can only follow a name at the start of a statement, as in q = x + y", 3),
        ("foo(x)", ParseError, f"unknown function 'foo'; the functions are {', '.join(FUNCTIONS)} (to multiply, write foo*(…))", 1),
        ("sum(x, 0, 1)", ParseError, "sum takes 1 to 2 arguments, got 3", 1),  # max(s) is fine now
        ("exp(x, y)", ParseError, "exp takes 1 argument, got 2", 1),
        ("pow(x)", ParseError, "pow takes 2 arguments, got 1", 1),
        ("x = 1; x = 2", BindError, "x is assigned twice (first at line 1, column 1)", 8),
        ("f = q*z; q = x+y", BindError, "q is assigned here but was already used as an input (at line 1, column 5); assign a name before using it", 10),
        ("y = 2*pi; pi = 3", BindError, "pi is assigned here but was already used as the constant pi (at line 1, column 7); assign a name before using it", 11),
        ("y = x*2; x = 3", BindError, "x is assigned here but was already used as an input (at line 1, column 5); assign a name before using it", 10),
        ("exp + 1", BindError, "exp is a function: call it as exp(…)", 1),
        ("log = 2", BindError, "log is a function and cannot be assigned", 1),
        ("1e999 * x", DomainError, "the number 1e999 is too large for a float", 1),
    ],
)  # fmt: skip
def test_errors_say_what_and_where(text, kind, message, column):
    err = error(text)
    assert type(err) is kind
    assert err.message == message
    assert err.line == 1
    assert err.column == column


def test_error_on_a_later_line_reports_that_line():
    err = error("q = x + y\nf = q *\n z")
    assert (err.line, err.column) == (2, 8)
    assert err.message == "the line ends too early: expected a number, a name or '('"
    assert str(err) == f"line 2, column 8: {err.message}"


@pytest.mark.parametrize("text", ["", "   ", "# only a comment", ";\n;"])
def test_an_empty_program_is_an_error(text):
    assert error(text).message == "the expression is empty"


def test_a_semicolon_inside_parentheses_is_an_error():
    err = error("(x;\ny)")
    assert err.message == "unexpected ';': expected ')'"


def test_parse_rejects_non_text():
    with pytest.raises(ParseError, match="must be text"):
        bpcli.parse(b"x")  # type: ignore[arg-type]


def test_the_graph_records_assigned_names():
    graph = bpcli.parse("q = x + y; b = q; f = q * z")
    assert graph.assigned == {"q": 2, "b": 2, "f": 4}
    assert bpcli.parse("(x+y)*z").assigned == {}


def test_a_program_of_a_hundred_thousand_statements():
    """Statement after statement is a left-recursive repetition in the grammar: the
    parser extends one list in place (a copy per statement would be quadratic)."""
    lines = ["a0 = x"] + [f"a{i} = a{i - 1} + 1" for i in range(1, 100_000)]
    graph = bpcli.parse("\n".join(lines))
    assert len(graph.assigned) == 100_000
    result = bpcli.evaluate(graph, {"x": 2.0})
    assert result.output == 2.0 + 99_999 and result.gradients == {"x": 1.0}


@pytest.mark.parametrize("enabled", [True, False])
@pytest.mark.parametrize("text", ["(x+y)*z", "(x+y", "1e999*x"])
def test_the_parse_leaves_the_garbage_collector_as_it_found_it(text, enabled):
    """The parse makes no reference cycles and switches the collector off while it runs
    (tracing its growing stacks was a twentieth of the time): it is back as it was
    after a graph and after an error alike."""
    was = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with contextlib.suppress(ParseError, DomainError):
            bpcli.parse(text)
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


# ---- the graph, column by column, as the parser built it before its rework ----------
#
# The digests below were recorded with bpcli at commit 2b38afd, before issue 16.3 reworked
# the driver's stacks, its tables' actions, the lexer's new lines and the builder's
# columns: a parse that still agrees with them builds every column, name and error
# exactly as that one did (the input ids as arrays, where it made lists).


def _columns_digest(graph: Graph) -> str:
    h = hashlib.md5()
    columns = (graph.codes, graph.first, graph.second, graph.starts, graph.ends, graph.consts)
    for column in (*columns, graph.fixed):
        h.update(repr(list(column)).encode())
    kinds = [type(c).__name__ + getattr(c, "typecode", "") for c in (*columns, graph.fixed)]
    # The input ids have been arrays since issue 16's passes read them (lists at 2b38afd):
    # their content is what was recorded, their kind is checked on its own.
    assert kinds[1:3] == ["arrayq", "arrayq"]
    kinds[1:3] = ["list", "list"]
    names = (graph.labels, graph.variables, graph.assigned)
    for part in (
        sorted(graph.more.items()),
        *(list(n.items()) for n in names),
        graph.output,
        kinds,
    ):
        h.update(repr(part).encode())
    return h.hexdigest()


def _outcome(text: str, **options: Any) -> str:
    try:
        return _columns_digest(bpcli.parse(text, **options))
    except bpcli.BpcliError as exc:
        return f"{type(exc).__name__}: {exc} {exc.span}"


@pytest.mark.parametrize(
    ("shape", "digest"),
    [
        ("chain", "fac53d04aa2bbcb599e4a0aec140f887"),
        ("tree", "78d78fe9cf9c010d246aa2191675a684"),
        ("dag", "46c0cfeb46a4c4e64f2cb559d0bb5840"),
        ("constants", "c068c57481b3fd3beb09579ad18f634f"),
        ("neuron", "6f34d22a623c5c1f5268427fb8db0386"),
    ],
)
def test_the_benchmark_shapes_parse_to_the_recorded_columns(shape, digest):
    text = to_bpcli(generate(shape, 10_000))
    assert text.endswith("\n")  # a text with a new line: the lexer watches each one
    assert _columns_digest(bpcli.parse(text)) == digest
    assert _columns_digest(bpcli.parse(text.rstrip("\n"))) == digest


def test_the_batch_requests_parse_to_the_recorded_columns_and_errors():
    texts = []
    for line in (
        (ROOT / "tests/data/batch/requests.jsonl").read_text("utf-8-sig", "replace").splitlines()
    ):
        try:
            request = json.loads(line)
        except (ValueError, RecursionError):  # the file's broken and hostile lines
            continue
        if isinstance(request, dict) and isinstance(request.get("expr"), str):
            texts.append(request["expr"])
    assert len(texts) > 50
    seen = [_outcome(text) for text in texts]
    assert hashlib.md5(repr(seen).encode()).hexdigest() == "ade703e7122ef98b5c31dc9a5af327e1"


_ERRORS = [
    "x+\n", "(x+y\n", "(x+\ny)", "(x;y)", "x\n+y", "(x # (\n+1)", "(x # )\n+1)", "x # (\n)",
    "(x\r\n+1) # ((\n", "(\n(\nx\n)\n)\n", "(x\n;y)", "x)\n", "((x)\n", "max(x,\ny)\n",
    "x y", "2x", "x(2)", "=x", "a=1;a=2", "²", "ln(x)", "foo(x)", "max(x)", "x|y|",
    "1e999", "x & y", "x;;y", "(x+y;", "[x]", "x[1", "max(x,y,)", "1.2.3", "pi = 3; pi",
]  # fmt: skip
for _n in (1, 63, 64, 65, 127, 128, 129, 1000):  # around the stacks' growth
    _ERRORS += ["-" * _n + "x)", "(" * _n + "x", "x" + "^-x" * _n + "^", ";" * _n + "x" + ";" * _n]
    _ERRORS += ["\n" * _n + "x" + "\n" * _n, "max(" + "x," * _n + ")"]
    _ERRORS += ["(" * _n + "\n" * _n + "x" + ")" * _n + "("]


def test_syntax_errors_new_lines_and_limits_are_the_recorded_ones():
    seen = [_outcome(text) for text in _ERRORS] + [_outcome(t, max_nodes=5) for t in _ERRORS]
    seen += [_outcome(text, inputs=("pi",)) for text in _ERRORS]
    assert hashlib.md5(repr(seen).encode()).hexdigest() == "b018037de345da562f0d3743cac8c5ab"
