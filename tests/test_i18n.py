"""bpcli in Korean: the catalog is complete and keeps every placeholder, no message is
glued together from translated pieces, the language is chosen in gettext's order,
JSON never changes with it, and Korean text (two columns a letter) stays aligned."""

from __future__ import annotations

import ast
import gettext
import json
import os
import re
import string
import subprocess
import sys
from pathlib import Path

import pytest

from bpcli import i18n
from bpcli.cli import app
from messages import SOURCE, TRANSLATE, files, messages

PO = i18n.catalog_path("ko")
DATA = Path(__file__).parent / "data"


def catalog() -> dict[str, dict[str, str]]:
    return {e["msgid"]: e for e in i18n.parse_po(PO.read_text(encoding="utf-8")) if e["msgid"]}


def placeholders(text: str) -> set[str]:
    """The named fields of a brace-format message, with conversion and format spec."""
    return {
        f"{{{name}{'!' + conv if conv else ''}{':' + spec if spec else ''}}}"
        for _, name, spec, conv in string.Formatter().parse(text)
        if name is not None
    }


# ---- the catalog --------------------------------------------------------------------------------


def test_every_english_message_has_a_korean_translation():
    """A message added to the source without a Korean translation fails here: add it to
    the PO (python tests/messages.py > bpcli.pot; msgmerge --update bpcli.po bpcli.pot)."""
    entries = catalog()
    missing = []
    for msgid, message in messages().items():
        entry = entries.get(msgid)
        forms = [v for k, v in (entry or {}).items() if k.startswith("msgstr")]
        if entry is None or entry.get("fuzzy") or not forms or not all(forms):
            missing.append(f"{message.where}: {msgid!r}")
    assert missing == []


def test_the_catalog_translates_only_messages_of_the_source():
    """An entry whose message the source no longer has is dead weight a translator
    keeps translating: remove it (msgmerge marks it obsolete)."""
    used = messages()
    assert [msgid for msgid in catalog() if msgid not in used] == []


def test_a_translation_keeps_the_placeholders_of_its_message():
    """Every {name} of the English, no other: a missing one loses a number, an extra one
    is a KeyError when the message is filled in."""
    wrong = []
    for msgid, entry in catalog().items():
        english = placeholders(msgid) | placeholders(entry.get("msgid_plural", msgid))
        for key, text in entry.items():
            if key.startswith("msgstr") and placeholders(text) != english:
                wrong.append((msgid, key, sorted(placeholders(text) ^ english)))
    assert wrong == []


def test_placeholders_are_named():
    """`{node}`, never `{}` or `{0}`: a translation may put them in another order."""
    positional = [
        m
        for m in messages()
        for _, name, _, _ in string.Formatter().parse(m)
        if name == "" or (name or "x")[0].isdigit()
    ]
    assert positional == []


def test_a_korean_message_in_use_is_the_catalogs():
    i18n.use("ko")
    assert i18n.tr("after the update: {f} = ") == "업데이트 이후: {f} = "
    assert i18n.tr_n("{name} over {steps} step", "{name} over {steps} steps", 1) == (
        "{steps}단계 동안의 {name}"
    )
    i18n.use("en")
    assert i18n.tr("after the update: {f} = ") == "after the update: {f} = "
    assert i18n.tr_n("{name} over {steps} step", "{name} over {steps} steps", 2) == (
        "{name} over {steps} steps"
    )


