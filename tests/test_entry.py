"""The fast path of `bpcli grad` (entry.py: --json and the table) against the full command line.

Wherever the fast path answers, its output must be the full path's, byte for
byte; wherever it does not, it must have written nothing (the full path then
answers, errors included). And it must not import Typer (nor pydantic) or Lark, nor Rich for JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bpcli.cli import app
from bpcli.entry import GRAD_TAKES_VALUE, fast_batch, fast_grad_json, fast_grad_table

LECTURE = ["(x+y)*z", "--x", "-2", "--y", "5", "--z", "-4"]

ANSWERED = [
    [*LECTURE, "--json"],
    ["--json", *LECTURE],
    ["(x+y)*z", "--x=-2", "y=5", "z=-4", "--json"],
    ["q = x + y; f = q * z", *LECTURE[1:], "--json", "--lr", "0.1"],
    ["q = x + y; f = q * z", *LECTURE[1:], "--json", "--lr=0.1", "--steps", "3"],
    [*LECTURE, "--json", "--no-nodes"],
    ["max(x, y) * z", "x=1", "y=1", "z=2", "--json", "--max-tie", "first"],
    ["max(x, y) * z", "x=1", "y=1", "z=2", "--json", "--max-tie=split"],
    ["-tanh(h)", "--h", "0.5", "--json"],
    ["--json", "--", "-x*y", "x=2", "y=3"],
    ["α * β_1 + 가", "α=2", "β_1=3", "가=-1e-3", "--json"],
    ["# a comment\nx*x\n", "x=3", "--json"],
    ["lr * 2", "lr=1", "--json"],  # a variable named like an option, given as NAME=VALUE
    [*LECTURE, "--json", "--explain"],  # the walkthrough's steps as data
]

# The table a student sees first, with the options the fast path reads.
TABLES = [
    [*LECTURE],
    ["(x+y)*z", "--x=-2", "y=5", "z=-4"],
    ["q = x + y; f = q * z", *LECTURE[1:], "--lr", "0.1"],
    ["q = x + y; f = q * z", *LECTURE[1:], "--lr=0.1", "--steps", "3"],
    [*LECTURE, "--no-nodes"],
    ["max(x, y) * z", "x=1", "y=1", "z=2", "--max-tie", "first"],
    ["α * β_1 + 가", "α=2", "β_1=3", "가=-1e-3"],
    ["+".join(["x"] * 300), "x=1"],  # more rows than the table shows
    [*LECTURE, "--explain"],  # and the walkthrough
    ["q = x + y; f = q * z", *LECTURE[1:], "--lr", "0.1", "--explain"],
    ["max(x, y) * z", "x=1", "y=1", "z=2", "--explain", "--lang", "ko"],
]

LEFT_TO_THE_FULL_PATH = [
    [*LECTURE, "--precision", "3"],  # a table with an option the fast path does not read
    [*LECTURE, "--format", "markdown"],
    [*LECTURE, "--gradcheck"],
    ["(x+y)*z", "--x", "-2", "--y", "5"],  # z missing: the full path's error
    [*LECTURE, "--json", "--precision", "3"],
    [*LECTURE, "--json", "--gradcheck"],
    ["-", "x=1", "--json"],  # standard input can be read once
    ["--file", "-", "x=1", "--json"],
    ["--file", "no such file.txt", "x=1", "--json"],  # the full path's error
    [*LECTURE, "--json", "--json"],
    [*LECTURE, "--json=1"],
    [*LECTURE, "--json", "-h"],
    [*LECTURE, "--json", "--help"],
    ["(x+y)*z", "--x", "-2", "--y", "5", "--json"],  # z missing
    ["(x+y)*z", "--x", "two", "--y", "5", "--z", "1", "--json"],
    ["2x", "x=1", "--json"],
    [*LECTURE, "--json", "--steps", "3"],  # --steps needs --lr
    [*LECTURE, "--json", "--lr", "abc"],
    [*LECTURE, "--json", "--lr", "1_000"],
    [*LECTURE, "--json", "--lr", "0.1", "--steps", "0"],
    [*LECTURE, "--json", "--lr", "0.1", "--steps", "٣"],
    [*LECTURE, "--json", "--max-tie", "last"],
    [*LECTURE, "--json", "--lr"],
    ["lr * 2", "--json"],  # a variable named like an option, with no value
    [*LECTURE, "--jsn"],
    ["log(x)", "x=0", "--json"],  # undefined maths
    [*LECTURE, "--json", "--lr", "0.1", "--steps", "200000"],  # over the cap
]


def full(args: list[str]) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["grad", *args], prog_name="bpcli")
    return result.exit_code, result.stdout


def fast(args: list[str], capsys) -> tuple[bool, str]:
    answered = fast_grad_json(args) or fast_grad_table(args)  # as entry.run tries them
    return answered, capsys.readouterr().out


@pytest.mark.parametrize("as_json", [["--json"], [], ["--explain"]])
def test_a_program_from_a_file_is_answered_as_the_full_path_answers(as_json, tmp_path, capsys):
    program = tmp_path / "lecture.txt"
    program.write_text("q = x + y\nf = q * z\n", encoding="utf-8")
    args = ["--file", str(program), *LECTURE[1:], *as_json]
    answered, out = fast(args, capsys)
    assert answered
    assert (0, out) == full(args)
    assert "-12" in out  # f = (x+y)z = 3 · -4, the lecture's


@pytest.mark.parametrize(
    "args", ANSWERED + TABLES, ids=[" ".join(a)[:60] for a in ANSWERED + TABLES]
)
def test_answered_as_the_full_path_answers(args, capsys):
    answered, out = fast(args, capsys)
    assert answered
    code, expected = full(args)
    assert code == 0
    assert out == expected
    if "--json" in args:
        json.loads(out)  # and it is one JSON object


def test_each_fast_path_answers_its_own_kind_only(capsys):
    assert not fast_grad_json(LECTURE) and not fast_grad_table([*LECTURE, "--json"])
    assert capsys.readouterr().out == ""


def test_the_lecture_table(capsys):
    answered, out = fast(["q = x + y; f = q * z", *LECTURE[1:], "--lr", "0.1"], capsys)
    assert answered
    lines = [line.split() for line in out.splitlines()]
    assert lines[0] == ["computational", "graph"]
    assert ["q", "add", "x", "+", "y", "3", "-4"] in lines
    assert ["f", "=", "-12"] in lines
    assert ["∂f/∂x", "=", "-4", "∂f/∂y", "=", "-4", "∂f/∂z", "=", "3"] in lines
    # the lecture's update at α = 0.1: x -1.6, y 5.4, z -4.3, then f = -16.34
    assert ["x", "-2", "-4", "-1.6"] in lines and ["y", "5", "-4", "5.4"] in lines
    assert ["z", "-4", "3", "-4.3"] in lines
    assert lines[-1] == ["after", "the", "update:", "f", "=", "-16.34"]


def test_the_lecture_numbers(capsys):
    answered, out = fast(["q = x + y; f = q * z", *LECTURE[1:], "--json", "--lr", "0.1"], capsys)
    data = json.loads(out)
    assert answered and data["output"]["value"] == -12.0
    assert data["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert data["update"]["output"] == pytest.approx(-16.34, rel=1e-12)


@pytest.mark.parametrize(
    "args", LEFT_TO_THE_FULL_PATH, ids=[" ".join(a) for a in LEFT_TO_THE_FULL_PATH]
)
def test_everything_else_is_left_to_the_full_path_untouched(args, capsys):
    answered, out = fast(args, capsys)
    assert not answered
    assert out == ""


def test_a_large_expression(capsys):
    expr = "(" * 2000 + "x" + "*a+b)" * 2000  # 4,000 gates, 2,000 levels deep
    args = [expr, "x=0.5", "a=0.999", "b=0.001", "--json", "--no-nodes"]
    answered, out = fast(args, capsys)
    assert answered and out == full(args)[1]


@pytest.mark.parametrize("as_json", [True, False])
def test_out_of_memory_is_said_at_once_not_run_again_on_the_full_path(as_json, monkeypatch, capsys):
    """The full path would only run out of memory again, twice the wait for the same
    message: the fast path says it itself, exit 2 (test_streams runs it under a limit)."""
    import bpcli.entry

    tried = []

    def out_of_memory(*args):
        tried.append(args)
        raise MemoryError

    monkeypatch.setattr(bpcli.entry, "_answer", out_of_memory)
    with pytest.raises(SystemExit) as ended:
        (fast_grad_json if as_json else fast_grad_table)([*LECTURE, *(["--json"] * as_json)])
    assert ended.value.code == 2 and len(tried) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err == "error: out of memory: give bpcli more memory, or a smaller input\n"


def test_grad_options_are_the_commands():
    """GRAD_TAKES_VALUE (which options take a value) is what the Typer command declares."""
    import typer.main

    group = typer.main.get_command(app)
    command = group.commands["grad"]  # type: ignore[attr-defined]
    parent = group.make_context("bpcli", ["grad"], resilient_parsing=True)
    with command.make_context("grad", ["x"], parent=parent, resilient_parsing=True) as ctx:
        declared = {}
        for param in command.get_params(ctx):
            if param.param_type_name == "option":
                flag = bool(getattr(param, "is_flag", False) or getattr(param, "count", False))
                for opt in (*param.opts, *param.secondary_opts):
                    declared[opt] = not flag
    assert declared == GRAD_TAKES_VALUE


def run_script(args: list[str], code: str = "from bpcli.entry import run; run()", **kw):
    return subprocess.run(
        [sys.executable, "-c", f"import sys; sys.argv[0] = 'bpcli'; {code}", *args],
        capture_output=True,
        text=True,
        **kw,
    )


@pytest.mark.integration
def test_the_fast_path_imports_neither_typer_nor_rich_nor_lark():
    done = run_script(
        ["grad", *LECTURE, "--json"],
        "from bpcli.entry import run; run(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'typer', 'click', 'rich', 'pydantic', 'lark'}), file=sys.stderr)",
    )
    assert done.returncode == 0
    assert done.stderr.strip() == "[]"
    assert json.loads(done.stdout)["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}


@pytest.mark.integration
def test_the_table_imports_rich_but_neither_typer_nor_lark():
    done = run_script(
        ["grad", *LECTURE],
        "from bpcli.entry import run; run(); "
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'typer', 'click', 'rich', 'pydantic', 'lark'}), file=sys.stderr)",
    )
    assert done.returncode == 0
    assert done.stderr.strip() == "['rich']"
    assert done.stdout.splitlines()[-1].split() == [
        "∂f/∂x",
        "=",
        "-4",
        "∂f/∂y",
        "=",
        "-4",
        "∂f/∂z",
        "=",
        "3",
    ]


def in_a_terminal(args: list[str], code: str, columns: int) -> bytes:
    """What the script writes to a terminal `columns` wide (a pseudo-terminal)."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env["TERM"] = "xterm-256color"
    with subprocess.Popen(
        [sys.executable, "-c", f"import sys; sys.argv[0] = 'bpcli'; {code}", *args],
        stdout=follower,
        stderr=subprocess.PIPE,
        env=env,
    ) as process:
        os.close(follower)
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal is gone: the script has ended
                break
            if not chunk:
                break
            chunks.append(chunk)
        process.wait()
    os.close(leader)
    assert process.returncode == 0
    return b"".join(chunks)


