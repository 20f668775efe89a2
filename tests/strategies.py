"""Random bpcli programs for the property tests, their two renderings, and an exact reference.

A program is generated as an AST of our own (`Num`, `Var`, `Name`, `Unary`,
`Bin`, `Call` in `Statement`s), then rendered twice: to bpcli text (with random
spacing, redundant parentheses, number spellings, `**`/`^`/`pow(…)`,
statement separators, comments and line breaks inside parentheses) and to a
SymPy expression (`to_sympy`), so the SymPy oracle never goes through bpcli's
parser.

`Reference` evaluates the same program exactly (mpmath, 1200 bits, enough for a sum of
doubles of any two magnitudes, 1 + 1e-300), node by node
as bpcli's graph does, and says how far a float evaluation may be trusted:

- every node's exact value and a first-order bound on the error a float
  evaluation makes (running error analysis: each rounding costs a few units in
  the last place of its result, propagated by the local derivatives);
- the exact gradients, with bpcli's conventions at kinks (relu'(0) = abs'(0) = 0,
  ties split or to the first), and a bound on the float backward pass's error
  (rounding of each product and sum, errors of the local derivatives, which
  come from the forward values' errors through the second derivatives);
- bpcli's documented domain rules (README, "Conventions" and ops.py), each
  judged at the exact values: robustly defined, robustly undefined (bpcli must
  raise DomainError) or ambiguous (the float result may land on either side, e.g.
  log of a value that is 0 in exact arithmetic but 1e-17 after rounding).

`finite_difference` is the second oracle: central differences of the exact
output, taken where the step does not cross a kink or leave the domain.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Union

import mpmath
import sympy
from hypothesis import strategies as st

# ---- the AST ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Num:
    """A number literal, never negative: a minus sign is a `Unary("neg", …)`."""

    value: float


@dataclass(frozen=True, eq=False)
class Var:
    """An input variable."""

    name: str


@dataclass(frozen=True, eq=False)
class Name:
    """A name assigned by an earlier statement."""

    name: str


@dataclass(frozen=True, eq=False)
class Unary:
    op: str  # "neg" or "pos"
    arg: Expr


@dataclass(frozen=True, eq=False)
class Bin:
    op: str  # "add", "sub", "mul", "div", "pow"
    a: Expr
    b: Expr


@dataclass(frozen=True, eq=False)
class Call:
    fn: str  # one of FUNCTIONS or VARIADIC
    args: tuple[Expr, ...]


Expr = Union[Num, Var, Name, Unary, Bin, Call]  # noqa: UP007 (a runtime alias on Python 3.10)


@dataclass(frozen=True)
class Statement:
    name: str | None  # None: a bare expression
    expr: Expr


@dataclass(frozen=True)
class Case:
    """A generated program: its statements (the last one is the output), a point, and its text."""

    statements: tuple[Statement, ...]
    point: dict[str, float]
    text: str

    def __repr__(self) -> str:  # what hypothesis prints for a failing example
        return f"Case(text={self.text!r}, point={self.point!r})"


VARIADIC = ("max", "min")
BINARY = ("add", "sub", "mul", "div", "pow")
UNARY_OPS = ("neg",)  # the operators of one input (`-x`; `+x` is no op)
LEAVES = ("var", "const")
VARIABLES = ("x", "y", "z", "w0", "x_1", "α", "Θ", "变量")
INTERMEDIATES = ("q", "h", "s1", "a_2", "γ", "hidden", "out", "f")
CONSTANTS = (1.0, 2.0, 3.0, 0.5, 0.25, 1.5, 0.0, 2.5, 0.1, 10.0, 4.0, 3.7, 100.0, 0.001, 0.3)
INT_EXPONENTS = (2.0, 3.0, 1.0, 0.0, 4.0)
FRAC_EXPONENTS = (0.5, 1.5, 0.25, 1 / 3, 2 / 3, 2.5)
SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "div": "/"}


def literal(e: Expr) -> float | None:
    """The value of a signed number literal (`-2`, `-(+2)`, `--2`), which bpcli folds into
    one constant node; None for anything else."""
    sign = 1.0
    while isinstance(e, Unary):
        if e.op == "neg":
            sign = -sign
        e = e.arg
    return sign * e.value if isinstance(e, Num) else None


def walk(e: Expr) -> list[Expr]:
    """Every node of an expression tree (a `Name` is a leaf here)."""
    found: list[Expr] = []
    todo = [e]
    while todo:
        node = todo.pop()
        found.append(node)
        if isinstance(node, Unary):
            todo.append(node.arg)
        elif isinstance(node, Bin):
            todo += [node.a, node.b]
        elif isinstance(node, Call):
            todo += list(node.args)
    return found


# ---- exact arithmetic ---------------------------------------------------------------

MP = mpmath.MPContext()
MP.prec = 1200
U = MP.mpf(2) ** -53  # unit roundoff of a double
TINY = MP.mpf(2) ** -1074  # absolute error of a rounding in the subnormal range
FMAX = MP.mpf(1.7976931348623157e308)
OVERFLOW = FMAX + MP.mpf(2) ** 970  # where round-to-nearest goes to infinity
ZONE = MP.mpf(2) ** 1000  # values this large: a later product may overflow
NEAR = 16  # a float within NEAR error bounds of a boundary may land on either side
HUGE = 10**5  # exponents beyond this are not computed: far beyond float range
INF = MP.inf


class Undefined(Exception):
    """The maths is undefined here, by one of bpcli's documented rules."""


# ---- the functions, as the oracles know them ----------------------------------------------
#
# Every function of one input that bpcli's table has (tests/test_oracles.py checks the
# names against bpcli.ops), written from the maths, never from bpcli's rules: its exact
# value (mpmath, raising Undefined where bpcli documents it refuses the input), its
# SymPy form, its float value (for the tests that evaluate the table's formulas), its
# exact local derivative and how far a float evaluation of it may be off.


