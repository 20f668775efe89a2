"""The `bpcli` command line: read arguments, call the API, pick a view, map errors to exit codes."""

from __future__ import annotations

import functools
import inspect
import io
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stdout
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from typer.core import TyperCommand, TyperGroup

from . import __version__, arguments, i18n
from .arguments import (
    FILE,
    GRAD_OPTIONS,
    HELP_FLAGS,
    JOBS,
    LANG_OPTION,
    MAX_NODES_OPTION,
    MAX_SIZE_OPTION,
    MAX_TIE,
    PRECISION,
    Option,
    parse_size,
    split_own,
)
from .errors import BpcliError, InputError
from .graph import Graph
from .i18n import tr
from .ops import Conventions, TieRule
from .process import (
    EXIT_BAD_INPUT,
    EXIT_CHECK_FAILED,
    EXIT_INTERRUPTED,
    console,
    errors_to_exit_codes,
    fail,
    guarded,
    json_text,
    plain_text,
    refuse_to_replace,
    write_grad,
    write_json,
    write_output,
)

# Click's own errors (a usage error, a bad option value): whichever Click Typer brings.
CLICK_ERROR: type[Exception] = next(
    kind for kind in typer.BadParameter.__mro__ if kind.__name__ == "ClickException"
)


def quiet_flags(params: list[Any]) -> list[Any]:
    """A flag (--help, --install-completion) shows no metavar in the help, as bpcli's own;
    an argument shows its name only (`FILE...`), not Python's type of it (`<list[Path]>`)."""
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
        if param.param_type_name == "argument":
            param.display_type_rich = _no_type
    return params


def _no_type(ctx: typer.Context) -> None:
    return None


# Click's own help option, said in bpcli's words where the language is not English.
HELP_OPTION = i18n.N_("Show this message and exit.")


@contextmanager
def translated_help(command: Any, ctx: typer.Context) -> Iterator[None]:
    """The command's help, its options' and (a group's) its commands', in the chosen
    language while its help is written: Typer reads them when it writes the help, and
    they were declared, in English, before --lang was read. Typer's own words (Usage,
    Options, [default: …]) stay English: Typer takes no catalog."""
    objects = [command, *command.get_params(ctx)]
    objects += list(getattr(command, "commands", {}).values())
    saved = [(obj, obj.help) for obj in objects if getattr(obj, "help", None)]
    for obj, text in saved:
        obj.help = unwrapped(i18n.tr(text))
    try:
        yield
    finally:
        for obj, text in saved:
            obj.help = text


def unwrapped(text: str) -> str:
    """A help text's paragraphs each on one line, for Rich to wrap at the terminal's
    width: Typer keeps a docstring's own line breaks, which at 80 columns left a word
    alone on a line (`… is an edge. A` / `vector`). A paragraph marked \\b stays as it is."""
    paragraphs = inspect.cleandoc(text).split("\n\n")
    return "\n\n".join(
        p if p.startswith("\b") else " ".join(line.strip() for line in p.splitlines())
        for p in paragraphs
    )


@contextmanager
def uncut_tables() -> Iterator[None]:
    """Typer's tables of options and commands drawn as render/help.py's HelpTable, which
    cuts no word, option name or number short with `…` (Korean at 80 columns, anything
    at 40)."""
    import typer.rich_utils

    from .render.help import HelpTable

    saved = typer.rich_utils.Table  # type: ignore[attr-defined]
    typer.rich_utils.Table = HelpTable  # type: ignore[attr-defined]
    try:
        yield
    finally:
        typer.rich_utils.Table = saved  # type: ignore[attr-defined]


def unpadded(write_help: Callable[[], None]) -> None:
    """Rich's help, with no line padded to the width where stdout is a pipe or a file
    (Rich pads the lines outside its panels with spaces to column 80), and no word cut."""
    if sys.stdout.isatty():
        with uncut_tables():
            write_help()
        return
    buffer = io.StringIO()
    with redirect_stdout(buffer), uncut_tables():  # Rich's help console writes to sys.stdout
        write_help()
    sys.stdout.write("\n".join(line.rstrip() for line in buffer.getvalue().split("\n")))


class BpcliCommand(TyperCommand):
    """Typer's command with bpcli's help: no `<bool>` after a flag, the usage line
    writes each argument as its metavar says (`FILE...`, not `{FILE...}...`), and no
    trailing spaces through a pipe."""

    def get_params(self, ctx: typer.Context) -> list[Any]:  # type: ignore[override]
        return quiet_flags(super().get_params(ctx))

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        with translated_help(self, ctx):
            unpadded(lambda: super(BpcliCommand, self).format_help(ctx, formatter))

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        try:
            return super().parse_args(ctx, args)
        except CLICK_ERROR as exc:  # Click's parser leaves out which command it was
            if getattr(exc, "ctx", None) is None:
                exc.ctx = ctx  # type: ignore[attr-defined]
            raise

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument" and param.metavar:
                pieces.append(param.metavar)
            else:
                pieces.extend(param.get_usage_pieces(ctx))
        return pieces


