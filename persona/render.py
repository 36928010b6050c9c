"""Turning a message key into text, and making user text safe to show.

Mention safety. Mattermost pings on ``@name``, ``@channel``, ``@all``,
``@here`` and (Slack-compatible) ``<!channel>``. Text a user supplied — report
text, a token they mistyped, a name — goes through :func:`inert` before it is
placed in a message. :func:`mention` is the only way nippo writes a mention it
means; :func:`name` lists a person without pinging.

Markdown. :func:`inert` keeps text readable and verbatim as rendered: it
backslash-escapes only the characters that could open formatting reaching
beyond the text itself (backticks, ``*``, ``_``, ``~``, ``[``, ``]`` and the
backslash), so a stray ``**`` or a code fence cannot swallow the rest of the
message. Newlines are kept. Multi-line report text is shown with
:func:`quote`, a block quote of inert lines: lists and headings may render
inside it, but nothing escapes it. Backslash escapes are literal inside code
spans, so texts never put user values in backticks; and inert text is for
messages only — a dialog's default value takes the raw text.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from persona.keys import DEFAULT_LANGUAGE, KEYS, LANGUAGES

ZWSP = "\u200b"
_MARKDOWN = re.compile(r"([\\`*_~\[\]])")
_USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SPECIAL_MENTIONS = frozenset({"all", "channel", "here"})


def inert(text: str) -> str:
    """``text`` as it reads, unable to ping anyone or break the message around it."""
    text = _MARKDOWN.sub(r"\\\1", text)
    return text.replace("@", "@" + ZWSP).replace("<!", "<" + ZWSP + "!")


def quote(text: str) -> str:
    """Multi-line user text as a Markdown block quote, verbatim and inert."""
    lines = text.splitlines() or [""]
    return "\n".join(f"> {inert(line)}" if line.strip() else ">" for line in lines)


def mention(username: str) -> str:
    """A real mention of one user. Anything that is not a plain username is named, never pinged.

    Mattermost strips trailing ``.``, ``-``, ``_`` and ``:`` from a mention it
    does not recognise and tries again, so ``@all.`` or ``@here_`` would notify
    the whole channel: a name that reduces to a channel-wide word is named too.
    """
    username = username.removeprefix("@")
    if not _USERNAME.fullmatch(username) or username.rstrip(".-_:").lower() in _SPECIAL_MENTIONS:
        return name(username)
    return "@" + username


def name(username: str) -> str:
    """A username as it reads (``@alice``), without pinging (a zero-width space after ``@``)."""
    return "@" + ZWSP + inert(username.removeprefix("@"))


def join(items: Iterable[str], lang: str) -> str:
    """Names listed the way the language lists them. Mentions are joined with spaces instead."""
    return ("、" if language_of(lang) == "ja" else ", ").join(items)


@functools.lru_cache(maxsize=256)
def language_of(lang: str | None) -> str:
    """``ja-JP`` -> ``ja``: Mattermost locales to nippo's language codes."""
    return re.split(r"[-_]", (lang or "").strip().lower(), maxsplit=1)[0]


Texts = Mapping[str, Mapping[str, tuple[str, ...]]]  # language -> key -> variants


class _Params(dict):
    def __init__(self, key: str, params: Mapping[str, object]):
        super().__init__(params)
        self.key = key

    def __missing__(self, placeholder: str):
        raise KeyError(f"message {self.key!r} uses {{{placeholder}}} but say() was not given {placeholder}=")


@dataclass(frozen=True)
class Persona:
    """One voice: its texts per language, with the common texts beneath them."""

    name: str
    display_name: str
    icon_url: str | None
    source: str  # the file it came from, or "built-in"
    texts: Texts
    common: Texts

    @property
    def languages(self) -> tuple[str, ...]:
        return tuple(language for language in LANGUAGES if language in self.texts)

    def language(self, lang: str | None) -> str:
        """The language this persona speaks for ``lang``: itself, else en, else ja."""
        wanted = language_of(lang)
        if wanted in self.texts:
            return wanted
        return DEFAULT_LANGUAGE if DEFAULT_LANGUAGE in self.texts else self.languages[0]

    def variants(self, key: str, lang: str | None) -> tuple[str, ...]:
        if key not in KEYS:
            raise KeyError(f"unknown message key {key!r}")
        language = self.language(lang)
        found = self.texts[language].get(key) or self.common.get(language, {}).get(key)
        if not found:
            raise KeyError(f"persona {self.name!r} has no text for {key!r} in {language!r}")
        return found

    def say(self, key: str, lang: str | None, *, seed: str = "", **params: object) -> str:
        """The text of ``key`` in ``lang``, with ``params`` filled in.

        The variant is a stable function of (persona, key, seed): pass the same
        seed — e.g. the run (subscription, local date, slot) and recipient —
        and a retry, or a dry run before it, says the same thing; vary it and
        mornings do not repeat.

        Give every placeholder the key allows (keys.MESSAGE_KEYS), not only the
        ones this variant happens to use: a missing one is a programming error
        and raises KeyError naming the key and placeholder whichever variant is
        picked, so a test catches it before some morning does. Extra params
        are ignored.
        """
        variants = self.variants(key, lang)
        missing = KEYS[key].placeholders - params.keys()
        if missing:
            needed = ", ".join(f"{p}= for {{{p}}}" for p in sorted(missing))
            raise KeyError(f"message {key!r} was not given {needed}")
        text = variants[pick(len(variants), self.name, key, seed)]
        return text.format_map(_Params(key, params))


def pick(count: int, *parts: str) -> int:
    """A stable index in range(count) from ``parts`` (hashlib, not the per-process hash())."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % count
