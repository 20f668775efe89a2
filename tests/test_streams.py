"""Heavy input and the process's streams: memory, long descents, pipes and signals.

These run bpcli as a real process (a memory limit, a closed pipe, Ctrl-C), each
with a timeout, so that a regression fails rather than hangs.
"""

from __future__ import annotations

import array
import ast
import contextlib
import dis
import fcntl
import itertools
import json
import math
import os
import resource
import signal
import subprocess
import sys
import termios
import time
import types
from pathlib import Path
from typing import Any

import pytest

import bpcli
from bpcli import api, batch, engine
from bpcli.ops import Conventions
from json_programs import PROGRAMS as VARIED

LECTURE_LINE = json.dumps(
    {"id": "lecture", "expr": "(x+y)*z", "values": {"x": -2, "y": 5, "z": -4}}
)
LECTURE_GRADS = {"x": -4.0, "y": -4.0, "z": 3.0}  # worked by hand on the lecture's slides
ENV = {k: v for k, v in os.environ.items() if k not in ("PYTHONUNBUFFERED", "BPCLI_TRACEBACK")}


def sum_of_x(terms: int) -> str:
    return "+".join(["x"] * terms)  # d/dx = terms, one add node a term


def bpcli_process(*args: str, **options: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bpcli", *args], env=ENV, **options)


# ---- memory: a batch line costs that line only -------------------------------------

MEMORY_LIMIT = 250 * 2**20  # address space: bpcli itself takes about 100 MB of it


def _limit_memory(limit: int = MEMORY_LIMIT) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.integration
@pytest.mark.parametrize("json_flag", [["--json"], []])
def test_grad_that_runs_out_of_memory_says_so_with_exit_2(tmp_path, json_flag):
    """Not "a bug in bpcli" (exit 3): the input is too large for the memory given."""
    program = tmp_path / "sum.txt"
    program.write_text(sum_of_x(1_500_000), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bpcli", "grad", "--file", str(program), "--x", "1", *json_flag],
        capture_output=True,
        env=ENV,
        timeout=120,
        preexec_fn=_limit_memory,
        start_new_session=True,
    )
    assert done.returncode == 2
    assert done.stderr == b"error: out of memory: give bpcli more memory, or a smaller input\n"


# batch.OUT_OF_MEMORY: CPython 3.11 to 3.13 loop for ever, unwinding, when they cannot
# allocate an int for an instruction offset above 256 (python/cpython#132508). No `with`
# block of bpcli covers such an offset (a command's body runs in process.guarded), and
# a MemoryError handler in batch only passes (the reply is made once its traceback is gone).
SMALL_INTS = 256  # CPython keeps the ints up to 256 made; a larger one is allocated


def _codes(code: types.CodeType) -> Any:
    yield code
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            yield from _codes(constant)


def _late_with_blocks(code: types.CodeType) -> list[str]:
    """The `with` blocks of a function whose body reaches past instruction SMALL_INTS."""
    found = []
    instructions = list(dis.get_instructions(code))
    at = {instruction.offset: k for k, instruction in enumerate(instructions)}
    for entry in dis.Bytecode(code).exception_entries:
        handler = [i.opname for i in instructions[at[entry.target] :][:3]]
        if entry.lasti and "WITH_EXCEPT_START" in handler and entry.end // 2 > SMALL_INTS:
            found.append(f"{code.co_qualname} (line {code.co_firstlineno})")
    return found


@pytest.mark.skipif(sys.version_info < (3, 11), reason="Python 3.10 has no exception table")
def test_no_with_block_of_bpcli_reaches_past_offset_256():
    package = Path(bpcli.__file__).parent
    files = sorted(package.rglob("*.py"))
    assert {"batch.py", "cli.py", "engine.py", "entry.py", "process.py"} <= {f.name for f in files}
    late = [
        f"{path.relative_to(package)}: {name}"
        for path in files
        for code in _codes(compile(path.read_text(encoding="utf-8"), str(path), "exec"))
        for name in _late_with_blocks(code)
    ]
    assert late == []
    # the check finds one: a `with` at the end of a long function
    long = "def f(x):\n" + "    x = x + 1\n" * 100 + "    with x:\n        x()\n"
    assert _late_with_blocks(compile(long, "<long>", "exec").co_consts[0]) == ["f (line 1)"]


def test_a_memory_error_handler_in_batch_only_passes():
    assert batch.__file__ is not None
    with open(batch.__file__, encoding="utf-8") as source:
        tree = ast.parse(source.read())
    handlers = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.ExceptHandler)
        and isinstance(node.type, ast.Name)
        and node.type.id == "MemoryError"
    ]
    assert len(handlers) >= 3  # answer, respond, _pieces
    assert all([type(statement) for statement in h.body] == [ast.Pass] for h in handlers)