@pytest.mark.integration
def test_the_po_reader_reads_the_catalog_as_gettext_does(tmp_path):
    """msgfmt --check accepts the PO (its python-brace-format placeholders too), and the
    .mo it compiles, read by Python's gettext, holds exactly what bpcli reads from the PO."""
    mo = tmp_path / "bpcli.mo"
    done = subprocess.run(
        ["msgfmt", "--check", "-o", str(mo), str(PO)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    with mo.open("rb") as stream:
        compiled = gettext.GNUTranslations(stream)
    singular, plurals = i18n.read_catalog("ko")
    for msgid, msgstr in singular.items():
        assert compiled.gettext(msgid) == msgstr
    for msgid, forms in plurals.items():
        assert (compiled.ngettext(msgid, msgid + "s", 2),) == forms
    catalog_size = len(compiled._catalog) - 1  # type: ignore[attr-defined]  # less the header
    assert catalog_size == len(singular) + len(plurals)


def test_the_po_reader_reads_escapes_continuations_and_fuzzy_entries():
    text = (
        '# a comment\nmsgid ""\nmsgstr "Language: ko\\n"\n\n'
        '#: x.py:1\nmsgid "a \\"b\\"\\n"\n"c"\nmsgstr ""\n"가 \\"나\\"\\n"\n"다"\n\n'
        '#, fuzzy\nmsgid "old"\nmsgstr "낡은"\n\n'
        'msgid "{n} step"\nmsgid_plural "{n} steps"\nmsgstr[0] "{n}단계"\n'
    )
    entries = i18n.parse_po(text)
    assert entries[1] == {"msgid": 'a "b"\nc', "msgstr": '가 "나"\n다'}
    assert entries[2] == {"fuzzy": "1", "msgid": "old", "msgstr": "낡은"}
    assert entries[3] == {"msgid": "{n} step", "msgid_plural": "{n} steps", "msgstr[0]": "{n}단계"}


# ---- whole messages, never glued from pieces ---------------------------------------------------


def _translated(node: ast.AST) -> bool:
    """An expression whose value is translated text: tr(…), tr_n(…), a pattern's
    .reason/.hint, or one of those .format()-ed."""
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id in ("tr", "tr_n")
    if isinstance(func, ast.Attribute):
        if func.attr in ("reason", "hint"):
            return True
        if func.attr == "format":
            return _translated(func.value)
    return False


def _has_words(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and any(c.isalpha() for c in str(node.value))


def _glued(tree: ast.AST) -> list[int]:
    """Lines where translated text is joined to other words by +, % or an f-string."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Mod)):
            left, right = node.left, node.right
            if (_translated(left) and (_translated(right) or _has_words(right))) or (
                _translated(right) and _has_words(left)
            ):
                lines.append(node.lineno)
        elif isinstance(node, ast.JoinedStr):
            parts = [v.value if isinstance(v, ast.FormattedValue) else v for v in node.values]
            pieces = sum(_translated(p) for p in parts)
            if pieces > 1 or (pieces and any(_has_words(p) for p in parts)):
                lines.append(node.lineno)
    return lines


def test_no_message_is_glued_from_translated_fragments():
    """A sentence is one message with placeholders: `tr("a") + tr("b")`, `tr("a") + " b"`
    or f"{tr('a')} b" cannot be put in another language's word order."""
    glued = []
    for path in files():
        for line in _glued(ast.parse(path.read_text(encoding="utf-8"))):
            glued.append(f"{path.relative_to(SOURCE)}:{line}")
    assert glued == []


def test_the_glue_check_finds_glue():
    """The check above can fail: each of these is glue, the last one is not."""
    for code in ('tr("a") + tr("b")', 'tr("a") + " more"', 'f"{tr(X)} more"', '"%s" % tr("a")'):
        assert _glued(ast.parse(code)) == [1], code
    assert _glued(ast.parse('f"1. {tr(X)}"')) == []


def test_a_message_is_a_literal_or_a_marked_constant():
    """tr(f"…") or tr("a" + b) would look up a text no catalog has: the message is the
    literal, or a constant marked with N_ (which itself takes only a literal)."""
    bad = []
    for path in files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id not in TRANSLATE or not node.args:
                continue
            arguments = node.args[:2] if node.func.id == "tr_n" else node.args[:1]
            for argument in arguments:
                literal = isinstance(argument, ast.Constant) and isinstance(argument.value, str)
                if isinstance(argument, (ast.JoinedStr, ast.BinOp)) or (
                    node.func.id != "tr" and not literal
                ):
                    bad.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
    assert bad == []


# ---- choosing the language ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("environ", "language"),
    [
        ({}, "en"),
        ({"LANG": "ko_KR.UTF-8"}, "ko"),
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "C.UTF-8"}, "en"),
        ({"LC_MESSAGES": "ko_KR.UTF-8", "LANG": "en_US.UTF-8"}, "ko"),
        ({"LC_ALL": "en_US.UTF-8", "LC_MESSAGES": "ko_KR.UTF-8"}, "en"),
        ({"LC_ALL": "ko_KR.UTF-8", "LANG": "en_US.UTF-8"}, "ko"),
        ({"LANGUAGE": "ko", "LC_ALL": "en_US.UTF-8"}, "ko"),
        ({"LANGUAGE": "en", "LC_ALL": "ko_KR.UTF-8"}, "en"),
        ({"LANGUAGE": "fr:ko:en", "LANG": "en_US.UTF-8"}, "ko"),  # the first bpcli has
        ({"LANGUAGE": "fr", "LANG": "ko_KR.UTF-8"}, "en"),  # gettext reads one variable
        ({"LANGUAGE": "", "LANG": "ko_KR.UTF-8"}, "ko"),  # an empty one is not set
        ({"BPCLI_LANG": "ko", "LANGUAGE": "en", "LC_ALL": "en_US.UTF-8"}, "ko"),
        ({"BPCLI_LANG": "en", "LANG": "ko_KR.UTF-8"}, "en"),
        ({"BPCLI_LANG": "klingon", "LANG": "ko_KR.UTF-8"}, "ko"),  # unknown: passed over
    ],
)
def test_the_language_is_chosen_in_gettexts_order(environ, language):
    assert i18n.choose(None, environ) == language


def test_lang_comes_before_the_environment():
    assert i18n.choose("en", {"BPCLI_LANG": "ko", "LANGUAGE": "ko"}) == "en"
    assert i18n.choose("ko", {"BPCLI_LANG": "en", "LANG": "en_US.UTF-8"}) == "ko"


def test_every_command_takes_lang(bpcli):
    import typer.main

    group = typer.main.get_command(app)
    names = sorted(group.commands)  # type: ignore[attr-defined]
    assert {"grad", "graph", "check", "key", "quiz", "batch"} <= set(names)
    for name in names:
        options = [opt for p in group.commands[name].params for opt in p.opts]  # type: ignore[attr-defined]
        assert "--lang" in options, name


def test_a_language_bpcli_does_not_have_is_a_usage_error(bpcli):
    run = bpcli("grad", "x*2", "--x", "1", "--lang", "fr")
    assert run.code == 2
    assert run.stderr == (
        "error: invalid value for --lang: it is ko or en, got 'fr' (see bpcli grad -h)\n"
    )


def test_bpcli_lang_in_the_environment_speaks_korean(bpcli, monkeypatch):
    monkeypatch.setenv("BPCLI_LANG", "ko")
    assert bpcli("grad", "x*2", "--x", "1").stdout.startswith("계산 그래프(computational graph)\n")
    assert bpcli("grad", "x*2", "--x", "1", "--lang", "en").stdout.startswith(
        "computational graph\n"
    )


# ---- JSON is for scripts: the same in every language ------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("grad", "(x+y)*z", "--x", "-2", "--y", "5", "--z", "-4", "--json"),
        ("grad", "(x+y)*z", "--x", "-2", "--y", "5", "--z", "-4", "--json", "--explain"),
        ("grad", "max(x, y)*x", "--x", "2", "--y", "1", "--lr", "0.1", "--steps", "3", "--json"),
        ("check", str(DATA / "homework.toml"), "--json"),
        (
            "check",
            "--problems",
            str(DATA / "grading" / "hw.toml"),
            str(DATA / "homework.toml"),
            "--json",
        ),
    ],
)
def test_json_is_byte_identical_in_both_languages(bpcli, args):
    english = bpcli(*args, "--lang", "en")
    korean = bpcli(*args, "--lang", "ko")
    assert json.loads(english.stdout.splitlines()[0])  # JSON, and something in it
    assert (korean.code, korean.stdout, korean.stderr) == (
        english.code,
        english.stdout,
        english.stderr,
    )


def test_batch_answers_are_byte_identical_in_both_languages(bpcli, monkeypatch):
    lines = (DATA / "batch" / "requests.jsonl").read_bytes()
    english = bpcli("batch", input=lines)
    monkeypatch.setenv("BPCLI_LANG", "ko")
    korean = bpcli("batch", "--lang", "ko", input=lines)
    assert korean.stdout and (korean.code, korean.stdout) == (english.code, english.stdout)


