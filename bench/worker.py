"""One measurement in a fresh process: `python -m bench.worker JOB.json`.

A fresh process per (engine, shape, size) makes its peak memory its own:
PyTorch and micrograd allocate outside Python's heap, and nothing measured
before can hide in, or add to, the peak. Memory is the peak resident set
size during the runs minus the resident size just before them (after the
imports and the loaded tape): the peak is started over there (Linux's
clear_refs) and read as VmHWM. The result goes to the job's result file as JSON.
"""

from __future__ import annotations

import faulthandler
import gc
import json
import os
import resource
import signal
import sys
import traceback
from pathlib import Path
from time import perf_counter
from types import FrameType
from typing import Any

from .engines import ENGINES
from .graphs import Tape


def current_rss_kb() -> int | None:
    """This process's resident set size now, in KiB (Linux), or None."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[1])
    except OSError:
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def peak_rss_kb() -> tuple[int, bool]:
    """This process's peak resident set size in KiB, and whether it is its own.

    Linux's VmHWM is this process's own peak. `ru_maxrss` is the fallback, but
    it is also at least the parent's size when it started this process
    (exec records the forked image's peak), so a small measurement started by
    a large runner would read as the runner's size.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]), True
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return (peak // 1024 if sys.platform == "darwin" else peak), False


def reset_peak() -> bool:
    """Start the peak over from the current size (Linux 4.0+: clear_refs 5); False if refused."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        return False
    return True


def measure(job: dict[str, Any]) -> dict[str, Any]:
    engine = ENGINES[job["engine"]]()
    tape = Tape.load(Path(job["tape"]))
    text = Path(job["text"]).read_text(encoding="utf-8") if job.get("text") else None
    engine.prepare(tape, text)
    gc.collect()
    baseline = current_rss_kb()
    reset = reset_peak()
    if baseline is None or not reset:
        baseline = peak_rss_kb()[0]  # the peak so far: the memory figure is then a lower bound
    runs: list[dict[str, float]] = []
    answer = None
    started = perf_counter()
    # A quick job runs until it has taken least_seconds (up to MAX_RUNS times), so that its
    # median is of enough runs to stand above the machine's noise (two of 40 ms did not).
    while len(runs) < job["repeat"] or (
        perf_counter() - started < job.get("least_seconds", 0.0) and len(runs) < MAX_RUNS
    ):
        phases, got = engine.run()
        runs.append(phases)
        if answer is None:
            answer = got
        gc.collect()
        if perf_counter() - started > job["budget"]:
            break  # slow engines: fewer runs rather than no report
    assert answer is not None
    peak, own = peak_rss_kb()
    return {
        "ok": True,
        "runs": runs,
        "output": answer[0],
        "gradients": answer[1],
        "memory_kb": peak - baseline,
        "memory_exact": reset and own,
        "nodes": engine.nodes(),
        "note": engine.note,
    }


MAX_RUNS = 25  # runs of a quick job, at most (see --least-seconds)


# The C-level dump comes this long after the time limit, in case the main thread is
# stuck in one long C call and the Python-level alarm cannot run.
BACKSTOP_S = 10.0


def write_result(job: dict[str, Any], result: dict[str, Any]) -> None:
    finished = Path(job["result"])
    partial = finished.with_suffix(".partial")
    partial.write_text(json.dumps(result), encoding="utf-8")
    partial.replace(finished)  # whole or not at all


def stop_at_time_limit(job: dict[str, Any]) -> None:
    """At the job's time limit, record where the main thread is and stop.

    A Python signal handler runs in the main thread between two bytecodes, so the
    stack it sees is exact (faulthandler's dump, taken from another thread while the
    main one runs, can come out torn). The faulthandler dump stays as the backstop
    for a main thread stuck in C; the runner reads either.
    """

    def alarm(signum: int, frame: FrameType | None) -> None:
        stack = traceback.extract_stack(frame)
        where = [f"{f.name} ({Path(f.filename).name}:{f.lineno})" for f in reversed(stack)]
        write_result(job, {"ok": False, "timed_out": True, "where": " < ".join(where[:3])})
        os._exit(0)

    signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, job["timeout"])
    faulthandler.dump_traceback_later(job["timeout"] + BACKSTOP_S, exit=True)


def main() -> None:
    job = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    if job.get("timeout"):
        stop_at_time_limit(job)
    try:
        result = measure(job)
    except RecursionError:
        result = {"ok": False, "error": "RecursionError (maximum recursion depth exceeded)"}
    except MemoryError:
        result = {"ok": False, "error": "MemoryError"}
    except Exception as exc:
        last = traceback.extract_tb(exc.__traceback__)[-1]
        where = f"{Path(last.filename).name}:{last.lineno}"
        result = {"ok": False, "error": f"{type(exc).__name__}: {exc} (at {where})"[:500]}
    signal.setitimer(signal.ITIMER_REAL, 0)
    write_result(job, result)
    sys.stdout.flush()
    sys.stderr.flush()
    # Skip the interpreter's teardown: freeing a million-node graph object by object
    # is not part of any measurement, and an engine's exit must not hang the run.
    os._exit(0)


if __name__ == "__main__":
    main()
