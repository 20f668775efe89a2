"""bpcli batch: one JSON line in, one JSON line out, each line on its own."""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import types
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

import bpcli
from bpcli import batch
from bpcli.arguments import MAX_SIZE
from bpcli.ops import OPS

LECTURE_REQUEST = '{"id": 1, "expr": "(x+y)*z", "values": {"x": -2, "y": 5, "z": -4}, "lr": 0.1}'


def strict(line: str) -> Any:
    """json.loads that refuses NaN and Infinity, which are not JSON."""

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in the output: {line!r}")

    return json.loads(line, parse_constant=refuse)


def answers(lines: Iterable[str | bytes]) -> tuple[list[dict[str, Any]], bool]:
    """Run a batch; every written line must be one compact, strict JSON object."""
    written: list[str] = []
    ok = batch.run(lines, written.append)
    out = []
    for line in written:
        assert line.endswith("\n") and line.count("\n") == 1
        line.encode("utf-8")  # writable to a UTF-8 stream
        data = strict(line)
        assert isinstance(data, dict)
        compact = [
            json.dumps(data, ensure_ascii=escape, separators=(",", ":")) + "\n"
            for escape in (False, True)
        ]
        assert line in compact
        out.append(data)
    return out, ok


def error(answer: dict[str, Any]) -> tuple[str, str]:
    assert answer["ok"] is False
    assert set(answer) == {"id", "ok", "error"}
    assert set(answer["error"]) == {"type", "message", "line"}
    return answer["error"]["type"], answer["error"]["message"]


def bpcli_error(expr: str, values: dict[str, float]) -> str:
    """What bpcli's API itself says about this request."""
    with pytest.raises(bpcli.BpcliError) as info:
        bpcli.grad(expr, values)
    return str(info.value)


# ---- a mixed stream -------------------------------------------------------------

STREAM = [
    LECTURE_REQUEST,  # line 1
    "this is not JSON",  # 2
    "",  # 3: blank, no answer
    "[1, 2]",  # 4
    '{"id": "no-expr", "values": {"x": 1}}',  # 5
    '{"id": 6, "expr": "x*y", "values": [1, 2]}',  # 6
    '{"id": 7, "expr": "x*y", "valeus": {"x": 1, "y": 2}}',  # 7
    '{"id": 8, "expr": "2x + 1", "values": {"x": 3}}',  # 8
    "   \t  ",  # 9: blank
    '{"id": 10, "expr": "log(x)", "values": {"x": 0}}',  # 10
    '{"id": 11, "expr": "x*y", "values": {"x": 1}}',  # 11
    '{"id": 12, "expr": "x*y", "values": {"x": 1, "y": 2}, "steps": 3}',  # 12
    '"just a string"',  # 13
    '{"id": "last", "expr": "x*y", "values": {"x": 3, "y": -2}}',  # 14
]


@pytest.fixture(scope="module")
def stream() -> tuple[list[dict[str, Any]], bool]:
    return answers([line + "\n" for line in STREAM])


def test_one_answer_per_non_blank_line_in_order(stream):
    out, ok = stream
    assert ok is False
    assert [a["id"] for a in out] == [1, None, None, "no-expr", 6, 7, 8, 10, 11, 12, None, "last"]
    assert [a["ok"] for a in out] == [True] + [False] * 10 + [True]
    lines = [a["error"]["line"] for a in out if not a["ok"]]
    assert lines == [2, 4, 5, 6, 7, 8, 10, 11, 12, 13]  # the file's own line numbers


def test_good_lines_carry_the_grad_json_object(stream):
    out, _ = stream
    assert set(out[0]) == {"id", "ok", "result"}
    last = out[-1]["result"]
    # f = x*y at x = 3, y = -2: f = -6, df/dx = y = -2, df/dy = x = 3.
    assert last["output"]["value"] == -6
    assert last["gradients"] == {"x": -2, "y": 3}
    assert last == bpcli.grad("x*y", {"x": 3, "y": -2}).to_dict()


def test_malformed_requests_are_request_errors_that_say_the_line(stream):
    out, _ = stream
    assert error(out[1]) == ("RequestError", "line 2: not JSON at column 1: expecting value")
    assert error(out[2]) == (
        "RequestError",
        "line 4: a request must be a JSON object, got an array",
    )
    assert error(out[3]) == (
        "RequestError",
        'line 5: missing "expr", the expression to differentiate',
    )
    assert error(out[4]) == (
        "RequestError",
        "line 6: values must be an object of name: number, got an array",
    )
    assert error(out[5]) == (
        "RequestError",
        'line 7: unknown key "valeus" (did you mean "values"?);'
        " a request has the keys id, expr, values, lr, steps, max_tie, dout",
    )
    assert error(out[10]) == (
        "RequestError",
        'line 13: a request must be a JSON object, got "just a string"',
    )


def test_bpcli_errors_keep_bpcli_messages(stream):
    out, _ = stream
    kind, message = error(out[6])
    assert kind == "ParseError"
    assert message.startswith("line 1, column 2: missing operator before 'x'")  # of the expression
    assert message == bpcli_error("2x + 1", {"x": 3})
    kind, message = error(out[7])
    assert kind == "DomainError"
    assert message.startswith("line 1, column 1: log")
    assert message == bpcli_error("log(x)", {"x": 0})
    assert error(out[8]) == ("BindError", "missing a value for y")
    assert error(out[9]) == ("InputError", "steps needs a learning rate (lr)")


# ---- single requests ------------------------------------------------------------