# ---- the lecture, in its own words -----------------------------------------------------------
# Written by hand from the lecture's slides: "1. Forward pass: Output 계산", "2. Backward
# pass: Gradient 계산", "add gate: gradient distributor", "mul gate: swap multiplier",
# q = x + y = 3, f = qz = -12, ∂f/∂x = ∂f/∂y = -4, ∂f/∂z = 3; with Learning rate α = 0.1,
# x = -1.6, y = 5.4, z = -4.3 and "업데이트 이후: (x + y)z = -16.34". A Korean letter takes
# two columns: the boxes' right edges and the table's columns stay where they belong.

LECTURE = ("grad", "(x+y)*z", "--x", "-2", "--y", "5", "--z", "-4", "--lang", "ko")

LECTURE_TABLE = """\
계산 그래프(computational graph)
노드  연산  식        값  ∂f/∂노드
x     var   x         -2        -4
y     var   y          5        -4
add1  add   x+y        3        -4
z     var   z         -4         3
f     mul   (x+y)*z  -12         1

f = -12
∂f/∂x = -4   ∂f/∂y = -4   ∂f/∂z = 3
"""

LECTURE_EXPLAIN = """\
╭─ 1. Forward pass: Output 계산 ───────────────────────────────────────────────╮
│ 입력: x = -2, y = 5, z = -4                                                  │
│ add1 = x + y = -2 + 5      =   3                                             │
│ f    = add1 · z = 3 · (-4) = -12                                             │
│ 출력: f = -12                                                                │
╰──────────────────────────────────────────────────────────────────────────────╯
╭─ 2. Backward pass: Gradient 계산 ────────────────────────────────────────────╮
│ ∂f/∂f = 1  (출력, 역전파(backward pass)의 시작. 하류 = 상류 · 국소           │
│ 기울기(downstream = upstream · local gradient))                              │
│                                                                              │
│ f = add1 · z: mul gate, swap multiplier                                      │
│   하류 기울기 ∂f/∂add1, ∂f/∂z = 상류 기울기 ∂f/∂f ·                          │
│   국소 기울기 ∂(add1·z)/∂add1, ∂(add1·z)/∂z                                  │
│   ∂f/∂add1 = ∂f/∂f · ∂(add1·z)/∂add1 = 1 · z = 1 · (-4) = -4                 │
│   ∂f/∂z    = ∂f/∂f · ∂(add1·z)/∂z = 1 · add1 = 1 · 3    =  3                 │
│   swap multiplier: 각 입력에는 상류 기울기에 다른 입력의 값을 곱한 값이      │
│   전달된다 (add1: 1 · (-4), z: 1 · 3)                                        │
│                                                                              │
│ add1 = x + y: add gate, gradient distributor                                 │
│   하류 기울기 ∂f/∂x, ∂f/∂y = 상류 기울기 ∂f/∂add1 ·                          │
│   국소 기울기 ∂add1/∂x, ∂add1/∂y                                             │
│   ∂f/∂x = ∂f/∂add1 · ∂add1/∂x = -4 · 1 = -4                                  │
│   ∂f/∂y = ∂f/∂add1 · ∂add1/∂y = -4 · 1 = -4                                  │
│   gradient distributor: 모든 입력에 상류 기울기가 그대로 전달된다 (-4)       │
╰──────────────────────────────────────────────────────────────────────────────╯
"""

LECTURE_UPDATE = """\
업데이트: x := x - α·∂f/∂x, 학습률(learning rate) α = 0.1
입력  값  ∂f/∂입력  새 값
x     -2        -4   -1.6
y      5        -4    5.4
z     -4         3   -4.3

업데이트 이후: f = -16.34
"""

LECTURE_UPDATE_EXPLAIN = """\
╭─ 3. 업데이트 ────────────────────────────────────────────────────────────────╮
│ 학습률(learning rate) α = 0.1: 각 입력이 기울기의 반대 방향으로 한 걸음      │
│ 이동한다                                                                     │
│ x := x - α × ∂f/∂x = -2 - 0.1 × (-4) = -1.6                                  │
│ y := y - α × ∂f/∂y = 5 - 0.1 × (-4)  =  5.4                                  │
│ z := z - α × ∂f/∂z = -4 - 0.1 × 3    = -4.3                                  │
│ 업데이트 이후: f = -16.34                                                    │
╰──────────────────────────────────────────────────────────────────────────────╯
"""


def test_the_lecture_example_explained_in_korean(bpcli):
    run = bpcli(*LECTURE, "--explain")
    assert run.code == 0
    assert run.stdout == LECTURE_TABLE + "\n" + LECTURE_EXPLAIN


def test_the_lecture_update_in_korean(bpcli):
    run = bpcli(*LECTURE, "--lr", "0.1", "--explain")
    assert run.stdout == (
        LECTURE_TABLE + "\n" + LECTURE_UPDATE + "\n" + LECTURE_EXPLAIN + LECTURE_UPDATE_EXPLAIN
    )


def test_the_korean_table_is_aligned_in_cells():
    """Each column of the Korean table starts at the same cell in every row, measured
    as a terminal does (a Korean letter two cells)."""
    from rich.cells import cell_len

    lines = LECTURE_TABLE.splitlines()[1:7]
    columns = []
    for line in lines:
        words = list(re.finditer(r"\S+", line))
        starts = [cell_len(line[: w.start()]) for w in words[:3]]  # left-aligned
        ends = [cell_len(line[: w.end()]) for w in words[3:]]  # right-aligned numbers
        columns.append((starts, ends))
    header = "노드  연산  식        값  ∂f/∂노드"
    assert lines[0] == header
    assert all(column == ([0, 6, 12], [24, 34]) for column in columns)


def test_the_descent_in_korean(bpcli):
    run = bpcli(*LECTURE, "--lr", "0.1", "--steps", "2", "--no-nodes")
    assert run.stdout.splitlines()[2:6] == [
        "",
        "경사 하강법(gradient descent): 학습률(learning rate) α = 0.1, 2단계",
        "단계      x     y      z         f",
        "   0     -2     5     -4       -12",
    ]
    assert "2단계 이후: f = -21.8088" in run.stdout  # x, y, z after the second step: -1.17, …
    assert "2단계 동안의 f" in run.stdout