class BpcliGroup(TyperGroup):
    """The `bpcli` group: Click's usage errors (an unknown option, a missing argument, a
    bad value) are said as bpcli's own are, `error: …` on one line, and exit 2."""

    def get_params(self, ctx: typer.Context) -> list[Any]:  # type: ignore[override]
        return quiet_flags(super().get_params(ctx))

    def format_help(self, ctx: typer.Context, formatter: Any) -> None:  # type: ignore[override]
        with translated_help(self, ctx):
            unpadded(lambda: super(BpcliGroup, self).format_help(ctx, formatter))

    def main(  # type: ignore[override]
        self,
        args: list[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        # --lang as the command line gives it, read before Click parses it: --help is
        # eager, so `bpcli grad --help --lang ko` writes the help before --lang is seen
        i18n.use(i18n.choose(_lang_flag(sys.argv[1:] if args is None else list(args))))
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except CLICK_ERROR as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # `bpcli` alone: the help, shown
                if str(exc).strip():  # by Typer already, unless without Rich
                    getattr(exc, "show", print)()
                raise SystemExit(EXIT_BAD_INPUT) from None
            fail(InputError(usage_message(exc)))
        except typer.Abort:
            sys.stderr.write(tr("interrupted") + "\n")
            raise SystemExit(EXIT_INTERRUPTED) from None
        raise SystemExit(code if isinstance(code, int) else 0)


def _lang_flag(args: list[str]) -> str | None:
    """The language `--lang X` or `--lang=X` names on a command line, if bpcli has it
    (else None: the environment's, and Click says what is wrong with the option)."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        value = args[i + 1] if arg == "--lang" and i + 1 < len(args) else None
        if arg.startswith("--lang="):
            value = arg.partition("=")[2]
        if value in i18n.LANGUAGES:
            return value
    return None


def usage_message(exc: Exception) -> str:
    """Click's message in bpcli's words: lower case, no final stop, and where help is."""
    text = getattr(exc, "format_message", lambda: str(exc))().strip().rstrip(".")
    if text[:1].isupper() and text[1:2].islower():
        text = text[0].lower() + text[1:]
    text = re.sub(r" \(Possible options?: (.*)\)$", r"; did you mean \1?", text)
    context = getattr(exc, "ctx", None)
    where = context.command_path if context is not None else "bpcli"
    return f"{text} (see {where} -h)"


def choices(metavar: str) -> Callable[[str], list[str]]:
    """Shell completion of an option's values, the ones its metavar lists (`split|first`)."""
    values = metavar.split("|")

    def complete(incomplete: str) -> list[str]:
        return [value for value in values if value.startswith(incomplete)]

    return complete


Command = TypeVar("Command", bound=Callable[..., None])


def choose_language(value: str | None) -> None:
    """--lang's callback, run first (eager) on every command, given or not: the language
    of the run, from --lang, else from the environment (i18n.choose)."""
    if value is not None and value not in i18n.LANGUAGES:
        raise typer.BadParameter(
            i18n.tr("it is ko or en, got {value!r}").format(value=value), param_hint="--lang"
        )
    i18n.use(i18n.choose(value))


def with_language(command: Command) -> Command:
    """`command` with the option every command has: --lang (LANG_OPTION), which its
    callback reads and the command itself never sees."""
    signature = inspect.signature(command, eval_str=True)
    option = typer.Option(
        LANG_OPTION.name,
        metavar=LANG_OPTION.metavar,
        help=LANG_OPTION.help,
        callback=choose_language,
        is_eager=True,
        autocompletion=choices(LANG_OPTION.metavar),
    )
    lang = inspect.Parameter(
        LANG_OPTION.param,
        inspect.Parameter.KEYWORD_ONLY,
        default=LANG_OPTION.default,
        annotation=Annotated[str | None, option],
    )

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        kwargs.pop(LANG_OPTION.param, None)
        command(*args, **kwargs)

    run.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*signature.parameters.values(), lang]
    )
    return run  # type: ignore[return-value]


