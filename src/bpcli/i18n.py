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


# ---- Korean particles ------------------------------------------------------------------------

# A Korean particle takes one form after a final consonant and another after a vowel
# (x가, W1은, 3을, 2를). The catalog writes both, 이(가), after a placeholder; a message is
# a `Korean` text, whose `format` puts in the form that the value before it takes, read
# as Korean reads it: a Hangul syllable, a number (3 삼, 10 십, 0.5 영점오), a letter by
# its name (x 엑스, l 엘), an abbreviation letter by letter (JSON, TOML), an English word by
# its ending where that is sure (rate 레이트, sum 섬). Where it is not (dot 닷 or 도트),
# both forms stay, as the translating guide writes them.
PARTICLES = {  # both forms: (after a final consonant, after a vowel)
    "이(가)": ("이", "가"),
    "은(는)": ("은", "는"),
    "을(를)": ("을", "를"),
    "과(와)": ("과", "와"),
    "(으)로": ("으로", "로"),  # 로 after ㄹ too: 1로 (일), 학습률로
    "(이)라": ("이라", "라"),
}
# patterns compiled when Korean first needs them (re's cache): English never does
_PARTICLE = "|".join(re.escape(both) for both in PARTICLES)
_CLOSERS = ")]}'\"`’”»」』>"  # read is what they close: (2, 3) as 3, 'x' as x
_NUMBER = r"(\.?)([0-9]+)$"
_WORD = r"[A-Za-z]+$"
VOWEL, CONSONANT, RIEUL = "vowel", "consonant", "ㄹ"
_DIGITS = {  # 영 일 이 삼 사 오 육 칠 팔 구
    "0": CONSONANT, "1": RIEUL, "2": VOWEL, "3": CONSONANT, "4": VOWEL,
    "5": VOWEL, "6": CONSONANT, "7": RIEUL, "8": RIEUL, "9": VOWEL,
}  # fmt: skip
# the letters whose names end in a consonant (엘 알 엠 엔); the others' end in a vowel
_LETTERS = {"l": RIEUL, "r": RIEUL, "m": CONSONANT, "n": CONSONANT}


class Korean(str):
    """A Korean message: `format` writes each particle after a placeholder in its form."""

    __slots__ = ()

    def format(self, *args: object, **kwargs: object) -> str:
        return particles(str.format(self, *args, **kwargs))


def particles(text: str) -> str:
    """`text` with each particle written in both forms, 이(가), in the one the word before
    it takes (x가), where that word's last sound is sure."""
    if "(" not in text:
        return text

    def form(match: re.Match[str]) -> str:
        sound = last_sound(text[: match.start()])
        if sound is None:
            return match.group()
        after_consonant, after_vowel = PARTICLES[match.group()]
        if sound == VOWEL or (sound == RIEUL and after_consonant == "으로"):
            return after_vowel
        return after_consonant

    return re.sub(_PARTICLE, form, text)


def last_sound(text: str) -> str | None:
    """How the end of `text` sounds in Korean: VOWEL, CONSONANT, RIEUL (ㄹ), or None where
    that is not sure (an English word such as dot, a symbol)."""
    text = text.rstrip(_CLOSERS)
    if not text:
        return None
    last = text[-1]
    if "가" <= last <= "힣":
        final = (ord(last) - ord("가")) % 28
        return VOWEL if final == 0 else RIEUL if final == 8 else CONSONANT
    number = re.search(_NUMBER, text)
    if number is not None:
        return _number_sound(number.group(2), decimals=bool(number.group(1)))
    word = re.search(_WORD, text)
    return None if word is None else _word_sound(word.group())


def _number_sound(digits: str, decimals: bool) -> str:
    """A number's last sound: digits after the point are read one by one (0.5 영점오),
    a whole number by its last place (10 십, 200 이백, 3000 삼천, 10000 만, 10¹² 조)."""
    zeros = len(digits) - len(digits.rstrip("0"))
    if decimals or zeros == 0 or zeros == len(digits):
        return _DIGITS[digits[-1]]
    return VOWEL if 12 <= zeros < 16 else CONSONANT  # 십 백 천 만 억: a consonant; 조


def _word_sound(word: str) -> str | None:
    """A word in Latin letters: a letter or an abbreviation by the letters' names (x 엑스,
    JSON 제이에스오엔, svg: no vowel), an English word by its ending where that is sure."""
    lower = word.lower()
    if len(word) == 1 or (word.isupper() and len(word) <= 4) or not set(lower) & set("aeiou"):
        return _LETTERS.get(lower[-1], VOWEL)  # svg 에스브이지, html 에이치티엠엘
    word = lower
    last = word[-1]
    if word.endswith("ng") or last in "mn":
        return CONSONANT  # -ng 잉, sum 섬, mean 민
    if last == "l":
        return RIEUL  # mul 멀
    if last == "e":  # a silent e: name 네임, file 파일, rate 레이트, tree 트리
        return _LETTERS.get(word[-2], VOWEL) if word[-2] in "lmn" else VOWEL
    if last in "aiouywrsxzfvh":
        return VOWEL  # relu 렐루, max 맥스, power 파워, tanh 탄에이치
    return None  # b c d g k p q t j: dot is 닷 or 도트


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
            forms = tuple(
                Korean(entry[k]) if chosen == "ko" else entry[k]
                for k in sorted(entry)
                if k.startswith("msgstr[")
            )
            if forms and all(forms):
                plurals[msgid] = forms
        elif entry.get("msgstr"):
            messages[msgid] = Korean(entry["msgstr"]) if chosen == "ko" else entry["msgstr"]
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