@dataclass(frozen=True)
class Function:
    """One function of one input, for the oracles.

    `local(a, out)` gives the exact local derivative L, dL/da and the rounding scale S:
    how far bpcli's float formula for L may be off, in units of the unit roundoff,
    relative for most ops, absolute where the formula subtracts from the node's own
    value (tanh: 1 - out², sigmoid: out·(1 - out)). A kink function (relu, abs) has
    none: the reference judges which side of the kink it is on. `rounding` is how many
    units in the last place a float evaluation may be off (glibc's libm is within 1 ulp
    for these; the factor 2 to 4 is slack).
    """

    exact: Callable[[Any], Any]
    sympy: Callable[[Any], Any]
    float: Callable[[float], float]
    rounding: int
    local: Callable[[Any, Any], tuple[Any, Any, Any]] | None = None
    kink: bool = False


def _exact_exp(a: Any) -> Any:
    if a > HUGE:
        raise Undefined("overflow")
    return MP.exp(a)


def _exact_log(a: Any) -> Any:
    if a <= 0:
        raise Undefined("log of x <= 0")
    return MP.log(a)


def _exact_sqrt(a: Any) -> Any:
    if a < 0:
        raise Undefined("sqrt of x < 0")
    return MP.sqrt(a)


def _exact_sigmoid(a: Any) -> Any:
    if a < -HUGE:
        return MP.exp(a)  # 1/(1+e^-a) to within e^-200000, relatively
    return 1 / (1 + MP.exp(-a))


def _float_sigmoid(a: float) -> float:
    return 1 / (1 + math.exp(-a)) if a >= 0 else math.exp(a) / (1 + math.exp(a))


def _tan_local(a: Any, out: Any) -> tuple[Any, Any, Any]:
    sec2 = 1 + out**2
    return sec2, 2 * out * sec2, 10 * sec2


def _tanh_local(a: Any, out: Any) -> tuple[Any, Any, Any]:
    sech2 = 1 - out**2
    return sech2, -2 * out * sech2, 10 * (out**2 + abs(sech2))


def _sigmoid_local(a: Any, out: Any) -> tuple[Any, Any, Any]:
    d = out * (1 - out)
    return d, d * (1 - 2 * out), 10 * abs(out)


FUNCTION_ORACLES: dict[str, Function] = {
    "exp": Function(_exact_exp, sympy.exp, math.exp, 4, lambda a, out: (out, out, 4 * abs(out))),
    "log": Function(
        _exact_log, sympy.log, math.log, 4, lambda a, out: (1 / a, -1 / a**2, abs(1 / a))
    ),
    "sqrt": Function(
        _exact_sqrt,
        sympy.sqrt,
        math.sqrt,
        1,
        lambda a, out: (1 / (2 * out), -1 / (4 * out**3), 2 * abs(1 / out)),
    ),
    "sin": Function(
        MP.sin, sympy.sin, math.sin, 4, lambda a, out: (MP.cos(a), -MP.sin(a), 4 * abs(MP.cos(a)))
    ),
    "cos": Function(
        MP.cos, sympy.cos, math.cos, 4, lambda a, out: (-MP.sin(a), -MP.cos(a), 4 * abs(MP.sin(a)))
    ),
    "tan": Function(MP.tan, sympy.tan, math.tan, 4, _tan_local),
    "tanh": Function(MP.tanh, sympy.tanh, math.tanh, 4, _tanh_local),
    "sigmoid": Function(
        _exact_sigmoid, lambda a: 1 / (1 + sympy.exp(-a)), _float_sigmoid, 8, _sigmoid_local
    ),
    "relu": Function(
        lambda a: a if a > 0 else MP.zero,
        lambda a: sympy.Max(0, a),
        lambda a: max(a, 0.0),
        0,
        kink=True,
    ),
    "abs": Function(abs, sympy.Abs, abs, 0, kink=True),
}
FUNCTIONS = tuple(FUNCTION_ORACLES)
# The functions a formula of the table may call, as floats (`_sign`: abs's derivative).
FLOATS = {name: f.float for name, f in FUNCTION_ORACLES.items()} | {
    "_sign": lambda v: math.copysign(1.0, v)
}
KINK_FUNCTIONS = tuple(name for name, f in FUNCTION_ORACLES.items() if f.kink)

# How many units in the last place a float evaluation of each op may be off.
ROUNDING = {
    "add": 1, "sub": 1, "mul": 1, "div": 1, "neg": 0, "pow": 4, "max": 0, "min": 0,
} | {name: f.rounding for name, f in FUNCTION_ORACLES.items()}  # fmt: skip


def is_double(v: Any) -> bool:
    """Whether an exact value is a double (so a correctly rounded op returns it exactly)."""
    if abs(v) > FMAX:
        return False
    return bool(MP.mpf(float(v)) == v)


def robust_sign(v: Any, e: Any) -> int | None:
    """The sign of every float within e of v, or None when it is not the same for all."""
    if e == 0:
        return int(MP.sign(v))
    if abs(v) > NEAR * e:
        return int(MP.sign(v))
    return None


def exact_op(op: str, args: list[Any]) -> Any:
    """The exact value of one op (bpcli's forward rules); Undefined where bpcli refuses it."""
    if op == "add":
        return args[0] + args[1]
    if op == "sub":
        return args[0] - args[1]
    if op == "mul":
        return args[0] * args[1]
    if op == "neg":
        return -args[0]
    if op == "div":
        if args[1] == 0:
            raise Undefined("division by zero")
        return args[0] / args[1]
    if op == "pow":
        return exact_pow(args[0], args[1])
    if op in FUNCTION_ORACLES:
        return FUNCTION_ORACLES[op].exact(args[0])
    if op == "max":
        return max(args)
    if op == "min":
        return min(args)
    raise AssertionError(op)


def exact_pow(x: Any, y: Any) -> Any:
    if x == 0:
        if y < 0:
            raise Undefined("0 to a negative power")
        return MP.one if y == 0 else MP.zero
    if x < 0 and not MP.isint(y):
        raise Undefined("a negative base to a non-integer power")
    if y * MP.log(abs(x)) > HUGE:
        raise Undefined("overflow")
    return MP.power(x, y)