@pytest.mark.integration
def test_the_lecture_from_the_script_is_the_same_as_in_process():
    """The fast path (entry.py, no Typer) speaks Korean as the full command line does."""
    env = {**os.environ, "COLUMNS": "80", "BPCLI_LANG": "ko"}
    done = subprocess.run(
        [sys.executable, "-m", "bpcli", *LECTURE[:-2]], capture_output=True, text=True, env=env
    )
    assert done.stdout == LECTURE_TABLE


@pytest.mark.integration
def test_a_korean_windows_console_gets_text_it_prints():
    """cp949 holds Hangul: the walkthrough reaches it as Korean letters, never `\\u` escapes."""
    env = {**os.environ, "COLUMNS": "80", "PYTHONIOENCODING": "cp949"}
    done = subprocess.run(
        [sys.executable, "-m", "bpcli", *LECTURE, "--explain", "--lr", "0.1"],
        capture_output=True,
        env=env,
    )
    assert done.returncode == 0
    text = done.stdout.decode("cp949")
    assert "\\u" not in text
    assert "계산 그래프(computational graph)" in text
    assert "업데이트 이후: f = -16.34" in text


def test_help_in_korean(bpcli):
    """What Typer lets bpcli translate: the command's help and its options'; Typer's own
    words (Usage, Options) stay English."""
    run = bpcli("grad", "--lang", "ko", "--help")
    assert "주어진 입력값에서 EXPR의 순전파(forward pass)와 역전파(backward pass)를" in run.stdout
    assert "이 도움말을 보여 주고" in run.stdout  # Click's own --help, in bpcli's words
    english = bpcli("grad", "--help")
    assert "Run the forward and backward pass of EXPR" in english.stdout
    # --help is eager: --lang after it counts too, and --lang=ko
    for args in (("grad", "--help", "--lang", "ko"), ("grad", "--help", "--lang=ko")):
        assert run.stdout == bpcli(*args).stdout
    assert "Run the forward" in bpcli("grad", "--help", "--lang", "en").stdout


LECTURE_PROBLEM = """\
[[problem]]
id = "1a"
expr = "q = x + y; f = q * z"
values = { x = -2, y = 5, z = -4 }
lr = 0.1

[problem.answer]
output = -12
grad = { x = -4, y = 4, z = 3 }
new_output = -16.34
"""


def test_checks_report_in_korean_keeps_its_columns(bpcli, tmp_path, monkeypatch):
    """The lecture's problem with ∂f/∂y's sign wrong (it is -4): the report's columns,
    headed in Korean (two cells a letter), stay right-aligned under their headings."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hw.toml").write_text(LECTURE_PROBLEM, encoding="utf-8")
    run = bpcli("check", "hw.toml", "--lang", "ko")
    assert run.code == 1
    assert run.stdout == (
        "자체 확인: 이 파일의 문제와 답을 비교\n"
        "\n"
        "문제 1a  hw.toml  0.8 / 1\n"
        "  항목          제출    정답\n"
        "  output         -12     -12  ✓ 맞음\n"
        "  grad.x          -4      -4  ✓ 맞음\n"
        "  grad.y           4      -4  ✗ 틀림\n"
        "  grad.z           3       3  ✓ 맞음\n"
        "  new_output  -16.34  -16.34  ✓ 맞음\n"
        "\n"
        "점수 0.8 / 1  (문제 1개 중 0개 모두 맞음)\n"
    )


def test_an_error_in_korean_keeps_its_caret_under_the_spot(bpcli):
    run = bpcli("grad", "(x+y", "--x", "1", "--y", "2", "--lang", "ko")
    assert run.code == 2
    assert run.stderr == (
        "error: 1행 5열: 식이 너무 일찍 끝났다 (여기에 와야 하는 것: ')')\n  (x+y\n      ^\n"
    )


def test_quiz_in_korean_is_the_same_problem_set(bpcli):
    """Only the comments a person reads change: the problems, the same seed's, do not."""
    english = bpcli("quiz", "--seed", "7", "--count", "2")
    korean = bpcli("quiz", "--seed", "7", "--count", "2", "--lang", "ko")
    assert korean.stdout.splitlines()[1] == (
        "# 각 [problem.answer] 테이블을 채운 뒤 (모든 ?를 바꿔라):  bpcli check FILE"
    )
    assert korean.stdout.splitlines()[2:] == english.stdout.splitlines()[2:]


# ---- the write-ups and the solution sheet ------------------------------------------------------


def test_the_markdown_walkthrough_in_korean(bpcli):
    run = bpcli(*LECTURE, "--lr", "0.1", "--explain", "--format", "markdown")
    lines = run.stdout.splitlines()
    assert lines[:3] == ["## Forward pass: Output 계산", "", "입력: $x = -2$, $y = 5$, $z = -4$."]
    assert "## Backward pass: Gradient 계산" in lines
    assert "**$\\mathit{add}_{1} = x + y$: add gate, gradient distributor**" in lines
    assert lines[-1] == "업데이트 이후: $f = -16.34$."


def _need_kotex() -> None:
    from conftest import unavailable

    done = subprocess.run(["kpsewhich", "kotex.sty"], capture_output=True, text=True)
    if done.returncode != 0:
        unavailable("kotex is not installed (Debian: texlive-lang-korean)")


@pytest.mark.integration
def test_the_korean_solution_sheet_compiles_and_reads_back(bpcli, tmp_path):
    """key --solutions --format latex in Korean: ko.TeX in the preamble, pdflatex
    compiles it, and pdftotext reads the lecture's words and numbers back."""
    from latex import pdf_text

    _need_kotex()
    out = tmp_path / "key.tex"
    problems = tmp_path / "hw.toml"
    problems.write_text(LECTURE_PROBLEM, encoding="utf-8")
    run = bpcli("key", str(problems), "--solutions", "--output", str(out), "--lang", "ko")
    assert run.code == 0, run.stderr
    document = out.read_text(encoding="utf-8")
    assert "\\usepackage{kotex}" in document
    text = pdf_text(tmp_path, document, "key").replace("−", "-")
    for expected in [
        "풀이: hw.toml",
        "문제 1a (1점)",
        "Forward pass: Output 계산",
        "q = x + y = -2 + 5 = 3",
        "Backward pass: Gradient 계산",
        "mul gate, swap multiplier",
        "add gate, gradient distributor",
        "업데이트 이후: f = -16.34.",
        "new_output -16.34",
    ]:
        assert expected in text, expected


