"""The language's numbers, names and binding strengths come from the grammar alone."""

from __future__ import annotations

import ast
import sys
import unicodedata

import pytest

from bpcli import BindError, ParseError, grad, parse
from bpcli.quiz import Expr, _text
from bpcli.syntax import NAME, SIGNED_NUMBER, precedence, read_precedence

# ---- numbers are ASCII digits --------------------------------------------------------

# Digits of other scripts (Arabic-Indic, fullwidth, Devanagari, Bengali, mathematical bold).
OTHER_DIGITS = ("٣", "３", "३", "৩", "𝟑")


@pytest.mark.parametrize("digit", OTHER_DIGITS)
def test_a_digit_of_another_script_is_not_a_number(digit):
    with pytest.raises(ParseError, match="unexpected character"):
        parse(f"x*{digit}")
    with pytest.raises(ParseError):
        parse(f"1{digit}")
    assert not SIGNED_NUMBER.fullmatch(digit)
    assert not SIGNED_NUMBER.fullmatch(f"-1.{digit}")


@pytest.mark.parametrize("digit", OTHER_DIGITS)
def test_the_command_line_takes_no_digit_of_another_script(bpcli, digit):
    run = bpcli("grad", "x*2", f"--x={digit}")
    assert run.code == 2
    assert f"the value of x must be a number such as 2, -0.5 or 1e-3, got '{digit}'" in run.stderr
    run = bpcli("grad", "x*2", f"x={digit}")
    assert run.code == 2
    assert f"the value of x must be a number such as 2, -0.5 or 1e-3, got '{digit}'" in run.stderr
    assert bpcli("grad", "x*2", "--max-size", f"{digit}0MB", "--x", "1").code == 2


def test_ascii_numbers_still_read_as_the_lecture_writes_them():
    result = grad("(x+y)*z + 0*.5e1 + 0*2.", {"x": -2, "y": 5, "z": -4})
    assert result.output == -12.0
    assert result.gradients == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert all(SIGNED_NUMBER.fullmatch(t) for t in ("3", "-2", "+0.5", ".5", "2.", "1e-3", "2E+10"))


# ---- names start with a letter or "_" ------------------------------------------------


@pytest.mark.parametrize("sign", ["½", "¼", "Ⅻ", "①", "₃", "〇"])
def test_a_number_sign_does_not_start_a_name(sign):
    with pytest.raises(ParseError, match="unexpected character"):
        parse(f"{sign}x + 1")
    assert not NAME.fullmatch(f"{sign}x")


@pytest.mark.parametrize("sign", ["²", "³", "¹", "⁵"])
def test_a_superscript_does_not_start_a_name_it_is_a_power(sign):
    with pytest.raises(ParseError, match=f"unexpected '{sign}': a superscript is a power"):
        parse(f"{sign}x + 1")
    assert not NAME.fullmatch(f"{sign}x")
    assert not NAME.fullmatch(f"x{sign}")  # and it ends a name: x² is x**2


def test_no_number_sign_of_any_script_starts_a_name():
    """Every character Unicode calls a number (Nd, No, Nl) is refused first in a name, and
    every letter is taken. The grammar lists No and Nl as Unicode 15.1 has them: a
    failure on a newer Python names the characters to add to NAME in grammar/expr.lark."""
    starts = [chr(c) for c in range(sys.maxunicode + 1) if NAME.match(chr(c))]
    numbers = [c for c in starts if unicodedata.category(c) in ("Nd", "No", "Nl")]
    assert numbers == [], f"add to NAME: {', '.join(f'U+{ord(c):04X}' for c in numbers[:20])}"
    assert all(c.isalpha() or c == "_" for c in starts)
    letters = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isalpha()]
    assert all(NAME.match(c) for c in letters)


def test_names_in_any_script_still_work():
    result = grad("가중치 * α + x_1 + _b + x₂", {"가중치": 2, "α": 3, "x_1": 1, "_b": 1, "x₂": 1})
    assert result.output == 9.0
    with pytest.raises(BindError, match="missing a value for x₂"):
        grad("x₂ + 1", {})


