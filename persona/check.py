"""Validation of persona files, so a bad file is refused at start-up, not at 9 a.m.

A persona file is TOML::

    name = "pirate"                     # what `/subscribe persona NAME` takes
    display_name = "Captain Report"     # at most 64 characters
    icon_url = "https://example.com/p.png"   # optional, http(s)

    [en]
    praise = ["Everyone reported. Yo ho!"]

    [en.reminder]
    channel = ["{mentions}, yesterday's log is missing! `{command}`"]

Language tables (``[en]``, ``[ja]``) map message keys to lists of variants.
Dotted keys may be nested tables (``[en.reminder]`` + ``channel``) or quoted
(``"reminder.channel" = [...]``); a bare string counts as one variant. Files
whose name starts with ``_`` hold the common texts (usage, help, labels).

``extends = "plain"`` (a built-in persona) makes every message the file does
not give that persona's. Without it, a file gives every message of the first
catalogue; one added to nippo since is a warning, not a refusal (see
``keys.FIRST_CATALOGUE``). The built-in files themselves must be complete.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from string import Formatter
from typing import Any
from urllib.parse import urlsplit

from persona.keys import (
    COMMON_KEYS,
    DISPLAY_NAME_MAX,
    KEYS,
    LANGUAGES,
    LATER_VOICE_KEYS,
    MENTION_PLACEHOLDERS,
    REQUIRED_VOICE_KEYS,
    RETIRED_KEYS,
)

BUILTIN_DIR = Path(__file__).with_name("builtin")
PERSONA_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
SETTINGS = ("name", "display_name", "icon_url", "extends")
FILE = "(file)"  # the key of a problem with the file as a whole
FALLBACK = "plain"  # whose texts stand in for messages added since a file was written
_FIELD = "\x00"  # stands for "a placeholder" where the mention check expects a character

_WHY_REQUIRED = {
    "command": "every reminder must show the exact command to file the missing date",
    "mentions": "the channel reminder must mention the missing members",
    "names": "the missing members must be listed",
}


@dataclass(frozen=True)
class Problem:
    file: str
    key: str
    reason: str
    warning: bool = False  # the file is still accepted

    def __str__(self) -> str:
        return f"{self.file}: {self.key}: {'warning: ' if self.warning else ''}{self.reason}"


@dataclass
class ParsedFile:
    """A file's content once it passed every check."""

    path: str
    common: bool
    name: str = ""
    display_name: str = ""
    icon_url: str | None = None
    extends: str | None = None  # a built-in persona giving every message this file does not
    texts: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    # language -> keys added to nippo since the file was written, which it lacks
    later_missing: dict[str, list[str]] = field(default_factory=dict)


def check_file(path: str | os.PathLike[str]) -> list[Problem]:
    """Every reason to refuse the persona (or common-texts) file at ``path``."""
    return parse_file(path)[1]


def is_common_file(path: str | os.PathLike[str]) -> bool:
    return Path(path).name.startswith("_")


def builtin_personas() -> list[str]:
    return sorted(path.stem for path in BUILTIN_DIR.glob("*.toml") if not path.name.startswith(("_", ".")))