# ---- the reference: bpcli's graph, evaluated exactly ---------------------------------


@dataclass
class RNode:
    op: str
    inputs: tuple[int, ...] = ()
    value: Any = None
    name: str | None = None  # a variable's name
    const: bool = False  # a constant node of bpcli's graph: no gradient


@dataclass
class Reference:
    """bpcli's graph of a program, evaluated in exact arithmetic, with float error bounds.

    `outcome` is "ok" (bpcli must answer, `value`/`grads` within `value_err`/`grad_err`
    of the float evaluation), "domain" (bpcli must raise DomainError; `reason` says by
    which rule) or "ambiguous" (float rounding decides; `reason` says where).
    `kink` is "none", "exact" (a kink op sits exactly on its kink with a gradient
    flowing through it, or a zero upstream gradient skips an infinite local derivative:
    SymPy's and a numeric derivative differ there from bpcli's conventions, so only the
    reference's conventions apply) or "near" (rounding decides which side of a kink
    the float lands on: gradients are not comparable).
    """

    statements: tuple[Statement, ...]
    point: dict[str, float]
    tie: str = "split"
    nodes: list[RNode] = field(default_factory=list)
    variables: dict[str, int] = field(default_factory=dict)
    output: int = -1
    outcome: str = "ok"
    reason: str = ""
    kink: str = "none"
    value: Any = None
    value_err: Any = None
    grads: dict[str, Any] = field(default_factory=dict)
    grad_err: dict[str, Any] = field(default_factory=dict)
    unneeded: str = ""  # bug B1: a DomainError from a derivative that no input needs

    def __post_init__(self) -> None:
        scope: dict[str, int] = {}
        for statement in self.statements:
            node = self._build(statement.expr, scope)
            if statement.name is not None:
                scope[statement.name] = node
            self.output = node
        self.live = self._live()
        self.depends = self._depends()
        try:
            self.errs = self._forward()
            self._backward()
        except _Stop as stop:
            self.outcome, self.reason = stop.outcome, stop.reason

    # -- building

    def _add(self, node: RNode) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    def _build(self, e: Expr, scope: dict[str, int]) -> int:
        if isinstance(e, Num):
            return self._add(RNode("const", value=MP.mpf(e.value), const=True))
        if isinstance(e, Var):
            if e.name not in self.variables:
                self.variables[e.name] = self._add(RNode("var", name=e.name))
            return self.variables[e.name]
        if isinstance(e, Name):
            return scope[e.name]
        if isinstance(e, Unary):
            if e.op == "pos":
                return self._build(e.arg, scope)
            folded = literal(e)
            if folded is not None:
                return self._add(RNode("const", value=MP.mpf(folded), const=True))
            return self._add(RNode("neg", (self._build(e.arg, scope),)))
        if isinstance(e, Bin):
            a = self._build(e.a, scope)
            b = self._build(e.b, scope)
            return self._add(RNode(e.op, (a, b)))
        return self._add(RNode(e.fn, tuple(self._build(arg, scope) for arg in e.args)))

    def _live(self) -> list[bool]:
        live = [False] * len(self.nodes)
        live[self.output] = True
        for i in range(len(self.nodes) - 1, -1, -1):
            if live[i]:
                for j in self.nodes[i].inputs:
                    live[j] = True
        return live

    def _depends(self) -> list[bool]:
        depends = []
        for node in self.nodes:
            depends.append(node.op == "var" or any(depends[j] for j in node.inputs))
        return depends

    # -- forward

    def _forward(self) -> list[Any]:
        errs: list[Any] = []
        for i, node in enumerate(self.nodes):
            if node.op == "var":
                node.value = MP.mpf(self.point[node.name])  # type: ignore[index]
                errs.append(MP.zero)
                continue
            if node.const:
                errs.append(MP.zero)
                continue
            args = [self.nodes[j].value for j in node.inputs]
            arg_errs = [errs[j] for j in node.inputs]
            where = f"{node.op}" + ("" if self.live[i] else " (dead code)")
            self._check_forward(node.op, args, arg_errs, where)
            try:
                node.value = exact_op(node.op, args)
            except Undefined as exc:
                raise _Stop("domain", f"{exc} in {where}") from None
            errs.append(self._forward_error(node.op, args, arg_errs, node.value))
            self._check_overflow(node.value, errs[-1], where)
        self.value = self.nodes[self.output].value
        self.value_err = errs[self.output]
        return errs

    def _check_forward(self, op: str, args: list[Any], errs: list[Any], where: str) -> None:
        """bpcli's forward domain rules, robust or ambiguous at float precision."""
        if op == "div":
            sign = robust_sign(args[1], errs[1])
            if sign == 0:
                raise _Stop("domain", f"division by zero in {where}")
            if sign is None:
                self._ambiguous(f"a divisor near 0 in {where}", stop=bool(args[1] == 0))
        elif op in ("log", "sqrt"):
            sign = robust_sign(args[0], errs[0])
            if sign is None:
                bad = args[0] <= 0 if op == "log" else args[0] < 0
                self._ambiguous(f"{op} near 0 in {where}", stop=bool(bad))
            elif sign < 0 or (op == "log" and sign == 0):
                raise _Stop("domain", f"{op} of x {'<=' if op == 'log' else '<'} 0 in {where}")
        elif op == "pow":
            x, y = args
            xs, ys = robust_sign(x, errs[0]), robust_sign(y, errs[1])
            integer = robust_integer(y, errs[1])
            if xs == 0 and ys is not None and ys < 0:
                raise _Stop("domain", f"0 to a negative power in {where}")
            if xs is not None and xs < 0 and integer is False:
                raise _Stop("domain", f"a negative base to a non-integer power in {where}")
            if xs == 0 and ys is None:
                self._ambiguous(f"0 to a power near 0 in {where}", stop=True)
            if xs is None and not (ys is not None and ys > 0 and integer is True):
                self._ambiguous(f"a base near 0 in {where}", stop=True)
            if xs is not None and xs < 0 and integer is None:
                self._ambiguous(f"a negative base, an exponent near a whole number in {where}", stop=True)  # fmt: skip
        elif op == "exp" and args[0] > HUGE:
            if args[0] - errs[0] > 710:
                raise _Stop("domain", f"overflow in {where}")
            self._ambiguous(f"exp near overflow in {where}", stop=True)

    def _check_overflow(self, v: Any, e: Any, where: str) -> None:
        if abs(v) - e > OVERFLOW:
            raise _Stop("domain", f"overflow in {where}")
        if abs(v) + e >= FMAX:
            self._ambiguous(f"a value near the float limit in {where}", stop=False)

    def _forward_error(self, op: str, args: list[Any], errs: list[Any], v: Any) -> Any:
        if op in ("neg", "relu", "abs"):
            return errs[0]  # exact, and 1-Lipschitz
        if op in ("max", "min"):
            return max(errs)
        if all(e == 0 for e in errs) and is_double(v):
            return MP.zero  # a correctly rounded op with a representable result is exact
        if (op == "mul" and any(a == 0 and e == 0 for a, e in zip(args, errs, strict=True))) or (
            op == "div" and args[0] == 0 and errs[0] == 0
        ):
            return MP.zero  # an exact 0 times (or over) anything finite is exactly 0
        try:
            if op == "pow":
                locals_ = pow_sensitivity(args[0], args[1], v)
            else:
                locals_ = [row[0] for row in local_derivatives(op, args, v)]
        except ZeroDivisionError:  # an infinite derivative (sqrt at 0) and an inexact input
            return INF
        total = sum((_times(L, e) for L, e in zip(locals_, errs, strict=True)), MP.zero)
        return total + ROUNDING[op] * U * abs(v) + TINY

    def _ambiguous(self, reason: str, *, stop: bool) -> None:
        if self.outcome == "ok":
            self.outcome, self.reason = "ambiguous", reason
        if stop:
            raise _Stop(self.outcome, self.reason)

    # -- backward

    def _backward(self) -> None:
        nodes, errs = self.nodes, self.errs
        adj = [MP.zero] * len(nodes)
        bound = [MP.zero] * len(nodes)
        terms = [MP.zero] * len(nodes)  # sum of |contributions|, for the sums' rounding
        count = [0] * len(nodes)
        adj[self.output] = MP.one
        # bpcli's convention "infinite times zero": an undefined or infinite local
        # derivative becomes a pending infinity of its input; an exactly zero local
        # derivative further down stops it, and one that reaches an input is the error.
        pending: dict[int, str] = {}
        for n in range(len(nodes) - 1, -1, -1):
            node = nodes[n]
            bound[n] += count[n] * U * terms[n] + (TINY if terms[n] else 0)
            if node.const:
                continue
            where = node.op + ("" if self.live[n] else " (dead code)")
            upstream, e_up = adj[n], bound[n]
            if abs(upstream) - e_up > OVERFLOW:
                raise _Stop("domain", f"gradient overflow at {where}")
            if abs(upstream) + e_up >= ZONE:
                self._ambiguous(f"a gradient near the float limit at {where}", stop=False)
            if not node.inputs:
                continue
            args = [nodes[j].value for j in node.inputs]
            arg_errs = [errs[j] for j in node.inputs]
            infinity = pending.get(n)
            if upstream == 0 and e_up == 0 and infinity is None:
                # bpcli skips a gate whose upstream gradient is exactly 0 (documented). If
                # its local derivative is infinite there (sqrt(x)*sqrt(x) at 0: 0 times
                # sqrt'(0)), the output is not differentiable, or only one-sidedly (SymPy:
                # d/dx sqrt(x)**2 = 1), and only the convention decides: like a kink.
                rows = self._locals(n, node, args, arg_errs)
                if any(
                    row[0] == "undefined" and self.depends[j]
                    for j, row in zip(node.inputs, rows, strict=True)
                ):
                    self.kink = "near" if self.kink == "near" else "exact"
                continue
            certain = robust_sign(upstream, e_up) not in (None, 0)
            rows = self._locals(n, node, args, arg_errs)
            for j, row in zip(node.inputs, rows, strict=True):
                if nodes[j].const:
                    continue  # bpcli evaluates no local derivative towards a constant
                status, L, hess, scale = row
                if status != "ok":
                    if status == "kink-exact":
                        self.kink = "near" if self.kink == "near" else "exact"
                        status = "ok"
                    elif status == "kink-near":
                        self.kink = "near"
                        status = "ok"
                if status == "undefined" and not self.depends[j]:
                    # Bug B1: bpcli evaluates this local derivative although no input
                    # depends on it (the gradient of a constant subexpression).
                    self.unneeded = self.unneeded or f"{L} in {where}, towards a constant subexpression"  # fmt: skip
                    continue
                if status == "undefined":
                    if infinity is not None or certain:
                        pending.setdefault(j, infinity or f"{L} in {where}")
                        continue
                    self._ambiguous(f"{L} in {where}, with an upstream gradient near 0", stop=True)
                if status == "ambiguous":
                    self._ambiguous(f"{L} in {where}", stop=True)
                local_err = (
                    sum((_times(h, e) for h, e in zip(hess, arg_errs, strict=True)), MP.zero)
                    + U * scale
                )
                if infinity is not None:
                    if L == 0 and local_err == 0:
                        # stopped: like a kink, only the convention decides (sqrt(x*x) at 0)
                        self.kink = "near" if self.kink == "near" else "exact"
                    elif abs(L) <= local_err:
                        self._ambiguous(f"an infinity times about 0 in {where}", stop=True)
                    else:
                        pending.setdefault(j, infinity)
                if upstream == 0 and e_up == 0:
                    continue
                # A local derivative too large for a float alone is no error: bpcli sends
                # its vjp form (g / a), finite where the product is.
                contribution = upstream * L
                if abs(contribution) > OVERFLOW and certain:
                    raise _Stop("domain", f"gradient overflow in {where}")
                if abs(L) >= ZONE or abs(contribution) >= ZONE:
                    self._ambiguous(f"a gradient near the float limit in {where}", stop=False)
                adj[j] += contribution
                bound[j] += _times(L, e_up) + _times(upstream, local_err) + U * abs(contribution)
                terms[j] += abs(contribution)
                count[j] += 1
        for i in self.variables.values():
            if i in pending:
                raise _Stop("domain", pending[i])
        self.grads = {name: adj[i] for name, i in self.variables.items()}
        self.grad_err = {name: bound[i] for name, i in self.variables.items()}
        self.adjoints = adj

    def _locals(
        self, n: int, node: RNode, args: list[Any], errs: list[Any]
    ) -> list[tuple[str, Any, list[Any], Any]]:
        """Each input's (status, local derivative, its second derivatives, rounding scale)."""
        op, out = node.op, node.value
        if op in KINK_FUNCTIONS:
            sign = robust_sign(args[0], errs[0])
            if sign is None:
                return [("kink-near", MP.one, [MP.zero], MP.zero)]
            L = MP.mpf(sign) if op == "abs" else MP.mpf(sign > 0)
            return [("kink-exact" if sign == 0 else "ok", L, [MP.zero], MP.zero)]
        if op in ("max", "min"):
            return self._router(node, args, errs, out)
        if op == "pow":
            return pow_locals(args, errs, out)
        if op == "sqrt":
            sign = robust_sign(args[0], errs[0])
            if sign == 0:
                return [("undefined", "the derivative of sqrt at 0", [MP.zero], MP.zero)]
            if sign is None:
                return [("ambiguous", "the derivative of sqrt near 0", [MP.zero], MP.zero)]
        return [("ok", L, hess, scale) for L, hess, scale in local_derivatives(op, args, out)]

    def _router(self, node: RNode, args: list[Any], errs: list[Any], out: Any) -> list[Any]:
        """max/min: the winner takes the gradient; a tie between different nodes is a kink.

        A tie of one node with itself (max(x, x)) is no kink: whichever way the
        gradient is shared, it all reaches that node."""
        ids = node.inputs
        winners = [i for i, v in enumerate(args) if v == out]
        e_win = max(errs[i] for i in winners)
        tied = len({ids[i] for i in winners}) > 1
        near = tied and e_win > 0
        for j, v in enumerate(args):
            if ids[j] not in {ids[i] for i in winners} and abs(out - v) <= NEAR * (errs[j] + e_win):
                near = True
        status = "kink-near" if near else "kink-exact" if tied else "ok"
        zero = [MP.zero] * len(args)
        if self.tie == "first":
            return [(status, MP.mpf(i == winners[0]), zero, MP.zero) for i in range(len(args))]
        share = MP.one / len(winners)
        return [
            (status, share, zero, share) if i in winners else (status, MP.zero, zero, MP.zero)
            for i in range(len(args))
        ]