def one(line: str | bytes) -> dict[str, Any]:
    out, ok = answers([line])
    assert len(out) == 1
    assert ok is out[0]["ok"]
    return out[0]


def test_the_lecture_example():
    answer = one(LECTURE_REQUEST)
    assert answer["id"] == 1 and answer["ok"] is True
    result = answer["result"]
    assert result["output"] == {"name": "f", "value": -12}
    assert result["gradients"] == {"x": -4, "y": -4, "z": 3}
    # x, y, z := -1.6, 5.4, -4.3, and f = (x+y)*z = 3.8 * -4.3 = -16.34
    assert result["update"]["inputs"] == pytest.approx({"x": -1.6, "y": 5.4, "z": -4.3})
    assert result["update"]["output"] == pytest.approx(-16.34)


@pytest.mark.parametrize(
    "request_id", [0, -1.5, "a", "αβγ", "", True, None, [1, "two"], {"run": 3, "case": [1]}]
)
def test_any_json_id_is_echoed(request_id):
    line = json.dumps({"id": request_id, "expr": "x", "values": {"x": 1}})
    assert one(line)["id"] == request_id
    bad = json.dumps({"id": request_id, "expr": "x", "values": {"x": "1"}})
    assert one(bad)["id"] == request_id


def test_no_id_is_id_null():
    answer = one('{"expr": "x", "values": {"x": 1}}')
    assert answer["id"] is None and answer["ok"] is True


@pytest.mark.parametrize(
    ("line", "kind", "message"),
    [
        ('{"expr": 3}', "RequestError", "line 1: expr must be a string, got 3"),
        ('{"expr": null}', "RequestError", "line 1: expr must be a string, got null"),
        ('{"expr": "x", "values": {"x": true}}', "RequestError", "line 1: values must be an object of name: number; the value of x is true"),
        ('{"expr": "x", "values": {"x": "1"}}', "RequestError", 'line 1: values must be an object of name: number; the value of x is "1"'),
        ('{"expr": "x", "values": "x=1"}', "RequestError", 'line 1: values must be an object of name: number, got "x=1"'),
        ('{"expr": "x", "values": {"x": 1}, "lr": "0.1"}', "RequestError", 'line 1: lr must be a number, got "0.1"'),
        ('{"expr": "x", "values": {"x": 1}, "lr": 1, "steps": "3"}', "RequestError", 'line 1: steps must be a whole number, got "3"'),
        ('{"expr": "x", "values": {"x": 1}, "max_tie": "last"}', "RequestError", 'line 1: max_tie must be "split" or "first", got "last"'),
        ('{"expr": "x", "a": 1, "b": 2}', "RequestError", 'line 1: unknown keys "a", "b"; a request has the keys id, expr, values, lr, steps, max_tie, dout'),
        ('{"expr": "x", "values": {"x": NaN}}', "RequestError", "line 1: not JSON: NaN is not a JSON number"),
        ('{"expr": "x", "values": {"x": -Infinity}}', "RequestError", "line 1: not JSON: -Infinity is not a JSON number"),
        ('{"expr": "x"', "RequestError", "line 1: not JSON at column 13: expecting ',' delimiter"),
        ('{"expr": "x"} {}', "RequestError", "line 1: not JSON at column 15: extra data"),
        ("[" * 100_000, "RequestError", "line 1: not JSON that bpcli can read: nested too deeply"),
        ('{"expr": "x", "values": {"x": 1e400}}', "BindError", "the value of x is too large for a float (got inf)"),
        ('{"expr": "x", "values": {"x": 1, "y": 2}}', "BindError", "y is not an input of the expression (its inputs are x)"),
        ('{"expr": "x", "values": {"x": 1}, "lr": 0.1, "steps": 0}', "InputError", "the number of steps must be a whole number from 1 to 100,000, got 0"),
        ('{"expr": "x", "values": {"x": 1}, "lr": 0.1, "steps": 1.5}', "InputError", "the number of steps must be a whole number from 1 to 100,000, got 1.5"),
        ('{"expr": "", "values": {}}', "ParseError", "the expression is empty"),
    ],
)  # fmt: skip
def test_request_errors(line, kind, message):
    assert error(one(line)) == (kind, message)


def test_a_huge_integer_value_is_an_error_not_a_crash():
    line = '{"id": 1, "expr": "x", "values": {"x": 1' + "0" * 400 + "}}"
    assert error(one(line)) == ("RequestError", "line 1: the value of x is too large for a float")


def test_values_and_lr_and_steps_may_be_null_or_left_out():
    answer = one('{"expr": "2*3", "values": null, "lr": null, "steps": null, "max_tie": null}')
    assert answer["ok"] is True and answer["result"]["output"]["value"] == 6
    assert "update" not in answer["result"]


def test_steps_give_the_trajectory():
    # f = x*y from x = 1, y = 2 with α = 0.1: x := 1 - 0.1*2 = 0.8, y := 2 - 0.1*1 = 1.9.
    result = one('{"expr": "x*y", "values": {"x": 1, "y": 2}, "lr": 0.1, "steps": 1}')["result"]
    assert result["update"]["inputs"] == pytest.approx({"x": 0.8, "y": 1.9})
    assert [step["step"] for step in result["trajectory"]] == [0, 1]


