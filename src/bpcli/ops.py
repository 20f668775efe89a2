"""THE op table: every op's forward rule, local derivatives, notation and pattern.

One entry per op, with named fields; its name is the op's name everywhere
(grammar alias or call, JSON `op`, tests). Each rule is written once, as a
Python expression over the inputs `a` and `b` (and `out`, the node's own
value, in a local derivative); from it come both the callables below
(`Op.forward`, `Op.partials`) and the engine's compiled loops, so a new op is
one entry (the README's "Adding an op" says what checks it). A local derivative
("partial") gives d(out)/d(input i); an op has one per input, in input order.
Rules raise `Undefined` where the maths is undefined; the engine adds where in
the source it happened.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from . import patterns
from .i18n import N_, tr
from .patterns import Pattern

Args = tuple[float, ...]
Partial = Callable[[Args, float], float]
Vjp = Callable[[Args, float, float], float]  # (args, out, upstream g) -> what the edge sends
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


class Infinite(Undefined):
    """A local derivative that is infinite here (sqrt's at 0), not merely undefined."""


@dataclass(frozen=True, slots=True)
class Conventions:
    """Choices at kinks, where the derivative is not defined (recorded in the JSON), and
    `infinite_times_zero`: an infinite or undefined local gradient that an exactly
    zero local gradient later multiplies sends 0 (the engine's `backward`)."""

    max_tie: TieRule = "split"

    def to_dict(self) -> dict[str, float | str]:
        return {
            "relu_grad_at_0": 0.0,
            "abs_grad_at_0": 0.0,
            "max_min_tie": self.max_tie,
            "infinite_times_zero": 0.0,
        }


@dataclass(frozen=True, slots=True)
class TensorRule:
    """An op on NumPy arrays, as HIPS autograd's numpy_vjps.py writes one: `rule` is the
    forward rule and `vjp` what each input edge sends back (a vector-Jacobian product),
    as expressions over the inputs `a`, `b` (`args` for a variadic op, whose one vjp
    is written for input `i`), the node's value `out`, the upstream gradient `g` and the
    tie rule `tie`; "" for an input that gets no gradient (an index, an axis). A vjp
    may give a gradient of the broadcast shape: the engine sums it back to its input's
    shape (autograd's unbroadcast). `shape` names the rule that gives the node's shape
    from its inputs' before anything is computed (`tensor.SHAPES`). The names a rule
    calls are `tensor.SCOPE`'s; they are compiled there, when a tensor first appears,
    so that NumPy is imported only then.

    How a walkthrough writes the gate on tensors, where the scalar notation will not
    do: `said` writes each input's downstream gradient (the vjp) over the upstream
    gradient {g}, the inputs {0}, {1}, the node {out} and {n} (how many elements
    one output element averages), in the signs ·, ⊙, ᵀ, diag that a LaTeX notation
    writes its own way; where not given, the walkthrough writes {g} ⊙ (the local
    formula), elementwise. `dims` writes, over the same placeholders (and {local}, the
    shape of the local gradient of an elementwise op), the shapes whose product is
    the downstream gradient: the dimension analysis, `(2, 2)ᵀ · (2,)`; where not
    given, {g} ⊙ {local}. `tex` is the op on tensors in LaTeX where it differs from
    the scalar one (`a \\odot b`: on matrices, `\\cdot` reads as a matrix product).
    `reason` names the words of its pattern that a walkthrough gives this op on
    tensors, where the pattern's are not the elementwise op's (a sum is a distributor
    over the elements of one input: "sum")."""

    rule: str
    vjp: tuple[str, ...]
    shape: str = "broadcast"
    said: tuple[str, ...] = ()
    dims: tuple[str, ...] = ()
    tex: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)  # an entry names every field it sets
