"""The benchmark runner (bench/): same computation in every rendering, a correctness
check that catches a wrong gradient, and a report that is valid Markdown and SVG.

No timings are asserted here: the runner measures performance, the tests check it works.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import math
import re
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import bpcli
from bpcli import batch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # bench/ sits next to src/, it is not installed

from bench import __main__ as bench_main  # noqa: E402
from bench import engines, graphs, growth, report, runner, streams, worker  # noqa: E402
from bench.check import compare  # noqa: E402
from bench.graphs import ADD, CONST, MUL, NONE, SIGMOID, TANH, VAR, Tape  # noqa: E402

# ---- the generators: one description, the same numbers in every rendering ----


def bpcli_answer(tape: Tape) -> tuple[float, dict[str, float]]:
    graph = bpcli.parse(graphs.to_bpcli(tape))
    assert len(graph.nodes) == len(tape), "the text must have exactly the tape's nodes"
    result = bpcli.evaluate(graph, tape.inputs())
    return result.output, dict(result.gradients)


def test_the_lecture_example_by_hand():
    tape = Tape("hand")
    x, y, z = tape.var("x", -2.0), tape.var("y", 5.0), tape.var("z", -4.0)
    tape.op(MUL, tape.op(ADD, x, y), z)
    assert graphs.to_bpcli(tape) == "(x+y)*z\n"
    expected = graphs.reference(tape)
    assert expected.output == -12.0
    assert expected.gradients == {"x": -4.0, "y": -4.0, "z": 3.0}  # the lecture's slide
    assert bpcli_answer(tape) == (-12.0, {"x": -4.0, "y": -4.0, "z": 3.0})


def test_a_copy_gate_by_hand():
    """d/dx (x*x + x) = 2x + 1 = 7 at x = 3; a node used twice becomes a statement."""
    tape = Tape("hand")
    x = tape.var("x", 3.0)
    square = tape.op(MUL, x, x)
    tape.op(ADD, tape.op(ADD, square, x), square)  # x*x + x + x*x: 4x + 1 = 13
    text = graphs.to_bpcli(tape)
    assert text == "n1 = x*x\nn1+x+n1\n"
    assert graphs.reference(tape).gradients == {"x": 13.0}
    assert bpcli_answer(tape) == (21.0, {"x": 13.0})


def test_the_lecture_neuron_by_hand():
    """sigmoid(w0*x0 + w1*x1 + w2) at w = (2, -3, -3), x = (-1, -2): the lecture's numbers."""
    tape = graphs.neuron(11)
    assert graphs.to_bpcli(tape) == "sigmoid(w0*-1.0+w1*-2.0+w2)\n"
    s = 1 / (1 + math.exp(-1.0))  # w0*x0 + w1*x1 + w2 = -2 + 6 - 3 = 1
    local = s * (1 - s)  # 0.19661193...
    expected = (s, {"w0": -1.0 * local, "w1": -2.0 * local, "w2": local})
    assert (
        compare(expected, (graphs.reference(tape).output, graphs.reference(tape).gradients)) == []
    )
    assert compare(expected, bpcli_answer(tape)) == []
    assert round(expected[1]["w0"], 2) == -0.20 and round(expected[1]["w1"], 2) == -0.39