@pytest.mark.integration
@pytest.mark.parametrize(("jobs", "megabytes"), [("1", 250), ("2", 250), ("2", 240), ("2", 270)])
def test_a_line_that_runs_out_of_memory_costs_that_line_only(jobs, megabytes):
    """Under a 250 MB limit, a 20,000-node answer (about 5 MB of JSON, streamed) is
    written whole; a 1,500,000-node line (its graph alone about 250 MB) fails alone
    with a MemoryError reply, and the lecture's line after it is still answered.
    A worker of --jobs 2 under 240 and 270 MB ran out at other places: before
    batch.OUT_OF_MEMORY, it hung there for ever (CPython's unwinding loop)."""
    lines = [
        json.dumps({"id": "fits", "expr": sum_of_x(20_000), "values": {"x": 1}}),
        json.dumps({"id": "too big", "expr": sum_of_x(1_500_000), "values": {"x": 1}}),
        LECTURE_LINE,
    ]
    process = bpcli_process(
        "batch",
        "--jobs",
        jobs,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=lambda: _limit_memory(megabytes * 2**20),
        start_new_session=True,  # its workers too are stopped if it hangs
    )
    try:
        out, err = process.communicate("\n".join(lines).encode() + b"\n", timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):  # left running, they held a core
            os.killpg(process.pid, signal.SIGKILL)
    assert err == b""  # no internal error, no traceback
    assert process.returncode == 1  # a line failed
    fits, too_big, lecture = (json.loads(line) for line in out.splitlines())
    assert fits["id"] == "fits" and fits["result"]["gradients"] == {"x": 20_000.0}
    assert len(fits["result"]["nodes"]) == 20_000  # x, and 19,999 adds
    assert too_big == {
        "id": "too big",
        "ok": False,
        "error": {
            "type": "MemoryError",
            "message": "line 2: out of memory answering this request;"
            " give it more memory, or send a smaller expression",
            "line": 2,
        },
    }
    assert lecture["result"]["gradients"] == LECTURE_GRADS


@pytest.mark.integration
def test_grad_json_of_a_node_used_100000_times_fits_in_250_mb(tmp_path):
    """x + x + … + x: x's uses are one JSON list of 100,000 entries, written in the
    memory of its text (a template a list length, made up to the longest, was
    quadratic: 20 GB)."""
    program = tmp_path / "sum.txt"
    program.write_text(sum_of_x(100_000), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "bpcli", "grad", "--file", str(program), "--x", "0.5", "--json"],
        capture_output=True,
        env=ENV,
        timeout=120,
        preexec_fn=_limit_memory,
    )
    assert (done.returncode, done.stderr) == (0, b"")
    nodes = json.loads(done.stdout)["nodes"]
    assert len(nodes[0]["uses"]) == 100_000 and nodes[0]["grad"] == 100_000.0  # d/dx = terms


