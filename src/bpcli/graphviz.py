"""Running Graphviz's `dot`: the one place bpcli starts it, bounded in time and memory.

dot's layout time grows fast with a node that has many uses: on `x + x + … + x`
it takes 26 s at 80 terms and minutes at 100, and at 3,000 terms it used 24 GB
before the kernel killed it. So dot runs here with layout limits for a graph
past a handful of nodes (`nslimit`, `mclimit`: fewer network-simplex and
crossing-minimisation rounds), a timeout and a cap on its memory, and every way
it can fail (not installed, too slow, killed, an error) is an InputError whose
message says what to do instead. A graph past the bounds where dot's layout is quick
(`picture`) is not laid out by dot at all: bpcli places it, and Graphviz only draws.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import InputError
from .i18n import N_, tr

if TYPE_CHECKING:
    from .graph import Graph
    from .render.picture import Run

# Fewer network-simplex rounds (nslimit, nslimit1) and half the crossing-minimisation
# passes (mclimit): without them dot spends a minute on 750 nodes where one input feeds
# 250 gates (with them, about 7 s). A small graph is laid out without them, as it always
# was: its picture does not change, and dot is fast on it anyway.
LAYOUT_LIMITS = ("-Gnslimit=1", "-Gnslimit1=1", "-Gmclimit=0.5")
EXACT_MAX_NODES = 40  # up to this many nodes, dot's full layout: under 1 s on the hardest shape
TIMEOUT_S = 20.0  # a slower dot is stopped
TIMEOUT_VARIABLE = "BPCLI_DOT_TIMEOUT"  # seconds, to change TIMEOUT_S
MEMORY_BYTES = 2 * 1024**3  # dot's address space, at most (POSIX); a small graph needs < 200 MB

INSTALL = N_(
    "sudo apt install graphviz (Debian, Ubuntu), brew install graphviz (macOS), "
    "or see graphviz.org/download"
)


def timeout() -> float:
    """TIMEOUT_S, or the seconds BPCLI_DOT_TIMEOUT gives."""
    text = os.environ.get(TIMEOUT_VARIABLE)
    if text is None:
        return TIMEOUT_S
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0 < seconds < float("inf"):
        raise InputError(
            tr("{timeout_variable} is a number of seconds above 0, got {text!r}").format(
                timeout_variable=TIMEOUT_VARIABLE, text=text
            )
        )
    return seconds


def _bounded_memory(limit: int) -> Callable[[], None] | None:
    """A function that caps the child's address space at `limit` bytes, where the
    system can (POSIX); None elsewhere."""
    if sys.platform == "win32":
        return None
    import resource

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return cap


# How dot can fail, each a whole sentence about drawing {target} (said by _Failure.said)
TIMED_OUT = N_(
    "Graphviz's dot did not finish drawing {target} within {seconds:g} s"
    " (bpcli's limit; {variable} changes it)"
)
NOT_STARTED = N_("Graphviz's dot could not be started drawing {target}: {reason}")
KILLED = N_(
    "Graphviz's dot was killed by {signal} drawing {target}, after it said {said}"
    " (bpcli lets it use {cap} of memory at most)"
)
KILLED_SILENT = N_(
    "Graphviz's dot was killed by {signal} drawing {target}, after it said nothing"
    " (bpcli lets it use {cap} of memory at most)"
)
FAILED = N_("Graphviz's dot failed drawing {target} (exit code {code}) and said {said}")
FAILED_SILENT = N_("Graphviz's dot failed drawing {target} (exit code {code}) and said nothing")
EMPTY = N_("Graphviz's dot wrote nothing drawing {target} and said {said}")
EMPTY_SILENT = N_("Graphviz's dot wrote nothing drawing {target} and said nothing")


@dataclass(frozen=True)
class _Failure:
    """How dot failed: one of the messages above, and its fields but the target."""

    message: str
    fields: Mapping[str, object]

    def said(self, target: str) -> str:
        return tr(self.message).format(target=target, **self.fields)


def _run(
    program: str,
    dot_text: str,
    output_format: str,
    flags: tuple[str, ...] = (),
    memory: int = MEMORY_BYTES,
) -> tuple[bytes, _Failure | None]:
    """dot's output, and how it failed (None when it did not)."""
    seconds = timeout()
    argv = [program, f"-T{output_format}", *flags]
    try:
        done = subprocess.run(
            argv,
            input=dot_text.encode(),
            capture_output=True,
            timeout=seconds,
            preexec_fn=_bounded_memory(memory),
        )
    except subprocess.TimeoutExpired:
        return b"", _Failure(TIMED_OUT, {"seconds": seconds, "variable": TIMEOUT_VARIABLE})
    except OSError as exc:
        return b"", _Failure(NOT_STARTED, {"reason": exc.strerror or exc})
    lines = done.stderr.decode(errors="replace").strip().splitlines()
    said: dict[str, object] = {"said": f'"{lines[-1].strip()}"'} if lines else {}
    if done.returncode < 0:
        cap = f"{memory / 1024**3:g} GB"
        fields: dict[str, object] = {"signal": _signal_name(-done.returncode), "cap": cap}
        fields.update(said)
        return b"", _Failure(KILLED if said else KILLED_SILENT, fields)
    if done.returncode > 0:
        failed = {"code": done.returncode, **said}
        return b"", _Failure(FAILED if said else FAILED_SILENT, failed)
    if not done.stdout:
        return b"", _Failure(EMPTY if said else EMPTY_SILENT, said)
    return done.stdout, None


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return tr("signal {number}").format(number=number)


