"""The words of the web pages: one catalogue per language (``texts/*.toml``),
and the one place that chooses the language of a page.

Templates call ``t("key", name=value)``; a key missing from a catalogue is a
bug the tests catch (every catalogue has the same keys, every key a template
uses exists), never a blank on the page.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path

LANGUAGES = ("en", "ja")
LANGUAGE_NAMES = {"en": "English", "ja": "日本語"}
TEXTS = Path(__file__).with_name("texts")


@functools.cache
def catalogue(lang: str) -> dict[str, str]:
    """Flat ``section.key`` -> text of one language."""
    with open(TEXTS / f"{lang}.toml", "rb") as file:
        tree = tomllib.load(file)
    flat: dict[str, str] = {}

    def walk(prefix: str, node: dict) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(f"{prefix}{key}.", value)
            else:
                flat[prefix + key] = value

    walk("", tree)
    return flat


def translate(lang: str, key: str, **params) -> str:
    text = catalogue(lang if lang in LANGUAGES else "en")[key]
    return text.format(**params) if params else text


def from_locale(locale: str | None, default: str) -> str:
    """A Mattermost locale (``ja``, ``en``, ``en-AU``...) as one of the page languages."""
    base = (locale or "").split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else default


def choose(session_lang: str | None, accept_languages, default: str) -> str:
    """The person's choice on the page, else what their browser asks for, else the default."""
    if session_lang in LANGUAGES:
        return session_lang
    best = accept_languages.best_match(LANGUAGES) if accept_languages else None
    return best or default