@pytest.mark.integration
def test_the_korean_write_up_compiles_with_kotex(bpcli, tmp_path):
    """grad --format latex in Korean is a fragment for a document with amsmath and ko.TeX
    (the README says so): compiled, its Korean headings and numbers read back."""
    from latex import FRAGMENT_DOCUMENT, pdf_text

    _need_kotex()
    run = bpcli(*LECTURE, "--lr", "0.1", "--explain", "--format", "latex")
    assert run.code == 0, run.stderr
    document = FRAGMENT_DOCUMENT.replace(
        "\\usepackage{amsmath}", "\\usepackage{amsmath}\n\\usepackage{kotex}"
    )
    text = pdf_text(tmp_path, document % run.stdout, "writeup").replace("\u2212", "-")
    for expected in [
        "Forward pass: Output 계산",
        "입력: x = -2, y = 5, z = -4.",
        "Backward pass: Gradient 계산",
        "업데이트 이후: f = -16.34.",
    ]:
        assert expected in text, expected


@pytest.mark.integration
def test_the_english_solution_sheet_has_no_korean_package(bpcli, tmp_path):
    problems = tmp_path / "hw.toml"
    problems.write_text(LECTURE_PROBLEM, encoding="utf-8")
    run = bpcli("key", str(problems), "--solutions", "--format", "latex")
    assert "kotex" not in run.stdout and "\\section*{Solutions: hw.toml}" in run.stdout


# ---- the page ------------------------------------------------------------------------------------

from test_page import SHOWN, browser, open_page, panel, shown  # noqa: E402, F401  (fixtures)

# The lecture in the page's panel, in Korean, by hand from the slides: the same equations,
# the walkthrough's words around them.
KOREAN_STEPS = [
    ("Forward pass: Output 계산", ["입력: x = -2, y = 5, z = -4"]),
    ("Forward pass: Output 계산", ["q = x + y = -2 + 5 = 3"]),
    ("Forward pass: Output 계산", ["f = q · z = 3 · (-4) = -12"]),
    ("Backward pass: Gradient 계산", ["∂f/∂f = 1"]),
    ("Backward pass: Gradient 계산", ["f = q · z: mul gate, swap multiplier",
                                      "하류 기울기 ∂f/∂q = 상류 기울기 ∂f/∂f · 국소 기울기 ∂(q·z)/∂q",
                                      "∂f/∂q = ∂f/∂f · ∂(q·z)/∂q = 1 · z = 1 · (-4) = -4"]),
    ("Backward pass: Gradient 계산", ["f = q · z: mul gate, swap multiplier",
                                      "하류 기울기 ∂f/∂z = 상류 기울기 ∂f/∂f · 국소 기울기 ∂(q·z)/∂z",
                                      "∂f/∂z = ∂f/∂f · ∂(q·z)/∂z = 1 · q = 1 · 3 = 3"]),
    ("Backward pass: Gradient 계산", ["q = x + y: add gate, gradient distributor",
                                      "하류 기울기 ∂f/∂x = 상류 기울기 ∂f/∂q · 국소 기울기 ∂q/∂x",
                                      "∂f/∂x = ∂f/∂q · ∂q/∂x = -4 · 1 = -4"]),
    ("Backward pass: Gradient 계산", ["q = x + y: add gate, gradient distributor",
                                      "하류 기울기 ∂f/∂y = 상류 기울기 ∂f/∂q · 국소 기울기 ∂q/∂y",
                                      "∂f/∂y = ∂f/∂q · ∂q/∂y = -4 · 1 = -4"]),
    ("업데이트", ["x := x - α × ∂f/∂x = -2 - 0.1 × (-4) = -1.6",
                "y := y - α × ∂f/∂y = 5 - 0.1 × (-4) = 5.4",
                "z := z - α × ∂f/∂z = -4 - 0.1 × 3 = -4.3",
                "업데이트 이후: f = -16.34"]),
]  # fmt: skip


def _korean_font() -> None:
    from conftest import unavailable

    done = subprocess.run(["fc-list", ":lang=ko", "family"], capture_output=True, text=True)
    if not done.stdout.strip():
        unavailable("no Korean font for the page's screenshot (Debian: fonts-nanum)")


@pytest.mark.integration
def test_the_korean_page_steps_through_the_lecture(bpcli, open_page, tmp_path):  # noqa: F811
    """The page in Korean, stepped in Chromium as the English one is: the panel's words,
    the phase, the buttons and the graph's numbers at every step; then a screenshot
    with a Korean font."""
    _korean_font()
    out = tmp_path / "lecture.html"
    run = bpcli("graph", "q = x + y; f = q * z", "--x", "-2", "--y", "5", "--z", "-4",
                "--lr", "0.1", "--format", "html", "--output", str(out), "--lang", "ko")  # fmt: skip
    assert run.code == 0, run.stderr
    page = open_page(out)
    assert page.evaluate("document.documentElement.lang") == "ko"
    assert page.inner_text("h1") == "q = x + y; f = q * z의 Backpropagation"
    assert page.inner_text("#all") == "모두 보기"
    for i, ((phase, lines), (values, grads)) in enumerate(zip(KOREAN_STEPS, SHOWN, strict=True)):
        if i:
            page.keyboard.press("ArrowRight")
        assert page.inner_text("#step-number") == str(i + 1)
        assert page.inner_text(".counter").startswith(f"9단계 중 {i + 1}단계")
        assert page.inner_text("#phase") == phase
        assert panel(page) == lines
        assert shown(page, "value") == values
        assert shown(page, "grad") == grads
    page.click("#all")
    assert page.inner_text("#all") == "한 단계씩"
    assert page.requests == [page.file_url] and page.errors == []
    page.screenshot(path=str(tmp_path / "ko.png"), full_page=True)
    assert (tmp_path / "ko.png").stat().st_size > 10_000


# ---- no English left to a Korean reader ----------------------------------------------------------
# A message a programmer wrote without tr() escapes the catalog tests above: it is found only
# by reading bpcli's Korean output. So every error of the errors catalogue (which docs/errors.md
# is made from) and the human output of a set of commands over vectors and matrices are run in
# Korean, and what is left after removing what stays English by design (the `error:` prefix,
# gate and pattern names, the lecture's pass headings, the glosses 한글(English) of a first
# use, quoted user text and code, options, file names, metavariables, op and field names,
# shell commands, the words of the operating system and of the JSON and TOML parsers) must
# hold no English: no run of two English words, and no English word on a line without Korean.