class BpcliTyper(typer.Typer):
    """Typer whose every command takes --lang."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Command], Command]:
        register = super().command(*args, **kwargs)

        def registered(command: Command) -> Command:
            register(with_language(command))
            return command  # the module's name for it: the command as written

        return registered


app = BpcliTyper(
    name="bpcli",
    cls=BpcliGroup,
    no_args_is_help=True,
    context_settings={"help_option_names": list(HELP_FLAGS)},
)


class FreeArgsCommand(BpcliCommand):
    """Click reads only the command's own options; every other argument stays, in order,
    in `ctx.args`. The expression and the input values (`--x -2`, `--x=-2`, `x=-2`,
    `-tanh(x)`) may look like options to Click, so Click must not see them."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:  # type: ignore[override]
        takes_value: dict[str, bool] = {}
        for param in self.get_params(ctx):
            if param.param_type_name == "option":
                flag = bool(getattr(param, "is_flag", False) or getattr(param, "count", False))
                for opt in (*param.opts, *param.secondary_opts):
                    takes_value[opt] = not flag
        with errors_to_exit_codes():  # an option given twice
            own, free = split_own(args, takes_value)
        super().parse_args(ctx, own)
        ctx.args = free
        return free


def option_names(ctx: typer.Context) -> set[str]:
    """The running command's long option names, without dashes: `lr`, `json`, …"""
    return {name[2:] for param in ctx.command.params for name in param.opts if name[:2] == "--"}


# ---- output and errors --------------------------------------------------------


# ---- commands -------------------------------------------------------------------


def _version(value: bool) -> None:
    if value:
        print(f"bpcli {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            metavar="",
            callback=_version,
            is_eager=True,
            help="Show the version and exit.",
        ),
    ] = False,
) -> None:
    """Backpropagation, step by step: values and gradients of every node of an expression.

    Example: bpcli grad "(x+y)*z" --x -2 --y 5 --z -4
    """


def typer_option(option: Option) -> Any:
    """The Typer option that `option` declares (arguments.py holds the declarations)."""
    complete = choices(option.metavar) if "|" in option.metavar else None
    return typer.Option(
        option.name,
        metavar=option.metavar,
        help=option.help,
        min=option.min,
        max=option.max,
        autocompletion=complete,
    )


