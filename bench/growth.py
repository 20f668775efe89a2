"""How each view's time grows with its input: the fitted exponent of time against size.

A view that finds each edge's gradient by searching the node's uses is quadratic
in a node's uses: `to_dot` on `x + x + … + x` once took 0.16 s for 2,000 uses of
`x` and 6.45 s for 16,000. Here every view bpcli has (`graph` in each format,
`grad`'s table, `--explain` and write-ups, `check`, `batch`) is timed as the
command runs it (evaluate, then lay out and write; the parse is outside the
timing) on three kinds of graph: a deep chain, a DAG with heavy reuse, and one
node used n times (`x + x + … + x`); `check` on a file of n lecture problems and
`batch` on n lecture lines too. Each series has three or more sizes at least 10x
apart, each size in a fresh process with a time limit; the slope of log(time)
against log(size) is the growth exponent: about 1 for a linear view, about 2 for
a quadratic one. A size past the limit stops its series: the exponent up to it,
with the limit as the time, is a lower bound.

The time is CPU time (user + system, of the process and of the programs it waits
for, such as Graphviz's dot): on a machine shared with other work, wall time
counts the waits for a processor too, which makes a big size look slower than
it is; CPU time does not.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter
from typing import Any

TARGET = 1.15  # at most this exponent: linear, with room for the noise of a busy machine
SIZES = (1_000, 10_000, 100_000)
QUICK_SIZES = (100, 1_000, 10_000)
TIMEOUT_S = 40.0  # CPU seconds: a size whose process takes longer ends its series
QUICK_TIMEOUT_S = 10.0
WARM_UP = 10  # the size of the untimed first run
BUDGET_S = 5.0  # no more repeats of a size once its runs have taken this long
ROUNDS = 2  # rounds of a view's sizes, each size's best taken (measure_in_processes)

# A view to time at a size: made once per size (parse outside the timing), then called.
View = Callable[[int], Callable[[], object]]


def exponent(sizes: Sequence[float], seconds: Sequence[float]) -> float:
    """The least-squares slope of log(seconds) against log(sizes)."""
    xs = [math.log(size) for size in sizes]
    ys = [math.log(max(s, 1e-12)) for s in seconds]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / spread


def check_sizes(sizes: Sequence[int]) -> None:
    """At least three sizes, each at least 10x the one before: ValueError if not."""
    if len(sizes) < 3 or any(b < 10 * a for a, b in itertools.pairwise(sizes)):
        raise ValueError(f"growth needs three or more sizes, each 10x the last: {list(sizes)}")


@dataclass(frozen=True)
class Growth:
    """One view's times (best of the repeats) at each size on one shape, and their exponent.

    `timed_out`: the last size did not finish within `seconds[-1]`, so the exponent
    is a lower bound; `error`: why the series has no times at all.
    """

    view: str
    sizes: tuple[int, ...]
    seconds: tuple[float, ...]
    shape: str = "uses"
    timed_out: bool = False
    error: str = ""

    @property
    def exponent(self) -> float:
        return exponent(self.sizes, self.seconds) if len(self.sizes) >= 2 else math.nan

    @property
    def measured(self) -> bool:
        return len(self.sizes) >= 2 and not self.error


def measure(
    view: str,
    make: View,
    sizes: Sequence[int],
    repeat: int = 3,
    clock: Callable[[], float] = perf_counter,
    shape: str = "uses",
    budget: float = math.inf,
) -> Growth:
    """Time `make(size)()` at each size in this process: the best of `repeat` runs."""
    check_sizes(sizes)
    times = [best_of(make(size), repeat, clock, budget) for size in sizes]
    return Growth(view, tuple(sizes), tuple(times), shape)


def best_of(
    run: Callable[[], object], repeat: int, clock: Callable[[], float], budget: float = math.inf
) -> float:
    best, spent = math.inf, 0.0
    for _ in range(max(1, repeat)):
        start = clock()
        run()
        took = clock() - start
        best, spent = min(best, took), spent + took
        if spent > budget:
            break
    return best


# ---- the inputs ------------------------------------------------------------------------------

SHAPES = ("chain", "dag", "uses")
SHAPE_WORDS = {
    "chain": "the deep chain of nested `(…*a+b)`",
    "dag": "the random DAG of statements with heavy reuse",
    "uses": "`x + x + … + x`, one node used n times",
    "problems": "a file of n copies of the lecture problem, answers filled in",
    "lines": "n lecture-example lines",
}


def sum_of_uses(n: int) -> str:
    """`x + x + … + x`: one node used n times, the shape that made the views quadratic."""
    return " + ".join(["x"] * n)


def program(shape: str, n: int) -> tuple[str, dict[str, float]]:
    """The text of a graph of about n nodes of `shape`, and its input values."""
    if shape == "uses":
        return sum_of_uses(n), {"x": 1.0}
    from .graphs import generate, to_bpcli

    tape = generate(shape, n)
    return to_bpcli(tape), tape.inputs()


LECTURE_PROBLEM = """[[problem]]
id = "{i}"
points = 4
expr = "q = x + y; f = q * z"
values = {{ x = -2, y = 5, z = -4 }}
lr = 0.1
ask = ["output", "grad", "update", "new_output"]