def parse_file(path: str | os.PathLike[str], *, strict: bool | None = None) -> tuple[ParsedFile | None, list[Problem]]:
    """The file's content and its problems; the content is None if any problem
    is more than a warning. ``strict`` (the default for the built-in files):
    what would be a warning in someone's own file is a problem."""
    where = str(path)
    if strict is None:
        strict = Path(path).resolve().parent == BUILTIN_DIR.resolve()
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except OSError as error:
        return None, [Problem(where, FILE, f"cannot be read: {error.strerror or error}")]
    except UnicodeDecodeError:
        return None, [Problem(where, FILE, "is not UTF-8 text")]
    except tomllib.TOMLDecodeError as error:
        return None, [Problem(where, FILE, f"is not valid TOML: {error}")]

    parsed = ParsedFile(where, is_common_file(path))
    problems: list[Problem] = []

    def refuse(key: str, reason: str) -> None:
        problems.append(Problem(where, key, reason))

    def warn(key: str, reason: str) -> None:
        problems.append(Problem(where, key, reason, warning=not strict))

    if parsed.common:
        for setting in SETTINGS:
            if setting in data:
                refuse(setting, "common-texts files have no persona settings")
    else:
        _check_settings(data, parsed, refuse)

    for top, value in data.items():
        if top in SETTINGS:
            continue
        if top not in LANGUAGES:
            kind = "language" if isinstance(value, dict) else "setting"
            refuse(top, f"unknown {kind} (languages: {', '.join(LANGUAGES)}; settings: {', '.join(SETTINGS)})")
        elif not isinstance(value, dict):
            refuse(top, f"must be a table of messages ([{top}]), not {_type(value)}")
        else:
            parsed.texts[top] = _check_language(top, value, parsed, refuse, warn)

    if parsed.common:
        for language in LANGUAGES:
            if language not in data:
                refuse(language, "missing: the common texts must cover every language")
    elif not any(language in data for language in LANGUAGES) and parsed.extends is None:
        refuse(FILE, f"declares no language: a persona must provide at least [{'] or ['.join(LANGUAGES)}]")

    refused = any(not problem.warning for problem in problems)
    return (None if refused else parsed), problems


def _check_settings(data: dict[str, Any], parsed: ParsedFile, refuse) -> None:
    name = data.get("name")
    if not isinstance(name, str) or not PERSONA_NAME.fullmatch(name):
        refuse("name", "required: lowercase letters, digits, '-' or '_', starting with a letter, at most 32 characters")
    else:
        parsed.name = name
    display_name = data.get("display_name")
    if not isinstance(display_name, str) or not display_name.strip():
        refuse("display_name", "required: a non-empty string")
    elif len(display_name) > DISPLAY_NAME_MAX:
        refuse("display_name", f"is {len(display_name)} characters long; at most {DISPLAY_NAME_MAX}")
    elif "\n" in display_name:
        refuse("display_name", "must be one line")
    else:
        parsed.display_name = display_name
    if "icon_url" in data:
        icon_url = data["icon_url"]
        parts = urlsplit(icon_url) if isinstance(icon_url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            refuse("icon_url", "must be an http:// or https:// URL")
        else:
            parsed.icon_url = icon_url
    if "extends" in data:
        extends, builtins = data["extends"], builtin_personas()
        if extends not in builtins or extends == parsed.name:
            refuse("extends", f"must name a built-in persona: {', '.join(builtins)}")
        else:
            parsed.extends = extends


def _check_language(language: str, table: dict[str, Any], parsed: ParsedFile, refuse, warn) -> dict[str, tuple[str, ...]]:
    common = parsed.common
    texts: dict[str, tuple[str, ...]] = {}
    for key, value in _flatten(table):
        where = f"{language}.{key}"
        if key in texts:
            refuse(where, "is defined twice (as a quoted key and in a table)")
            continue
        spec = KEYS.get(key)
        if spec is None and key in RETIRED_KEYS:
            warn(where, "is no longer used by nippo: it is ignored")
            continue
        if spec is None:
            close = difflib.get_close_matches(key, KEYS, n=1)
            refuse(where, "unknown message key" + (f" (did you mean {close[0]}?)" if close else ""))
            continue
        if common and not spec.common:
            refuse(where, "is persona voice: it belongs in a persona file, not the common texts")
            continue
        variants = _check_variants(key, value, lambda reason, where=where: refuse(where, reason))
        if variants:
            texts[key] = variants
    seen = {key for key, _ in _flatten(table)}
    if common:
        for key in sorted(COMMON_KEYS - seen):
            refuse(f"{language}.{key}", "missing")
    elif parsed.extends is None:
        for key in sorted(REQUIRED_VOICE_KEYS - seen):
            refuse(f"{language}.{key}", "missing")
        later = sorted(LATER_VOICE_KEYS - seen)
        for key in later:
            warn(f"{language}.{key}", f"missing: a message added to nippo after this file was written; "
                                      f"the {FALLBACK} persona's text is used until the file gives one")
        if later:
            parsed.later_missing[language] = later
    return texts


def _flatten(table: dict[str, Any], prefix: str = ""):
    for key, value in table.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _check_variants(key: str, value: Any, refuse) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list):
        refuse(f"must be a list of strings, not {_type(value)}")
        return ()
    if not value:
        refuse("has no variants: give at least one string")
        return ()
    good: list[str] = []
    for number, variant in enumerate(value, start=1):
        reasons = _variant_problems(key, variant)
        label = f"variant {number}" if len(value) > 1 else "the text"
        for reason in reasons:
            refuse(f"{label} {reason}")
        if not reasons:
            good.append(variant)
    return tuple(good) if len(good) == len(value) else ()