def declared(options: tuple[Option, ...]) -> Callable[[Command], Command]:
    """Give a command's parameters (all but `ctx`) the Typer options and defaults that
    `options` declares; a parameter without a declaration, or one too many, is a bug."""

    def declare(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        table = {option.param: option for option in options}
        names = [name for name in signature.parameters if name != "ctx"]
        if names != list(table):
            raise TypeError(f"{command.__name__}: parameters {names}, declared {list(table)}")
        params = [
            param
            if name == "ctx"
            else param.replace(
                default=table[name].default,
                annotation=Annotated[param.annotation, typer_option(table[name])],
            )
            for name, param in signature.parameters.items()
        ]
        command.__signature__ = signature.replace(parameters=params)  # type: ignore[attr-defined]
        return command

    return declare


# Options that grad and graph share.
PrecisionOption = Annotated[int, typer_option(PRECISION)]
FileOption = Annotated[Path | None, typer_option(FILE)]
MaxTieOption = Annotated[str, typer_option(MAX_TIE)]
CheckMaxTieOption = Annotated[
    str | None,
    typer.Option(
        "--max-tie",
        metavar="split|first",
        autocompletion=choices("split|first"),
        help="Grade every max/min tie this way, whatever the problem set says.",
    ),
]
MaxSizeOption = Annotated[str, typer_option(MAX_SIZE_OPTION)]
MaxNodesOption = Annotated[int, typer_option(MAX_NODES_OPTION)]
EXPR_METAVAR = "EXPR [--NAME VALUE | NAME=VALUE]... [OPTIONS]"


def read_program(
    ctx: typer.Context, file: Path | None, max_tie: str, max_size: str, max_nodes: int
) -> tuple[Graph, list[tuple[str, float]], Conventions]:
    """The parsed expression, the input values given, and the conventions asked for."""
    return arguments.read_program(
        ctx.args, option_names(ctx), file, max_tie, parse_size(max_size), max_nodes
    )


GRAD_FORMATS = ("table", "markdown", "latex")


@app.command(cls=FreeArgsCommand, options_metavar=EXPR_METAVAR)
@declared(GRAD_OPTIONS)
def grad(
    ctx: typer.Context,
    lr: float | None,
    steps: int | None,
    explain: bool,
    fmt: str,
    plot: Path | None,
    check_grad: bool,
    check_step: float,
    as_json: bool,
    no_nodes: bool,
    dout: str | None,
    precision: int,
    file: Path | None,
    max_tie: str,
    max_size: str,
    max_nodes: int,
) -> None:
    """Run the forward and backward pass of EXPR at the given input values.

    Give each input as --NAME VALUE, --NAME=VALUE or NAME=VALUE; EXPR may be -
    to read standard input.

    Example: bpcli grad "(x+y)*z" --x -2 --y 5 --z -4 --lr 0.1 --explain
    """
    from .api import evaluate

    if as_json:  # for scripts: English, whatever the language (i18n.py)
        i18n.use(i18n.SOURCE)

    def work() -> None:  # the body, in a frame of its own (process.guarded)
        refuse_to_replace("--plot", plot, [file])
        graph, values, conventions = read_program(ctx, file, max_tie, max_size, max_nodes)
        if steps is not None and lr is None:
            raise InputError(tr("--steps needs a learning rate: add --lr ALPHA"))
        if plot is not None and steps is None:
            raise InputError(
                tr("--plot draws the steps of gradient descent: give --lr and --steps")
            )
        if fmt not in GRAD_FORMATS:
            raise InputError(
                tr("--format is table, markdown or latex, got {fmt!r}").format(fmt=fmt)
            )
        if fmt != "table" and (as_json or check_grad):
            other = "--json" if as_json else "--gradcheck"
            raise InputError(
                tr("--format {fmt} writes the walkthrough; leave out {other}").format(
                    fmt=fmt, other=other
                )
            )
        upstream = None if dout is None else arguments.parse_dout(dout)
        result = evaluate(graph, values, lr, steps, conventions=conventions, dout=upstream)
        write_grad(result, explain, fmt, plot, check_grad, check_step, as_json, no_nodes, precision)

    guarded(work, for_scripts=as_json)


GRAPH_FORMATS = ("dot", "mermaid", "tree", "html")
IMAGE_SUFFIXES = (".svg", ".png", ".pdf")
# What `graph --output FILE` writes, by FILE's suffix: a --format, or an image that
# Graphviz draws from the DOT text. A suffix alone chooses; a --format must agree.
OUTPUT_SUFFIXES = {".dot": "dot", ".gv": "dot", ".mmd": "mermaid", ".txt": "tree"}
OUTPUT_SUFFIXES |= {".html": "html", ".htm": "html"} | dict.fromkeys(IMAGE_SUFFIXES, "image")
WRITTEN_AS = {
    "dot": "DOT",
    "mermaid": "Mermaid",
    "tree": i18n.N_("the tree"),
    "html": i18n.N_("the HTML page"),
    "image": i18n.N_("an image Graphviz draws from DOT"),
}


def graph_output(output: Path, fmt: str | None) -> str | None:
    """What `--output` writes ("image" for a picture), from its suffix and --format: a
    suffix bpcli does not write, or a --format it disagrees with, is an InputError. A
    name without a suffix, or what is not a file (/dev/stdout), takes --format."""
    suffix = output.suffix.lower()
    kind = OUTPUT_SUFFIXES.get(suffix)
    if kind is None:
        if not suffix or (output.exists() and not output.is_file()):
            return fmt
        known = ", ".join(OUTPUT_SUFFIXES)
        raise InputError(
            tr(
                "--output {output}: bpcli graph writes a file ending in {known}, not {suffix}"
            ).format(output=output, known=known, suffix=suffix)
        )
    if fmt is not None and fmt != kind:
        own = [s for s, k in OUTPUT_SUFFIXES.items() if k == fmt]
        raise InputError(
            tr(
                "--format {fmt} disagrees with --output {output}, which is written as "
                "{written_as}: leave out --format, or write to a file ending in {items}"
            ).format(
                fmt=fmt, output=output, written_as=tr(WRITTEN_AS[kind]), items=tr(" or ").join(own)
            )
        )
    return kind


@app.command(cls=FreeArgsCommand, options_metavar=EXPR_METAVAR)
def graph(
    ctx: typer.Context,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="dot|mermaid|tree|html",
            autocompletion=choices("dot|mermaid|tree|html"),
            help="Graphviz DOT, Mermaid, a tree (default: tree in a terminal, else dot),"
            " or an HTML page that steps through the passes (needs the input values).",
        ),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            metavar="FILE",
            help="Write to FILE, in the format its name ends in: .dot or .gv (DOT), .mmd"
            " (Mermaid), .txt (the tree), .html (the step-through page), or .svg, .png, .pdf"
            " (drawn by Graphviz's dot program). A --format that disagrees is an error.",
        ),
    ] = None,
    fence: Annotated[
        bool,
        typer.Option("--fence", metavar="", help="Put Mermaid text inside a Markdown fence."),
    ] = False,
    lr: Annotated[
        float | None,
        typer.Option("--lr", metavar="ALPHA", help="With --format html: end with the update step."),
    ] = None,
    dout: Annotated[
        str | None,
        typer.Option(
            "--dout",
            metavar="ARRAY",
            help="The upstream gradient of a vector or matrix output, of its shape (as grad's).",
        ),
    ] = None,
    precision: PrecisionOption = PRECISION.default,
    file: FileOption = FILE.default,
    max_tie: MaxTieOption = MAX_TIE.default,
    max_size: MaxSizeOption = MAX_SIZE_OPTION.default,
    max_nodes: MaxNodesOption = MAX_NODES_OPTION.default,
) -> None:
    """Draw the computational graph of EXPR; with input values, its values and gradients too.

    Forward values are green, gradients red; every use of a node is an edge. A vector
    or matrix shows its shape too, and its values whole when small.

    Example: bpcli graph "(x+y)*z" --x -2 --y 5 --z -4 --format dot | dot -Tsvg > g.svg
    """
    from .api import evaluate

    def work() -> None:  # the body, in a frame of its own (process.guarded)
        if fmt is not None and fmt not in GRAPH_FORMATS:
            raise InputError(
                tr("--format is dot, mermaid, tree or html, got {fmt!r}").format(fmt=fmt)
            )
        written = graph_output(output, fmt) if output is not None else fmt
        image = written == "image"
        drawn = "dot" if image else written  # the text an image is drawn from: DOT
        refuse_to_replace("--output", output, [file])
        program, values, conventions = read_program(ctx, file, max_tie, max_size, max_nodes)
        if drawn == "html" and program.variables and not values:
            raise InputError(
                tr(
                    "the HTML page steps through a computation: give the input values, {options}"
                ).format(
                    options=" ".join(f"--{name} VALUE" for name in list(program.variables)[:4])
                )
            )
        if lr is not None and drawn != "html":
            raise InputError(tr("--lr adds the update step to the HTML page: add --format html"))
        if dout is not None and not values and program.variables:
            raise InputError(
                tr("--dout is the upstream gradient of a computation: give the input values")
            )
        upstream = None if dout is None else arguments.parse_dout(dout)
        needed = values or drawn == "html" or upstream is not None
        result = None
        if needed:
            result = evaluate(program, values, lr, conventions=conventions, dout=upstream)
        chosen = drawn or ("dot" if output or not sys.stdout.isatty() else "tree")
        if chosen == "html":
            from .graphviz import layout_json
            from .render.page import to_html

            assert result is not None
            emit(to_html(result, precision, layout_json), output)
            return
        if chosen == "tree":
            from .render.tree import to_tree

            tree = to_tree(program, result, precision)
            if output is None:
                console().print(tree)
                return
            write_output(output, plain_text(tree, 120).encode())
            return
        if chosen == "mermaid":
            from .render.mermaid import MAX_EDGES, edge_count, to_mermaid

            text = to_mermaid(program, result, precision, fence=fence)
            edges = edge_count(program)
            if edges > MAX_EDGES:
                sys.stderr.write(
                    f"warning: Mermaid draws at most {MAX_EDGES} edges and this graph has"
                    f" {edges}; --format dot draws any size\n"
                )
        elif image:
            from .graphviz import picture

            assert output is not None
            kind = output.suffix.lower()[1:]
            write_output(output, picture(program, result, precision, str(output), kind))
            return
        else:
            from .render.dot import to_dot

            text = to_dot(program, result, precision)
        if output is None:
            sys.stdout.write(text)
        else:
            write_output(output, text.encode())

    guarded(work)