def test_a_large_answer_is_written_in_pieces_that_make_the_same_line():
    """Past STREAM_NODES nodes the answer never exists as one string; its pieces
    join to exactly the line a whole answer would be."""
    line = json.dumps({"id": 7, "expr": sum_of_x(batch.STREAM_NODES + 1), "values": {"x": 2}})
    pieces: list[str] = []
    assert batch.run([line], pieces.append) is True
    assert len(pieces) > 1 and all(not p.endswith("\n") for p in pieces[:-1])
    whole = batch.encode(batch.answer(line, 1, {}) or {})
    assert "".join(pieces) == whole
    answer = json.loads(whole)
    assert answer["id"] == 7 and answer["result"]["gradients"] == {"x": batch.STREAM_NODES + 1.0}


def test_an_internal_error_on_one_line_costs_that_line_only(monkeypatch):
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a planted bug")

    lines = [LECTURE_LINE.replace("(x+y)*z", "x*y*z"), LECTURE_LINE]
    real = batch.evaluate
    monkeypatch.setattr(
        batch, "evaluate", lambda g, *a, **k: (broken if g.source == "x*y*z" else real)(g, *a, **k)
    )
    written: list[str] = []
    assert batch.run(lines, written.append) is False
    first, second = (json.loads(line) for line in written)
    assert first["error"] == {
        "type": "InternalError",
        "message": "line 1: internal error, a bug in bpcli: RuntimeError: a planted bug",
        "line": 1,
    }
    assert second["result"]["gradients"] == LECTURE_GRADS


# ---- --steps: a long descent keeps a sample of its trajectory --------------------


def test_a_long_descent_keeps_every_kth_step_and_says_so():
    """f = x², lr 0.1: x_k = 0.8^k x_0 exactly (by hand). 100,000 steps keep step 0,
    step 1, every 101st step and the last: at most 1,001 points, said in the JSON."""
    result = bpcli.grad("x*x", {"x": 1.0}, lr=0.1, steps=100_000)
    update = result.update
    assert update is not None and update.trajectory is not None
    data = result.to_dict(nodes=False)
    assert data["update"]["trajectory_every"] == 101 == update.every
    steps = [point["step"] for point in data["trajectory"]]
    assert steps == [0, 1, *range(101, 100_000, 101), 100_000]
    assert len(steps) <= api.TRAJECTORY_POINTS
    for point in data["trajectory"][:40]:
        assert point["inputs"]["x"] == pytest.approx(0.8 ** point["step"], rel=1e-12, abs=1e-300)


def test_a_short_descent_keeps_every_step_as_before():
    data = bpcli.grad("(x+y)*z", {"x": -2, "y": 5, "z": -4}, lr=0.1, steps=3).to_dict()
    assert "trajectory_every" not in data["update"]
    assert [point["step"] for point in data["trajectory"]] == [0, 1, 2, 3]
    assert data["trajectory"][1]["inputs"] == pytest.approx({"x": -1.6, "y": 5.4, "z": -4.3})


def test_many_inputs_keep_the_trajectory_within_its_numbers():
    """100 inputs, 2,000 steps: whole it would be 200,100 numbers; sampled, at most 100,000."""
    expr = " + ".join(f"(x{i} - {i})**2" for i in range(100))
    result = bpcli.grad(expr, {f"x{i}": 0.0 for i in range(100)}, lr=0.25, steps=2000)
    trajectory = result.update.trajectory if result.update else None
    assert trajectory is not None
    assert len(trajectory) * 100 <= api.TRAJECTORY_VALUES
    assert trajectory[-1].step == 2000 and result.update and result.update.every == 3
    # d/dxi (xi - i)² = 2(xi - i): lr 0.25 halves the distance to i each step
    assert trajectory[1].inputs["x10"] == pytest.approx(5.0)
    assert trajectory[2].inputs["x10"] == pytest.approx(10 - 10 * 0.5**3)


def test_steps_times_nodes_is_bounded():
    """100 inputs and --steps 100000 would be 60,000,000 node-steps (minutes): refused."""
    expr = " + ".join(f"(x{i} - {i})**2" for i in range(100))
    with pytest.raises(bpcli.InputError) as info:
        bpcli.grad(expr, {f"x{i}": 0.0 for i in range(100)}, lr=0.1, steps=100_000)
    assert str(info.value) == (
        "100,000 steps of a 599-node graph are more than 10,000,000 node-steps,"
        " the limit (about ten seconds); take at most 16,694 steps"
    )


