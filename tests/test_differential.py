"""Differential tests: bpcli's values and gradients against independent oracles.

Random programs over the whole grammar (tests/strategies.py) are rendered to
bpcli text and, separately, to SymPy. Oracle 1 is SymPy: the output and its
symbolic derivatives, evaluated at the point (the doubles exactly, as 400-digit
Floats) to 30 digits. Oracle 2 is central differences of the exact output
(mpmath, 1200 bits or more), for the kink ops away from their kinks and where
SymPy treats an op differently (its symbolic derivative is not finite although
the graph's is: d/dy of 0 ** y). At an exact kink, where no derivative exists
(SymPy's Heaviside(0) is 1/2, bpcli's relu'(0) is 0), bpcli must follow its
documented convention, checked against the exact reference evaluation in
tests/strategies.py.

Agreement means |bpcli - oracle| <= max(1e-9 * |oracle|, 1000 * bound), where
`bound` is the first-order bound on the rounding error of a float evaluation
of the same graph (running error analysis, `strategies.Reference`). Where the
computation is well-conditioned the bound is below 1e-12 * |oracle| and this is
a plain relative 1e-9 check; where it cancels (a value near 0 that is the sum
of large terms, tanh'(x) = 1 - tanh(x)² for large x) the floor, 1000 times what
rounding can explain, takes over. Each example records which case it was
(`pytest --hypothesis-show-statistics`).

Domain: where bpcli's documented rules say the maths is undefined (README,
"Conventions") bpcli must raise DomainError; where SymPy's value is not real or
not finite, bpcli must raise DomainError too (unless rounding alone decides, see
`Reference`); anything else bpcli raises is a test failure.
"""

from __future__ import annotations

import contextlib
import json
import re
import signal
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("hypothesis", reason="the property tests need hypothesis")
pytest.importorskip("sympy", reason="the differential tests need sympy")

import sympy
from hypothesis import assume, event, given
from hypothesis import strategies as st

import bpcli
from strategies import (
    KINK_FUNCTIONS,
    MP,
    VARIADIC,
    Bin,
    Call,
    Case,
    Expr,
    Num,
    Reference,
    Renderer,
    Statement,
    Unary,
    Var,
    cases,
    finite_difference,
    program_to_sympy,
    walk,
)

REL = MP.mpf("1e-9")  # the agreement asked for, relative
MARGIN = 1000  # the absolute floor: this many times the float evaluation's error bound
SYMPY_SECONDS = 5  # per derivative; past it SymPy is "too slow" and oracle 2 decides


def run(text: str, point: dict[str, float], tie: str = "split") -> bpcli.Result | bpcli.DomainError:
    """bpcli's answer, or its DomainError; any other exception fails the test."""
    try:
        return bpcli.grad(text, point, conventions=bpcli.Conventions(max_tie=tie))
    except bpcli.DomainError as exc:
        assert exc.message, "a DomainError without a message"
        if exc.span is not None:
            start, end = exc.span
            assert 0 <= start <= end <= len(text), f"span {exc.span} outside the text"
        return exc


def sympy_number(expr: object, subs: dict[object, object]) -> tuple[str, object]:
    """("real", value as mpf), or ("complex" | "infinite" | "unknown" | "too slow", None).

    `subs` holds the inputs as 400-digit SymPy Floats, which are the doubles exactly:
    SymPy then computes in 400-digit arithmetic (enough for 1 + 1e-300), where an exact
    0 stays 0 (evalf with
    `subs=` returns rounding noise such as 1e-165 for (x + 1)**-2 - 1 at x = 0), and
    nothing is done in exact rationals (a rational to a rational power has SymPy
    factor huge integers, which takes minutes). evalf then gives 30 digits.
    """
    try:
        with time_limit(SYMPY_SECONDS):
            value = sympy.sympify(expr).xreplace(subs).evalf(30)
    except SympyTooSlow:
        return "too slow", None
    except (ValueError, TypeError, KeyError, ZeroDivisionError, ArithmeticError):
        return "unknown", None  # e.g. Max(1, zoo): "The argument 'zoo' is not comparable"
    if value.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        return "infinite", None
    if not value.is_number:
        return "unknown", None
    real, imag = value.as_real_imag()
    if not (real.is_number and imag.is_number):
        return "unknown", None
    try:
        if imag != 0 and abs(imag) > 1e-25 * max(1, abs(real)):
            return "complex", None
        return "real", MP.mpf(sympy.Float(real, 30)._mpf_)
    except (TypeError, ValueError):
        # SymPy left something it cannot decide, e.g. Heaviside(…) from the derivative
        # of Max at a point it cannot compare: no verdict from this oracle.
        return "unknown", None