@app.command(cls=BpcliCommand)
def check(
    files: Annotated[
        list[Path],
        typer.Argument(
            metavar="FILE...",
            help="Submissions (with --problems), or problem sets to check against themselves.",
        ),
    ],
    problems: Annotated[
        Path | None,
        typer.Option(
            "--problems",
            metavar="SET",
            help="The instructor's problem set: the only truth each submission is graded by.",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", metavar="", help="Write the report as one JSON object.")
    ] = False,
    csv_file: Annotated[
        Path | None,
        typer.Option(
            "--csv",
            metavar="FILE",
            help="Also write a gradebook to FILE: one row per student (needs --problems).",
        ),
    ] = None,
    gradescope: Annotated[
        Path | None,
        typer.Option(
            "--gradescope",
            metavar="PATH",
            help="Also write a Gradescope results.json to PATH (needs --problems).",
        ),
    ] = None,
    visibility: Annotated[
        str | None,
        typer.Option(
            "--visibility",
            metavar="visible|hidden|after_due_date|after_published",
            autocompletion=choices("visible|hidden|after_due_date|after_published"),
            help="When students see the --gradescope results (default visible).",
        ),
    ] = None,
    hide_expected: Annotated[
        bool,
        typer.Option(
            "--hide-expected",
            metavar="",
            help="Keep the right answers (and every number) out of the --gradescope results.",
        ),
    ] = False,
    all_or_nothing: Annotated[
        bool,
        typer.Option(
            "--all-or-nothing",
            metavar="",
            help="A problem's points only when every item it asks for is right.",
        ),
    ] = False,
    rel_tol: Annotated[
        str | None,
        typer.Option(
            "--rel-tol", metavar="R", help="Accept a relative error up to R, in every problem."
        ),
    ] = None,
    abs_tol: Annotated[
        str | None,
        typer.Option(
            "--abs-tol", metavar="A", help="Accept an absolute error up to A, in every problem."
        ),
    ] = None,
    decimals: Annotated[
        int | None,
        typer.Option(
            "--decimals",
            metavar="N",
            help="Accept the right answer rounded to N decimals (or closer), in every problem.",
        ),
    ] = None,
    sig_figs: Annotated[
        int | None,
        typer.Option(
            "--sig-figs",
            metavar="N",
            help="Accept the right answer rounded to N significant figures (or closer).",
        ),
    ] = None,
    max_tie: CheckMaxTieOption = None,
    precision: PrecisionOption = PRECISION.default,
) -> None:
    """Grade submissions against the instructor's problem set (--problems), item by item;
    without --problems, check a file against its own problems (a self-check).

    Exit 0 when every item is right, 1 when any is wrong, 2 when a file or a
    problem cannot be checked (the others are still checked and reported).

    Example: bpcli check --problems hw.toml subs/*.toml --csv grades.csv
    """
    from .check import GRADESCOPE_VISIBILITY, Report, check_submissions
    from .check import check as check_answers
    from .problems import Invalid, load, load_submission, overrides

    if as_json:  # for scripts: English, whatever the language (i18n.py)
        i18n.use(i18n.SOURCE)

    def work() -> Report:  # the body, in a frame of its own (process.guarded)
        given: dict[str, float | None] = {"decimals": decimals, "sig_figs": sig_figs}
        given["rel_tol"] = None if rel_tol is None else arguments.parse_number("--rel-tol", rel_tol)
        given["abs_tol"] = None if abs_tol is None else arguments.parse_number("--abs-tol", abs_tol)
        tolerances = overrides({k: v for k, v in given.items() if v is not None})
        for option, target in (("--gradescope", gradescope), ("--csv", csv_file)):
            if target is not None and problems is None:
                raise InputError(
                    tr(
                        "{option} grades submissions against the instructor's set: add "
                        "--problems SET (without it, check compares a file with itself)"
                    ).format(option=option)
                )
            refuse_to_replace(option, target, [*files, problems])
        if gradescope is None and (visibility is not None or hide_expected):
            option = "--visibility" if visibility is not None else "--hide-expected"
            raise InputError(
                tr("{option} is for the Gradescope results: add --gradescope FILE").format(
                    option=option
                )
            )
        if visibility is not None and visibility not in GRADESCOPE_VISIBILITY:
            raise InputError(
                tr("--visibility is {items}, got {visibility!r}").format(
                    items=", ".join(GRADESCOPE_VISIBILITY), visibility=visibility
                )
            )
        if gradescope is not None and len(files) != 1:
            raise InputError(
                tr("--gradescope writes the results of one submission, got {count}").format(
                    count=len(files)
                )
            )
        rule = tie_option(max_tie)
        if problems is None:
            sets = [load(path) for path in files]
            report = check_answers(sets, all_or_nothing, rule, tolerances)
        else:
            answer_key = load(problems)
            broken = answer_key.problems[0]
            if isinstance(broken, Invalid) and broken.problem is None:
                raise InputError(str(broken))
            subs = [load_submission(path) for path in files]
            report = check_submissions(answer_key, subs, all_or_nothing, rule, tolerances)
        for error in report.errors:
            sys.stderr.write(f"error: {error}\n")
        for warning in report.warnings():
            sys.stderr.write(f"warning: {warning}\n")
        if gradescope is not None:
            results = report.gradescope(visibility or "visible", hide_expected)
            write_output(gradescope, (json_text(results) + "\n").encode())
        if csv_file is not None:
            write_output(csv_file, csv_text(report.gradebook()).encode())
        if as_json:
            write_json(report.to_dict())
        else:
            from .render.report import ReportView

            console().print(ReportView(report, precision))
        return report

    report = guarded(work, for_scripts=as_json)
    if report.invalid:
        raise SystemExit(EXIT_BAD_INPUT)
    if not report.all_right:
        raise SystemExit(EXIT_CHECK_FAILED)


def csv_text(rows: list[list[str]]) -> str:
    """Rows as CSV, as a spreadsheet or an LMS import reads it."""
    import csv

    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


SHEET_FORMATS = ("markdown", "latex")
KEY_SUFFIXES = {".toml": "toml", ".json": "json"}


def tie_option(max_tie: str | None) -> TieRule | None:
    """The rule --max-tie names (None: each problem's own)."""
    return None if max_tie is None else arguments.read_max_tie(max_tie)


def key_format(output: Path) -> str | None:
    """The answer key's format, from the suffix of the file it is written to (None, the
    problem set's own, for what is not a file: /dev/stdout, a named pipe)."""
    return _named_format(
        output,
        KEY_SUFFIXES,
        i18n.N_(
            "--output {output}: the answer key is written as TOML or JSON, so its name "
            "ends in .toml or .json (a solution sheet, --solutions, in .md or .tex)"
        ),
    )


def _named_format(output: Path, suffixes: Mapping[str, str], refusal: str) -> str | None:
    """The format a file's suffix names; None for what is not a regular file (/dev/stdout,
    a named pipe: no suffix to read); `refusal` (a message of {output}) for a file whose
    suffix names none."""
    kind = suffixes.get(output.suffix.lower())
    if kind is None and output.exists() and not output.is_file():
        return None
    if kind is None:
        raise InputError(tr(refusal).format(output=output))
    return kind


SHEET_SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".tex": "latex"}