from errors_catalogue import CATALOGUE, RUNS_DOT, Entry  # noqa: E402
from test_errors_doc import is_batch, run  # noqa: E402

HANGUL = re.compile(r"[가-힣]")
BOX = re.compile(r"[│╭╮╰╯─┌┐└┘]")


def _by_design() -> list[re.Pattern[str]]:
    import errno

    from bpcli.ops import OPS
    from bpcli.patterns import PATTERNS

    def words(items: object) -> str:
        unique = sorted({str(w) for w in items if w}, key=len, reverse=True)  # type: ignore[attr-defined]
        return "|".join(re.escape(w) for w in unique)

    library = [os.strerror(code) for code in errno.errorcode] + [
        "This file contains pickled (object) data. If you trust the file you can load it"
        " unsafely using the `allow_pickle=` keyword argument or `pickle.load()`."
    ]
    A, Z = r"(?<![A-Za-z0-9_])", r"(?![A-Za-z0-9_])"  # a Korean particle may follow a word
    return [
        re.compile(r"^\s*(?:error|warning): ", re.M),
        re.compile(words(library)),
        re.compile(r"Expecting [^:]*: line \d+ column \d+ \(char \d+\)"),  # json's
        re.compile(r"[A-Z][^:()]* \(at line \d+, column \d+\)"),  # tomllib's
        re.compile(r"`[^`]*`|'[^'\n]*'|\"[^\"\n]*\""),  # code and user text
        re.compile(r"(?<=[가-힣])\([^()]*\)"),  # 한글(English), a term's first use
        re.compile(rf"{A}(?:{words(OPS)}) gate{Z}"),
        re.compile(rf"{A}(?:{words(p.headline for p in PATTERNS)}){Z}"),
        re.compile(r"(?:Forward pass: Output|Backward pass: Gradient)(?= 계산)"),  # the lecture's
        re.compile(r"(?:sudo )?(?:apt|brew|pip) install [\w.-]+"),
        re.compile(rf"bpcli (?:grad|graph|check|key|quiz|batch){Z}"),
        re.compile(r"(?<![\w-])--?[A-Za-z][\w-]*"),  # options
        re.compile(
            r"[\w./-]*\.(?:toml|json|jsonl|csv|npy|bp|txt|svg|png|pdf|jpg|dot|gv|mmd|html?|tex|md)"
            + Z
        ),
        re.compile(rf"{A}[A-Z][A-Z_-]+{Z}"),  # metavariables and acronyms: FILE, VALUE, JSON
        re.compile(rf"{A}(?:output|grad|nodes|node_grads|update|new_output)(?:\.\w+)?{Z}"),
        re.compile(rf"{A}[a-z]+\d+{Z}"),  # a node's name: matmul1
        re.compile(rf"{A}(?:{words([*OPS, *(op.symbol for op in OPS.values())])}){Z}"),
    ]


BY_DESIGN = _by_design()
ENGLISH_RUN = re.compile(r"[A-Za-z]{2,}(?:[ \t]+[A-Za-z]+(?:'s)?)*[ \t]+[A-Za-z]{2,}(?:'s)?")
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
# One English word between two terms, `x gets 5`: a term stays English by design, so it is
# removed first, to a mark that keeps its place (REMOVED).
REMOVED = "\u25ca"
ENGLISH_BETWEEN = re.compile(
    rf"(?:(?<![A-Za-z0-9_])[A-Za-z]|[\])]|{REMOVED}) ([a-z]{{3,}})(?= [^\s가-힣])"
)


def english_left(text: str) -> list[str]:
    """The English a Korean reader of `text` is left with, beyond what stays English by
    design: each run of two or more English words, each English word between two terms
    (`x gets 5`), and each line with an English word and no Korean."""
    text = "\n".join(BOX.sub("", line).strip() for line in text.splitlines())
    marked = text
    for pattern in BY_DESIGN:
        text = pattern.sub(" ", text)
        marked = pattern.sub(REMOVED, marked)
    runs = [" ".join(m.group().split()) for m in ENGLISH_RUN.finditer(text)]
    between = [m.group(1) for m in ENGLISH_BETWEEN.finditer(marked)]
    runs += [word for word in between if not any(word in run.split() for run in runs)]
    lines = [
        line.strip()
        for line in text.splitlines()
        if ENGLISH_WORD.search(line) and not HANGUL.search(line)
    ]
    return runs + [line for line in lines if not any(run in line for run in runs)]


def test_english_left_finds_english_and_passes_over_what_stays_english():
    """The check can fail: a sentence, a phrase and a lone word are found; the lecture's
    terms, glosses, code, user text and the operating system's words are not."""
    assert english_left("error: W @ x: (2, 2) @ (3,): inner sizes 2 and 3 differ") == [
        "inner sizes"
    ]
    assert english_left("  output  ✓ right\n    submitted [1, 2]") == [
        "✓ right",
        "submitted [1, 2]",
    ]
    assert english_left("x의 값 is ragged: [1] is a list of 1") == ["is ragged", "is a list of"]
    assert english_left("곱한 값이 전달된다: s gets ∂L/∂sub1, index1 gets -7") == ["gets", "gets"]
    assert english_left("상류 기울기 1: sum1 gets 1") == ["gets"]
    assert (
        english_left(
            "╭─ 2. Backward pass: Gradient 계산 ─╮\n"
            "│ f = q · z: mul gate, swap multiplier │\n"
            "│ 역전파(backward │\n│ pass)의 시작, 위치: `log(x)` │\n"
            "error: notes.txt/e.bp: 읽을 수 없다 (Not a directory)\n"
            "error: --jsn은(는) 옵션이 아니다; --json을(를) 뜻했는가? 'the value'\n"
            "# bpcli quiz --seed 1 --ops add,mul,max --tensors\n"
            "matmul1  matmul  W @ x   (2,)\n"
            "f: sum((2,)) → ()  --x VALUE --y VALUE"
        )
        == []
    )