class SympyTooSlow(Exception):
    pass


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt SymPy after `seconds` (a rare expression sends its simplifier into
    minutes of work). The alarm repeats until it is cancelled, so that it is not lost
    if it first fires where Python ignores exceptions (a garbage collector callback)."""
    if (
        not hasattr(signal, "setitimer")
        or threading.current_thread() is not threading.main_thread()
    ):
        yield
        return

    def interrupt(signum: int, frame: object) -> None:
        raise SympyTooSlow

    previous = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)
    try:
        yield
    finally:
        while True:  # an alarm may still arrive while the alarm is being switched off
            try:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)
                break
            except SympyTooSlow:
                continue


def check_class(want: object, bound: object) -> str:
    """How strict a check is: "exact" (bpcli must give exactly 0), "strict" (relative
    1e-9), "floor" (the rounding floor dominates, still finer than 1e-6 relative) or
    "weak" (ill-conditioned: a value near 0 from terms that cancel)."""
    if want == 0 and bound == 0:
        return "exact"
    if MARGIN * bound <= REL * abs(want):
        return "strict"
    if MARGIN * bound <= MP.mpf("1e-6") * abs(want):
        return "floor"
    return "weak"


def assert_close(what: str, got: float, want: object, bound: object, oracle: str) -> str:
    tolerance = max(REL * abs(want), MARGIN * bound)
    error = abs(MP.mpf(got) - want)
    assert error <= tolerance, (
        f"{what}: bpcli {got!r}, {oracle} {MP.nstr(want, 17)}, difference {MP.nstr(error, 3)}"
        f" > tolerance {MP.nstr(tolerance, 3)} (rounding bound {MP.nstr(bound, 3)})"
    )
    return check_class(want, bound)


def category(reason: str) -> str:
    """A rule's reason without where it happened, for the statistics."""
    return re.sub(r" (?:in|at) [a-z]+( \(dead code\))?(?:, .*)?$", r"\1", reason)


def worst(classes: list[str]) -> str:
    for name in ("weak", "floor", "strict", "exact"):
        if name in classes:
            return name
    return "none"


class Oracle:
    """SymPy's view of a case: the output, its derivatives, evaluated at the point."""

    def __init__(self, case: Case) -> None:
        self.expr = None
        self.failure = ""
        try:
            with time_limit(SYMPY_SECONDS):
                self.expr, self.symbols = program_to_sympy(case.statements)
        except SympyTooSlow:
            self.failure = "too slow"
            return
        except ValueError:
            self.failure = "unknown"  # e.g. Max of a complex number
            return
        self.subs = {self.symbols[n]: sympy.Float(v, 400) for n, v in case.point.items()}

    def value(self) -> tuple[str, object]:
        if self.expr is None:
            return self.failure, None
        return sympy_number(self.expr, self.subs)

    def gradient(self, name: str) -> tuple[str, object]:
        if self.expr is None:
            return self.failure, None
        try:
            with time_limit(SYMPY_SECONDS):
                derivative = sympy.diff(self.expr, self.symbols[name])
        except SympyTooSlow:
            return "too slow", None
        return sympy_number(derivative, self.subs)


