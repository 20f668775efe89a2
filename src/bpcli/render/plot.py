"""Gradient descent as an image: the output, and each input, over the steps (matplotlib)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..process import write_output
from ..result import Update
from .numbers import fmt

FORMATS = {".svg": "svg", ".png": "png", ".pdf": "pdf"}
# No timestamps and fixed ids, so the same run writes the same bytes.
METADATA: dict[str, dict[str, Any]] = {
    "svg": {"Date": None},
    "pdf": {"CreationDate": None},
    "png": {},
}


def write_plot(update: Update, output_name: str, path: Path) -> None:
    """Write two panels to `path`: the output over the steps, and each input over the steps.
    The suffix picks the format: .svg, .png or .pdf."""
    image_format = FORMATS.get(path.suffix.lower())
    if image_format is None:
        known = ", ".join(FORMATS)
        raise InputError(
            f"cannot tell the image format of {str(path)!r}: its name must end in {known}"
        )
    trajectory = update.trajectory
    if trajectory is None:
        raise InputError("a plot of gradient descent needs its steps: give --steps")
    try:
        import matplotlib
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError:
        raise InputError("writing a plot needs matplotlib: pip install 'bpcli[plot]'") from None

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
    write_output(path, image.getvalue(), what=f"the plot to {str(path)!r}")
