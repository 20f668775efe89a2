"""Graphviz's dot, run by bpcli: bounded in time and memory, and every failure a clear exit 2.

The real dot draws the graphs it is known to be slow on (`x + x + … + x`: one node
with many uses); a stand-in `dot` on the PATH plays the failures that are hard to
cause on purpose (killed, an exit code with nothing said, the memory cap seen from
inside).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bpcli
from bpcli import graphviz
from bpcli.render.dot import to_dot

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell stands in for dot")

ADVICE = ("--format dot", "a smaller graph", "--output page.html")
LECTURE_ARGS = ("(x+y)*z", "x=-2", "y=5", "z=-4")


def real_dot() -> str:
    program = shutil.which("dot")
    if program is None:
        pytest.fail("Graphviz's dot is not installed (.ci/run installs it)")
    return program


def fake_dot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, script: str) -> None:
    """A `dot` on an otherwise empty PATH that runs `script` (POSIX sh)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    program = bindir / "dot"
    program.write_text(f"#!/bin/sh\n{script}\n", encoding="utf-8")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))


def graph_of_a_sum(
    tmp_path: Path, terms: int, output: str, timeout: str
) -> subprocess.CompletedProcess[str]:
    """`bpcli graph` of x + x + … + x with BPCLI_DOT_TIMEOUT=`timeout`, in a process of
    its own, with the real dot; the test fails, rather than hangs, past 120 s."""
    real_dot()
    (tmp_path / "sum.bp").write_text(" + ".join(["x"] * terms), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "bpcli", "graph", "--file", "sum.bp", "x=1", "--output", output],
        capture_output=True,
        text=True,
        env={**os.environ, "BPCLI_DOT_TIMEOUT": timeout},
        cwd=tmp_path,
        timeout=120,
    )


# ---- dot that takes too long ----------------------------------------------------------------


@pytest.mark.integration
def test_a_slow_dot_layout_stops_at_the_timeout_with_exit_2(tmp_path):
    # 40 uses of x: within the bounds where dot lays the graph out (its edges carry
    # labels), but dot takes a few tenths of a second on them; bpcli stops it at
    # BPCLI_DOT_TIMEOUT seconds.
    run = graph_of_a_sum(tmp_path, 40, "g.svg", timeout="0.05")
    assert run.returncode == 2, run.stderr
    assert run.stderr.startswith("error: Graphviz's dot did not finish drawing g.svg within 0.05 s")
    assert all(advice in run.stderr for advice in ADVICE), run.stderr
    assert "internal error" not in run.stderr
    assert not (tmp_path / "g.svg").exists()


@pytest.mark.integration
def test_the_page_falls_back_to_bpcli_layout_when_dot_is_too_slow(tmp_path):
    # 40 uses of x: within the page's bounds for dot (its edges carry labels), but dot
    # takes a few tenths of a second on them.
    run = graph_of_a_sum(tmp_path, 40, "page.html", timeout="0.05")
    assert (run.returncode, run.stderr) == (0, "")
    assert "laid out by bpcli by depth" in (tmp_path / "page.html").read_text(encoding="utf-8")


@pytest.mark.integration
def test_a_stuck_dot_is_stopped(bpcli, tmp_path, monkeypatch):
    fake_dot(tmp_path, monkeypatch, "exec /bin/sleep 60")
    monkeypatch.setenv("BPCLI_DOT_TIMEOUT", "0.3")
    run = bpcli("graph", *LECTURE_ARGS, "--output", str(tmp_path / "g.png"))
    assert run.code == 2
    assert "did not finish drawing" in run.stderr and "within 0.3 s" in run.stderr


@pytest.mark.parametrize("value", ["soon", "0", "-1", "inf", "nan", ""])
def test_a_timeout_that_is_not_a_positive_number_is_an_input_error(monkeypatch, value):
    monkeypatch.setenv("BPCLI_DOT_TIMEOUT", value)
    with pytest.raises(bpcli.InputError, match="BPCLI_DOT_TIMEOUT is a number of seconds"):
        graphviz.timeout()


def test_the_timeout_is_20_s_unless_changed(monkeypatch):
    monkeypatch.delenv("BPCLI_DOT_TIMEOUT", raising=False)
    assert graphviz.timeout() == 20.0
    monkeypatch.setenv("BPCLI_DOT_TIMEOUT", "2.5")
    assert graphviz.timeout() == 2.5