def sheet_format(output: Path | None, fmt: str | None) -> str:
    """The solution sheet's format: --format, else the --output file's suffix (.tex is
    LaTeX), else Markdown. A file named for something else (sol.pdf) is refused: the
    sheet is text, and a .pdf holding Markdown opens in no PDF viewer."""
    kind = None
    if output is not None:
        refusal = i18n.N_(
            "--output {output}: the solution sheet is Markdown or LaTeX text, so its "
            "name ends in .md or .tex (make a PDF from the .tex with pdflatex)"
        )
        kind = _named_format(output, SHEET_SUFFIXES, refusal)
    if fmt is not None and kind is not None and kind != fmt:
        raise InputError(
            tr("--output {output} is {kind}, but --format says {fmt}: give one").format(
                output=output, kind=kind, fmt=fmt
            )
        )
    return fmt or kind or "markdown"


@app.command(cls=BpcliCommand)
def key(
    file: Annotated[Path, typer.Argument(metavar="FILE", help="A problem set, TOML or JSON.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            metavar="FILE",
            help="Write to FILE (replacing it), not stdout: .toml or .json for the key.",
        ),
    ] = None,
    solutions: Annotated[
        bool,
        typer.Option(
            "--solutions",
            metavar="",
            help="Write a worked solution sheet (graph, walkthrough, answers) instead.",
        ),
    ] = False,
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="markdown|latex",
            autocompletion=choices("markdown|latex"),
            help="The solution sheet's format (default: latex for a .tex --output, else markdown).",
        ),
    ] = None,
    blank: Annotated[
        bool,
        typer.Option(
            "--blank",
            metavar="",
            help="Write the student's handout instead: every asked item as ?, no answers.",
        ),
    ] = False,
    max_tie: CheckMaxTieOption = None,
    precision: PrecisionOption = PRECISION.default,
) -> None:
    """Write the problem set again with every answer filled in: the answer key.

    With --solutions, a solution sheet instead: each problem worked step by step.
    With --blank, the student's handout: the set's own text (comments, numbers as
    written) without answers, each item a problem asks for as ?.

    Example: bpcli key homework.toml --solutions --format latex --output key.tex
    """
    from .check import asked_fields, field_of, result_of, solve
    from .problems import Invalid, Problem, dumps, handout, load

    def work() -> None:  # the body, in a frame of its own (process.guarded)
        if blank and solutions:
            raise InputError(tr("--blank writes the handout, --solutions the solution sheet: one"))
        if fmt is not None and not solutions:
            raise InputError(
                tr("--format {fmt} is for the solution sheet: add --solutions").format(fmt=fmt)
            )
        if fmt is not None and fmt not in SHEET_FORMATS:
            raise InputError(tr("--format is markdown or latex, got {fmt!r}").format(fmt=fmt))
        refuse_to_replace("--output", output, [file])
        rule = tie_option(max_tie)
        kind = key_format(output) if output is not None and not solutions else None
        sheet = sheet_format(output, fmt) if solutions else None
        problems = load(file)
        solved: list[Problem | Invalid] = []
        sheets = []
        errors = [str(p) for p in problems.problems if isinstance(p, Invalid)]
        for problem in problems.problems:
            if isinstance(problem, Problem):
                try:
                    result = result_of(problem, rule)
                    answer = solve(problem, result)
                except BpcliError as exc:
                    where = Invalid(problems.file, problem.id, field_of(exc), str(exc))
                    errors.append(str(where))
                    continue
                solved.append(replace(problem, answer=answer))
                sheets.append((problem, result, answer))
        if errors:
            for error in errors:
                sys.stderr.write(f"error: {error}\n")
            raise SystemExit(EXIT_BAD_INPUT)
        if blank:
            if kind is not None and kind != problems.format:
                raise InputError(
                    tr(
                        "--output {output}: the handout keeps the set's own text, so it is "
                        "{upper} like {file}"
                    ).format(output=output, upper=problems.format.upper(), file=file)
                )
            fields = [asked_fields(problem, result) for problem, result, _ in sheets]
            emit(handout(problems, fields), output)
            return
        if not solutions:
            solved_set = replace(problems, format=kind or problems.format, problems=solved)
            emit(dumps(solved_set), output)
            return
        from .api import scalar_only
        from .render.solutions import Solved, solutions_latex, solutions_markdown

        solved_sheets = [
            Solved(
                problem, scalar_only(result, "key --solutions", i18n.N_("does not write")), answer
            )
            for problem, result, answer in sheets
        ]
        if sheet == "latex":
            from .graphviz import layout_json

            emit(solutions_latex(file.name, solved_sheets, precision, layout_json), output)
        else:
            emit(solutions_markdown(file.name, solved_sheets, precision), output)

    guarded(work)


