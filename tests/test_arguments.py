"""Every input goes through one bounded reader: a stream never grows memory past the limit.

The runs are real processes under an address-space limit (RLIMIT_AS), fed by
streams far larger than the 50 MB input limit: a pipe, a FIFO, /dev/zero. Each
must end with exit 2 and a clear message, within the memory limit. Before the
one reader, `check` and `key` read such streams whole (MemoryError, exit 3).
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import bpcli

resource = pytest.importorskip("resource")  # POSIX only
pytestmark = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")

MEMORY = 250 * 2**20  # bytes of address space: the interpreter, bpcli, and one 50 MB input
STREAM = 300_000_000  # bytes offered: six times the input limit
SOURCE = str(Path(bpcli.__file__).resolve().parents[1])


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def bpcli_bounded(*args: str, stdin: object = subprocess.DEVNULL) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SOURCE, "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bpcli", *args],
        stdin=stdin,  # type: ignore[arg-type]
        capture_output=True,
        text=True,
        preexec_fn=_limited,
        env=env,
        timeout=120,
    )


LIMIT = "larger than 50,000,000 bytes"


@pytest.mark.integration
def test_check_reads_a_huge_pipe_only_up_to_the_limit():
    feed = subprocess.Popen(["head", "-c", str(STREAM), "/dev/zero"], stdout=subprocess.PIPE)
    try:
        done = bpcli_bounded("check", "/dev/stdin", stdin=feed.stdout)
    finally:
        assert feed.stdout is not None
        feed.stdout.close()
        feed.kill()
        feed.wait()
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"error: /dev/stdin: {LIMIT}, too large for a problem set\n"


@pytest.mark.integration
def test_key_reads_an_endless_device_only_up_to_the_limit():
    done = bpcli_bounded("key", "/dev/zero")
    assert done.returncode == 2, done.stderr
    assert done.stderr == f"error: /dev/zero: {LIMIT}, too large for a problem set\n"


def _fill(fifo: Path, stop: threading.Event) -> None:
    """Write to the FIFO until the reader goes away."""
    block = b"x" * (1 << 20)
    try:
        with open(fifo, "wb") as stream:
            while not stop.is_set():
                stream.write(block)
    except (BrokenPipeError, OSError):
        pass


@pytest.mark.integration
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("key", "{fifo}"), "error: {fifo}: " + LIMIT + ", too large for a problem set\n"),
        (("check", "{fifo}"), "error: {fifo}: " + LIMIT + ", too large for a problem set\n"),
        (("grad", "--file", "{fifo}"), "error: {fifo}: " + LIMIT + ", the --max-size\n"),
    ],
    ids=["key", "check", "grad --file"],
)
def test_a_fifo_that_never_ends_is_read_only_up_to_the_limit(tmp_path, args, message):
    fifo = tmp_path / "endless.toml"
    os.mkfifo(fifo)
    stop = threading.Event()
    writer = threading.Thread(target=_fill, args=(fifo, stop), daemon=True)
    writer.start()
    try:
        done = bpcli_bounded(*(arg.format(fifo=fifo) for arg in args))
    finally:
        stop.set()
        os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # frees a writer blocked in open()
        writer.join(timeout=10)
    assert done.returncode == 2, done.stderr
    assert done.stderr == message.format(fifo=fifo)


def test_a_huge_regular_file_is_refused_without_reading_it(tmp_path, bpcli):
    big = tmp_path / "big.bp"
    with open(big, "wb") as stream:
        stream.truncate(10**10)  # sparse: 10 GB that take no disk
    run = bpcli("grad", "--file", str(big))
    assert run.code == 2
    assert run.stderr == f"error: {big}: larger than 50,000,000 bytes, the --max-size\n"
