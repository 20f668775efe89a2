"""The correctness check every time must pass before it is reported.

Two answers agree when the outputs and every input's gradient agree:
|a - b| <= max(rel * max(|a|, |b|), floor * scale), where scale is the
largest magnitude in the reference answer (at least 1). The floor keeps a
gradient that should be 0 from failing on rounding noise; it is far below
any real mistake.
"""

from __future__ import annotations

from .adapter import Answer

REL_TOL = 1e-9
ABS_FLOOR = 1e-12


def compare(
    reference: Answer, candidate: Answer, rel: float = REL_TOL, floor: float = ABS_FLOOR
) -> list[str]:
    """Every disagreement of `candidate` with `reference`, in words; empty when they agree."""
    ref_out, ref_grads = reference
    out, grads = candidate
    scale = max([1.0, abs(ref_out), *(abs(g) for g in ref_grads.values())])
    tolerance_floor = floor * scale

    def differs(a: float, b: float) -> bool:
        return not abs(a - b) <= max(rel * max(abs(a), abs(b)), tolerance_floor)

    problems = []
    if differs(ref_out, out):
        problems.append(f"output {out!r}, expected {ref_out!r}")
    missing = [name for name in ref_grads if name not in grads]
    extra = [name for name in grads if name not in ref_grads]
    if missing:
        problems.append(f"no gradient for {', '.join(missing[:5])}")
    if extra:
        problems.append(f"a gradient for unknown inputs {', '.join(extra[:5])}")
    wrong = [name for name in ref_grads if name in grads and differs(ref_grads[name], grads[name])]
    for name in wrong[:5]:
        problems.append(f"d/d{name} = {grads[name]!r}, expected {ref_grads[name]!r}")
    if len(wrong) > 5:
        problems.append(f"and {len(wrong) - 5} more gradients")
    return problems
