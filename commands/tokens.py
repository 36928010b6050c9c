"""The words of the slash-command grammar, and the two answers every parser may give.

Commands are split on whitespace to read options, but every token keeps its
offsets so that report TEXT can be sliced verbatim from what the user typed.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field


@dataclass(frozen=True)
class UsageError:
    """What was wrong with a command's text, as a persona message key and its placeholders.

    A value, never raised: the handler renders it with the usage line of `command`.
    """

    command: str
    key: str
    params: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Help:
    """The user asked for (or earned) the usage of `command`."""

    command: str


@dataclass(frozen=True)
class Token:
    text: str
    start: int
    end: int


# \S and str.lstrip() agree on what whitespace is (str.isspace), which
# includes the ideographic space Japanese keyboards type.
_WORD = re.compile(r"\S+")

# Mattermost usernames are lower-case letters, digits, '.', '-' and '_';
# upper case is accepted and folded, since the server stores them folded.
_USER = re.compile(r"@([A-Za-z0-9][A-Za-z0-9._-]{0,63})")


def tokenize(text: str) -> list[Token]:
    return [Token(m.group(), m.start(), m.end()) for m in _WORD.finditer(text)]


def username(token: str) -> str | None:
    """`@Bob` -> 'bob'; None when the token is not an @user."""
    match = _USER.fullmatch(token)
    return match.group(1).lower() if match else None


def usage_error(command: str, key: str, **params) -> UsageError:
    return UsageError(command, key, params)


# --- option values: readers raise ValueError for a value they refuse ----------

def read_choice(*allowed: str):
    """A reader accepting one of `allowed`, case-insensitively, returned lower-cased."""
    def read(value: str) -> str:
        if value.lower() not in allowed:
            raise ValueError(value)
        return value.lower()
    return read


def read_switch(value: str) -> bool:
    return read_choice("on", "off")(value) == "on"


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def read_name(value: str) -> str:
    """A bare name such as a persona's: never a path, so a lookup by it stays in its folder."""
    if not _NAME.fullmatch(value):
        raise ValueError(value)
    return value


def read_count(value: str, most: int) -> int:
    """A whole number 0..most in ASCII digits."""
    # Length first: int() of thousands of digits is slow, and then refused.
    if not (value.isascii() and value.isdigit() and len(value.lstrip("0")) <= len(str(most))):
        raise ValueError(value)
    if int(value) > most:
        raise ValueError(value)
    return int(value)
