"""The benchmark run: every (engine, shape, size) in its own process, then the checks.

For each shape and size the runner generates the tape once, writes it (and
bpcli's text) to a temporary folder, and starts one worker process per
engine. Every engine's answer is checked against bpcli's (and bpcli's against
the plain-Python reference) before any of its times is reported.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import re
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import growth, processes, worker
from .adapter import Answer
from .check import compare
from .engines import ENGINES, missing
from .graphs import Tape, generate, reference, to_bpcli
from .growth import Growth

ROOT = processes.ROOT


@dataclass
class Settings:
    sizes: list[int]
    engines: list[str]
    shapes: list[str]
    repeat: int = 3
    budget: float = 20.0  # seconds of repeats per job: slow jobs run fewer times
    least_seconds: float = 0.0  # … and quick ones more, until they have taken this long
    timeout: float = 120.0  # seconds per job
    timeouts: dict[str, float] = field(default_factory=dict)  # per engine
    max_nodes: dict[str, int] = field(default_factory=dict)  # per engine: larger is skipped
    seed: int = 0
    cli: bool = True  # also time the command line: cold start, batch, end to end
    cold_runs: int = 20
    batch_lines: int = 20_000
    e2e_size: int = 1_000_000
    command: str = "python -m bench"
    growth_sizes: list[int] = field(default_factory=list)  # empty: not measured
    growth_timeout: float = growth.TIMEOUT_S  # seconds for one view at one size
    quick: bool = False  # the views' own sizes (check, svg) are their quick ones
    views: list[str] = field(default_factory=lambda: list(growth.VIEWS))  # whose growth


@dataclass
class Measurement:
    """One engine on one graph: its medians, or why there are none."""

    engine: str
    shape: str
    size: int  # asked for
    nodes: int  # in the tape
    status: str = "ok"  # ok, skipped, failed, timeout, crashed, wrong
    detail: str = ""
    runs: list[dict[str, float]] = field(default_factory=list)
    memory_mb: float | None = None
    memory_exact: bool = True
    answer: Answer | None = None
    build_is_forward: bool = False
    note: str = ""
    checked_against: str = ""  # "bpcli" or "reference"
    timed_out_after: float | None = None  # seconds: one run takes longer than this

    @property
    def reported(self) -> bool:
        return self.status == "ok" and bool(self.runs)

    def phase(self, name: str) -> float | None:
        values = [run[name] for run in self.runs if name in run]
        return statistics.median(values) if values else None

    @property
    def total(self) -> float | None:
        return statistics.median(sum(run.values()) for run in self.runs) if self.runs else None

    @property
    def compute(self) -> float | None:
        """Forward + backward on a graph already built: eager engines build as they compute."""
        if not self.runs:
            return None
        if self.build_is_forward:
            return self.total
        return statistics.median(
            sum(v for k, v in run.items() if k != "build") for run in self.runs
        )

    @property
    def us_per_node(self) -> float | None:
        total = self.total
        return None if total is None else 1e6 * total / self.nodes


@dataclass
class Results:
    settings: Settings
    measurements: list[Measurement] = field(default_factory=list)
    mismatches: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cold: processes.ColdStart | None = None
    batch: processes.Batch | None = None
    e2e: processes.EndToEnd | None = None
    e2e_torch: Measurement | None = None  # PyTorch on the end-to-end chain, if not in the table
    e2e_problem: str = ""
    cli_problems: list[str] = field(default_factory=list)
    growth: list[Growth] = field(default_factory=list)  # the views' growth exponents
    # bpcli on each shape again, its sizes one after another (see measure_scaling)
    scaling: list[Measurement] = field(default_factory=list)
    streamed: list[Any] = field(default_factory=list)  # bench/streams.py's targets (Target)
    bpcli_source: str = ""  # which bpcli code was measured (see `bpcli_source`)

    def find(self, engine: str, shape: str, size: int) -> Measurement | None:
        for m in self.measurements:
            if (m.engine, m.shape, m.size) == (engine, shape, size):
                return m
        return None


def run_job(
    engine: str, tape_file: Path, text_file: Path, settings: Settings, folder: Path
) -> dict[str, object]:
    """One worker process; its result, or what went wrong with it."""
    result_file = folder / f"{engine}.result.json"
    timeout = settings.timeouts.get(engine, settings.timeout)
    job = {
        "engine": engine,
        "tape": str(tape_file),
        "text": str(text_file) if engine == "bpcli" else None,
        "repeat": settings.repeat,
        "budget": settings.budget,
        "least_seconds": settings.least_seconds,
        "result": str(result_file),
        "timeout": timeout,
    }
    job_file = folder / f"{engine}.job.json"
    job_file.write_text(json.dumps(job), encoding="utf-8")
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bench.worker", str(job_file)],
            capture_output=True,
            text=True,
            timeout=timeout + worker.BACKSTOP_S + 10,  # the worker stops itself; a backstop
            env=processes.bench_env(),
            check=False,
        )
    except subprocess.TimeoutExpired:
        if result_file.exists():  # it finished, then hung on its way out
            return _read_result(result_file, "its process hung at exit")
        return {"status": "timeout", "error": f"timed out after {timeout:g} s", "after": timeout}
    if result_file.exists():
        result = _read_result(result_file)
        if not result.get("timed_out"):
            return result
        where = str(result.get("where") or "")  # the worker's own alarm: an exact stack
    elif "Timeout (" in done.stderr:  # the backstop: the main thread was stuck in C
        where = stuck_at(done.stderr)
    elif done.returncode < 0:
        return {"status": "crashed", "error": f"crashed (signal {-done.returncode})"}
    else:
        tail = done.stderr.strip().splitlines()[-1:] or ["no result"]
        return {"status": "crashed", "error": f"exit code {done.returncode}: {tail[0]}"}
    return {
        "status": "timeout",
        "error": f"timed out after {timeout:g} s" + (f", in {where}" if where else ""),
        "after": timeout,
    }


def _read_result(result_file: Path, note: str = "") -> dict[str, object]:
    result: dict[str, object] = json.loads(result_file.read_text(encoding="utf-8"))
    result_file.unlink()
    if not result["ok"]:
        result["status"] = "failed"
    if note:
        result["note"] = "; ".join(filter(None, [str(result.get("note") or ""), note]))
    return result


def stuck_at(stderr: str | bytes | None) -> str:
    """The innermost frames of the main thread in a faulthandler dump: where it was stuck."""
    if isinstance(stderr, bytes):
        stderr = stderr.decode(errors="replace")
    frames: list[str] = []
    in_main = False
    for line in (stderr or "").splitlines():
        if line.startswith(("Current thread", "Thread")):
            if frames:
                break
            in_main = True  # the dump lists the thread that was running first
        elif in_main and line.strip().startswith("File "):
            match = re.match(r'\s*File "(.+)", line (\d+) in (\S+)', line)
            if match:
                path, number, function = match.groups()
                frames.append(f"{function} ({Path(path).name}:{number})")
    return " < ".join(frames[:3])


@functools.lru_cache(maxsize=32)  # every (shape, size) of a run: the scaling block's again
def _prepared(shape: str, size: int, seed: int) -> tuple[Tape, Answer, str]:
    """A graph to measure: its tape, the plain-Python reference's answer, and its text
    (15 s of a run for the four 10^6-node graphs, which the scaling block measures again)."""
    tape = generate(shape, size, seed)
    expected = reference(tape)
    return tape, (expected.output, expected.gradients), to_bpcli(tape)


def measure_graph(
    shape: str, size: int, settings: Settings, log: Callable[[str], None], engines: Sequence[str]
) -> tuple[list[Measurement], list[str]]:
    """Each engine on one (shape, size), then the correctness checks; and the mismatches."""
    tape, answer_of_tape, text = _prepared(shape, size, settings.seed)
    measurements = []
    with tempfile.TemporaryDirectory(prefix="bench-") as name:
        folder = Path(name)
        tape_file, text_file = folder / "tape.bin", folder / "expr.txt"
        tape.save(tape_file)
        text_file.write_text(text, encoding="utf-8")
        for engine in engines:
            m = Measurement(engine, shape, size, len(tape))
            m.build_is_forward = ENGINES[engine].build_is_forward
            why = missing(engine)
            limit = settings.max_nodes.get(engine)
            if why is not None:
                m.status, m.detail = "skipped", why
            elif limit is not None and size > limit:
                m.status, m.detail = "skipped", f"above its limit of {size_label(limit)} nodes"
            else:
                _fill(m, run_job(engine, tape_file, text_file, settings, folder))
            measurements.append(m)
            log(_progress(m))
    return measurements, _check(measurements, answer_of_tape)


def measured_into(
    results: Results, shape: str, size: int, log: Callable[[str], None], engines: Sequence[str]
) -> list[Measurement]:
    """`measure_graph` for a run: its mismatches logged and kept with the run's."""
    measured, mismatches = measure_graph(shape, size, results.settings, log, engines)
    for line in mismatches:
        log(line)
    results.mismatches += mismatches
    return measured