def check_against_sympy(case: Case) -> None:
    ref = Reference(case.statements, case.point)
    got = run(case.text, case.point)
    oracle = Oracle(case)
    kind, want = oracle.value()
    event(f"outcome: {ref.outcome}")

    if kind in ("complex", "infinite") and ref.outcome != "ambiguous":
        # SymPy: the value is not a real number, so bpcli must not give one.
        assert isinstance(got, bpcli.DomainError), (
            f"SymPy's value is {kind}, bpcli returned {got.output!r}"
        )
        assert ref.outcome == "domain", f"SymPy's value is {kind} where the reference has one"
    if ref.outcome == "domain":
        assert isinstance(got, bpcli.DomainError), (
            f"bpcli returned {got.output!r} where its own rules say: {ref.reason}"
        )
        event(f"domain rule: {category(ref.reason)}")
        if kind == "real":
            event(f"DomainError, SymPy finite, documented: {category(ref.reason)}")
        return
    if ref.outcome == "ambiguous":
        event(f"rejected, rounding decides: {category(ref.reason)}")
        return
    if ref.unneeded:
        # A local derivative towards gates of constants only is undefined here, but no
        # input's gradient needs it: bpcli must answer (it once raised DomainError).
        event("a derivative no input needs is undefined: answered")
    assert not isinstance(got, bpcli.DomainError), (
        f"bpcli raised DomainError ({got}) where the maths is defined"
    )
    if kind == "real":
        # the two oracles must agree, or the test itself is wrong
        assert (
            abs(want - ref.value)
            <= MP.mpf("1e-20") * abs(ref.value) + MP.mpf("1e-6") * ref.value_err
        ), f"SymPy {want} and the reference {ref.value} disagree"
    else:
        event(f"SymPy's value is {kind}: the reference instead")
        want = ref.value
    event(f"value check: {assert_close('value', got.output, want, ref.value_err, 'SymPy')}")

    if ref.kink == "near":
        event("rejected gradients: an input near a kink (rounding decides the side)")
        return
    kinky = any(
        isinstance(node, Call) and node.fn in KINK_FUNCTIONS + VARIADIC
        for statement in case.statements
        for node in walk(statement.expr)
    )
    classes = []
    for name in case.point:
        got_grad, bound = got.gradients[name], ref.grad_err[name]
        if ref.kink == "exact":
            # No derivative exists at a kink: bpcli's convention, from the reference.
            grad = ref.grads[name]
            classes.append(assert_close(f"∂/∂{name} at a kink", got_grad, grad, bound, "convention"))  # fmt: skip
            continue
        gkind, gwant = oracle.gradient(name)
        numeric = finite_difference(ref, name)
        if gkind == "real":
            assert (
                abs(gwant - ref.grads[name])
                <= MP.mpf("1e-20") * abs(gwant) + MP.mpf("1e-6") * bound
            ), f"∂/∂{name}: SymPy {gwant} and the reference {ref.grads[name]} disagree"
            classes.append(assert_close(f"∂/∂{name}", got_grad, gwant, bound, "SymPy"))
        elif numeric is not None:
            # SymPy's symbolic derivative is not finite where the graph's is, e.g.
            # d/dy 0**y = 0**y*log(0): oracle 2 instead.
            event(f"SymPy's derivative is {gkind}: central differences instead")
        else:
            # Neither: e.g. d/dx (-x)**2.5 at x = 0 (SymPy: 0/0; the stencil leaves the
            # domain). The reference's exact backward pass is the only oracle left.
            event(f"SymPy's derivative is {gkind}, no central differences: the reference")
            classes.append(assert_close(f"∂/∂{name}", got_grad, ref.grads[name], bound, "reference"))  # fmt: skip
        if numeric is not None and (kinky or gkind != "real"):
            classes.append(assert_close(f"∂/∂{name}", got_grad, numeric, bound, "central differences"))  # fmt: skip
            event("oracle 2 (central differences) checked")
    if ref.kink == "exact":
        event("gradients at an exact kink: checked against the convention")
    event(f"gradient check: {worst(classes)}")


@given(cases())
def test_values_and_gradients_agree_with_sympy(case: Case) -> None:
    check_against_sympy(case)


