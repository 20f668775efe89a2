"""How a Result and its views show themselves in Jupyter and Colab.

IPython's display protocol asks an object for `_repr_mimebundle_` (or
`_repr_html_`, `_repr_markdown_`, `_repr_svg_`, `_repr_pretty_`): plain methods,
so nothing here imports IPython. A Result shows the graph as SVG drawn by bpcli
(its own layout, so no Graphviz program is needed and the picture is the same on
every machine), the output and the input gradients, the node table and the
update step. The views a Result hands out (`result.explain()`, `result.dot()`,
`result.page()`…) are strings that also know how to show themselves: text as
text, not as a quoted repr; Markdown as Markdown; SVG as a picture; the
step-through page as a page that steps, inside an iframe.

An iframe's `srcdoc` is what carries the page: Jupyter (Notebook 7, JupyterLab)
keeps it in outputs the kernel made in the session, and Colab runs every output
in a frame of its own, where the page's inline script runs. A notebook opened
from disk without being trusted, or shown by a static viewer (GitHub), drops
the frame; the Result's own SVG and table are plain HTML and stay.
"""

from __future__ import annotations

import hashlib
import html
import re
from typing import Any

from ..i18n import tr
from ..result import Result
from .numbers import DEFAULT_PRECISION, fmt
from .picture import Run, inline_texts, shape_text, texts
from .theme import GRAD_HEX, VALUE_HEX

MAX_DRAWN = 150  # nodes: a bigger graph is not drawn inline (result.page() steps through it)
MAX_ROWS = 40  # table rows shown inline: the first and last half of them
PAGE_HEIGHT = 640  # px of the inline page's frame

Bundle = dict[str, str]


