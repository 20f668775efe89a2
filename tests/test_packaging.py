"""The grammar ships inside the wheel, the source tree is the fallback, and the
parser's prebuilt tables are what the grammar gives."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bpcli import tables

ROOT = Path(__file__).resolve().parents[1]
GRAMMAR = ROOT / "grammar" / "expr.lark"


def test_the_wheel_contains_the_grammar(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{out.stderr}")
    (wheel,) = tmp_path.glob("bpcli-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "bpcli/grammar/expr.lark" in names
        assert archive.read("bpcli/grammar/expr.lark").decode() == GRAMMAR.read_text()
        assert "bpcli/cli.py" in names and "bpcli/render/table.py" in names


def test_the_installed_grammar_is_the_source_grammar():
    assert tables.grammar_text() == GRAMMAR.read_text(encoding="utf-8")


def test_without_a_packaged_grammar_the_source_tree_is_used(monkeypatch, tmp_path):
    """An editable install has no grammar inside the package directory."""
    monkeypatch.setattr(tables.resources, "files", lambda package: tmp_path)
    monkeypatch.setattr(tables, "SOURCE_GRAMMAR", GRAMMAR)
    assert tables.grammar_text() == GRAMMAR.read_text(encoding="utf-8")


def test_the_parser_tables_are_what_the_grammar_gives():
    """_tables.py is Lark's analysis of grammar/expr.lark today: rerun
    `python src/bpcli/tables.py` after changing the grammar."""
    written = Path(tables.__file__).with_name("_tables.py").read_text(encoding="utf-8")
    assert written == tables.generate(GRAMMAR.read_text(encoding="utf-8"))


def test_a_changed_grammar_gives_other_tables():
    """The check above can fail: a grammar with one more operator is not the same."""
    changed = GRAMMAR.read_text(encoding="utf-8").replace(
        'POW: "**" | "^"', 'POW: "**" | "^" | "@"'
    )
    assert tables.generate(changed) != tables.generate(GRAMMAR.read_text(encoding="utf-8"))


def test_a_run_does_not_import_lark():
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, bpcli.cli; bpcli.grad('x*y', {'x': 1, 'y': 2}); print('lark' in sys.modules)",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "False\n"
