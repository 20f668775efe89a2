"""What bpcli takes as a number: one definition for every door a value comes in by.

The API's values and learning rate, batch requests, problem sets, the command
line (after its text is read as the grammar's NUMBER) and --gradcheck-step all
ask `to_float`; each says what the value is (`the value of x`, `values.x`) and
raises its own kind of error with the reason this module words.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TypeGuard


class NotANumber(ValueError):
    """A value that is not a number bpcli takes: not one at all, or too large for a float."""

    def __init__(self, value: object, too_large: bool) -> None:
        super().__init__(value)
        self.value = value
        self.too_large = too_large

    def message(
        self, what: str = "", shown: Callable[[object], str] = repr, digits: bool = False
    ) -> str:
        """The reason, said of `what` ("the value of x must be a number, got '1'"), or
        without a subject for a caller that says where first ("must be a number, …")."""
        if not self.too_large:
            return f"{what} must be a number, got {shown(self.value)}".lstrip()
        # A whole number past the float range is not shown: it has hundreds of digits
        # (with `digits`, how many is said).
        if isinstance(self.value, int):
            got = f" (a whole number of {len(str(abs(self.value)))} digits)" if digits else ""
        else:
            got = f" (got {shown(self.value)})"
        return f"{what} is too large for a float{got}" if what else f"too large for a float{got}"


def is_number(value: object) -> TypeGuard[int | float]:
    """An int or a float: true and false are not numbers, though Python's bool is an int."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def to_float(value: object) -> float:
    """`value` as a finite float, or NotANumber: a bool, text, NaN, an infinity, or a
    whole number beyond the float range (as TOML and JSON read 1e400 or 10**400)."""
    if not is_number(value):
        raise NotANumber(value, too_large=False)
    try:
        number = float(value)
    except OverflowError:
        raise NotANumber(value, too_large=True) from None
    if math.isinf(number):
        raise NotANumber(value, too_large=True)
    if math.isnan(number):
        raise NotANumber(value, too_large=False)
    return number
