"""The patterns carry their words, and everything that says them finds them through the
pattern value: a pattern renamed keeps its walkthrough reasons and its check hints."""

from __future__ import annotations

import string

import pytest

import bpcli
from bpcli import check, ops, patterns
from bpcli.check import check as check_sets
from bpcli.problems import loads
from bpcli.render import walkthrough
from bpcli.render.notation import Plain

GATE_PATTERNS = {op.pattern for op in ops.OPS.values() if op.rule is not None}


def test_every_pattern_is_listed_once():
    assert len(set(patterns.PATTERNS)) == len(patterns.PATTERNS)
    assert {op.pattern for op in ops.OPS.values()} <= set(patterns.PATTERNS)
    assert len({p.name for p in patterns.PATTERNS}) == len(patterns.PATTERNS)


def test_every_gate_pattern_has_a_reason_the_walkthrough_finds():
    """A pattern has either its own reason code (walkthrough.REASONS) or the rule reason."""
    for pattern in GATE_PATTERNS:
        if pattern in walkthrough.REASONS:
            assert "rule" not in pattern.reasons, pattern
        else:
            assert set(pattern.reasons) == {"rule"}, pattern


def test_every_pattern_with_hints_is_found_by_check():
    hinted = {p for p in patterns.PATTERNS if p.hints and p is not patterns.COPY}
    assert hinted == set(check.MISTAKES)


@pytest.mark.parametrize("pattern", patterns.PATTERNS, ids=lambda p: p.name)
def test_words_are_whole_templates_with_named_placeholders(pattern):
    for template in (*pattern.reasons.values(), *pattern.hints.values()):
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
        assert all(f.isidentifier() for f in fields), template  # {node}, never {0} or {}


PROBLEMS = """
[[problem]]
id = "swap"
expr = "(x + y) * z"
values = { x = -2, y = 5, z = -4 }
answer = { grad = { z = -4 } }  # upstream 1 times its own value -4, not times q = 3

[[problem]]
id = "route"
expr = "max(x, y) * 2"
values = { x = 1, y = 3 }
answer = { grad = { x = 2, y = 0 } }
"""


def _hints():
    report = check_sets([loads(PROBLEMS, "p.toml")])
    return [item.hint for problem in report.problems for item in problem.items]


def _explain_reasons():
    result = bpcli.grad("max(x, y) * (x + y)", {"x": 1, "y": 3})
    return [step.reason for step in walkthrough.Walkthrough(result, Plain(result.graph)).backward]


def test_a_renamed_pattern_keeps_its_hints_and_reasons():
    """Lookups go through the pattern value, not its display name."""
    hints, reasons = _hints(), _explain_reasons()
    assert any(h and "swap multiplier" in h for h in hints)
    assert any(h and "gradient router" in h for h in hints)
    renamed = [patterns.SWAP, patterns.ROUTER, patterns.DISTRIBUTOR]
    old = [p.name for p in renamed]
    try:
        for p in renamed:
            object.__setattr__(p, "name", p.name + " renamed")
        assert _hints() == hints
        assert _explain_reasons() == reasons
    finally:
        for p, name in zip(renamed, old, strict=True):
            object.__setattr__(p, "name", name)