[problem.answer]
output = -12
grad = {{ x = -4, y = -4, z = 3 }}
update = {{ x = -1.6, y = 5.4, z = -4.3 }}
new_output = -16.34

"""
LECTURE_LINE = '{{"id": {i}, "expr": "(x+y)*z", "values": {{"x": -2, "y": 5, "z": -4}}}}\n'


# ---- the views, as the command line runs them ----------------------------------------------


def _evaluated(shape: str, n: int) -> tuple[Any, Any]:
    import bpcli

    text, values = program(shape, n)
    graph = bpcli.parse(text)
    return graph, lambda: bpcli.evaluate(graph, values)


def _text_view(write: Callable[[Any, Any], object]) -> Callable[[str, int], Callable[[], object]]:
    """A view that lays out the graph and its result (the result made inside the timing)."""

    def make(shape: str, n: int) -> Callable[[], object]:
        graph, evaluate = _evaluated(shape, n)
        return lambda: write(graph, evaluate())

    return make


def _printed(*renderables: Any, width: int = 80) -> str:
    """Rich renderables as the terminal views print them, without colour."""
    from bpcli.process import console

    out = io.StringIO()
    screen = console(file=out, width=width, color_system=None)
    for renderable in renderables:
        screen.print(renderable)
    return out.getvalue()


def _dot(graph: Any, result: Any) -> str:
    from bpcli.render.dot import to_dot

    return to_dot(graph, result)


def _mermaid(graph: Any, result: Any) -> str:
    from bpcli.render.mermaid import to_mermaid

    return to_mermaid(graph, result)


def _tree(graph: Any, result: Any) -> str:
    from bpcli.render.tree import to_tree

    return _printed(to_tree(graph, result), width=120)  # as `graph --output FILE` writes it


def _page(graph: Any, result: Any) -> str:
    from bpcli.graphviz import layout_json
    from bpcli.render.page import to_html

    return to_html(result, run_dot=layout_json)


def _svg(graph: Any, result: Any) -> bytes:
    from bpcli.graphviz import picture
    from bpcli.render.numbers import DEFAULT_PRECISION

    return picture(graph, result, DEFAULT_PRECISION, "graph.svg", "svg")


def _table(graph: Any, result: Any) -> str:
    from bpcli.render.table import GradView

    return _printed(GradView(result))


def _explain(graph: Any, result: Any) -> str:
    from bpcli.render.explain import ExplainView
    from bpcli.render.table import GradView

    return _printed(GradView(result), "", ExplainView(result))


def _markdown(graph: Any, result: Any) -> str:
    from bpcli.render.writeup import to_markdown

    return to_markdown(result)


def _latex(graph: Any, result: Any) -> str:
    from bpcli.render.writeup import to_latex

    return to_latex(result)


def _check(shape: str, n: int) -> Callable[[], object]:
    """`bpcli check FILE` on a file of n lecture problems: read, check, print the report."""
    from bpcli.check import check
    from bpcli.problems import loads
    from bpcli.render.report import ReportView

    text = "".join(LECTURE_PROBLEM.format(i=i) for i in range(1, n + 1))

    def run() -> str:
        report = check([loads(text, "problems.toml")], False, None, {})
        return _printed(ReportView(report))

    return run


def _batch(shape: str, n: int) -> Callable[[], object]:
    """`bpcli batch FILE`: n lecture lines, or one request for a graph of n nodes."""
    from bpcli.arguments import MAX_SIZE
    from bpcli.batch import answer_source

    if shape == "lines":
        requests = "".join(LECTURE_LINE.format(i=i) for i in range(n))
    else:
        text, values = program(shape, n)
        requests = json.dumps({"id": 1, "expr": text, "values": values}) + "\n"
    folder = tempfile.mkdtemp(prefix="bench-growth-")
    source = Path(folder) / "requests.jsonl"
    source.write_text(requests, encoding="utf-8")

    def run() -> bool:
        with _stdout_to_null():
            return answer_source(str(source), 1, MAX_SIZE)

    return run


@contextlib.contextmanager
def _stdout_to_null() -> Iterator[None]:
    """sys.stdout to /dev/null for a view that writes there (batch)."""
    saved = sys.stdout
    with open(os.devnull, "w", encoding="utf-8") as sink:
        sys.stdout = sink
        try:
            yield
        finally:
            sys.stdout = saved


@dataclass(frozen=True)
class ViewSpec:
    """A view: the command that shows it, how to make its run at (shape, size), the
    shapes it is timed on, and its own sizes where the graph ones do not fit it (None:
    the run's growth sizes)."""

    command: str
    make: Callable[[str, int], Callable[[], object]]
    shapes: tuple[str, ...] = SHAPES
    sizes: tuple[int, ...] | None = None
    quick_sizes: tuple[int, ...] | None = None
    needs: str = ""  # a program on PATH the view runs


# By the name `--views` takes, in the order the report lists them.
VIEWS: dict[str, ViewSpec] = {
    "dot": ViewSpec("graph --format dot", _text_view(_dot)),
    "mermaid": ViewSpec("graph --format mermaid", _text_view(_mermaid)),
    "tree": ViewSpec("graph --format tree", _text_view(_tree)),
    "page": ViewSpec("graph --output page.html", _text_view(_page)),
    # Graphviz draws a graph of 10^5 nodes in about a minute, even where bpcli lays it
    # out (graphviz.picture): its own sizes, a factor of 10 smaller at the top.
    "svg": ViewSpec(
        "graph --output graph.svg",
        _text_view(_svg),
        sizes=(100, 1_000, 10_000),
        quick_sizes=(10, 100, 1_000),
        needs="dot",
    ),
    "table": ViewSpec("grad (the table)", _text_view(_table)),
    "explain": ViewSpec("grad --explain", _text_view(_explain)),
    "markdown": ViewSpec("grad --format markdown", _text_view(_markdown)),
    "latex": ViewSpec("grad --format latex", _text_view(_latex)),
    "check": ViewSpec(
        "check",
        _check,
        shapes=("problems",),
        sizes=(100, 1_000, 10_000),
        quick_sizes=(10, 100, 1_000),
    ),
    "batch": ViewSpec("batch", _batch, shapes=(*SHAPES, "lines")),
}


def sizes_for(spec: ViewSpec, sizes: Sequence[int], quick: bool) -> tuple[int, ...]:
    own = spec.quick_sizes if quick else spec.sizes
    return tuple(own) if own is not None else tuple(sizes)


# ---- each size in its own process ---------------------------------------------------------------


def cpu_seconds() -> float:
    """User + system time of this process and of the children it has waited for (to the
    microsecond: os.times() counts in clock ticks of 10 ms)."""
    mine = time.process_time()
    if sys.platform == "win32":  # pragma: no cover - no children's times there
        return mine
    import resource

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return mine + children.ru_utime + children.ru_stime


def run_one(
    view: str, shape: str, size: int, repeat: int, budget: float, say: Callable[[str], None]
) -> None:
    """Time `view` on `shape` at `size` in this process, after a run on a tiny input (so
    that no first run pays for imports and Rich's caches): `say` is told, as JSON lines,
    the CPU time spent before the timing (`setup`), then each run's CPU time (`run`)."""
    make = VIEWS[view].make
    make(shape, WARM_UP)()
    run = make(shape, size)
    say(json.dumps({"setup": cpu_seconds()}))
    spent = 0.0
    for _ in range(max(1, repeat)):
        start = cpu_seconds()
        run()
        took = cpu_seconds() - start
        say(json.dumps({"run": took}))
        spent += took
        if spent > budget:
            break


TIMED_OUT = 124  # the exit code of a worker past its CPU limit


def _watch(limit: float) -> None:
    """Stop this process once it has used `limit` CPU seconds (a thread that looks every
    0.1 s). Not RLIMIT_CPU: under a CPU limit Linux counts process_time in whole ticks."""

    def watch() -> None:
        while True:
            time.sleep(0.1)
            if cpu_seconds() > limit:
                os._exit(TIMED_OUT)

    threading.Thread(target=watch, daemon=True).start()


def measure_in_processes(
    view: str,
    shape: str,
    sizes: Sequence[int],
    repeat: int,
    timeout: float,
    budget: float = BUDGET_S,
    env: dict[str, str] | None = None,
    rounds: int = ROUNDS,
) -> Growth:
    """`view` on `shape` at each size, each in a fresh process (`python -m bench.growth`)
    that may use `timeout` CPU seconds; one that uses more before its first run ends
    ends the series, with a lower bound for that size (the limit less its set-up).

    Where the first round measured every size, the sizes are measured again in `rounds`
    - 1 more rounds, each in the order opposite to the one before, and each size's time
    is the best of all its runs: the exponent is a ratio of sizes timed seconds apart,
    and this machine's speed moves by more than the target's margin between them (the
    tree on the DAG: 16.4x from 10^3 to 10^4 nodes in one run, 11.8x in the next)."""
    check_sizes(sizes)
    command = VIEWS[view].command
    done: list[int] = []
    times: list[float] = []
    for size in sizes:
        runs, code, said, err = _runs_of(view, shape, size, repeat, budget, timeout, env)
        if runs:
            done.append(size)
            times.append(min(runs))
            continue
        if code in (TIMED_OUT, -9):  # past its CPU limit (or the backstop) before a run ended
            setup = next((float(line["setup"]) for line in said if "setup" in line), 0.0)
            done.append(size)
            times.append(max(timeout - setup, 1e-9))
            return Growth(command, tuple(done), tuple(times), shape, timed_out=True)
        tail = (err.strip().splitlines() or [f"exit code {code}"])[-1]
        return Growth(command, tuple(done), tuple(times), shape, error=f"at {size:,}: {tail}")
    order = list(range(len(sizes)))
    for _ in range(rounds - 1):
        order.reverse()
        for k in order:
            runs = _runs_of(view, shape, sizes[k], repeat, budget, timeout, env)[0]
            times[k] = min([times[k], *runs])
    return Growth(command, tuple(done), tuple(times), shape)


def _runs_of(
    view: str,
    shape: str,
    size: int,
    repeat: int,
    budget: float,
    timeout: float,
    env: dict[str, str] | None,
) -> tuple[list[float], int, list[dict[str, Any]], str]:
    """One process's runs of `view` on `shape` at `size`: their CPU times, its exit code,
    what it said, and its standard error."""
    job = [sys.executable, "-m", "bench.growth", view, shape, str(size), str(repeat)]
    try:
        finished = subprocess.run(
            [*job, str(budget), str(timeout)],
            capture_output=True,
            text=True,
            timeout=4 * timeout + 30,  # a backstop: the CPU limit stops it first
            env=env,
            check=False,
        )
        out, code, err = finished.stdout, finished.returncode, finished.stderr
    except subprocess.TimeoutExpired as exc:
        out, code, err = _text(exc.stdout), -9, _text(exc.stderr)
    said = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    return [float(line["run"]) for line in said if "run" in line], code, said, err


def _text(data: str | bytes | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else data or ""


def measure_views(
    sizes: Sequence[int],
    repeat: int = 3,
    timeout: float = TIMEOUT_S,
    quick: bool = False,
    log: Callable[[str], None] | None = None,
    env: dict[str, str] | None = None,
    views: Sequence[str] = tuple(VIEWS),
) -> list[Growth]:
    """Each of `views` on every shape it applies to; one whose program is missing is noted."""
    import shutil

    found = []
    for name in views:
        spec = VIEWS[name]
        for shape in spec.shapes:
            if spec.needs and shutil.which(spec.needs) is None:
                growth = Growth(spec.command, (), (), shape, error=f"{spec.needs} is not installed")
            else:
                own = sizes_for(spec, sizes, quick)
                growth = measure_in_processes(name, shape, own, repeat, timeout, env=env)
            found.append(growth)
            if log is not None:
                log(describe(growth))
    return found


def describe(g: Growth) -> str:
    times = ", ".join(f"{s:.3g} s" for s in g.seconds)
    if g.error:
        return f"growth {g.view} on {g.shape}: {g.error}"
    bound = "≥ " if g.timed_out else ""
    return f"growth {g.view} on {g.shape}: {times}: exponent {bound}{g.exponent:.2f}"


def main(argv: list[str]) -> None:
    """`python -m bench.growth VIEW SHAPE SIZE REPEAT BUDGET LIMIT`: one size, its times as
    JSON lines; past LIMIT CPU seconds, exit TIMED_OUT."""
    view, shape, size, repeat, budget, limit = argv
    _watch(float(limit))

    def say(line: str) -> None:
        print(line, flush=True)

    run_one(view, shape, int(size), int(repeat), float(budget), say)


if __name__ == "__main__":
    main(sys.argv[1:])