@pytest.mark.parametrize(("max_tie", "grads"), [("split", [0.5, 0.5]), ("first", [1, 0])])
def test_max_tie(max_tie, grads):
    line = json.dumps({"expr": "max(x, y)", "values": {"x": 1, "y": 1}, "max_tie": max_tie})
    result = one(line)["result"]
    assert list(result["gradients"].values()) == grads
    assert result["conventions"]["max_min_tie"] == max_tie


def test_duplicate_keys_take_the_last():
    assert one('{"id": 1, "id": 2, "expr": "x", "values": {"x": 1}}')["id"] == 2


def test_an_id_that_cannot_be_echoed_is_null():
    deep = "[" * 101 + "]" * 101
    answer = one('{"id": ' + deep + ', "expr": "x", "values": {"x": 1}}')
    assert answer["id"] is None
    assert error(answer) == ("RequestError", "line 1: id is nested more than 100 levels deep")
    answer = one('{"id": [1e400], "expr": "x", "values": {"x": 1}}')
    assert answer["id"] is None
    assert error(answer) == ("RequestError", "line 1: id has a number too large for a float")
    fine = "[" * 100 + "]" * 100
    assert one('{"id": ' + fine + ', "expr": "x", "values": {"x": 1}}')["ok"] is True


# ---- text, bytes and encodings ----------------------------------------------------


def test_bytes_lines_are_decoded_one_by_one():
    lines = [
        b'{"id": 1, "expr": "\xce\xb1*x", "values": {"\xce\xb1": 2, "x": 3}}\r\n',
        b'{"id": 2, "expr": "caf\xe9"}\n',  # Latin-1, not UTF-8
        b"\n",
        b'{"id": 3, "expr": "x", "values": {"x": 1}}',  # no newline at the end
    ]
    out, ok = answers(lines)
    assert ok is False
    assert [a["id"] for a in out] == [1, None, 3]
    assert out[0]["result"]["gradients"] == {"α": 3, "x": 2}
    assert error(out[1]) == ("RequestError", "line 2: not UTF-8 text: byte 0xe9 at column 23")


def test_text_read_with_surrogateescape_fails_only_the_bad_line():
    raw = b'{"id": 1, "expr": "x", "values": {"x": 1}}\n{"expr": "\xff"}\n'
    lines = raw.decode("utf-8", errors="surrogateescape").splitlines(keepends=True)
    out, _ = answers(lines)
    assert out[0]["ok"] is True
    assert error(out[1]) == ("RequestError", "line 2: not UTF-8 text: byte 0xff at column 11")


def test_a_byte_order_mark_on_the_first_line_is_skipped():
    assert answers(['\ufeff{"expr": "x", "values": {"x": 1}}\n'])[1] is True
    assert answers([b'\xef\xbb\xbf{"expr": "x", "values": {"x": 1}}\n'])[1] is True
    assert answers(["{}", '\ufeff{"expr": "x"}'])[0][1]["error"]["message"].startswith(
        "line 2: not JSON at column 1"
    )  # only at the start of the stream


def test_a_lone_surrogate_is_escaped_not_written_raw():
    written: list[str] = []
    batch.run(['{"id": "\\ud800", "expr": "x", "values": {"x": 1}}'], written.append)
    assert written[0].isascii()
    assert strict(written[0])["id"] == "\ud800"


def test_non_ascii_is_written_as_ascii_escapes_and_reads_back():
    written: list[str] = []
    batch.run(['{"id": "é", "expr": "α*2", "values": {"α": 1}}'], written.append)
    assert written[0].isascii()
    assert '"id":"\\u00e9"' in written[0]
    answer = json.loads(written[0])
    assert answer["id"] == "é" and answer["result"]["gradients"] == {"α": 2.0}


# ---- streaming, the result, the cache ----------------------------------------------


def test_each_answer_is_written_before_the_next_line_is_read():
    written: list[str] = []
    seen: list[int] = []

    def lines():
        for i in range(3):
            seen.append(len(written))
            yield json.dumps({"id": i, "expr": "x", "values": {"x": i}})

    assert batch.run(lines(), written.append) is True
    assert seen == [0, 1, 2]


def test_success_only_when_every_line_succeeds():
    assert answers([LECTURE_REQUEST, LECTURE_REQUEST])[1] is True
    assert answers([LECTURE_REQUEST, "{}"])[1] is False
    assert answers(["", "  "]) == ([], True)  # nothing asked, nothing failed


def counting_parse(monkeypatch) -> list[str]:
    calls: list[str] = []

    def parse(text: str) -> bpcli.Graph:
        calls.append(text)
        return bpcli.parse(text)

    monkeypatch.setattr(batch, "parse", parse)
    return calls


def test_a_repeated_expression_is_parsed_once(monkeypatch):
    calls = counting_parse(monkeypatch)
    lines = [
        json.dumps({"id": i, "expr": "x*y", "values": {"x": i, "y": 2}, "max_tie": tie})
        for i, tie in enumerate(["split", "first", "split", "first"])
    ]
    lines += ['{"expr": "x+1", "values": {"x": 1}}', '{"expr": "2x", "values": {"x": 1}}'] * 2
    out, _ = answers(lines)
    assert calls == ["x*y", "x+1", "2x"]
    # the same graph at different values gives each its own numbers: d(x*y)/dy = x
    assert [a["result"]["gradients"]["y"] for a in out[:4]] == [0, 1, 2, 3]
    assert out[5]["error"] == out[7]["error"] | {"line": 6}  # the cached ParseError, same words


