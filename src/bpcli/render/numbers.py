"""How numbers are shown on screen (the JSON carries full floats)."""

from __future__ import annotations

DEFAULT_PRECISION = 6


def fmt(value: float | None, precision: int = DEFAULT_PRECISION) -> str:
    """`value` to `precision` significant digits: 3.8000000000000003 -> '3.8'; None -> '—'."""
    if value is None:
        return "—"
    if value == 0:
        return "0"  # also for -0.0
    return format(value, f".{precision}g")