class _Stop(Exception):
    def __init__(self, outcome: str, reason: str) -> None:
        super().__init__(reason)
        self.outcome, self.reason = outcome, reason


def _times(a: Any, e: Any) -> Any:
    """|a|·e, where an error of exactly 0 stays 0 even if a is infinite."""
    return MP.zero if e == 0 else abs(a) * e


def robust_integer(y: Any, e: Any) -> bool | None:
    """Whether every float within e of y is a whole number (True), none is (False), or unknown."""
    if e == 0:
        return bool(MP.isint(y))
    if abs(y) >= 2**52:
        return None
    gap = abs(y - MP.nint(y))
    if gap > NEAR * e:
        return False
    return None


def local_derivatives(op: str, args: list[Any], out: Any) -> list[tuple[Any, list[Any], Any]]:
    """Exact local derivatives of a smooth op, one (L, dL/dargs, rounding scale) per input
    (the scale as in `Function`)."""
    z = MP.zero
    if op in ("add", "sub"):
        return [(MP.one, [z, z], z), (MP.one if op == "add" else -MP.one, [z, z], z)]
    if op == "mul":
        a, b = args
        return [(b, [z, MP.one], z), (a, [MP.one, z], z)]
    if op == "div":
        a, b = args
        return [
            (1 / b, [z, -1 / b**2], abs(1 / b)),
            (-a / b**2, [-1 / b**2, 2 * a / b**3], 2 * abs(a / b**2)),
        ]
    if op == "neg":
        return [(-MP.one, [z], z)]
    local = FUNCTION_ORACLES[op].local
    assert local is not None, op
    L, dL, scale = local(args[0], out)
    return [(L, [dL], scale)]


