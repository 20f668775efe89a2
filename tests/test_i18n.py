"""bpcli in Korean: the catalog is complete and keeps every placeholder, no message is
glued together from translated pieces, the language is chosen in gettext's order,
JSON never changes with it, and Korean text (two columns a letter) stays aligned."""

from __future__ import annotations

import ast
import gettext
import json
import string
import subprocess
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
