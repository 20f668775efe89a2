"""The pictures Graphviz draws (DOT, SVG, PNG) say what their colours mean, as the page does."""

from __future__ import annotations

import shutil
import sys
from xml.etree import ElementTree

import pytest

import bpcli
from bpcli.render.dot import to_dot

SVG = "{http://www.w3.org/2000/svg}"
NEURON = ("1/(1+exp(-(w0*x0+w1*x1+w2)))", ["w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3"])


def test_the_dot_text_has_the_legend_only_with_numbers():
    graph = bpcli.parse("q = x + y; f = q * z")
    assert "label=<" not in to_dot(graph).split("->")[-1]  # the structure alone: no legend
    with_numbers = to_dot(graph, bpcli.evaluate(graph, {"x": -2, "y": 5, "z": -4}))
    (legend,) = [line for line in with_numbers.splitlines() if line.startswith("  label=<")]
    assert '<FONT COLOR="#1a7f37">green: value</FONT>' in legend
    assert (
        '<FONT COLOR="#cf222e">red: ∂f/∂node (on an edge: what that use sends back)</FONT>'
        in legend
    )


@pytest.mark.integration
def test_the_svg_shows_the_legend_under_the_graph(bpcli, tmp_path):
    if shutil.which("dot") is None:
        pytest.fail("Graphviz's dot is not installed (.ci/run installs it)")
    out = tmp_path / "g.svg"
    run = bpcli("graph", *NEURON[0:1], *NEURON[1], "--output", str(out))
    assert (run.code, run.stderr) == (0, "")
    root = ElementTree.parse(out).getroot()
    (graph,) = [g for g in root.iter(f"{SVG}g") if g.get("class") == "graph"]
    legend = {t.text: float(t.get("y", "0")) for t in graph.findall(f"{SVG}text")}
    nodes = [
        float(t.get("y", "0"))
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "node"
        for t in g.iter(f"{SVG}text")
    ]
    assert legend["green: value"] > max(nodes)  # below every node (SVG's y goes down)
    assert legend["red: ∂f/∂node (on an edge: what that use sends back)"] > max(nodes)


@pytest.mark.integration
@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX shell stands in for dot")
def test_the_png_is_drawn_from_the_same_dot(bpcli, tmp_path, monkeypatch):
    """--output g.png hands dot the DOT text with the legend (a stand-in dot keeps it)."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    copy = f"while IFS= read -r line; do printf '%s\\n' \"$line\"; done > {tmp_path / 'given.dot'}"
    (bindir / "dot").write_text(f"#!/bin/sh\n{copy}\nprintf PNG\n")  # shell builtins only
    (bindir / "dot").chmod(0o755)
    monkeypatch.setenv("PATH", str(bindir))
    run = bpcli("graph", NEURON[0], *NEURON[1], "--output", str(tmp_path / "g.png"))
    assert (run.code, run.stderr) == (0, ""), run.stderr
    given = (tmp_path / "given.dot").read_text(encoding="utf-8")
    assert "green: value" in given and "red: ∂f/∂node" in given