# ---- Ctrl-C ---------------------------------------------------------------------------


def _queued(stream: Any) -> int:
    count = array.array("i", [0])
    fcntl.ioctl(stream.fileno(), termios.FIONREAD, count)
    return count[0]


@pytest.mark.integration
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_with_a_blocked_output(tmp_path, jobs):
    """Ctrl-C (SIGINT to the whole process group, as a terminal sends it) while
    bpcli waits for a reader that does not read: `interrupted`, exit 130, no
    worker's traceback, and every line written is whole JSON."""
    requests = tmp_path / "many.jsonl"
    requests.write_text((LECTURE_LINE + "\n") * 20_000)
    process = bpcli_process(
        "batch",
        "--jobs",
        jobs,
        str(requests),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        queued = -1
        while time.monotonic() < deadline:  # until the pipe is full and bpcli's write blocks
            time.sleep(0.5)
            if queued == _queued(process.stdout) > 0:
                break
            queued = _queued(process.stdout)
        os.killpg(process.pid, signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert err == b"interrupted\n"
    assert process.returncode == 130
    lines = out.decode().splitlines(keepends=True)
    assert 0 < len(lines) < 20_000
    for line in lines:
        assert line.endswith("\n")
        assert json.loads(line)["result"]["gradients"] == LECTURE_GRADS


# ---- a closed pipe: a quiet exit 0 in every view ------------------------------------------

LECTURE_ARGS = ["(x+y)*z", "x=-2", "y=5", "z=-4"]


@pytest.mark.integration
@pytest.mark.parametrize(
    "args",
    [
        ["grad", *LECTURE_ARGS],
        ["grad", *LECTURE_ARGS, "--explain"],
        ["grad", *LECTURE_ARGS, "--lr", "0.1", "--steps", "3"],
        ["grad", *LECTURE_ARGS, "--gradcheck"],
        ["grad", *LECTURE_ARGS, "--json"],
        ["grad", *LECTURE_ARGS, "--format", "markdown"],
        ["grad", *LECTURE_ARGS, "--format", "latex"],
        ["graph", *LECTURE_ARGS, "--format", "tree"],
        ["graph", *LECTURE_ARGS, "--format", "dot"],
        ["graph", *LECTURE_ARGS, "--format", "mermaid"],
        ["graph", *LECTURE_ARGS, "--format", "html"],
        ["check", "docs/homework.toml"],  # wrong answers: exit 1 when its report is read
        ["key", "docs/homework.toml"],
        ["batch", "docs/requests.jsonl"],  # a failed line: exit 1 when read
    ],
    ids=lambda args: " ".join(args[:1] + args[5:] if args[0] in ("grad", "graph") else args),
)
def test_a_closed_pipe_is_a_quiet_exit_0(args):
    """`bpcli … | head -1`: the reader is gone before bpcli writes (its end of the
    pipe closed), so every view meets the closed pipe. Rich's own handling exited 1,
    which means "found wrong answers"."""
    read, write = os.pipe()
    os.close(read)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bpcli", *args],
            stdout=write,
            stderr=subprocess.PIPE,
            cwd=root,
            env=ENV,
            timeout=60,
        )
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, b"")


@pytest.mark.integration
def test_a_closed_pipe_with_two_workers_is_a_quiet_exit_0(tmp_path):
    """`bpcli batch --jobs 2 big.jsonl | head -1`: the workers meet the closed pipe
    (each writes stdout itself) and the parent exits quietly, as one process does."""
    requests = tmp_path / "many.jsonl"
    requests.write_text((LECTURE_LINE + "\n") * 20_000)  # past FAN_OUT: fanned out
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bpcli", "batch", "--jobs", "2", str(requests)],
            stdout=write,
            stderr=subprocess.PIPE,
            env=ENV,
            timeout=60,
        )
    finally:
        os.close(write)
    assert (done.returncode, done.stderr) == (0, b"")


