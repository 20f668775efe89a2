"""bpcli's own errors: every problem with what a user typed is one of these."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .i18n import tr

SHOWN = 40  # characters of a user's name or text that a message echoes

# How the upstream gradient of a vector or matrix output is given where an error is said:
# grad's and graph's --dout (the default), a batch request's "dout", or not at all (a
# problem set, whose problems ask for the gradient of a number). One a process, as the
# language is (i18n.py): batch's workers are processes.
_upstream: list[str | None] = ["--dout"]


@contextmanager
def upstream_given_as(name: str | None) -> Iterator[None]:
    """Within it, messages name the upstream gradient as `name` (None: it cannot be given)."""
    _upstream.append(name)
    try:
        yield
    finally:
        _upstream.pop()


def upstream_option() -> str | None:
    """How the upstream gradient is given here (see upstream_given_as)."""
    return _upstream[-1]


def clipped(text: str) -> str:
    """A user's name or text as a message echoes it: whole, or its first SHOWN characters
    and its length (a 10-million-character name must not make a 10 MB message)."""
    return text if len(text) <= SHOWN else f"{text[:SHOWN]}… ({len(text):,} characters)"


class BpcliError(Exception):
    """Bad input to bpcli. `span` is the (start, end) offset in `source`, when known;
    `field` the input it is about where that is not the expression or its values (a
    problem set's `lr`, for a gradient descent that overflows)."""

    def __init__(
        self,
        message: str,
        *,
        span: tuple[int, int] | None = None,
        source: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.span = span
        self.source = source
        self.field = field

    @property
    def line(self) -> int | None:
        """1-based line of the span's start in the source."""
        if self.span is None or self.source is None:
            return None
        return self.source.count("\n", 0, self.span[0]) + 1

    @property
    def column(self) -> int | None:
        """1-based column of the span's start in its line."""
        if self.span is None or self.source is None:
            return None
        return self.span[0] - self.source.rfind("\n", 0, self.span[0])

    def __str__(self) -> str:
        if self.line is None:
            return self.message
        return tr("line {line}, column {column}: {message}").format(
            line=self.line, column=self.column, message=self.message
        )


class ParseError(BpcliError):
    """The text is not a valid bpcli program (syntax, unknown function, wrong arity)."""


class BindError(BpcliError):
    """A name is misused: assigned twice, used before assignment, or given a bad value."""


class DomainError(BpcliError):
    """The maths is undefined or overflows at the given values (log 0, 1/0, exp(1000))."""


class InputError(BpcliError):
    """Input that is not the expression itself is wrong: a file, an option, a step count."""


class RequestError(BpcliError):
    """A batch line that is not a request: not UTF-8, not JSON, or a field of the wrong kind."""
