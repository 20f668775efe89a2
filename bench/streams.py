"""Issue 16's targets for the streams users wait on: batch lines/s (from a file and through
a pipe, with and without PYTHONUNBUFFERED), what `--jobs 2` gains over `--jobs 1`, and
`grad --json` with every node on the long chain (peak memory, and time against
`--no-nodes`), and `grad --explain` on a node used 4,000 times (under 1 s, issue 16's
target 4). Each is a whole `bpcli` process, as a user runs it; the runs of one
target are interleaved, so that a busy machine slows both sides of a ratio alike.

`python -m bench.streams [--quick]` runs these alone; `python -m bench` runs them too.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from time import perf_counter

from .graphs import generate, to_bpcli
from .growth import sum_of_uses
from .processes import (
    LECTURE_GRADIENTS,
    batch_command,
    bench_env,
    bpcli_executable,
    run_measured,
)
from .report import Target, _at_least, _at_most
from .runner import Settings

# The lecture's request with a learning rate, one line each (the workload).
LECTURE_LINE = (
    '{{"id": {}, "expr": "(x+y)*z", "values": {{"x": -2, "y": 5, "z": -4}}, "lr": 0.1}}\n'
)
LECTURE_UPDATE = {"x": -1.6, "y": 5.4, "z": -4.3}  # x - 0.1 * df/dx, worked by hand
# The same request with x = -2 - i on line i: no two lines alike, so no answer is reused
# (batch answers a repeated request from the text of its first answer). By hand:
# df/dx = df/dy = z = -4, df/dz = x + y = 3 - i.
DISTINCT_LINE = (
    '{{"id": {0}, "expr": "(x+y)*z", "values": {{"x": {1}, "y": 5, "z": -4}}, "lr": 0.1}}\n'
)
DISTINCT = ", no two lines alike"  # the end of those settings' names

TARGET_LINES_PER_S = 50_000
TARGET_JOBS_RATIO = 1.6
TARGET_NODES_MB = 400
TARGET_NODES_TIME = 2.0  # times `--no-nodes`
TARGET_EXPLAIN_S = 1.0  # `grad --explain` on a node used EXPLAIN_USES times, the whole command


@dataclass(frozen=True)
class Sizes:
    lines: int = 40_000  # batch throughput
    jobs_lines: int = 200_000  # --jobs 2 against --jobs 1
    chain: int = 1_000_000  # grad --json with nodes
    repeat: int = 3
    uses: int = 4_000  # grad --explain on x + x + … + x

    @classmethod
    def of(cls, settings: Settings) -> Sizes:
        """The runner's sizes: its batch lines (twice, and ten times for --jobs), its
        end-to-end chain, its repeats, and the issue's 4,000 uses (fewer, if the chain is
        shorter: a quick run)."""
        lines = settings.batch_lines
        uses = min(cls.uses, settings.e2e_size)
        return cls(2 * lines, 10 * lines, settings.e2e_size, settings.repeat, uses)


QUICK = Sizes(lines=300, jobs_lines=600, chain=1_000, repeat=1, uses=100)
JOBS_PAIRS = 3  # --jobs 1 and --jobs 2 runs, interleaved, at the least


def requests(path: Path, lines: int, distinct: bool = False) -> Path:
    text = (
        DISTINCT_LINE.format(i, -2 - i) if distinct else LECTURE_LINE.format(i)
        for i in range(lines)
    )
    path.write_text("".join(text), encoding="utf-8")
    return path


def check_answers(path: Path, lines: int, distinct: bool = False) -> None:
    """Every line answered, in order, with the lecture's numbers (the first and the last;
    the last of distinct lines with its own, worked by hand in DISTINCT_LINE's comment)."""
    with path.open(encoding="utf-8") as answers:
        count, first, last = 0, "", ""
        for count, line in enumerate(answers, start=1):  # noqa: B007
            first = first or line
            last = line
    if count != lines:
        raise RuntimeError(f"bpcli batch answered {count} of {lines} lines")
    for number, line in ((0, first), (lines - 1, last)):
        answer = json.loads(line)
        result = answer["result"]
        expected = LECTURE_GRADIENTS
        if distinct and number:
            expected = {"x": -4.0, "y": -4.0, "z": 3.0 - number}
        if answer["id"] != number or result["gradients"] != expected:
            raise RuntimeError(f"bpcli batch gave a wrong answer: {line[:200]}")
        if number == 0 and result["update"]["inputs"] != LECTURE_UPDATE:
            raise RuntimeError(f"bpcli batch gave a wrong update: {result['update']}")


