"""The README stays true: every command it shows is run here, and its output compared."""

from __future__ import annotations

import html
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from conftest import unavailable

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def console_examples() -> list[tuple[str, str]]:
    """(command, expected output) for each `$ command` in the README's console blocks."""
    examples = []
    for _, block in re.findall(r"(`{3,})console\n(.*?)\1\n", README, flags=re.S):
        lines = block.splitlines()
        i = 0
        while i < len(lines):
            assert lines[i].startswith("$ "), lines[i]
            command = lines[i][2:]
            i += 1
            while not _complete(command):
                command += "\n" + lines[i]
                i += 1
            output = []
            while i < len(lines) and not lines[i].startswith("$ "):
                output.append(lines[i])
                i += 1
            examples.append((command, "\n".join(output) + ("\n" if output else "")))
    return examples


def _complete(command: str) -> bool:
    try:
        shlex.split(command)
    except ValueError:  # an open quote: the command goes on on the next line
        return False
    return True


EXAMPLES = console_examples()
SETUP = [(c, o) for c, o in EXAMPLES if c.startswith("pip install")]
COMMANDS = [(c, o) for c, o in EXAMPLES if not c.startswith("pip install")]


def test_the_readme_has_its_two_setup_commands_and_ci_runs_them_verbatim():
    assert [c for c, _ in SETUP] == [
        'pip install . && bpcli grad "(x+y)*z" --x -2 --y 5 --z -4',
        'pip install ".[test]" && pytest',
    ]
    for command, _ in SETUP:
        assert command in CI.splitlines(), f".ci/run must run {command!r} as written"


