"""The grammar ships inside the wheel, and the source tree is the fallback."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from bpcli import parser

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


def test_the_grammar_in_use_is_the_source_grammar():
    assert parser.grammar_text() == GRAMMAR.read_text(encoding="utf-8")


def test_without_a_packaged_grammar_the_source_tree_is_used(monkeypatch, tmp_path):
    """An editable install has no grammar inside the package directory."""
    monkeypatch.setattr(parser.resources, "files", lambda package: tmp_path)
    monkeypatch.setattr(parser, "SOURCE_GRAMMAR", GRAMMAR)
    assert parser.grammar_text() == GRAMMAR.read_text(encoding="utf-8")
