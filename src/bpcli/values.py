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
import sys
from collections.abc import Callable
from typing import Any, TypeGuard

from .i18n import N_, tr


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
            if not what:
                return tr("must be a number, got {value}").format(value=shown(self.value))
            return tr("{what} must be a number, got {value}").format(
                what=what, value=shown(self.value)
            )
        # A whole number past the float range is not shown: it has hundreds of digits
        # (with `digits`, how many is said).
        if isinstance(self.value, int) and digits:
            count = len(str(abs(self.value)))
            if not what:
                return tr("too large for a float (a whole number of {count} digits)").format(
                    count=count
                )
            return tr("{what} is too large for a float (a whole number of {count} digits)").format(
                what=what, count=count
            )
        if isinstance(self.value, int):
            return (
                tr("{what} is too large for a float").format(what=what)
                if what
                else tr("too large for a float")
            )
        if not what:
            return tr("too large for a float (got {value})").format(value=shown(self.value))
        return tr("{what} is too large for a float (got {value})").format(
            what=what, value=shown(self.value)
        )


def is_number(value: object) -> TypeGuard[int | float]:
    """An int or a float: true and false are not numbers, though Python's bool is an int."""
    kind = type(value)
    if kind is float or kind is int:  # the usual two, at once
        return True
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def to_float(value: object) -> float:
    """`value` as a finite float, or NotANumber: a bool, text, NaN, an infinity, or a
    whole number beyond the float range (as TOML and JSON read 1e400 or 10**400).

    Besides int and float, any real number Python or NumPy makes is one: a
    `Fraction`, a `Decimal`, a NumPy scalar (`np.float32(2)`, `np.int64(3)`) and a
    0-d array (`np.array(2.5)`), as a notebook hands them over; NumPy's bool is
    not, like Python's.
    """
    if type(value) is float and value - value == 0.0:  # finite: the usual case, at once
        return value
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


# ---- vectors and matrices --------------------------------------------------------------

MAX_DIMENSIONS = 2  # numbers, vectors and matrices


class NotATensor(ValueError):
    """A value that is neither a number nor a vector or matrix bpcli takes; `reason`
    says why, of the value as a whole or of the element at `where` (`[1][0]`).

    The reason is a message (marked N_) without a subject, and `said` the same said of
    `{what}`, each with the placeholders `fields`; both in the chosen language when
    read. An element's reason comes already said (a NotANumber's), with no fields."""

    def __init__(self, reason: str, said: str = "", where: str = "", **fields: object) -> None:
        super().__init__(reason)
        self._reason, self._said, self.fields = reason, said, fields
        self.where = where

    @property
    def reason(self) -> str:
        """Why, without a subject ("is empty: …"), for a caller that says where first."""
        return tr(self._reason).format(**self.fields) if self._said else self._reason

    def detail(self) -> str:
        """Why, of the element where it is, without a subject ("the element [1] is …")."""
        if self.where:
            return tr("the element {where} {reason}").format(where=self.where, reason=self.reason)
        return self.reason

    def message(self, what: str) -> str:
        """The reason, said of `what` ("the value of W")."""
        if self.where:
            return tr("{what}: the element {where} {reason}").format(
                what=what, where=self.where, reason=self.reason
            )
        return tr(self._said).format(what=what, **self.fields)


def is_array(value: object) -> bool:
    """A list or tuple, or a NumPy array (checked without importing NumPy: an array can
    exist only once NumPy is imported)."""
    if isinstance(value, (list, tuple)):
        return True
    numpy = sys.modules.get("numpy")
    return numpy is not None and isinstance(value, numpy.ndarray)


