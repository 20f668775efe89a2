"""Gradient descent as an image: the output, and each input, over the steps (matplotlib).

The view draws and returns the image's bytes; the command line (`cli.write_plot`)
picks the format from the file's name, checks that matplotlib is installed and
writes the file.
"""

from __future__ import annotations

import io
from typing import Any

from ..result import Update
from .numbers import fmt

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
# No timestamps and fixed ids, so the same run writes the same bytes.
METADATA: dict[str, dict[str, Any]] = {
    "svg": {"Date": None},
    "pdf": {"CreationDate": None},
    "png": {},
}


def descent_image(update: Update, output_name: str, image_format: str) -> bytes:
    """Two panels, in `image_format` (a value of FORMATS): the output over the steps,
    and each input over the steps. Needs matplotlib and the update's steps."""
    trajectory = update.trajectory
    if trajectory is None:
        raise ValueError("a plot of gradient descent needs the update's steps")
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    steps = [step.step for step in trajectory]
    names = list(trajectory[0].inputs)
    marker = "." if len(steps) <= 50 else None  # dots only while they stay apart
    with matplotlib.rc_context({"svg.hashsalt": "bpcli", "svg.fonttype": "none"}):
        figure = Figure(figsize=(6.4, 6.4), layout="constrained")
        top, bottom = figure.subplots(2, 1, sharex=True)
        top.plot(steps, [step.output for step in trajectory], marker=marker, color="black")
        top.set_ylabel(output_name)
        top.grid(alpha=0.3)
        lines = [
            bottom.plot(steps, [step.inputs[name] for step in trajectory], marker=marker)[0]
            for name in names
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
