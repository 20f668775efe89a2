"""The grammar ships inside the wheel, the source tree is the fallback, and the
parser's prebuilt tables are what the grammar gives."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import bpcli
from bpcli import _tables, parser, tables

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
GRAMMAR = ROOT / "grammar" / "expr.lark"


@pytest.mark.integration
def test_the_wheel_contains_the_grammar(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{out.stderr}")
    (wheel,) = tmp_path.glob("bpcli_backprop-*.whl")  # the distribution's name, normalised
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        assert "bpcli/grammar/expr.lark" in names
        assert archive.read("bpcli/grammar/expr.lark").decode() == GRAMMAR.read_text()
        assert "bpcli/cli.py" in names and "bpcli/render/table.py" in names
        assert "bpcli/py.typed" in names  # PEP 561: a user's type checker reads bpcli's types
        for asset in ["page.css", "page.js"]:  # the HTML page's style and script
            source = ROOT / "src" / "bpcli" / "render" / asset
            assert archive.read(f"bpcli/render/{asset}") == source.read_bytes()


@pytest.mark.integration
def test_a_users_type_checker_reads_bpclis_own_types(tmp_path):
    """Installed, bpcli is typed for the code that imports it (its py.typed marker): mypy
    infers the gradients' type from bpcli's own annotations and catches a wrong use."""
    user = tmp_path / "homework.py"
    user.write_text(
        "import bpcli\n"
        'result = bpcli.grad("(x+y)*z", {"x": -2, "y": 5, "z": -4})\n'
        "reveal_type(result.gradients)\n"
        'bpcli.grad(3, {"x": 1})\n',
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental", "--strict", str(user)],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,  # not the source tree: the installed package
    )
    revealed = [line for line in out.stdout.splitlines() if "Revealed type is" in line]
    assert revealed and "dict[str, float]" in revealed[0].replace("builtins.", ""), out.stdout
    assert 'homework.py:4: error: Argument 1 to "grad" has incompatible type' in out.stdout
    assert "import-untyped" not in out.stdout


def test_the_page_inlines_its_style_and_script_files():
    """The script verbatim; the style with the theme's colours in its $placeholders."""
    from bpcli.render import page

    render = ROOT / "src" / "bpcli" / "render"
    html = page.to_html(bpcli.grad("(x+y)*z", {"x": -2, "y": 5, "z": -4}))
    css = (render / "page.css").read_text(encoding="utf-8")
    js = (render / "page.js").read_text(encoding="utf-8")
    assert css.startswith(":root {") and js.startswith("(function () {")
    assert f"<script>\n{js}</script>" in html
    (style,) = re.findall(r"<style>\n(.*?)</style>", html, flags=re.S)
    placeholders = re.findall(r"\$(\w+)", css)
    assert len(placeholders) == 6  # value and gradient, for light, dark and print
    pattern = re.sub(r"\\\$\w+", "#[0-9a-f]{6}", re.escape(css))
    assert re.fullmatch(pattern, style, flags=re.S)
    assert "--value: #1a7f37;" in style and "--grad: #cf222e;" in style  # the lecture's colours


def test_the_installed_grammar_is_the_source_grammar():
    assert tables.grammar_text() == GRAMMAR.read_text(encoding="utf-8")


def test_without_a_packaged_grammar_the_source_tree_is_used(monkeypatch, tmp_path):
    """An editable install has no grammar inside the package directory."""
    monkeypatch.setattr(tables.resources, "files", lambda package: tmp_path)
    monkeypatch.setattr(tables, "SOURCE_GRAMMAR", GRAMMAR)
    assert tables.grammar_text() == GRAMMAR.read_text(encoding="utf-8")


def test_the_tables_were_made_from_this_grammar():
    """The header's hash is the grammar's: it differs as soon as the grammar is edited and
    the tables are not remade (this needs no Lark)."""
    assert hashlib.sha256(GRAMMAR.read_bytes()).hexdigest() == _tables.GRAMMAR_SHA256, (
        f"grammar/expr.lark changed: run {tables.COMMAND}"
    )


