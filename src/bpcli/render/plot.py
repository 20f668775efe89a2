"""Gradient descent as an image: the output, and each input, over the steps (matplotlib).

The view draws and returns the image's bytes; the command line (`process.write_plot`)
picks the format from the file's name, checks that matplotlib is installed and
writes the file.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..i18n import language, tr, tr_n
from ..result import Update
from .chart import descent_steps
from .numbers import fmt

if TYPE_CHECKING:
    from ..tensor import TensorUpdate

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
# No timestamps and fixed ids, so the same run writes the same bytes.
METADATA: dict[str, dict[str, Any]] = {
    "svg": {"Date": None},
    "pdf": {"CreationDate": None},
    "png": {},
}


def _drawn(name: str, value: Any) -> tuple[str, float]:
    """An input as the lower panel draws it: a number as itself, a vector or matrix as its
    size, ‖W‖ (the square root of the sum of its squared elements)."""
    if isinstance(value, float):
        return name, value
    return f"‖{name}‖", math.sqrt(sum(float(v) ** 2 for v in value.flat))


# A font for each language whose letters matplotlib's own (DejaVu Sans) has not, where
# it is installed (Debian's fonts-nanum); DejaVu Sans still sets α, ‖ and the digits.
FONTS = {"ko": ("NanumGothic", "NanumBarunGothic", "Noto Sans CJK KR", "Malgun Gothic")}


def _fonts() -> list[str]:
    """The font families the image is set in: the language's first installed one (if it
    needs one), then matplotlib's default."""
    wanted = FONTS.get(language(), ())
    if not wanted:
        return ["DejaVu Sans"]
    from matplotlib import font_manager

    manager = font_manager.fontManager
    if not {font.name for font in manager.ttflist} & set(wanted):
        # installed after matplotlib made its cache of fonts: found by their files' names
        # in the system's font directories (not through fontconfig's fc-list, a process)
        stems = tuple(name.replace(" ", "") for name in wanted)
        directories = [*font_manager.X11FontDirectories, *font_manager.OSXFontDirectories]
        for path in font_manager.findSystemFonts(directories):
            if Path(path).stem.startswith(stems):
                manager.addfont(path)
    installed = {font.name for font in manager.ttflist}
    return [*[name for name in wanted if name in installed][:1], "DejaVu Sans"]


def descent_image(update: Update | TensorUpdate, output_name: str, image_format: str) -> bytes:
    """Two panels, in `image_format` (a value of FORMATS): the output over the steps,
    and each input over the steps (a vector or matrix by its size, ‖W‖). Needs
    matplotlib and the update's steps."""
    if update.trajectory is None:
        raise ValueError("a plot of gradient descent needs the update's steps")
    import matplotlib

    fonts = _fonts()
    with matplotlib.rc_context(
        {"svg.hashsalt": "bpcli", "svg.fonttype": "none", "font.family": fonts}
    ):  # a short block (batch.OUT_OF_MEMORY): the drawing is a function of its own
        return _drawn_image(update, output_name, image_format)


def _drawn_image(update: Update | TensorUpdate, output_name: str, image_format: str) -> bytes:
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    trajectory = descent_steps(update)
    steps = [step.step for step in trajectory]
    drawn = [[_drawn(name, v) for name, v in step.inputs.items()] for step in trajectory]
    names = [name for name, _ in drawn[0]]
    marker = "." if len(steps) <= 50 else None  # dots only while they stay apart
    figure = Figure(figsize=(6.4, 6.4), layout="constrained")
    top, bottom = figure.subplots(2, 1, sharex=True)
    top.plot(steps, [step.output for step in trajectory], marker=marker, color="black")
    top.set_ylabel(output_name)
    top.grid(alpha=0.3)
    lines = [
        bottom.plot(steps, [point[k][1] for point in drawn], marker=marker)[0]
        for k in range(len(names))
    ]
    if lines:  # handles given outright: labels starting with "_" would be left out
        bottom.legend(lines, names, fontsize="small", ncols=(len(names) + 7) // 8)
    bottom.set_ylabel(tr("inputs"))
    bottom.set_xlabel(tr("step"))
    bottom.grid(alpha=0.3)
    bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
    title = tr_n(
        "gradient descent on {name}: α = {lr}, {steps} step",
        "gradient descent on {name}: α = {lr}, {steps} steps",
        update.steps,
    )
    figure.suptitle(title.format(name=output_name, lr=fmt(update.lr), steps=update.steps))
    image = io.BytesIO()
    figure.savefig(image, format=image_format, metadata=METADATA[image_format])
    return image.getvalue()
