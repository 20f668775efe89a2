"""The command line, in-process through Typer's CliRunner and as real processes."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import bpcli as bpcli_api
from conftest import unavailable

LECTURE_ARGS = ("--x", "-2", "--y", "5", "--z", "-4")
LECTURE_TABLE = (
    "computational graph\n"
    "node  op   text     value  ∂f/∂node\n"
    "x     var  x           -2        -4\n"
    "y     var  y            5        -4\n"
    "add1  add  x+y          3        -4\n"
    "z     var  z           -4         3\n"
    "f     mul  (x+y)*z    -12         1\n"
    "\n"
    "f = -12\n"
    "∂f/∂x = -4   ∂f/∂y = -4   ∂f/∂z = 3\n"
)


def grads(run) -> dict[str, float]:
    assert run.code == 0, run.stderr
    return json.loads(run.stdout)["gradients"]


def test_lecture_example(bpcli):
    run = bpcli("grad", "(x+y)*z", *LECTURE_ARGS)
    assert run.code == 0
    assert run.stdout == LECTURE_TABLE
    assert run.stderr == ""


def test_lecture_update_step(bpcli):
    run = bpcli("grad", "q = x + y; f = q * z", *LECTURE_ARGS, "--lr", "0.1")
    assert run.code == 0
    lines = run.stdout.splitlines()
    assert lines[-7:] == [
        "update step: x := x - α·∂f/∂x with α = 0.1",
        "input  value  ∂f/∂input  new value",
        "x         -2         -4       -1.6",
        "y          5         -4        5.4",
        "z         -4          3       -4.3",
        "",
        "after the update: f = -16.34",
    ]


def test_lecture_json(bpcli):
    run = bpcli("grad", "(x+y)*z", "--x=-2", "y=5", "--z", "-4", "--json", "--lr", "0.1")
    data = json.loads(run.stdout)
    assert data["output"] == {"name": "f", "value": -12.0}
    assert data["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert data["update"]["inputs"] == pytest.approx({"x": -1.6, "y": 5.4, "z": -4.3})
    assert data["update"]["output"] == pytest.approx(-16.34)
    assert run.stdout.count("\n") == 1  # one object, one line


def test_steps_trajectory_json(bpcli):
    run = bpcli("grad", "(x+y)*z", *LECTURE_ARGS, "--lr", "0.1", "--steps", "2", "--json")
    data = json.loads(run.stdout)
    assert [t["output"] for t in data["trajectory"]] == pytest.approx([-12, -16.34, -21.8088])


@pytest.mark.parametrize(
    "args",
    [
        ("(x+y)*z", "--x", "-2", "--y", "5", "--z", "-4"),
        ("(x+y)*z", "--x=-2", "--y=5", "--z=-4"),
        ("(x+y)*z", "x=-2", "y=5", "z=-4"),
        ("--x", "-2", "(x+y)*z", "y=5", "--z=-4"),
        ("x=-2", "y=+5", "z=-4e0", "(x+y)*z"),
        ("--x", "-.2e1", "--y", "0.5E+1", "--z", "-4.", "(x+y)*z"),
    ],
)
def test_every_value_form_in_any_order(bpcli, args):
    run = bpcli("grad", *args, "--json")
    assert grads(run) == {"x": -4.0, "y": -4.0, "z": 3.0}


def test_scientific_notation_negative_values(bpcli):
    run = bpcli("grad", "x*y", "--x", "-1e-3", "--y", "-2.5E+4", "--json")
    assert grads(run) == {"x": -25000.0, "y": -0.001}


def test_an_assignment_with_an_expression_is_the_expression(bpcli):
    run = bpcli("grad", "f=x*y", "x=2", "y=3", "--json")
    assert json.loads(run.stdout)["output"] == {"name": "f", "value": 6.0}
    run = bpcli("grad", "q=x+y;f=q*z", *LECTURE_ARGS, "--json")
    assert grads(run) == {"x": -4.0, "y": -4.0, "z": 3.0}


def test_an_expression_may_start_with_a_minus_and_contain_h(bpcli):
    run = bpcli("grad", "-tanh(h)", "--h", "0", "--json")
    assert grads(run) == {"h": -1.0}  # tanh'(0) = 1


def test_a_variable_named_like_an_option(bpcli):
    run = bpcli("grad", "x*lr", "x=3", "lr=0.5", "--lr", "0.1", "--json")
    data = json.loads(run.stdout)
    assert data["gradients"] == {"x": 0.5, "lr": 3.0}
    assert data["update"]["lr"] == 0.1


def test_max_tie_option(bpcli):
    assert grads(bpcli("grad", "max(x,y)", "x=1", "y=1", "--json")) == {"x": 0.5, "y": 0.5}
    run = bpcli("grad", "max(x,y)", "x=1", "y=1", "--json", "--max-tie", "first")
    assert grads(run) == {"x": 1.0, "y": 0.0}


def test_precision_option(bpcli):
    run = bpcli("grad", "x/3", "x=1", "--precision", "3")
    assert "0.333 " in run.stdout and "0.3333" not in run.stdout


def test_expression_from_a_file(bpcli, tmp_path):
    path = tmp_path / "lecture.bp"
    path.write_text("# the lecture\nq = x + y\nf = q * z\n", encoding="utf-8")
    assert grads(bpcli("grad", "--file", str(path), *LECTURE_ARGS, "--json")) == {
        "x": -4.0,
        "y": -4.0,
        "z": 3.0,
    }


def test_a_deep_expression_from_stdin(bpcli, shallow_stack):
    # 2,000 levels of (…*a + b), two nodes a level; df/dx = a**depth, by hand
    depth, a, b = 8 * shallow_stack, 1.00001, 0.25
    text = "(" * depth + "x" + "*a+b)" * depth
    run = bpcli("grad", "-", "--json", "x=1", f"a={a}", f"b={b}", input=text)
    data = json.loads(run.stdout)
    assert len(data["nodes"]) == 2 * depth + 3
    value = 1.0
    for _ in range(depth):
        value = value * a + b
    assert data["output"]["value"] == pytest.approx(value, rel=1e-9)
    assert data["gradients"]["x"] == pytest.approx(a**depth, rel=1e-9)
    assert len(data["nodes"][-1]["text"]) == 60


def test_a_large_table_is_cut_in_the_middle(bpcli):
    text = " + ".join(f"x{i}" for i in range(150))
    run = bpcli("grad", text, *(f"x{i}=1" for i in range(150)))
    assert run.code == 0
    assert "259 more nodes (--json lists them all)" in run.stdout


# ---- errors: a message on stderr, exit 2, never a traceback ---------------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("(x+y)*z", "--x", "-2", "--y", "5"), "error: missing a value for z"),
        (("(x+y)*z", "--x", "-2", "--yy", "5", "--z", "1"), "error: yy is not an input of the expression; did you mean y?"),
        (("x*x", "--x", "1", "x=2"), "error: a value for x is given twice"),
        (("x*2", "--x", "abc"), "error: the value of x must be a number such as 2, -0.5 or 1e-3, got 'abc'"),
        (("x*2", "--x", "nan"), "error: the value of x must be a number such as 2, -0.5 or 1e-3, got 'nan'"),
        (("x*2", "--x=inf"), "error: the value of x must be a number such as 2, -0.5 or 1e-3, got 'inf'"),
        (("x*2", "--x", "1e999"), "error: the value of x is too large for a float: 1e999"),
        (("x*2", "--x"), "error: --x needs a value: --x 1.5"),
        (("x*2", "x=1", "--jsn"), "error: --jsn is not an option; did you mean --json?"),
        (("x*2", "x=1", "--jsn", "3"), "error: --jsn is neither an input of the expression nor an option; did you mean --json?"),
        (("x*lr", "x=1", "--lr", "0.5"), "error: missing a value for lr: --lr is bpcli's own option, so give the input as lr=VALUE"),
        (("x", "+", "y", "x=1", "y=1"), "error: give one expression, got 3: 'x', '+', 'y' (quote an expression that has spaces)"),
        (("x=1",), 'error: no expression given: bpcli grad "(x+y)*z" --x -2 --y 5 --z -4'),
        (("x*y", "x=1", "y=2", "--steps", "3"), "error: --steps needs a learning rate: add --lr ALPHA"),
        (("x", "x=1", "--max-tie", "last"), "error: --max-tie is split or first, got 'last'"),
        (("log(x)", "x=1", "--lr", "2", "--steps", "2"), "error: line 1, column 1: at step 1 of gradient descent: log needs a positive input, got -1, in `log(x)`"),
        (("x/y", "x=1", "y=0"), "error: line 1, column 1: division by zero (1 / 0), in `x/y`"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_with_a_message(bpcli, args, message):
    run = bpcli("grad", *args)
    assert run.code == 2
    assert run.stderr.splitlines()[0] == message
    assert run.stdout == ""
    assert "Traceback" not in run.stderr


def test_a_syntax_error_shows_a_caret(bpcli):
    run = bpcli("grad", "(x + y) * * z", *LECTURE_ARGS)
    assert run.code == 2
    assert run.stderr == (
        "error: line 1, column 11: unexpected '*': expected a number, a name or '('\n"
        "  (x + y) * * z\n"
        "            ^\n"
    )


def test_a_file_that_cannot_be_read(bpcli, tmp_path):
    missing = tmp_path / "missing.bp"
    binary = tmp_path / "binary.bp"
    binary.write_bytes(b"\xff\xfe\x00x")
    for path, message in [
        (missing, f"error: {missing}: no such file"),
        (tmp_path, f"error: {tmp_path}: is a directory, not a file"),
        (binary, f"error: {binary}: not UTF-8 text (byte 1)"),
    ]:
        run = bpcli("grad", "--file", str(path), "x=1")
        assert (run.code, run.stderr.strip()) == (2, message)


def test_an_expression_and_a_file_together(bpcli, tmp_path):
    path = tmp_path / "e.bp"
    path.write_text("x", encoding="utf-8")
    run = bpcli("grad", "x*2", "--file", str(path), "x=1")
    assert run.code == 2
    assert f"give one expression, got 2: 'x*2', --file {path}" in run.stderr


def test_click_usage_errors_exit_2(bpcli):
    run = bpcli("grad", "x", "x=1", "--lr", "0.1", "--steps", "0")
    assert run.code == 2
    assert "--steps" in run.stderr


# ---- the program around the command -------------------------------------------


def test_version(bpcli):
    import bpcli as package

    run = bpcli("--version")
    assert (run.code, run.stdout) == (0, f"bpcli {package.__version__}\n")


def test_help_has_an_example(bpcli):
    for args in [("--help",), ("grad", "--help"), ("grad", "-h")]:
        run = bpcli(*args)
        assert run.code == 0
        assert "bpcli grad" in run.stdout
    assert 'Example: bpcli grad "(x+y)*z" --x -2 --y 5 --z -4' in bpcli("grad", "-h").stdout


COMMANDS = ("grad", "graph", "check", "key", "quiz", "batch")


@pytest.mark.parametrize("command", [(), *((name,) for name in COMMANDS)])
def test_help_shows_no_metavar_after_a_flag(bpcli, command):
    run = bpcli(*command, "--help")
    assert run.code == 0
    assert "<bool>" not in run.stdout
    # an argument is shown by its name (FILE...), not by Python's type of it
    assert not re.search(r"<(str|path|list\[\w+\])>", run.stdout), run.stdout
    (help_line,) = [line for line in run.stdout.splitlines() if "--help" in line]
    assert help_line.split()[1:4] == ["--help", "-h", "Show"]


@pytest.mark.parametrize(
    ("command", "usage"),
    [("check", "bpcli check [OPTIONS] FILE..."), ("key", "bpcli key [OPTIONS] FILE"),
     ("batch", "bpcli batch [OPTIONS] [FILE|-]"), ("grad", "bpcli grad EXPR [--NAME VALUE | NAME=VALUE]... [OPTIONS]")],
)  # fmt: skip
def test_the_usage_line_writes_arguments_as_their_metavars(bpcli, command, usage):
    run = bpcli(command, "-h")
    assert f"Usage: {usage}\n" in "\n".join(line.strip() for line in run.stdout.splitlines()) + "\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("frob", "x*2"), "error: no such command 'frob' (see bpcli -h)"),
        (("--frob",), "error: no such option: --frob (see bpcli -h)"),
        (("check", "hw.toml", "--frob"), "error: no such option: --frob; did you mean --problems? (see bpcli check -h)"),
        (("check", "hw.toml", "--jsno"), "error: no such option: --jsno; did you mean --json? (see bpcli check -h)"),
        (("key", "hw.toml", "--sol"), "error: no such option: --sol; did you mean --solutions? (see bpcli key -h)"),
        (("check",), "error: missing argument 'FILE...' (see bpcli check -h)"),
        (("grad", "x*x", "x=1", "--lr"), "error: option '--lr' requires an argument (see bpcli grad -h)"),
        (("quiz", "--count", "many"), "error: invalid value for '--count': Input should be a valid integer, unable to parse string as an integer (see bpcli quiz -h)"),
        (("batch", "a.jsonl", "b.jsonl"), "error: got unexpected extra argument(s) (b.jsonl) (see bpcli batch -h)"),
    ],
)  # fmt: skip
def test_a_usage_error_is_one_line_as_bpclis_own_errors(bpcli, args, message):
    run = bpcli(*args)
    assert (run.code, run.stdout, run.stderr) == (2, "", message + "\n")


def test_bpcli_alone_shows_the_help(bpcli):
    run = bpcli()
    assert run.code == 2
    assert "Usage: bpcli [OPTIONS] COMMAND [ARGS]..." in run.stdout
    assert "error" not in run.stdout + run.stderr


def complete(words: str) -> list[str]:
    """What bash completion offers after `words` (the last one being completed)."""
    parts = words.split(" ")
    env = {**_env(), "_BPCLI_COMPLETE": "complete_bash", "COMP_WORDS": words}
    env["COMP_CWORD"] = str(len(parts) - 1)
    done = subprocess.run(
        [sys.executable, "-c", "from bpcli.entry import run; import sys; sys.argv = ['bpcli']; run()"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.integration
@pytest.mark.parametrize(
    ("words", "offered"),
    [
        ("bpcli grad x --format ", ["table", "markdown", "latex"]),
        ("bpcli grad x --format l", ["latex"]),
        ("bpcli grad x --max-tie ", ["split", "first"]),
        ("bpcli graph x --format ", ["dot", "mermaid", "tree", "html"]),
        ("bpcli graph x --max-tie f", ["first"]),
        ("bpcli check hw.toml --max-tie ", ["split", "first"]),
        ("bpcli check hw.toml --visibility after", ["after_due_date", "after_published"]),
        ("bpcli key hw.toml --format ", ["markdown", "latex"]),
    ],
)
def test_shell_completion_completes_option_values(words, offered):
    assert complete(words) == offered


def test_shell_completion_script(bpcli):
    run = bpcli("--show-completion", "bash")
    assert run.code == 0
    assert "_BPCLI_COMPLETE" in run.stdout


def _env():
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "PY_COLORS")}
    env.update(COLUMNS="80", NO_COLOR="1", TERM="dumb")
    return env


@pytest.mark.integration
def test_python_dash_m(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "bpcli", "grad", "(x+y)*z", *LECTURE_ARGS],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert (out.returncode, out.stdout, out.stderr) == (0, LECTURE_TABLE, "")


def installed_script() -> str:
    script = Path(sys.executable).parent / "bpcli"
    if not script.exists():
        unavailable("no bpcli script beside this Python (bpcli is not installed here)")
    return str(script)


@pytest.mark.integration
def test_the_installed_script():
    out = subprocess.run(
        [
            installed_script(),
            "grad",
            "q = x + y; f = q * z",
            *LECTURE_ARGS,
            "--lr",
            "0.1",
            "--json",
        ],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert {n["name"]: n["value"] for n in data["nodes"]}["q"] == 3.0
    assert data["update"]["output"] == pytest.approx(-16.34)


@pytest.mark.integration
def test_the_installed_script_reports_errors_without_a_traceback():
    out = subprocess.run(
        [installed_script(), "grad", "log(x)", "x=0"],
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert out.returncode == 2
    assert out.stderr.startswith("error: line 1, column 1: log needs a positive input, got 0")
    assert "Traceback" not in out.stderr


@pytest.mark.integration
def test_a_closed_pipe_is_a_quiet_exit():
    text = " + ".join(f"x{i}" for i in range(3000))
    values = " ".join(f"x{i}=1" for i in range(3000))
    out = subprocess.run(
        f"{installed_script()} grad '{text}' {values} --json | head -c 10",
        shell=True,
        capture_output=True,
        text=True,
        env=_env(),
        check=False,
    )
    assert out.stdout == '{"schema_v'
    assert out.stderr == ""


# ---- grad --explain and --plot ----------------------------------------------------


def test_explain_follows_the_table(bpcli):
    run = bpcli("grad", "q = x + y; f = q * z", *LECTURE_ARGS, "--lr", "0.1", "--explain")
    assert run.code == 0
    assert run.stdout.index("after the update: f = -16.34") < run.stdout.index("1. forward pass")
    assert "│ f = q · z = 3 · (-4) = -12" in run.stdout
    assert "│   ∂f/∂q = ∂f/∂f · ∂(q·z)/∂q = 1 · z = 1 · (-4) = -4" in run.stdout
    assert "│ x := x - α × ∂f/∂x = -2 - 0.1 × (-4) = -1.6" in run.stdout


def test_json_ignores_explain_and_carries_the_same_facts(bpcli):
    run = bpcli("grad", "x*x + x", "x=3", "--explain", "--json")
    data = json.loads(run.stdout)
    assert data["nodes"][0]["uses"] == [
        {"node": 1, "grad": 3.0},
        {"node": 1, "grad": 3.0},
        {"node": 2, "grad": 1.0},
    ]


def test_steps_draw_a_chart_under_the_trajectory(bpcli):
    run = bpcli("grad", "(x+y)*z", *LECTURE_ARGS, "--lr", "0.1", "--steps", "3")
    lines = run.stdout.splitlines()
    start = lines.index("f over 3 steps")
    assert lines[start + 1].startswith("    -12 ┤")  # the first (highest) output on top
    assert lines[start + 8].startswith("-28.797 ┤")  # f after 3 steps, by hand: -28.797


def test_plot_writes_an_image(bpcli, tmp_path):
    pytest.importorskip("matplotlib")
    target = tmp_path / "descent.png"
    run = bpcli(
        "grad", "(x+y)*z", *LECTURE_ARGS, "--lr", "0.1", "--steps", "5", "--plot", str(target)
    )
    assert run.code == 0, run.stderr
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_plot_needs_steps(bpcli, tmp_path):
    run = bpcli("grad", "x*x", "x=1", "--lr", "0.1", "--plot", str(tmp_path / "p.svg"))
    assert run.code == 2
    assert run.stderr.strip() == (
        "error: --plot draws the steps of gradient descent: give --lr and --steps"
    )


# ---- graph ------------------------------------------------------------------------


@pytest.mark.integration
def test_graph_dot_pipes_into_graphviz(bpcli):
    run = bpcli("graph", "(x+y)*z", *LECTURE_ARGS, "--format", "dot")
    assert run.code == 0
    assert run.stdout.startswith("digraph bpcli {\n  rankdir=LR;")
    if shutil.which("dot") is None:
        pytest.fail("Graphviz's dot is not installed (.ci/run installs it)")
    drawn = subprocess.run(["dot", "-Tsvg"], input=run.stdout, capture_output=True, text=True)
    assert drawn.returncode == 0 and drawn.stderr == ""


def test_graph_defaults_to_dot_outside_a_terminal(bpcli):
    assert bpcli("graph", "x*y").stdout.startswith("digraph bpcli {")


def test_graph_tree_and_mermaid(bpcli):
    tree = bpcli("graph", "(x+y)*z", *LECTURE_ARGS, "--format", "tree")
    assert tree.stdout.splitlines()[0] == "f = add1 * z  swap multiplier  -12  ∂ 1"
    mermaid = bpcli("graph", "(x+y)*z", "--format", "mermaid")
    assert mermaid.stdout.startswith("flowchart LR\n")
    fenced = bpcli("graph", "(x+y)*z", "--format", "mermaid", "--fence")
    assert fenced.stdout.startswith("```mermaid\nflowchart LR\n")


@pytest.mark.integration
@pytest.mark.parametrize(
    ("suffix", "magic"), [(".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF")]
)
def test_graph_output_image(bpcli, tmp_path, suffix, magic):
    if shutil.which("dot") is None:
        pytest.fail("Graphviz's dot is not installed (.ci/run installs it)")
    target = tmp_path / f"lecture{suffix}"
    run = bpcli("graph", "(x+y)*z", *LECTURE_ARGS, "--output", str(target))
    assert (run.code, run.stdout, run.stderr) == (0, "", "")
    assert target.read_bytes().startswith(magic)


def test_graph_output_text_file(bpcli, tmp_path):
    target = tmp_path / "lecture.mmd"
    run = bpcli("graph", "(x+y)*z", "--format", "mermaid", "--output", str(target))
    assert run.code == 0
    assert target.read_text(encoding="utf-8").startswith("flowchart LR\n")


def test_graph_without_graphviz_says_how_to_install_it(bpcli, tmp_path, monkeypatch):
    monkeypatch.setattr("bpcli.graphviz.shutil.which", lambda name: None)
    run = bpcli("graph", "x*y", "--output", str(tmp_path / "g.svg"))
    assert run.code == 2
    assert "needs Graphviz's dot program, which is not installed" in run.stderr
    assert "apt install graphviz" in run.stderr
    assert not (tmp_path / "g.svg").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("x*y", "--format", "png"), "error: --format is dot, mermaid, tree or html, got 'png'"),
        (("x*y", "--format", "tree", "--output", "g.svg"), "error: --format tree disagrees with --output g.svg, which is written as an image Graphviz draws from DOT: leave out --format, or write to a file ending in .txt"),
        (("x*y", "--format", "dot", "--output", "x.svg"), "error: --format dot disagrees with --output x.svg, which is written as an image Graphviz draws from DOT: leave out --format, or write to a file ending in .dot or .gv"),
        (("x*y", "--format", "mermaid", "--output", "g.dot"), "error: --format mermaid disagrees with --output g.dot, which is written as DOT: leave out --format, or write to a file ending in .mmd"),
        (("x*y", "x=1", "y=2", "--format", "dot", "--output", "g.html"), "error: --format dot disagrees with --output g.html, which is written as the HTML page: leave out --format, or write to a file ending in .dot or .gv"),
        (("x*y", "--output", "g.jpg"), "error: --output g.jpg: bpcli graph writes a file ending in .dot, .gv, .mmd, .txt, .html, .htm, .svg, .png, .pdf, not .jpg"),
        (("x*y", "--output", "notes.MD"), "error: --output notes.MD: bpcli graph writes a file ending in .dot, .gv, .mmd, .txt, .html, .htm, .svg, .png, .pdf, not .md"),
        (("x*y", "x=1"), "error: missing a value for y"),
        (("x*", "x=1"), "error: line 1, column 3: the expression ends too early: expected a number, a name or '('"),
    ],
)  # fmt: skip
def test_graph_errors(bpcli, args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = bpcli("graph", *args)
    assert run.code == 2
    assert run.stderr.splitlines()[0] == message
    assert list(tmp_path.iterdir()) == []  # nothing written


@pytest.mark.parametrize(
    ("name", "start"),
    [("g.dot", "digraph bpcli {"), ("g.GV", "digraph bpcli {"), ("g.mmd", "flowchart LR\n"),
     ("g.txt", "f = x * y  swap multiplier\n├── x\n"), ("g", "digraph bpcli {")],
)  # fmt: skip
def test_graph_output_suffix_chooses_the_format(bpcli, tmp_path, name, start):
    run = bpcli("graph", "x*y", "--output", str(tmp_path / name))
    assert (run.code, run.stderr) == (0, "")
    assert (tmp_path / name).read_text(encoding="utf-8").startswith(start)
    again = tmp_path / f"again-{name}"
    fmt = {"dot": "dot", "gv": "dot", "mmd": "mermaid", "txt": "tree"}.get(name[2:].lower(), "dot")
    assert bpcli("graph", "x*y", "--format", fmt, "--output", str(again)).code == 0  # agreeing
    assert again.read_text(encoding="utf-8") == (tmp_path / name).read_text(encoding="utf-8")


# ---- batch ---------------------------------------------------------------------------

REQUESTS = (
    '{"id": "lecture", "expr": "(x+y)*z", "values": {"x": -2, "y": 5, "z": -4}, "lr": 0.1}\n'
    "\n"
    "this is not JSON\n"
    '{"id": 7, "expr": "x*x + x", "values": {"x": 3}}\n'
)


def test_batch_from_stdin(bpcli):
    run = bpcli("batch", "-", input=REQUESTS)
    assert run.code == 1  # one line failed
    answers = [json.loads(line) for line in run.stdout.splitlines()]
    assert [a["id"] for a in answers] == ["lecture", None, 7]
    assert [a["ok"] for a in answers] == [True, False, True]
    assert answers[0]["result"]["gradients"] == {"x": -4.0, "y": -4.0, "z": 3.0}
    assert answers[0]["result"]["update"]["output"] == pytest.approx(-16.34)
    assert answers[1]["error"]["type"] == "RequestError"
    assert answers[2]["result"]["gradients"] == {"x": 7.0}  # 2x + 1 at 3


def test_batch_from_a_file_and_by_default_stdin(bpcli, tmp_path):
    path = tmp_path / "requests.jsonl"
    path.write_text('{"expr": "x*y", "values": {"x": 2, "y": 3}}\n', encoding="utf-8")
    run = bpcli("batch", str(path))
    assert run.code == 0
    assert json.loads(run.stdout)["result"]["gradients"] == {"x": 3.0, "y": 2.0}
    assert bpcli("batch", input=path.read_text()).stdout == run.stdout


def test_batch_file_errors(bpcli, tmp_path):
    run = bpcli("batch", str(tmp_path / "missing.jsonl"))
    assert (run.code, run.stderr.strip()) == (
        2,
        f"error: {tmp_path / 'missing.jsonl'}: no such file",
    )
    assert bpcli("batch", str(tmp_path)).code == 2


def test_an_internal_error_is_one_line_and_exit_3(bpcli, monkeypatch):
    def broken(*args, **kwargs):
        raise ZeroDivisionError("a planted bug")

    monkeypatch.setattr("bpcli.api.evaluate", broken)
    run = bpcli("grad", "x", "x=1")
    assert run.code == 3
    assert run.stderr == (
        "bpcli: internal error, a bug in bpcli: ZeroDivisionError: a planted bug\n"
        "Please report it with the command that caused it.\n"
    )


# ---- grad --gradcheck ------------------------------------------------------------------


def test_gradcheck_on_the_lecture(bpcli):
    run = bpcli("grad", "(x+y)*z", *LECTURE_ARGS, "--gradcheck", "--json")
    assert run.code == 0
    check = json.loads(run.stdout)["gradcheck"]
    assert check["ok"] is True and check["step"] == 1e-5
    for name, want in {"x": -4.0, "y": -4.0, "z": 3.0}.items():
        assert check["inputs"][name]["verdict"] == "good"
        assert check["inputs"][name]["numeric"] == pytest.approx(want, abs=1e-9)
    table = bpcli("grad", "(x+y)*z", *LECTURE_ARGS, "--gradcheck").stdout
    assert "gradient check passed: 3 good" in table


def test_gradcheck_json_is_the_grad_json_with_the_check_at_its_end(bpcli):
    # One writer for every --json: the same bytes as json.dumps of the whole object
    from bpcli.gradcheck import gradcheck

    result = bpcli_api.grad("q = x + y; f = q * z", {"x": -2, "y": 5, "z": -4})
    want = {**result.to_dict(), "gradcheck": gradcheck(result).to_dict()}
    for nodes in ((), ("--no-nodes",)):
        run = bpcli("grad", "q = x + y; f = q * z", *LECTURE_ARGS, "--gradcheck", "--json", *nodes)
        assert run.code == 0
        if nodes:
            want = {**result.to_dict(nodes=False), "gradcheck": want["gradcheck"]}
        assert run.stdout == json.dumps(want, ensure_ascii=False, allow_nan=False) + "\n"


def test_gradcheck_at_a_kink_is_inconclusive_not_wrong(bpcli):
    run = bpcli(
        "grad", "relu(x) + y*2", "--x", "0", "--y", "1", "--gradcheck", "--gradcheck-step", "1e-4"
    )
    assert run.code == 0
    assert "warning: x sits on a kink: relu(x) at x = 0" in run.stdout


def test_gradcheck_catches_a_wrong_derivative_and_exits_1(bpcli, patch_op):
    patch_op("sin", local=("1.01 * cos(a)",))
    run = bpcli("grad", "sin(x)", "--x", "0.5", "--gradcheck", "--json")
    assert run.code == 1
    assert json.loads(run.stdout)["gradcheck"]["inputs"]["x"]["verdict"] == "wrong"


def test_gradcheck_step_must_be_positive(bpcli):
    run = bpcli("grad", "x", "x=1", "--gradcheck", "--gradcheck-step", "-1")
    assert run.code == 2
    assert (
        run.stderr.strip()
        == "error: the gradient-check step h must be a finite number greater than 0, got -1.0"
    )


# ---- limits ------------------------------------------------------------------------------


def test_max_size_caps_files_stdin_and_arguments(bpcli, tmp_path):
    path = tmp_path / "big.bp"
    path.write_text("x" + " + x" * 100, encoding="utf-8")  # 401 bytes
    run = bpcli("grad", "--file", str(path), "x=1", "--max-size", "400")
    assert (run.code, run.stderr.strip()) == (
        2,
        f"error: {path}: larger than 400 bytes, the --max-size",
    )
    assert bpcli("grad", "--file", str(path), "x=1", "--max-size", "1KB").code == 0
    run = bpcli("grad", "-", "x=1", "--max-size", "100", input="x" + "+x" * 60)
    assert run.stderr.strip() == "error: standard input: larger than 100 bytes, the --max-size"
    run = bpcli("grad", "x" + "+x" * 60, "x=1", "--max-size", "100")
    assert run.stderr.strip() == "error: the expression is larger than 100 bytes, the --max-size"
    run = bpcli("grad", "x", "x=1", "--max-size", "lots")
    assert (
        run.stderr.strip()
        == "error: --max-size is a size such as 50MB, 512KiB or 100000, got 'lots'"
    )


def test_max_nodes(bpcli):
    run = bpcli("grad", "x + x + x + x", "x=1", "--max-nodes", "3")
    assert run.code == 2
    assert run.stderr.splitlines()[0] == (
        "error: line 1, column 1: the expression has more than 3 nodes, the limit"
        " (bpcli.parse's max_nodes; the command line's --max-nodes)"
    )
    assert grads(bpcli("grad", "x + x + x + x", "x=1", "--max-nodes", "4", "--json")) == {"x": 4.0}


def test_batch_max_size_costs_one_line(bpcli):
    long = '{"expr": "' + "x+" * 100 + 'x", "values": {"x": 1}}'
    run = bpcli(
        "batch", "--max-size", "100", input='{"expr": "x", "values": {"x": 2}}\n' + long + "\n"
    )
    first, second = (json.loads(line) for line in run.stdout.splitlines())
    assert first["ok"] and not second["ok"]
    assert second["error"]["message"] == "line 2: longer than 100 bytes, the --max-size"


def test_batch_jobs_keep_the_order_and_the_answers(bpcli):
    lines = []
    for i in range(700):  # several chunks of 256
        if i % 97 == 5:
            lines.append("not json")
        else:
            lines.append(json.dumps({"id": i, "expr": "x*x + y", "values": {"x": i, "y": 1}}))
    stream = "\n".join(lines) + "\n"
    one = bpcli("batch", input=stream)
    two = bpcli("batch", "--jobs", "2", input=stream)
    assert (one.code, two.code) == (1, 1)
    assert two.stdout == one.stdout
    answers = [json.loads(line) for line in two.stdout.splitlines()]
    assert [a["id"] for a in answers if a["ok"]] == [i for i in range(700) if i % 97 != 5]
    assert answers[3]["result"]["gradients"] == {"x": 6.0, "y": 1.0}  # d/dx x² = 2x at 3


def test_grads_parameters_are_the_declared_options():
    """The Typer command is built from arguments.GRAD_OPTIONS: each declared option's
    default, and no parameter beside them."""
    import inspect

    from bpcli.arguments import GRAD_OPTIONS, PRECISION
    from bpcli.cli import declared, grad

    params = inspect.signature(grad).parameters
    assert list(params) == ["ctx", *(option.param for option in GRAD_OPTIONS)]
    assert all(params[option.param].default == option.default for option in GRAD_OPTIONS)
    with pytest.raises(TypeError, match="parameters"):

        @declared((PRECISION,))
        def command(ctx: object, precision: int, extra: int) -> None:
            """A parameter the table does not declare."""


@pytest.mark.parametrize("value", ["nan", "0x10", "1_000", "", "-inf", "٣"])
def test_a_name_given_a_value_that_is_not_a_number_says_so(bpcli, value):
    """`x=nan` beside the expression is a value that is not a number, as `--x nan` says,
    not a second expression."""
    run = bpcli("grad", "x*2", f"x={value}")
    assert run.code == 2
    assert run.stderr == (
        f"error: the value of x must be a number such as 2, -0.5 or 1e-3, got {value!r}\n"
    )


def test_a_second_expression_with_an_assignment_is_still_a_second_expression(bpcli):
    run = bpcli("grad", "x*2", "f=x*y", "x=1")
    assert run.code == 2
    assert "give one expression, got 2: 'x*2', 'f=x*y'" in run.stderr


# ---- named constants: pi and e, unless given a value, in every command ---------------


def test_pi_and_e_are_constants_in_grad_unless_given(bpcli):
    run = bpcli("grad", "e**x", "--x", "1", "--json")
    answer = json.loads(run.stdout)
    assert run.code == 0 and answer["gradients"] == {"x": math.e}  # d/dx e**x = e**x
    assert [(n["name"], n["op"], n["grad"]) for n in answer["nodes"][:1]] == [("e", "const", None)]
    table = bpcli("grad", "pi*x", "--x", "2").stdout.splitlines()
    assert table[2].split() == ["pi", "const", "pi", "3.14159", "—"]
    assert table[-1] == "∂f/∂x = 3.14159"
    given = bpcli("grad", "e**x", "--x", "1", "--e", "2", "--json")  # 2**x: ∂/∂e = 1, ∂/∂x = 2 ln 2
    assert grads(given) == {"e": 1.0, "x": pytest.approx(2 * math.log(2), rel=1e-15)}
    assert grads(bpcli("grad", "e**x", "x=1", "e=2", "--json")) == grads(given)


def test_pi_and_e_in_batch_and_check_follow_the_same_rule(bpcli, tmp_path):
    lines = [
        {"id": 1, "expr": "e**x", "values": {"x": 1}},
        {"id": 2, "expr": "e**x", "values": {"x": 1, "e": 2}},
        {"id": 3, "expr": "pi*r**2", "values": {"r": 2}},
    ]
    run = bpcli("batch", input="".join(json.dumps(line) + "\n" for line in lines))
    answers = [json.loads(line)["result"]["gradients"] for line in run.stdout.splitlines()]
    assert run.code == 0
    assert answers == [
        {"x": math.e},
        {"e": 1.0, "x": pytest.approx(2 * math.log(2), rel=1e-15)},
        {"r": 4 * math.pi},
    ]
    problems = tmp_path / "hw.toml"
    problems.write_text(
        '[[problem]]\nid = "1"\nexpr = "e**x"\nvalues = { x = 0 }\n'
        "[problem.answer]\noutput = 1\ngrad = { x = 1 }\n\n"
        '[[problem]]\nid = "2"\nexpr = "e*x"\nvalues = { e = 3, x = 2 }\n'
        "[problem.answer]\noutput = 6\ngrad = { e = 2, x = 3 }\n",
        encoding="utf-8",
    )
    checked = bpcli("check", str(problems), "--json")
    assert checked.code == 0, checked.stdout + checked.stderr
    key = bpcli("key", str(problems), "--blank")
    assert key.code == 0
    assert "grad = { e = ?, x = ? }" in key.stdout
    assert "grad = { x = ? }" in key.stdout


# ---- a stdout that cannot encode a glyph gets its ASCII stand-in ---------------------

ROOT = Path(__file__).resolve().parents[1]


def run_encoded(encoding: str, *args: str) -> str:
    """bpcli's stdout where it is written in `encoding`, decoded strictly (a stray byte fails)."""
    env = {**_env(), "PYTHONIOENCODING": encoding}
    done = subprocess.run(
        [sys.executable, "-m", "bpcli", *args], env=env, cwd=ROOT, capture_output=True, timeout=120, check=False
    )  # fmt: skip
    assert done.returncode in (0, 1), done.stderr
    return done.stdout.decode(encoding)