class Shown(str):
    """A view's text that a notebook shows as text, not as a quoted string; a subclass
    adds the richer form it has (`KIND`, made by `rich`), offered in one MIME bundle
    so that every front end sees it, whichever types it has switched on."""

    KIND = ""

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.plain())

    def plain(self) -> str:
        return str(self)

    def rich(self) -> str:
        return str(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> Bundle:
        data = {"text/plain": self.plain()}
        if self.KIND:
            data[self.KIND] = self.rich()
        return data


class MarkdownText(Shown):
    """A Markdown write-up: rendered as Markdown in a notebook."""

    KIND = "text/markdown"

    def _repr_markdown_(self) -> str:
        return self.rich()


class SvgText(Shown):
    """An SVG picture: drawn in a notebook."""

    KIND = "image/svg+xml"

    def _repr_svg_(self) -> str:
        return self.rich()

    def plain(self) -> str:
        return f"<SVG picture, {len(self):,} characters: str() of it is the SVG text>"


class PageText(Shown):
    """The step-through page: in a notebook, the page itself, stepping in a frame."""

    KIND = "text/html"

    def _repr_html_(self) -> str:
        return self.rich()

    def rich(self) -> str:
        return frame(str(self))

    def plain(self) -> str:
        return (
            f"<step-through page, {len(self):,} characters of HTML:"
            " write str() of it to a .html file to open it in a browser>"
        )


def frame(page: str, height: int = PAGE_HEIGHT) -> str:
    """The page inside an iframe of its own: its ids, style and script stay its own."""
    return (
        f'<iframe srcdoc="{html.escape(page, quote=True)}" title="bpcli step-through page"'
        f' sandbox="allow-scripts" style="width: 100%; height: {height}px;'
        ' border: 1px solid #d0d7de; border-radius: 6px;"></iframe>'
    )


# ---- the picture ----------------------------------------------------------------------------

_STYLE = (
    "{p} {{ font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }}"
    " {p} .backdrop {{ fill: #ffffff; }}"
    " {p} .edge path {{ fill: none; stroke: #57606a; stroke-width: 1.3; }}"
    " {p} .arrowhead {{ fill: #57606a; }}"
    " {p} .node rect {{ fill: #f6f8fa; stroke: #57606a; stroke-width: 1.2; }}"
    " {p} .node.constant rect {{ stroke-dasharray: 3 2; }}"
    " {p} .node.output rect {{ stroke-width: 2.6; }}"
    " {p} .title {{ fill: #1f2328; font-weight: bold; }}"
    " {p} .sub {{ fill: #57606a; font-size: 10px; }}"
    " {p} .value {{ fill: " + VALUE_HEX + "; }}"
    " {p} .grad, {p} .sent {{ fill: " + GRAD_HEX + "; }}"
    " {p} .sent {{ font-size: 11px; paint-order: stroke; stroke: #ffffff; stroke-width: 3px; }}"
)
_ID = re.compile(r'\b(id="|url\(#|aria-labelledby=")')


def picture(result: Run, precision: int = DEFAULT_PRECISION) -> str:
    """The graph with its values and gradients as one standalone SVG, laid out by bpcli.

    Its ids are prefixed with a digest of the picture, so that two pictures in one
    notebook page never share an arrowhead or a node's id, and the same result
    draws the same bytes every time.
    """
    from .page import svg

    drawn, _ = svg(result, precision)
    prefix = "bpcli-" + hashlib.sha1(drawn.encode()).hexdigest()[:10]
    drawn = _ID.sub(lambda m: m.group(1) + prefix + "-", drawn)
    head, rest = drawn.split(">", 1)
    style = _STYLE.format(p="#" + prefix + "-graph")
    return f'{head}><style>{style}</style><rect class="backdrop" width="100%" height="100%"/>{rest}'


# ---- the result -----------------------------------------------------------------------------


def one_line(result: Run, precision: int = DEFAULT_PRECISION) -> str:
    """`Result(f=-12, ∂f/∂x=-4, ∂f/∂y=-4, ∂f/∂z=3)`: the output and the input gradients
    (a tensor run's: the output and each gradient's shape, as its repr says)."""
    if not isinstance(result, Result):
        return repr(result)
    f = result.output_name
    parts = [f"{f}={fmt(result.output, precision)}"]
    parts += [f"∂{f}/∂{x}={fmt(g, precision)}" for x, g in result.gradients.items()]
    if result.update is not None:
        parts.append(f"after {_steps(result)}: {f}={fmt(result.update.output, precision)}")
    return f"Result({', '.join(parts)})"


def _steps(result: Run) -> str:
    assert result.update is not None
    count = result.update.steps
    return "1 step" if count == 1 else f"{count:,} steps"


def _rows(result: Run, precision: int, one_line: bool = False) -> list[tuple[str, ...] | None]:
    """The node table's rows (name, op, text, value, gradient; a tensor run's with the
    shape before the value, a matrix a line per row or, `one_line`, on one line); None
    where rows are left out."""
    write = inline_texts(result) if one_line else texts(result)
    tensor = not isinstance(result, Result)
    n = len(result.graph)
    shown: list[int | None] = list(range(n))
    if n > MAX_ROWS:
        shown = [*range(MAX_ROWS // 2), None, *range(n - MAX_ROWS // 2, n)]
    facts = result.graph.facts()
    rows: list[tuple[str, ...] | None] = []
    for i in shown:
        if i is None:
            rows.append(None)
            continue
        name, op, _, text = facts[i]
        grad = result.grads[i]
        shape = (shape_text(result, i),) if tensor else ()
        value = write(result.values[i], precision)
        gradient = "—" if grad is None else write(grad, precision)
        rows.append((name, op, text, *shape, value, gradient))
    return rows


def _of(result: Run) -> str:
    """What the gradients are of: the output, or with --dout L (tensor.differentiated)."""
    if isinstance(result, Result):
        return result.output_name
    from ..tensor import differentiated

    return differentiated(result)


def _answers(result: Run, precision: int) -> list[tuple[str, str]]:
    """The output, with --dout what L is and the upstream gradient given (as the table
    says it), then each input's gradient."""
    write = inline_texts(result)
    f, d = result.output_name, _of(result)
    pairs = [(f, write(result.output, precision))]
    dout = getattr(result, "dout", None)
    if dout is not None:
        from .table import DOUT_SEED

        pairs.append((tr(DOUT_SEED).format(L=d, f=f).removesuffix(" = "), write(dout, precision)))
    pairs += [  # an index input has no gradient: —
        (f"∂{d}/∂{x}", "—" if g is None else write(g, precision))
        for x, g in result.gradients.items()
    ]
    return pairs


def _update(result: Run, precision: int) -> list[tuple[str, str]]:
    update = result.update
    if update is None:
        return []
    write = inline_texts(result)
    pairs = [(f"{x} :=", write(v, precision)) for x, v in update.inputs.items()]
    return [*pairs, (result.output_name, write(update.output, precision))]


def to_html(result: Run, precision: int = DEFAULT_PRECISION) -> str:
    """The Result in a notebook: the picture, the answers, the table and the update (a
    tensor run's table with a shape column, a matrix a line per row)."""

    def e(text: str) -> str:
        return html.escape(text).replace("\n", "<br>")

    value, grad = f"color: {VALUE_HEX}", f"color: {GRAD_HEX}"
    answers = " &nbsp; ".join(
        f'{e(name)} = <b style="{value if i == 0 else grad}">{e(number)}</b>'
        for i, (name, number) in enumerate(_answers(result, precision))
    )
    out = ['<div class="bpcli-result">', f"<p>{answers}</p>"]
    if len(result.graph) <= MAX_DRAWN:
        out.append(f'<div style="overflow-x: auto">{picture(result, precision)}</div>')
    else:
        out.append(
            f"<p><i>a graph of {len(result.graph):,} nodes is not drawn here:"
            " result.page() steps through it</i></p>"
        )
    f = e(_of(result))
    tensor = not isinstance(result, Result)
    shape = "<th>shape</th>" if tensor else ""
    out.append(
        f"<table><thead><tr><th>node</th><th>op</th><th>text</th>{shape}<th>value</th>"
        f"<th>∂{f}/∂node</th></tr></thead><tbody>"
    )
    for row in _rows(result, precision):
        if row is None:
            left_out = len(result.graph) - MAX_ROWS
            columns = 6 if tensor else 5
            out.append(f'<tr><td colspan="{columns}">… {left_out:,} more nodes</td></tr>')
            continue
        name, op, source, *shaped, v, g = map(e, row)
        cells = "".join(f"<td>{s}</td>" for s in shaped)
        out.append(
            f"<tr><td>{name}</td><td>{op}</td><td><code>{source}</code></td>{cells}"
            f'<td style="{value}; text-align: right">{v}</td>'
            f'<td style="{grad}; text-align: right">{g}</td></tr>'
        )
    out.append("</tbody></table>")
    update = _update(result, precision)
    if update:
        assert result.update is not None
        steps = f"after {_steps(result)} of gradient descent (α = {fmt(result.update.lr)})"
        pairs = ", ".join(f"{e(name)} {e(number)}" for name, number in update[:-1])
        name, number = update[-1]
        out.append(f"<p>{e(steps)}: {pairs}; {e(name)} = <b>{e(number)}</b></p>")
    out.append("</div>")
    return "\n".join(out)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")


def to_markdown(result: Run, precision: int = DEFAULT_PRECISION) -> str:
    """The Result as Markdown, where a front end prefers it: the answers, then the table
    (a tensor run's with a shape column, a matrix's rows side by side)."""
    answers = ", ".join(f"{name} = **{number}**" for name, number in _answers(result, precision))
    f = _of(result)
    tensor = not isinstance(result, Result)
    shape = " shape |" if tensor else ""
    out = [
        answers,
        "",
        f"| node | op | text |{shape} value | ∂{f}/∂node |",
        "|---|---|---|" + ("---|" if tensor else "") + "--:|--:|",
    ]
    for row in _rows(result, precision, one_line=True):
        if row is None:
            gap = " |" if tensor else ""
            out.append(f"| … | | {len(result.graph) - MAX_ROWS:,} more nodes |{gap} | |")
            continue
        name, op, source, *shaped, v, g = row
        cells = "".join(f" {s} |" for s in shaped)
        out.append(f"| {_cell(name)} | {op} | `{_cell(source)}` |{cells} {v} | {g} |")
    update = _update(result, precision)
    if update:
        pairs = ", ".join(f"{name} {number}" for name, number in update[:-1])
        name, number = update[-1]
        out += ["", f"After {_steps(result)}: {pairs}; {name} = **{number}**"]
    return "\n".join(out) + "\n"


def bundle(result: Run, include: Any = None, exclude: Any = None) -> Bundle:
    """The MIME bundle a notebook shows (IPython's `_repr_mimebundle_`)."""
    data: Bundle = {
        "text/plain": one_line(result),
        "text/html": to_html(result),
        "text/markdown": to_markdown(result),
    }
    if include:
        data = {k: v for k, v in data.items() if k in include}
    if exclude:
        data = {k: v for k, v in data.items() if k not in exclude}
    return data
