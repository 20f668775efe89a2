"""How numbers are shown on screen (the JSON carries full floats)."""

from __future__ import annotations

import math

DEFAULT_PRECISION = 6


def fmt(value: float | None, precision: int = DEFAULT_PRECISION) -> str:
    """`value` to `precision` significant digits: 3.8000000000000003 -> '3.8'; None -> '—'."""
    if value is None:
        return "—"
    if value == 0:
        return "0"  # also for -0.0
    return format(value, f".{precision}g")


WRITTEN = 17  # digits enough for any float to read back as itself


def fmt_shortest(value: float | None, precision: int = WRITTEN) -> str:
    """`value` as `fmt` shows it with the fewest digits, at most `precision`, that read
    back as `value`: 0.0187 as 0.0187, never 0.018700000000000001 (a number a student
    wrote, a score); where no fewer do, to `precision` digits, as `fmt`."""
    if value is None or value == 0 or not math.isfinite(value):
        return fmt(value, precision)
    # as many digits as the whole part has, up to `precision`: 10 as 10, not 1e+01
    whole = min(precision, math.floor(math.log10(abs(value))) + 1)
    for digits in range(1, precision):
        if float(fmt(value, digits)) == value:
            return fmt(value, max(digits, whole))
    return fmt(value, precision)


EDGE = 3  # a vector or matrix of more elements a side than twice this is shown cut short


def fmt_value(value: object, precision: int = DEFAULT_PRECISION, written: bool = False) -> str:
    """A number as `fmt` shows it, or a vector or matrix (nested lists) on one line, each
    element so: `[[0.088, 0.176], [0.104, 0.208]]`; a long side shows its first and last
    EDGE elements around `…`. `written`: each number as it was written (`fmt_shortest`),
    whatever the precision: what a student submitted."""
    if not isinstance(value, list):
        if written:
            return fmt_shortest(value)  # type: ignore[arg-type]
        return fmt(value, precision)  # type: ignore[arg-type]
    shown = [fmt_value(item, precision, written) for item in value[:EDGE]]
    if len(value) > 2 * EDGE:
        shown.append("…")
        shown += [fmt_value(item, precision, written) for item in value[-EDGE:]]
    else:
        shown += [fmt_value(item, precision, written) for item in value[EDGE:]]
    return "[" + ", ".join(shown) + "]"