# ---- grad --json of a large graph: node by node, keeping no text ----------------------


def test_a_large_graph_is_written_node_by_node_and_keeps_no_node_text():
    """Past KEEP_TEXT nodes no per-node text is kept with the graph (at 10^6 nodes it
    was three strings a node, over a gigabyte): still json.dumps' text, to the byte."""
    from bpcli import result as result_module

    big = bpcli.grad(sum_of_x(result_module.KEEP_TEXT + 1), {"x": 0.5}, lr=0.1)
    for compact in (False, True):
        text = "".join(big.json_chunks(compact=compact, ascii=compact))
        separators = (",", ":") if compact else (", ", ": ")
        assert text == json.dumps(
            big.to_dict(), ensure_ascii=compact, allow_nan=False, separators=separators
        )
    assert not [key for key in big.graph.derived if key[0] == "json"]
    nodes = json.loads(text)["nodes"]
    assert len(nodes) == result_module.KEEP_TEXT + 1  # x, and an add a further term
    assert nodes[0]["grad"] == result_module.KEEP_TEXT + 1.0  # d/dx of x + … + x


def test_a_large_graph_keeps_nothing_per_node_once_written():
    """Writing a large graph's nodes keeps no per-node objects with the graph (names,
    facts, local derivatives by node were lists of a million tuples and strings): only
    its edges, as flat arrays, and what it had after the backward pass."""
    from bpcli import result as result_module

    big = bpcli.grad(sum_of_x(result_module.KEEP_TEXT + 1), {"x": 0.5})
    before = set(big.graph.derived)
    "".join(big.json_chunks())
    assert set(big.graph.derived) - before == {"edges"}
    edges = big.graph.derived["edges"]
    columns = [edges.start, edges.uses_start, edges.order, edges.used_by]
    assert all(isinstance(column, array.array) for column in columns)
    assert len(edges.used_by) == 2 * result_module.KEEP_TEXT  # x + x + … + x: two a sum


PROGRAMS = [  # copy gates, max and min ties, an infinite local gradient stopped by a zero
    ("(x+y)*z", {"x": -2.0, "y": 5.0, "z": -4.0}),
    ("a = x * y\nb = a + x\nf = b * a + max(x, y, a)", {"x": 2.0, "y": 2.0}),
    ("max(x, y, x) + min(x, x) + x * x", {"x": 1.0, "y": 1.0}),
    ("sqrt(x) * 0 + relu(y) + abs(y) + x / y", {"x": 0.0, "y": 0.0 + 1e-300}),
    ("x / y * 1e-300 + 2 * 3", {"x": 5e-324, "y": 5e-324}),
]


@pytest.mark.parametrize("tie", ["split", "first"])
@pytest.mark.parametrize(("source", "values"), PROGRAMS)
def test_the_nodes_made_a_few_at_a_time_are_json_dumps_text(monkeypatch, source, values, tie):
    """The nodes' text, made two nodes at a time and kept for none, is json.dumps' text
    of the same object, to the byte, in every form; and a node's gradient is the sum of
    what its uses send back (the copy gate), and its local derivatives are one per input."""
    from bpcli import result as result_module

    result = bpcli.grad(source, values, conventions=Conventions(max_tie=tie))
    whole = {}
    for compact in (False, True):
        for ascii in (False, True):
            whole[compact, ascii] = result.json_text(compact=compact, ascii=ascii)
    monkeypatch.setattr(result_module, "NODES_AT_ONCE", 2)
    monkeypatch.setattr(result_module, "KEEP_TEXT", 0)
    again = bpcli.grad(source, values, conventions=Conventions(max_tie=tie))
    for (compact, ascii), text in whole.items():
        separators = (",", ":") if compact else (", ", ": ")
        want = json.dumps(
            again.to_dict(), ensure_ascii=ascii, allow_nan=False, separators=separators
        )
        assert "".join(again.json_chunks(compact=compact, ascii=ascii)) == want == text
    for node in json.loads(whole[False, False])["nodes"]:
        assert len(node["local"]) == len(node["inputs"])
        sent = [use["grad"] for use in node["uses"]]
        if node["uses"] and node["grad"] is not None and None not in sent:
            assert sum(sent) == pytest.approx(node["grad"])


