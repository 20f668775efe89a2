"""The command line as whole processes: cold start, batch throughput, end to end.

Each is timed from the parent with `subprocess`, so interpreter start-up and
imports count, as they do for a user. A child's peak memory comes from
`os.wait4`, which reports that one child's resource usage, in a small
launcher process (bench/launch.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

LECTURE = ["grad", "(x+y)*z", "--x", "-2", "--y", "5", "--z", "-4", "--json"]
TABLE = LECTURE[:-1]  # the table a student sees first
LECTURE_GRADIENTS = {"x": -4.0, "y": -4.0, "z": 3.0}
TABLE_ANSWER = "∂f/∂x = -4   ∂f/∂y = -4   ∂f/∂z = 3"  # the table's last line

# The smallest Typer app: one command that prints its argument.
MINIMAL_TYPER_APP = """import typer

app = typer.Typer()


@app.command()
def main(text: str) -> None:
    print(text)


if __name__ == "__main__":
    app()
"""


def bpcli_executable() -> Path:
    """The `bpcli` script of this interpreter's environment (next to sys.executable)."""
    folder = Path(sys.executable).parent
    for name in ("bpcli", "bpcli.exe"):
        if (folder / name).exists():
            return folder / name
    found = shutil.which("bpcli")
    if found is None:
        raise FileNotFoundError(f"no bpcli script next to {sys.executable}")
    return Path(found)


@dataclass(frozen=True)
class Finished:
    seconds: float
    peak_mb: float | None  # the child's own peak resident set size
    code: int
    stderr: str


ROOT = Path(__file__).resolve().parent.parent  # the folder that holds the `bench` package


_NOT_A_USERS = frozenset(("PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE"))


def bench_env(unbuffered: bool = False) -> dict[str, str]:
    """The environment for a child: `bench` importable from anywhere, and neither of two
    settings of the machines here that a user's shell does not have: PYTHONUNBUFFERED
    (it makes every write to stdout a system call of its own), unless `unbuffered`
    sets it, and PYTHONDONTWRITEBYTECODE (with it, a checkout installed with `pip
    install -e` compiles every module of bpcli at every start, 30 ms of its cold start,
    where `pip install .`, as the README says, leaves them compiled)."""
    env = {k: v for k, v in os.environ.items() if k not in _NOT_A_USERS}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


def batch_command(jobs: int = 1) -> list[str]:
    """`bpcli batch`, with `--jobs` where more than one: what every batch run here starts
    (its input, a file or `-`, follows)."""
    return [str(bpcli_executable()), "batch", *(["--jobs", str(jobs)] if jobs > 1 else [])]


def run_measured(
    args: list[str], stdout: Path, stdin: Path | None = None, timeout: float = 600
) -> Finished:
    """Run a command with its output to a file: its wall time and its peak memory.

    It is started by a small launcher process (see bench/launch.py), so that
    its peak memory is its own and not the runner's.
    """
    if not hasattr(os, "wait4"):  # pragma: no cover - Windows: time only
        with stdout.open("wb") as sink, (stdin or Path(os.devnull)).open("rb") as source:
            start = perf_counter()
            done = subprocess.run(args, stdin=source, stdout=sink, stderr=subprocess.PIPE)
            return Finished(perf_counter() - start, None, done.returncode, done.stderr.decode())
    spec = json.dumps([args, str(stdout), str(stdin) if stdin else None])
    launcher = subprocess.Popen(
        [sys.executable, "-m", "bench.launch", spec],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=bench_env(),
        start_new_session=True,  # so that a timeout stops the command too
    )
    try:
        out, err = launcher.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(launcher.pid, signal.SIGKILL)
        launcher.communicate()
        raise RuntimeError(f"{Path(args[0]).name} timed out after {timeout:g} s") from None
    if launcher.returncode != 0:
        raise RuntimeError(f"the launcher failed: {err.decode(errors='replace')[-300:]}")
    seconds, peak_kb, code = json.loads(out)
    errors = Path(str(stdout) + ".err")
    message = errors.read_text(encoding="utf-8", errors="replace")
    errors.unlink()
    return Finished(seconds, peak_kb / 1024, code, message)


def _quick(args: list[str], env: dict[str, str] | None = None) -> float:
    start = perf_counter()
    done = subprocess.run(args, capture_output=True, check=False, env=env or bench_env())
    seconds = perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {done.stderr.decode(errors='replace')[-300:]}")
    return seconds


# What cold start times, in this order, in turn: name, what it is.
COLD_COMMANDS = {
    "bpcli": '`bpcli grad "(x+y)*z" --x -2 --y 5 --z -4 --json`',
    "table": '`bpcli grad "(x+y)*z" --x -2 --y 5 --z -4` (the table)',
    "typer": "a minimal Typer app printing its argument",
    "python": "`python -c pass`",
}


@dataclass(frozen=True)
class ColdStart:
    runs: int
    bpcli: float  # medians, seconds: `grad … --json`
    typer: float
    python: float  # `python -c pass`: the floor under both
    bpcli_samples: list[float]
    table: float | None = None  # `grad …`: the table
    unbuffered: dict[str, float] = field(default_factory=dict)  # the same, PYTHONUNBUFFERED=1

    def medians(self) -> dict[str, float]:
        found = {"bpcli": self.bpcli, "table": self.table, "typer": self.typer}
        return {k: v for k, v in {**found, "python": self.python}.items() if v is not None}