def _fill(m: Measurement, result: dict[str, object]) -> None:
    if "status" in result:
        m.status, m.detail = str(result["status"]), str(result.get("error", ""))
        after = result.get("after")
        m.timed_out_after = float(after) if isinstance(after, (int, float)) else None
        return
    runs = result["runs"]
    assert isinstance(runs, list)
    m.runs = runs
    memory = result["memory_kb"]
    assert isinstance(memory, (int, float))
    m.memory_mb = memory / 1024
    m.memory_exact = bool(result["memory_exact"])
    gradients = result["gradients"]
    assert isinstance(gradients, dict)
    output = result["output"]
    assert isinstance(output, (int, float))
    m.answer = (float(output), {str(k): float(v) for k, v in gradients.items()})
    m.note = str(result.get("note") or "")
    nodes = result.get("nodes")
    if isinstance(nodes, int) and nodes != m.nodes:
        m.status = "wrong"
        m.detail = f"its graph has {nodes:,} nodes, the tape {m.nodes:,}: the renderings differ"


def _check(measurements: list[Measurement], tape_answer: Answer) -> list[str]:
    """bpcli against the plain-Python tape, every other engine against bpcli.

    A disagreement is reported loudly and the engine's times are withheld.
    """
    mismatches = []
    bpcli = next((m for m in measurements if m.engine == "bpcli" and m.reported), None)
    target, target_name = tape_answer, "the plain-Python reference"
    if bpcli is not None:
        assert bpcli.answer is not None
        bpcli.checked_against = "reference"
        problems = compare(tape_answer, bpcli.answer)
        if problems:
            bpcli.status, bpcli.detail = "wrong", "; ".join(problems)
            mismatches.append(_mismatch(bpcli, target_name, problems))
        else:
            target, target_name = bpcli.answer, "bpcli"
    for m in measurements:
        if m is bpcli or not m.reported:
            continue
        assert m.answer is not None
        m.checked_against = "bpcli" if target_name == "bpcli" else "reference"
        problems = compare(target, m.answer)
        if problems:
            m.status, m.detail = "wrong", "; ".join(problems)
            mismatches.append(_mismatch(m, target_name, problems))
    return mismatches


