"""Fuzzing: hostile input through bpcli.parse, bpcli.grad, the CLI, `check` and `batch`.

The contract (README, "Errors and exit codes"): every error bpcli raises for bad
input is a `bpcli.BpcliError` with a message; an error about the text carries
the `span` it points at, inside the text. The CLI exits 0 or 2 (1 only where
answers are checked), writes its error to stderr, and never shows a traceback
(3 would be an internal error, a bug).

Errors that legitimately have no span, because they are not about a place in
the text: a ParseError for input that is not text at all, or for a program with
no statement ("the expression is empty"); a BindError about the values given
(missing, unknown, not a finite number); an InputError about lr or steps; the
DomainError of a gradient-descent update that overflows (it belongs to an input,
not to a node).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import random
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

pytest.importorskip("hypothesis", reason="the fuzz tests need hypothesis")

from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

import bpcli
from bpcli.cli import app
from bpcli.ops import FUNCTIONS  # every function of the table is a token
from strategies import cases

BPCLI = Path(sys.executable).with_name("bpcli")
NO_SPAN = ("the expression is empty",)  # the ParseErrors of text that have no place to point at

# ---- the API -------------------------------------------------------------------------------


def check_error(exc: BaseException, text: object, *, from_parse: bool) -> None:
    """A bpcli error as the README promises it: its own class, a message, a span in the text."""
    assert isinstance(exc, bpcli.BpcliError), f"{type(exc).__name__}: {exc}"
    assert isinstance(exc.message, str) and exc.message.strip(), "an error without a message"
    assert str(exc)  # "line L, column C: message" can be formed
    if exc.span is not None:
        assert isinstance(text, str)
        start, end = exc.span
        assert 0 <= start <= end <= len(text), f"span {exc.span} outside a text of {len(text)}"
        assert exc.line is not None and exc.line >= 1 and exc.column is not None
    if from_parse and isinstance(text, str) and exc.message not in NO_SPAN:
        # everything parse() refuses in a text is somewhere in that text
        assert exc.span is not None, f"{type(exc).__name__} without a span: {exc.message}"
    if isinstance(exc, bpcli.DomainError) and not exc.message.startswith("at step"):
        assert exc.span is not None, f"DomainError without a span: {exc.message}"


def check_result(result: bpcli.Result) -> None:
    assert math.isfinite(result.output)
    assert all(math.isfinite(g) for g in result.gradients.values())
    json.dumps(result.to_dict(), allow_nan=False)  # strict JSON, as --json writes it


def exercise(
    text: object, values: dict[str, object], lr: object = None, steps: object = None
) -> None:
    """parse and grad: a graph or a BpcliError, then a finite Result or a BpcliError."""
    try:
        graph = bpcli.parse(text)  # type: ignore[arg-type]
    except Exception as exc:
        check_error(exc, text, from_parse=True)
        return
    assert isinstance(graph, bpcli.Graph)
    try:
        result = bpcli.grad(text, values, lr=lr, steps=steps)  # type: ignore[arg-type]
    except Exception as exc:
        check_error(exc, text, from_parse=False)
        return
    check_result(result)


# Characters that matter to the lexer, and characters that should not: control
# characters, Unicode line and space separators, a byte order mark, digits and
# letters of other scripts, lone surrogates (what surrogateescape makes of bad bytes).
SPECIAL = [
    *"+-*/^()=,;#.eE_0123456789 \t\n\r\f\v", "**", "\x00", "\x1b", "\x7f", "\x85", "\u00a0", "\u2028", "\u2029", "\ufeff", "\u200b",
    "٣", "²", "𝟙", "ﬁ", "α", "\udcff", "\ud800", "1e308", "1e-400", "9" * 400, "exp(", "max(",
    "pow(", "relu", "q =", "f", "x", "y",
]  # fmt: skip
TOKENS = [
    "x", "y", "z", "q", "α", "=", "+", "-", "*", "/", "**", "^", "(", ")", ",", ";", "\n", "# c\n",
    " ", "1", "2.5", ".5", "3.", "1e308", "1e-400", "0", *FUNCTIONS,
    "f", "e", "E", "_", "\x00", "\t", "\r", "\u2028", "\ufeff", "٣", "²", "()", "==", "9" * 400,
]  # fmt: skip


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid program with characters inserted, deleted, swapped, duplicated or cut."""
    text = draw(cases(max_statements=2, depth=2)).text
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["insert", "delete", "swap", "duplicate", "truncate"]))
        i = draw(st.integers(0, len(text)))
        if kind == "insert":
            extra = draw(st.one_of(st.sampled_from(SPECIAL), st.characters(exclude_categories=())))
            text = text[:i] + extra + text[i:]
        elif kind == "delete":
            text = text[:i] + text[i + 1 :]
        elif kind == "swap" and i + 1 < len(text):
            text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
        elif kind == "duplicate":
            j = draw(st.integers(i, min(len(text), i + 12)))
            text = text[:j] + text[i:j] + text[j:]
        elif kind == "truncate":
            text = text[:i]
    return text