TYPER = "from bpcli.cli import app; app(prog_name='bpcli')"


@pytest.mark.integration
@pytest.mark.skipif(sys.platform == "win32", reason="a pseudo-terminal is POSIX")
@pytest.mark.parametrize("args", TABLES[:4], ids=[" ".join(a)[:60] for a in TABLES[:4]])
def test_the_table_is_the_same_in_a_terminal_and_through_a_pipe(args):
    entry = "from bpcli.entry import run; run()"
    shown = in_a_terminal(["grad", *args], entry, 80)
    assert shown == in_a_terminal(["grad", *args], TYPER, 80)
    assert b"\x1b[" in shown  # a terminal gets colours
    piped, typer_piped = run_script(["grad", *args]), run_script(["grad", *args], TYPER)
    assert (piped.returncode, piped.stdout, piped.stderr) == (0, typer_piped.stdout, "")
    assert "\x1b[" not in piped.stdout


@pytest.mark.integration
def test_an_error_looks_the_same_either_way():
    args = ["grad", "(x+y)*z", "--x", "-2", "--y", "5", "--json"]
    via_entry = run_script(args)
    via_typer = run_script(args, "from bpcli.cli import app; app(prog_name='bpcli')")
    assert via_entry.returncode == via_typer.returncode == 2
    assert via_entry.stderr == via_typer.stderr and via_entry.stderr.startswith("error: ")
    assert via_entry.stdout == via_typer.stdout == ""