def pow_sensitivity(x: Any, y: Any, out: Any) -> list[Any]:
    """d(x ** y)/dx and d(x ** y)/dy as magnitudes for error propagation (INF where unbounded)."""
    if x == 0:
        by_x = MP.zero if y == 0 or y > 1 else MP.one if y == 1 else INF
        return [by_x, MP.zero]
    by_y = out * MP.log(x) if x > 0 else INF
    return [y * MP.power(x, y - 1), by_y]


def pow_locals(args: list[Any], errs: list[Any], out: Any) -> list[tuple[str, Any, list[Any], Any]]:
    """x ** y: (status, L, dL/d(x, y), scale) for the base and for the exponent, by bpcli's rules
    (y = 0: d/dx is 0; x = 0: d/dx is infinite for 0 < y < 1, d/dy is 0; x < 0: no d/dy)."""
    x, y = args
    z = MP.zero
    xs = robust_sign(x, errs[0])
    ys = robust_sign(y, errs[1])
    # the base
    if y == 0 and errs[1] == 0:
        base = ("ok", z, [z, z], z)
    elif xs == 0:
        if ys is None or (0 < y < 1 and errs[1] > 0) or (y == 1 and errs[1] > 0):
            base = ("ambiguous", "the derivative of x ** y at x = 0 with y near 0 or 1", [z, z], z)
        elif 0 < y < 1:
            base = ("undefined", "the derivative of x ** y at x = 0 with 0 < y < 1", [z, z], z)
        else:
            base = ("ok", MP.one if y == 1 else z, [INF if errs[0] else z, z], z)
    elif xs is None and y < 2:
        base = ("ambiguous", "the derivative of x ** y near x = 0", [z, z], z)
    else:
        L = y * MP.power(x, y - 1)
        h_xx = y * (y - 1) * MP.power(x, y - 2)
        h_xy = MP.power(x, y - 1) * (1 + y * MP.log(x)) if x > 0 else (INF if errs[1] else z)
        base = ("ok", L, [h_xx, h_xy], 4 * abs(L))
    # the exponent
    if xs is not None and xs > 0:
        L = out * MP.log(x)
        h_yx = MP.power(x, y - 1) * (1 + y * MP.log(x))
        exponent = ("ok", L, [h_yx, out * MP.log(x) ** 2], 4 * abs(L))
    elif xs == 0:
        exponent = ("ok", z, [INF if errs[0] else z, z], z)
    elif xs is None:
        exponent = ("ambiguous", "the derivative of x ** y by y with x near 0", [z, z], z)
    else:
        exponent = ("undefined", "the derivative of x ** y by y with x < 0", [z, z], z)
    return [base, exponent]