@given(cases(kinky=True, steer=0))
def test_domain_rules_agree_with_sympy(case: Case) -> None:
    """The same, unsteered, at small whole inputs (0 and negative bases are common): log
    and sqrt of x <= 0, sqrt'(0), 0 ** negative, d/dx x ** y at x = 0 with y < 1, d/dy
    with a negative base, division by zero. bpcli raises DomainError exactly where its
    documented rules say, and answers correctly everywhere else."""
    check_against_sympy(case)


@given(
    cases(functions=KINK_FUNCTIONS, binary=("add", "sub", "mul"), kinky=True),
    st.sampled_from(["split", "first"]),
)
def test_kinks_follow_the_conventions(case: Case, tie: str) -> None:
    """relu, abs, max and min at and around their kinks, with small whole inputs that
    often sit exactly on a kink or a tie: at a kink the documented convention,
    elsewhere central differences of the exact output."""
    ref = Reference(case.statements, case.point, tie=tie)
    got = run(case.text, case.point, tie)
    assert ref.outcome == "ok", ref.reason
    assert not isinstance(got, bpcli.DomainError), str(got)
    assert_close("value", got.output, ref.value, ref.value_err, "reference")
    event(f"kink: {ref.kink}")
    if ref.kink == "near":
        return
    for name in case.point:
        want = ref.grads[name] if ref.kink == "exact" else finite_difference(ref, name)
        if want is None:
            # A kink that no gradient flows through can still make the output only once
            # differentiable there (-x*relu(x) at 0): central differences converge too
            # slowly to check 1e-9, and the reference's exact backward pass decides.
            event("central differences unusable: the reference")
            want = ref.grads[name]
        assert_close(f"∂/∂{name}", got.gradients[name], want, ref.grad_err[name], "oracle")


@given(st.data())
def test_spelling_does_not_change_the_numbers(data: st.DataObject) -> None:
    """Spacing, comments, line breaks in parentheses, redundant parentheses, `^` for `**`,
    pow(a, b) and other spellings of the same numbers give the same graph, so the very
    same floats as the plain text."""
    case = data.draw(cases())
    plain = Renderer(data.draw, fancy=False).program(case.statements)
    fancy, simple = run(case.text, case.point), run(plain, case.point)
    if isinstance(fancy, bpcli.DomainError) or isinstance(simple, bpcli.DomainError):
        assert type(fancy) is type(simple), f"{plain!r}: {simple}, fancy: {fancy}"
        return
    assert (fancy.output, fancy.gradients) == (simple.output, simple.gradients), plain


@pytest.mark.parametrize(
    ("text", "x", "output", "gradient"),
    [
        ("x * sqrt(1 - 1)", 2.0, 0.0, 0.0),  # sqrt'(0) is infinite, but no input needs it
        ("x * (1 - 1) ** 0.5", 2.0, 0.0, 0.0),
        ("x ** (1 + 1)", -2.0, 4.0, -4.0),  # d/dy needs log(x); y is made of constants
        ("x ** (3 - 1)", -3.0, 9.0, -6.0),
    ],
)
def test_no_domain_error_from_a_derivative_no_input_needs(
    text: str, x: float, output: float, gradient: float
) -> None:
    """Hand-worked: x*sqrt(0) = 0, d/dx = sqrt(0) = 0; x**2 at -2 is 4, d/dx = 2x = -4."""
    result = bpcli.grad(text, {"x": x})
    assert (result.output, result.gradients) == (output, {"x": gradient})


# ---- an infinite local gradient times an exact zero (issue 17) ----------------------------


