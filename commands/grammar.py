"""Slash-command grammar (docs/commands.md): the `text` of each command as a typed value.

Every parser is total: any string gives a command value, `Help` or a
`UsageError` value, never an exception. `today` is the member's local date;
the parsers never read a clock.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from commands.dates import (
    DateSpan, days_ahead, is_date_shaped, is_span_shaped, parse_date, parse_span,
    read_again, read_clock, read_country, read_digest, read_weekdays, read_zone,
)
from commands.tokens import (
    Help, Token, UsageError, read_choice, read_count, read_name, read_switch, tokenize,
    usage_error, username,
)

__all__ = [
    "DateSpan", "FileReport", "Help", "MarkAbsence", "PARSERS", "REPORT_TEXT_LIMIT",
    "ShowStatus", "Subscribe", "TeamAdd", "TeamDaysOff", "TeamLeader", "TeamLink",
    "TeamList", "TeamRemove", "TeamSync", "TeamWeb", "Unsubscribe", "UsageError", "parse_date",
    "parse_report", "parse_report_status", "parse_span", "parse_subscribe",
    "parse_team", "parse_unsubscribe", "read_option", "storable",
]

REPORT_TEXT_LIMIT = 3000
EXTERNAL_ID_LIMIT = 200  # the external_id column
# @users one command may name: each is looked up in Mattermost (a whole
# channel is `/team sync`'s work).
USERS_PER_COMMAND = 200


@dataclass(frozen=True)
class FileReport:
    work_date: date
    text: str | None  # None: open the report dialog


@dataclass(frozen=True)
class MarkAbsence:
    on: bool  # True for `/report on`: cancel the absence
    user: str | None  # username without '@'; None: the caller
    dates: DateSpan


@dataclass(frozen=True)
class ShowStatus:
    work_date: date | None  # None: the work date of today's (or the next) run
    public: bool


@dataclass(frozen=True)
class Subscribe:
    options: dict  # only the options named; empty: show the subscription


@dataclass(frozen=True)
class Unsubscribe:
    pass


@dataclass(frozen=True)
class TeamAdd:
    users: tuple[str, ...]


@dataclass(frozen=True)
class TeamRemove:
    users: tuple[str, ...]


@dataclass(frozen=True)
class TeamLeader:
    user: str


@dataclass(frozen=True)
class TeamList:
    pass


@dataclass(frozen=True)
class TeamSync:
    pass


@dataclass(frozen=True)
class TeamWeb:
    pass


@dataclass(frozen=True)
class TeamLink:
    user: str
    external_id: str


@dataclass(frozen=True)
class TeamDaysOff:
    on: bool  # True for `/team on`: cancel the days off
    dates: DateSpan


def _is_help(tokens: list[Token]) -> bool:
    return len(tokens) == 1 and tokens[0].text.lower() == "help"


# --- /report ----------------------------------------------------------------

def parse_report(text: str, today: date) -> FileReport | MarkAbsence | Help | UsageError:
    tokens = tokenize(text)
    if not tokens:
        return FileReport(today, None)
    head, rest = tokens[0], tokens[1:]
    word = head.text.lower()
    # `off`, `on`, `help` are subcommands only when followed by nothing but
    # dates, ranges and @users; otherwise they begin the report text.
    if word in ("off", "on", "help") and all(
            is_span_shaped(t.text) or username(t.text) for t in rest):
        if word == "help":
            return Help("report")
        return _absence(word == "on", rest, today)
    if is_span_shaped(head.text) and not is_date_shaped(head.text):
        return usage_error("report", "error.bad_date", token=head.text)  # one report, one date
    work_date = parse_date(head.text, today, command="report")
    if isinstance(work_date, UsageError):
        return work_date
    if work_date is None:
        return _file(today, text[head.start:])
    if days_ahead(work_date, today) > 1:
        return usage_error("report", "error.future_date", date=work_date.isoformat())
    return _file(work_date, text[head.end:])


def _file(work_date: date, body: str) -> FileReport | UsageError:
    body = body.lstrip()  # the separator only: the text itself is kept verbatim
    if not body:
        return FileReport(work_date, None)
    if len(body) > REPORT_TEXT_LIMIT:
        return usage_error("report", "error.text_too_long", limit=REPORT_TEXT_LIMIT, length=len(body))
    if not storable(body):
        return usage_error("report", "error.bad_characters")
    return FileReport(work_date, body)


def storable(text: str) -> bool:
    """Text both databases can keep: no NUL (PostgreSQL refuses it) and no
    lone surrogates (they are not UTF-8)."""
    return "\x00" not in text and not any("\ud800" <= c <= "\udfff" for c in text)


def _absence(on: bool, args: list[Token], today: date) -> MarkAbsence | UsageError:
    user: str | None = None
    span: DateSpan | None = None
    for token in args:
        name = username(token.text)
        if name is not None and user is None:
            user = name
        elif name is None and span is None:
            got = parse_span(token.text, today, command="report")
            if isinstance(got, UsageError):
                return got
            span = got
        else:
            return usage_error("report", "error.unknown_option", token=token.text)
    return MarkAbsence(on, user, span or DateSpan(today, today))


# --- /report-status ---------------------------------------------------------

def parse_report_status(text: str, today: date) -> ShowStatus | Help | UsageError:
    tokens = tokenize(text)
    if _is_help(tokens):
        return Help("report-status")
    work_date: date | None = None
    public = False
    for token in tokens:
        if token.text.lower() == "public":
            if public:
                return usage_error("report-status", "error.given_twice", option="public")
            public = True
            continue
        got = parse_date(token.text, today, command="report-status")
        if isinstance(got, UsageError):
            return got
        if got is None and is_span_shaped(token.text):
            return usage_error("report-status", "error.bad_date", token=token.text)
        if got is None or work_date is not None:
            return usage_error("report-status", "error.unknown_option", token=token.text)
        if days_ahead(got, today) > 1:
            return usage_error("report-status", "error.future_date", date=got.isoformat())
        work_date = got
    return ShowStatus(work_date, public)


# --- /subscribe, /unsubscribe -----------------------------------------------

# option -> (reader, what the usage line says it takes)
_OPTIONS = {
    "at": (read_clock, "HH:MM (00:00-23:59)"),
    "tz": (read_zone, "ZONE"),
    "days": (read_weekdays, "mon-fri | mon,wed,fri"),
    "to": (read_choice("dm", "channel", "both"), "dm|channel|both"),
    "persona": (read_name, "NAME"),
    "lang": (read_choice("en", "ja"), "en|ja"),
    "holidays": (read_country, "CC|none"),
    "check": (read_choice("previous", "same-day"), "previous|same-day"),
    "escalate": (lambda value: read_count(value, 365), "0-365"),
    "mention": (read_switch, "on|off"),
    "again": (read_again, "HH:MM,HH:MM,... (at most 3) | off"),
    "digest": (read_digest, "DAY HH:MM (e.g. fri 17:00) | off"),
}


def parse_subscribe(text: str) -> Subscribe | Help | UsageError:
    tokens = tokenize(text)
    if _is_help(tokens):
        return Help("subscribe")
    options: dict = {}
    i = 0
    while i < len(tokens):
        name = tokens[i].text.lower()
        if name not in _OPTIONS:
            return usage_error("subscribe", "error.unknown_option", token=tokens[i].text)
        expected = _OPTIONS[name][1]
        if i + 1 == len(tokens):
            return usage_error("subscribe", "error.bad_value", option=name, value="", expected=expected)
        value = tokens[i + 1].text
        i += 2
        if name in ("days", "again"):  # `days mon, wed, fri`: a list may be typed with spaces
            while i < len(tokens) and (value.endswith(",") or tokens[i].text.startswith(",")):
                value += tokens[i].text
                i += 1
        if name == "digest" and value.lower() != "off" and i < len(tokens):  # `digest fri 17:00`: two words
            value += " " + tokens[i].text
            i += 1
        if name in options:
            return usage_error("subscribe", "error.given_twice", option=name)
        got = read_option(name, value)
        if isinstance(got, UsageError):
            return got
        options[name] = got
    return Subscribe(options)


def read_option(name: str, value: str):
    """One `/subscribe` option's value as the command reads it, or the
    UsageError it earns; the web settings form reads its fields with this."""
    read, expected = _OPTIONS[name]
    try:
        return read(value)
    except ValueError:
        if name == "tz":
            return usage_error("subscribe", "error.bad_timezone", value=value)
        return usage_error("subscribe", "error.bad_value", option=name, value=value, expected=expected)


def parse_unsubscribe(text: str) -> Unsubscribe | Help | UsageError:
    tokens = tokenize(text)
    if not tokens:
        return Unsubscribe()
    if _is_help(tokens):
        return Help("unsubscribe")
    return usage_error("unsubscribe", "error.unknown_option", token=tokens[0].text)


# --- /team --------------------------------------------------------------------

TeamCommand = TeamAdd | TeamRemove | TeamLeader | TeamList | TeamSync | TeamLink | TeamDaysOff | TeamWeb


def parse_team(text: str, today: date) -> TeamCommand | Help | UsageError:
    tokens = tokenize(text)
    if not tokens or tokens[0].text.lower() == "help":
        return Help("team")
    verb, args = tokens[0].text.lower(), [t.text for t in tokens[1:]]
    if verb in ("add", "remove"):
        return _team_users(verb, args)
    if verb in ("list", "sync", "web"):
        if args:
            return usage_error("team", "error.unknown_option", token=args[0])
        return {"list": TeamList, "sync": TeamSync, "web": TeamWeb}[verb]()
    if verb == "leader":
        return _team_leader(args)
    if verb == "link":
        return _team_link(args)
    if verb in ("off", "on"):
        return _team_days_off(verb, args, today)
    return usage_error("team", "error.unknown_option", token=tokens[0].text)


def _team_users(verb: str, args: list[str]) -> TeamAdd | TeamRemove | UsageError:
    # `@a,@b` and `@a, @b` read like `@a @b`.
    words = [w for arg in args for w in arg.split(",") if w]
    if not words:
        return usage_error("team", "error.bad_value", option=verb, value="", expected="@user")
    users: dict[str, None] = {}  # in the order given, each once: linear however many are typed
    for word in words:
        name = username(word)
        if name is None:
            return usage_error("team", "error.bad_value", option=verb, value=word, expected="@user")
        users[name] = None
    if len(users) > USERS_PER_COMMAND:
        return usage_error("team", "error.too_many_users", count=len(users), limit=USERS_PER_COMMAND)
    return TeamAdd(tuple(users)) if verb == "add" else TeamRemove(tuple(users))


def _team_leader(args: list[str]) -> TeamLeader | UsageError:
    if not args or username(args[0]) is None:
        value = args[0] if args else ""
        return usage_error("team", "error.bad_value", option="leader", value=value, expected="@user")
    if len(args) > 1:
        if username(args[1]) is not None:
            return usage_error("team", "error.one_user", option="leader", token=args[1])
        return usage_error("team", "error.unknown_option", token=args[1])
    return TeamLeader(username(args[0]))


def _team_link(args: list[str]) -> TeamLink | UsageError:
    expected = "@user EXTERNAL_ID"
    if not args or username(args[0]) is None:
        value = args[0] if args else ""
        return usage_error("team", "error.bad_value", option="link", value=value, expected=expected)
    if len(args) == 1 or len(args[1]) > EXTERNAL_ID_LIMIT or not _storable_id(args[1]):
        value = args[1] if len(args) > 1 else ""
        return usage_error("team", "error.bad_value", option="link", value=value, expected=expected)
    if len(args) > 2:
        return usage_error("team", "error.unknown_option", token=args[2])
    return TeamLink(username(args[0]), args[1])


def _storable_id(value: str) -> bool:
    """An id another system gave: printable, and storable by both databases."""
    return value.isprintable() and storable(value)


def _team_days_off(verb: str, args: list[str], today: date) -> TeamDaysOff | UsageError:
    if not args:
        return usage_error("team", "error.bad_value", option=verb, value="", expected="DATE | DATE..DATE")
    span = parse_span(args[0], today, command="team")
    if span is None:
        return usage_error("team", "error.bad_date", token=args[0])
    if isinstance(span, UsageError):
        return span
    if len(args) > 1:
        return usage_error("team", "error.unknown_option", token=args[1])
    return TeamDaysOff(verb == "on", span)


# Every parser by trigger, called as parser(text, today).
PARSERS = {
    "/report": parse_report,
    "/report-status": parse_report_status,
    "/subscribe": lambda text, today: parse_subscribe(text),
    "/unsubscribe": lambda text, today: parse_unsubscribe(text),
    "/team": parse_team,
}
