"""The interface's language: gettext lookups for every user-visible message (`_`, `ngettext`) and
the rules that choose between English, Chinese and both.

English is the source text (the msgids). Until `set_language` picks Chinese, `_` returns its
argument unchanged, so importing this module costs nothing and the CLI and app work without a
catalogue. The zh_CN catalogue lives in llmq/locale/zh_CN/LC_MESSAGES/llmq.{po,mo}; `make messages`
extracts the msgids with Babel and compiles the .mo (both files are committed, so the wheel and an
editable install find it without a build step).
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

Lang = Literal["en", "zh", "both"]
LANGS: tuple[Lang, ...] = ("en", "zh", "both")
DOMAIN = "llmq"
LOCALE_DIR = Path(__file__).parent / "locale"
# The gettext locale each interface language reads its messages from (`both` reads Chinese: the
# app shows Chinese first, with English a key away).
_CATALOGUE: dict[Lang, str | None] = {"en": None, "zh": "zh_CN", "both": "zh_CN"}

_translations: gettext.NullTranslations = gettext.NullTranslations()
_current: Lang = "en"


def _(message: str) -> str:
    """`message` (English) in the interface's current language."""
    return _translations.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in the interface's current language."""
    return _translations.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Marks a message for extraction where it is defined (a table, a constant) and translated
    later, where it is shown, with `_(message)`."""
    return message


def parse_lang(text: str) -> Lang:
    """'zh' / 'en' / 'both' (any case, surrounding spaces allowed) -> Lang; ValueError otherwise."""
    value = text.strip().lower()
    for lang in LANGS:
        if value == lang:
            return lang
    raise ValueError(_("unknown language {text}: use one of zh, en, both").format(text=repr(text)))


def language_from_locale(environ: Mapping[str, str] | None = None) -> Lang:
    """`zh` when the POSIX locale (the first of LC_ALL, LC_MESSAGES, LANG that is set) starts with
    zh, else `en`."""
    env = os.environ if environ is None else environ
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def resolve_language(
    explicit: str | None = None,
    environ: Mapping[str, str] | None = None,
    remembered: str | None = None,
) -> Lang:
    """The language to use, first that is given: `--lang`, LLMQ_LANG, the remembered setting, the
    locale. An invalid --lang or LLMQ_LANG raises ValueError (the caller names where it came from);
    an invalid remembered value is ignored."""
    env = os.environ if environ is None else environ
    if explicit:
        return parse_lang(explicit)
    from_env = env.get("LLMQ_LANG", "")
    if from_env.strip():
        try:
            return parse_lang(from_env)
        except ValueError as err:
            raise ValueError(f"LLMQ_LANG: {err}") from None
    if remembered:
        try:
            return parse_lang(remembered)
        except ValueError:
            pass
    return language_from_locale(env)


def set_language(lang: str) -> Lang:
    """Switch every later `_` / `ngettext` to `lang` ('en', 'zh' or 'both'); returns it parsed.
    A missing catalogue falls back to English rather than failing (messages stay readable)."""
    global _translations, _current
    parsed = parse_lang(lang)
    locale = _CATALOGUE[parsed]
    if locale is None:
        _translations = gettext.NullTranslations()
    else:
        _translations = gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[locale], fallback=True)
    _current = parsed
    return parsed


def current_language() -> Lang:
    """The language set last (`en` until `set_language` is called)."""
    return _current
