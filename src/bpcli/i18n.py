"""bpcli's languages: English, the language of the source, and Korean, from a gettext
PO catalog (src/bpcli/locale/ko/LC_MESSAGES/bpcli.po) that a translator edits with
ordinary tools (Poedit, msgmerge, msgfmt --check).

The catalog is read from the PO file itself, by the small reader below, and only
when Korean is chosen: English reads no file at all, so the table a student sees
first starts as fast as before, and there is no compiled .mo to keep in step with
its PO (nor a build step, nor Babel to import).

A message is a whole sentence with named placeholders, translated where it is used:
`tr("{node} is used {uses} times").format(node=…, uses=…)`; a message kept in a
constant is marked with `N_` and translated where it is shown. tests/test_i18n.py
extracts every `tr`, `tr_n` and `N_` message from the source and fails for one the
catalog does not translate, or translates with other placeholders.

The language: `--lang ko|en` on every command, else BPCLI_LANG, else the locale
variables in gettext's order (LANGUAGE, LC_ALL, LC_MESSAGES, LANG); English where
none of them names Korean.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "ko")
SOURCE = "en"
LANG_VARIABLE = "BPCLI_LANG"
LOCALE_VARIABLES = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")  # gettext's order
LOCALE = Path(__file__).parent / "locale"  # LOCALE/ko/LC_MESSAGES/bpcli.po

_messages: Mapping[str, str] = {}
_plurals: Mapping[str, tuple[str, ...]] = {}
_language = SOURCE


def N_(message: str) -> str:
    """A message translated where it is used, not here: marks it for the catalog."""
    return message


def tr(message: str) -> str:
    """`message` in the chosen language."""
    return _messages.get(message) or message


def tr_n(singular: str, plural: str, n: int) -> str:
    """The singular or plural message for `n`, in the chosen language (Korean has one form)."""
    forms = _plurals.get(singular)
    if forms:
        return forms[min(_plural_index(n), len(forms) - 1)]
    return singular if n == 1 else plural


def _plural_index(n: int) -> int:
    return 0 if _language == "ko" else int(n != 1)


def language() -> str:
    """The language chosen: "en" or "ko"."""
    return _language


def use(chosen: str) -> None:
    """Speak `chosen` ("en" or "ko") from now on."""
    global _messages, _plurals, _language
    if chosen not in LANGUAGES:
        raise ValueError(f"bpcli speaks {' and '.join(LANGUAGES)}, not {chosen!r}")
    _messages, _plurals = ({}, {}) if chosen == SOURCE else read_catalog(chosen)
    _language = chosen


def choose(flag: str | None, environ: Mapping[str, str] | None = None) -> str:
    """The language of a run: `--lang` if given, else BPCLI_LANG, else the locale
    variables as gettext reads them: the first that is set, a list of languages
    separated by colons (LANGUAGE=ko:en), the first of them bpcli has. An unknown
    BPCLI_LANG is passed over; C and POSIX are English."""
    if flag:
        return flag
    env = os.environ if environ is None else environ
    own = language_of(env.get(LANG_VARIABLE, ""))
    if own is not None:
        return own
    for variable in LOCALE_VARIABLES:
        value = env.get(variable, "")
        if value:
            for entry in value.split(":"):
                found = language_of(entry)
                if found is not None:
                    return found
            return SOURCE
    return SOURCE


def language_of(locale_name: str) -> str | None:
    """The language bpcli has that a locale name names: ko_KR.UTF-8 is "ko", C is "en"."""
    name = locale_name.strip()
    if name in ("C", "POSIX") or name.startswith(("C.", "POSIX.")):
        return SOURCE
    code = re.split(r"[_.@-]", name, maxsplit=1)[0].lower()
    return code if code in LANGUAGES else None


# ---- the PO reader ---------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", '"': '"', "\\": "\\", "r": "\r"}
_ESCAPE = re.compile(r"\\(.)")
_FIELD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+"(.*)"\s*$')


def _unquote(text: str) -> str:
    return _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), text)


def catalog_path(chosen: str) -> Path:
    """The PO file of a language."""
    return LOCALE / chosen / "LC_MESSAGES" / "bpcli.po"


@cache
def read_catalog(chosen: str) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """The translations of a PO file: {msgid: msgstr} and {msgid: plural forms}; an entry
    marked fuzzy or left untranslated is not used (as msgfmt leaves it out)."""
    messages: dict[str, str] = {}
    plurals: dict[str, tuple[str, ...]] = {}
    for entry in parse_po(catalog_path(chosen).read_text(encoding="utf-8")):
        if entry.get("fuzzy") or not entry.get("msgid"):
            continue
        msgid = entry["msgid"]
        if "msgid_plural" in entry:
            forms = tuple(entry[k] for k in sorted(entry) if k.startswith("msgstr["))
            if forms and all(forms):
                plurals[msgid] = forms
        elif entry.get("msgstr"):
            messages[msgid] = entry["msgstr"]
    return messages, plurals


def parse_po(text: str) -> list[dict[str, str]]:
    """A PO file's entries, each {field: text} (msgid, msgid_plural, msgstr, msgstr[0],
    and "fuzzy" if flagged so), the header (msgid "") included."""
    entries: list[dict[str, str]] = []
    entry: dict[str, str] = {}
    field = ""

    def close() -> None:
        nonlocal entry
        if "msgid" in entry:
            entries.append(entry)
        entry = {}

    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            close()
            field = ""
        elif line.startswith("#,"):
            if "msgid" in entry:
                close()
            if "fuzzy" in line:
                entry["fuzzy"] = "1"
        elif line.startswith("#"):
            if "msgid" in entry and field.startswith("msgstr"):
                close()
        elif line.startswith('"'):
            entry[field] += _unquote(line[1:-1])
        else:
            match = _FIELD.match(line)
            if match is None:
                raise ValueError(f"not a line of a PO file: {raw!r}")
            field = match.group(1)
            if field in ("msgid", "msgctxt") and "msgid" in entry:
                close()
            entry[field] = _unquote(match.group(2))
    close()
    return entries