@pytest.mark.parametrize("shape", graphs.SHAPES)
@pytest.mark.parametrize("size", [40, 700])
def test_bpcli_text_computes_what_the_tape_describes(shape, size):
    tape = graphs.generate(shape, size)
    expected = graphs.reference(tape)
    assert compare((expected.output, expected.gradients), bpcli_answer(tape)) == []
    assert abs(len(tape) - size) <= max(8, size // 50)


@pytest.mark.parametrize("shape", graphs.SHAPES)
def test_the_tapes_keep_the_rules_every_rendering_relies_on(shape):
    tape = graphs.generate(shape, 900)
    uses = [0] * len(tape)
    for i in range(len(tape)):
        code, left, right = tape.code[i], tape.left[i], tape.right[i]
        for operand in (left, right):
            if operand != NONE:
                assert operand < i, "topological order"
                uses[operand] += 1
        assert tape.code[left] != CONST if left != NONE else code in (VAR, CONST)
        if code in (TANH, SIGMOID):
            assert right == NONE
    for i, count in enumerate(uses[:-1]):
        assert count >= 1, f"node {i} never reaches the output"
        if tape.code[i] == CONST:
            assert count == 1, "a constant is used exactly once"
    assert graphs.generate(shape, 900).code == tape.code, "same seed, same tape"


def test_the_chain_is_the_issues_chain():
    tape = graphs.chain(10_001)
    assert len(tape) == 10_001  # 2,500 levels of (…*a+b), 4 nodes each, and x
    text = graphs.to_bpcli(tape)
    assert text.startswith("(" * 2_499 + "x*0.5+")
    assert text.count("*") == 2_500 and list(tape.variables) == ["x"]
    # the factors come in pairs a, 1/a: over 1,250 pairs the gradient stays 1
    assert graphs.reference(tape).gradients["x"] == pytest.approx(1.0, rel=1e-12)


def test_the_dag_reuses_nodes_heavily():
    tape = graphs.dag(5_000)
    uses = [0] * len(tape)
    for operand in [*tape.left, *tape.right]:
        if operand != NONE:
            uses[operand] += 1
    computed = [i for i in range(len(tape)) if tape.code[i] != CONST]
    reused = sum(1 for i in computed if uses[i] > 1)
    assert reused / len(computed) > 0.3
    assert {tape.code[i] for i in range(len(tape))} == {VAR, CONST, ADD, MUL, TANH}


def test_a_tape_file_round_trips(tmp_path):
    tape = graphs.dag(300)
    tape.save(tmp_path / "tape.bin")
    loaded = Tape.load(tmp_path / "tape.bin")
    assert (loaded.shape, loaded.variables) == (tape.shape, tape.variables)
    assert (loaded.code, loaded.left, loaded.right) == (tape.code, tape.left, tape.right)
    assert loaded.number == tape.number


# ---- the correctness check ----------------------------------------------------


def test_the_check_catches_a_wrong_gradient():
    tape = graphs.dag(500)
    good = bpcli_answer(tape)
    output, gradients = good
    assert compare(good, good) == []
    name = "x3"
    for factor in (1 + 1e-6, -1.0, 0.0):
        wrong = dict(gradients, **{name: gradients[name] * factor})
        problems = compare(good, (output, wrong))
        assert len(problems) == 1 and problems[0].startswith(f"d/d{name} = ")
    assert compare(good, (output * (1 + 1e-6), gradients)) != []
    without = {k: v for k, v in gradients.items() if k != name}
    assert compare(good, (output, without)) == [f"no gradient for {name}"]
    # rounding noise is not a mistake
    noisy = {k: v * (1 + 1e-13) for k, v in gradients.items()}
    assert compare(good, (output, noisy)) == []


def measurement(engine, answer, shape="dag", size=1_000, total=0.01, nodes=1_000):
    m = runner.Measurement(engine, shape, size, nodes)
    m.runs = [{"build": total / 2, "forward": total / 4, "backward": total / 4}]
    m.memory_mb = 1.0
    m.answer = answer
    m.build_is_forward = engine in ("torch", "micrograd")
    return m


@pytest.mark.integration
def test_a_wrong_engine_is_reported_loudly_and_its_time_withheld():
    tape = graphs.dag(300)
    expected = graphs.reference(tape)
    truth = (expected.output, expected.gradients)
    output, gradients = truth
    perturbed = (output, dict(gradients, x0=gradients["x0"] * 1.001))
    rows = [measurement("bpcli", truth), measurement("torch", perturbed, total=0.123)]
    mismatches = runner._check(rows, truth)
    assert len(mismatches) == 1 and mismatches[0].startswith("GRADIENT MISMATCH: torch")
    assert rows[0].status == "ok" and rows[1].status == "wrong"
    settings = runner.Settings([1_000], ["bpcli", "torch"], ["dag"], cli=False)
    results = runner.Results(settings, rows, mismatches)
    text = report.markdown(results, "benchmarks.svg")
    assert "## ⚠ Gradient mismatches" in text and "WRONG GRADIENTS: time withheld" in text
    torch_row = next(line for line in text.splitlines() if line.startswith("| torch"))
    assert "123 ms" not in torch_row and "61.5 ms" not in torch_row


def test_when_bpcli_is_wrong_the_others_are_checked_against_the_reference():
    tape = graphs.chain(101)
    expected = graphs.reference(tape)
    truth = (expected.output, expected.gradients)
    rows = [measurement("bpcli", (truth[0] + 1.0, truth[1])), measurement("micrograd", truth)]
    mismatches = runner._check(rows, truth)
    assert [m.status for m in rows] == ["wrong", "ok"]
    assert "plain-Python reference" in mismatches[0]
    assert rows[1].checked_against == "reference"


# ---- the bpcli adapter ------------------------------------------------------------


def test_bpcli_passes_repeat_on_the_graph_as_parsed():
    tape = graphs.dag(200)
    engine = engines.Bpcli()
    engine.prepare(tape, graphs.to_bpcli(tape))
    forward, seen = engine.passes.forward, []

    def counted(graph, inputs):
        seen.append(dict(graph.derived))  # what the last repeat kept is gone
        return forward(graph, inputs)

    engine.passes = dataclasses.replace(engine.passes, forward=counted)
    phases, answer = engine.run()
    assert seen == [{}] * engines.PASS_REPEATS  # a 200-node graph: far inside the budget
    assert phases["forward"] > 0 and phases["backward"] > 0
    expected = graphs.reference(tape)
    assert compare((expected.output, expected.gradients), answer) == []


def test_without_split_passes_bpcli_is_timed_through_evaluate():
    tape = graphs.neuron(100)
    engine = engines.Bpcli()
    engine.prepare(tape, graphs.to_bpcli(tape))
    phases, answer = engine.run()
    assert set(phases) == {"build", "forward", "backward"}
    expected = graphs.reference(tape)
    assert compare((expected.output, expected.gradients), answer) == []

    def renamed(*args):
        raise AttributeError("'Graph' object has no attribute 'nodes_by_id'")

    engine.passes = engines._without_split(engine.passes)
    phases, answer = engine.run()
    assert set(phases) == {"build", "forward+backward"}
    assert compare((expected.output, expected.gradients), answer) == []

    engine.prepare(tape, graphs.to_bpcli(tape))
    # a split pass that changed shape under the benchmark: fall back, and say so
    engine.passes = dataclasses.replace(engine.passes, backward=renamed)
    phases, answer = engine.run()
    assert set(phases) == {"build", "forward+backward"} and "split passes unusable" in engine.note
    assert compare((expected.output, expected.gradients), answer) == []


# ---- the runner, for real, on tiny sizes ----------------------------------------


@pytest.mark.integration
def test_the_runner_runs_on_tiny_sizes(tmp_path, capsys):
    output = tmp_path / "docs" / "benchmarks.md"
    argv = ["--sizes", "30,60", "--shapes", "chain,neuron", "--engines"]
    argv += ["bpcli,sympy,torch,micrograd,python", "--repeat", "2", "--cold-runs", "1"]
    argv += ["--least-seconds", "0"]
    argv += ["--batch-lines", "20", "--e2e-size", "40", "--output", str(output)]
    argv += ["--growth-sizes", "10,100,1000", "--views", "dot,batch"]
    assert bench_main.main(argv) == 0
    printed = capsys.readouterr()
    text = output.read_text(encoding="utf-8")
    assert "## Targets" in text and "## Machine" in text and "python -m bench --sizes 30,60" in text
    for number in ("1", "2", "3", "4", "5", "16.4", "16.5"):
        assert any(line.startswith(f"{number}. ") for line in printed.out.splitlines())
    scaling = [line for line in printed.out.splitlines() if line.startswith("3. scaling")]
    assert len(scaling) == 2 and all("the sizes timed one after another" in s for s in scaling)
    assert all("the plain-Python tape on the same graphs, beside it: " in s for s in scaling)
    growths = [line for line in printed.out.splitlines() if line.startswith("16.4. growth")]
    assert [line.split(", 10 to 1,000 ")[0] for line in growths] == [
        "16.4. growth: graph --format dot on chain",
        "16.4. growth: graph --format dot on dag",
        "16.4. growth: graph --format dot on uses",
        "16.4. growth: batch on chain",
        "16.4. growth: batch on dag",
        "16.4. growth: batch on uses",
        "16.4. growth: batch on lines",
    ]
    assert all("(target ≤1.15): " in line for line in growths)
    explained = [line for line in printed.out.splitlines() if "grad --explain on a node" in line]
    assert len(explained) == 1 and explained[0].startswith("16.4. ")
    assert "## How each view grows" in text and "| `batch` | lines | 10, 100, 1,000 lines |" in text
    said = printed.out.splitlines()
    colds = [line for line in said if line.partition(". ")[2].startswith("cold start")]
    assert [line.split(" ms vs ")[0].rsplit(" ", 1)[0] for line in colds] == [
        "4. cold start: bpcli grad --json",
        "16.5. cold start: bpcli grad (the table)",
        "16.5. cold start, PYTHONUNBUFFERED=1: bpcli grad (the table)",
        "4. cold start, PYTHONUNBUFFERED=1: bpcli grad --json",
    ]
    assert "| command | median, PYTHONUNBUFFERED unset | median, PYTHONUNBUFFERED=1 |" in text
    rows = [line for line in text.splitlines() if line.startswith("| ")]
    bpcli_rows = [row for row in rows if row.startswith("| bpcli | ")]
    assert len(bpcli_rows) == 1 + 4  # the headline, then each shape and size
    assert all("µs" in row or "ms" in row for row in bpcli_rows)
    for peer in ("torch", "micrograd", "sympy"):
        peer_rows = [row for row in rows if row.startswith(f"| {peer} |")]
        if importlib.util.find_spec(peer) is None:
            assert peer_rows == []  # listed once instead, under the notes
            note = f"- {peer} skipped ({peer} is not installed): chain 30, neuron 30, chain 60"
            assert note in text
        else:
            assert len(peer_rows) == 1 + 4
            assert not any("WRONG" in row or "failed" in row for row in peer_rows)
    chart = ET.parse(output.with_suffix(".svg")).getroot()
    assert chart.tag == "{http://www.w3.org/2000/svg}svg"
    assert len(chart.findall(".//{http://www.w3.org/2000/svg}polyline")) >= 2
    assert "![time per run against nodes" in text and "(benchmarks.svg)" in text


# ---- the report: targets, Markdown, SVG from known numbers ----------------------


def synthetic_results() -> runner.Results:
    settings = runner.Settings(
        [1_000, 100_000], ["bpcli", "torch", "micrograd"], ["dag", "chain"], cli=False
    )
    answer = (1.0, {"x": 2.0})
    rows = []
    for shape in settings.shapes:
        for size, bpcli_total in ((1_000, 0.004), (100_000, 0.5)):
            rows.append(measurement("bpcli", answer, shape, size, bpcli_total, size))
            rows.append(measurement("torch", answer, shape, size, 20 * bpcli_total, size))
            rows.append(measurement("micrograd", answer, shape, size, 4 * bpcli_total, size))
    failed = runner.Measurement("sympy", "dag", 1_000, 1_000, "timeout", "timed out after 30 s")
    failed.timed_out_after = 30.0
    slow = runner.Measurement("bpcli", "chain", 1_000_000, 1_000_000, "timeout", "timed out")
    slow.timed_out_after = 120.0
    return runner.Results(settings, [*rows, failed, slow])


def test_targets_say_pass_or_the_gap():
    lines = [str(target) for target in report.targets(synthetic_results())]
    # bpcli's fwd+bwd is half its total (0.25 s); PyTorch's is all of its 10 s: 40x
    assert lines[0] == (
        "1. engine 10^5 DAG: bpcli forward+backward 40.0x faster than PyTorch "
        "(250 ms vs 10.00 s; target 15x): PASS"
    )
    assert lines[1].endswith(
        "8.0x faster than micrograd (250 ms vs 2.00 s; target 15x): GAP: 1.88x short"
    )
    scaling = [line for line in lines if line.startswith("3. scaling dag")]
    assert scaling[0].endswith("(target ≤1.5x) [the target is 10^3 to 10^6]: PASS")
    # 10^6 timed out after 120 s: at least 120 µs per node against 4 at 10^3
    (chain,) = [line for line in lines if line.startswith("3. scaling chain")]
    assert "4.00 to ≥ 120.00 µs per node (total) from 10^3 to 10^6" in chain
    assert chain.endswith(
        "10^6 timed out after 120 s, ≥ 30.00x apart (target ≤1.5x): GAP: ≥ 20.00x over"
    )
    assert any(line.startswith("4. cold start: NOT MEASURED") for line in lines)


def test_a_near_miss_reads_as_a_percentage_not_as_one_times():
    # 1.597x against 1.6 is printed 1.60x; its gap must not read "1.00x short"
    assert report._at_least(1.597, 1.6) == "GAP: 0.2% short"
    assert report._at_most(2.19, 2.0) == "GAP: 9.5% over"
    assert report._at_most(2.2, 2.0) == "GAP: 1.10x over"
    assert report._at_least(1.6, 1.6) == report._at_most(2.0, 2.0) == "PASS"


def test_scaling_is_read_from_the_sizes_timed_one_after_another_where_there_are_some():
    results = synthetic_results()
    answer = (1.0, {"x": 2.0})
    # the table's dag is 4.00 to 5.00 µs a node; timed in one block, 4.00 to 8.00
    results.scaling = [
        measurement("bpcli", answer, "dag", 1_000, 0.004, 1_000),
        measurement("bpcli", answer, "dag", 100_000, 0.8, 100_000),
        measurement("python", answer, "dag", 1_000, 0.001, 1_000),
        measurement("python", answer, "dag", 100_000, 0.25, 100_000),
    ]
    lines = [str(t) for t in report.targets(results) if t.text.startswith("scaling")]
    (dag,) = [line for line in lines if "scaling dag" in line]
    assert "bpcli 4.00 to 8.00 µs per node (total) from 10^3 to 10^5, 2.00x apart" in dag
    assert dag.endswith(
        ", the sizes timed one after another [the target is 10^3 to 10^6]; the plain-Python"
        " tape on the same graphs, beside it: 2.50x: GAP: 1.33x over"
    )
    (chain,) = [line for line in lines if "scaling chain" in line]
    assert "one after another" not in chain  # none for the chain: the table's


def test_scaling_times_each_size_in_rounds_of_opposite_order_and_keeps_its_best(monkeypatch):
    settings = runner.Settings([1_000, 10_000, 100_000], ["bpcli", "python"], ["tree"], cli=False)
    results = runner.Results(settings)
    answer = (1.0, {"x": 2.0})
    calls: list[int] = []
    # the machine slows down as the block goes on: 10^5 is slow in the first round,
    # 10^3 in the second; each size's best is its fast one
    slow = {(0, 100_000), (1, 1_000)}

    def fake(results_, shape, size, log, engines):
        round_ = int(len(calls) >= len(settings.sizes))
        calls.append(size)
        total = size * 1e-6 * (3.0 if (round_, size) in slow else 1.0)
        return [measurement(engine, answer, shape, size, total, size) for engine in engines]

    monkeypatch.setattr(runner, "measured_into", fake)
    runner.measure_scaling(results, lambda line: None)
    assert calls == [1_000, 10_000, 100_000, 100_000, 10_000, 1_000]
    kept = [(m.engine, m.size, m.us_per_node) for m in results.scaling]
    assert kept == [
        (engine, size, pytest.approx(1.0))
        for size in (1_000, 10_000, 100_000)
        for engine in ("bpcli", "python")
    ]
    (line,) = [str(t) for t in report.targets(results) if t.text.startswith("scaling tree")]
    assert "1.00x apart" in line and line.endswith("PASS")


def markdown_tables(text: str) -> list[list[str]]:
    tables: list[list[str]] = []
    previous = ""
    for line in text.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                tables.append([])
            tables[-1].append(line)
        previous = line
    return tables


@pytest.mark.integration
def test_the_report_is_markdown_and_the_chart_is_svg(tmp_path):
    results = synthetic_results()
    chart = report.write(results, tmp_path / "benchmarks.md")
    text = (tmp_path / "benchmarks.md").read_text(encoding="utf-8")
    header = "| engine | nodes | runs | parse / build | forward | backward | total |"
    assert header in text
    tables = markdown_tables(text)
    assert len(tables) == 1 + 2  # the headline, one per shape
    for table in tables:
        header, rule, *rows = table
        assert rule == "|" + "|".join(["---"] * (header.count(" | ") + 1)) + "|"
        assert rows and all(row.count(" | ") == header.count(" | ") for row in rows)
    assert "sympy on dag 10^3 (1,000 nodes): timeout: timed out after 30 s" in text
    root = ET.parse(chart).getroot()
    svg = "{http://www.w3.org/2000/svg}"
    lines = root.findall(f".//{svg}polyline")
    assert len(lines) == 6  # 3 engines x 2 shapes
    labels = [node.text for node in root.iter(f"{svg}text")]
    assert "dag" in labels and "chain" in labels and "10³" in labels and "10⁵" in labels
    for polyline in lines:
        for point in polyline.get("points", "").split():
            x, y = map(float, point.split(","))
            assert 0 <= x <= float(root.get("width", 0)) and 0 <= y <= float(root.get("height", 0))


def test_the_options_parse():
    args = bench_main.parser().parse_args(["--sizes", "1e3,1e4", "--engines", "bpcli,sympy"])
    settings = bench_main.settings_from(args, ["--sizes", "1e3,1e4"])
    assert settings.sizes == [1_000, 10_000] and settings.engines == ["bpcli", "sympy"]
    assert settings.command == "python -m bench --sizes 1e3,1e4"
    quick = bench_main.settings_from(bench_main.parser().parse_args(["--quick"]), ["--quick"])
    assert quick.sizes == [100, 1_000] and quick.repeat == 1 and quick.e2e_size == 1_000
    with pytest.raises(SystemExit):
        bench_main.parser().parse_args(["--engines", "tensorflow"])


def test_a_timed_out_job_says_where_it_was_stuck():
    dump = (
        "Timeout (0:01:57)!\n"
        "Thread 0x00007f (most recent call first):\n"
        '  File "/work/src/bpcli/parser.py", line 373 in _run\n'
        '  File "/work/src/bpcli/parser.py", line 281 in parse\n'
        '  File "/work/bench/engines.py", line 85 in run\n'
        '  File "/work/bench/worker.py", line 90 in measure\n'
        "\nThread 0x00007e (most recent call first):\n"
        '  File "/usr/lib/python3.11/threading.py", line 320 in wait\n'
    )
    expected = "_run (parser.py:373) < parse (parser.py:281) < run (engines.py:85)"
    assert runner.stuck_at(dump) == expected
    assert runner.stuck_at(dump.encode()) == expected
    assert runner.stuck_at(None) == ""


@pytest.mark.integration
@pytest.mark.skipif(importlib.util.find_spec("sympy") is None, reason="needs sympy")
def test_a_job_past_its_time_limit_is_stopped_and_located(tmp_path):
    """SymPy on a 300-node DAG runs for minutes: stopped at 2 s, it says where it was."""
    tape = graphs.dag(300)
    tape.save(tmp_path / "tape.bin")
    (tmp_path / "expr.txt").write_text(graphs.to_bpcli(tape), encoding="utf-8")
    settings = runner.Settings([300], ["sympy"], ["dag"], timeouts={"sympy": 2.0})
    result = runner.run_job(
        "sympy", tmp_path / "tape.bin", tmp_path / "expr.txt", settings, tmp_path
    )
    assert result["status"] == "timeout" and result["after"] == 2.0
    assert str(result["error"]).startswith("timed out after 2 s, in ")
    assert ".py:" in str(result["error"])  # the innermost frames of its stack


@pytest.mark.integration
def test_a_quick_job_runs_until_it_has_taken_least_seconds(tmp_path):
    """A 100-node chain takes about a millisecond a run: at --repeat 1 it is one run,
    too few for a median; with least_seconds it runs on, up to MAX_RUNS times."""
    tape = graphs.chain(100)
    tape.save(tmp_path / "tape.bin")
    (tmp_path / "expr.txt").write_text(graphs.to_bpcli(tape), encoding="utf-8")
    counts = []
    for least in (0.0, 0.3):
        settings = runner.Settings([100], ["bpcli"], ["chain"], repeat=1, least_seconds=least)
        result = runner.run_job(
            "bpcli", tmp_path / "tape.bin", tmp_path / "expr.txt", settings, tmp_path
        )
        counts.append(len(result["runs"]))
    assert counts == [1, worker.MAX_RUNS]


@pytest.mark.integration
def test_the_report_names_the_bpcli_code_it_measured():
    assert "code hash " in runner.bpcli_source()


# ---- growth: the exponent of a view's time against its size ------------------------------


def test_the_growth_exponent_of_known_powers():
    sizes = (100, 1_000, 10_000)
    assert growth.exponent(sizes, [3e-6 * n for n in sizes]) == pytest.approx(1.0)
    assert growth.exponent(sizes, [3e-6 * n * n for n in sizes]) == pytest.approx(2.0)
    assert growth.exponent(sizes, [5.0, 5.0, 5.0]) == pytest.approx(0.0)


class _Work:
    """A clock that counts work instead of time: deterministic, unlike a real one."""

    def __init__(self) -> None:
        self.done = 0.0

    def __call__(self) -> float:
        return self.done


@pytest.mark.parametrize("shape", growth.SHAPES)
def test_a_quadratic_view_is_caught_and_a_linear_one_passes(shape):
    """On each shape: a view that searches every edge for each edge (the bug that made
    the views quadratic in a node's uses) is caught; one that visits each edge once passes."""
    work = _Work()

    def edges(n):
        graph = bpcli.parse(growth.program(shape, n)[0])
        return [(source, node.id) for node in graph.nodes for source in node.inputs]

    def quadratic(n):
        found = edges(n)

        def run():
            for _ in found:  # for each edge, a search through every edge
                work.done += len(found)

        return run

    def linear(n):
        found = edges(n)

        def run():
            for _ in found:
                work.done += 1

        return run

    results = runner.Results(runner.Settings([10], ["bpcli"], ["chain"], cli=False))
    sizes = (100, 1_000, 10_000)
    results.growth = [
        growth.measure("quadratic", quadratic, sizes, clock=work, shape=shape),
        growth.measure("linear", linear, sizes, clock=work, shape=shape),
    ]
    bad, good = (str(t) for t in report.targets(results) if t.number == "16.4")
    unit = "uses" if shape == "uses" else "nodes"
    assert bad.startswith(f"16.4. growth: quadratic on {shape}, 100 to 10,000 {unit} (")
    slow, fast = results.growth
    # edges per node grow a little with the DAG's size (more reuse): about 2 and 1
    assert 1.95 <= slow.exponent <= 2.15 and 0.97 <= fast.exponent <= 1.08
    gap = f"GAP: {slow.exponent / 1.15:.2f}x over"  # about 1.74x: size^2 against size^1.15
    assert bad.endswith(f"time grows as size^{slow.exponent:.2f} (target ≤1.15): {gap}")
    assert good.endswith(f"time grows as size^{fast.exponent:.2f} (target ≤1.15): PASS")


def test_a_series_that_ran_out_of_time_is_a_lower_bound():
    slow = growth.Growth("grad --explain", (100, 1_000), (0.01, 60.0), "uses", timed_out=True)
    never = growth.Growth("grad --explain", (100,), (60.0,), "dag", timed_out=True)
    # 10x the time for 10x the size, and then not within the limit: linear so far, but
    # a lower bound under the target says nothing either way
    unknown = growth.Growth("grad --format latex", (10, 100, 1_000), (0.1, 1.0, 5.0), "chain", True)
    broken = growth.Growth("graph --output graph.svg", (), (), "uses", error="dot is not installed")
    results = runner.Results(runner.Settings([10], ["bpcli"], ["chain"], cli=False))
    results.growth = [slow, never, broken, unknown]
    lines = [str(t) for t in report.targets(results) if t.number == "16.4"]
    # 60 s at 1,000 against 10 ms at 100: at least 6,000x for 10x, size^3.78
    assert lines[0] == (
        "16.4. growth: grad --explain on uses, 100 to 1,000 uses (10 ms, 60.00 s; 1,000 not "
        "within 60 CPU s): time grows as size^≥ 3.78 (target ≤1.15): GAP: ≥ 3.29x over"
    )
    assert lines[1] == (
        "16.4. growth: grad --explain on dag: NOT MEASURED: 100 nodes did not finish within 60 CPU s"
    )
    assert lines[2] == (
        "16.4. growth: graph --output graph.svg on uses: NOT MEASURED: dot is not installed"
    )
    assert lines[3].endswith(
        "time grows as size^≥ 0.85 (target ≤1.15): NOT MEASURED: 1,000 nodes did not finish "
        "within 5 CPU s"
    )


def test_growth_needs_three_sizes_ten_times_apart():
    for sizes in ("10,100", "10,50,1000"):
        with pytest.raises(SystemExit):
            bench_main.parser().parse_args(["--growth-sizes", sizes])
    args = bench_main.parser().parse_args(["--growth-sizes", "1e2,1e3,1e4"])
    assert args.growth_sizes == [100, 1_000, 10_000]
    assert bench_main.settings_from(args, []).growth_sizes == [100, 1_000, 10_000]
    skip = bench_main.parser().parse_args(["--skip-growth"])
    assert bench_main.settings_from(skip, []).growth_sizes == []


def test_the_views_timed_for_growth_draw_every_use():
    # x + x + x at x = 1: three nodes, four edges (x, x into the first +; it and x into
    # the second), each sending the upstream gradient 1 back
    for name in ("dot", "mermaid"):
        text = growth.VIEWS[name].make("uses", 3)()
        edges = [line for line in text.splitlines() if " -> " in line or " -->" in line]
        assert len(edges) == 4, name
        assert all(">1<" in edge or '|"1"|' in edge for edge in edges), name


STARTS_DOT = ("page", "svg")  # Graphviz lays them out


@pytest.mark.parametrize(
    ("name", "shape"),
    [
        pytest.param(name, shape, marks=[pytest.mark.integration] if name in STARTS_DOT else [])
        for name, spec in growth.VIEWS.items()
        for shape in spec.shapes
    ],
)
def test_every_view_runs_on_every_shape_it_is_timed_on(name, shape):
    spec = growth.VIEWS[name]
    if spec.needs and shutil.which(spec.needs) is None:
        pytest.skip(f"needs {spec.needs}")
    shown = spec.make(shape, 12)()
    assert shown is True if name == "batch" else len(shown) > 100


def test_the_views_show_the_numbers_of_x_plus_x_plus_x():
    """d/dx (x + x + x) = 3 at x = 1, and the output is 3: in the table and the write-up."""
    table = growth.VIEWS["table"].make("uses", 3)()
    assert table.splitlines()[-1].split() == ["∂f/∂x", "=", "3"]
    assert growth.VIEWS["markdown"].make("uses", 3)().count("= 3") >= 1


def test_check_is_timed_on_lecture_problems_that_are_all_right():
    from bpcli.check import check
    from bpcli.problems import loads

    text = "".join(growth.LECTURE_PROBLEM.format(i=i) for i in range(1, 4))
    report_ = check([loads(text, "problems.toml")], False, None, {})
    assert len(report_.problems) == 3 and report_.all_right
    assert report_.score == 12  # 4 points a problem


def test_a_second_round_times_the_sizes_in_the_opposite_order_and_keeps_each_ones_best(
    monkeypatch,
):
    asked: list[int] = []
    times = {100: [[0.004], [0.001]], 1000: [[0.01, 0.02], [0.03]], 10_000: [[0.5], [0.1]]}

    def runs_of(view, shape, size, *rest):
        asked.append(size)
        return times[size].pop(0), 0, [], ""

    monkeypatch.setattr(growth, "_runs_of", runs_of)
    found = growth.measure_in_processes("dot", "chain", (100, 1000, 10_000), 2, timeout=9)
    assert asked == [100, 1000, 10_000, 10_000, 1000, 100]
    assert found.seconds == (0.001, 0.01, 0.1) and found.measured
    asked.clear()
    times[100] = [[]]  # a size past its limit: no second round
    monkeypatch.setattr(
        growth,
        "_runs_of",
        lambda view, shape, size, *rest: (asked.append(size), ([], 124, [], ""))[1],
    )
    found = growth.measure_in_processes("dot", "chain", (100, 1000, 10_000), 2, timeout=9)
    assert asked == [100] and found.timed_out


@pytest.mark.integration
def test_a_size_past_the_time_limit_ends_its_series():
    sizes = (10**5, 10**6, 10**7)  # the first takes seconds, its set-up alone about one
    found = growth.measure_in_processes("dot", "chain", sizes, 1, timeout=1)
    assert found.timed_out and found.sizes == (10**5,) and not found.measured
    assert 0 < found.seconds[0] <= 1
    assert found.view == "graph --format dot"


def test_the_views_option_parses():
    args = bench_main.parser().parse_args(["--views", "dot,check"])
    assert bench_main.settings_from(args, []).views == ["dot", "check"]
    with pytest.raises(SystemExit):
        bench_main.parser().parse_args(["--views", "png"])


# ---- issue 16's stream targets (bench/streams.py) -----------------------------------------


def test_stream_targets_say_pass_or_the_gap():
    rates = {"file": 65_000.0, "pipe, PYTHONUNBUFFERED=1": 25_000.0}
    through = streams.Throughput(40_000, rates, {"file": 80_000.0})
    fan = streams.Jobs(200_000, one=3.0, two=2.0, load=(0.5, 0.4, 0.3), cores=2)
    big = streams.Nodes(10**6, nodes_seconds=9.0, nodes_mb=850.0, plain_seconds=4.0, plain_mb=190.0)
    lines = [str(t) for t in streams.targets(through, fan, big)]
    assert lines[0].endswith("file: 65,000 lines/s (80,000 per CPU-second) (target ≥50,000): PASS")
    assert lines[1].endswith("(target ≥50,000): GAP: 2.00x short")
    assert "3.00 s, 1.50x (target ≥1.6 on two idle cores; 2 cores, load average 0.50" in lines[2]
    assert lines[2].endswith("GAP: 6.7% short")
    assert "ceiling" not in lines[2]  # not measured
    bounded = streams.Jobs(200_000, 3.0, 2.0, (0.5, 0.4, 0.3), cores=2, halves=1.875)
    line = str(streams.targets(None, bounded, None)[0])
    assert "the halves at once, 1.88 s, 1.60x, of which --jobs 2 reaches 94%: GAP" in line
    assert lines[3].endswith("peak 850 MB (target <400): GAP: 2.12x over")
    assert lines[4].endswith(
        "9.00 s against 4.00 s, 2.25x; the nodes add 5.00 µs a node (target ≤2.0x): GAP: 1.12x over"
    )
    assert streams.targets(None, None, None) == []
    told = streams.targets(None, None, None, streams.Explain(4_000, seconds=1.3, cpu=1.1))
    assert str(told[0]).endswith(
        "a node used 4,000 times, the whole command: 1.30 s (CPU 1.10 s) (target <1 s): GAP: 1.30x over"
    )
    timed = streams.Nodes(10**6, 9.0, 350.0, 4.0, 190.0, 6.0, 3.0, pairs=(2.5, 1.8, 2.25))
    line = str(streams.targets(None, None, timed)[1])
    assert line.endswith(
        "9.00 s against 4.00 s, 2.25x (pairs 1.80x to 2.50x) (CPU 6.00 s against 3.00 s, 2.00x);"
        " the nodes add 5.00 µs a node (target ≤2.0x): GAP: 1.12x over"
    )


def test_stream_answers_are_checked_against_the_lecture(tmp_path):
    source = streams.requests(tmp_path / "in.jsonl", 3)
    lines = source.read_text(encoding="utf-8").splitlines()
    answers = tmp_path / "out.jsonl"
    answers.write_text("".join(batch.respond(line, 1, {})[0] for line in lines))  # type: ignore[index,misc]
    streams.check_answers(answers, 3)  # the hand-worked gradients and update
    with pytest.raises(RuntimeError, match="answered 3 of 4"):
        streams.check_answers(answers, 4)
    wrong = answers.read_text().replace('"x":-1.6', '"x":-1.7')
    answers.write_text(wrong)
    with pytest.raises(RuntimeError, match="wrong update"):
        streams.check_answers(answers, 3)


@pytest.mark.integration
def test_the_stream_targets_run_at_tiny_sizes():
    sizes = streams.Sizes(lines=20, jobs_lines=40, chain=100, repeat=2, uses=30)
    found = streams.run(sizes, lambda _: None)
    assert [t.number for t in found] == ["16.1"] * 8 + ["16.2", "16.5", "16.5", "16.4"]
    # the figures no reused answer helps: from a file and through a pipe, buffered or not
    assert ["no two lines alike" in t.text for t in found[:8]] == [False] * 4 + [True] * 4
    assert "this machine's ceiling: two --jobs 1 on the halves at once" in found[8].text
    assert re.search(r"x \(pairs \d\.\d\dx to \d\.\d\dx\) \(CPU .*; the nodes add", found[10].text)
    for target in found:
        assert target.verdict == "PASS" or target.verdict.startswith(("GAP: ", "NOT MEASURED"))


def test_stream_sizes_follow_the_runners_settings():
    args = bench_main.parser().parse_args(["--batch-lines", "20", "--e2e-size", "40"])
    sizes = streams.Sizes.of(bench_main.settings_from(args, []))
    assert sizes == streams.Sizes(lines=40, jobs_lines=200, chain=40, repeat=3, uses=40)
    default = streams.Sizes.of(bench_main.settings_from(bench_main.parser().parse_args([]), []))
    assert default == streams.Sizes()  # the issue's: 40,000 lines, 200,000 for --jobs, 10^6


# ---- issue 16's parser and engine targets (bench/floors.py) ---------------------


def test_the_constants_dag_is_the_issues_statement():
    """t_k = tanh(t_i*0.37 + t_j*-1.2): six nodes a statement, two of them constants."""
    tape = graphs.constants(3_000)
    assert abs(len(tape) - 3_000) <= 8
    text = graphs.to_bpcli(tape)
    assert text.count("*0.37+") == text.count("*-1.2)") == text.count("tanh(") > 400
    codes = list(tape.code)
    statements = codes.count(TANH)
    assert codes.count(CONST) == 2 * statements and codes.count(MUL) == 2 * statements
    expected = graphs.reference(tape)
    assert compare((expected.output, expected.gradients), bpcli_answer(tape)) == []


def test_the_floor_targets_say_pass_or_the_gap():
    from bench import floors

    settings = runner.Settings([1_000_000], ["bpcli", "torch", "python"], ["chain"], cli=False)
    answer = (1.0, {"x": 2.0})
    chain = measurement("bpcli", answer, "chain", 1_000_000, 2.0, 1_000_000)  # half is build
    dag = measurement("bpcli", answer, "dag", 100_000, 0.08, 100_000)
    floor = measurement("python", answer, "dag", 100_000, 0.064, 100_000)
    torch = measurement("torch", answer, "constants", 100_000, 0.3, 100_000)
    constants = measurement("bpcli", answer, "constants", 100_000, 0.04, 100_000)
    results = runner.Results(settings, [chain, dag, floor, torch, constants])
    lines = [str(target) for target in floors.targets(results)]
    assert lines[0] == (
        "16.3. parse: bpcli.parse on the 10^6-node chain 1.00 s, 1.00 µs a node "
        "(target ≤1.5 s at 10^6): PASS"
    )
    assert lines[1].startswith("16.3. end to end 10^6 chain against PyTorch: NOT MEASURED")
    assert lines[2] == "16.6. engine on DAG vs PyTorch: NOT MEASURED: not in this run"
    # bpcli's fwd+bwd is half its total: 40 ms against the floor's 32 ms
    assert lines[3] == (
        "16.6. engine 10^5 DAG: bpcli forward+backward 1.25x the plain-Python flat tape "
        "(40 ms vs 32 ms; target ≤1.3x): PASS"
    )
    assert lines[4] == (
        "16.6. engine 10^5 DAG of statements with constants: bpcli forward+backward 15.0x "
        "faster than PyTorch (20 ms vs 300 ms; target 15x): PASS"
    )
    assert lines[5].startswith("16.6. engine on DAG of statements with constants vs the plain")
