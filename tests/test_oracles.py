"""Every op of the table is in every hand-kept list of ops, or a test here fails.

The oracles of the property and differential tests (tests/strategies.py) are
written from the maths, never from bpcli's rules; what they share with bpcli is
the list of names. A new op left out of them would be silently left out of the
SymPy differential tests: these tests make it fail instead. The README's list of
functions is checked against the table too.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import mpmath
import pytest
import sympy

from bpcli import ops
from strategies import (
    BINARY,
    FLOATS,
    FUNCTION_ORACLES,
    FUNCTIONS,
    KINK_FUNCTIONS,
    LEAVES,
    MP,
    ROUNDING,
    UNARY_OPS,
    VARIADIC,
)

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
# The ops with a scalar rule (an op for tensors only has its tests in test_tensor.py).
COMPUTED = {op.name for op in ops.OPS.values() if op.rule is not None and op.scalar}
CALLS = {op.name for op in ops.OPS.values() if op.call and op.arity == 1 and op.scalar}
SCALAR_OPS = [name for name in ops.OP_NAMES if ops.OPS[name].scalar]


def test_the_oracles_know_every_op_of_the_table():
    known = LEAVES + UNARY_OPS + BINARY + VARIADIC + FUNCTIONS
    assert sorted(known) == sorted(SCALAR_OPS), "an op without oracles (tests/strategies.py)"
    assert len(set(known)) == len(known)


def test_every_function_of_one_input_has_its_oracles():
    """exact value, SymPy form, float, local derivative: a FUNCTION_ORACLES entry."""
    assert set(FUNCTION_ORACLES) == CALLS
    assert set(ROUNDING) == COMPUTED


def test_the_oracles_kinks_are_the_tables():
    assert set(KINK_FUNCTIONS) == {name for name in CALLS if ops.OPS[name].kink is not None}
    for name, f in FUNCTION_ORACLES.items():
        assert (f.local is None) == f.kink, name


@pytest.mark.parametrize("name", sorted(FUNCTION_ORACLES))
def test_each_functions_oracles_agree_with_each_other(name):
    """exact, SymPy and float values agree, and the exact local derivative is SymPy's
    derivative (away from a kink): no oracle entry is a copy-paste slip."""
    f = FUNCTION_ORACLES[name]
    a = sympy.Symbol("a", real=True)
    for x in (0.3, 1.1, 2.5):
        exact = f.exact(MP.mpf(x))
        assert float(f.sympy(a).subs(a, x).evalf(30)) == pytest.approx(float(exact), rel=1e-14)
        assert f.float(x) == pytest.approx(float(exact), rel=1e-14)
        if f.local is not None:
            L, dL, _ = f.local(MP.mpf(x), exact)
            d = sympy.diff(f.sympy(a), a)
            assert float(d.subs(a, x).evalf(30)) == pytest.approx(float(L), rel=1e-14)
            d2 = float(sympy.diff(d, a).subs(a, x).evalf(30))
            assert d2 == pytest.approx(float(dL), rel=1e-12, abs=1e-15)
    assert math.isfinite(f.rounding)


def test_the_formula_functions_are_the_table_s():
    """The formulas of the table call functions the tests can evaluate (FLOATS)."""
    assert set(FLOATS) >= CALLS


def test_the_readme_lists_every_function():
    """The README's "Functions:" bullet names exactly the table's functions."""
    bullet = re.search(r"^- Functions: (.*?)(?=^- |\Z)", README, flags=re.M | re.S)
    assert bullet is not None
    listed = set()
    for code in re.findall(r"`([^`]*)`", bullet[1]):
        listed |= set(re.findall(r"[a-z]+(?=\()", code) or code.split())
    assert listed == set(ops.FUNCTIONS)


def test_mpmath_is_what_the_oracles_use():
    assert isinstance(MP, mpmath.ctx_mp.MPContext)