class Op:
    """One operation: how to compute it, how gradients flow back through it, how it is written.

    Maths (what the engine reads): `rule` is the forward rule and `local` the local
    derivatives, one per input, as expressions over `a`, `b` and `out` (over the tuple
    `args` for an op of two or more inputs, `arity` None, whose partials come from
    `router` under the tie convention). `kink` says whether a node sits where the op
    has no derivative and a convention decides (relu at 0, a max tie): a numeric
    gradient means little there. `pattern` is how a gradient flows back through its
    gate, with the lecture's words for it (see `patterns`). `vjp`, where given, is what
    each edge sends back written over the upstream gradient `g` in a form that stays
    finite where the product does (`g / a`, not `g * (1.0 / a)`, which overflows at
    a = 5e-324): where a local derivative alone is too large for a float, the engine
    sends this instead of g times it (`engine.pullback`); `local` stays what the fast
    loop multiplies, and what explanations and the JSON show. `common` marks the few
    ops most programs are mostly made of (sums, products, a squashing function): the
    compiled loops test for these first, one comparison each, and the rest after them.

    Tensors: `tensor` is the op on vectors and matrices (see TensorRule); every op has
    one. `scalar` False marks an op that exists for tensors only (`@`, `sum`, an index):
    it has no `rule` nor `local`, the compiled scalar loops have no branch for it, and
    a program with such an op is run by the tensor engine (`api.evaluate`). `optional` counts trailing arguments a call may leave out (the
    axis of `sum(x, 0)`).

    The language: `symbol` is how it is written (`+`, `exp`); `function` says whether
    it can be called by name, `exp(x)`, `pow(x, y)`.

    Notation, plain: `shown` writes the op with its inputs as {0}, {1}, or is None for
    an op written as a call, `exp({0})` (see `call`); `said` is how the lecture writes
    it in a walkthrough where that differs from `shown` (`{0} · {1}`, a product as
    the chain rule's products are written, where `shown` is what the parser reads
    back); `formulas` writes each local
    derivative with the inputs as {0}, {1} and the node itself as {out}, or {i} for
    "this input" (a variadic op has one formula, with {i}); a formula with words is a
    message (N_), translated where it is shown, with {i} its one placeholder. LaTeX: `tex` and `tex_formulas` are
    the same, but braces are LaTeX's own, so there the inputs are written `a` and `b`
    and the node `out`, as in the rules (a variadic op: `a` is "this input", and `tex`
    is the command its call is written with, `\\max`); `tex_fraction` says the LaTeX
    is a fraction, whose parts need no brackets around a negative number.
    """

    name: str
    symbol: str
    arity: int | None
    pattern: Pattern
    rule: str | None = None
    local: tuple[str, ...] = ()
    vjp: tuple[str, ...] = ()
    kink: Callable[[Args, float], bool] | None = None
    common: bool = False
    router: Callable[[int, TieRule], tuple[Partial, ...]] | None = None
    function: bool = False
    shown: str | None = None
    said: str = ""
    formulas: tuple[str, ...] = ()
    tex: str = ""
    tex_formulas: tuple[str, ...] = ()
    tex_fraction: bool = False
    tensor: TensorRule | None = None
    scalar: bool = True
    optional: int = 0
    forward: Callable[..., float] | None = field(init=False, default=None)
    partials: tuple[Partial, ...] = field(init=False, default=())
    vjps: tuple[Vjp, ...] = field(init=False, default=())

    def __post_init__(self) -> None:
        if self.rule is not None and self.scalar:
            object.__setattr__(self, "forward", _compile_forward(self))
            object.__setattr__(
                self, "partials", tuple(_compile_partial(self, e) for e in self.local)
            )
            vjps = tuple(_compile_partial(self, e, "g") for e in self.pullbacks)
            object.__setattr__(self, "vjps", vjps)

    @property
    def pullbacks(self) -> tuple[str, ...]:
        """What each input edge sends back, as an expression over the upstream gradient `g`:
        the entry's `vjp` where it gives one, else `g * (local)`."""
        if self.vjp:
            return self.vjp
        return tuple(
            "g" if e == "1.0" else "-g" if e == "-1.0" else f"g * ({e})" for e in self.local
        )

    @property
    def call(self) -> bool:
        """Whether it is written as a call, `exp(x)` (pow is called by name, but shown `x^y`)."""
        return self.shown is None

    def partials_for(self, n: int, conventions: Conventions) -> tuple[Partial, ...]:
        """The partials of a node with n inputs."""
        if self.router is None:
            return self.partials
        return self.router(n, conventions.max_tie)

    def formulas_for(self, n: int) -> tuple[str, ...]:
        """The local-derivative formulas of a node with n inputs, one per input."""
        if self.arity is not None:
            return tuple(tr(f).replace("{i}", f"{{{k}}}") for k, f in enumerate(self.formulas))
        (template,) = self.formulas
        return tuple(tr(template).replace("{i}", f"{{{i}}}") for i in range(n))

    def show(self, inputs: list[str]) -> str:
        """The op applied to `inputs` as a student writes it: `x + y`, `tanh(x)`."""
        if self.shown is None:
            return f"{self.symbol}({', '.join(inputs)})"
        return self.shown.format(*inputs)

    def say(self, inputs: list[str]) -> str:
        """The op applied to `inputs` as the lecture writes it in a walkthrough: `q · z`."""
        if self.said:
            return self.said.format(*inputs)
        return self.show(inputs)

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