# ---- the second oracle: central differences of the exact output -------------------------


def exact_output(ref: Reference, point: dict[str, float | Any]) -> tuple[Any, tuple[Any, ...]]:
    """The output at another point, and which side of its kink every kink op is on
    (those a gradient flows through at the reference point)."""
    values: list[Any] = []
    branches: list[Any] = []
    for node in ref.nodes:
        if node.op == "var":
            values.append(MP.mpf(point[node.name]))  # type: ignore[index]
        elif node.const:
            values.append(node.value)
        else:
            args = [values[j] for j in node.inputs]
            values.append(exact_op(node.op, args))
            if ref.adjoints[len(values) - 1] == 0:
                continue  # no gradient flows through it (dead code, a max it loses): any side
            if node.op in KINK_FUNCTIONS:
                branches.append(MP.sign(args[0]))
            elif node.op in ("max", "min"):
                branches.append(tuple(i for i, v in enumerate(args) if v == values[-1]))
    return values[ref.output], tuple(branches)


def finite_difference(ref: Reference, name: str) -> Any | None:
    """d(output)/d(name) by central differences, or None where the stencil crosses a kink,
    leaves the domain, or two step sizes disagree.

    The step is relative to the input (2^-60 |x|); the working precision is raised until
    the step moves the output by far more than its last bit (`ref`'s exact gradient
    says by how much), so that a tiny derivative is not lost below the output's
    precision (0.001 + z² at z = 1e-192 changes in its 400th digit).
    """
    x = MP.mpf(ref.point[name])
    h = MP.mpf(2) ** -60 * (abs(x) if x != 0 else 1)
    need = 0
    slope, scale = abs(ref.grads.get(name, 0)), abs(ref.value)
    if slope != 0 and scale != 0:
        need = max(0, int(MP.log(scale / (slope * h), 2)))
    with MP.workprec(min(20_000, MP.prec + need + 64)):
        try:
            samples = {}
            for k in (-2, -1, 0, 1, 2):
                point = dict(ref.point)
                point[name] = x + k * h
                samples[k] = exact_output(ref, point)
        except (Undefined, ZeroDivisionError, ValueError):
            return None
        if len({branch for _, branch in samples.values()}) != 1:
            return None
        d1 = (samples[1][0] - samples[-1][0]) / (2 * h)
        d2 = (samples[2][0] - samples[-2][0]) / (4 * h)
        if abs(d1 - d2) > MP.mpf(10) ** -25 * max(abs(d1), abs(d2)):
            return None
    return +d1  # to the usual precision


# ---- SymPy ---------------------------------------------------------------------------------


def to_sympy(e: Expr, env: dict[str, Any], symbols: dict[str, sympy.Symbol]) -> Any:
    """The expression in SymPy. Numbers keep their double values exactly: whole ones as
    integers, the others as 400-digit Floats (as exact rationals, 0.3 would be
    5404319552844595/18014398509481984, and SymPy's symbolic work on such rationals,
    gcds and assumptions, can take minutes)."""
    if isinstance(e, Num):
        if e.value.is_integer():
            return sympy.Integer(int(e.value))
        return sympy.Float(e.value, 400)
    if isinstance(e, Var):
        return symbols[e.name]
    if isinstance(e, Name):
        if env[e.name] is None:
            raise ValueError(f"{e.name} has no SymPy expression")
        return env[e.name]
    if isinstance(e, Unary):
        inner = to_sympy(e.arg, env, symbols)
        return -inner if e.op == "neg" else inner
    if isinstance(e, Bin):
        a, b = to_sympy(e.a, env, symbols), to_sympy(e.b, env, symbols)
        if e.op == "add":
            return a + b
        if e.op == "sub":
            return a - b
        if e.op == "mul":
            return a * b
        if e.op == "div":
            return a / b
        return sympy.Pow(a, b)
    args = [to_sympy(arg, env, symbols) for arg in e.args]
    if e.fn in ("max", "min"):
        return (sympy.Max if e.fn == "max" else sympy.Min)(*args)
    return FUNCTION_ORACLES[e.fn].sympy(*args)


def program_to_sympy(statements: tuple[Statement, ...]) -> tuple[Any, dict[str, sympy.Symbol]]:
    """The output as one SymPy expression over real symbols, names inlined."""
    symbols: dict[str, sympy.Symbol] = {}
    for statement in statements:
        for node in walk(statement.expr):
            if isinstance(node, Var) and node.name not in symbols:
                symbols[node.name] = sympy.Symbol(node.name, real=True)
    env: dict[str, Any] = {}
    expr: Any = None
    for statement in statements:
        try:
            expr = to_sympy(statement.expr, env, symbols)
        except (ValueError, TypeError):
            expr = None  # e.g. Max of a complex number; fine if the output does not use it
        if statement.name is not None:
            env[statement.name] = expr
    if expr is None:
        raise ValueError("SymPy cannot build the output (Max or Min of a complex number?)")
    return expr, symbols


# ---- the text: rendering an AST as bpcli source -------------------------------------------