def _korean_message(entry: Entry, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("BPCLI_LANG", "ko")
    i18n.use("ko")
    return run(entry).message


# Messages that stay English by design: Typer's (Click's) own usage errors, as --help's own
# words do; those of a run for scripts, `bpcli batch` and --json, which are English whatever
# the language (cli.py; JSON is byte-identical in both, stderr too); bpcli's internal error,
# a bug report for its authors.
def _english_by_design(entry: Entry) -> bool:
    return (
        entry.cls in ("UsageError", "internal")
        or "--json" in entry.cli
        or is_batch(entry)
        or (entry.cli[:1] == ("batch",))
        or entry.module == "batch.py"
    )


@pytest.mark.parametrize(
    "entry",
    [
        pytest.param(e, marks=[pytest.mark.integration] if e.setup in RUNS_DOT else [])
        for e in CATALOGUE
        if not _english_by_design(e)
    ],
    ids=lambda e: f"{e.module}:{(e.cli or e.api)[-1][:40]}",
)
def test_every_error_in_korean_is_korean(entry, monkeypatch):
    """Each error of the catalogue, in Korean, leaves no English but what stays English
    by design (see english_left)."""
    message = _korean_message(entry, monkeypatch)
    assert message and english_left(message) == [], message
    assert BOTH_FORMS.findall(message) == [], message  # 이(가): each in the form it takes


DOCS = Path(__file__).resolve().parents[1] / "docs"
# A submission to docs/matrix-homework.toml with a mistake of each kind the dimension
# analysis names: a square gradient transposed, a vector as a column, a number as a list,
# one element wrong, a broadcast gradient not summed back, a gradient of the wrong shape.
MISTAKES = """\
student = "lee"

[[problem]]
id = "1"

[problem.answer]
output = [0.116]
grad = { W = [[0.088, 0.104], [0.176, 0.208]], x = [[-0.112], [0.636]] }

[[problem]]
id = "2"

[problem.answer]
grad = { X = [[1, 1, 1], [2, 2, 9]], b = [[1, 1, 1], [2, 2, 2]], G = [1, 3, 5] }
"""
TENSOR_RUNS = {
    "table, update, walkthrough": (
        "grad", "q = W @ x; f = sum(relu(q) * v)", "--W", "[[1, 2], [3, -4]]", "--x", "[1, 2]",
        "--v", "[0.5, -1]", "--lr", "0.1", "--explain",
    ),
    "descent": ("grad", "f = mean(transpose(W) @ x)", "--W", "[[1, 2], [3, 4]]", "--x", "[1, 2]",
                "--lr", "0.1", "--steps", "3"),
    "broadcast, max": ("grad", "f = sum(max(X + b, c))", "--X", "[[1, 2], [3, 4]]",
                       "--b", "[1, -1]", "--c", "2", "--explain"),
    "scalar max": ("grad", "f = max(x, y) * z", "--x", "3", "--y", "1", "--z", "2", "--explain"),
    "check against the set": ("check", "--problems", str(DOCS / "matrix-homework.toml"),
                              "mistakes.toml"),
    "check the set itself": ("check", str(DOCS / "matrix-homework.toml")),
    "quiz over tensors": ("quiz", "--tensors", "--seed", "3", "--count", "3", "--key"),
    "key": ("key", str(DOCS / "matrix-homework.toml")),
}  # fmt: skip
TOML_OUTPUT = ("quiz", "key")  # a person reads only their comments


@pytest.mark.parametrize("args", TENSOR_RUNS.values(), ids=TENSOR_RUNS.keys())
def test_the_output_over_tensors_in_korean_is_korean(bpcli, args, tmp_path, monkeypatch):
    """The human output of a tensor program (its table, update, descent and walkthrough),
    of check's report and hints over vectors and matrices, and of quiz --tensors and key,
    in Korean, leaves no English but what stays English by design (see english_left)."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "mistakes.toml").write_text(MISTAKES, encoding="utf-8")
    run = bpcli(*args, "--lang", "ko")
    assert run.code in (0, 1), run.stderr
    text = run.stdout
    if args[0] in TOML_OUTPUT:
        text = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert HANGUL.search(text) or args[0] == "key", text
    assert english_left(text) == [], text


def test_the_dot_legend_in_korean(bpcli):
    """The DOT picture's legend says what its colours mean in Korean, in the words of the
    HTML page's legend (issue 15)."""
    run = bpcli("graph", "q = W @ x; f = sum(q^2)", "--W", "[[0.1, 0.5], [-0.3, 0.8]]",
                "--x", "[0.2, 0.4]", "--format", "dot", "--lang", "ko")  # fmt: skip
    legend = [line for line in run.stdout.splitlines() if line.startswith("  label=<")]
    assert len(legend) == 1, run.stdout
    text = re.sub(r"<[^<>]*>", " ", legend[0].removeprefix("  label=<"))
    assert "초록: 값" in text and "빨강: ∂f/∂노드 (" in text, text
    assert english_left(text) == [], text


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_tensor_gradcheck_line_is_translated_and_wrapped(bpcli, lang, monkeypatch):
    """grad --gradcheck over a matrix and a vector (4 + 2 elements): its sentence in the
    language chosen, broken at spaces to the console's width, no space at a line's end
    (issue 15: it was English, and 84 columns on one line at 80)."""
    from bpcli.render.lines import cells

    monkeypatch.setenv("COLUMNS", "50")  # narrower than the sentence, whatever its numbers
    run = bpcli("grad", "f = sum(relu(W @ x))", "--W", "[[0.1, 0.5], [-0.3, 0.8]]",
                "--x", "[0.2, 0.4]", "--gradcheck", "--lang", lang)  # fmt: skip
    assert run.code == 0, run.stderr
    lines = ("gradcheck ok: " + run.stdout.split("gradcheck ok: ")[1]).splitlines()
    assert len(lines) > 1 and all(cells(line) <= 50 for line in lines), lines
    assert all(line == line.rstrip() for line in lines), lines
    sentence = " ".join(lines).removeprefix("gradcheck ok: ")
    if lang == "en":
        assert sentence.startswith("6 elements, worst relative error ")
        assert sentence.endswith(" (tolerance 1e-06)")
    else:
        assert sentence.startswith("원소 6개, ") and sentence.endswith(" (허용 오차 1e-06)")
        assert english_left(sentence) == [], sentence


def test_korean_particles_read_right_after_a_value_and_a_size(bpcli, monkeypatch):
    """No particle fallback after a value's name (W의 값은(는): 값 takes 은) or after a
    number (3와(과): 3 takes 과), and an elementwise rule says element-wise once, in one
    sentence (issue 15)."""
    fallback = re.compile(r"\((?:은|는|이|가|을|를|와|과|으)\)")
    errors = [
        bpcli("grad", "W @ x", "--W", "[[1, 2], [3", "--x", "1", "--lang", "ko").stderr,
        bpcli("grad", "W @ x", "--W", "abc", "--x", "1", "--lang", "ko").stderr,
        bpcli("grad", "W @ x", "--W", "[[1, 0.5, 2], [-0.3, 0.8, 1]]", "--x", "[1, 2]",
              "--lang", "ko").stderr,
    ]  # fmt: skip
    assert [e.startswith("error: ") and "W의 값" in e for e in errors[:2]] == [True, True]
    assert "(2, 3) @ (2,)" in errors[2] and "3 ≠ 2" in errors[2], errors[2]
    assert [fallback.findall(e) for e in errors] == [[], [], []], errors
    monkeypatch.setenv("COLUMNS", "200")
    run = bpcli("grad", "q = W @ x; f = sum(q^2)", "--W", "[[0.1, 0.5], [-0.3, 0.8]]",
                "--x", "[0.2, 0.4]", "--explain", "--lang", "ko")  # fmt: skip
    rule = [line for line in run.stdout.splitlines() if "∂pow1/∂q = 2·q^(2 - 1)" in line]
    assert len(rule) == 1 and rule[0].count("원소") == 1, rule


BOTH_FORMS = re.compile("|".join(re.escape(both) for both in i18n.PARTICLES))


# How Korean reads the word before a particle (a hand-made list: the readings are
# Korean's, 엑스 for x, 삼 for 3, 십 for 10, 영점이육 for 0.26), and the form it takes
@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("x이(가)", "x가"),  # 엑스
        ("W1은(는)", "W1은"),  # 더블유일
        ("2을(를)", "2를"),  # 이
        ("3을(를)", "3을"),  # 삼
        ("-4은(는)", "-4는"),  # 마이너스 사
        ("10(으)로", "10으로"),  # 십
        ("1(으)로", "1로"),  # 일: ㄹ takes 로
        ("6(으)로", "6으로"),  # 육
        ("3000이(가)", "3000이"),  # 삼천
        ("[0.22, 0.26]을(를)", "[0.22, 0.26]을"),  # ... 영점이육: the bracket is not read
        ("(2, 3)이(가)", "(2, 3)이"),  # 삼
        ("x[0]은(는)", "x[0]은"),  # 영
        ("max(x)은(는)", "max(x)는"),
        ("-0.5(이)라는", "-0.5라는"),  # 영점오
        ("학습률이(가)", "학습률이"),
        ("학습률(으)로", "학습률로"),  # ㄹ
        ("기울기을(를)", "기울기를"),
        ("∂f/∂W을(를)", "∂f/∂W를"),  # 더블유
        ("learning_rate이(가)", "learning_rate가"),  # 레이트
        ("sum이(가)", "sum이"),  # 섬
        ("relu은(는)", "relu는"),  # 렐루
        ("g.svg과(와)", "g.svg와"),  # 에스브이지
        ("hw.toml(으)로", "hw.toml로"),  # 토믈
        ("JSON이(가)", "JSON이"),  # 제이슨
        ("'dot'은(는)", "'dot'은(는)"),  # 닷 or 도트: not sure, both forms stay
        ("은(는)", "은(는)"),
    ],
)
def test_a_particle_takes_the_form_the_word_before_it_ends_in(text, said):
    assert i18n.particles(text) == said