def _variant_problems(key: str, variant: Any) -> list[str]:
    spec = KEYS[key]
    if not isinstance(variant, str):
        return [f"is not a string but {_type(variant)}"]
    if not variant.strip():
        return ["is empty"]
    problems: list[str] = []
    if spec.max_length is not None and len(variant) > spec.max_length:
        problems.append(f"is {len(variant)} characters long; Mattermost allows at most {spec.max_length} here")
    size = len(variant.encode("utf-8"))
    if spec.max_bytes is not None and size > spec.max_bytes:
        problems.append(f"is {size} bytes long in UTF-8; Mattermost allows at most {spec.max_bytes} bytes here "
                        f"({spec.max_bytes // 3} Japanese characters)")
    try:
        chunks = list(Formatter().parse(variant))
    except ValueError as error:
        return problems + [f"has unbalanced braces ({error}); write {{{{ and }}}} for literal braces"]

    used: set[str] = set()
    before = ""           # the character just before the current chunk's placeholder
    after_mention = None  # a mention placeholder whose next character is still to be seen
    for literal, name, spec_text, conversion in chunks:
        if after_mention is not None:
            following = literal[:1] or (_FIELD if name is not None else "")
            if _joins_username(following):
                problems.append(
                    f"puts {_show(following)} directly after {{{after_mention}}}: Mattermost would read it as "
                    f"part of the username and notify nobody; put a space after it "
                    f"(write `{{{after_mention}}} さん`, never `{{{after_mention}}}さん`)")
            after_mention = None
        if literal:
            before = literal[-1]
        if name is None:
            continue
        field = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec_text}" if spec_text else "") + "}"
        if not name.isidentifier() or not name.isascii():
            if name == "" or name.isdigit():
                problems.append(f"uses the positional placeholder {field}; name it, e.g. {{date}}")
            elif "." in name or "[" in name:
                problems.append(f"uses {field}: attribute and index access are not allowed")
            else:
                problems.append(f"has a bad placeholder {field}; placeholders are {{name}} with letters, digits, _")
            before = _FIELD
            continue
        if conversion or spec_text:
            problems.append(f"uses {field}: conversions and format specs are not allowed, write {{{name}}}")
        if name not in spec.placeholders:
            allowed = ", ".join(f"{{{p}}}" for p in sorted(spec.placeholders)) or "none"
            problems.append(f"uses the unknown placeholder {{{name}}} (allowed here: {allowed})")
        used.add(name)
        if name in MENTION_PLACEHOLDERS:
            if _joins_username(before):
                problems.append(
                    f"puts {_show(before)} directly before {{{name}}}: Mattermost would not see the mention; "
                    f"put a space before it")
            after_mention = name
        before = _FIELD
    for name in sorted(spec.required - used):
        problems.append(f"does not use {{{name}}}: {_WHY_REQUIRED.get(name, 'this message needs it')}")
    return problems


def _joins_username(char: str) -> bool:
    """Whether Mattermost would read this character (or placeholder) as part of an @username."""
    return char == _FIELD or char.isalnum() or char == "_"


def _show(char: str) -> str:
    return "another placeholder" if char == _FIELD else repr(char)


def _type(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", list: "a list", dict: "a table",
            str: "a string"}.get(type(value), "a date or time")