def batch_seconds(
    source: Path, answers: Path, *, pipe: bool, unbuffered: bool, jobs: int = 1
) -> tuple[float, float]:
    """One `bpcli batch` over `source`, from the file to a file, or `cat | bpcli | cat`:
    its wall time, and the CPU time of the processes (on a busy machine the wall time
    also counts the waits for a core; the CPU time hardly does)."""
    env = bench_env(unbuffered)  # without PYTHONUNBUFFERED, as in a user's shell, unless asked
    command = batch_command(jobs)
    # The last run's answers (200 MB for --jobs) written to disk first: else the
    # kernel writes them back during this run, on the cores it is timed on.
    os.sync()
    before = _children_cpu()
    with answers.open("wb") as out:
        start = perf_counter()
        if not pipe:
            subprocess.run([*command, str(source)], stdout=out, env=env, check=False)
        else:
            cat_in = subprocess.Popen(["cat", str(source)], stdout=subprocess.PIPE)
            bpcli = subprocess.Popen(
                [*command, "-"], stdin=cat_in.stdout, stdout=subprocess.PIPE, env=env
            )
            assert cat_in.stdout is not None and bpcli.stdout is not None
            cat_in.stdout.close()
            cat_out = subprocess.Popen(["cat"], stdin=bpcli.stdout, stdout=out)
            bpcli.stdout.close()
            for process in (cat_in, bpcli, cat_out):
                process.wait()
        return perf_counter() - start, _children_cpu() - before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass(frozen=True)
class Throughput:
    lines: int
    per_second: dict[str, float]  # "file", "pipe" × ", PYTHONUNBUFFERED=1" or not
    per_cpu_second: dict[str, float]  # the same, lines per second of CPU time


def throughput(sizes: Sizes, folder: Path) -> Throughput:
    source = requests(folder / "lecture.jsonl", sizes.lines)
    different = requests(folder / "distinct.jsonl", sizes.lines, distinct=True)
    answers = folder / "answers.jsonl"
    settings = [
        (distinct, pipe, unbuffered)
        for distinct in (False, True)
        for pipe in (False, True)
        for unbuffered in (False, True)
    ]
    times: dict[str, list[float]] = {}
    cpu: dict[str, list[float]] = {}
    for _ in range(sizes.repeat):  # interleaved
        for distinct, pipe, unbuffered in settings:
            name = ("pipe" if pipe else "file") + (", PYTHONUNBUFFERED=1" if unbuffered else "")
            name += DISTINCT if distinct else ""
            lines = different if distinct else source
            seconds, cpu_seconds = batch_seconds(lines, answers, pipe=pipe, unbuffered=unbuffered)
            check_answers(answers, sizes.lines, distinct=distinct)
            times.setdefault(name, []).append(seconds)
            cpu.setdefault(name, []).append(cpu_seconds)

    def rates(found: dict[str, list[float]]) -> dict[str, float]:
        return {name: sizes.lines / max(statistics.median(t), 1e-9) for name, t in found.items()}

    return Throughput(sizes.lines, rates(times), rates(cpu))


@dataclass(frozen=True)
class Jobs:
    lines: int
    one: float  # median seconds, --jobs 1
    two: float
    load: tuple[float, float, float]  # the machine's load average when it ended
    cores: int
    halves: float | None = None  # median seconds, two --jobs 1 on the halves at once

    @property
    def ratio(self) -> float:
        return self.one / self.two

    @property
    def ceiling(self) -> float | None:
        """What two processes gain here when nothing is shared between them, not even the
        file: two `--jobs 1` answering a half each, at once. The cores and memory of
        this machine allow --jobs 2 no more than this, however it shares the work out."""
        return None if not self.halves else self.one / self.halves


