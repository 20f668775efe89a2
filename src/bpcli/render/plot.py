"""Gradient descent as an image: the output, and each input, over the steps (matplotlib).

The view draws and returns the image's bytes; the command line (`cli.write_plot`)
picks the format from the file's name, checks that matplotlib is installed and
writes the file.
"""

from __future__ import annotations

import io
import math
from typing import TYPE_CHECKING, Any

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


def descent_image(update: Update | TensorUpdate, output_name: str, image_format: str) -> bytes:
    """Two panels, in `image_format` (a value of FORMATS): the output over the steps,
    and each input over the steps (a vector or matrix by its size, ‖W‖). Needs
    matplotlib and the update's steps."""
    if update.trajectory is None:
        raise ValueError("a plot of gradient descent needs the update's steps")
    trajectory = descent_steps(update)
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    steps = [step.step for step in trajectory]
    drawn = [[_drawn(name, v) for name, v in step.inputs.items()] for step in trajectory]
    names = [name for name, _ in drawn[0]]
    marker = "." if len(steps) <= 50 else None  # dots only while they stay apart
    with matplotlib.rc_context({"svg.hashsalt": "bpcli", "svg.fonttype": "none"}):
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
        bottom.set_ylabel("inputs")
        bottom.set_xlabel("step")
        bottom.grid(alpha=0.3)
        bottom.xaxis.set_major_locator(MaxNLocator(integer=True))
        plural = "" if update.steps == 1 else "s"
        figure.suptitle(
            f"gradient descent on {output_name}: α = {fmt(update.lr)}, {update.steps} step{plural}"
        )
        image = io.BytesIO()
        figure.savefig(image, format=image_format, metadata=METADATA[image_format])
    return image.getvalue()
