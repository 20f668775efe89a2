"""The colours every view shares, defined once: a forward value is green, a gradient red.

The terminal views use Rich's colour names; the pictures (DOT, TikZ, the HTML
page) use GitHub's green and red, with lighter ones on the page's dark
background and darker ones when it is printed.
"""

from __future__ import annotations

VALUE = "green"  # Rich style: a forward value
GRAD = "red"  # Rich style: a gradient

VALUE_HEX = "#1a7f37"
GRAD_HEX = "#cf222e"
VALUE_HEX_DARK = "#3fb950"  # on a dark background
GRAD_HEX_DARK = "#ff7b72"
VALUE_HEX_PRINT = "#116329"  # on paper
GRAD_HEX_PRINT = "#a40e26"