def jobs(sizes: Sizes, folder: Path) -> Jobs:
    source = requests(folder / "jobs.jsonl", sizes.jobs_lines)
    halves = _halves(source, folder)
    answers = folder / "answers.jsonl"
    times: dict[int, list[float]] = {1: [], 2: []}
    at_once: list[float] = []  # the halves, each by a --jobs 1 of its own
    # at least three rounds: this machine's second core varies from run to run, and a
    # median of two is their mean
    for _ in range(max(sizes.repeat, JOBS_PAIRS)):
        for count in (1, 2):
            seconds, _ = batch_seconds(source, answers, pipe=False, unbuffered=False, jobs=count)
            times[count].append(seconds)
            check_answers(answers, sizes.jobs_lines)
        at_once.append(_at_once(halves))
    return Jobs(
        sizes.jobs_lines,
        statistics.median(times[1]),
        statistics.median(times[2]),
        os.getloadavg(),
        os.cpu_count() or 1,
        statistics.median(at_once),
    )


def _halves(source: Path, folder: Path) -> list[tuple[Path, Path]]:
    """The requests' two halves, each a file of its own, with the file its answers go to."""
    lines = source.read_bytes().splitlines(keepends=True)
    middle = len(lines) // 2
    found = []
    for k, part in enumerate((lines[:middle], lines[middle:])):
        half = folder / f"half{k}.jsonl"
        half.write_bytes(b"".join(part))
        found.append((half, folder / f"half{k}.answers.jsonl"))
    return found


def _at_once(halves: list[tuple[Path, Path]]) -> float:
    """The wall time of one `bpcli batch` a half, all started together, until all end."""
    os.sync()  # as batch_seconds: the last run's answers on disk first
    command = batch_command()
    with contextlib.ExitStack() as stack:
        outs = [stack.enter_context(answers.open("wb")) for _, answers in halves]
        start = perf_counter()
        running = [
            subprocess.Popen([*command, str(half)], stdout=out, env=bench_env())
            for (half, _), out in zip(halves, outs, strict=True)
        ]
        codes = [process.wait() for process in running]
        seconds = perf_counter() - start
    for (half, answers), code in zip(halves, codes, strict=True):
        if code or _count_lines(answers) != _count_lines(half):
            raise RuntimeError(f"bpcli batch on half of the lines ended with {code}")
    return seconds


def _count_lines(path: Path) -> int:
    with path.open("rb") as lines:
        return sum(1 for _ in lines)


@dataclass(frozen=True)
class Nodes:
    size: int
    nodes_seconds: float
    nodes_mb: float | None
    plain_seconds: float  # --no-nodes
    plain_mb: float | None
    nodes_cpu: float | None = None  # CPU seconds (the process and its launcher's start)
    plain_cpu: float | None = None
    pairs: tuple[float, ...] = ()  # each interleaved pair's ratio, in run order

    @property
    def ratio(self) -> float:
        return self.nodes_seconds / self.plain_seconds

    @property
    def added(self) -> float:
        """What writing the nodes adds, in microseconds a node (the medians' difference)."""
        return (self.nodes_seconds - self.plain_seconds) / self.size * 1e6