def test_the_parser_tables_are_what_the_grammar_gives():
    """_tables.py is Lark's analysis of grammar/expr.lark today: rerun
    `python src/bpcli/tables.py` after changing the grammar. Only the Lark version the
    header records may differ, if the installed Lark gives the same tables."""
    pytest.importorskip("lark", reason="the test extra installs Lark, which makes the tables")
    import lark

    written = Path(tables.__file__).with_name("_tables.py").read_text(encoding="utf-8")
    made = tables.generate(GRAMMAR.read_text(encoding="utf-8"))
    assert f"made by Lark {lark.__version__}." in made
    assert f"LARK_VERSION = {lark.__version__!r}\n" in made
    recorded = _tables.LARK_VERSION
    assert written == made.replace(lark.__version__, recorded), f"run {tables.COMMAND}"


def test_a_changed_grammar_gives_other_tables():
    """The checks above can fail: a grammar with one more operator is not the same, and
    an edit that changes no table (a comment) still changes the recorded hash."""
    pytest.importorskip("lark", reason="the test extra installs Lark, which makes the tables")
    grammar = GRAMMAR.read_text(encoding="utf-8")
    changed = grammar.replace('POW: "**" | "^"', 'POW: "**" | "^" | "@"')
    assert changed != grammar
    assert tables.generate(changed) != tables.generate(grammar)
    commented = grammar + "// one more comment\n"
    assert tables.grammar_digest(commented) != _tables.GRAMMAR_SHA256
    assert tables.generate(commented) != tables.generate(grammar)


def test_the_regeneration_command_is_the_one_documented():
    """One command remakes the tables, and every file that names one names it."""
    header = Path(tables.__file__).with_name("_tables.py").read_text(encoding="utf-8")
    assert f"Written by `{tables.COMMAND}`." in header
    assert (ROOT / tables.COMMAND.split()[1]).is_file()
    command = re.compile(r"python (?:-m )?[\w./]*tables(?:\.py)?")
    for name in ["README.md", "pyproject.toml", "grammar/expr.lark", "src/bpcli/tables.py"]:
        named = command.findall((ROOT / name).read_text(encoding="utf-8"))
        assert named, f"{name} does not say how to remake the tables"
        assert set(named) == {tables.COMMAND}, name


def test_every_terminal_has_a_word_in_the_syntax_errors():
    """The driver's vocabulary follows the grammar: a new terminal needs its word."""
    terminals = {name for name, _ in _tables.TERMINALS if name not in _tables.IGNORE}
    assert set(parser._WHAT) == terminals | {"$END"}


def test_lark_is_not_a_runtime_dependency():
    """Nothing imports Lark at run time (below), so installing bpcli does not install it."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        project = tomllib.load(file)["project"]
    assert not [d for d in project["dependencies"] if d.lower().startswith("lark")]
    assert any(d.startswith("lark") for d in project["optional-dependencies"]["test"])


@pytest.mark.integration
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


# ---- the distribution's name ------------------------------------------------------------

DISTRIBUTION = "bpcli-backprop"  # "bpcli" on PyPI is another project (buildpacks)


def test_the_distribution_is_bpcli_backprop_and_the_command_and_import_are_bpcli():
    from importlib import metadata

    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == DISTRIBUTION
    assert project["scripts"] == {"bpcli": "bpcli.entry:run"}
    installed = metadata.distribution(DISTRIBUTION)  # as this checkout is installed
    assert installed.version == bpcli.__version__
    assert [(e.name, e.value) for e in installed.entry_points] == [("bpcli", "bpcli.entry:run")]


def test_no_install_hint_can_fetch_a_strangers_package():
    """`pip install bpcli` (or bpcli[plot]) would install the other project: every hint
    names what it needs itself (pip install matplotlib), or this source tree (pip install .)."""
    hint = re.compile(r"pip install\s+['\"]?(bpcli\b[^\s'\"]*)")
    texts = [
        *(ROOT / "src" / "bpcli").rglob("*.py"),
        ROOT / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "docs").glob("*.ipynb"),
    ]
    found = [(p.name, m) for p in texts for m in hint.findall(p.read_text(encoding="utf-8"))]
    assert found == []
    unpublished = [p.name for p in texts if "pip install bpcli-backprop" in p.read_text("utf-8")]
    assert unpublished == []  # not on PyPI: whoever registers the name would be installed


def test_the_lexer_has_a_group_for_each_terminal_and_no_other():
    """A terminal's own groups (NUMBER's) are made non-capturing: only the marks are read,
    and each group makes every token's match bigger."""
    lexer = re.compile(_tables.LEXER)
    names = [name for name, _ in _tables.TERMINALS]
    assert sorted(lexer.groupindex) == sorted(names)
    assert lexer.groups == len(names) + 2  # and the unmatched character, and the end


