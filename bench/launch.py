"""Start one command and report its wall time and its own peak memory, as JSON.

`python -m bench.launch '[ARGS, STDOUT_FILE, STDIN_FILE or null]'`

Why a launcher: a child's `ru_maxrss` is at least the size of the process
that started it (exec records the forked image's peak), so a command started
straight from a large runner would read as the runner's size. Started from
this small process, its peak is its own (whenever it is above ~10 MB).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from time import perf_counter


def main() -> None:
    args, stdout, stdin = json.loads(sys.argv[1])
    with (
        open(stdout, "wb") as out,
        open(stdout + ".err", "wb") as err,
        open(stdin or os.devnull, "rb") as source,
    ):
        start = perf_counter()
        process = subprocess.Popen(args, stdin=source, stdout=out, stderr=err)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = perf_counter() - start
    peak_kb = usage.ru_maxrss // 1024 if sys.platform == "darwin" else usage.ru_maxrss
    print(json.dumps([seconds, peak_kb, os.waitstatus_to_exitcode(status)]))


if __name__ == "__main__":
    main()