def to_value(value: object) -> Any:
    """`value` as bpcli computes with it: a finite float (as `to_float`), or a float64
    NumPy array of 1 or 2 dimensions for a (nested) list, tuple or NumPy array of
    finite numbers; a 0-d array is a number. Raises NotANumber for what is no array
    and not a number, NotATensor for an array that is ragged, empty, has an element
    that is not a number, or more than MAX_DIMENSIONS dimensions."""
    if not is_array(value):
        return to_float(value)
    import numpy as np

    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            return to_float(value.item())
        if value.dtype.kind not in "iuf":
            raise NotATensor(
                N_("must hold numbers, got an array of {dtype}"),
                N_("{what} must hold numbers, got an array of {dtype}"),
                dtype=value.dtype,
            )
        shape = value.shape
        _check_shape(shape)
        masked = np.ma.getmaskarray(value) if isinstance(value, np.ma.MaskedArray) else None
        if masked is not None and masked.any():
            where = "".join(f"[{int(i)}]" for i in np.argwhere(masked)[0])
            raise NotATensor(
                tr(
                    "is masked: bpcli computes with every element; fill the masked ones"
                    " (.filled(0)) or leave them out"
                ),
                where=where,
            )
        # A plain float64 ndarray: a subclass (a masked array, np.matrix, whose `*` is a
        # matrix product) would change what the ops mean.
        array = np.array(value, dtype=np.float64, subok=False)
        if not np.isfinite(array).all():
            bad = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
            raise NotATensor(tr("is not finite"), where="".join(f"[{i}]" for i in bad))
        return array
    rows = _nested(value, "")
    _check_shape(rows[0])
    return np.array(rows[1], dtype=np.float64)


def _check_shape(shape: tuple[int, ...]) -> None:
    if len(shape) > MAX_DIMENSIONS:
        raise NotATensor(
            N_(
                "has {count} dimensions, shape {shape}: bpcli takes numbers, vectors"
                " and matrices (at most 2 dimensions)"
            ),
            N_(
                "{what} has {count} dimensions, shape {shape}: bpcli takes numbers, vectors"
                " and matrices (at most 2 dimensions)"
            ),
            count=len(shape),
            shape=shape,
        )
    if 0 in shape:
        raise NotATensor(*_EMPTY)


def _nested(value: object, where: str) -> tuple[tuple[int, ...], Any]:
    """(shape, nested list of floats) of a list of numbers or of lists; NotATensor where
    it is ragged, empty, too deep, or holds what is not a number."""
    if not isinstance(value, (list, tuple)):
        try:
            return (), to_float(value)
        except NotANumber as exc:
            raise NotATensor(exc.message(), where=where) from None
    if not value:
        if where:
            raise NotATensor(tr("is empty: every row needs at least one number"), where=where)
        raise NotATensor(*_EMPTY)
    items = [_nested(item, f"{where}[{i}]") for i, item in enumerate(value)]
    shape = items[0][0]
    if len(shape) >= MAX_DIMENSIONS:
        raise NotATensor(
            N_(
                "is nested too deep: bpcli takes numbers, vectors and matrices"
                " (at most 2 dimensions)"
            ),
            N_(
                "{what} is nested too deep: bpcli takes numbers, vectors and matrices"
                " (at most 2 dimensions)"
            ),
        )
    for i, (other, _) in enumerate(items):
        if other != shape:
            kinds = (bool(other), bool(shape))
            raise NotATensor(
                *_RAGGED[kinds],
                row=f"{where}[{i}]",
                first=f"{where}[0]",
                size=other[0] if other else 0,
                first_size=shape[0] if shape else 0,
            )
    return (len(items), *shape), [data for _, data in items]


_EMPTY = (
    N_("is empty: a vector or a matrix needs at least one number"),
    N_("{what} is empty: a vector or a matrix needs at least one number"),
)
# A ragged array's reason, by whether the row found and the first row are lists (the
# whole sentence for each, as another language words it).
_RAGGED = {
    (True, True): (
        N_(
            "is ragged: {row} is a list of {size} but {first} is a list of {first_size}"
            " (every row of a matrix has the same length)"
        ),
        N_(
            "{what} is ragged: {row} is a list of {size} but {first} is a list of"
            " {first_size} (every row of a matrix has the same length)"
        ),
    ),
    (False, True): (
        N_(
            "is ragged: {row} is a number but {first} is a list of {first_size}"
            " (every row of a matrix has the same length)"
        ),
        N_(
            "{what} is ragged: {row} is a number but {first} is a list of {first_size}"
            " (every row of a matrix has the same length)"
        ),
    ),
    (True, False): (
        N_(
            "is ragged: {row} is a list of {size} but {first} is a number"
            " (every row of a matrix has the same length)"
        ),
        N_(
            "{what} is ragged: {row} is a list of {size} but {first} is a number"
            " (every row of a matrix has the same length)"
        ),
    ),
}