def _compile_partial(op: Op, expression: str, *extra: str) -> Any:
    unpack = ", ".join(PARAMETERS[: op.arity or 0])
    body = f"    {unpack}, = args\n" if unpack else ""
    params = ", ".join(("args", "out", *extra))
    return _define(f"def partial({params}):\n{body}    return {expression}\n", "partial")


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
        raise Undefined(tr("division by zero ({a} / 0)").format(a=_fmt(a)))
    return a / b


def _pow(x: float, y: float) -> float:
    if x == 0 and y < 0:
        raise Undefined(
            tr("0 to a negative power is a division by zero (0 ** {y})").format(y=_fmt(y))
        )
    if x < 0 and not y.is_integer():
        raise Undefined(
            tr("a negative base to a non-integer power is not a real number (({x}) ** {y})").format(
                x=_fmt(x), y=_fmt(y)
            )
        )
    return float(x**y)


def _dpow_base(x: float, y: float, out: float) -> float:
    if y == 0:
        return 0.0
    if x == 0 and y < 1:
        raise Infinite(tr("the derivative of x ** {y} at x = 0 is infinite").format(y=_fmt(y)))
    return float(y * x ** (y - 1))


def _vpow_base(x: float, y: float, out: float, g: float) -> float:
    """g times d(x ** y)/dx where `y * x ** (y - 1)` alone is too large for a float (x is
    then neither 0 nor large): g·y·out/x, grouped so that no part overflows or underflows
    where another grouping does not."""
    sent = g * y * out / x
    if not sent or sent - sent:
        sent = g / x * y * out
    if not sent or sent - sent:
        sent = g * (y / x) * out
    return sent


def _dpow_exponent(x: float, y: float, out: float) -> float:
    if x > 0:
        return out * math.log(x)
    if x == 0:
        return 0.0  # 0 ** y is 0 for every y > 0 (0 ** y with y <= 0 fails forward)
    raise Undefined(
        tr(
            "x ** y has no real derivative with respect to the exponent y when the base is "
            "negative (x = {x})"
        ).format(x=_fmt(x))
    )


def _log(x: float) -> float:
    if x <= 0:
        raise Undefined(tr("log needs a positive input, got {x}").format(x=_fmt(x)))
    return math.log(x)


def _sqrt(x: float) -> float:
    if x < 0:
        raise Undefined(tr("sqrt needs a non-negative input, got {x}").format(x=_fmt(x)))
    return math.sqrt(x)


def _dsqrt(out: float) -> float:
    if out == 0:
        raise Infinite(tr("the derivative of sqrt at 0 is infinite"))
    return 0.5 / out


def _vpow_exponent(x: float, y: float, out: float, g: float) -> float:
    """g times d(x ** y)/dy where `out * log(x)` alone is too large: g first, g·out·log(x)."""
    if x > 0:
        return g * out * math.log(x)
    return g * _dpow_exponent(x, y, out)


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
# One entry per op. Rules are over the inputs a, b and the node's value out; a rule
# calls only what RULE_SCOPE names.

RULE_SCOPE: dict[str, Any] = {
    "exp": math.exp, "sin": math.sin, "cos": math.cos, "tan": math.tan, "tanh": math.tanh,
    "_div": _div, "_pow": _pow, "_log": _log, "_sqrt": _sqrt, "_sigmoid": _sigmoid,
    "_dpow_base": _dpow_base, "_dpow_exponent": _dpow_exponent, "_dsqrt": _dsqrt, "_sign": _sign,
    "_vpow_base": _vpow_base, "_vpow_exponent": _vpow_exponent,
}  # fmt: skip