SUM, PRODUCT, UNARY, POWER, ATOM = 1, 2, 3, 4, 5
COMMENTS = ("# a comment", "#", "# ) ( ; , = ** ^ q = x", "# ünïcødé α β", "#\t# twice")


def spellings(value: float) -> list[str]:
    """Ways to write a non-negative double so that float() reads back exactly that double."""
    text = repr(value)
    exact = Decimal(text)
    sign, digits, exponent = exact.as_tuple()
    assert sign == 0 and isinstance(exponent, int)
    mantissa = "".join(map(str, digits)).lstrip("0") or "0"
    exponent += len(digits) - len(mantissa.rstrip("0") or "0") if mantissa != "0" else 0
    mantissa = mantissa.rstrip("0") or "0"
    found = [text, f"{mantissa}e{exponent}", f"{mantissa}E{exponent:+d}"]
    if mantissa != "0":
        found.append(f".{mantissa}e{exponent + len(mantissa)}")
    if -25 < exponent < 25:
        fixed = format(exact, "f")
        found.append(fixed)
        if fixed.startswith("0."):
            found.append(fixed[1:])
        if "." not in fixed:
            found += [fixed + ".", fixed + ".0", fixed + ".000"]
    return [s for s in dict.fromkeys(found) if float(s) == value]


class Renderer:
    """Writes an AST as bpcli text, drawing every cosmetic choice from hypothesis."""

    def __init__(self, draw: Any, *, fancy: bool = True) -> None:
        self.draw = draw
        self.fancy = fancy
        self.depth = 0  # parentheses open: a new line continues the statement there

    def ws(self) -> str:
        if not self.fancy:
            return " "
        choice = self.draw(st.integers(0, 9))
        if choice < 6:
            return " " if choice % 2 else ""
        if self.depth > 0:
            return ("\n  ", " # note\n", "\r\n", "\t")[choice - 6]
        return ("  ", "\t", "\f", " ")[choice - 6]

    def level(self, e: Expr, pow_call: bool) -> int:
        if isinstance(e, Bin):
            if e.op == "pow":
                return ATOM if pow_call else POWER
            return SUM if e.op in ("add", "sub") else PRODUCT
        return UNARY if isinstance(e, Unary) else ATOM

    def expr(self, e: Expr, need: int = SUM) -> str:
        pow_call = isinstance(e, Bin) and e.op == "pow" and self.fancy and self.draw(st.booleans())
        extra = self.fancy and self.draw(st.integers(0, 15)) == 0
        wrap = self.level(e, pow_call) < need or extra
        if not wrap:
            return self.raw(e, pow_call)
        self.depth += 1
        left = self.ws()
        text = self.raw(e, pow_call)
        right = self.ws()
        self.depth -= 1
        return f"({left}{text}{right})"

    def raw(self, e: Expr, pow_call: bool) -> str:
        if isinstance(e, Num):
            options = spellings(e.value)
            return self.draw(st.sampled_from(options)) if self.fancy else options[0]
        if isinstance(e, (Var, Name)):
            return e.name
        if isinstance(e, Unary):
            return ("-" if e.op == "neg" else "+") + self.ws() + self.expr(e.arg, UNARY)
        if isinstance(e, Bin):
            if e.op == "pow":
                if pow_call:
                    return self.call("pow", (e.a, e.b))
                symbol = self.draw(st.sampled_from(["**", "^"])) if self.fancy else "**"
                return (
                    f"{self.expr(e.a, ATOM)}{self.ws()}{symbol}{self.ws()}{self.expr(e.b, UNARY)}"
                )
            right = PRODUCT if e.op in ("add", "sub") else UNARY
            left = self.expr(e.a, right - 1)
            return f"{left}{self.ws()}{SYMBOLS[e.op]}{self.ws()}{self.expr(e.b, right)}"
        return self.call(e.fn, e.args)

    def call(self, fn: str, args: tuple[Expr, ...]) -> str:
        self.depth += 1
        inner = ("," + self.ws()).join(self.expr(arg, SUM) for arg in args)
        text = f"{fn}({self.ws()}{inner}{self.ws()})"
        self.depth -= 1
        return text

    def program(self, statements: tuple[Statement, ...]) -> str:
        parts = []
        for statement in statements:
            body = self.expr(statement.expr)
            if statement.name is not None:
                body = f"{statement.name}{self.ws()}={self.ws()}{body}"
            parts.append(body)
        if not self.fancy:
            return "; ".join(parts)
        separators = st.sampled_from(
            [";", "\n", "; ", " ;\n", "\n\n", "\r\n", f"  {COMMENTS[0]}\n", ";# c\n", "\n;\n"]
        )
        text = self.draw(st.sampled_from(["", "", "\n", f"{COMMENTS[3]}\n", "; "]))
        for i, part in enumerate(parts):
            if i:
                text += self.draw(separators)
            text += part
        return text + self.draw(st.sampled_from(["", "", "\n", ";", f" {COMMENTS[2]}", "\n\n"]))


# ---- the strategies -------------------------------------------------------------------------


def point_values(kinky: bool = False) -> st.SearchStrategy[float]:
    """Input values: small integers and halves (exact kinks and ties), and any floats."""
    nice = st.sampled_from([1.0, -1.0, 2.0, 0.5, -2.0, 0.0, 3.0, -0.5, 1.5, -3.0, 0.25])
    if kinky:
        return st.one_of(nice, st.integers(-3, 3).map(float))
    return st.one_of(
        st.floats(-10, 10, allow_nan=False, allow_infinity=False),
        nice,
        st.integers(-6, 6).map(float),
        st.sampled_from([0.1, -0.1, 3.7, 1e-3, 12.5, -7.25, 1e3, 2.0**-20]),
        st.floats(1e-4, 1e4).flatmap(lambda v: st.sampled_from([v, -v])),
    )


