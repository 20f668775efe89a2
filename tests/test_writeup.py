"""Write-ups: the walkthrough as Markdown and LaTeX, and the solution sheets of `key`.

The Markdown of the lecture example is compared in full with the slides'
numbers; the LaTeX is compiled by pdflatex and read back with pdftotext.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import bpcli
from bpcli.ops import OPS
from bpcli.render.notation import tex_name, tex_number, tex_text
from bpcli.render.writeup import to_latex
from latex import FRAGMENT_DOCUMENT, pdf_text
from strategies import FLOATS

DOCS = Path(__file__).parent.parent / "docs"

# q = -2 + 5 = 3, f = 3(-4) = -12; at the output gate the local gradients are written from
# its rule, d(q·z)/dq = z = -4, d(q·z)/dz = q = 3; df/dx = df/dy = -4 · 1;
# x := -2 - 0.1(-4) = -1.6, y := 5 - 0.1(-4) = 5.4, z := -4 - 0.1 × 3 = -4.3; (x+y)z = 3.8(-4.3)
LECTURE_MARKDOWN = r"""## Forward pass

Inputs: $x = -2$, $y = 5$, $z = -4$.

$$
\begin{aligned}
q &= x + y = -2 + 5 = 3 \\
f &= q \cdot z = 3 \cdot (-4) = -12
\end{aligned}
$$

Output: $f = -12$.

## Backward pass

$\frac{\partial f}{\partial f} = 1$: the output, where the backward pass starts.

**$f = q \cdot z$: mul gate, swap multiplier**

downstream $\frac{\partial f}{\partial q}$, $\frac{\partial f}{\partial z}$ = upstream $\frac{\partial f}{\partial f}$ · local $\frac{\partial \left(q \cdot z\right)}{\partial q}$, $\frac{\partial \left(q \cdot z\right)}{\partial z}$

$$
\begin{aligned}
\frac{\partial f}{\partial q} &= \frac{\partial f}{\partial f} \cdot \frac{\partial \left(q \cdot z\right)}{\partial q} = 1 \cdot z = 1 \cdot (-4) = -4 \\
\frac{\partial f}{\partial z} &= \frac{\partial f}{\partial f} \cdot \frac{\partial \left(q \cdot z\right)}{\partial z} = 1 \cdot q = 1 \cdot 3 = 3
\end{aligned}
$$

*swap multiplier: each input gets the upstream gradient times the other input's value ($q$: $1 \cdot (-4)$, $z$: $1 \cdot 3$)*

**$q = x + y$: add gate, gradient distributor**

downstream $\frac{\partial f}{\partial x}$, $\frac{\partial f}{\partial y}$ = upstream $\frac{\partial f}{\partial q}$ · local $\frac{\partial q}{\partial x}$, $\frac{\partial q}{\partial y}$

$$
\begin{aligned}
\frac{\partial f}{\partial x} &= \frac{\partial f}{\partial q} \cdot \frac{\partial q}{\partial x} = -4 \cdot 1 = -4 \\
\frac{\partial f}{\partial y} &= \frac{\partial f}{\partial q} \cdot \frac{\partial q}{\partial y} = -4 \cdot 1 = -4
\end{aligned}
$$

*gradient distributor: every input gets the upstream gradient $-4$ unchanged*

## Update step

$\alpha = 0.1$: each input takes a step against its gradient.

$$
\begin{aligned}
x &\mathrel{:}= x - \alpha \times \frac{\partial f}{\partial x} = -2 - 0.1 \times (-4) = -1.6 \\
y &\mathrel{:}= y - \alpha \times \frac{\partial f}{\partial y} = 5 - 0.1 \times (-4) = 5.4 \\
z &\mathrel{:}= z - \alpha \times \frac{\partial f}{\partial z} = -4 - 0.1 \times 3 = -4.3
\end{aligned}
$$