_TABLE: tuple[Op, ...] = (
    # ---- leaves: a variable's value is given, a constant's is in its node
    Op(name="var", symbol="", arity=0, pattern=patterns.INPUT),
    Op(name="const", symbol="", arity=0, pattern=patterns.CONSTANT),
    # ---- arithmetic
    Op(
        name="add", symbol="+", arity=2, pattern=patterns.DISTRIBUTOR,
        rule="a + b", local=("1.0", "1.0"), common=True,
        shown="{0} + {1}", formulas=("1", "1"),
        tex="a + b", tex_formulas=("1", "1"),
        tensor=TensorRule("a + b", ("g", "g")),
    ),
    Op(
        name="sub", symbol="-", arity=2, pattern=patterns.DISTRIBUTOR,
        rule="a - b", local=("1.0", "-1.0"),
        shown="{0} - {1}", formulas=("1", "-1"),
        tex="a - b", tex_formulas=("1", "-1"),
        tensor=TensorRule("a - b", ("g", "-g")),
    ),
    Op(
        name="mul", symbol="*", arity=2, pattern=patterns.SWAP,
        rule="a * b", local=("b", "a"), common=True,
        shown="{0} * {1}", said="{0} · {1}", formulas=("{1}", "{0}"),
        tex=r"a \cdot b", tex_formulas=("b", "a"),
        tensor=TensorRule("a * b", ("g * b", "g * a"), tex=r"a \odot b"),
    ),
    Op(
        name="div", symbol="/", arity=2, pattern=patterns.DIVIDER,
        rule="_div(a, b)", local=("1.0 / b", "-out / b"), vjp=("g / b", "-g * out / b"),
        shown="{0} / {1}", formulas=("1/{1}", "-{out}/{1}"),
        tex=r"\frac{a}{b}", tex_formulas=(r"\frac{1}{b}", r"-\frac{out}{b}"), tex_fraction=True,
        tensor=TensorRule("_div(a, b)", ("g / b", "-g * out / b")),
    ),
    Op(
        name="neg", symbol="-", arity=1, pattern=patterns.DISTRIBUTOR,
        rule="-a", local=("-1.0",),
        shown="-{0}", formulas=("-1",),
        tex="-a", tex_formulas=("-1",),
        tensor=TensorRule("-a", ("-g",)),
    ),
    Op(
        name="pow", symbol="^", arity=2, pattern=patterns.POWER, function=True,
        rule="_pow(a, b)", local=("_dpow_base(a, b, out)", "_dpow_exponent(a, b, out)"),
        vjp=("_vpow_base(a, b, out, g)", "_vpow_exponent(a, b, out, g)"),
        shown="{0}^{1}", formulas=("{1}·{0}^({1} - 1)", "{out}·log({0})"),
        tex="{a}^{b}", tex_formulas=(r"b \cdot {a}^{b - 1}", r"out \cdot \log(a)"),
        tensor=TensorRule("_pow(a, b)", ("_dpow_base(g, a, b, out)", "_dpow_exponent(g, a, b, out)")),
    ),
    # ---- functions of one input
    Op(
        name="exp", symbol="exp", arity=1, pattern=patterns.EXPONENTIAL, function=True,
        rule="exp(a)", local=("out",),
        formulas=("{out}",),
        tex=r"\exp(a)", tex_formulas=("out",),
        tensor=TensorRule("np.exp(a)", ("g * out",)),
    ),
    Op(
        name="log", symbol="log", arity=1, pattern=patterns.LOGARITHM, function=True,
        rule="_log(a)", local=("1.0 / a",), vjp=("g / a",),
        formulas=("1/{0}",),
        tex=r"\log(a)", tex_formulas=(r"\frac{1}{a}",),
        tensor=TensorRule("_log(a)", ("g / a",)),
    ),
    Op(
        name="sqrt", symbol="sqrt", arity=1, pattern=patterns.SQUARE_ROOT, function=True,
        rule="_sqrt(a)", local=("_dsqrt(out)",),
        formulas=("1/(2·{out})",),
        tex=r"\sqrt{a}", tex_formulas=(r"\frac{1}{2 \cdot out}",),
        tensor=TensorRule("_sqrt(a)", ("_dsqrt(g, out)",)),
    ),
    Op(
        name="sin", symbol="sin", arity=1, pattern=patterns.SINE, function=True,
        rule="sin(a)", local=("cos(a)",),
        formulas=("cos({0})",),
        tex=r"\sin(a)", tex_formulas=(r"\cos(a)",),
        tensor=TensorRule("np.sin(a)", ("g * np.cos(a)",)),
    ),
    Op(
        name="cos", symbol="cos", arity=1, pattern=patterns.COSINE, function=True,
        rule="cos(a)", local=("-sin(a)",),
        formulas=("-sin({0})",),
        tex=r"\cos(a)", tex_formulas=(r"-\sin(a)",),
        tensor=TensorRule("np.cos(a)", ("-g * np.sin(a)",)),
    ),
    Op(
        name="tan", symbol="tan", arity=1, pattern=patterns.TANGENT, function=True,
        rule="tan(a)", local=("1.0 + out * out",),
        formulas=("1 + {out}²",),
        tex=r"\tan(a)", tex_formulas=(r"1 + {out}^2",),
        tensor=TensorRule("np.tan(a)", ("g * (1.0 + out * out)",)),
    ),
    Op(
        name="tanh", symbol="tanh", arity=1, pattern=patterns.SQUASHING, function=True,
        rule="tanh(a)", local=("1.0 - out * out",), common=True,
        formulas=("1 - {out}²",),
        tex=r"\tanh(a)", tex_formulas=(r"1 - {out}^2",),
        tensor=TensorRule("np.tanh(a)", ("g * (1.0 - out * out)",)),
    ),
    Op(
        name="sigmoid", symbol="sigmoid", arity=1, pattern=patterns.SQUASHING, function=True,
        rule="_sigmoid(a)", local=("out * (1.0 - out)",), common=True,
        formulas=("{out}·(1 - {out})",),
        tex=r"\sigma(a)", tex_formulas=(r"out \cdot (1 - out)",),
        tensor=TensorRule("_sigmoid(a)", ("g * out * (1.0 - out)",)),
    ),
    Op(
        name="relu", symbol="relu", arity=1, pattern=patterns.SWITCH, function=True,
        rule="a if a > 0.0 else 0.0", local=("1.0 if a > 0.0 else 0.0",), kink=_at_zero,
        formulas=(N_("1 if {i} > 0, else 0"),),
        tex=r"\operatorname{relu}(a)", tex_formulas=(r"1 \text{ if } a > 0 \text{, else } 0",),
        tensor=TensorRule("np.maximum(a, 0.0)", ("g * (a > 0.0)",)),
    ),
    Op(
        name="abs", symbol="abs", arity=1, pattern=patterns.SIGN, function=True,
        rule="abs(a)", local=("_sign(a)",), kink=_at_zero,
        formulas=("sign({0})",),
        tex=r"\lvert a \rvert", tex_formulas=(r"\operatorname{sign}(a)",),
        tensor=TensorRule("np.abs(a)", ("g * np.sign(a)",)),
    ),
    # ---- two or more inputs
    Op(
        name="max", symbol="max", arity=None, pattern=patterns.ROUTER, function=True,
        rule="max(args)", router=_router, kink=_tie,
        formulas=(N_("1 if {i} is the max, else 0"),),
        tex=r"\max", tex_formulas=(r"1 \text{ if } a \text{ is the max, else } 0",),
        tensor=TensorRule("_max(args)", ("_route(g, args, out, i, tie)",), "router"),
    ),
    Op(
        name="min", symbol="min", arity=None, pattern=patterns.ROUTER, function=True,
        rule="min(args)", router=_router, kink=_tie,
        formulas=(N_("1 if {i} is the min, else 0"),),
        tex=r"\min", tex_formulas=(r"1 \text{ if } a \text{ is the min, else } 0",),
        tensor=TensorRule("_min(args)", ("_route(g, args, out, i, tie)",), "router"),
    ),
    # ---- vectors and matrices (scalar=False: run by the tensor engine only)
    Op(
        name="matmul", symbol="@", arity=2, pattern=patterns.MATMUL, scalar=False,
        tensor=TensorRule(
            "_matmul(a, b)", ("_mm_a(g, a, b)", "_mm_b(g, a, b)"), "matmul",
            said=("{g} · {1}ᵀ", "{0}ᵀ · {g}"),
            dims=("{g} · {1}ᵀ", "{0}ᵀ · {g}"),
        ),
        shown="{0} @ {1}", formulas=("{1}ᵀ", "{0}ᵀ"),
        tex=r"a b", tex_formulas=(r"b^\top", r"a^\top"),
    ),
    Op(
        name="index", symbol="[]", arity=2, pattern=patterns.ROUTER, scalar=False,
        tensor=TensorRule(
            "_index(a, b)", ("_dindex(g, a, b)", ""), "index", tex="a[b]", reason="index"
        ),
        shown="{0}[{1}]", formulas=("1 at [{1}], else 0", "0"),
        # indexed as the lecture writes it: a subscript after softmax₁'s reads as "1y"
        tex="a[b]", tex_formulas=(r"1 \text{ at } b \text{, else } 0", "0"),
    ),
    Op(
        name="transpose", symbol="transpose", arity=1, pattern=patterns.TRANSPOSE,
        function=True, scalar=False,
        tensor=TensorRule(
            "_transpose(a)", ("_transpose(g)",), "transpose",
            said=("{g}ᵀ",), dims=("{g}ᵀ",),
        ),
        shown="{0}.T", formulas=(N_("transpose back"),),
        tex=r"a^\top", tex_formulas=(r"(\cdot)^\top",),
    ),
    Op(
        name="sum", symbol="sum", arity=1, optional=1, pattern=patterns.DISTRIBUTOR,
        function=True, scalar=False,
        tensor=TensorRule(
            "_sum(a, b)", ("_dsum(g, a, b)", ""), "reduce",
            said=("{g}", ""), dims=("{g}", ""), reason="sum",
        ),
        formulas=(N_("1 for every element"),),
        tex=r"\sum a", tex_formulas=("1",),
    ),
    Op(
        name="mean", symbol="mean", arity=1, optional=1, pattern=patterns.DISTRIBUTOR,
        function=True, scalar=False,
        tensor=TensorRule(
            "_mean(a, b)", ("_dmean(g, a, b)", ""), "reduce",
            said=("{g} / {n}", ""), dims=("{g}", ""), reason="mean",
        ),
        formulas=(N_("1/n for every element"),),
        tex=r"\operatorname{mean}(a)", tex_formulas=(r"\frac{1}{n}",),
    ),
    Op(
        name="softmax", symbol="softmax", arity=1, pattern=patterns.SOFTMAX,
        function=True, scalar=False,
        tensor=TensorRule(
            "_softmax(a)", ("_dsoftmax(g, out)",), "same",
            said=("(diag({out}) - {out}·{out}ᵀ) · {g}",), dims=("{g}",),
        ),
        formulas=("diag({out}) - {out}·{out}ᵀ",),
        tex=r"\operatorname{softmax}(a)", tex_formulas=(r"\operatorname{diag}(out) - out\,out^\top",),
    ),
    Op(
        name="logsumexp", symbol="logsumexp", arity=1, pattern=patterns.SOFTMAX,
        function=True, scalar=False,
        tensor=TensorRule("_logsumexp(a)", ("_dlogsumexp(g, a, out)",), "last"),
        formulas=("softmax({0})",),
        tex=r"\log \sum \exp(a)", tex_formulas=(r"\operatorname{softmax}(a)",),
    ),
)  # fmt: skip

OPS: dict[str, Op] = {op.name: op for op in _TABLE}
OP_NAMES: tuple[str, ...] = tuple(OPS)
CODES: dict[str, int] = {name: code for code, name in enumerate(OP_NAMES)}

FUNCTIONS: tuple[str, ...] = tuple(sorted(op.name for op in _TABLE if op.function))
# The op codes of the ops for tensors only (Op.scalar False): a program with one of
# them is run by the tensor engine. They come last in the table.
TENSOR_ONLY: int = min(CODES[op.name] for op in _TABLE if not op.scalar)
assert all(not OPS[name].scalar for name in OP_NAMES[TENSOR_ONLY:])