@pytest.mark.parametrize("lr", [None, 0.1])
@pytest.mark.parametrize(("source", "values", "tie"), VARIED, ids=lambda x: str(x)[:30])
def test_every_form_of_a_varied_programs_json_is_json_dumps_text(
    monkeypatch, source, values, tie, lr
):
    """Each program's `--json` text in every form (compact or not, ASCII or not), with
    and without its nodes and an extra field, whole and streamed a few nodes at a time,
    as text and as UTF-8 bytes, is json.dumps' text of its to_dict(), to the byte (the
    writer makes it from columns, json.dumps from one object a node)."""
    from bpcli import result as result_module

    try:
        result = bpcli.grad(source, values, lr, conventions=Conventions(max_tie=tie))
    except bpcli.BpcliError:  # a descent that overflows: nothing to write
        assert lr is not None
        return
    extra = {"problem": "ü 1"}
    objects = {nodes: result.to_dict(nodes) for nodes in (True, False)}
    forms = [(compact, ascii) for compact in (False, True) for ascii in (False, True)]
    if len(result.graph) > 1_000:  # --json's form and batch's: a large one takes long
        forms = [(False, False), (True, True)]
    wanted = {}
    for (compact, ascii), (nodes, more) in itertools.product(
        forms, [(True, {}), (True, extra), (False, extra)]
    ):
        separators = (",", ":") if compact else (", ", ": ")
        wanted[compact, ascii, nodes, bool(more)] = json.dumps(
            objects[nodes] | more, ensure_ascii=ascii, allow_nan=False, separators=separators
        )
    few = 3 if len(result.graph) < 1_000 else 1_000  # a few nodes a piece: past the first
    for at_once, kept in ((result_module.NODES_AT_ONCE, result_module.KEEP_TEXT), (few, 0)):
        monkeypatch.setattr(result_module, "NODES_AT_ONCE", at_once)
        monkeypatch.setattr(result_module, "KEEP_TEXT", kept)
        for (compact, ascii, nodes, more), want in wanted.items():
            options = {"compact": compact, "ascii": ascii, "extra": extra if more else None}
            assert "".join(result.json_chunks(nodes, **options)) == want
            assert b"".join(result.json_bytes(nodes, **options)) == want.encode()
            if nodes and not more:
                assert result.json_text(compact=compact, ascii=ascii) == want


IN_PLACE = [  # ops whose local derivatives are literals or values: add, sub, neg, mul, exp
    ("exp(x * -0.0) - -x * (y + 2) * y", {"x": 0.5, "y": -0.0}),
    ("a = x * y\nb = a - x\nc = -b * exp(b)\nf = c * a + x * 1e308", {"x": 1.5, "y": -2.0}),
]