def decoded_bytes() -> st.SearchStrategy[str]:
    """Random bytes read as text the ways a program might: replacing, escaping or as Latin-1."""
    return st.tuples(st.binary(max_size=80), st.sampled_from(["replace", "surrogateescape", "latin-1"])).map(
        lambda pair: pair[0].decode("latin-1" if pair[1] == "latin-1" else "utf-8", errors=pair[1] if pair[1] != "latin-1" else "strict")
    )  # fmt: skip


hostile_text = st.one_of(
    mutated(),
    st.lists(st.sampled_from(TOKENS), max_size=30).map("".join),
    st.text(alphabet=st.characters(exclude_categories=()), max_size=60),
    st.lists(st.sampled_from(SPECIAL), max_size=40).map("".join),
    decoded_bytes(),
)
hostile_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**400), 10**400),
    st.sampled_from([0.0, -0.0, 5e-324, 1e308, -1e308, 1e-300, 2.0, True, None, "1", 1j]),
)


@given(hostile_text, st.data())
def test_hostile_text_raises_only_bpcli_errors(text: str, data: st.DataObject) -> None:
    """Mutated programs, token soup, random Unicode (lone surrogates too), random bytes:
    parse and grad give a graph and finite numbers, or a BpcliError that points into the text."""
    try:
        names = list(bpcli.parse(text).variables)
    except bpcli.BpcliError:
        names = []
    finite = st.floats(-1e3, 1e3, allow_nan=False)
    values = {name: data.draw(st.one_of(finite, hostile_values)) for name in names}
    lr = data.draw(st.one_of(st.none(), st.floats(-1, 1), hostile_values))
    steps = data.draw(
        st.one_of(st.none(), st.integers(-1, 4), st.sampled_from([0, 1.5, True, 10**6]))
    )
    exercise(text, values, lr, steps)


@given(st.one_of(st.none(), st.integers(), st.binary(max_size=8), st.lists(st.text(max_size=3))))
def test_what_is_not_text_is_a_parse_error(thing: object) -> None:
    with pytest.raises(bpcli.ParseError) as raised:
        bpcli.parse(thing)  # type: ignore[arg-type]
    check_error(raised.value, thing, from_parse=True)


HUGE = [
    ("1e308*10", {}),
    ("2^2^2^2^2^2", {}),
    ("2**2**2**2**2**2", {}),
    ("exp(exp(exp(10)))", {}),
    ("1e400", {}),
    ("-1e400 + x", {"x": 1.0}),
    ("9" * 400 + " * x", {"x": 1.0}),
    ("x^1e10", {"x": 2.0}),
    ("x * 1e308 * 10", {"x": 1.0}),
    ("exp(x)", {"x": 1e308}),
    ("x * x", {"x": 1e200}),
    ("sqrt(x) * 1e300", {"x": 1e-300}),  # the value is 1e150, the gradient 5e449
    ("1 / x", {"x": 5e-324}),
    ("log(x)", {"x": 5e-324}),  # log' = 1/x overflows
    ("sqrt(x)", {"x": 0.0}),
    ("x ** y", {"x": 0.0, "y": -1.0}),
    ("(-8) ** (1/3)", {}),
    ("x / (y - y)", {"x": 1.0, "y": 3.0}),
    ("log(exp(x))", {"x": -800.0}),  # exp underflows to 0
    ("pow(x, 0.5)", {"x": 0.0}),
]


