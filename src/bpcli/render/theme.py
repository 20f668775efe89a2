"""The colours every view shares, defined once: a forward value is green, a gradient red;
and the ASCII stand-ins for bpcli's glyphs, where the output cannot hold them.

The terminal views use Rich's colour names; the pictures (DOT, TikZ, the HTML
page) use GitHub's green and red, with lighter ones on the page's dark
background and darker ones when it is printed.
"""

from __future__ import annotations

import codecs
import re

VALUE = "green"  # Rich style: a forward value
GRAD = "red"  # Rich style: a gradient

VALUE_HEX = "#1a7f37"
GRAD_HEX = "#cf222e"
VALUE_HEX_DARK = "#3fb950"  # on a dark background
GRAD_HEX_DARK = "#ff7b72"
VALUE_HEX_PRINT = "#116329"  # on paper
GRAD_HEX_PRINT = "#a40e26"


# ---- glyphs an output cannot encode -------------------------------------------------------

# What a glyph is written as on a stream that cannot encode it (PYTHONIOENCODING=ascii,
# Korean Windows' cp949 to a file or pipe): only the characters the stream cannot take
# are replaced, each by the same number of columns where it can be, so that a table or
# a panel Rich laid out with the glyph keeps its alignment. Rich itself draws its boxes
# and trees in ASCII there. A character with no stand-in (a name in Greek, say) is
# written as Python's \\u escape, which at least says which character it was.
STAND_INS = {
    "∂": "d",  # ∂f/∂x as df/dx
    "·": "*",
    "⋅": "*",
    "×": "*",
    "−": "-",
    "÷": "/",
    "α": "a",  # the learning rate: x := x - a*df/dx with a = 0.1
    "—": "-",  # no gradient (a constant's row)
    "–": "-",
    "…": "~",  # text cut short
    "≤": "<",
    "≥": ">",
    "→": ">",
    # the tensor walkthrough: g ⊙ local elementwise, a ⊗ b an outer product, xᵀ transposed
    # (Octave's and Julia's x')
    "⊙": "o",
    "⊗": "x",
    "ᵀ": "'",
    # the tensor update's rule said once for every input: θ := θ - α·∂f/∂θ for θ ∈ {W, x}
    # (ϑ where θ is a name), as t := t - a*df/dt for t E {W, x}: one column each
    "θ": "t",
    "ϑ": "t",
    "∈": "E",
    "∅": "0",
    "✓": "+",  # check's report: "+ right", "x wrong"
    "✗": "x",
    # the --steps chart: bars by eighths, and its axis
    "▁": "_",
    "▂": "_",
    "▃": "-",
    "▄": "-",
    "▅": "=",
    "▆": "=",
    "▇": "#",
    "█": "#",
    "│": "|",
    "─": "-",
    "┤": "+",
    "├": "+",
    "└": "+",
    "┌": "+",
}
_SUPERSCRIPTS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_RUN = re.compile("([⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)|(.)", re.S)  # a power x⁻¹ is one stand-in, ^-1
STAND_IN_ERRORS = "bpcli-stand-ins"  # the `errors` of a stream that writes them


def _stand_in(match: re.Match[str]) -> str:
    power, char = match.groups()
    if power:
        return "^" + power.translate(_SUPERSCRIPTS)
    return STAND_INS.get(char) or char.encode("ascii", "backslashreplace").decode("ascii")


_PADDING = re.compile(r" {2,}| +$")  # on one line: spaces a wider stand-in may take


def stand_ins(error: UnicodeError) -> tuple[str, int]:
    """The codec error handler STAND_IN_ERRORS: the run the stream cannot encode, in ASCII.

    A stand-in wider than its glyph (a power `x²` as `x^2`) takes its extra columns
    from the first padding after it on its line (two spaces or more, of which one is
    left, or the spaces that end the line), so that what follows the padding, a box's
    border or a table's next column, stays where Rich drew it."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
    text, end = error.object, error.end
    written = _RUN.sub(_stand_in, text[error.start : end])
    if len(written) == end - error.start:
        return written, end
    line_end = text.find("\n", end) % (len(text) + 1)  # -1: the text's end
    padding = _PADDING.search(text, end, line_end)
    if not padding:
        return written, end
    between = text[end : padding.start()]  # its own glyphs too, which may be wider
    written += between.encode(error.encoding, STAND_IN_ERRORS).decode(error.encoding)
    extra = len(written) - (padding.start() - error.start)
    spare = len(padding.group()) - (padding.end() < line_end)
    return written, padding.start() + max(0, min(extra, spare))


codecs.register_error(STAND_IN_ERRORS, stand_ins)