@app.command(cls=BpcliCommand)
def quiz(
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", metavar="S", help="The same seed gives the same file. Default: random."
        ),
    ] = None,
    count: Annotated[int, typer.Option("--count", metavar="N", help="How many problems.")] = 5,
    ops: Annotated[
        str,
        typer.Option("--ops", metavar="OPS", help="The gates to use, comma-separated."),
    ] = "add,mul,max",
    depth: Annotated[
        int,
        typer.Option("--depth", metavar="D", help="Gates from the output to an input, at most."),
    ] = 2,
    with_key: Annotated[
        bool, typer.Option("--key", metavar="", help="Fill in the answers.")
    ] = False,
    tensors: Annotated[
        bool,
        typer.Option(
            "--tensors",
            metavar="",
            help="Matrix problems: a 2×2 matrix and 2-vectors, W @ x + b and the like"
            " (--depth is for problems over numbers).",
        ),
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", metavar="FILE", help="Write to FILE (replacing it), not stdout."),
    ] = None,
) -> None:
    """Make a practice problem set over the lecture's gates, small enough to work by hand.

    Example: bpcli quiz --seed 7 --count 5 --ops add,mul,max --output practice.toml
    """
    from .quiz import quiz as make_quiz

    with errors_to_exit_codes():
        if seed is None:
            seed = int.from_bytes(os.urandom(4), "big")
        names = [name.strip() for name in ops.split(",") if name.strip()]
        emit(make_quiz(seed, count, names, depth, with_key, tensors), output)