@pytest.mark.integration
def test_a_closed_pipe_is_a_quiet_exit():
    done = subprocess.run(
        f"{sys.executable} -m bpcli grad '{'+'.join(['x'] * 20000)}' x=1 --json | head -c 10",
        shell=True,
        capture_output=True,
        text=True,
    )
    assert done.stdout == '{"schema_v'
    assert done.stderr == ""


# ---- batch ---------------------------------------------------------------------------------

REQUESTS = Path(__file__).parent.parent / "docs" / "requests.jsonl"


def test_batch_answers_as_the_full_path_answers(capsys):
    """docs/requests.jsonl has good lines and bad ones: the same replies, the same exit 1."""
    with pytest.raises(SystemExit) as exited:
        fast_batch([str(REQUESTS)])
    out = capsys.readouterr().out
    result = CliRunner().invoke(app, ["batch", str(REQUESTS)], prog_name="bpcli")
    assert exited.value.code == result.exit_code == 1
    assert out == result.stdout
    replies = [json.loads(line) for line in out.splitlines()]
    assert replies[0]["ok"] and replies[0]["result"]["gradients"] == {
        "x": -4.0,
        "y": -4.0,
        "z": 3.0,
    }
    assert not all(reply["ok"] for reply in replies)


@pytest.mark.parametrize(
    "args",
    [
        ["-h"],
        ["a.jsonl", "b.jsonl"],
        ["--max-size", "1KB"],
        *(["--jobs", value] for value in ("0", "257", "x", "2.0", "-1", "١")),
        ["--jobs=0"],
        ["--jobs"],
    ],
)
def test_batch_options_are_left_to_the_full_path(args, capsys):
    """Every option but a --jobs the full path takes; a --jobs it refuses is its to
    report (with the same words as any other bad value)."""
    assert not fast_batch(args)
    assert capsys.readouterr().out == ""