@pytest.mark.parametrize("at_once", [1, 2, 3, 5])
@pytest.mark.parametrize(("source", "values"), IN_PLACE)
def test_local_derivatives_written_in_place_are_json_dumps_text(
    monkeypatch, source, values, at_once
):
    """Where every op of a piece has local derivatives that are literals of the table or
    values, they are written in place from the values' texts: json.dumps' text to the
    byte, whether an input is in the piece, the one before or further back (then as
    lists of their own); and each is what the calculus says (d(ab)/da = b, d(e^a)/da
    = e^a, 1 and -1 for a sum and a difference)."""
    from bpcli import result as result_module

    result = bpcli.grad(source, values)
    monkeypatch.setattr(result_module, "NODES_AT_ONCE", at_once)
    monkeypatch.setattr(result_module, "KEEP_TEXT", 0)
    in_place = []
    columns = result_module.Result._in_place_columns

    def spy(self, *args):
        made = columns(self, *args)
        in_place.append(made is not None)
        return made

    monkeypatch.setattr(result_module.Result, "_in_place_columns", spy)
    for compact in (False, True):
        separators = (",", ":") if compact else (", ", ": ")
        text = "".join(result.json_chunks(compact=compact, ascii=compact))
        assert text == json.dumps(
            result.to_dict(), ensure_ascii=compact, allow_nan=False, separators=separators
        )
    assert any(in_place)
    nodes = json.loads(text)["nodes"]
    for node in nodes:
        inputs = [nodes[j]["value"] for j in node["inputs"]]
        expected = {
            "add": [1.0, 1.0], "sub": [1.0, -1.0], "neg": [-1.0],
            "mul": inputs[::-1], "exp": [node["value"]],
        }.get(node["op"], [])  # fmt: skip
        assert node["local"] == expected


def test_a_small_graph_keeps_its_node_text_for_the_next_evaluation():
    small = bpcli.grad("(x+y)*z", {"x": -2, "y": 5, "z": -4})
    "".join(small.json_chunks())
    assert [key for key in small.graph.derived if key[0] == "json"] == [("json", ", ", ": ", False)]


@pytest.mark.parametrize(
    ("counts", "sends", "grads", "same"),
    [
        ([1, 1, 0], [2.0, None], [2.0, None, 1.0], True),  # a chain's piece, with its output
        ([1, 1], [2.0, -3.5], [2.0, -3.5], True),
        ([1], [-0.0], [0.0], False),  # 0.0 + -0.0 is 0.0: written "0.0", the use "-0.0"
        ([1], [0.0], [0.0], False),  # no zero at all: it is not asked which zero a use sent
        ([2, 0], [1.0, 1.0], [2.0, 1.0], False),  # a copy gate: two uses
        ([1, 1], [1.0, None], [1.0, 0.5], False),
        ([0, 1], [0.5], [1.0, 0.5], True),
        ([], [], [], True),
    ],
)
def test_a_use_is_written_from_its_gradient_only_where_they_are_the_same_text(
    counts, sends, grads, same
):
    from bpcli import result as result_module

    assert result_module._sends_are_grads(counts, sends, grads) is same
    if same:  # then each use's number is written as its node's gradient is
        one_use = [g for g, c in zip(grads, counts, strict=True) if c]
        assert [json.dumps(s) for s in sends] == [json.dumps(g) for g in one_use]


def _floats_at_every_exponent() -> list[float]:
    """Floats at every binary exponent (subnormals to the largest), both signs, with a few
    mantissas each, and the neighbours of each power of ten: every place where Python's
    repr changes its spelling (below 1e-4, at 1e16, an exponent's two digits)."""
    numbers = []
    for e in range(-1074, 1024):
        for m in (1.0, 1.5, 1.2345678901234567):
            x = math.ldexp(m, e)
            if math.isfinite(x):
                numbers += [x, -x]
    for k in range(-323, 309):
        x = float(f"1e{k}")
        numbers += [x, math.nextafter(x, 0.0), math.nextafter(x, math.inf), -x]
    return numbers