def nodes(sizes: Sizes, folder: Path) -> Nodes:
    """`grad --file chain --json` with its nodes and with --no-nodes, interleaved."""
    tape = generate("chain", sizes.chain, 0)
    text = folder / "chain.txt"
    text.write_text(to_bpcli(tape), encoding="utf-8")
    values = [f"--{name}={value!r}" for name, value in tape.inputs().items()]
    answer = folder / "answer.json"
    runs: dict[bool, list[tuple[float, float | None]]] = {True: [], False: []}
    cpu: dict[bool, list[float]] = {True: [], False: []}
    for _ in range(sizes.repeat):
        for with_nodes in (True, False):
            args = ["grad", "--file", str(text), *values, "--json"]
            args += [] if with_nodes else ["--no-nodes"]
            before = _children_cpu()
            done = run_measured([str(bpcli_executable()), *args], answer, timeout=600)
            cpu[with_nodes].append(_children_cpu() - before)
            if done.code != 0:
                raise RuntimeError(f"bpcli grad failed ({done.code}): {done.stderr[-300:]}")
            runs[with_nodes].append((done.seconds, done.peak_mb))
        if not answer.read_bytes().startswith(b'{"schema_version": 1, "output"'):
            raise RuntimeError("bpcli grad --no-nodes wrote an unexpected answer")

    def peak(found: list[tuple[float, float | None]]) -> float | None:
        peaks = [mb for _, mb in found if mb is not None]
        return max(peaks) if peaks else None

    def median(found: list[tuple[float, float | None]]) -> float:
        return statistics.median(seconds for seconds, _ in found)

    pairs = tuple(a / b for (a, _), (b, _) in zip(runs[True], runs[False], strict=True))
    return Nodes(
        sizes.chain, median(runs[True]), peak(runs[True]), median(runs[False]), peak(runs[False]),
        statistics.median(cpu[True]), statistics.median(cpu[False]), pairs,
    )  # fmt: skip


@dataclass(frozen=True)
class Explain:
    uses: int
    seconds: float  # the median wall time of the whole command
    cpu: float  # … and its CPU time (the process and its launcher's start)


EXPLAIN_ROW = re.compile(
    r"^x\s+var\s+x\s+1\s+(\d+)\s*$", re.MULTILINE
)  # node, op, text, value, grad


def explain(sizes: Sizes, folder: Path) -> Explain:
    """`bpcli grad --file … --x 1 --explain` on x + x + … + x, whose ∂f/∂x is the count of
    its uses (each add sends its upstream 1 to x: the copy gate sums them)."""
    program = folder / "uses.txt"
    program.write_text(sum_of_uses(sizes.uses), encoding="utf-8")
    shown = folder / "explain.txt"
    walls, cpus = [], []
    for _ in range(sizes.repeat):
        before = _children_cpu()
        args = [str(bpcli_executable()), "grad", "--file", str(program), "--x=1", "--explain"]
        done = run_measured(args, shown, timeout=600)
        cpus.append(_children_cpu() - before)
        if done.code != 0:
            raise RuntimeError(f"bpcli grad --explain failed ({done.code}): {done.stderr[-300:]}")
        walls.append(done.seconds)
        found = EXPLAIN_ROW.search(shown.read_text(encoding="utf-8"))
        if found is None or int(found[1]) != sizes.uses:
            raise RuntimeError(f"bpcli grad --explain did not give ∂f/∂x = {sizes.uses}")
    return Explain(sizes.uses, statistics.median(walls), statistics.median(cpus))


