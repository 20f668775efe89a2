"""The README stays true: every command it shows is run here, and its output compared."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

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


@pytest.mark.parametrize(("command", "expected"), COMMANDS, ids=[c for c, _ in COMMANDS])
def test_readme_command(command, expected, tmp_path):
    bindir = Path(sys.executable).parent
    if not (bindir / "bpcli").exists():
        pytest.skip("bpcli is not installed beside this Python")
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


def test_the_readme_picture_is_what_bpcli_draws(tmp_path):
    """docs/lecture-graph.svg is the README's `--output lecture.svg` example, kept current."""
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot is not installed")
    (command,) = [c for c, _ in COMMANDS if c.endswith("--output lecture.svg")]
    argv = shlex.split(command)
    from typer.testing import CliRunner

    from bpcli.cli import app

    result = CliRunner().invoke(app, [*argv[1:-1], str(tmp_path / "lecture.svg")])
    assert result.exit_code == 0, result.output
    drawn = (tmp_path / "lecture.svg").read_text(encoding="utf-8")
    assert drawn == (ROOT / "docs" / "lecture-graph.svg").read_text(encoding="utf-8")
    texts = [t.text for t in ElementTree.fromstring(drawn).iter("{http://www.w3.org/2000/svg}text")]
    for label in ["x", "-2", "∂ -4", "q · distributor", "3", "f · swap multiplier", "-12", "∂ 1"]:
        assert label in texts


def test_every_command_is_in_the_readme():
    from bpcli.cli import app

    for command in app.registered_commands:
        name = command.name or command.callback.__name__  # type: ignore[union-attr]
        assert f"bpcli {name}" in README, name