class _Builder:
    """Draws expressions bottom-up, knowing each subexpression's exact value at the point,
    so that it can steer most log/sqrt/division/power arguments into their domains
    (a program that fails at its first node tests little of the backward pass)."""

    def __init__(self, draw: Any, functions: tuple[str, ...], binary: tuple[str, ...], steer: int):
        self.draw = draw
        self.functions = functions
        self.binary = binary
        self.steer = steer  # out of 20: how often an argument is steered into the domain
        self.values: dict[
            str, Any
        ] = {}  # value of each variable and assigned name (None: undefined)

    def steered(self) -> bool:
        return bool(self.draw(st.integers(0, 19)) < self.steer)

    def value(self, e: Expr) -> Any:
        """The exact value of e at the point, or None where bpcli's maths is undefined."""
        if isinstance(e, Num):
            return MP.mpf(e.value)
        if isinstance(e, (Var, Name)):
            return self.values[e.name]
        folded = literal(e)
        if folded is not None:
            return MP.mpf(folded)
        if isinstance(e, Unary):
            inner = self.value(e.arg)
            return None if inner is None else (-inner if e.op == "neg" else inner)
        children = [e.a, e.b] if isinstance(e, Bin) else list(e.args)
        args = [self.value(c) for c in children]
        if any(a is None for a in args):
            return None
        try:
            v = exact_op(e.op if isinstance(e, Bin) else e.fn, args)
        except Undefined:
            return None
        return None if abs(v) > FMAX else v

    def leaf(self, scope: list[Expr]) -> Expr:
        if not scope or self.draw(st.integers(0, 3)) == 0:
            return Num(self.draw(st.sampled_from(CONSTANTS)))
        return self.draw(st.sampled_from(scope))

    def expr(self, depth: int, scope: list[Expr]) -> Expr:
        if depth <= 0 or self.draw(st.integers(0, 4)) == 0:
            return self.leaf(scope)
        kind = self.draw(st.sampled_from(["binary", "function", "unary", "power", "variadic"]))
        if kind == "binary" and self.binary:
            op = self.draw(st.sampled_from(self.binary))
            a, b = self.expr(depth - 1, scope), self.expr(depth - 1, scope)
            return self.fix_binary(Bin(op, a, b))
        if kind == "unary":
            op = self.draw(st.sampled_from(["neg", "neg", "pos"]))
            return Unary(op, self.expr(depth - 1, scope))
        if kind == "power" and "pow" in self.binary:
            base = self.expr(depth - 1, scope)
            exponent: Expr = Num(self.draw(st.sampled_from(INT_EXPONENTS + FRAC_EXPONENTS)))
            if self.draw(st.integers(0, 3)) == 0:
                exponent = Unary("neg", exponent)
            return self.fix_binary(Bin("pow", base, exponent))
        if kind == "variadic":
            fn = self.draw(st.sampled_from(VARIADIC))
            count = self.draw(st.integers(2, 4))
            return Call(fn, tuple(self.expr(depth - 1, scope) for _ in range(count)))
        fn = self.draw(st.sampled_from(self.functions))
        return self.fix_call(fn, self.expr(depth - 1, scope))

    def fix_call(self, fn: str, arg: Expr) -> Expr:
        v = self.value(arg)
        if v is None or not self.steered():
            return Call(fn, (arg,))
        if fn in ("log", "sqrt") and (v < 0 or (v == 0 and (fn == "log" or self.steered()))):
            arg = Unary("neg", arg) if v < 0 else Bin("add", arg, Num(1.0))
        elif fn == "exp" and abs(v) > 300:
            fn = self.draw(st.sampled_from(["tanh", "sin", "sigmoid"]))
        return Call(fn, (arg,))

    def fix_binary(self, e: Bin) -> Expr:
        a, b = self.value(e.a), self.value(e.b)
        if a is None or b is None or not self.steered():
            return e
        if e.op == "div" and abs(b) < 1e-9:
            return Bin("div", e.a, Bin("add", e.b, Num(2.0)))
        if e.op != "pow":
            return e
        base, exponent = e.a, e.b
        if a < 0 and (literal(exponent) is None or not MP.isint(b)):
            base = Unary("neg", base)  # a negative base: no real power, no d/dy
        elif a == 0 and (literal(exponent) is None or b < 1):
            base = Bin("add", base, Num(1.0))
        if a != 0 and abs(b * MP.log(abs(a))) > 200:
            exponent = Num(2.0)
        return Bin("pow", base, exponent)


@st.composite
def cases(
    draw: Any,
    *,
    functions: tuple[str, ...] = FUNCTIONS,
    binary: tuple[str, ...] = BINARY,
    max_statements: int = 3,
    depth: int = 3,
    kinky: bool = False,
    steer: int = 16,
    fancy: bool = True,
) -> Case:
    """A random program over the whole grammar, a point, and the program's text.

    Statements `name = expr` name intermediates that later statements reuse; the
    last statement (bare or assigned) is the output; now and then a statement is
    an alias (`b = a`) or is not used by the output (dead code).
    """
    names = draw(st.lists(st.sampled_from(VARIABLES), min_size=1, max_size=4, unique=True))
    point = {name: draw(point_values(kinky)) for name in names}
    builder = _Builder(draw, functions, binary, steer)
    for name in names:
        builder.values[name] = MP.mpf(point[name])
    scope: list[Expr] = [Var(name) for name in names]
    free = list(INTERMEDIATES)
    statements: list[Statement] = []
    for _ in range(draw(st.integers(0, max_statements))):
        name = draw(st.sampled_from(free))
        free.remove(name)
        if statements and draw(st.integers(0, 7)) == 0:
            expr: Expr = Name(draw(st.sampled_from([s.name for s in statements if s.name])))
        else:
            expr = builder.expr(depth, scope)
        statements.append(Statement(name, expr))
        builder.values[name] = builder.value(expr)
        scope = [*scope, Name(name), Name(name)]  # named intermediates: reused more often
    output = builder.expr(depth, scope)
    if draw(st.integers(0, 2)) == 0:
        statements.append(Statement(draw(st.sampled_from(free)), output))
    else:
        statements.append(Statement(None, output))
    used = {n.name for s in statements for n in walk(s.expr) if isinstance(n, Var)}
    point = {name: value for name, value in point.items() if name in used}
    text = Renderer(draw, fancy=fancy).program(tuple(statements))
    return Case(tuple(statements), point, text)