def test_the_cache_keeps_the_most_recent_expressions(monkeypatch):
    calls = counting_parse(monkeypatch)
    monkeypatch.setattr(batch, "CACHE_SIZE", 2)
    exprs = ["x", "x+1", "x", "x+2", "x", "x+1"]  # x+1 is pushed out by x+2, x stays
    answers([json.dumps({"expr": e, "values": {"x": 1}}) for e in exprs])
    assert calls == ["x", "x+1", "x+2", "x+1"]


def test_two_thousand_lines():
    exprs = ["x*y", "(x+y)*y", "max(x, y)"]
    lines = [
        json.dumps({"id": i, "expr": exprs[i % 3], "values": {"x": i, "y": 3}}) for i in range(2000)
    ]
    lines[1000] = '{"id": 1000, "expr": "x*"}'
    out, ok = answers(lines)
    assert ok is False
    assert [a["id"] for a in out] == list(range(2000))
    assert error(out[1000])[0] == "ParseError"
    for i, a in enumerate(out):
        if i == 1000:
            continue
        x, grads = i, a["result"]["gradients"]
        # x*y: (y, x); (x+y)*y: (y, x + 2y); max(x, y): to the larger, split on a tie
        expected = [
            {"x": 3, "y": x},
            {"x": 3, "y": x + 6},
            {"x": 1, "y": 0} if x > 3 else {"x": 0.5, "y": 0.5} if x == 3 else {"x": 0, "y": 1},
        ][i % 3]
        assert grads == expected, i


