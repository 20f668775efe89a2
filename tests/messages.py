"""The messages of bpcli's source that the catalog translates, found in its syntax tree.

A message is the literal argument of `tr`, `tr_n` (both forms) or `N_`; the
`reasons`, `hints` and `tensor_reasons` of a `Pattern(...)` (translated in
Pattern.reason, .hint and .tensor_reason); the `help=` of an option or argument, and an `Option(...)`'s help, in
cli.py and arguments.py; and the docstring of a command (`@app.command`,
`@app.callback`), as Typer shows it (translated when the help is written).

`python tests/messages.py > bpcli.pot` writes them as a PO template, for
`msgmerge --update src/bpcli/locale/ko/LC_MESSAGES/bpcli.po bpcli.pot`.
"""

from __future__ import annotations

import ast
import inspect
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src" / "bpcli"
TRANSLATE = {"tr", "tr_n", "N_"}
HELP_FILES = ("cli.py", "arguments.py")
OPTION_HELP = 4  # Option(name, param, default, metavar, help, …)


@dataclass(frozen=True)
class Message:
    msgid: str
    plural: str | None
    where: str  # file:line


def _text(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def files() -> list[Path]:
    return sorted(SOURCE.rglob("*.py"))


def messages_of(path: Path) -> Iterator[Message]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    name = path.relative_to(SOURCE).as_posix()
    helps = name in HELP_FILES
    for node in ast.walk(tree):
        where = f"{name}:{getattr(node, 'lineno', 0)}"
        if isinstance(node, ast.Call):
            called = _called(node)
            first = _text(node.args[0]) if node.args else None
            if called in ("tr", "N_") and first is not None:
                yield Message(first, None, where)
            elif called == "tr_n" and first is not None and len(node.args) > 1:
                yield Message(first, _text(node.args[1]), where)
            elif called == "Pattern":
                for keyword in node.keywords:
                    dicts = ("reasons", "hints", "tensor_reasons")
                    if keyword.arg in dicts and isinstance(keyword.value, ast.Dict):
                        for value in keyword.value.values:
                            text = _text(value)
                            if text is not None:
                                yield Message(text, None, where)
            if helps:
                for keyword in node.keywords:
                    text = _text(keyword.value)
                    if keyword.arg == "help" and text:
                        yield Message(text, None, where)
                if called == "Option" and len(node.args) > OPTION_HELP:
                    text = _text(node.args[OPTION_HELP])
                    if text:
                        yield Message(text, None, where)
        elif isinstance(node, ast.FunctionDef) and helps and _is_command(node):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                yield Message(inspect.cleandoc(doc), None, where)


def _is_command(node: ast.FunctionDef) -> bool:
    for decorator in node.decorator_list:
        call = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(call, ast.Attribute) and call.attr in ("command", "callback"):
            return True
    return False


def messages() -> dict[str, Message]:
    """Every message, by msgid (the first place it is used)."""
    found: dict[str, Message] = {}
    for path in files():
        for message in messages_of(path):
            found.setdefault(message.msgid, message)
    return found


def _quoted(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t")
    lines = escaped.split("\n")
    if len(lines) == 1:
        return f'"{escaped}"'
    parts = [line + "\\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    return '""\n' + "\n".join(f'"{part}"' for part in parts)


def template() -> str:
    """The messages as a PO template."""
    out = ['msgid ""', 'msgstr ""', '"Content-Type: text/plain; charset=UTF-8\\n"', ""]
    for message in messages().values():
        out.append(f"#: {message.where}")
        if "{" in message.msgid:
            out.append("#, python-brace-format")
        out.append(f"msgid {_quoted(message.msgid)}")
        if message.plural is not None:
            out.append(f"msgid_plural {_quoted(message.plural)}")
            out += ['msgstr[0] ""', 'msgstr[1] ""']
        else:
            out.append('msgstr ""')
        out.append("")
    return "\n".join(out)


if __name__ == "__main__":
    sys.stdout.write(template())
