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


EDGE = 3  # a vector or matrix of more elements a side than twice this is shown cut short


def fmt_value(value: object, precision: int = DEFAULT_PRECISION) -> str:
    """A number as `fmt` shows it, or a vector or matrix (nested lists) on one line, each
    element so: `[[0.088, 0.176], [0.104, 0.208]]`; a long side shows its first and last
    EDGE elements around `…`."""
    if not isinstance(value, list):
        return fmt(value, precision)  # type: ignore[arg-type]
    shown = [fmt_value(item, precision) for item in value[:EDGE]]
    if len(value) > 2 * EDGE:
        shown.append("…")
        shown += [fmt_value(item, precision) for item in value[-EDGE:]]
    else:
        shown += [fmt_value(item, precision) for item in value[EDGE:]]
    return "[" + ", ".join(shown) + "]"