@pytest.mark.integration
@pytest.mark.parametrize("encoding", ["ascii", "cp949"])
def test_an_output_that_cannot_encode_a_glyph_gets_its_stand_in(encoding):
    lecture = ("grad", "q = x + y; f = q * z", *LECTURE_ARGS, "--lr", "0.1")
    text = run_encoded(encoding, *lecture, "--steps", "3", "--explain")
    report = run_encoded(
        encoding, "check", "--problems", "docs/homework.toml", "docs/submission.toml"
    )
    assert "\\u" not in text + report and "\\x" not in text + report  # no escapes anywhere
    d, dot = ("d", "*") if encoding == "ascii" else ("∂", "·")  # cp949 holds ∂ and ·
    lines = text.splitlines()
    assert f"{d}f/{d}x = -4   {d}f/{d}y = -4   {d}f/{d}z = 3" in lines  # the lecture's gradients
    assert any(f"{d}f/{d}x = {d}f/{d}q {dot} {d}q/{d}x = -4 {dot} 1 = -4" in line for line in lines)
    chart = lines[lines.index("f over 3 steps") + 1 : lines.index("f over 3 steps") + 11]
    assert chart[0].startswith("    -12 ") and chart[7].startswith("-28.797 ")
    bars = "".join(line[9:] for line in chart[:8])  # after the axis: the bars
    assert set(bars) <= set("#=-_ ") and "#" in bars  # █ and ▁ are in neither encoding
    panel = [line for line in lines if line.startswith(("+", "|"))]  # Rich draws them in ASCII
    assert panel and all(len(line) == len(panel[0]) for line in panel)
    marks = [line.split()[-2:] for line in report.splitlines() if line.endswith(("right", "wrong"))]
    assert ["+", "right"] in marks and ["x", "wrong"] in marks  # ✓ and ✗, in neither