# ---- answers from a pipe come as they are ready ------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize("unbuffered", [False, True])
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_from_a_pipe_each_answer_comes_before_the_next_request(jobs, unbuffered):
    """A co-process asks, waits for the answer, then asks again: from a pipe, batch
    must flush each answer at once (from a file it may buffer them), at any --jobs
    (with 2, the answers were once held until 256 lines had come), in a user's
    environment and with PYTHONUNBUFFERED=1, as here."""
    import os
    import subprocess
    import sys
    import threading

    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}  # as for a user
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(
        [sys.executable, "-m", "bpcli", "batch", "--jobs", jobs, "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    timer = threading.Timer(30, process.kill)  # a hang fails the test instead of the run
    timer.start()
    try:
        for x in (1, 2, 3):
            process.stdin.write(json.dumps({"id": x, "expr": "x*x", "values": {"x": x}}) + "\n")
            process.stdin.flush()
            reply = json.loads(process.stdout.readline())  # blocks until it is written
            assert reply["id"] == x and reply["result"]["gradients"] == {"x": 2.0 * x}
        process.stdin.close()
        assert process.wait() == 0
    finally:
        timer.cancel()
        process.kill()


# ---- byte for byte as before: a corpus of requests and main's answers to it -------------
# tests/data/batch/requests.jsonl: varied requests (the lecture's with lr, ids of every
# JSON kind, steps, ties, kinks, infinities, unicode names, bad JSON, bad UTF-8, a BOM,
# CRLF, no final newline). answers.jsonl and answers-max-size-60.jsonl are what
# `bpcli batch` wrote for it (and with --max-size 60) at main 0ca91c3, before batch was
# made faster; grad-json.jsonl holds `bpcli grad … --json` outputs of the same commit.
# tests/data/batch/make.py made them.

DATA = Path(__file__).parent / "data" / "batch"
CORPUS = DATA / "requests.jsonl"


def corpus_answers(capsys, jobs: int = 1, limit: int = MAX_SIZE) -> str:
    batch.answer_source(str(CORPUS), jobs, limit)
    return capsys.readouterr().out


def test_the_corpus_is_answered_byte_for_byte_as_before(capsys):
    assert corpus_answers(capsys) == (DATA / "answers.jsonl").read_text(encoding="utf-8")


def test_lines_past_the_limit_are_answered_as_before(capsys):
    expected = (DATA / "answers-max-size-60.jsonl").read_text(encoding="utf-8")
    assert corpus_answers(capsys, limit=60) == expected


@pytest.mark.integration
@pytest.mark.parametrize("read_size", [batch.READ_SIZE, 64])  # blocks of a few lines each
def test_the_corpus_with_two_workers(capfd, monkeypatch, read_size):
    """Two workers, writing to stdout's descriptor in turn, block by block."""
    monkeypatch.setattr(batch, "FAN_OUT", 0)  # a small file: fanned out all the same
    monkeypatch.setattr(batch, "READ_SIZE", read_size)
    monkeypatch.setattr(batch.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    fanned = []
    monkeypatch.setattr(batch, "run_parallel", lambda *a: fanned.append(a[-1]) or parallel(*a))
    assert corpus_answers(capfd, jobs=2) == (DATA / "answers.jsonl").read_text(encoding="utf-8")
    assert fanned == [2]


parallel = batch.run_parallel


def _fan_out_corpus(monkeypatch, answer_block):
    """The corpus through two workers in blocks of a few lines, with `answer_block` in
    place of batch._answer_block (the workers are forked: they run it too)."""
    monkeypatch.setattr(batch, "FAN_OUT", 0)
    monkeypatch.setattr(batch, "READ_SIZE", 256)
    monkeypatch.setattr(batch.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    monkeypatch.setattr(batch, "_answer_block", answer_block)
    return batch.answer_source(str(CORPUS), 2, MAX_SIZE)


answer_block = batch._answer_block


@pytest.mark.integration
def test_a_worker_s_bug_ends_the_run_with_that_bug(capfd, monkeypatch):
    """A bug in a worker (here, at its third block) is raised in the parent, as one
    process raises it (the CLI reports it as an internal error, exit 3); the other
    worker is stopped; no answer is written twice or out of order."""

    def buggy(block, number, cache, memo, write):
        if number > 10:
            raise ZeroDivisionError("a planted bug")
        return answer_block(block, number, cache, memo, write)

    with pytest.raises(ZeroDivisionError, match="a planted bug"):
        _fan_out_corpus(monkeypatch, buggy)
    written = capfd.readouterr().out
    expected = (DATA / "answers.jsonl").read_text(encoding="utf-8")
    assert written and expected.startswith(written)


@pytest.mark.integration
def test_a_worker_killed_ends_the_run_and_says_so(capfd, monkeypatch):
    """A worker killed (the kernel's out-of-memory killer sends SIGKILL) ends the run
    with an error that says so, and does not leave the parent waiting for its turn."""
    import signal

    def killed(block, number, cache, memo, write):
        if number > 10:
            os.kill(os.getpid(), signal.SIGKILL)
        return answer_block(block, number, cache, memo, write)

    with pytest.raises(RuntimeError, match="ended with exit code -9"):
        _fan_out_corpus(monkeypatch, killed)
    expected = (DATA / "answers.jsonl").read_text(encoding="utf-8")
    assert expected.startswith(capfd.readouterr().out)


def test_jobs_fan_out_only_where_they_can_win(tmp_path, monkeypatch):
    """At most one worker a CPU bpcli may use; one process for a file of a few blocks."""
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    small.write_bytes(b"\n" * (batch.FAN_OUT - 1))
    large.write_bytes(b"\n" * batch.FAN_OUT)
    monkeypatch.setattr(batch.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    read, write = os.pipe()
    with small.open("rb") as a, large.open("rb") as b, os.fdopen(read, "rb") as pipe:
        assert [batch.fan_out(a, 4), batch.fan_out(b, 4), batch.fan_out(pipe, 4)] == [1, 2, 2]
        assert batch.fan_out(b, 1) == 1
        monkeypatch.setattr(batch.os, "sched_getaffinity", lambda pid: {0}, raising=False)
        assert [batch.fan_out(b, 4), batch.fan_out(pipe, 4)] == [1, 1]
    os.close(write)


def test_every_answer_is_json_dumps_of_its_result():
    """Independently of the writer: each success is json.dumps of the Result's to_dict."""
    lines = CORPUS.read_bytes().split(b"\n")
    written = (DATA / "answers.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    answered = [(number, line) for number, line in enumerate(lines, 1) if line.strip(b" \t\r")]
    assert len(answered) == len(written)
    successes = 0
    for (number, line), text in zip(answered, written, strict=True):
        reply = batch.answer(line, number, {})
        assert reply is not None
        if reply["ok"]:
            data = {"id": reply["id"], "ok": True, "result": reply["result"].to_dict()}
            want = json.dumps(data, allow_nan=False, separators=(",", ":")) + "\n"
            assert text == want
            successes += 1
        else:
            assert text == json.dumps(reply, separators=(",", ":")) + "\n"
    assert successes > 40


def test_the_lecture_numbers_in_the_corpus():
    """Line 1 (after its byte order mark): the lecture's slide, worked by hand."""
    first = json.loads((DATA / "answers.jsonl").read_text(encoding="utf-8").splitlines()[0])
    assert first["id"] == "bom"
    result = first["result"]
    assert result["output"] == {"name": "f", "value": -12.0}  # q = 3, f = q z = -12
    assert result["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}
    update = result["update"]
    assert update["inputs"] == {"x": -1.6, "y": 5.4, "z": -4.3}  # x - 0.1 df/dx
    assert update["output"] == pytest.approx(-16.34)  # (-1.6 + 5.4) * -4.3


# ---- a request asked again: the answer's text, kept --------------------------------------


def test_a_request_asked_again_is_answered_from_the_memo(monkeypatch):
    calls: list[str] = []
    real = batch.evaluate
    monkeypatch.setattr(
        batch, "evaluate", lambda g, *a, **k: calls.append(g.source) or real(g, *a, **k)
    )
    lines = [
        json.dumps({"id": i, "expr": "(x+y)*z", "values": {"x": -2, "y": 5, "z": -4}})
        for i in range(3)
    ]
    memo: batch.Memo = {}
    texts = [batch.respond(line, n, {}, memo) for n, line in enumerate(lines, 1)]
    assert calls == ["(x+y)*z"]  # once
    answers = [json.loads(text) for text, ok in texts if ok]  # type: ignore[arg-type]
    assert [a["id"] for a in answers] == [0, 1, 2]
    assert all(a["result"]["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0} for a in answers)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"values": {"x": 0.0, "y": 1}}, {"values": {"x": -0.0, "y": 1}}),  # equal, not alike
        ({"values": {"x": 2, "y": 2}}, {"values": {"x": 2, "y": 2}, "max_tie": "first"}),
        ({"values": {"x": 1, "y": 2}, "lr": 0.0}, {"values": {"x": 1, "y": 2}, "lr": -0.0}),
        (
            {"values": {"x": 1, "y": 2}, "lr": 0.1},
            {"values": {"x": 1, "y": 2}, "lr": 0.1, "steps": 1},
        ),
        ({"values": {"x": 1, "y": 2}}, {"values": {"x": 1, "y": 2}, "lr": 0.1}),
    ],
)
def test_the_memo_keeps_apart_what_is_answered_apart(first, second):
    """Each pair differs in its answer; the memo must not answer one with the other."""
    memo: batch.Memo = {}
    lines = [json.dumps({"expr": "max(x, y) * x", **request}) for request in (first, second)]
    with_memo = [batch.respond(line, 1, {}, memo) for line in lines]
    alone = [batch.respond(line, 1, {}) for line in lines]
    assert with_memo == alone
    assert alone[0] != alone[1]


def test_the_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(batch, "MEMO_SIZE", 3)
    memo: batch.Memo = {}
    for x in range(10):
        batch.respond(json.dumps({"expr": "x*x", "values": {"x": x + 1}}), 1, {}, memo)
    assert len(memo) == 3


# ---- reading in blocks -------------------------------------------------------------------


class Trickle(io.BytesIO):
    """A stream whose reads return a few bytes at a time, as a slow pipe does."""

    def __init__(self, data: bytes, size: int) -> None:
        super().__init__(data)
        self.size = size

    def read1(self, n: int = -1) -> bytes:  # type: ignore[override]
        return super().read1(min(self.size, n))


def as_lines(blocks: Iterable[batch.Block]) -> list[bytes | int]:
    """The lines the blocks hold, a TooLong as its limit."""
    found: list[bytes | int] = []
    for block in blocks:
        if isinstance(block, batch.TooLong):
            found.append(block.limit)
        else:  # b"" too is a line: a blank one
            found += block.split(b"\n")
    return found


@pytest.mark.parametrize("size", [1, 3, 7, 64, 1 << 16])
@pytest.mark.parametrize("limit", [5, 6, 100])
def test_blocks_hold_the_lines_and_a_long_line_stands_alone(size, limit):
    """A line's bytes without its newline, as readline would read them; one of more than
    `limit` bytes is a TooLong; a last line without a newline is a line."""
    data = b"abc\n\n123456\nabcde\nx\r\n" + b"y" * 20 + b"\nlast"
    expected: list[bytes | int] = []
    for line in data.split(b"\n"):
        expected.append(line if len(line) <= limit else limit)
    assert as_lines(batch.read_blocks(Trickle(data, size), limit)) == expected
    assert as_lines(batch.read_blocks(Trickle(data + b"\n", size), limit)) == expected


def test_a_long_last_line_without_a_newline_is_too_long():
    assert as_lines(batch.read_blocks(io.BytesIO(b"ok\n" + b"z" * 50), 10)) == [b"ok", 10]


def test_a_block_is_what_has_arrived_and_each_read_is_announced():
    """A reader that is told before each read can flush the answers so far."""
    reads: list[int] = []
    stream = Trickle(b"1\n2\n3\n", 2)
    blocks = batch.read_blocks(stream, 100, lambda s: reads.append(s.tell()))
    assert next(blocks) == b"1"
    assert reads == [0]
    assert list(blocks) == [b"2", b"3"]
    assert reads == [0, 2, 4, 6]


# ---- through a real process: a file and a pipe, buffered or not --------------------------


@pytest.mark.integration
@pytest.mark.parametrize("unbuffered", [False, True])
@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("pipe", [False, True])
def test_the_corpus_through_a_process(pipe, jobs, unbuffered):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    args = [sys.executable, "-m", "bpcli", "batch", "--jobs", jobs]
    if pipe:
        done = subprocess.run(
            [*args, "-"], input=CORPUS.read_bytes(), capture_output=True, env=env, timeout=120
        )
    else:
        done = subprocess.run([*args, str(CORPUS)], capture_output=True, env=env, timeout=120)
    assert (done.returncode, done.stderr) == (1, b"")  # some lines fail
    assert done.stdout == (DATA / "answers.jsonl").read_bytes()


# ---- one expression, many values: the answer's template ---------------------------


def test_lines_of_one_expression_with_different_values_are_each_their_own_answer():
    """Lines that differ in their values only (a class's lecture lines) share the
    graph's template of the answer, and each answer is still its own: json.dumps of
    the API's object, the numbers worked by hand (f = (x+y)z: df/dx = df/dy = z,
    df/dz = x + y; with lr 0.1, x - 0.1 z), whatever the order the values came in,
    with and without lr, with steps (a trajectory), under either tie rule."""
    lines = []
    for i in range(6):
        values = {"x": -2.0 - i, "y": 5.0, "z": -4.0}
        if i % 2:
            values = dict(reversed(values.items()))  # the inputs given in another order
        request = {"id": i, "expr": "(x+y)*z", "values": values}
        if i >= 2:
            request["lr"] = 0.1
        if i == 4:
            request["steps"] = 2
        if i == 5:
            request["max_tie"] = "first"
        lines.append(json.dumps(request) + "\n")
    out, ok = answers(lines)
    assert ok
    for i, answer in enumerate(out):
        result = answer["result"]
        x = -2.0 - i
        assert result["gradients"] == {"x": -4.0, "y": -4.0, "z": x + 5.0}
        assert list(result["inputs"]) == ["x", "y", "z"]  # the expression's order
        if i >= 2 and i != 4:  # one step
            assert result["update"]["inputs"]["x"] == pytest.approx(x + 0.4)
        assert ("trajectory" in result) == (i == 4)
        request = json.loads(lines[i])
        want = bpcli.grad(
            "(x+y)*z",
            request["values"],
            lr=request.get("lr"),
            steps=request.get("steps"),
            conventions=bpcli.Conventions(max_tie=request.get("max_tie", "split")),
        ).to_dict()
        assert result == want


LECTURE_SHAPED = (
    '{{"id": {0}, "expr": "(x+y)*z", "values": {{"x": {1}, "y": 5, "z": -4}}, "lr": 0.1}}'
)


# ---- byte for byte as before, on lines that differ: a generated corpus ------------------


def varied_requests() -> bytes:
    """Requests that differ line by line (seeded, so the same every run): every scalar op,
    constants, fan-out, programs, pi given, ints and floats, -0.0, huge and tiny exponents,
    infinities and overflows, ties, steps, lr, dout, tensors, odd ids and spacing, and bad
    lines among them."""
    rng = random.Random(16)
    exprs = [
        "(x+y)*z", "x*y", "x+y", "x-y", "x/y", "-x*y", "x**y", "x^2 + y", "exp(x)*y",
        "log(x)+y", "sqrt(x)*y", "sin(x)*cos(y)", "tan(x)+y", "tanh(x)*y", "sigmoid(x*y)",
        "relu(x)*y", "abs(x)+y", "max(x, y)", "min(x, y, 2)", "x*(2+3)", "2*3", "x*x + x",
        "q = x + y\nf = q * z", "pi*x + y", "α*β + 한", "x/3 + 0.1*y", "(x+y)*(x-y)",
        "exp(-x)/(1+exp(-x))*y", "x", "2 - x*y",
    ]  # fmt: skip
    special = [0, 0.0, -0.0, 1, -1, 2**53 + 1, 10**20, 1e308, -1e308, 5e-324, 1e-300, 1e22,
               0.1, 700.0, 1000, -745.5, 3.0, 10**400]  # fmt: skip

    def number() -> object:
        kind = rng.random()
        if kind < 0.3:
            return rng.choice(special)
        if kind < 0.5:
            return rng.randint(-50, 50)
        if kind < 0.75:
            return rng.uniform(-10, 10)
        return rng.choice((-1, 1)) * rng.random() * 10.0 ** rng.randint(-320, 308)

    def text(value: object) -> str:
        return "1e400" if value == 10**400 else json.dumps(value)

    lines = ['\ufeff{"id": 0, "expr": "(x+y)*z", "values": {"x": -2, "y": 5, "z": -4}, "lr": 0.1}']
    for i in range(1, 400):  # the lecture's lines, x = -2 - i
        lines.append(LECTURE_SHAPED.format(i, -2 - i))
    for i in range(400, 2400):
        expr = rng.choice(exprs)
        names = {"pi*x + y": ["pi", "x", "y"], "α*β + 한": ["α", "β", "한"]}.get(
            expr, ["x", "y", "z"]
        )
        used = [n for n in names if n in expr] if expr != "2*3" else []
        if "q = " in expr:
            used = ["x", "y", "z"]
        if rng.random() < 0.2:
            rng.shuffle(used)
        if rng.random() < 0.05 and used:
            used = used[:-1]  # a value missing
        if rng.random() < 0.03:
            used = [*used, "w"]  # one too many
        values = ", ".join(f"{json.dumps(n)}: {text(number())}" for n in used)
        parts = [f'"id": {json.dumps(rng.choice([i, str(i), f"é{i}", None, [i], True, 2.5]))}']
        parts.append(f'"expr": {json.dumps(expr)}')
        if rng.random() < 0.95:
            parts.append(f'"values": {{{values}}}')
        draw = rng.random()
        if draw < 0.5:
            parts.append(f'"lr": {text(rng.choice([0.1, 0.01, 1, 0, -0.0, 1e300, rng.random()]))}')
        if draw < 0.1:
            parts.append(f'"steps": {rng.choice([1, 2, 3, 2.0, 0, "2"])}')
        elif 0.5 <= draw < 0.55:
            parts.append('"steps": 2')
        if rng.random() < 0.08:
            parts.append(f'"max_tie": {json.dumps(rng.choice(["first", "split", "last"]))}')
        if rng.random() < 0.03:
            parts.append(f'"dout": {rng.choice(["2.0", "[1, 2]", "-0.5"])}')
        if rng.random() < 0.03:
            parts.append(rng.choice(['"valeus": 1', '"x": 2']))
        if rng.random() < 0.1:
            rng.shuffle(parts)
        sep = rng.choice([", ", ",", " , "])
        line = "{" + sep.join(parts) + "}"
        if rng.random() < 0.03:
            line = rng.choice([" " + line, line + " ", line + "\r", line[:-3], "[1]", "", "nul"])
        lines.append(line)
        if rng.random() < 0.05:
            lines.append(line)  # asked again
    for i in range(40):  # vectors and matrices
        x = [rng.randint(-5, 5) for _ in range(3)]
        lines.append(json.dumps({"id": f"t{i}", "expr": "sum(x*y)", "values": {"x": x, "y": 2.5}}))
        lines.append(json.dumps({"id": f"m{i}", "expr": "x*y", "values": {"x": [x], "y": i}}))
    return "\n".join(lines).encode("utf-8") + b"\n"


# bpcli batch's answers to them at main 1bddf90, before batch's fast path (6d0219c2…), but
# that a wrong or missing upstream gradient is said as the request's "dout", not --dout:
# with those two messages put back as they were, the answers' md5 is 6d0219c2… again
VARIED_MD5 = "35d97c1c1676ef7efe2f193d51a861ea"


def varied_answers() -> str:
    written: list[str] = []
    blocks = batch.read_blocks(io.BytesIO(varied_requests()), MAX_SIZE)
    batch.run_blocks(blocks, types.SimpleNamespace(write=written.append))  # type: ignore[arg-type]
    return "".join(written)


@pytest.mark.parametrize(("fast", "after"), [(True, 0), (True, batch.FAST_AFTER), (False, 0)])
def test_varied_lines_are_answered_byte_for_byte_as_before(monkeypatch, fast, after):
    """With the fast path from a graph's second line (most lines), from its usual point,
    and without it (every line the general path's)."""
    monkeypatch.setattr(batch, "FAST", fast)
    monkeypatch.setattr(batch, "FAST_AFTER", after)
    text = varied_answers()
    assert hashlib.md5(text.encode("utf-8")).hexdigest() == VARIED_MD5


def test_the_fast_path_answers_most_varied_lines_and_every_op_of_fixed_arity(monkeypatch):
    """So that the test above tests it: lines of every op but the routers (max, min, whose
    rule is the tie convention's) and those for tensors only are answered by it."""
    answered: list[str] = []
    real = batch._fast

    def fast(line: batch.Line, cache: batch.Cache) -> str | None:
        text = real(line, cache)
        if text is not None:
            answered.append(json.loads(text)["result"]["expression"])
        return text

    monkeypatch.setattr(batch, "_fast", fast)
    monkeypatch.setattr(batch, "FAST_AFTER", 0)
    varied_answers()
    assert len(answered) > 900
    ops = {node.op for expr in set(answered) for node in bpcli.parse(expr).nodes}
    scalar = {op.name for op in OPS.values() if op.scalar and op.arity is not None}
    assert ops == scalar


def test_numbers_equal_where_the_fast_path_was_made_are_each_their_own_later(monkeypatch):
    """The fast path writes a number equal to another, and not zero, with the other's
    text. Made where x = y = z = 2 in x*y + z (line 2: line 1 parses it), where most of
    the numbers are 2 or 4, it still writes each line's own numbers where they differ,
    and -0.0 apart from 0.0: the answers are the general path's, byte for byte."""
    points = [(1, 1, 1), (2, 2, 2), (3, 5, 2), (2, 2, 0), (-0.0, 2, 0.0), (0.0, -0.0, -0.0)]
    points += [(2, 2, 2), (1e-300, 1e-300, 2), (2, 4, -0.0)]
    lines = [
        json.dumps(
            {"id": k, "expr": "x*y + z", "values": dict(zip("xyz", point, strict=True)), "lr": 0.5}
        )
        for k, point in enumerate(points)
    ]
    fast: list[str] = []
    real = batch._fast

    def spy(line: batch.Line, cache: batch.Cache) -> str | None:
        text = real(line, cache)
        if text is not None:
            fast.append(text)
        return text

    monkeypatch.setattr(batch, "FAST_AFTER", 0)
    monkeypatch.setattr(batch, "_fast", spy)
    written: list[str] = []
    assert batch.run(lines, written.append)
    assert len(fast) == len(points) - 1 and written[1:] == fast
    monkeypatch.setattr(batch, "FAST", False)
    general: list[str] = []
    assert batch.run(lines, general.append)
    assert written == general
    # by hand: f = xy + z, df/dx = y, df/dy = x, df/dz = 1; a step of 0.5 against them
    x_3_y_5 = strict(written[2])["result"]
    assert x_3_y_5["gradients"] == {"x": 5.0, "y": 3.0, "z": 1.0}
    assert x_3_y_5["update"]["inputs"] == {"x": 0.5, "y": 3.5, "z": 1.5}
    assert '"inputs":{"x":0.0,"y":-0.0,"z":-0.0}' in written[5]  # x's 0.0 is not y's


def test_a_line_the_fast_path_fails_on_is_answered_the_general_way(monkeypatch):
    """Out of memory (or a bug) in the fast path costs nothing: the general path answers."""

    def broken(line: batch.Line, cache: batch.Cache) -> str | None:
        raise MemoryError

    monkeypatch.delenv("BPCLI_TRACEBACK", raising=False)
    monkeypatch.setattr(batch, "_fast", broken)
    out, ok = answers([LECTURE_REQUEST, LECTURE_REQUEST])
    assert ok
    assert [a["result"]["gradients"] for a in out] == [{"x": -4.0, "y": -4.0, "z": 3.0}] * 2


def test_a_graph_is_compiled_once_it_has_been_answered_enough(monkeypatch):
    """Compiling costs what hundreds of answers do: a graph of 5 nodes is answered the
    general way FAST_AFTER times a node first (line 1 parses it), then the fast way."""
    monkeypatch.setattr(batch, "FAST_AFTER", 2)
    fast: list[int] = []
    real = batch._fast

    def spy(line: batch.Line, cache: batch.Cache) -> str | None:
        text = real(line, cache)
        if text is not None:
            fast.append(json.loads(text)["id"])
        return text

    monkeypatch.setattr(batch, "_fast", spy)
    lines = [LECTURE_SHAPED.format(i, -2 - i) for i in range(1, 16)]
    out, ok = answers(lines)
    assert ok and [a["id"] for a in out] == list(range(1, 16))
    assert fast == list(range(12, 16))  # lines 2 to 11 are the graph's uses 1 to 10
    for i, answer in enumerate(out, start=1):  # df/dz = x + y = 3 - i, by hand
        assert answer["result"]["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0 - i}


def test_the_help_says_where_jobs_do_not_fan_out(bpcli):
    text = " ".join(bpcli("batch", "--help").stdout.replace("│", " ").split())
    assert f"none for a file under {batch.FAN_OUT >> 10} KB" in text
    assert "at most one a CPU" in text
