"""Every input goes through one bounded reader: a stream never grows memory past the limit.

The runs are real processes under an address-space limit (RLIMIT_AS), fed by
streams far larger than the 50 MB input limit: a pipe, a FIFO, /dev/zero. Each
must end with exit 2 and a clear message, within the memory limit. Before the
one reader, `check` and `key` read such streams whole (MemoryError, exit 3).
"""

from __future__ import annotations

import json
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


# ---- what the command line says back (issue 17) -------------------------------------------

# A byte that is not UTF-8 in an argument reaches Python as a lone surrogate
# (surrogateescape): "\udcff" is the byte 0xff.
NOT_UTF8 = [
    (["x+1 # \udcff", "x=1", "--json"], "the expression: not UTF-8 text (byte 7)"),
    (["x+1 # \udcff", "x=1"], "the expression: not UTF-8 text (byte 7)"),
    (["x+1", "x=1\udcff", "--json"], "the value of x: not UTF-8 text (byte 2)"),
    (["x+1", "--x", "1\udcff"], "the value of x: not UTF-8 text (byte 2)"),
    (["x+1", "--x=1\udcff", "--json"], "the value of x: not UTF-8 text (byte 2)"),
]


@pytest.mark.parametrize("args, message", NOT_UTF8, ids=[repr(a) for a, _ in NOT_UTF8])
def test_an_argument_that_is_not_utf8_is_refused(bpcli, args, message):
    run = bpcli("grad", *args)
    assert (run.code, run.stdout, run.stderr) == (2, "", f"error: {message}\n")


@pytest.mark.parametrize("args, message", NOT_UTF8, ids=[repr(a) for a, _ in NOT_UTF8])
def test_the_fast_path_leaves_an_argument_that_is_not_utf8_to_the_full_path(args, message, capsys):
    from bpcli.entry import fast_grad_json

    assert not fast_grad_json(args)
    assert capsys.readouterr().out == ""