def cold_start(runs: int) -> ColdStart:
    """`bpcli grad "(x+y)*z" …` as JSON and as the table against a minimal Typer app,
    run in turn, without PYTHONUNBUFFERED (a user's shell) and with it (this machine)."""
    bpcli = str(bpcli_executable())
    # the checks are the warm-up too: in a user's environment (bench_env), the first run
    # of a checkout writes the compiled modules that later runs read
    env = bench_env()
    done = subprocess.run([bpcli, *LECTURE], capture_output=True, text=True, check=True, env=env)
    gradients = json.loads(done.stdout)["gradients"]
    if gradients != LECTURE_GRADIENTS:
        raise RuntimeError(f"bpcli grad gave {gradients}, expected {LECTURE_GRADIENTS}")
    table = subprocess.run([bpcli, *TABLE], capture_output=True, text=True, check=True, env=env)
    if table.stdout.splitlines()[-1:] != [TABLE_ANSWER]:
        raise RuntimeError(f"bpcli grad's table ends {table.stdout[-200:]!r}")
    with tempfile.TemporaryDirectory() as folder:
        app = Path(folder) / "minimal_typer_app.py"
        app.write_text(MINIMAL_TYPER_APP, encoding="utf-8")
        commands = {
            "bpcli": [bpcli, *LECTURE],
            "table": [bpcli, *TABLE],
            "typer": [sys.executable, str(app), "hello"],
            "python": [sys.executable, "-c", "pass"],
        }
        samples: list[dict[str, list[float]]] = []
        for setting in (False, True):  # PYTHONUNBUFFERED unset, then set
            env = bench_env(setting)
            samples.append({name: [] for name in commands})
            for _ in range(runs):
                for name, args in commands.items():
                    samples[-1][name].append(_quick(args, env))
    median, unbuffered = (
        {name: statistics.median(values) for name, values in found.items()} for found in samples
    )
    return ColdStart(
        runs,
        median["bpcli"],
        median["typer"],
        median["python"],
        samples[0]["bpcli"],
        median["table"],
        unbuffered,
    )


@dataclass(frozen=True)
class Batch:
    lines: int
    seconds: float
    per_second: float
    per_process_seconds: float  # one `bpcli grad … --json` process (the cold-start median)

    @property
    def per_process_per_second(self) -> float:
        return 1.0 / self.per_process_seconds

    @property
    def speedup(self) -> float:
        return self.per_second / self.per_process_per_second


def batch(lines: int, per_process_seconds: float) -> Batch:
    """`bpcli batch -` on `lines` copies of the lecture example, one process, from stdin."""
    request = '{{"id": {}, "expr": "(x+y)*z", "values": {{"x": -2, "y": 5, "z": -4}}}}\n'
    with tempfile.TemporaryDirectory() as folder:
        source, answers = Path(folder) / "requests.jsonl", Path(folder) / "answers.jsonl"
        source.write_text("".join(request.format(i) for i in range(lines)), encoding="utf-8")
        finished = run_measured([*batch_command(), "-"], answers, stdin=source)
        if finished.code != 0:
            raise RuntimeError(f"bpcli batch failed ({finished.code}): {finished.stderr[-300:]}")
        replies = answers.read_text(encoding="utf-8").splitlines()
    good = sum(1 for reply in replies if json.loads(reply)["ok"])
    if len(replies) != lines or good != lines:
        raise RuntimeError(f"bpcli batch answered {good} of {lines} lines")
    if json.loads(replies[-1])["result"]["gradients"] != LECTURE_GRADIENTS:
        raise RuntimeError("bpcli batch gave the wrong gradients")
    seconds = finished.seconds
    return Batch(lines, seconds, lines / seconds, per_process_seconds)


def grad_options() -> str:
    """`bpcli grad --help`, to see which options this bpcli has."""
    done = subprocess.run(
        [str(bpcli_executable()), "grad", "--help"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1", "TERM": "dumb"},
    )
    return done.stdout


@dataclass(frozen=True)
class EndToEnd:
    args: list[str]
    runs: int
    seconds: float  # median
    peak_mb: float | None  # the largest over the runs
    no_nodes: bool  # whether --no-nodes was there to use
    output: float
    gradients: dict[str, float]


def _field(text: str, key: str) -> object:
    """One top-level field of a JSON object without parsing the rest (a 10^6-node list)."""
    at = text.index(f'"{key}":') + len(key) + 3
    value, _ = json.JSONDecoder().raw_decode(text, at + (text[at] == " "))
    return value


def end_to_end(
    text_file: Path, inputs: dict[str, float], repeat: int, budget: float, timeout: float
) -> EndToEnd:
    """`bpcli grad --file F --x … --json --no-nodes`: reading, parsing, both passes, writing."""
    no_nodes = "--no-nodes" in grad_options()
    values = [f"--{name}={value!r}" for name, value in inputs.items()]
    args = ["grad", "--file", str(text_file), *values, "--json"]
    if no_nodes:
        args.append("--no-nodes")
    times: list[float] = []
    peaks: list[float] = []
    started = perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        answer = Path(folder) / "answer.json"
        while len(times) < repeat and (not times or perf_counter() - started < budget):
            finished = run_measured([str(bpcli_executable()), *args], answer, timeout=timeout)
            if finished.code != 0:
                raise RuntimeError(f"bpcli grad failed ({finished.code}): {finished.stderr[-300:]}")
            times.append(finished.seconds)
            if finished.peak_mb is not None:
                peaks.append(finished.peak_mb)
        text = answer.read_text(encoding="utf-8")
    output = _field(text, "output")
    gradients = _field(text, "gradients")
    assert isinstance(output, dict) and isinstance(gradients, dict)
    return EndToEnd(
        ["bpcli", *args],
        len(times),
        statistics.median(times),
        max(peaks) if peaks else None,
        no_nodes,
        float(output["value"]),
        {name: float(value) for name, value in gradients.items()},
    )