@pytest.mark.parametrize(("text", "values"), HUGE)
def test_overflow_and_undefined_maths_are_domain_errors(
    text: str, values: dict[str, float]
) -> None:
    """Huge numbers and undefined maths: a DomainError pointing at the node, never inf or a hang."""
    with pytest.raises(bpcli.DomainError) as raised:
        bpcli.grad(text, values)
    check_error(raised.value, text, from_parse=False)


@pytest.mark.parametrize(
    ("text", "values", "output"),
    [
        ("1e-400 * x", {"x": 1.0}, 0.0),  # a literal below the float range is 0
        ("0." + "0" * 400 + "1 + x", {"x": 1.0}, 1.0),
        ("x * 1e-300 * 1e-300", {"x": 1.0}, 0.0),
        ("sigmoid(x)", {"x": -1e308}, 0.0),
        ("tanh(x)", {"x": 1e308}, 1.0),
    ],
)
def test_tiny_numbers_underflow_quietly(text: str, values: dict[str, float], output: float) -> None:
    assert bpcli.grad(text, values).output == output


def test_deep_and_long_inputs(shallow_stack: int) -> None:
    """Deep nesting, long chains, long names, many statements: an answer or a ParseError
    with a span, never RecursionError or a hang (under a recursion limit a few hundred
    frames above the test's, so that 10,000 levels are as good as any number)."""
    n = 10_000
    assert bpcli.grad("(" * n + "x" + ")" * n, {"x": 2.0}).gradients == {"x": 1.0}
    assert bpcli.grad("-" * n + "x", {"x": 2.0}).output == 2.0
    assert bpcli.grad("x" + " + x" * n, {"x": 1.0}).gradients == {"x": n + 1.0}
    assert bpcli.grad("x" + "^x" * n, {"x": 1.0}).output == 1.0
    # (max and min take time quadratic in their number of arguments: bug B3, so 1,000)
    tied = bpcli.grad("max(" + ", ".join(["x"] * 1000) + ")", {"x": 1.0}).gradients["x"]
    assert tied == pytest.approx(1.0, rel=1e-12)  # 1000 shares of 1/1000
    name = "x" * n
    assert bpcli.grad(f"{name} * 3", {name: 2.0}).gradients == {name: 3.0}
    program = "a0 = x\n" + "".join(f"a{i} = a{i - 1} + 1\n" for i in range(1, n // 10))
    assert bpcli.grad(program, {"x": 0.0}).output == n // 10 - 1
    for bad in (
        "(" * n,
        "x" + ")" * n,
        "(" * n + "x" + ")" * (n - 1),
        "f" * n + "(x)",
        "x" * n + " +",
    ):
        with pytest.raises(bpcli.ParseError) as raised:
            bpcli.parse(bad)
        check_error(raised.value, bad, from_parse=True)
    missing = "y" * n
    with pytest.raises(bpcli.BindError) as bound:
        bpcli.grad(f"{missing} + 1", {})
    check_error(bound.value, f"{missing} + 1", from_parse=False)


def test_deep_nesting_of_calls() -> None:
    n = 10_000
    assert math.isfinite(bpcli.grad("sin(" * n + "x" + ")" * n, {"x": 2.0}).gradients["x"])


@pytest.mark.parametrize(
    "values",
    [
        None,  # not a mapping
        "x",  # a string is iterable, but not of (name, value) pairs
        [("x", 1.0, 2.0)],  # a triple
        {1: 2.0},  # a name that is not text
    ],
)
def test_values_of_the_wrong_shape_are_a_bind_error(values: object) -> None:
    """Found by this fuzzing (were TypeError/ValueError), fixed in dbde944."""
    with pytest.raises(bpcli.BindError) as raised:
        bpcli.grad("x", values)  # type: ignore[arg-type]
    check_error(raised.value, "x", from_parse=False)


@pytest.mark.parametrize(
    "values",
    [{"x": "1"}, {"x": None}, {"x": True}, {"x": math.nan}, {"x": math.inf}, {"x": 10**400},
     {"x": 1j}, {"y": 1.0}, {}, [("x", 1.0), ("x", 2.0)]],
)  # fmt: skip
def test_bad_values_are_bind_errors(values: object) -> None:
    with pytest.raises(bpcli.BindError) as raised:
        bpcli.grad("x", values)  # type: ignore[arg-type]
    check_error(raised.value, "x", from_parse=False)


# ---- the command line, in a subprocess ------------------------------------------------------


def cli(
    args: list[str | bytes], stdin: bytes = b"", env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    done = subprocess.run(
        [str(BPCLI), *args],
        input=stdin,
        capture_output=True,
        timeout=120,
        env={**os.environ, "NO_COLOR": "1", **(env or {})},
    )
    return (
        done.returncode,
        done.stdout.decode("utf-8", "replace"),
        done.stderr.decode("utf-8", "replace"),
    )


def mutate(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(text) + 1)
        kind = rng.choice(["insert", "delete", "swap"])
        if kind == "insert":
            text = text[:i] + rng.choice(SPECIAL[:60]) + text[i:]
        elif kind == "delete":
            text = text[:i] + text[i + 1 :]
        elif i + 1 < len(text):
            text = text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    return text


def cli_sample(tmp: Path) -> list[tuple[list[str | bytes], bytes, dict[str, str] | None]]:
    """About 30 hostile command lines: curated ones, then mutations of the README's programs."""
    binary = tmp / "binary.txt"
    binary.write_bytes(bytes(range(256)) * 4)
    deep = "(" * 100_000 + "x" + ")" * 100_000
    sample: list[tuple[list[str | bytes], bytes, dict[str, str] | None]] = [
        (["grad", "(x+y)*z", "--x", "-2", "--y", "5", "--z", "-4"], b"", None),
        (["grad", "2x + 1", "--x", "3"], b"", None),
        (["grad", "x\x1b[31m+1", "--x", "1"], b"", None),
        (["grad", b"x\xff+1", "--x", "1"], b"", None),
        (["grad", "-", "--x", "1"], b"x\x00+1", None),
        (
            ["grad", "-", "--x", "1"],
            bytes(random.Random(1).randrange(256) for _ in range(200)),
            None,
        ),
        (["grad", "-", "--x", "1"], b"x\xff+1", {"LC_ALL": "C"}),
        (["grad", "-", "--x", "2", "--json"], deep.encode(), None),
        (["grad", "-", "v" * 100_000 + "=2"], b"v" * 100_000 + b" + 1", None),
        (["grad", "1e308*10"], b"", None),
        (["grad", "2^2^2^2^2^2", "--json"], b"", None),
        (["grad", "exp(exp(exp(10)))"], b"", None),
        (["grad", "x", "--x", "1e400"], b"", None),
        (["grad", "x", "--x", "nan"], b"", None),
        (["grad", "--file", str(binary)], b"", None),
        (["grad", "--file", str(tmp)], b"", None),
        (["grad", "--file", str(tmp / "missing")], b"", None),
        (["grad", "x*x", "--x", "1", "--lr", "1e308"], b"", None),
        (["grad", "x*x", "--x", "1", "--lr", "0.1", "--steps", "0"], b"", None),
        (["graph", "(" * 1000 + "x" + ")" * 1000, "--format", "tree"], b"", None),
        (["check", str(binary)], b"", None),
        (["batch", "-"], b"\xff\xfe\n{\n[1]\n" + b'{"expr": "x", "values": {"x": 1e999}}\n', None),
        *problem_set_sample(tmp),
    ]
    curated = len(sample)
    rng = random.Random(6)
    seeds = [
        "q = x + y; f = q * z",
        "(x+y)*z",
        "x*x + x",
        "max(x, y) * relu(z - 1)",
        "log(x)^2 / 3",
    ]
    while len(sample) < curated + 8:
        text = mutate(rng, rng.choice(seeds))
        if "\x00" in text or any("\ud800" <= c <= "\udfff" for c in text):
            sample.append((["grad", "-", "x=1", "y=2", "z=3"], text.encode("utf-8", "surrogateescape"), None))  # fmt: skip
        else:
            sample.append((["grad", text, "x=1", "y=2", "z=3"], b"", None))
    return sample


BIG = "1" + "0" * 400  # a whole number that TOML and JSON read and no float holds
HOSTILE_SETS = {  # each was exit 3 (issue 17)
    "big-value.toml": f"[[problem]]\nexpr = 'x'\nvalues = {{ x = {BIG} }}\n",
    "big-answer.toml": f"[[problem]]\nexpr = 'x'\nvalues = {{ x = 1 }}\nlr = 0.1\n"
    f"[problem.answer]\noutput = 1\nupdate = {{ x = -{BIG} }}\n",
    "big-tolerance.toml": f"[defaults]\nabs_tol = {BIG}\n[[problem]]\nexpr = 'x'\n",
    "big-points.toml": f"[[problem]]\nexpr = 'x'\npoints = {BIG}\nvalues = {{ x = 1 }}\n",
    "big-lr.json": f'{{"problem": [{{"expr": "x*x", "values": {{"x": 1}}, "lr": {BIG}}}]}}',
    "huge-points.toml": "[[problem]]\nexpr = 'x'\npoints = 1e308\nvalues = { x = 1 }\n"
    "[problem.answer]\noutput = 1\n" * 2,
    "huge-tolerance.toml": "[[problem]]\nexpr = 'x'\nrel_tol = 1e300\nvalues = { x = 1 }\n",
    "surrogate-id.json": '{"problem": [{"id": "\\ud800", "expr": "x", "values": {"x": 1}}]}',
    "surrogate-name.json": '{"problem": [{"expr": "\\udcff", "values": {"\\udcff": 1}}]}',
    "surrogate-key.json": '{"defaults": {"\\ud800": 1}, "problem": [{"expr": "x"}]}',
    "bad-tie.toml": "[[problem]]\nexpr = 'max(x, y)'\nvalues = { x = 1, y = 1 }\nmax_tie = 'last'\n",
}


def problem_set_sample(tmp: Path) -> list[tuple[list[str | bytes], bytes, dict[str, str] | None]]:
    """`check` and `key` on hostile problem sets, and on outputs that name their input."""
    sample: list[tuple[list[str | bytes], bytes, dict[str, str] | None]] = []
    paths = []
    for name, text in HOSTILE_SETS.items():
        path = tmp / name
        path.write_text(text, encoding="utf-8")
        paths.append(str(path))
        sample.append(
            (["key", str(path), *(["--solutions"] if "surrogate" in name else [])], b"", None)
        )
    results = str(tmp / "results.json")
    sample.append((["check", *paths, "--json", "--gradescope", results], b"", None))
    sample.append((["check", *paths], b"", None))
    sample.append((["check", paths[0], "--gradescope", paths[0]], b"", None))
    sample.append((["key", paths[0], "--output", paths[0]], b"", None))
    sample.append((["key", paths[0], "--output", str(tmp / "key.yaml")], b"", None))
    sample.append((["check", paths[0], "--max-tie", "last"], b"", None))
    return sample


@pytest.mark.integration
def test_the_cli_exits_0_or_2_without_a_traceback() -> None:
    """A sample of hostile command lines, each in its own process, run in parallel."""
    with tempfile.TemporaryDirectory() as tmp:
        sample = cli_sample(Path(tmp))
        with ThreadPoolExecutor(max_workers=4) as pool:
            runs = list(pool.map(lambda case: cli(*case), sample))
    for (args, stdin, _env), (code, stdout, stderr) in zip(sample, runs, strict=True):
        shown = f"bpcli {args!r} <<< {stdin[:60]!r}"
        assert "Traceback" not in stderr + stdout, shown
        assert code in (0, 2) or (args[0] == "batch" and code == 1), (
            f"{shown}: exit {code}\n{stderr}"
        )
        if code == 2:
            assert stderr.strip(), f"{shown}: exit 2 and nothing on stderr"
        if code == 0 and "--json" in args:
            json.loads(stdout)


@pytest.mark.integration
def test_control_characters_are_not_echoed_raw() -> None:
    """The source line echoed under an error must not drive the terminal (an ESC in a
    comment or a pasted expression). Found by this fuzzing, fixed in dbde944."""
    code, _, stderr = cli(["grad", "x\x1b[2J+1", "--x", "1"])
    assert code == 2
    assert "\x1b" not in stderr


# ---- check: bad problem files -----------------------------------------------------------------

runner = CliRunner()

KEYS = ["id", "points", "expr", "values", "lr", "rel_tol", "abs_tol", "max_tie", "answer", "output",
        "grad", "nodes", "node_grads", "update", "new_output", "defaults", "problem", "x", "bogus"]  # fmt: skip
TOML_VALUES = [
    '"(x+y)*z"', '"x*"', '"[red]x[/red]"', '"[/]"', '"log(x)"', "1", "-1", "0", "1e400", "nan",
    "inf", "-inf", "0x10", "1_000", "true", "1979-05-27T07:32:00Z", "07:32:00", "[1, 2]",
    '["x"]', "{ x = 1 }", '{ x = "a" }', "{ x = -2, y = 5, z = -4 }", "{}", "[]", "{ x = nan }",
    '{ x = { y = 1 } }', '"\\u0000"', '"\\ud800"', "'''multi\nline'''", '"' + "9" * 300 + '"',
    BIG, "-" + BIG, "1e308", "1e300", "2", "0.5", '"split"', '"first"', f"{{ x = {BIG} }}",
]  # fmt: skip
LEAVES = st.sampled_from(["x*y", "(x", "q = x; q * 2"])
# what was exit 3 in a problem set (issue 17): whole numbers too large for a float, lone
# surrogates (JSON's \\ud800), points and tolerances too large to add or to mean anything
HOSTILE_LEAVES = st.sampled_from(
    ["\ud800", "x\udcff", 1e308, 10**400, -(10**400), 1e300, 2.0, -1.0, "split", "first", "last"]
)
JSON_LEAVES = st.one_of(
    st.none(), st.booleans(), st.floats(), st.text(max_size=8), LEAVES, st.integers(-(10**400), 10**400),
)  # fmt: skip
SET_LEAVES = st.one_of(HOSTILE_LEAVES, HOSTILE_LEAVES, st.floats(-10, 10), JSON_LEAVES)
NAMES = st.sampled_from(["x", "y", "\ud800"])
SET_FIELDS = {
    "id": st.one_of(st.text(max_size=4), SET_LEAVES),
    "points": SET_LEAVES, "expr": st.one_of(LEAVES, SET_LEAVES), "lr": SET_LEAVES,
    "values": st.dictionaries(NAMES, SET_LEAVES, max_size=3),
    "rel_tol": SET_LEAVES, "abs_tol": SET_LEAVES, "max_tie": SET_LEAVES,
    "answer": st.dictionaries(st.sampled_from(["output", "grad", "update", "\ud800"]),
                              st.one_of(SET_LEAVES, st.dictionaries(NAMES, SET_LEAVES, max_size=2)), max_size=3),
}  # fmt: skip


@st.composite
def problem_sets(draw: st.DrawFn) -> dict[str, object]:
    """A problem set of the right shape, its fields drawn from hostile values."""

    def fields(keys: list[str]) -> dict[str, object]:
        return {key: draw(SET_FIELDS[key]) for key in keys}

    problems = [
        {"expr": draw(LEAVES), "values": {"x": 1, "y": 2},
         **fields(draw(st.lists(st.sampled_from(list(SET_FIELDS)), min_size=1, max_size=4)))}
        for _ in range(draw(st.integers(1, 3)))
    ]  # fmt: skip
    defaults = fields(
        draw(st.lists(st.sampled_from(["rel_tol", "abs_tol", "max_tie"]), max_size=2))
    )
    return {"defaults": defaults, "problem": problems} if defaults else {"problem": problems}


def toml_text(data: dict[str, object]) -> str:
    """A drawn problem set as TOML (None leaves out its key; a lone surrogate is written as
    the escape TOML refuses)."""

    def value(leaf: object) -> str:
        if isinstance(leaf, bool):
            return "true" if leaf else "false"
        if isinstance(leaf, str):
            return json.dumps(leaf)
        if isinstance(leaf, dict):
            inner = ", ".join(
                f"{json.dumps(k)} = {value(v)}" for k, v in leaf.items() if v is not None
            )
            return "{ " + inner + " }"
        if isinstance(leaf, float) and not math.isfinite(leaf):
            return "nan" if math.isnan(leaf) else ("inf" if leaf > 0 else "-inf")
        return repr(leaf)

    def table(items: object) -> list[str]:
        assert isinstance(items, dict)
        return [f"{json.dumps(k)} = {value(v)}" for k, v in items.items() if v is not None]

    lines = ["[defaults]", *table(data["defaults"])] if "defaults" in data else []
    for problem in data["problem"]:  # type: ignore[attr-defined]
        lines += ["[[problem]]", *table(problem)]
    return "\n".join(lines) + "\n"


HEADERS = [
    "[[problem]]",
    "[problem.answer]",
    "[defaults]",
    "[problem]",
    "[[problem.answer]]",
    "[x]",
]


@st.composite
def problem_files(draw: st.DrawFn) -> tuple[str, bytes]:
    """TOML-ish text (tables, keys of the right and wrong names, values of every type),
    JSON of the wrong shape, or binary garbage."""
    kind = draw(st.sampled_from(["toml", "toml", "json", "binary"]))
    if kind == "binary":
        return ".toml", draw(st.binary(max_size=200))
    if kind == "json":
        value = draw(
            st.recursive(
                JSON_LEAVES,
                lambda inner: st.one_of(
                    st.lists(inner, max_size=3),
                    st.dictionaries(st.sampled_from(KEYS), inner, max_size=4),
                ),
                max_leaves=12,
            )
        )
        return ".json", json.dumps(value).encode()
    lines = []
    for _ in range(draw(st.integers(1, 14))):
        if draw(st.integers(0, 3)) == 0:
            lines.append(draw(st.sampled_from(HEADERS)))
        else:
            key = draw(st.sampled_from(KEYS))
            lines.append(f"{key} = {draw(st.sampled_from(TOML_VALUES))}")
    text = "\n".join(lines)
    if draw(st.booleans()):
        i = draw(st.integers(0, len(text)))
        text = text[:i] + draw(st.sampled_from(SPECIAL)) + text[i:]
    if draw(st.integers(0, 9)) == 0:  # deep nesting (was a RecursionError, exit 3)
        depth = draw(st.sampled_from([10, 999, 1000, 5000]))
        text += f"\nnested = {'[' * depth}{']' * depth}"
    return ".toml", text.encode("utf-8", "surrogatepass")  # a lone surrogate: invalid UTF-8


PROBLEM_COMMANDS = st.sampled_from([
    ["check"], ["check", "--json"], ["check", "--max-tie", "first"], ["check", "--gradescope", "out.json"],
    ["key"], ["key", "--max-tie", "split"], ["key", "--output", "out.toml"], ["key", "--output", "out.json"],
    ["key", "--solutions"], ["key", "--solutions", "--format", "latex"],
])  # fmt: skip


def run_on_problem_set(suffix: str, data: bytes, command: list[str]) -> None:
    """`bpcli COMMAND FILE OPTIONS…` on a problem set holding `data`: exit 0, 1 or 2, a
    message with 2, JSON with --json, never an internal error or a traceback."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"problems{suffix}"
        path.write_bytes(data)
        name, *options = command
        options = [str(Path(tmp) / o) if o.startswith("out.") else o for o in options]
        result = runner.invoke(app, [name, str(path), *options], prog_name="bpcli")
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)
    assert result.exit_code in (0, 1, 2), f"exit {result.exit_code}: {result.stderr}"
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    if result.exit_code == 2:
        assert result.stderr.strip()
    if "--json" in command and result.stdout:
        json.loads(result.stdout)


@given(problem_files(), PROBLEM_COMMANDS)
def test_check_bad_files_exit_2_without_a_traceback(
    file: tuple[str, bytes], command: list[str]
) -> None:
    """`check` and `key`, with their options, on hostile files (TOML-ish, JSON, binary)."""
    run_on_problem_set(*file, command)


@given(problem_sets(), st.sampled_from(["json", "toml"]), PROBLEM_COMMANDS)
def test_hostile_problem_sets_exit_2_without_a_traceback(
    problems: dict[str, object], kind: str, command: list[str]
) -> None:
    """Problem sets of the right shape with hostile fields, as JSON and as TOML."""
    text = json.dumps(problems) if kind == "json" else toml_text(problems)
    run_on_problem_set(f".{kind}", text.encode(), command)


@pytest.mark.parametrize(
    ("suffix", "text"),
    [(".toml", "a = " + "[" * 5000 + "]" * 5000), (".json", "[" * 100_000 + "]" * 100_000)],
)
def test_check_deeply_nested_files(suffix: str, text: str) -> None:
    """Was a RecursionError and exit 3 (found by this fuzzing, fixed in dbde944)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"deep{suffix}"
        path.write_text(text)
        result = runner.invoke(app, ["check", str(path)], prog_name="bpcli")
    assert result.exit_code == 2, result.stderr


# ---- batch: bad lines ----------------------------------------------------------------------

GARBAGE_LINES = [
    b"{", b"[1]", b"1", b'"x"', b"null", b"{}", b'{"expr": 1}', b'{"expr": "x", "values": [1]}',
    b'{"expr": "x", "values": {"x": "1"}}', b'{"expr": "x", "values": {"x": 1e999}}',
    b'{"expr": "x", "values": {"x": NaN}}', b'{"expr": "x", "values": {"x": Infinity}}',
    b'{"id": 1e400, "expr": "x"}', b'{"id": ' + b"[" * 200 + b"]" * 200 + b', "expr": "x"}',
    b"[" * 100_000 + b"]" * 100_000, b'{"expr": "\\ud800", "values": {}}', b"\xef\xbb\xbf{}",
    b'{"expr": "x*x", "values": {"x": 1}, "lr": 1e308}', b'{"expr": "x", "values": {"x": 1}, "steps": 1e9, "lr": 0.1}',
    b'{"expr": "x", "values": {"x": 1}, "steps": -1, "lr": 0.1}', b'{"expr": "x", "values": {"x": 1}, "steps": 2.5, "lr": 0.1}',
    b'{"expr": "x", "max_tie": "x"}', b'{"expr": "x", "bogus": 1}', b'{"expr": "x", "values": {"x": ' + b"1" * 5000 + b"}}",
    b'{"expr": "2x"}', b'{"expr": "log(x)", "values": {"x": 0}}', b"\xff\xfe", b"\x00", b"   \t", b"",
    b'{"id": "\\ud800", "expr": "x", "values": {"x": 1}}', b'{"id": ' + BIG.encode() + b', "expr": "x"}',
    b'{"expr": "x*x", "values": {"x": 1}, "lr": ' + BIG.encode() + b"}", b'{"expr": "x", "values": {"\\udcff": 1}}',
]  # fmt: skip


@st.composite
def batch_input(draw: st.DrawFn) -> list[bytes]:
    lines = []
    for number in range(draw(st.integers(1, 8))):
        choice = draw(st.integers(0, 3))
        if choice == 0:
            lines.append(json.dumps({"id": number, "expr": "x*y + 1", "values": {"x": 2, "y": 3}}).encode())  # fmt: skip
        elif choice == 1:
            lines.append(draw(st.sampled_from(GARBAGE_LINES)))
        elif choice == 2:
            lines.append(draw(st.binary(max_size=40)).replace(b"\n", b" "))
        else:
            line = json.dumps({"id": number, "expr": draw(mutated()), "values": {"x": 1}})
            lines.append(line.encode("utf-8", "surrogatepass"))
    return lines


def answered(line: bytes, first: bool) -> bool:
    """Whether bpcli batch answers a line: every line but a blank one (README)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return bool((text.removeprefix("\ufeff") if first else text).strip())


@given(batch_input())
def test_batch_answers_every_line_in_order(lines: list[bytes]) -> None:
    """Good requests among bad lines: one JSON answer per non-blank line, in order; the
    good ones answered, each bad one with an error of its own; exit 0 or 1."""
    data = b"\n".join(lines) + b"\n"
    result = runner.invoke(app, ["batch", "-"], input=data, prog_name="bpcli")
    assert result.exit_code in (0, 1), f"exit {result.exit_code}: {result.stderr}"
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr
    physical = list(io.BytesIO(data))
    expected = [(n, line) for n, line in enumerate(physical, start=1) if answered(line, n == 1)]
    replies = [json.loads(reply) for reply in result.stdout.splitlines()]
    assert len(replies) == len(expected)
    for (number, line), reply in zip(expected, replies, strict=True):
        assert set(reply) >= {"id", "ok"}
        request = None
        with contextlib.suppress(ValueError, RecursionError):
            request = json.loads(line)
        if isinstance(request, dict) and request.get("expr") == "x*y + 1":
            assert reply == {"id": request["id"], "ok": True, "result": reply["result"]}
            assert reply["result"]["gradients"] == {"x": 3, "y": 2}
        if reply["ok"] is False:
            error = reply["error"]
            assert error["type"] and error["message"].strip() and error["line"] == number