After the update: $f = -16.34$.
"""


def test_lecture_markdown_in_full(bpcli):
    run = bpcli(
        "grad", "q = x + y; f = q * z", "--x", "-2", "--y", "5", "--z", "-4",
        "--lr", "0.1", "--explain", "--format", "markdown",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert run.stdout == LECTURE_MARKDOWN


def test_markdown_without_explain_is_the_same_walkthrough(bpcli):
    with_explain = bpcli(
        "grad", "(x+y)*z", "x=-2", "y=5", "z=-4", "--explain", "--format", "markdown"
    )
    alone = bpcli("grad", "(x+y)*z", "x=-2", "y=5", "z=-4", "--format", "markdown")
    assert with_explain.stdout == alone.stdout
    assert "\\mathit{add}_{1} &= x + y = -2 + 5 = 3" in alone.stdout


def test_the_neurons_markdown_brackets_what_it_substitutes(bpcli):
    # CS231n's neuron (numbers by hand in test_explain.NEURON): neg1 = -(1) = -1, and the
    # divider's local gradient written from its own rule, d(1/add3)/d(add3) = -f/add3
    run = bpcli(
        "grad", "1/(1+exp(-(w0*x0+w1*x1+w2)))", "w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3",
        "--format", "markdown",
    )  # fmt: skip
    assert r"\mathit{neg}_{1} &= -\mathit{add}_{2} = -(1) = -1 \\" in run.stdout
    assert r"\mathit{add}_{2} &= \mathit{add}_{1} + w_{2} = 4 + (-3) = 1 \\" in run.stdout
    local = r"\frac{\partial \left(\frac{1}{\mathit{add}_{3}}\right)}{\partial \mathit{add}_{3}}"
    assert (
        f"*divider: the local gradient is ${local} = -\\frac{{f}}{{\\mathit{{add}}_{{3}}}}$*"
        in (run.stdout)
    )
    assert r"= 1 \cdot (-\frac{f}{\mathit{add}_{3}}) =" in run.stdout
    assert r"\times" not in run.stdout.split("## Backward pass")[1]


def plain(text: str) -> str:
    """pdftotext's typography back to ASCII: − to -, · kept."""
    return text.replace("−", "-").replace("\u2212", "-")