@pytest.mark.parametrize(
    ("pattern", "made"),
    [
        (
            r"([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?",
            r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?",
        ),
        (r"[(]x", r"[(]x"),
        (r"\((a)\)", r"\((?:a)\)"),
        (r"[]()](b)", r"[]()](?:b)"),
        (r"[^](](c)", r"[^](](?:c)"),
        (r"[\](](d)", r"[\](](?:d)"),
        (r"\\(e)", r"\\(?:e)"),
        (r"(?:f)(?=g)(?!h)", r"(?:f)(?=g)(?!h)"),
    ],
)
def test_a_terminals_own_groups_are_made_non_capturing(pattern, made):
    assert tables._without_groups(pattern) == made


@pytest.mark.parametrize(
    ("pattern", "made"),
    [
        (r"(?:[0-9]+)(?:[eE][+-]?[0-9]+)?", r"(?:[0-9]+)(?:[eE][+-]?[0-9]+|)"),
        (r"(?:(?:a)?b)?c", r"(?:(?:a|)b|)c"),
        (r"(?:a|b)?", r"(?:a|b|)"),
        (r"(?:\))?[(?:]x?", r"(?:\)|)[(?:]x?"),
        (r"(?:a)??(?:b)?+(?=c)?(?:d)*", r"(?:a)??(?:b)?+(?=c)?(?:d)*"),  # as written
    ],
)
def test_an_optional_group_is_made_a_branch_with_the_empty_text(pattern, made):
    assert tables._optional_as_empty_branch(pattern) == made


def test_the_lexers_number_matches_what_the_grammars_does():
    """The grammar's NUMBER, by Python's engine, against the lexer's version of it."""
    grammar = (Path(__file__).resolve().parent.parent / "grammar" / "expr.lark").read_text("utf-8")
    written = re.search(r"^NUMBER: /(.*)/$", grammar, re.MULTILINE)
    assert written is not None
    made = tables._optional_as_empty_branch(tables._without_groups(written.group(1)))
    assert made != written.group(1)
    texts = ["1", "1.", ".5", "1e3", "1e", "1e+", "1E-30x", "2.5e+3.1", "..", "e3", "3ee3", "1.2.3"]
    for text in texts:
        for at in range(len(text) + 1):
            expected = re.compile(written.group(1)).match(text, at)
            got = re.compile(made).match(text, at)
            assert (got and got.span()) == (expected and expected.span()), (text, at)


def test_a_terminal_with_a_named_group_is_refused():
    with pytest.raises(AssertionError, match="named groups"):
        tables._without_groups(r"(?P<x>a)")


def test_the_common_terminals_are_tried_first_and_rivals_keep_larks_order():
    """The lexer tries tables.COMMON first (NAME, whose first characters no set lists,
    is found not to start like any of them), and terminals that can start alike stay in
    Lark's order: "**" before "*", a number before ".T", white space before a new line."""
    tried = re.findall(r"\(\?P<(\w+)>\)", _tables.LEXER)
    assert tried[: len(tables.COMMON)] == list(tables.COMMON)
    for first, then in [("POW", "STAR"), ("NUMBER", "DOT_T"), ("WHITESPACE", "_SEP")]:
        assert tried.index(first) < tried.index(then)


def test_a_set_too_big_to_list_is_asked_character_by_character():
    name = dict(_tables.TERMINALS)["NAME"]
    assert not tables._overlap(tables._first_characters(name), frozenset(map(ord, "²⁻(0")))
    assert tables._overlap(tables._first_characters(name), frozenset(map(ord, "(é")))
    assert tables._overlap(tables._first_characters(name), tables._first_characters(name))