def _mismatch(m: Measurement, against: str, problems: list[str]) -> str:
    return (
        f"GRADIENT MISMATCH: {m.engine} on {m.shape} {size_label(m.size)} disagrees with "
        f"{against}: {'; '.join(problems)}; its times are not reported"
    )


def size_label(size: int) -> str:
    """10^5 for a power of ten, else the number."""
    power = len(str(size)) - 1
    return f"10^{power}" if size == 10**power and power >= 2 else f"{size:,}"


def _progress(m: Measurement) -> str:
    where = f"{m.engine} {m.shape} {size_label(m.size)}"
    if m.status != "ok":
        return f"{where}: {m.status}: {m.detail}"
    total, memory = m.total, m.memory_mb
    assert total is not None and memory is not None
    return f"{where}: {total:.3g} s a run ({len(m.runs)} runs), +{memory:.0f} MB"


def bpcli_source() -> str:
    """Which bpcli code runs: its git commit, and a hash of the files actually imported.

    An editable install runs the working tree: if it changes during a run, the
    rows measured before and after are different programs.
    """
    spec = importlib.util.find_spec("bpcli")
    if spec is None or spec.origin is None:
        return "not installed"
    package = Path(spec.origin).parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".lark") and path.is_file():
            digest.update(path.relative_to(package).as_posix().encode())
            digest.update(path.read_bytes())
    grammar = ROOT / "grammar" / "expr.lark"
    if grammar.is_file() and package.is_relative_to(ROOT):
        digest.update(grammar.read_bytes())
    where = f"code hash {digest.hexdigest()[:12]}"

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(package), *args], capture_output=True, text=True, check=False
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    try:
        commit = git("rev-parse", "--short", "HEAD")
        dirty = git("status", "--porcelain", "--", ".")
    except OSError:  # no git
        commit = dirty = ""
    if commit:
        where = f"git {commit}{' + uncommitted changes' if dirty else ''}, {where}"
    return where


def _code_hash(source: str) -> str:
    found = re.search(r"code hash (\w+)", source)
    return found.group(1) if found else source


def run(settings: Settings, log: Callable[[str], None]) -> Results:
    results = Results(settings, bpcli_source=bpcli_source())
    for size in settings.sizes:
        for shape in settings.shapes:
            results.measurements += measured_into(results, shape, size, log, settings.engines)
    measure_scaling(results, log)
    from . import floors  # issue 16's parser and engine targets (it imports this module)

    floors.measure(results, log)
    if settings.cli:
        run_cli(results, log)
    if settings.growth_sizes:
        results.growth = growth.measure_views(
            settings.growth_sizes,
            settings.repeat,
            settings.growth_timeout,
            quick=settings.quick,
            log=log,
            env=processes.bench_env(),
            views=settings.views,
        )
    after = bpcli_source()
    if _code_hash(after) != _code_hash(results.bpcli_source):  # a commit alone changes nothing
        note = (
            f"bpcli's code changed during this run ({results.bpcli_source} at the start, "
            f"{after} at the end): its rows mix versions; run again for one consistent table"
        )
        results.notes.append(note)
        log(note)
        results.bpcli_source += f" at the start, {after} at the end"
    return results