@pytest.mark.integration
@pytest.mark.parametrize("encoding", ["utf-8:strict", "utf-8:surrogateescape"])
def test_an_expression_that_is_not_utf8_is_exit_2_whatever_stdout_takes(encoding):
    """Before: exit 3 under a strict UTF-8 stdout, and invalid UTF-8 JSON under another."""
    env = {**os.environ, "PYTHONPATH": SOURCE, "NO_COLOR": "1", "PYTHONIOENCODING": encoding}
    done = subprocess.run(
        [sys.executable, "-m", "bpcli", "grad", b"x+1 # \xff", "x=1", "--json"],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert (done.returncode, done.stdout) == (2, b"")
    assert done.stderr == b"error: the expression: not UTF-8 text (byte 7)\n"


# `--` ends the options: after it, every argument is the expression or NAME=VALUE.
def test_after_double_dash_an_expression_may_start_with_two_dashes(bpcli, capsys):
    """--x is -(-x): f = x, so f = 3 and ∂f/∂x = 1 at x = 3, on both paths."""
    import json

    from bpcli.entry import fast_grad_json

    assert fast_grad_json(["--json", "--", "--x", "x=3"])
    fast = json.loads(capsys.readouterr().out)
    full = bpcli("grad", "--json", "--precision", "3", "--", "--x", "x=3")
    assert full.code == 0
    for data in (fast, json.loads(full.stdout)):
        assert (data["output"]["value"], data["gradients"]) == (3.0, {"x": 1.0})


def test_an_option_after_double_dash_is_not_read_as_one(bpcli, capsys):
    from bpcli.entry import fast_grad_json

    args = ["--", "x*2", "x=1", "--json"]
    assert not fast_grad_json(args)
    assert capsys.readouterr().out == ""
    run = bpcli("grad", *args)
    assert (run.code, run.stdout) == (2, "")
    assert run.stderr == "error: --json is after --, which ends the options: put it before --\n"


@pytest.mark.parametrize(
    "args, name",
    [
        (["--lr", "0.1", "--lr", "0.2"], "--lr"),  # before: the last one, 0.2, silently
        (["--lr=0.1", "--lr", "0.2", "--json"], "--lr"),
        (["--json", "--json"], "--json"),
        (["--max-tie", "first", "--json", "--max-tie=split"], "--max-tie"),
    ],
)
def test_an_option_given_twice_is_refused_as_an_input_given_twice_is(bpcli, capsys, args, name):
    from bpcli.entry import fast_grad_json

    full = ["x*2", "x=1", *args]
    assert not fast_grad_json(full)
    assert capsys.readouterr().out == ""
    run = bpcli("grad", *full)
    assert (run.code, run.stdout, run.stderr) == (2, "", f"error: {name} is given twice\n")


LONG = "a" * 10**6  # a name of a million characters: the message echoes 40 and the length
SHORT = "a" * 40 + "… (1,000,000 characters)"


@pytest.mark.parametrize(
    "args, message",
    [
        (["x*2", f"--{LONG}"], f"--{SHORT} needs a value"),
        (["x*2", "x=1", f"{LONG}=1"], f"{SHORT} is not an input of the expression (its inputs are x)"),
        (["x*2", "x=1", f"--{LONG}", "two"], f"the value of {SHORT} must be a number such as 2, -0.5 or 1e-3, got 'two'"),
        (["x*2", "x=1", "--max-tie", LONG], f"--max-tie is split or first, got '{SHORT}'"),
    ],
    ids=["needs a value", "not an input", "not a number", "--max-tie"],
)  # fmt: skip
def test_a_long_name_is_shortened_in_a_message(bpcli, args, message):
    run = bpcli("grad", *args)
    assert (run.code, run.stderr) == (2, f"error: {message}\n")


def test_a_long_name_is_shortened_in_the_apis_and_batchs_messages():
    import json

    with pytest.raises(bpcli.BindError) as raised:
        bpcli.grad("x*2", {"x": 1, LONG: 2})
    assert str(raised.value).startswith(f"{SHORT} is not an input of the expression")
    line = json.dumps({"expr": "x", "values": {"x": 1, LONG: "two"}})
    from bpcli.batch import answer

    reply = answer(line, 1, {})
    assert reply is not None
    assert reply["error"]["message"] == (
        f'line 1: values must be an object of name: number; the value of {SHORT} is "two"'
    )


# ---- hints for what a student types -------------------------------------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-x", "-2", "-y", "5", "x*y"), "-x -2 is not an input's value: did you mean --x -2? (two dashes, or x=-2)"),
        (("(x+y)*z", "--x", "-2", "-y", "5", "--z", "-4"), "-y 5 is not an input's value: did you mean --y 5? (two dashes, or y=5)"),
    ],
)  # fmt: skip
def test_an_input_with_one_dash_asks_for_two(bpcli, args, message):
    run = bpcli("grad", *args)
    assert (run.code, run.stderr) == (2, f"error: {message}\n")


def test_one_dash_before_a_name_is_still_a_minus_sign(bpcli):
    run = bpcli("grad", "-x", "--x", "2", "--json")
    assert run.code == 0 and json.loads(run.stdout)["gradients"] == {"x": -1.0}


@pytest.mark.parametrize("name", ["prog.bp", "hw/1.txt", "f.expr"])
def test_a_file_name_for_the_expression_asks_for_file(bpcli, name):
    run = bpcli("grad", name, "--x", "1")
    assert (run.code, run.stderr) == (
        2,
        f"error: {name!r} is not an expression: did you mean --file {name}?\n",
    )


def test_an_existing_file_for_the_expression_asks_for_file(bpcli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "my prog").write_text("x*2\n", encoding="utf-8")
    run = bpcli("graph", "my prog", "--x", "1")
    assert (run.code, run.stderr) == (
        2,
        "error: 'my prog' is not an expression: did you mean --file 'my prog'?\n",
    )
    # an expression that parses is an expression, even where a file has its name
    (tmp_path / "x").write_text("y*2\n", encoding="utf-8")
    assert bpcli("grad", "x", "--x", "3", "--json").code == 0