# ---- binding strengths are the grammar's rule levels ---------------------------------


def test_the_levels_are_the_grammars_rules_loosest_first():
    levels = precedence()
    assert levels.levels == ("sum", "product", "unary", "power", "atom")
    assert levels.strength("add") < levels.strength("mul") < levels.strength("neg")
    assert levels.strength("neg") < levels.strength("pow") < levels.strength("tanh")


def test_the_levels_follow_a_change_of_the_grammar():
    """In a grammar where "*" binds looser than "+", the printers' levels say so too:
    they are read from the grammar, not kept beside it."""
    swapped = """
    // "*" loosest, then "+"
    ?expr: product
    ?product: sum
            | product "*" sum     -> mul
    ?sum: unary
        | sum "+" unary           -> add
    ?unary: atom
          | "-" unary             -> neg
    ?atom: NAME                   -> var
    NAME: /[a-z]+/
    """
    levels = read_precedence(swapped.replace("\n    ", "\n"))
    assert levels.levels == ("product", "sum", "unary", "atom")
    assert levels.binding == {"mul": 1, "add": 2, "neg": 3, "var": 4}
    assert levels.operands["add"] == (2, 3)
    assert levels.bracketed("add", 1, levels.binding["add"])  # a + (b + c)
    assert not levels.bracketed("mul", 1, levels.binding["add"])  # a * b + c is a * (b + c)


# Trees over every op the quiz writes with an operator, and Python's parser as the oracle:
# the text the quiz prints must parse back to the same tree, with parentheses only where
# Python (whose precedence bpcli's grammar follows) needs them, or around a signed exponent.
_PY = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul", ast.Div: "div", ast.Pow: "pow"}


def _tree_of(node: ast.expr) -> object:
    if isinstance(node, ast.BinOp):
        return (_PY[type(node.op)], _tree_of(node.left), _tree_of(node.right))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        if isinstance(node.operand, ast.Constant):
            return ("const", -node.operand.value)
        return ("neg", _tree_of(node.operand))
    if isinstance(node, ast.Name):
        return ("var", node.id)
    assert isinstance(node, ast.Constant)
    return ("const", node.value)


def _shape(tree: Expr) -> object:
    if tree.op == "var":
        return ("var", tree.name)
    if tree.op == "const":
        return ("const", tree.value)
    return (tree.op, *(_shape(child) for child in tree.children))


def _trees(depth: int) -> list[Expr]:
    leaves = [Expr("var", name="x"), Expr("const", value=-1.0)]
    if depth == 0:
        return leaves
    smaller = _trees(depth - 1)
    out = list(leaves)
    for op in ("add", "sub", "mul", "div", "pow"):
        out += [Expr(op, (a, b)) for a in smaller for b in smaller]
    out += [Expr("neg", (a,)) for a in smaller]
    return out


def test_printed_expressions_parse_back_to_their_tree_with_no_needless_parentheses():
    trees = _trees(2)
    assert len(trees) > 1000
    for tree in trees:
        text = _text(tree)
        python = text.replace("^", "**")
        assert _tree_of(ast.parse(python, mode="eval").body) == _shape(tree), text
        # Each pair of parentheses is needed, or brackets a signed exponent.
        for start, char in enumerate(python):
            if char != "(":
                continue
            depth, end = 0, start
            for end in range(start, len(python)):
                depth += {"(": 1, ")": -1}.get(python[end], 0)
                if depth == 0:
                    break
            signed_exponent = python[start + 1] == "-" and python[:start].endswith("**")
            bare = python[:start] + python[start + 1 : end] + python[end + 1 :]
            try:
                same = _tree_of(ast.parse(bare, mode="eval").body) == _shape(tree)
            except SyntaxError:
                same = False
            assert not same or signed_exponent, f"needless parentheses in {text}"
