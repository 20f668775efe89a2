"""The TikZ figure of `key --solutions`: no gradient written on an edge is hidden by a
node's box, and each reads as the JSON's gradient.

The figures are cut out of the solution sheet and compiled with the sheet's own
preamble, one a page, each marked with TikZ's `remember picture` so that pdflatex
writes where its origin lands on the page (the .aux's `\\pgfsyspdfmark`). From the
picture's source come its node boxes (centre, minimum size, scale) in the
picture's points; with the mark they become boxes on the page, in the PDF's units.
`pdftotext -bbox` gives every word's box on the page: a word whose centre lies in
a node box is that node's text and must lie inside it (which checks the boxes are
where they are drawn); every other word is an edge's label, which must not touch
any node box, and the labels together must be the gradients the edges send back.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from latex import need

PROBLEMS = """
[[problem]]
id = 'neuron'
expr = '1/(1+exp(-(w0*x0+w1*x1+w2)))'
values = { w0 = 2, x0 = -1, w1 = -3, x1 = -2, w2 = -3 }

[[problem]]
id = 'copy gate'
expr = 'q = x + y; f = q*q + q + x*x*x'
values = { x = 1, y = 2 }

[[problem]]
id = 'thirty nodes'
expr = '''h1 = tanh(w1*x + b1); h2 = sigmoid(w2*x + b2); h3 = relu(w3*h1 - w4*h2 + b3)
f = (h3 - y)^2 + 0.01*(w1*w1 + w2*w2) - h1'''
values = { w1 = 0.5, x = 1.5, b1 = -0.2, w2 = -1.2, b2 = 0.3, w3 = 0.8, w4 = -0.6, b3 = 0.1, y = 0.25 }
"""
BP_PER_PT = 72 / 72.27  # the PDF's unit (a big point) per TeX point
SP_PER_PT = 65536


def expected_labels(bpcli, expr: str, values: dict) -> list[str]:
    """The gradient every use sends back, from `grad --json`, as the sheet writes a
    number (6 significant digits)."""
    given = [f"{name}={value}" for name, value in values.items()]
    data = json.loads(bpcli("grad", expr, *given, "--json").stdout)
    return sorted(
        format(use["grad"], ".6g") if use["grad"] != 0 else "0"
        for node in data["nodes"]
        for use in node["uses"]
        if use["grad"] is not None
    )


def compile_pictures(folder: Path, sheet: str) -> tuple[list[str], str, str]:
    """The sheet's pictures, compiled one a page: (their sources, the .aux, pdftotext -bbox)."""
    preamble = sheet[: sheet.index(r"\begin{document}")]
    pictures = re.findall(r"\\definecolor.*?\\end\{tikzpicture\}", sheet, flags=re.S)
    marked = [
        p.replace(r"\begin{tikzpicture}[", r"\begin{tikzpicture}[remember picture, ")
        for p in pictures
    ]
    body = "\n\\newpage\n".join(rf"\begin{{center}}{p}\end{{center}}" for p in marked)
    document = f"{preamble}\\begin{{document}}\n\\pagestyle{{empty}}\n{body}\n\\end{{document}}\n"
    (folder / "pictures.tex").write_text(document, encoding="utf-8")
    done = subprocess.run(
        [need("pdflatex"), "-interaction=nonstopmode", "-halt-on-error", "pictures.tex"],
        cwd=folder,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-3000:]
    words = subprocess.run(
        [need("pdftotext"), "-bbox", "pictures.pdf", "-"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return pictures, (folder / "pictures.aux").read_text(encoding="utf-8"), words


Box = tuple[float, float, float, float]  # x0, y0, x1, y1 on the page, in bp, y downwards


def node_boxes(picture: str, origin: tuple[float, float]) -> list[Box]:
    (scale,) = re.findall(r"every node/\.style=\{scale=([\d.]+)", picture)
    boxes = []
    for w, h, x, y in re.findall(
        r"minimum width=([\d.]+)pt, minimum height=([\d.]+)pt\] \(n\d+\) at \(([-\d.]+),([-\d.]+)\)",
        picture,
    ):
        cx, cy = origin[0] + float(x) * BP_PER_PT, origin[1] + float(y) * BP_PER_PT
        half_w, half_h = (
            float(w) * float(scale) * BP_PER_PT / 2,
            float(h) * float(scale) * BP_PER_PT / 2,
        )
        boxes.append((cx - half_w, cy - half_h, cx + half_w, cy + half_h))
    return boxes


def inside(point: tuple[float, float], box: Box) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]


def overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.integration
@pytest.mark.parametrize("engine", ["graphviz", "bpcli"])
def test_no_gradient_label_is_hidden_in_the_solutions_figure(bpcli, tmp_path, monkeypatch, engine):
    need("pdflatex"), need("pdftotext")
    (tmp_path / "set.toml").write_text(PROBLEMS, encoding="utf-8")
    with monkeypatch.context() as patch:
        if engine == "graphviz":
            if shutil.which("dot") is None:
                pytest.fail("Graphviz's dot is not installed (.ci/run installs it)")
        else:
            patch.setenv("PATH", str(tmp_path))  # no dot: bpcli lays the figures out
        run = bpcli("key", str(tmp_path / "set.toml"), "--solutions", "--format", "latex")
    assert run.code == 0, run.stderr
    pictures, aux, words = compile_pictures(tmp_path, run.stdout)
    marks = [
        (int(x), int(y))
        for x, y in re.findall(r"\\pgfsyspdfmark \{pgfid\d+\}\{(\d+)\}\{(\d+)\}", aux)
    ]
    pages = re.findall(r'<page width="[\d.]+" height="([\d.]+)">(.*?)</page>', words, flags=re.S)
    problems = [
        ("1/(1+exp(-(w0*x0+w1*x1+w2)))", {"w0": 2, "x0": -1, "w1": -3, "x1": -2, "w2": -3}),
        ("q = x + y; f = q*q + q + x*x*x", {"x": 1, "y": 2}),
        (
            "h1 = tanh(w1*x + b1); h2 = sigmoid(w2*x + b2); h3 = relu(w3*h1 - w4*h2 + b3);"
            " f = (h3 - y)^2 + 0.01*(w1*w1 + w2*w2) - h1",
            {
                "w1": 0.5,
                "x": 1.5,
                "b1": -0.2,
                "w2": -1.2,
                "b2": 0.3,
                "w3": 0.8,
                "w4": -0.6,
                "b3": 0.1,
                "y": 0.25,
            },
        ),
    ]
    assert len(pictures) == len(marks) == len(pages) == len(problems)
    for picture, (mx, my), (height, page), (expr, values) in zip(
        pictures, marks, pages, problems, strict=True
    ):
        origin = (mx / SP_PER_PT * BP_PER_PT, float(height) - my / SP_PER_PT * BP_PER_PT)
        boxes = node_boxes(picture, origin)
        assert len(boxes) == picture.count("minimum width=")
        labels = []
        for x0, y0, x1, y1, text in re.findall(
            r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>',
            page,
        ):
            word = (float(x0), float(y0), float(x1), float(y1))
            centre = ((word[0] + word[2]) / 2, (word[1] + word[3]) / 2)
            home = [box for box in boxes if inside(centre, box)]
            if home:  # a node's own text, inside its box
                (box,) = home
                assert inside(word[:2], box) and inside(word[2:], box), (text, word, box)
                continue
            hidden = [box for box in boxes if overlap(word, box)]
            assert not hidden, (text, word, hidden)
            labels.append(html.unescape(text).replace("\u2212", "-"))
        assert sorted(labels) == expected_labels(bpcli, expr, values), expr