def test_a_korean_message_writes_each_particle_in_the_form_its_value_takes():
    i18n.use("ko")  # English again after the test (conftest)
    message = i18n.tr("index {i} is out of range for {size} elements (0 to {last})")
    assert "{i}은(는)" in message  # the catalog writes both forms
    assert message.format(i=5, size=3, last=2).startswith("인덱스 5는 원소 3개의")
    assert message.format(i=3, size=3, last=2).startswith("인덱스 3은 원소 3개의")


def test_what_a_signed_add_gate_sends_is_said_in_korean(bpcli, monkeypatch):
    """A sub gate and a neg gate over vectors send each input the upstream gradient times its
    sign: each input and what it gets is said in Korean too (issue 15: `s gets …`)."""
    monkeypatch.setenv("COLUMNS", "200")  # a sentence on one line
    run = bpcli("grad", "L = sum(max(0, s - s[y] + 1)) - 1", "--s", "[1, 0, 2]", "--y", "0",
                "--explain", "--lang", "ko")  # fmt: skip
    signed = [line for line in run.stdout.splitlines() if "부호 포함" in line]
    assert len(signed) == 2, run.stdout
    assert "s에는 [1, 0.5, 1], index1에는 -2.5" in signed[1]
    assert [english_left(line) for line in signed] == [[], []]


@pytest.mark.integration
def test_gradescope_s_lines_in_korean(bpcli, tmp_path, monkeypatch):
    """check --gradescope in Korean: each item's line and the summary are Korean
    sentences (a student reads them on Gradescope); the lecture's problem with ∂f/∂y's
    sign wrong (it is -4) and the node values not answered."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hw.toml").write_text(LECTURE_PROBLEM, encoding="utf-8")
    run = bpcli(
        "check", "--problems", "hw.toml", "hw.toml", "--gradescope", "g.json", "--lang", "ko"
    )
    assert run.code == 1, run.stderr
    assert "  update.x           —    -1.6  ✗ 틀림\n    답하지 않음\n" in run.stdout
    results = json.loads((tmp_path / "g.json").read_text(encoding="utf-8"))
    lines = {test["name"]: test["output"] for test in results["tests"]}
    assert lines["문제 1a: grad.y"] == "grad.y: 틀림, 제출 4, 정답 -4"
    assert lines["문제 1a: grad.x"] == "grad.x: 맞음, 제출 -4"
    assert lines["문제 1a: update.x"] == "update.x: 틀림, 제출 —, 정답 -1.6 (답하지 않음)"
    assert [english_left(name) for name in lines] == [[]] * len(lines)
    assert results["output"] == "문제 1개 중 0개 맞음; 점수 0.4 / 1"
