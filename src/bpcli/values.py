"""What bpcli takes as a number: one definition for every door a value comes in by.

The API's values and learning rate, batch requests, problem sets, the command
line (after its text is read as the grammar's NUMBER) and --gradcheck-step all
ask `to_float`; each says what the value is (`the value of x`, `values.x`) and
raises its own kind of error with the reason this module words.
"""

from __future__ import annotations

import decimal
import math
import numbers
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
    whole number beyond the float range (as TOML and JSON read 1e400 or 10**400).

    Besides int and float, any real number Python or NumPy makes is one: a
    `Fraction`, a `Decimal`, a NumPy scalar (`np.float32(2)`, `np.int64(3)`) and a
    0-d array (`np.array(2.5)`), as a notebook hands them over; NumPy's bool is
    not, like Python's.
    """
    if not is_number(value):
        value = _real(value)
    try:
        number = float(value)  # type: ignore[arg-type]
    except OverflowError:
        raise NotANumber(value, too_large=True) from None
    if math.isinf(number):
        raise NotANumber(value, too_large=True)
    if math.isnan(number):
        raise NotANumber(value, too_large=False)
    return number


def _real(value: object) -> object:
    """A real number of another type than int and float, or NotANumber."""
    if getattr(value, "ndim", None) == 0 and hasattr(value, "item"):  # a 0-d array
        item = value.item()
        if is_number(item) or (isinstance(item, numbers.Real) and not _boolean(item)):
            return item
        raise NotANumber(value, too_large=False)
    if isinstance(value, (numbers.Real, decimal.Decimal)) and not _boolean(value):
        return value
    raise NotANumber(value, too_large=False)


def _boolean(value: object) -> bool:
    """Python's bool, or NumPy's (which is not a Python bool, nor a number)."""
    return isinstance(value, bool) or type(value).__name__ in ("bool_", "bool")