@pytest.mark.integration
@pytest.mark.parametrize(
    "args",
    [
        ["batch", "missing.jsonl"],
        ["batch", "-"],
        ["batch", "--jobs", "2", "-"],
        ["batch", "-", "--jobs=2"],
        ["batch", "--jobs", "0", "-"],
        ["batch", "--jobs", "300", "-"],
    ],
)
def test_batch_ends_as_the_full_path_ends(args, tmp_path):
    line = '{"id": 1, "expr": "(x+y)*z", "values": {"x": -2, "y": 5, "z": -4}}\n'
    via_entry = run_script(args, cwd=tmp_path, input=line)
    via_typer = run_script(
        args, "from bpcli.cli import app; app(prog_name='bpcli')", cwd=tmp_path, input=line
    )
    assert (via_entry.returncode, via_entry.stdout, via_entry.stderr) == (
        via_typer.returncode, via_typer.stdout, via_typer.stderr,
    )  # fmt: skip
    assert via_entry.returncode in (0, 2)


@pytest.mark.integration
def test_batch_with_jobs_starts_without_typer(tmp_path):
    """`batch --jobs N` is the fast path's too: its workers start after the parent, and
    the full path's start (Typer, pydantic) was the one part of a run they cannot share."""
    requests = tmp_path / "many.jsonl"
    requests.write_bytes(REQUESTS.read_bytes() * 400)  # past FAN_OUT: fanned out
    done = run_script(
        ["batch", "--jobs", "2", str(requests)],
        "from bpcli.entry import run\ntry:\n    run()\nexcept SystemExit: pass\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'typer', 'click', 'pydantic'}), file=sys.stderr)",
    )
    assert done.stderr == "[]\n"
    expected = CliRunner().invoke(app, ["batch", str(requests)], prog_name="bpcli").stdout
    assert done.stdout == expected


@pytest.mark.integration
def test_an_ascii_stdout_gets_escapes_on_both_paths():
    """A stdout that cannot write α (a legacy code page, PYTHONIOENCODING=ascii): the
    JSON spells it \\u03b1, the same on both paths, never an encoding error."""
    import os

    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    args = ["grad", "α*2", "α=1", "--json"]
    via_entry = run_script(args, env=env)
    via_typer = run_script(args, "from bpcli.cli import app; app(prog_name='bpcli')", env=env)
    assert via_entry.returncode == via_typer.returncode == 0, via_entry.stderr
    assert via_entry.stdout == via_typer.stdout
    assert "\\u03b1" in via_entry.stdout
    assert json.loads(via_entry.stdout)["gradients"] == {"α": 2.0}
    gradcheck = run_script([*args, "--gradcheck"], env=env)  # the other JSON writer
    assert gradcheck.returncode == 0 and json.loads(gradcheck.stdout)["gradients"] == {"α": 2.0}


@pytest.mark.integration
def test_an_ascii_stdout_still_gets_its_tables():
    """Tables and walkthroughs on a stdout that cannot write ∂ or α: their ASCII
    stand-ins (render/theme.py), rather than an encoding error or \\u escapes."""
    import os

    env = {**os.environ, "PYTHONIOENCODING": "ascii"}
    for extra in ([], ["--explain"]):
        done = run_script(["grad", "α*2", "α=1", *extra], env=env)
        assert done.returncode == 0, done.stderr
        assert "df/da = 2" in done.stdout and "\\u" not in done.stdout


# ---- grad --json byte for byte as before (tests/data/batch/grad-json.jsonl, from main) ----

GRAD_CASES = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "batch" / "grad-json.jsonl").open(
        encoding="utf-8"
    )
]


@pytest.mark.parametrize(
    "case",
    [case for case in GRAD_CASES if case["encoding"] == "utf-8"],
    ids=lambda case: " ".join(case["args"][1:])[:60],
)
def test_grad_json_is_written_as_before(case, capsys):
    code, out = full(case["args"][1:])
    assert (code, out) == (0, case["stdout"])
    answered, fast_out = fast(case["args"][1:], capsys)
    assert not answered or fast_out == case["stdout"]


@pytest.mark.integration
def test_grad_json_is_written_as_before_by_the_script():
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    for case in GRAD_CASES:
        done = run_script(case["args"], env={**env, "PYTHONIOENCODING": case["encoding"]})
        assert (done.returncode, done.stdout) == (0, case["stdout"]), case["args"]
