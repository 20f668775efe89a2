"""The gradient check's false alarms and misses, measured on random programs against SymPy.

Random programs over the whole grammar (tests/strategies.py, drawn by hypothesis
from a fixed seed, so a run is reproducible) are differentiated by bpcli and by
SymPy, as in tests/test_differential.py. A program counts when bpcli answers and
every input's gradient agrees with SymPy's (the differential tests' tolerance);
then `bpcli.gradcheck` checks each input, and a "wrong" verdict is a false alarm.

Each counted program is then run again with one broken derivative rule in the op
table (a wrong sign, a factor of 2, a missing term; BROKEN): an input whose broken
gradient differs from SymPy's by more than 1% must be judged "wrong" unless the
check had a reason not to judge it (a kink at or within h of the point, no numeric
gradient, or one too inaccurate to tell, with the reason). A broken gradient
judged "good" or "acceptable" is a miss, and so is one judged "inconclusive" or
"undefined" without a reason.

    python tests/gradcheck_experiment.py --programs 6000 --seed 0

tests/test_gradcheck.py runs a small count in the suite (more with
BPCLI_GRADCHECK_PROGRAMS).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from hypothesis import HealthCheck, Phase, assume, given, seed, settings

import bpcli
from bpcli import engine, ops
from bpcli.gradcheck import ACCEPTABLE, FLOOR, gradcheck
from strategies import MP, Case, Reference, cases
from test_differential import MARGIN, REL, Oracle, run

# (op, local derivatives, what is broken): each a plausible slip in a derivative rule.
BROKEN: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("sin", ("-cos(a)",), "wrong sign"),
    ("exp", ("-out",), "wrong sign"),
    ("mul", ("-b", "a"), "wrong sign"),
    ("log", ("2.0 / a",), "factor of 2"),
    ("div", ("1.0 / b", "-2.0 * out / b"), "factor of 2"),
    ("sqrt", ("2.0 * _dsqrt(out)",), "factor of 2"),
    ("tanh", ("1.0",), "missing term"),
    ("sigmoid", ("out",), "missing term"),
    ("tan", ("out * out",), "missing term"),
)
MISMATCH = MP.mpf("0.01")  # a broken gradient this far from SymPy's must not pass


@dataclass
class Tally:
    """Counts over a run: programs and checks of correct gradients, broken ones, verdicts."""

    programs: int = 0
    checks: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    false_alarms: list[str] = field(default_factory=list)
    imprecise: list[str] = field(default_factory=list)  # inconclusive by the error estimate
    broken_checks: int = 0
    broken_verdicts: Counter[str] = field(default_factory=Counter)
    misses: list[str] = field(default_factory=list)

    def report(self) -> str:
        lines = [
            f"{self.programs} programs whose gradients agree with SymPy, {self.checks} checks:"
            f" {self.verdicts.get('wrong', 0)} judged wrong (false alarms)",
            "  verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(self.verdicts.items())),
            f"{self.broken_checks} checks of broken gradients (> 1% off SymPy):"
            f" {len(self.misses)} missed",
            "  verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(self.broken_verdicts.items())),
        ]
        lines += [f"  false alarm: {line}" for line in self.false_alarms[:20]]
        lines += [f"  miss: {line}" for line in self.misses[:20]]
        lines += [f"  inconclusive by the estimate: {line}" for line in self.imprecise[:20]]
        return "\n".join(lines)


def sympy_gradients(case: Case, result: bpcli.Result, ref: Reference) -> dict[str, object] | None:
    """SymPy's gradient of every input, if bpcli's agree with all of them; else None.

    Agree: within the differential tests' tolerance (which allows what float rounding
    can explain, however large) and within the gradient check's own tolerance (relative
    error below 1e-4): a float gradient further off than that, as of cos(w0**6.25) at
    w0 = 307 (an argument of 3.5e15, known to ±0.8), is wrong, and "wrong" is no false
    alarm there.
    """
    oracle = Oracle(case)
    want = {}
    for name in case.point:
        kind, value = oracle.gradient(name)
        if kind != "real":
            return None
        tolerance = max(REL * abs(value), MARGIN * ref.grad_err[name])
        off = abs(MP.mpf(result.gradients[name]) - value)
        if off > tolerance or off >= ACCEPTABLE * max(abs(value), FLOOR):
            return None  # off SymPy, or by more than the check's tolerance (cos(1e15))
        want[name] = value
    return want


@contextmanager
def broken(op: str, local: tuple[str, ...]) -> Iterator[None]:
    """The op table with one op's local derivatives replaced, the engine rebuilt to match."""
    saved = ops.OPS[op]
    ops.OPS[op] = dataclasses.replace(saved, local=local)
    engine.build()
    try:
        yield
    finally:
        ops.OPS[op] = saved
        engine.build()


def excused(check: Any) -> bool:
    """An inconclusive or undefined verdict with its reason (a kink, no numeric gradient,
    one too inaccurate to tell): the check said it cannot judge, so it is not a miss."""
    return check.verdict in ("inconclusive", "undefined") and check.reason is not None


def judge(case: Case, tally: Tally) -> bool:
    """Check one program and its broken variants; False if it does not count."""
    ref = Reference(case.statements, case.point)
    if ref.outcome != "ok" or not case.point:
        return False
    result = run(case.text, case.point)
    if isinstance(result, bpcli.DomainError):
        return False
    want = sympy_gradients(case, result, ref)
    if want is None:
        return False
    tally.programs += 1
    for name, check in gradcheck(result).inputs.items():
        tally.checks += 1
        tally.verdicts[check.verdict] += 1
        seen = (
            f"{case.text!r} at {case.point}: ∂/∂{name} = {check.analytic!r},"
            f" numeric {check.numeric!r}, SymPy {MP.nstr(want[name], 17)}"
        )
        if check.verdict == "wrong":
            tally.false_alarms.append(seen)
        elif check.verdict == "inconclusive" and not (check.kink or check.near_kink):
            tally.imprecise.append(f"{seen}; {check.reason}")
    used = {node.op for node in result.graph.nodes}
    for op, local, what in BROKEN:
        if op not in used:
            continue
        with broken(op, local):
            bad = run(case.text, case.point)
            if isinstance(bad, bpcli.DomainError):
                continue
            checked = gradcheck(bad)
        for name, check in checked.inputs.items():
            off = abs(MP.mpf(check.analytic) - want[name])
            if off <= MISMATCH * abs(want[name]) or off <= MP.mpf("1e-8"):
                continue  # the broken rule does not change this gradient (enough)
            tally.broken_checks += 1
            tally.broken_verdicts[check.verdict] += 1
            if check.verdict != "wrong" and not excused(check):
                tally.misses.append(
                    f"{op} {what}: {case.text!r} at {case.point}: ∂/∂{name} ="
                    f" {check.analytic!r}, numeric {check.numeric!r}, verdict {check.verdict}"
                )
    return True


def experiment(programs: int, seed_value: int = 0) -> Tally:
    """Check `programs` random programs whose gradients agree with SymPy (from `seed_value`)."""
    tally = Tally()

    @settings(
        max_examples=programs,
        database=None,
        derandomize=False,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @seed(seed_value)
    @given(cases())
    def one(case: Case) -> None:
        assume(judge(case, tally))

    one()
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=6000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(experiment(args.programs, args.seed).report())


if __name__ == "__main__":
    main()