@given(cases(), st.sampled_from(["sqrt", "pow 0.5", "pow 0.25"]), st.data())
def test_a_flat_term_with_an_infinite_derivative_changes_no_gradient(
    case: Case, singular: str, data: st.DataObject
) -> None:
    # P + sqrt(relu(-v² - 1)): the added term is 0 around every point (relu is 0 below 0),
    # so its gradients are P's, which the test above checks against SymPy; bpcli must give
    # exactly those (0 for the term: the relu gate stops sqrt'(0) = ∞), or the same
    # DomainError where P has one. And P + sqrt(v - v), whose infinity reaches v, is the error.
    assume(case.point)
    check_against_sympy(case)
    v = Var(next(iter(case.point)))

    def plus(inner: Expr) -> str:
        term = (
            Call("sqrt", (inner,))
            if singular == "sqrt"
            else Bin("pow", inner, Num(float(singular[4:])))
        )
        *rest, last = case.statements
        statements = (*rest, Statement(last.name, Bin("add", last.expr, term)))
        return Renderer(data.draw).program(statements)

    gate = Call("relu", (Bin("sub", Unary("neg", Bin("pow", v, Num(2.0))), Num(1.0)),))
    alone, added = run(case.text, case.point), run(plus(gate), case.point)
    if isinstance(alone, bpcli.DomainError):
        assert isinstance(added, bpcli.DomainError), f"{added.gradients} where P fails: {alone}"
        return
    assert not isinstance(added, bpcli.DomainError), f"{added} where P is {alone.gradients}"
    assert added.gradients == alone.gradients
    assert added.output == alone.output
    reached = run(plus(Bin("sub", v, v)), case.point)
    assert isinstance(reached, bpcli.DomainError)
    assert "infinite" in reached.message


# ---- the parser against Lark's own, on the same grammar ---------------------------------
#
# bpcli runs Lark's LALR tables with a driver and a lexer of its own (unit rules
# collapsed, one master expression, reordered where terminals cannot compete). Lark
# itself, on grammar/expr.lark with the same builder as its transformer, must give the
# same graph for every program, and fail where bpcli fails: on the same token, with the
# same expected terminals (or on the same character no terminal matches).

lark = pytest.importorskip("lark", reason="the test extra installs Lark")
from bpcli import parser as bpcli_parser  # noqa: E402
from bpcli.errors import BpcliError  # noqa: E402
from bpcli.graph import Graph  # noqa: E402


class _LarkToken:
    """A Lark token as the builder reads a token (the `re.Match` API it uses)."""

    def __init__(self, token: lark.Token) -> None:
        self.token = token

    def span(self) -> tuple[int, int]:
        return self.token.start_pos, self.token.end_pos

    def start(self) -> int:
        return self.token.start_pos

    def end(self) -> int:
        return self.token.end_pos

    def group(self) -> str:
        return str(self.token)

    def __getitem__(self, index: int) -> str:
        assert index == 0
        return str(self.token)


class _ViaLark:
    """Lark's transformer: each alias calls the builder's method of that name."""

    def __init__(self, builder: bpcli_parser._Builder) -> None:
        self.builder = builder

    def __getattr__(self, name: str) -> object:
        method = getattr(self.builder, name)  # AttributeError: Lark builds a tree there

        def callback(children: list[object]) -> object:
            wrapped = [_LarkToken(c) if isinstance(c, lark.Token) else c for c in children]
            return method(*wrapped)

        return callback


class _NewLinesInParentheses:
    """Lark's post-lexer for what the grammar cannot say: a new line inside
    parentheses continues the statement (grammar/expr.lark, at its top)."""

    always_accept = ()

    def process(self, stream: Iterator[lark.Token]) -> Iterator[lark.Token]:
        depth = 0
        for token in stream:
            depth += {"LPAR": 1, "RPAR": -1}.get(token.type, 0)
            if token.type == "_SEP" and depth > 0 and token != ";":
                continue
            yield token


# the source tree's grammar, not the installed package's neighbour: the tests also run
# inside the unpacked sdist against bpcli installed from it (.ci/run)
_GRAMMAR = (Path(__file__).resolve().parent.parent / "grammar" / "expr.lark").read_text(
    encoding="utf-8"
)


_FIELDS = "codes first second more starts ends consts fixed labels output variables source assigned"
_FIELDS = _FIELDS.split()


def _graph_fields(graph: Graph) -> dict[str, object]:
    return {name: getattr(graph, name) for name in _FIELDS}