def measure_scaling(results: Results, log: Callable[[str], None]) -> None:
    """bpcli on each shape once more, at every size, one size right after another, for
    the scaling target (time per node from the smallest size to the largest). In the
    table, a shape's 10^3 and its 10^6 are timed many minutes apart, and this machine's
    speed drifts by as much as 1.5x between minutes (the plain-Python tape, the same
    code at the same size, in two runs of the runner): a ratio of two times from
    different minutes measured the drift as much as bpcli. Here a shape's sizes take
    a minute between them at most, in SCALING_ROUNDS rounds, each in the order opposite
    to the one before, each size's run with the least total kept (as the views' growth
    does: in one round, the tree went from 1.21x to 1.65x apart between two runs of
    the same code, and 1.13x to 1.47x in three more). The plain-Python tape, where the
    run has it, is timed beside bpcli: how the same graphs' time per node grows
    without bpcli."""
    settings = results.settings
    if "bpcli" not in settings.engines or len(settings.sizes) < 2:
        return
    engines = [engine for engine in ("bpcli", "python") if engine in settings.engines]
    for shape in settings.shapes:
        sizes = sorted(settings.sizes)
        best: dict[tuple[str, int], Measurement] = {}
        for round_ in range(SCALING_ROUNDS):
            for size in sizes if round_ % 2 == 0 else sizes[::-1]:
                for m in measured_into(results, shape, size, log, engines):
                    kept = best.get((m.engine, size))
                    if kept is None or _faster_run(m, kept):
                        best[m.engine, size] = m
        results.scaling += [
            best[engine, size] for size in sizes for engine in engines if (engine, size) in best
        ]


SCALING_ROUNDS = 2  # rounds of each shape's sizes in measure_scaling


def _faster_run(m: Measurement, kept: Measurement) -> bool:
    """Whether `m` took less in total than `kept` (one that has no total, failed or
    timed out, is kept only where neither has one)."""
    if m.total is None:
        return False
    return kept.total is None or m.total < kept.total


def run_cli(results: Results, log: Callable[[str], None]) -> None:
    """The command line: cold start, batch throughput, and the chain end to end."""
    settings = results.settings
    try:
        results.cold = processes.cold_start(settings.cold_runs)
        log(
            f"cold start: bpcli {results.cold.bpcli * 1e3:.0f} ms, "
            f"minimal Typer app {results.cold.typer * 1e3:.0f} ms"
        )
        results.batch = processes.batch(settings.batch_lines, results.cold.bpcli)
        log(f"batch: {results.batch.per_second:,.0f} lines/s")
    except (OSError, RuntimeError, subprocess.CalledProcessError) as exc:
        results.cli_problems.append(f"cold start or batch could not be measured: {exc}")
        log(results.cli_problems[-1])
    tape, (output, gradients), text = _prepared("chain", settings.e2e_size, settings.seed)
    with tempfile.TemporaryDirectory(prefix="bench-") as name:
        text_file = Path(name) / f"chain{_short_size(settings.e2e_size)}.txt"
        text_file.write_text(text, encoding="utf-8")
        try:
            e2e = processes.end_to_end(
                text_file, tape.inputs(), settings.repeat, settings.budget, settings.timeout
            )
        except (OSError, RuntimeError, subprocess.SubprocessError, ValueError) as exc:
            results.e2e_problem = f"end to end could not be measured: {exc}"
            log(results.e2e_problem)
            return
    problems = compare((output, gradients), (e2e.output, e2e.gradients))
    if problems:
        results.e2e_problem = "GRADIENT MISMATCH in bpcli grad end to end: " + "; ".join(problems)
        results.mismatches.append(results.e2e_problem)
        log(results.e2e_problem)
        return
    results.e2e = e2e
    log(f"end to end: {e2e.seconds:.3g} s, peak {e2e.peak_mb or 0:.0f} MB")
    size = settings.e2e_size
    if "torch" in settings.engines and results.find("torch", "chain", size) is None:
        # The target compares with PyTorch on the same chain: measure it if the table has not.
        (results.e2e_torch,) = measured_into(results, "chain", size, log, ["torch"])


def _short_size(size: int) -> str:
    for unit, scale in (("M", 1_000_000), ("k", 1_000)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return str(size)