@pytest.mark.integration
@pytest.mark.parametrize(("command", "expected"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_readme_command(command, expected, tmp_path):
    bindir = Path(sys.executable).parent
    if not (bindir / "bpcli").exists():
        unavailable("bpcli is not installed beside this Python")
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "PY_COLORS")}
    env.update(PATH=f"{bindir}{os.pathsep}{env.get('PATH', '')}", COLUMNS="80", NO_COLOR="1")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")  # examples read docs/ and write here
    out = subprocess.run(
        ["bash", "-o", "pipefail", "-c", command + " 2>&1"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=False,
    )
    assert _lines(out.stdout) == _lines(expected)  # spaces at the ends of lines do not show
    wanted = EXIT_CODES.get(command, 2 if expected.startswith("error:") else 0)
    assert out.returncode == wanted


# Examples whose point is a non-zero exit code.
EXIT_CODES = {
    "bpcli check --problems docs/homework.toml docs/submission.toml": 1,
    "bpcli check --problems docs/homework.toml docs/submission.toml --json"
    " | jq -c '.students[] | [.student, .score, .max_score]'": 1,
    "bpcli check docs/submission.toml | head -n 1": 1,
    "bpcli check --problems docs/matrix-homework.toml docs/matrix-submission.toml"
    " | sed -n 5,22p": 1,
    "bpcli batch docs/requests.jsonl | jq -c 'if .ok then {id, grad: .result.gradients,"
    " after: .result.update.output} else {id, error: .error.message} end'": 1,
}


def _lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_the_setup_command_runs_the_lecture_example():
    """The part of set-up command 1 after `pip install .` is the lecture example."""
    command = SETUP[0][0].split(" && ", 1)[1]
    assert any(c == command for c, _ in COMMANDS)


def test_the_python_example_runs():
    (code,) = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    namespace: dict[str, object] = {}
    exec(code, namespace)
    result = namespace["result"]
    assert result.output == -12.0  # type: ignore[attr-defined]
    assert result.gradients == {"x": -4.0, "y": -4.0, "z": 3.0}  # type: ignore[attr-defined]
    assert abs(result.update.output - (-16.34)) < 1e-12  # type: ignore[attr-defined]
    lecture = namespace["lecture"]
    assert (lecture["q"].value, lecture["q"].grad) == (3.0, -4.0)  # type: ignore[index]
    assert repr(lecture) == "Result(f=-12, ∂f/∂x=-4, ∂f/∂y=-4, ∂f/∂z=3)"
    assert "# (3.0, -4.0): a node by name" in code
    assert "# 'Result(f=-12, ∂f/∂x=-4, ∂f/∂y=-4, ∂f/∂z=3)'" in code


def test_the_magics_in_the_readme_run():
    """The README's ```ipython block, each line run by IPython's own shell, in process."""
    pytest.importorskip("IPython")
    from IPython.testing.globalipapp import get_ipython
    from IPython.utils.capture import capture_output

    (block,) = re.findall(r"```ipython\n(.*?)```", README, flags=re.S)
    shell = get_ipython()  # one shell per process: IPython's own, started once
    shown = []
    for line in block.splitlines():
        name, _, rest = line[1:].partition(" ")
        with capture_output() as captured:
            shell.run_line_magic(name, rest)
        assert not captured.stderr, captured.stderr
        shown.append(captured)
    _, grad, page = shown
    assert grad.outputs[0].data["text/plain"] == (
        "Result(f=-12, ∂f/∂x=-4, ∂f/∂y=-4, ∂f/∂z=3, after 1 step: f=-16.34)"
    )
    assert page.outputs[0].data["text/html"].startswith("<iframe srcdoc=")
    assert "the program" in README and "%%bpcli --x -2 --y 5 --z -4 --explain" in README


# ---- the README's picture: docs/lecture-graph.svg, the `--output lecture.svg` example ----------
#
# Graphviz places the boxes and writes the SVG, and each version does it a little
# differently; what bpcli decides, and what the README promises, is what is drawn: the
# nodes and their shapes, the edges, every label's lines with their weight, size and
# colour. A picture is reduced to that, so that any Graphviz version can check it.

SVG = "{http://www.w3.org/2000/svg}"
PICTURE = ROOT / "docs" / "lecture-graph.svg"
Line = tuple[str, bool, float, str]  # text, bold, font size, colour ("" for the default)


def drawn_parts(svg: str) -> dict[str, tuple[str, list[Line]]]:
    """Each node's and edge's title (n0, n0->n2) -> (its shape, its label's lines)."""
    parts = {}
    for group in ElementTree.fromstring(svg).iter(f"{SVG}g"):
        kind = group.get("class")
        if kind == "graph":  # the legend under the graph: its coloured runs of text
            runs = [t for t in group.findall(f"{SVG}text") if (t.text or "").strip()]
            parts["legend"] = (
                "legend",
                [
                    (t.text or "", False, float(t.get("font-size", "0")), t.get("fill", ""))
                    for t in runs
                ],
            )
        if kind not in ("node", "edge"):
            continue
        title = group.findtext(f"{SVG}title")
        assert title is not None
        shapes = [
            e.tag.removeprefix(SVG) for e in group if e.tag in (f"{SVG}polygon", f"{SVG}ellipse")
        ]
        shape = "edge" if kind == "edge" else f"{shapes[0]} x{len(shapes)}"
        lines = [
            (
                t.text or "",
                t.get("font-weight") == "bold",
                float(t.get("font-size", "0")),
                t.get("fill", ""),
            )
            for t in group.iter(f"{SVG}text")
        ]
        parts[title] = (shape, lines)
    return parts


def dot_parts(dot: str) -> dict[str, tuple[str, list[Line]]]:
    """The same, from the DOT text: what Graphviz is asked to draw."""
    sizes = {
        kind: float(size)
        for kind, size in re.findall(r"^  (node|edge) \[.*?fontsize=(\d+)", dot, flags=re.M)
    }
    parts = {}
    for name, attributes in re.findall(r"^  (n\d+(?: -> n\d+)?) \[(.*)\];$", dot, flags=re.M):
        label = re.search(r"label=<(.*)>(?:,|$)", attributes)
        assert label is not None, attributes
        lines = []
        for piece in label.group(1).split("<BR/>"):
            size = re.search(r'POINT-SIZE="([\d.]+)"', piece)
            colour = re.search(r'COLOR="(#[0-9a-f]{6})"', piece)
            is_edge = "->" in name
            lines.append(
                (
                    html.unescape(re.sub(r"<[^>]*>", "", piece)),
                    "<B>" in piece,
                    float(size.group(1)) if size else sizes["edge" if is_edge else "node"],
                    colour.group(1) if colour else "",
                )
            )
        if "->" in name:
            shape = "edge"
        else:
            ellipse = "shape=ellipse" in attributes
            rings = re.search(r"peripheries=(\d+)", attributes)
            shape = f"{'ellipse' if ellipse else 'polygon'} x{rings.group(1) if rings else 1}"
        parts[name.replace(" -> ", "->")] = (shape, lines)
    legend = re.search(r"^  label=<(.*)>;$", dot, flags=re.M)
    size = re.search(r"^  graph \[.*?fontsize=(\d+)", dot, flags=re.M)
    if legend is not None and size is not None:
        runs = re.findall(r'<FONT COLOR="(#[0-9a-f]{6})">(.*?)</FONT>', legend.group(1))
        parts["legend"] = (
            "legend",
            [(html.unescape(text), False, float(size.group(1)), colour) for colour, text in runs],
        )
    return parts


def readme_picture_command() -> list[str]:
    (command,) = [c for c, _ in COMMANDS if c.endswith("--output lecture.svg")]
    argv = shlex.split(command)
    assert argv[0] == "bpcli" and argv[-2:] == ["--output", "lecture.svg"]
    return argv[1:-2]


def test_the_readme_picture_is_what_bpcli_draws():
    """docs/lecture-graph.svg shows what bpcli asks Graphviz to draw for the README's
    example today: every node, shape, edge and label line (no Graphviz needed)."""
    from typer.testing import CliRunner

    from bpcli.cli import app

    result = CliRunner().invoke(app, [*readme_picture_command(), "--format", "dot"])
    assert result.exit_code == 0, result.output
    wanted = dot_parts(result.stdout)
    committed = drawn_parts(PICTURE.read_text(encoding="utf-8"))
    assert len(wanted) == 5 + 4 + 1  # x, y, q, z, f, the four edges and the legend
    assert committed == wanted
    assert committed["legend"][1] == [
        ("green: value", False, 10.0, "#1a7f37"),
        ("red: ∂f/∂node (on an edge: what that use sends back)", False, 10.0, "#cf222e"),
    ]
    # the lecture's numbers, by hand: q = 3, f = -12, df/dx = df/dy = -4, df/dz = 3
    texts = [line[0] for _, lines in committed.values() for line in lines]
    for label in ["x", "-2", "∂ -4", "q · distributor", "3", "f · swap multiplier", "-12", "∂ 1"]:
        assert label in texts
    assert committed["n3->n4"][1] == [("3", False, 10.0, "#cf222e")]  # z's gradient, 3


def test_a_changed_picture_is_caught():
    """The comparison above can fail: one gradient changed in the picture."""
    picture = PICTURE.read_text(encoding="utf-8")
    changed = picture.replace(">∂ 3</text>", ">∂ 4</text>")
    assert changed != picture
    assert drawn_parts(changed) != drawn_parts(picture)


@pytest.mark.integration
def test_graphviz_draws_the_readme_picture_as_committed(tmp_path):
    """The README's command itself, with the installed Graphviz (any version): the same
    nodes, shapes, edges and labels as the committed picture."""
    if shutil.which("dot") is None:
        unavailable("Graphviz's dot is not installed (.ci/run installs it)")
    from typer.testing import CliRunner

    from bpcli.cli import app

    target = tmp_path / "lecture.svg"
    result = CliRunner().invoke(app, [*readme_picture_command(), "--output", str(target)])
    assert result.exit_code == 0, result.output
    drawn = drawn_parts(target.read_text(encoding="utf-8"))
    assert drawn == drawn_parts(PICTURE.read_text(encoding="utf-8"))


QUICK = 'pytest -m "not integration"'


@pytest.mark.integration
def test_the_quick_command_runs_the_core(request):
    """The README's quick command selects exactly the tests without the integration mark
    (this run runs them; here pytest collects them as the command would)."""
    assert f"```\n{QUICK}\n```" in README
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            *shlex.split(QUICK),
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    quick = {line for line in out.stdout.splitlines() if "::" in line}
    assert len(quick) > 500
    assert "tests/test_engine.py::test_a_deep_chain_is_exact" in quick
    checked = 0
    for item in request.session.items:
        marked = item.get_closest_marker("integration") is not None
        assert (item.nodeid in quick) is not marked, item.nodeid
        checked += 1
    assert checked >= 1  # this test itself, at least


def test_every_command_is_in_the_readme():
    from bpcli.cli import app

    for command in app.registered_commands:
        name = command.name or command.callback.__name__  # type: ignore[union-attr]
        assert f"bpcli {name}" in README, name