@pytest.mark.parametrize(
    "numbers",
    [
        [1.0, 2.0, None, 1.0] * 8,
        [0.0, -0.0, 1.0, 1.0] * 8,  # a zero's sign kept
        [0.5 + k for k in range(12)] + [None] * 4,
        [5e-324, 1.7976931348623157e308, -2.5] * 5,
        [1e-05, 1.5e-07, -2e-09, 0.0001, 0.00012, 1e16, 9999999999999998.0, 1e22, 1e-10],
        [-12.0, 3.0, True, False, 7, -(2**63), 2**64 - 1],  # ints and bools, as json writes
        [2**70, 1.0, None],  # an int beyond orjson's 64 bits: the list written by json
        [type("Subclass", (float,), {})(0.1), 0.25],  # a float's subclass: likewise
        [None],
        _floats_at_every_exponent(),
        [],
    ],
)
def test_each_number_is_written_as_json_dumps_writes_it(numbers):
    """_number_bytes (orjson's digits, spelt again where orjson spells a number otherwise)
    against json.dumps, number by number, in Python's spelling: `1e-05`, `1e+16`."""
    from bpcli import result as result_module

    assert result_module._number_bytes(numbers) == [json.dumps(x).encode() for x in numbers]


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("others", [[1.0, 2.0], [None, 1.0], []])
def test_a_number_json_cannot_write_is_json_dumps_error(bad, others):
    """NaN and the infinities (orjson's null, like None's) are json.dumps' ValueError."""
    from bpcli import result as result_module

    with pytest.raises(ValueError, match="JSON compliant"):
        result_module._number_bytes([*others, bad])
    with pytest.raises(ValueError):
        json.dumps([*others, bad], allow_nan=False)


CHAINS = [  # each node used once: (program, values, whether every use sends its gradient)
    ("exp(-(((x * 0.5 + 0.25) * 2.0 - 1.5) * 0.1)) * 3.0", {"x": 0.7}, True),
    ("(((x * 0.5 + 0.25) * 0.0) * -2.0 + 1.0) * 4.0", {"x": -0.7}, False),  # sends -0.0
    ("relu(x * 0.5 + 0.25) * 2.0", {"x": 0.7}, False),  # a use's consumer: relu, d = 1
]


@pytest.mark.parametrize("at_once", [1, 2, 3, 5])
@pytest.mark.parametrize(("source", "values", "settled"), CHAINS)
def test_a_chains_uses_written_without_the_flow_are_json_dumps_text(
    monkeypatch, source, values, settled, at_once
):
    """In a chain of ops whose sends are `g * b`, `g` or `-g`, with no zero gradient and
    None only at the constants, each use is written from its node's gradient without
    what the flow sends being made or read: json.dumps' text of to_dict() (whose uses
    are the flow's) to the byte; a zero gradient (whose send may be -0.0) or a consumer
    of another op (relu) reads the flow, and is the same text."""
    from bpcli import result as result_module

    result = bpcli.grad(source, values)
    assert engine.edges(result.graph).chained
    monkeypatch.setattr(result_module, "NODES_AT_ONCE", at_once)
    monkeypatch.setattr(result_module, "KEEP_TEXT", 0)
    read = []
    sends = result_module.Result._sends

    def spy(self, *args):
        read.append(args)
        return sends(self, *args)

    monkeypatch.setattr(result_module.Result, "_sends", spy)
    text = b"".join(result.json_bytes()).decode()
    if at_once >= 3:  # (fewer: an input two pieces back takes the flow's local derivative)
        assert (result._flows is None) is settled and bool(read) is not settled
    assert text == json.dumps(bpcli.grad(source, values).to_dict(), allow_nan=False)


@pytest.mark.parametrize("at_once", [2, 4])
def test_pieces_of_the_same_shape_around_a_label_and_a_max_are_json_dumps_text(
    monkeypatch, at_once
):
    """A chain's pieces of the same ops and cuts take the last piece's templates; a piece
    with a label (y, z) or a max of three inputs between them takes its own, and the
    pieces after it theirs again: json.dumps' text of to_dict() to the byte."""
    from bpcli import result as result_module

    level = "*0.5+1)*2+1)*0.5+1"
    source = f"y = ((x{level}\nz = ((y{level}\nf = ((max(z, 1, 2){level}*2+1"
    result = bpcli.grad(source, {"x": 0.25})
    monkeypatch.setattr(result_module, "NODES_AT_ONCE", at_once)
    monkeypatch.setattr(result_module, "KEEP_TEXT", 0)
    for compact in (False, True):
        separators = (",", ":") if compact else (", ", ": ")
        want = json.dumps(result.to_dict(), allow_nan=False, separators=separators)
        assert b"".join(result.json_bytes(compact=compact)).decode() == want
