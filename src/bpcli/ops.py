"""THE op table: for every op, its forward rule and its local derivatives.

One entry per op; its key is the op's name everywhere (grammar alias, JSON
`op`, tests). Each rule is written once, as a Python expression over the
inputs `a` and `b` (and `out`, the node's own value, in a local derivative);
from it come both the callables below (`Op.forward`, `Op.partials`) and the
engine's compiled loops, so a new op is one line. A local derivative
("partial") gives d(out)/d(input i); an op has one per input, in input order.
Rules raise `Undefined` where the maths is undefined; the engine adds where in
the source it happened.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, Literal

Args = tuple[float, ...]
Partial = Callable[[Args, float], float]
TieRule = Literal["split", "first"]


def tie_rule(name: object) -> TieRule | None:
    """The max/min tie rule called `name` ("split" or "first"), or None."""
    if name == "split":
        return "split"
    if name == "first":
        return "first"
    return None


class Undefined(Exception):
    """The op is undefined at these inputs; the message names the op."""


@dataclass(frozen=True, slots=True)
class Conventions:
    """Choices at kinks, where the derivative is not defined (recorded in the JSON)."""

    max_tie: TieRule = "split"

    def to_dict(self) -> dict[str, float | str]:
        return {"relu_grad_at_0": 0.0, "abs_grad_at_0": 0.0, "max_min_tie": self.max_tie}


@dataclass(frozen=True, slots=True)
class Op:
    """One operation: how to compute it and how gradients flow back through it.

    `rule` is the forward rule and `local` the local derivatives, as expressions
    over `a`, `b` and `out` (over the tuple `args` for an op of two or more
    inputs, `arity` None, whose partials come from `router` under the tie
    convention). `function` says whether it is written as a call, `exp(x)`; a
    node whose op is not `differentiable` (a constant) gets no gradient. `kink`
    says whether a node sits where the op has no derivative and a convention
    decides (relu at 0, a max tie): a numeric gradient means little there.

    For explanations: `shown` writes the op with its inputs as {0}, {1}
    (None: as a call, `exp({0})`), and `formulas` writes each local derivative
    with the inputs as {0}, {1} and the node itself as {out}; a variadic op has
    one formula with {i} for "this input". `tex` and `tex_formulas` are the same
    in LaTeX, where braces are LaTeX's own: there the inputs are written `a` and
    `b` and the node `out`, as in the rules (a variadic op: `a` is "this input",
    and `tex` is the command its call is written with, `\\max`).
    """

    name: str
    symbol: str
    arity: int | None
    rule: str | None
    local: tuple[str, ...]
    pattern: str
    formulas: tuple[str, ...] = ()
    shown: str | None = None
    function: bool = False
    differentiable: bool = True
    router: Callable[[int, TieRule], tuple[Partial, ...]] | None = None
    kink: Callable[[Args, float], bool] | None = None
    tex: str = ""
    tex_formulas: tuple[str, ...] = ()
    forward: Callable[..., float] | None = field(init=False, default=None)
    partials: tuple[Partial, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        if self.rule is not None:
            object.__setattr__(self, "forward", _compile_forward(self))
            object.__setattr__(
                self, "partials", tuple(_compile_partial(self, e) for e in self.local)
            )

    def partials_for(self, n: int, conventions: Conventions) -> tuple[Partial, ...]:
        """The partials of a node with n inputs."""
        if self.router is None:
            return self.partials
        return self.router(n, conventions.max_tie)

    def formulas_for(self, n: int) -> tuple[str, ...]:
        """The local-derivative formulas of a node with n inputs, one per input."""
        if self.arity is not None:
            return self.formulas
        (template,) = self.formulas
        return tuple(template.replace("{i}", f"{{{i}}}") for i in range(n))

    def show(self, inputs: list[str]) -> str:
        """The op applied to `inputs` as a student writes it: `x + y`, `tanh(x)`."""
        if self.shown is None:
            return f"{self.symbol}({', '.join(inputs)})"
        return self.shown.format(*inputs)

    def show_tex(self, inputs: list[str]) -> str:
        """The op applied to `inputs` (LaTeX text) in LaTeX: `x + y`, `\\tanh(x)`."""
        if self.arity is None:
            return rf"{self.tex}({', '.join(inputs)})"  # plain brackets: a long one may break
        return fill_tex(self.tex, inputs, "")

    def formulas_tex(self, inputs: list[str], out: str) -> tuple[str, ...]:
        """The local-derivative formulas (LaTeX) of a node over `inputs`, one per input."""
        if self.arity is not None:
            return tuple(fill_tex(t, inputs, out) for t in self.tex_formulas)
        (template,) = self.tex_formulas
        return tuple(fill_tex(template, [this], out) for this in inputs)


_TEX_PLACEHOLDER = re.compile(r"(?<![\\A-Za-z])(a|b|out)(?![A-Za-z])")


def fill_tex(template: str, inputs: list[str], out: str) -> str:
    """A TeX template of the table with `a`, `b` and `out` replaced (in one pass)."""
    given = {"a": inputs[0] if inputs else "", "b": inputs[1] if len(inputs) > 1 else ""}
    given["out"] = out
    return _TEX_PLACEHOLDER.sub(lambda m: given[m.group(1)], template)


PARAMETERS = ("a", "b")  # the inputs' names in rules, in input order


def _compile_forward(op: Op) -> Any:
    params = "*args" if op.arity is None else ", ".join(PARAMETERS[: op.arity])
    return _define(f"def forward({params}):\n    return {op.rule}\n", "forward")


def _compile_partial(op: Op, expression: str) -> Any:
    unpack = ", ".join(PARAMETERS[: op.arity or 0])
    body = f"    {unpack}, = args\n" if unpack else ""
    return _define(f"def partial(args, out):\n{body}    return {expression}\n", "partial")


def _define(source: str, name: str) -> Any:
    """Make a function from rule text of this table (never from anything a user typed)."""
    scope: dict[str, Any] = {}
    exec(source, RULE_SCOPE, scope)
    return scope[name]


def _fmt(x: float) -> str:
    return format(x, ".6g")


# ---- rules that can be undefined -------------------------------------------


def _div(a: float, b: float) -> float:
    if b == 0:
        raise Undefined(f"division by zero ({_fmt(a)} / 0)")
    return a / b


def _pow(x: float, y: float) -> float:
    if x == 0 and y < 0:
        raise Undefined(f"0 to a negative power is a division by zero (0 ** {_fmt(y)})")
    if x < 0 and not y.is_integer():
        raise Undefined(
            f"a negative base to a non-integer power is not a real number "
            f"(({_fmt(x)}) ** {_fmt(y)})"
        )
    return float(x**y)


def _dpow_base(x: float, y: float, out: float) -> float:
    if y == 0:
        return 0.0
    if x == 0 and y < 1:
        raise Undefined(f"the derivative of x ** {_fmt(y)} at x = 0 is infinite")
    return float(y * x ** (y - 1))


def _dpow_exponent(x: float, y: float, out: float) -> float:
    if x > 0:
        return out * math.log(x)
    if x == 0:
        return 0.0  # 0 ** y is 0 for every y > 0 (0 ** y with y <= 0 fails forward)
    raise Undefined(
        f"x ** y has no real derivative with respect to the exponent y "
        f"when the base is negative (x = {_fmt(x)})"
    )


def _log(x: float) -> float:
    if x <= 0:
        raise Undefined(f"log needs a positive input, got {_fmt(x)}")
    return math.log(x)


def _sqrt(x: float) -> float:
    if x < 0:
        raise Undefined(f"sqrt needs a non-negative input, got {_fmt(x)}")
    return math.sqrt(x)


def _dsqrt(out: float) -> float:
    if out == 0:
        raise Undefined("the derivative of sqrt at 0 is infinite")
    return 0.5 / out


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # no overflow for very negative x
    return e / (1.0 + e)


def _router(n: int, tie: TieRule) -> tuple[Partial, ...]:
    """max/min with n inputs: the winner gets the whole gradient, the others 0; ties by
    `tie`. The n partials share one count of the winners per evaluation (`args` is the
    same tuple for all n), so a node of n tied inputs costs n steps, not n²."""
    seen: list[Any] = [None, 0]  # the last args (held, so its identity is not reused)

    def winners(args: Args, out: float) -> int:
        if seen[0] is not args:
            seen[0] = args
            seen[1] = args.index(out) if tie == "first" else args.count(out)
        return int(seen[1])

    def partial(i: int) -> Partial:
        if tie == "first":
            return lambda args, out: 1.0 if args[i] == out and winners(args, out) == i else 0.0
        return lambda args, out: 1.0 / winners(args, out) if args[i] == out else 0.0

    return tuple(partial(i) for i in range(n))


def _at_zero(args: Args, out: float) -> bool:
    return args[0] == 0


def _tie(args: Args, out: float) -> bool:
    return args.count(out) > 1


def _sign(x: float) -> float:
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


# ---- the table -------------------------------------------------------------
# Op(name, symbol, arity, rule, local (one per input), pattern, formulas, shown, ...)
# Rules are over the inputs a, b and the node's value out.

RULE_SCOPE: dict[str, Any] = {
    "exp": math.exp, "sin": math.sin, "cos": math.cos, "tan": math.tan, "tanh": math.tanh,
    "_div": _div, "_pow": _pow, "_log": _log, "_sqrt": _sqrt, "_sigmoid": _sigmoid,
    "_dpow_base": _dpow_base, "_dpow_exponent": _dpow_exponent, "_dsqrt": _dsqrt, "_sign": _sign,
}  # fmt: skip

# fmt: off
_TABLE: tuple[Op, ...] = (
    # leaves: a variable's value is given, a constant's is in its node
    Op("var",     "",     0,    None,           (), "input"),
    Op("const",   "",     0,    None,           (), "constant", differentiable=False),
    # arithmetic
    Op("add",     "+",    2,    "a + b",        ("1.0", "1.0"), "distributor", ("1", "1"), "{0} + {1}"),
    Op("sub",     "-",    2,    "a - b",        ("1.0", "-1.0"), "distributor", ("1", "-1"), "{0} - {1}"),
    Op("mul",     "*",    2,    "a * b",        ("b", "a"), "swap multiplier", ("{1}", "{0}"), "{0} * {1}"),
    Op("div",     "/",    2,    "_div(a, b)",   ("1.0 / b", "-out / b"), "divider", ("1/{1}", "-{out}/{1}"), "{0} / {1}"),
    Op("neg",     "-",    1,    "-a",           ("-1.0",), "distributor", ("-1",), "-{0}"),
    Op("pow",     "^",    2,    "_pow(a, b)",   ("_dpow_base(a, b, out)", "_dpow_exponent(a, b, out)"), "power rule", ("{1}·{0}^({1} - 1)", "{out}·log({0})"), "{0}^{1}", function=True),
    # functions of one input
    Op("exp",     "exp",  1,    "exp(a)",       ("out",), "exponential", ("{out}",), function=True),
    Op("log",     "log",  1,    "_log(a)",      ("1.0 / a",), "logarithm", ("1/{0}",), function=True),
    Op("sqrt",    "sqrt", 1,    "_sqrt(a)",     ("_dsqrt(out)",), "square root", ("1/(2·{out})",), function=True),
    Op("sin",     "sin",  1,    "sin(a)",       ("cos(a)",), "sine", ("cos({0})",), function=True),
    Op("cos",     "cos",  1,    "cos(a)",       ("-sin(a)",), "cosine", ("-sin({0})",), function=True),
    Op("tan",     "tan",  1,    "tan(a)",       ("1.0 + out * out",), "tangent", ("1 + {out}²",), function=True),
    Op("tanh",    "tanh", 1,    "tanh(a)",      ("1.0 - out * out",), "squashing", ("1 - {out}²",), function=True),
    Op("sigmoid", "sigmoid", 1, "_sigmoid(a)",  ("out * (1.0 - out)",), "squashing", ("{out}·(1 - {out})",), function=True),
    Op("relu",    "relu", 1,    "a if a > 0.0 else 0.0", ("1.0 if a > 0.0 else 0.0",), "switch", ("1 if {0} > 0, else 0",), function=True, kink=_at_zero),
    Op("abs",     "abs",  1,    "abs(a)",       ("_sign(a)",), "sign", ("sign({0})",), function=True, kink=_at_zero),
    # two or more inputs
    Op("max",     "max",  None, "max(args)",    (), "router", ("1 if {i} is the max, else 0",), function=True, router=_router, kink=_tie),
    Op("min",     "min",  None, "min(args)",    (), "router", ("1 if {i} is the min, else 0",), function=True, router=_router, kink=_tie),
)
# fmt: on

# How each op and its local derivatives are written in LaTeX (see `Op.tex`): over
# a, b and out, as in the rules; a variadic op's `a` is "this input".
# fmt: off
_TEX = {
    "var":     ("", ()),
    "const":   ("", ()),
    "add":     ("a + b",                  ("1", "1")),
    "sub":     ("a - b",                  ("1", "-1")),
    "mul":     (r"a \cdot b",             ("b", "a")),
    "div":     (r"\frac{a}{b}",            (r"\frac{1}{b}", r"-\frac{out}{b}")),
    "neg":     ("-a",                     ("-1",)),
    "pow":     ("{a}^{b}",                (r"b \cdot {a}^{b - 1}", r"out \cdot \log(a)")),
    "exp":     (r"\exp(a)",                ("out",)),
    "log":     (r"\log(a)",                (r"\frac{1}{a}",)),
    "sqrt":    (r"\sqrt{a}",               (r"\frac{1}{2 \cdot out}",)),
    "sin":     (r"\sin(a)",                (r"\cos(a)",)),
    "cos":     (r"\cos(a)",                (r"-\sin(a)",)),
    "tan":     (r"\tan(a)",                (r"1 + {out}^2",)),
    "tanh":    (r"\tanh(a)",               (r"1 - {out}^2",)),
    "sigmoid": (r"\sigma(a)",              (r"out \cdot (1 - out)",)),
    "relu":    (r"\operatorname{relu}(a)", (r"1 \text{ if } a > 0 \text{, else } 0",)),
    "abs":     (r"\lvert a \rvert",         (r"\operatorname{sign}(a)",)),
    "max":     (r"\max",                   (r"1 \text{ if } a \text{ is the max, else } 0",)),
    "min":     (r"\min",                   (r"1 \text{ if } a \text{ is the min, else } 0",)),
}
# fmt: on
_TABLE = tuple(replace(op, tex=_TEX[op.name][0], tex_formulas=_TEX[op.name][1]) for op in _TABLE)

OPS: dict[str, Op] = {op.name: op for op in _TABLE}
OP_NAMES: tuple[str, ...] = tuple(OPS)
CODES: dict[str, int] = {name: code for code, name in enumerate(OP_NAMES)}

FUNCTIONS: tuple[str, ...] = tuple(sorted(op.name for op in _TABLE if op.function))