def _outcome(parse: Callable[[str], Graph], text: str) -> tuple[str, object]:
    try:
        return "graph", _graph_fields(parse(text))
    except _Syntax as exc:
        return "syntax", exc.args
    except BpcliError as exc:
        return type(exc).__name__, (exc.message, exc.span)


class _Syntax(Exception):
    """A syntax error where it was found: (token kind, start, expected), or the offset
    of a character no terminal matches."""


def _by_bpcli(text: str) -> Graph:
    try:
        return bpcli_parser._run(text, bpcli_parser._Builder(text))
    except bpcli.ParseError as exc:
        if exc.message.startswith("unexpected character") and exc.span:
            raise _Syntax("character", exc.span[0]) from None
        raise


def _by_lark(text: str) -> Graph:
    builder = bpcli_parser._Builder(text)
    parser = lark.Lark(
        _GRAMMAR,
        parser="lalr",
        lexer="basic",
        maybe_placeholders=False,
        transformer=_ViaLark(builder),
        postlex=_NewLinesInParentheses(),
    )
    try:
        return parser.parse(text)
    except lark.exceptions.UnexpectedCharacters as exc:
        raise _Syntax("character", exc.pos_in_stream) from None
    except lark.exceptions.UnexpectedToken as exc:
        where = None if exc.token.type == "$END" else exc.token.start_pos
        raise _Syntax(exc.token.type, where, sorted(exc.expected)) from None


@pytest.fixture
def syntax_errors_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """bpcli's syntax errors as _Syntax, before they are put in words."""

    def caught(token: bpcli_parser.Token, expected: list[str], text: str) -> Exception:
        where = None if token.type == "$END" else token.start_pos
        return _Syntax(token.type, where, expected)

    monkeypatch.setattr(bpcli_parser, "_syntax_error", caught)


_MUTATIONS = [*"()+-*/^,=;\n 2.e#x", "**", "$", "é", "sin("]


@st.composite
def _mutated(draw: Any) -> str:
    """A random program, often with one edit that may break it: a character or an
    operator inserted, deleted or replaced at a random place."""
    text = draw(cases(max_statements=2, depth=2)).text
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(text)))
        cut = draw(st.integers(0, 1))
        text = text[:at] + draw(st.sampled_from(["", *_MUTATIONS])) + text[at + cut :]
    return text


@pytest.mark.usefixtures("syntax_errors_caught")
@given(_mutated())
def test_the_parser_gives_what_lark_gives(text: str) -> None:
    if not bpcli_parser._has_statement(text):
        return  # bpcli.parse says "the expression is empty" before parsing
    mine, larks = _outcome(_by_bpcli, text), _outcome(_by_lark, text)
    event(mine[0])
    assert mine == larks


@pytest.mark.usefixtures("syntax_errors_caught")
@pytest.mark.parametrize(
    "text",
    [
        "(x+y)*z",
        "q = x + y; f = q * z",
        "-x**-2^3 + +y",
        "max(x, y,\n z) # three",
        "(x\n+ y)",
        "x +\n y",
        "x y",
        "x + * y",
        "(x",
        "x)",
        "f(x",
        "x = = 1",
        "x $ y",
        "2e",
    ],
)
def test_the_parser_gives_what_lark_gives_by_hand(text: str) -> None:
    assert _outcome(_by_bpcli, text) == _outcome(_by_lark, text)


@given(
    st.lists(
        st.one_of(
            st.none(), st.floats(allow_nan=False, allow_infinity=False), st.floats(-1e-3, 1e-3)
        ),
        max_size=40,
    )
)
def test_a_large_answers_numbers_are_json_dumps_text(numbers: list[float | None]) -> None:
    """A large graph's answer writes its numbers with orjson, spelt again where orjson
    spells one otherwise (tests/test_streams.py sweeps every exponent): json.dumps' text."""
    from bpcli.result import _number_bytes

    assert _number_bytes(numbers) == [json.dumps(x).encode() for x in numbers]