@app.command(cls=BpcliCommand)
def batch(
    source: Annotated[
        str, typer.Argument(metavar="[FILE|-]", help="JSON Lines requests; - or nothing: stdin.")
    ] = "-",
    jobs: Annotated[int, typer_option(JOBS)] = JOBS.default,
    max_size: MaxSizeOption = MAX_SIZE_OPTION.default,
) -> None:
    """Answer JSON Lines requests, one JSON line per request, in order, as each is ready.

    A request: {"id": …, "expr": …, "values": {…}, "lr": …, "steps": …,
    "max_tie": "split"|"first", "dout": […]}, of which only expr is needed.
    A bad line costs that line only, running out of memory included (an answer takes
    about 2 KB a node; an expression has at most 2,000,000); the exit code is 1
    if any line failed.

    Example: bpcli batch requests.jsonl | jq -c .result.gradients
    """
    from .batch import answer_source

    i18n.use(i18n.SOURCE)  # JSON for scripts: English, whatever the language (i18n.py)
    with errors_to_exit_codes(for_scripts=True):
        ok = answer_source(source, jobs, parse_size(max_size))
    if not ok:
        raise SystemExit(EXIT_CHECK_FAILED)


def emit(text: str, output: Path | None) -> None:
    """Text to stdout, or to the file given with --output."""
    if output is None:
        sys.stdout.write(text)
    else:
        write_output(output, text.encode())