# ---- dot that fails -------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.parametrize(
    ("script", "said"),
    [
        # what the kernel's out-of-memory killer does to dot on 3,000 uses of x
        ("kill -9 $$", ("was killed by SIGKILL drawing", "2 GB of memory at most")),
        # before: exit 3, "internal error … dot failed:" and nothing after it
        ("exit 1", ("failed drawing", "(exit code 1) and said nothing")),
        ("echo 'out of memory' >&2; exit 1", ('(exit code 1) and said "out of memory"',)),
        ("exit 0", ("wrote nothing drawing",)),
    ],
    ids=["killed", "silent exit 1", "exit 1 with a reason", "no output"],
)
def test_dot_failing_is_exit_2_with_what_happened_and_the_advice(
    bpcli, tmp_path, monkeypatch, script, said
):
    fake_dot(tmp_path, monkeypatch, script)
    run = bpcli("graph", *LECTURE_ARGS, "--output", str(tmp_path / "g.svg"))
    assert run.code == 2, run.stderr
    assert run.stderr.startswith("error: Graphviz's dot ")
    assert all(words in run.stderr for words in (*said, *ADVICE)), run.stderr
    assert not (tmp_path / "g.svg").exists()


@pytest.mark.integration
def test_dot_runs_with_its_memory_capped(tmp_path, monkeypatch):
    # the stand-in prints the address-space limit it runs under, in KB
    fake_dot(tmp_path, monkeypatch, "ulimit -v")
    drawn = graphviz.draw("digraph {}", "g.svg", "svg", nodes=1)
    assert int(drawn) == 2 * 1024**3 // 1024