@pytest.mark.integration
def test_lecture_latex_compiles_and_reads_right(bpcli, tmp_path):
    run = bpcli(
        "grad", "q = x + y; f = q * z", "x=-2", "y=5", "z=-4", "--lr", "0.1",
        "--explain", "--format", "latex",
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert run.stdout.count(r"\begin{align*}") == 3  # one per pass: forward, backward, update
    assert r"\frac{\partial f}{\partial x}" in run.stdout
    text = plain(pdf_text(tmp_path, FRAGMENT_DOCUMENT % run.stdout))
    for expected in [
        "Inputs: x = -2, y = 5, z = -4.",
        "q = x + y = -2 + 5 = 3",
        "f = q · z = 3 · (-4) = -12",
        "mul gate, swap multiplier",
        "add gate, gradient distributor",
        "every input gets the upstream gradient -4 unchanged",
        "= -2 - 0.1 × (-4) = -1.6",
        "= 5 - 0.1 × (-4) = 5.4",
        "= -4 - 0.1 × 3 = -4.3",
        "After the update: f = -16.34.",
        "downstream",  # each gate names its upstream, local and downstream gradients
        "upstream",
        "local",
    ]:
        assert expected in text, expected
    assert "[U+" not in run.stdout  # the signs of the prose are typeset, · as \cdot


# Every op, a copy gate, a tie, constants, names LaTeX must be careful with, numbers
# with exponents: one fragment that must compile.
EVERY_OP = (
    "α = x_1 + w0; β_2 = α - 3; loss = α * β_2 / 7; p = loss ^ 2 + pow(x_1, 3);"
    " e = exp(-x_1) + log(w0) + sqrt(w0) + sin(α) + cos(α) + tan(0.1 * α);"
    " g = tanh(e * 1e-3) + sigmoid(p) + relu(x_1) + abs(β_2) + max(x_1, w0, 2) + min(α, 1e-20);"
    " 가 = g * g; f = 가 + -x_1"
)


@pytest.mark.integration
def test_every_op_and_hostile_names_compile(tmp_path):
    result = bpcli.grad(EVERY_OP, {"x_1": 0.5, "w0": 2.0}, lr=0.01)
    fragment = to_latex(result)
    assert r"\alpha" in fragment and r"x_{1}" in fragment and "[U+AC00]" in fragment
    text = pdf_text(tmp_path, FRAGMENT_DOCUMENT % fragment)
    assert "copy gate, gradient adder" in text
    assert "gradient router" in text


@pytest.mark.integration
def test_a_500_node_graph_compiles(tmp_path):
    expr = " + ".join(f"w{i} * x" for i in range(250))  # 250 products, 249 sums, 251 inputs
    values = {f"w{i}": i / 10 for i in range(250)} | {"x": 2.0}
    result = bpcli.grad(expr, values)
    assert len(result.nodes) >= 500
    text = plain(pdf_text(tmp_path, FRAGMENT_DOCUMENT % to_latex(result)))
    # df/dx = sum of w_i = 0.1 * (0 + 1 + ... + 249) = 3112.5, added over 250 uses
    assert "= 3112.5" in text


@pytest.mark.integration
def test_long_names_and_expressions_compile(tmp_path):
    name = "a_very_long_name_" + "x" * 200
    result = bpcli.grad(f"{name} * {name} + " + " + ".join(["1"] * 40), {name: 3.0})
    text = plain(pdf_text(tmp_path, FRAGMENT_DOCUMENT % to_latex(result)))
    assert "= 49" in text  # 9 + 40


@pytest.mark.parametrize(
    ("name", "tex"),
    [("x", "x"), ("w0", "w_{0}"), ("x_1", "x_{1}"), ("α", r"\alpha"), ("loss", r"\mathit{loss}"),
     ("x_", r"\mathit{x\_}"), ("_x", r"\mathit{\_x}"), ("Δx", r"\mathit{{\Delta}x}"),
     ("가", r"\mathit{\text{[U+AC00]}}"), ("add1", r"\mathit{add}_{1}")],
)  # fmt: skip
def test_tex_names(name, tex):
    assert tex_name(name) == tex


def test_tex_numbers_and_text():
    assert tex_number("1e-05") == "10^{-5}"
    assert tex_number("-2.5e+20") == r"-2.5 \times 10^{20}"
    assert tex_number("3.14") == "3.14"
    assert tex_text("f = x^2 # 50% & {α} --x") == (
        r"f = x\textasciicircum{}2 \# 50\% \& \{\ensuremath{\alpha}\} -{}-x"
    )


def _python(tex: str) -> str:
    """A LaTeX formula of the table as Python (test-only, on our own table)."""
    text = tex.replace(r"\text{ if }", " if ").replace(r"\text{, else }", " else ")
    text = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", r"((\1)/(\2))", text)
    for a, b in [(r"\cdot", "*"), ("^", "**"), ("{", "("), ("}", ")")]:
        text = text.replace(a, b)
    # a function, `\log(a)` or `\operatorname{sign}(a)`, by its name in FLOATS
    called = re.sub(r"\\operatorname\((\w+)\)|\\(\w+)", lambda m: m[1] or m[2], text)
    return re.sub(r"\b(sigma|sign)\(", lambda m: TEX_NAMES[m[1]] + "(", called)


TEX_NAMES = {"sigma": "sigmoid", "sign": "_sign"}  # LaTeX's names that are not the op's


@pytest.mark.parametrize(
    "op", [op for op in OPS.values() if op.arity and op.scalar], ids=lambda op: op.name
)
def test_each_tex_formula_computes_its_local_derivative(op):
    """The LaTeX of every local derivative equals the partial the engine uses."""
    args = (1.3, 0.7)[: op.arity]
    out = op.forward(*args)
    scope = {**FLOATS, "a": args[0], "b": args[-1], "o": out}
    formulas = op.formulas_tex(["a", "b"][: op.arity], "o")
    for i, (formula, partial) in enumerate(zip(formulas, op.partials, strict=True)):
        value = eval(_python(formula), scope)  # test-only, on our own table
        assert value == pytest.approx(partial(args, out), rel=1e-12), (op.name, i, formula)


# ---- solution sheets ---------------------------------------------------------------------------


def test_solutions_markdown_for_the_homework(bpcli, tmp_path):
    run = bpcli("key", str(DOCS / "homework.toml"), "--solutions")
    assert run.code == 0, run.stderr
    sheet = run.stdout
    assert sheet.startswith("# Solutions: homework.toml\n")
    assert "## Problem 1 (4 points)" in sheet
    assert "```mermaid\nflowchart LR" in sheet
    assert "### Forward pass" in sheet and "### Backward pass" in sheet
    assert "### Update step" in sheet
    # the lecture's answers, item by item under check's names
    for row in ["| `output` | $-12$ |", "| `grad.x` | $-4$ |", "| `grad.z` | $3$ |",
                "| `nodes.q` | $3$ |", "| `update.x` | $-1.6$ |", "| `update.z` | $-4.3$ |",
                "| `new_output` | $-16.34$ |"]:  # fmt: skip
        assert row in sheet, row
    # problem 2, the lecture's pattern example: df/dx = 2y = -8, df/dy = 2x = 6, z wins the max
    assert "| `grad.x` | $-8$ |" in sheet and "| `grad.w` | $0$ |" in sheet


@pytest.mark.integration
def test_the_solution_sheet_is_written_only_to_a_file_named_for_it(bpcli, tmp_path):
    # sol.pdf used to get Markdown text that no PDF viewer opens
    homework = str(DOCS / "homework.toml")
    pdf = tmp_path / "sol.pdf"
    run = bpcli("key", homework, "--solutions", "--output", str(pdf))
    assert run.code == 2 and "ends in .md or .tex" in run.stderr and not pdf.exists()
    md = tmp_path / "sol.md"
    run = bpcli("key", homework, "--solutions", "--format", "latex", "--output", str(md))
    assert run.code == 2 and "--format says latex" in run.stderr and not md.exists()
    for name, start in (("sol.md", "# Solutions: homework.toml\n"), ("sol.tex", "\\documentclass")):
        run = bpcli("key", homework, "--solutions", "--output", str(tmp_path / name))
        assert run.code == 0, run.stderr
        assert (tmp_path / name).read_text(encoding="utf-8").startswith(start)


@pytest.mark.integration
def test_solutions_latex_compiles(bpcli, tmp_path):
    out = tmp_path / "key.tex"
    run = bpcli("key", str(DOCS / "homework.toml"), "--solutions", "--output", str(out))
    assert run.code == 0, run.stderr
    document = out.read_text(encoding="utf-8")
    assert document.startswith(r"\documentclass") and r"\begin{tikzpicture}" in document
    text = plain(pdf_text(tmp_path, document, "key"))
    assert "Solutions: homework.toml" in text
    assert "Problem 1 (4 points)" in text
    assert "q = x + y = -2 + 5 = 3" in text
    assert "After the update: f = -16.34." in text
    assert "new_output -16.34" in text


@pytest.mark.integration
def test_solutions_latex_with_hostile_problems(tmp_path, bpcli):
    problems = tmp_path / "hostile.toml"
    problems.write_text(
        '[[problem]]\nid = "α_1 & #2 --- <<a>> ,,b`` !`c\\nd $5"\nexpr = """\n\n'
        + EVERY_OP
        + '\n   \n\t\n# 100% {weird} ~\\\\ \\u0007 bell\n"""\n'
        "values = { x_1 = 0.5, w0 = 2 }\nlr = 0.01\n\n"
        '[[problem]]\nid = "big"\nexpr = "' + " + ".join(f"w{i} * x" for i in range(250)) + '"\n'
        "values = { x = 2, " + ", ".join(f"w{i} = {i / 10}" for i in range(250)) + " }\n",
        encoding="utf-8",
    )  # blank lines before the expression, lines of spaces and a tab in it, a bell
    run = bpcli("key", str(problems), "--solutions", "--format", "latex")
    assert run.code == 0, run.stderr
    text = plain(pdf_text(tmp_path, run.stdout, "hostile"))
    # T1 ligatures stay apart (no «, „, “, ¡), the id's newline is a space
    assert "Problem α_1 & #2 --- <<a>> ,,b`` !`c d $5" in text
    assert "# 100% {weird} ~\\ [U+0007] bell" in text


def mermaid_drawn(bpcli, tmp_path, arguments: int) -> str:
    problems = tmp_path / f"max{arguments}.toml"
    names = [f"x{i}" for i in range(arguments)]
    problems.write_text(
        f'[[problem]]\nid = "wide"\nexpr = "max({", ".join(names)})"\n'
        "values = { " + ", ".join(f"{n} = {i}" for i, n in enumerate(names)) + " }\n",
        encoding="utf-8",
    )
    run = bpcli("key", str(problems), "--solutions")
    assert run.code == 0, run.stderr
    return run.stdout


def test_the_markdown_sheet_draws_what_mermaid_draws(bpcli, tmp_path):
    """Mermaid draws at most 500 edges: max of 500 inputs is drawn, of 501 is not."""
    assert "```mermaid" in mermaid_drawn(bpcli, tmp_path, 500)
    wide = mermaid_drawn(bpcli, tmp_path, 501)
    assert "```mermaid" not in wide
    assert "(Not drawn: 501 edges, more than Mermaid draws.)" in wide


def test_the_markdown_sheet_keeps_ids_and_expressions_as_text(bpcli, tmp_path):
    problems = tmp_path / "odd.toml"
    problems.write_text(
        '[[problem]]\nid = "1 <img src=x onerror=alert(1)> *x*"\n'
        'expr = """x * 2 # ```not a fence```"""\nvalues = { x = 1 }\n',
        encoding="utf-8",
    )
    sheet = bpcli("key", str(problems), "--solutions").stdout
    assert "## Problem 1 &lt;img src=x onerror=alert(1)&gt; \\*x\\* (1 point)" in sheet
    assert "<img" not in sheet
    assert "````text\nx * 2 # ```not a fence```\n````" in sheet


def test_names_that_look_alike_in_latex_are_written_out():
    """x1 and x_1 would both be x_{1}: each is written in full instead."""
    fragment = to_latex(bpcli.grad("x1 * x_1 + w0", {"x1": 2, "x_1": 3, "w0": 1}))
    assert r"$\mathit{x1} = 2$, $\mathit{x\_1} = 3$, $w_{0} = 1$" in fragment
    assert "x_{1}" not in fragment


def test_a_constant_written_with_a_capital_e():
    fragment = to_latex(bpcli.grad("min(x, 2.5E+1)", {"x": 30}))
    assert r"\min(x, 2.5 \times 10^{1})" in fragment
    assert "E" not in fragment.replace(r"\end", "").replace("Forward", "").replace("Backward", "")


@pytest.mark.integration
def test_every_pass_may_break_over_the_page_and_nothing_runs_off_it(tmp_path):
    """A max of 26 inputs: the backward pass is 29 rows, taller than a page. Each
    align* sits in a group with \allowdisplaybreaks, so it breaks instead of running
    off the page (pdflatex's log has no overfull \vbox), and the setting stays inside."""
    names = [f"x{i}" for i in range(26)]
    fragment = to_latex(bpcli.grad(f"max({', '.join(names)})", {n: i for i, n in enumerate(names)}))
    assert fragment.count(r"\begingroup\allowdisplaybreaks") == fragment.count(r"\begin{align*}")
    assert fragment.count(r"\endgroup") == fragment.count(r"\end{align*}")
    pdf_text(tmp_path, FRAGMENT_DOCUMENT % fragment)
    log = (tmp_path / "doc.log").read_text(encoding="utf-8", errors="replace")
    assert "Overfull \\vbox" not in log


def test_an_input_the_output_does_not_use_is_said(bpcli):
    # f = y * 3; a = x * 2 goes unused: df/dx = 0, and the write-up says why
    run = bpcli("grad", "a = x*2; y*3", "x=1", "y=2", "--format", "markdown")
    assert "**$x$: not used by the output**" in run.stdout
    assert "\\frac{\\partial f}{\\partial x} &= 0" in run.stdout


def test_the_update_step_with_no_inputs_in_the_write_ups(bpcli):
    md = bpcli("grad", "2*3", "--lr", "0.1", "--format", "markdown").stdout
    assert "## Update step" in md and "there are no inputs, so nothing changes" in md
    assert "After the update: $f = 6$." in md
    tex = bpcli("grad", "2*3", "--lr", "0.1", "--format", "latex").stdout
    assert r"\subsection*{Update step}" in tex and "After the update: $f = 6$." in tex


def test_a_long_constant_is_written_from_its_value():
    """A constant of 63 characters is shown cut (…) in the text; LaTeX gets its value."""
    big = "1" * 50 + "e" + "0" * 12 + "1"  # 50 ones (1.11… × 10^49) × 10^1 = 1.11111 × 10^50
    fragment = to_latex(bpcli.grad(f"x*{big}", {"x": 1}))
    assert r"x \cdot 1.11111 \times 10^{50}" in fragment
    assert "…" not in fragment


@pytest.mark.integration
def test_a_tex_output_file_in_capitals_is_latex(bpcli, tmp_path):
    out = tmp_path / "KEY.TEX"
    assert bpcli("key", str(DOCS / "homework.toml"), "--solutions", "--output", str(out)).code == 0
    assert out.read_text(encoding="utf-8").startswith(r"\documentclass")


def test_an_index_is_written_in_brackets_not_as_a_second_subscript(bpcli):
    """The two-layer net's loss picks softmax1[y]: LaTeX writes it as the lecture indexes,
    `\\mathit{softmax}_{1}[y]`; `{\\mathit{softmax}_{1}}_{y}` set "softmax₁ᵧ", read "1y"."""
    run = bpcli("grad", "--file", str(DOCS / "two-layer-net.txt"),
                "--W1", "[[0.2, -0.5, 0.1], [1.5, 1.3, -0.1]]", "--x", "[1, 2, -1]",
                "--b1", "[0, 0.1]", "--W2", "[[1, -1], [0.5, 0.5], [-0.3, 0.2]]",
                "--b2", "[0, 0, 0.1]", "y=2", "--format", "latex")  # fmt: skip
    assert run.code == 0, run.stderr
    assert r"\mathit{index}_{1} &= \mathit{softmax}_{1}[y] = " in run.stdout
    assert r"\end{bmatrix}[2] = 0.232977" in run.stdout  # p[2], the probability of class 2
    assert "}_{y}" not in run.stdout
