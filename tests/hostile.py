"""Markup in a node's text, for the views' escaping tests.

No node's text can hold markup today: a name is letters, digits and "_", and a
comment is not part of the text (graph._text_parts drops it). The views escape a
text all the same, and these tests must not depend on the parser to pass:
`markup_in_texts` makes every text that is worked out character by character (a
program with a new line in it) end in HOSTILE.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

import bpcli.graph

HOSTILE = (
    " <b>html</b> & \"quotes\" 'single' #35; #lt; </script><script>alert(1)</script>"
    " [bold]x[/bold] {braces} |bar|"
)


@contextlib.contextmanager
def markup_in_texts() -> Iterator[str]:
    real = bpcli.graph._text_parts

    def with_markup(source: str, start: int, end: int, limit: int) -> tuple[str, bool]:
        text, cut = real(source, start, end, limit)
        return text + HOSTILE, cut

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(bpcli.graph, "_text_parts", with_markup)
        yield HOSTILE
