"""pdflatex and pdftotext for the tests: compile a document, read its text back."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from conftest import unavailable

FRAGMENT_DOCUMENT = r"""\documentclass{article}
\usepackage{amsmath}
\begin{document}
%s
\end{document}
"""


def need(program: str) -> str:
    """The program's path; a missing one fails the test in CI (.ci/run installs it)."""
    path = shutil.which(program)
    if path is None:
        unavailable(f"{program} is not installed (Debian: texlive-latex-base, poppler-utils)")
    return path


def pdf_text(folder: Path, document: str, name: str = "doc") -> str:
    """Compile `document` with pdflatex (any error fails the test) and return
    the PDF's text as pdftotext reads it, lines joined by single spaces."""
    tex = folder / f"{name}.tex"
    tex.write_text(document, encoding="utf-8")
    done = subprocess.run(
        [need("pdflatex"), "-interaction=nonstopmode", "-halt-on-error", tex.name],
        cwd=folder,
        capture_output=True,
        text=True,
        errors="replace",
        timeout=300,
    )
    errors = [line for line in done.stdout.splitlines() if line.startswith("!")]
    assert done.returncode == 0 and not errors, "\n".join(errors) or done.stdout[-3000:]
    text = subprocess.run(
        [need("pdftotext"), "-layout", f"{name}.pdf", "-"],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return " ".join(text.split())
