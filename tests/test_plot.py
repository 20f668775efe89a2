"""The descent plot written through matplotlib: real files, read back."""

from __future__ import annotations

import sys
import warnings
import xml.etree.ElementTree as ET

import pytest

import bpcli
from bpcli.errors import InputError
from bpcli.process import write_plot
from conftest import LECTURE

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def update():
    return bpcli.grad("(x+y)*z", LECTURE, lr=0.1, steps=10).update


@pytest.fixture
def mpl():
    return pytest.importorskip("matplotlib")


def svg_text(path):
    return " ".join(" ".join(ET.parse(path).getroot().itertext()).split())


def test_png(mpl, update, tmp_path):
    path = tmp_path / "descent.png"
    write_plot(update, "f", path)
    assert path.read_bytes()[:8] == PNG_MAGIC


def test_svg_names_the_inputs_and_the_rate(mpl, update, tmp_path):
    path = tmp_path / "descent.svg"
    write_plot(update, "f", path)
    text = svg_text(path)
    assert "gradient descent on f: α = 0.1, 10 steps" in text
    words = text.split()
    assert {"x", "y", "z", "inputs", "step"} <= set(words)


def test_svg_is_deterministic(mpl, update, tmp_path):
    first, second = tmp_path / "a.svg", tmp_path / "b.svg"
    write_plot(update, "f", first)
    write_plot(update, "f", second)
    assert first.read_bytes() == second.read_bytes()


def test_pdf_and_upper_case_suffix(mpl, update, tmp_path):
    path = tmp_path / "descent.PDF"
    write_plot(update, "f", path)
    assert path.read_bytes()[:5] == b"%PDF-"


def test_underscore_name_is_in_the_legend(mpl, tmp_path):
    # matplotlib leaves labels starting with "_" out of a legend unless given outright
    result = bpcli.grad("_w * _w", {"_w": 1.0}, lr=0.1, steps=1)
    path = tmp_path / "descent.svg"
    write_plot(result.update, result.output_name, path)
    assert "_w" in svg_text(path).split()


@pytest.mark.parametrize("name", ["descent.jpg", "descent", "descent.svg.txt"])
def test_unknown_suffix(update, tmp_path, name):
    with pytest.raises(InputError, match=r"must end in \.svg, \.png, \.pdf"):
        write_plot(update, "f", tmp_path / name)
    assert not (tmp_path / name).exists()


def test_unwritable_path(mpl, update, tmp_path):
    with pytest.raises(InputError, match="cannot write the plot"):
        write_plot(update, "f", tmp_path / "missing" / "descent.png")


def test_without_matplotlib(update, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(InputError) as caught:
        write_plot(update, "f", tmp_path / "descent.png")
    assert caught.value.message == "writing a plot needs matplotlib: pip install matplotlib"


def test_no_trajectory(update, tmp_path):
    result = bpcli.grad("x*x", {"x": 1.0}, lr=0.1)
    with pytest.raises(InputError, match="--steps"):
        write_plot(result.update, "f", tmp_path / "descent.png")


def test_the_plot_in_korean_is_korean_and_set_in_a_korean_font(mpl, update, tmp_path):
    """--lang ko: the title and the axes' labels in Korean (they were English), set in a
    font that has Hangul (Debian's fonts-nanum) where one is installed: DejaVu Sans,
    matplotlib's own, draws each Korean letter as an empty box."""
    from matplotlib import font_manager

    from bpcli import i18n

    i18n.use("ko")
    path = tmp_path / "descent.svg"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph … missing from font(s)"
        write_plot(update, "f", path)
    text = svg_text(path)
    assert "f의 경사 하강법: α = 0.1, 10단계" in text
    assert {"입력", "단계"} <= set(text.split())
    assert not {"inputs", "step", "gradient", "descent"} & set(text.split())
    directories = [*font_manager.X11FontDirectories, *font_manager.OSXFontDirectories]
    nanum = [f for f in font_manager.findSystemFonts(directories) if "NanumGothic" in f]
    if nanum:
        assert "NanumGothic" in path.read_text(encoding="utf-8")  # the SVG's font-family