# ---- an error on a terminal ----------------------------------------------------------------

UNKNOWN_FUNCTION = (
    "error: line 1, column 1: unknown function 'foo'; the functions are abs, cos, exp, log,"
    " logsumexp, max, mean, min, pow, relu, sigmoid, sin, softmax, sqrt, sum, tan, tanh,"
    " transpose (to multiply, write foo*(…))"
)


def _on_a_terminal(args: list[str], columns: int, cwd: Path | None = None) -> tuple[int, str]:
    """bpcli's exit code and stderr, run with stderr on a pseudo-terminal `columns` wide."""
    import pty

    leader, follower = pty.openpty()
    env = {k: v for k, v in _env().items() if k != "TERM"}
    env.update(COLUMNS=str(columns), NO_COLOR="1")
    done = subprocess.run(
        [sys.executable, "-m", "bpcli", *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env=env,
        cwd=cwd,
        timeout=120,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # Linux: EIO once the terminal's other end is closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    text = b"".join(chunks).decode().replace("\r\n", "\n")
    return done.returncode, re.sub(r"\x1b\[[0-9;]*m", "", text)


@pytest.mark.integration
@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX pseudo-terminal")
def test_a_long_error_is_wrapped_to_the_terminal_never_inside_a_word_or_a_quotation(tmp_path):
    args = ["grad", "foo(x + y)", "x=1", "y=2"]
    code, shown = _on_a_terminal(args, 40)
    *message, source, caret = shown.rstrip("\n").split("\n")
    assert code == 2 and (source, caret) == ("  foo(x + y)", "  ^^^")  # never wrapped
    assert message == [
        "error: line 1, column 1: unknown",  # 32 columns: " function" makes 41
        "       function 'foo'; the functions are",  # 40
        "       abs, cos, exp, log, logsumexp,",
        "       max, mean, min, pow, relu,",
        "       sigmoid, sin, softmax, sqrt, sum,",  # 40
        "       tan, tanh, transpose (to",
        "       multiply, write foo*(…))",
    ]
    (tmp_path / "x.csv").write_text("1, one two\n", encoding="utf-8")
    quoted = _on_a_terminal(["grad", "sum(x)", "--x", "@x.csv"], 47, tmp_path)[1]
    assert quoted.split("\n")[:2] == [
        "error: the value of x (x.csv): line 1 has",  # 41 columns; with " 'one": 46
        "       'one two', not a number",
    ]
    # in a pipe, and for scripts, the message is one line, however long
    piped = subprocess.run(
        [sys.executable, "-m", "bpcli", *args], capture_output=True, text=True, env=_env()
    )
    assert piped.stderr.split("\n")[0] == UNKNOWN_FUNCTION
    scripted = _on_a_terminal([*args, "--json"], 40)[1]
    assert scripted.split("\n")[0] == UNKNOWN_FUNCTION


def test_a_quotation_is_never_split_and_a_word_never_broken():
    from bpcli.render.error import wrapped

    line = "error: the value 'x + y + z' of bpcli's input, and a_very_long_name_that_overflows"
    assert wrapped(line, 20) == [
        "error: the value",
        "       'x + y + z'",  # with " of": 21 columns
        "       of bpcli's",
        "       input, and",
        "       a_very_long_name_that_overflows",  # alone on its line, not broken
    ]
    assert wrapped(line, 200) == [line]
    korean = "error: 식이 너무 일찍 끝났다 (여기에 와야 하는 것: ')')"  # Hangul: 2 columns each
    assert wrapped(korean, 30) == [
        "error: 식이 너무 일찍 끝났다",
        "       (여기에 와야 하는 것:",
        "       ')')",
    ]