def test_missing_dot_is_exit_2_with_the_advice(bpcli, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no dot on it
    run = bpcli("graph", *LECTURE_ARGS, "--output", str(tmp_path / "g.svg"))
    assert run.code == 2
    assert "needs Graphviz's dot program, which is not installed" in run.stderr
    assert "--format dot writes the DOT text" in run.stderr
    assert "(--output page.html) is laid out by bpcli itself" in run.stderr


@pytest.mark.integration
def test_a_failing_dot_leaves_the_page_to_bpcli_layout(bpcli, tmp_path, monkeypatch):
    fake_dot(tmp_path, monkeypatch, "kill -9 $$")
    out = tmp_path / "page.html"
    run = bpcli("graph", *LECTURE_ARGS, "--output", str(out))
    assert (run.code, run.stderr) == (0, "")
    assert "laid out by bpcli by depth" in out.read_text(encoding="utf-8")


# ---- the layout limits --------------------------------------------------------------------


def drawn_directly(dot_text: str, *flags: str) -> bytes:
    """What Graphviz itself draws from `dot_text`, run here without bpcli."""
    done = subprocess.run(
        [real_dot(), "-Tsvg", *flags], input=dot_text.encode(), capture_output=True
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


LIMITS = ("-Gnslimit=1", "-Gnslimit1=1", "-Gmclimit=0.5")


def picture(program: str, values: dict[str, float]) -> tuple[bpcli.Result, bytes]:
    result = bpcli.grad(program, values)
    return result, graphviz.picture(result.graph, result, 6, "g.svg", "svg")


@pytest.mark.integration
def test_a_small_graph_is_drawn_with_dot_full_layout():
    # Graphviz 2.43 draws this one differently under the layout limits
    result, drawn = picture("max(x, y)*sin(x*y) + exp(-x)/y", {"x": 0.5, "y": 0.7})
    assert drawn == drawn_directly(to_dot(result.graph, result))


@pytest.mark.integration
def test_a_bigger_graph_dot_is_quick_on_is_drawn_with_the_layout_limits():
    # 40 uses of x (40 nodes past EXACT_MAX_NODES): the most the labelled bounds let dot lay out
    result, drawn = picture(" + ".join(["x"] * 40) + " + y", {"x": 1.0, "y": 2.0})
    assert len(result.graph.nodes) > graphviz.EXACT_MAX_NODES
    assert drawn == drawn_directly(to_dot(result.graph, result), *LIMITS)


def shapes(svg: bytes) -> tuple[dict[str, tuple[float, float, float, float]], list[str], list[str]]:
    """From Graphviz's SVG: each node's box (left, top, right, bottom: its shape's, or
    its text's for a plaintext node), its edges ("n0->n2"), and every text drawn."""
    import re
    import xml.etree.ElementTree as ET

    ns = {"s": "http://www.w3.org/2000/svg"}
    root = ET.fromstring(svg)
    boxes, edges = {}, []
    for group in root.iter("{http://www.w3.org/2000/svg}g"):
        kind, title = group.get("class"), group.findtext("s:title", namespaces=ns)
        if kind == "edge":
            edges.append(title)
        if kind != "node":
            continue
        points: list[tuple[float, float]] = []
        for shape in group.findall("s:ellipse", ns):
            cx, cy, rx, ry = (float(shape.get(a)) for a in ("cx", "cy", "rx", "ry"))
            points += [(cx - rx, cy - ry), (cx + rx, cy + ry)]
        for shape in group.findall("s:polygon", ns):
            points += [
                (float(x), float(y))
                for x, y in re.findall(r"(-?[\d.]+),(-?[\d.]+)", shape.get("points"))
            ]
        if not points:  # a constant: plaintext, its lines of text centred on its place
            for text in group.findall("s:text", ns):
                x, y = float(text.get("x")), float(text.get("y"))
                points += [(x - 3, y - 10), (x + 3, y + 2)]
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        boxes[title] = (min(xs), min(ys), max(xs), max(ys))
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    return boxes, edges, texts


@pytest.mark.integration
def test_a_graph_too_big_for_dot_is_laid_out_by_bpcli_and_drawn_by_graphviz():
    # 200 uses of x and 3 of a constant: dot's layout took about 20 s with the limits
    # and minutes without; laid out by depth, Graphviz draws it in a fraction of a second
    program = " + ".join(["x"] * 200) + " + 2*y + 2*y*y"
    result, drawn = picture(program, {"x": 1.0, "y": 3.0})
    boxes, edges, texts = shapes(drawn)
    graph = result.graph
    assert sorted(boxes) == sorted(f"n{node.id}" for node in graph.nodes)
    wanted = sorted(f"n{s}->n{node.id}" for node in graph.nodes for s in node.inputs)
    assert sorted(edges) == wanted
    for edge in edges:  # inputs on the left, the output on the right, as dot draws it
        source, target = edge.split("->")
        assert boxes[source][2] < boxes[target][0], edge
    ordered = sorted(boxes.values())
    for i, (_, top, right, bottom) in enumerate(ordered):  # no two boxes overlap
        for other in ordered[i + 1 :]:
            if other[0] >= right:
                break
            assert other[1] >= bottom or other[3] <= top, (ordered[i], other)
    # every use's gradient is written on its edge: 1 for each x, 2y = 6 and 2 + 4y = 14 for y
    assert texts.count("1") >= 200 and "6" in texts and "14" in texts
    assert "∂ 200" in texts  # x's whole gradient, on its box
    assert any(t.startswith("green: value") for t in texts)  # the legend


@pytest.mark.integration
def test_a_graphviz_that_cannot_measure_leaves_the_layout_to_dot(tmp_path, monkeypatch):
    # a dot whose JSON is not JSON (an old or broken Graphviz): dot lays the graph out,
    # with the limits, as it did before bpcli could lay it out itself
    dot = real_dot()
    fake_dot(
        tmp_path, monkeypatch, f'case "$*" in *json*) echo "not json";; *) exec {dot} "$@";; esac'
    )
    result, drawn = picture(" + ".join(["x"] * 41), {"x": 1.0})
    assert drawn == drawn_directly(to_dot(result.graph, result), *LIMITS)


@pytest.mark.integration
def test_every_graph_output_path_works(bpcli, tmp_path):
    real_dot()
    for name, start in [
        ("g.svg", b"<?xml"),
        ("g.png", b"\x89PNG"),
        ("g.pdf", b"%PDF"),
        ("g.dot", b"digraph bpcli {"),
        ("page.html", b"<!DOCTYPE html>"),
    ]:
        run = bpcli("graph", *LECTURE_ARGS, "--output", str(tmp_path / name))
        assert (run.code, run.stderr) == (0, ""), name
        assert (tmp_path / name).read_bytes().startswith(start), name
    for fmt, start in [
        ("dot", "digraph bpcli {"),
        ("mermaid", "flowchart LR"),
        ("tree", "f = add1 * z"),
        ("html", "<!DOCTYPE html>"),
    ]:
        run = bpcli("graph", *LECTURE_ARGS, "--format", fmt)
        assert run.code == 0 and run.stdout.startswith(start), fmt
    page = (tmp_path / "page.html").read_text(encoding="utf-8")
    assert "laid out by Graphviz's dot" in page


@pytest.mark.parametrize(
    "program",
    [
        " + ".join(["x"] * 41),  # 41 uses of x: dot takes seconds on labelled edges
        "sin(" * 151 + "x" + ")" * 151,  # 152 nodes, each used once
    ],
    ids=["41 uses", "152 nodes"],
)
def test_a_page_dot_would_be_slow_on_never_runs_it(bpcli, tmp_path, monkeypatch, program):
    fake_dot(tmp_path, monkeypatch, f": > {tmp_path / 'ran'}")  # a shell builtin
    (tmp_path / "f.bp").write_text(program, encoding="utf-8")
    out = tmp_path / "page.html"
    run = bpcli("graph", "--file", str(tmp_path / "f.bp"), "x=1", "--output", str(out))
    assert (run.code, run.stderr) == (0, "")
    assert "laid out by bpcli by depth" in out.read_text(encoding="utf-8")
    assert not (tmp_path / "ran").exists()


def test_a_page_too_big_for_dot_never_runs_it(bpcli, tmp_path, monkeypatch):
    fake_dot(tmp_path, monkeypatch, f": > {tmp_path / 'ran'}")  # a shell builtin
    (tmp_path / "sum.bp").write_text(" + ".join(["x"] * 401), encoding="utf-8")  # 401 nodes
    out = tmp_path / "page.html"
    run = bpcli("graph", "--file", str(tmp_path / "sum.bp"), "x=1", "--output", str(out))
    assert (run.code, run.stderr) == (0, "")
    assert "laid out by bpcli by depth" in out.read_text(encoding="utf-8")
    assert not (tmp_path / "ran").exists()