def targets(
    through: Throughput | None,
    fan: Jobs | None,
    big: Nodes | None,
    told: Explain | None = None,
) -> list[Target]:
    """The lines `python -m bench` prints: PASS, or the gap."""
    found = []
    if through is not None:
        for name, rate in through.per_second.items():
            cpu = through.per_cpu_second.get(name)
            what = (
                "lecture-shaped lines with lr"
                if name.endswith(DISTINCT)
                else "lecture lines with lr"
            )
            text = (
                f"batch, {through.lines:,} {what}, {name}: {rate:,.0f} lines/s"
                + ("" if cpu is None else f" ({cpu:,.0f} per CPU-second)")
                + f" (target ≥{TARGET_LINES_PER_S:,})"
            )
            found.append(Target("16.1", text, _at_least(rate, TARGET_LINES_PER_S)))
    if fan is not None:
        load = ", ".join(f"{x:.2f}" for x in fan.load)
        text = (
            f"batch --jobs 2 against --jobs 1, {fan.lines:,} lines: {fan.two:.2f} s against"
            f" {fan.one:.2f} s, {fan.ratio:.2f}x (target ≥{TARGET_JOBS_RATIO} on two idle cores;"
            f" {fan.cores} cores, load average {load})"
        )
        if fan.halves and fan.ceiling:
            text += (
                f"; this machine's ceiling: two --jobs 1 on the halves at once, {fan.halves:.2f} s,"
                f" {fan.ceiling:.2f}x, of which --jobs 2 reaches {fan.ratio / fan.ceiling:.0%}"
            )
        found.append(Target("16.2", text, _at_least(fan.ratio, TARGET_JOBS_RATIO)))
    if big is not None:
        mb = "?" if big.nodes_mb is None else f"{big.nodes_mb:.0f}"
        text = (
            f"grad --json with every node, chain of {big.size:,}: peak {mb} MB"
            f" (target <{TARGET_NODES_MB})"
        )
        verdict = "NOT MEASURED: no peak memory here"
        if big.nodes_mb is not None:
            verdict = _at_most(big.nodes_mb, TARGET_NODES_MB)
        found.append(Target("16.5", text, verdict))
        text = (
            f"grad --json with every node against --no-nodes, chain of {big.size:,}:"
            f" {big.nodes_seconds:.2f} s against {big.plain_seconds:.2f} s, {big.ratio:.2f}x"
            + _pairs_text(big)
            + _cpu_text(big)
            + f"; the nodes add {big.added:.2f} µs a node (target ≤{TARGET_NODES_TIME}x)"
        )
        found.append(Target("16.5", text, _at_most(big.ratio, TARGET_NODES_TIME)))
    if told is not None:
        text = (
            f"grad --explain on a node used {told.uses:,} times, the whole command:"
            f" {told.seconds:.2f} s (CPU {told.cpu:.2f} s) (target <{TARGET_EXPLAIN_S:g} s)"
        )
        found.append(Target("16.4", text, _at_most(told.seconds, TARGET_EXPLAIN_S)))
    return found


def _pairs_text(big: Nodes) -> str:
    """The spread of the pairs' own ratios, where there are several: how far the machine's
    drift moves this ratio in one run (the verdict stays the medians')."""
    if len(big.pairs) < 2:
        return ""
    return f" (pairs {min(big.pairs):.2f}x to {max(big.pairs):.2f}x)"


def _cpu_text(big: Nodes) -> str:
    """The CPU times beside the wall times: on a busy machine the wall time also counts
    the waits for a core (the verdict stays the wall times')."""
    if not big.nodes_cpu or not big.plain_cpu:
        return ""
    ratio = big.nodes_cpu / big.plain_cpu
    return f" (CPU {big.nodes_cpu:.2f} s against {big.plain_cpu:.2f} s, {ratio:.2f}x)"


def run(sizes: Sizes, log: Callable[[str], None]) -> list[Target]:
    """Measure all four; a measurement that fails says so in its place."""
    through = fan = big = told = None
    problems = []
    measures: tuple[tuple[str, Callable[[Sizes, Path], object]], ...] = (
        ("batch", throughput),
        ("--jobs", jobs),
        ("nodes", nodes),
        ("--explain", explain),
    )
    with tempfile.TemporaryDirectory(prefix="bench-streams-") as name:
        folder = Path(name)
        for label, measure in measures:
            log(f"streams: {label}")
            try:
                found = measure(sizes, folder)
            except (OSError, RuntimeError, subprocess.SubprocessError, ValueError) as exc:
                problems.append(Target("16", f"{label} could not be measured", f"{exc}"))
                continue
            if isinstance(found, Throughput):
                through = found
            elif isinstance(found, Jobs):
                fan = found
            elif isinstance(found, Nodes):
                big = found
            elif isinstance(found, Explain):
                told = found
    return targets(through, fan, big, told) + problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.streams", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke test")
    args = parser.parse_args(argv)
    for target in run(QUICK if args.quick else Sizes(), lambda line: print(line, file=sys.stderr)):
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