def picture(
    graph: Graph, result: Run | None, precision: int, target: str, output_format: str
) -> bytes:
    """The picture `target` (`g.svg`, `g.png`, `g.pdf`) of the graph, with the values and
    gradients of `result` if there is one, as `graph --format dot` writes it: laid out by
    dot where dot is quick on it (render/layout.py's `small_for_dot`, the bounds the
    page's picture uses); a bigger graph is laid out by bpcli in columns by depth, as on
    the page, and drawn by Graphviz where bpcli placed it (`neato -n2`: no layout of
    its own, so a graph of any size is drawn in time that grows with its size)."""
    from .render.dot import to_dot, to_measure
    from .render.layout import layout, measured, small_for_dot

    nodes = len(graph.nodes)
    if small_for_dot(graph, nodes, result is not None):
        return draw(to_dot(graph, result, precision), target, output_format, nodes)
    program = _program(target)
    text, labelled = to_measure(graph, result, precision)
    flags = (*PLACED, "-Npos=0,0")
    sizes = measured(_drawn(program, text, "json", flags, target), nodes, len(labelled))
    if sizes is None:  # a Graphviz that cannot tell the sizes: its own layout, bounded
        return draw(to_dot(graph, result, precision), target, output_format, nodes)
    boxes, label_sizes = sizes
    placed = layout(graph, boxes, None, dict(zip(labelled, label_sizes, strict=True)))
    text = to_dot(graph, result, precision, placed)
    return _drawn(program, text, output_format, PLACED, target)


PLACED = ("-Kneato", "-n2")  # draw each node and edge where the DOT places it, no layout


def draw(dot_text: str, target: str, output_format: str, nodes: int) -> bytes:
    """The picture `target` (`g.svg`, `g.png`, `g.pdf`) of a graph of `nodes` nodes,
    drawn by dot from `dot_text`; dot's full layout for a small graph, else with
    LAYOUT_LIMITS."""
    limits = LAYOUT_LIMITS if nodes > EXACT_MAX_NODES else ()
    return _drawn(_program(target), dot_text, output_format, limits, target)


def _program(target: str) -> str:
    """Where dot is, or an InputError that says how to install it."""
    program = shutil.which("dot")
    if program is None:
        raise InputError(
            tr(
                "drawing {target} needs Graphviz's dot program, which is not installed: "
                "{install}. Without it, --format dot writes the DOT text, and the "
                "step-through page (--output page.html) is laid out by bpcli itself."
            ).format(target=target, install=tr(INSTALL))
        )
    return program


def _drawn(
    program: str, dot_text: str, output_format: str, flags: tuple[str, ...], target: str
) -> bytes:
    """dot's output, or an InputError that says how it failed and what to do instead."""
    image, failure = _run(program, dot_text, output_format, flags)
    if failure is not None:
        raise InputError(
            tr(
                "{failure}. Instead: --format dot writes the DOT text (to draw with another "
                "Graphviz layout, such as sfdp), a smaller graph draws faster, and the "
                "step-through page (--output page.html) is laid out by bpcli itself when dot "
                "cannot do it."
            ).format(failure=failure.said(target))
        )
    return image


def layout_json(dot_text: str) -> bytes | None:
    """dot's layout of `dot_text` as JSON (`-Tjson`, with LAYOUT_LIMITS), or None when
    dot is missing or fails: the caller then lays the graph out itself."""
    program = shutil.which("dot")
    if program is None:
        return None
    output, failure = _run(program, dot_text, "json", LAYOUT_LIMITS)
    return None if failure is not None else output
