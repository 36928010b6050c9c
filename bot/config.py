"""Settings read once from the environment and validated before anything starts.

A bad value stops start-up with one line naming the variable (exit status 2,
see ``bot.cli``); nothing later has to wonder whether a setting makes sense.
Each CLI verb asks only for what it uses through ``require``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Mapping
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

LANGUAGES = ("en", "ja")
# What to say instead of a blank value, where the wish behind it is a guess.
_BLANK_HINTS = {
    "NIPPO_MATTERMOST_URL": " (unset means console mode)",
    "NIPPO_HOLIDAYS": " (none means no public holidays)",
}
REPORT_SOURCES = ("builtin", "sql", "http")
MEMBER_KEYS = ("username", "email", "external_id")
SUPPORTED_DATABASES = ("sqlite", "postgresql")
LOG_FORMATS = ("text", "json")
# The secrets nippo itself checks (an HMAC key, two bearer tokens): a short
# one can be guessed. 32 characters of url-safe randomness are 192 bits.
MIN_SECRET_LENGTH = 32
_MAKE_A_SECRET = "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"


class ConfigError(Exception):
    """A setting that cannot be used; the message names the variable."""

    def __init__(self, variable: str, problem: str):
        super().__init__(f"{variable}: {problem}")
        self.variable = variable


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite:///nippo.db"
    mattermost_url: str | None = None
    bot_token: str | None = field(default=None, repr=False)
    command_tokens: tuple[str, ...] = field(default=(), repr=False)
    public_url: str = "http://localhost:8080"
    secret_key: str | None = field(default=None, repr=False)
    api_token: str | None = field(default=None, repr=False)
    timezone: str = "UTC"
    language: str = "en"
    persona: str = "emperor"
    persona_dir: str | None = None
    holidays: str | None = None
    scheduler: bool = True
    catchup_minutes: int = 180
    report_source: str = "builtin"
    report_source_url: str | None = field(default=None, repr=False)
    report_source_query: str | None = None
    report_source_token: str | None = field(default=None, repr=False)
    member_key: str = "username"
    metrics_token: str | None = field(default=None, repr=False)
    log_format: str = "text"
    oauth_client_id: str | None = None
    oauth_client_secret: str | None = field(default=None, repr=False)

    @property
    def oauth_enabled(self) -> bool:
        """"Sign in with Mattermost" on the web pages (both settings are given, or neither)."""
        return bool(self.oauth_client_id and self.oauth_client_secret)

    @property
    def console_mode(self) -> bool:
        return not self.mattermost_url

    @property
    def database_kind(self) -> str:
        return make_url(self.database_url).get_backend_name()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> "Settings":
        env = os.environ if env is None else env
        return _read(env)

    def require(self, *names: str) -> "Settings":
        """Refuse to go on without the named settings (outside console mode)."""
        if self.console_mode:
            return self
        for name in names:
            if not getattr(self, name):
                variable = "NIPPO_" + name.upper()
                raise ConfigError(variable, "is required when NIPPO_MATTERMOST_URL is set")
        return self


def _secret(get, variable: str) -> str | None:
    """A key or token nippo checks: unset, or long enough not to be guessed.
    The message says how long it is, never what it is."""
    value = get(variable)
    if value is not None and len(value) < MIN_SECRET_LENGTH:
        raise ConfigError(variable, f"is {len(value)} characters long; use at least {MIN_SECRET_LENGTH} random ones, "
                                    f"for example from: {_MAKE_A_SECRET}")
    return value


def _read(env: Mapping[str, str]) -> Settings:
    def get(name: str) -> str | None:
        """The variable's value; None when unset. Set but blank is a mistake, never "unset":
        a blank NIPPO_MATTERMOST_URL must not quietly mean console mode."""
        value = env.get(name)
        if value is None:
            return None
        value = value.strip()
        if not value:
            raise ConfigError(name, "is set but blank: give it a value, or unset it" + _BLANK_HINTS.get(name, ""))
        return value

    database_url = _database_url(get("NIPPO_DATABASE_URL") or Settings.database_url)
    mattermost_url = get("NIPPO_MATTERMOST_URL")
    if mattermost_url is not None:
        _http_url("NIPPO_MATTERMOST_URL", mattermost_url)
        mattermost_url = mattermost_url.rstrip("/")
    public_url = get("NIPPO_PUBLIC_URL") or Settings.public_url
    _http_url("NIPPO_PUBLIC_URL", public_url)

    bot_token = get("NIPPO_BOT_TOKEN")
    if mattermost_url is None and bot_token is not None:
        # Half a configuration: without this, posts meant for Mattermost would be printed and called "sent".
        raise ConfigError("NIPPO_BOT_TOKEN", "is set but NIPPO_MATTERMOST_URL is not: set NIPPO_MATTERMOST_URL, "
                                             "or unset NIPPO_BOT_TOKEN for console mode")

    tokens_raw = get("NIPPO_COMMAND_TOKENS")
    tokens = tuple(t.strip() for t in (tokens_raw or "").split(",") if t.strip())
    if tokens_raw is not None and not tokens:
        raise ConfigError("NIPPO_COMMAND_TOKENS", f"names no token: {tokens_raw!r}")

    timezone = get("NIPPO_TIMEZONE") or Settings.timezone
    if not valid_timezone(timezone):
        raise ConfigError("NIPPO_TIMEZONE", f"unknown time zone {timezone!r} (use an IANA name such as Asia/Tokyo)")

    language = (get("NIPPO_LANGUAGE") or Settings.language).lower()
    if language not in LANGUAGES:
        raise ConfigError("NIPPO_LANGUAGE", f"must be one of {', '.join(LANGUAGES)}, not {language!r}")

    persona = get("NIPPO_PERSONA") or Settings.persona
    persona_dir = get("NIPPO_PERSONA_DIR")
    if persona_dir is not None and not os.path.isdir(persona_dir):
        raise ConfigError("NIPPO_PERSONA_DIR", f"{persona_dir!r} is not a folder")

    holidays_cc = get("NIPPO_HOLIDAYS")
    if holidays_cc is not None:
        holidays_cc = holidays_cc.upper()
        if holidays_cc == "NONE":
            holidays_cc = None
        elif not re.fullmatch(r"[A-Z]{2}", holidays_cc):
            raise ConfigError("NIPPO_HOLIDAYS", f"must be a two-letter country code such as JP, not {holidays_cc!r}")
        elif not _holiday_country_known(holidays_cc):
            raise ConfigError("NIPPO_HOLIDAYS", f"no public-holiday calendar for {holidays_cc!r}")

    scheduler = (get("NIPPO_SCHEDULER") or "on").lower()
    if scheduler not in ("on", "off"):
        raise ConfigError("NIPPO_SCHEDULER", f"must be on or off, not {scheduler!r}")

    catchup_raw = get("NIPPO_CATCHUP_MINUTES") or str(Settings.catchup_minutes)
    if not re.fullmatch(r"[0-9]{1,5}", catchup_raw) or not 0 <= int(catchup_raw) <= 24 * 60:
        raise ConfigError("NIPPO_CATCHUP_MINUTES", f"must be a whole number of minutes from 0 to 1440, not {catchup_raw!r}")

    source = (get("NIPPO_REPORT_SOURCE") or "builtin").lower()
    if source not in REPORT_SOURCES:
        raise ConfigError("NIPPO_REPORT_SOURCE", f"must be one of {', '.join(REPORT_SOURCES)}, not {source!r}")
    source_url = get("NIPPO_REPORT_SOURCE_URL")
    source_query = get("NIPPO_REPORT_SOURCE_QUERY")
    if source != "builtin" and not source_url:
        raise ConfigError("NIPPO_REPORT_SOURCE_URL", f"is required when NIPPO_REPORT_SOURCE is {source}")
    if source == "sql":
        _database_url(source_url, variable="NIPPO_REPORT_SOURCE_URL", any_dialect=True)
        if not source_query:
            raise ConfigError("NIPPO_REPORT_SOURCE_QUERY", "is required when NIPPO_REPORT_SOURCE is sql")
        if "work_date" not in _bind_names(source_query):
            raise ConfigError("NIPPO_REPORT_SOURCE_QUERY", "must use the parameter :work_date "
                                                           "(write a cast as CAST(:work_date AS text), not :work_date::text)")
        if not re.match(r"\s*(select|with)\b", source_query, re.IGNORECASE):
            raise ConfigError("NIPPO_REPORT_SOURCE_QUERY", "must be a SELECT")
    if source == "http":
        _http_url("NIPPO_REPORT_SOURCE_URL", source_url)

    member_key = (get("NIPPO_MEMBER_KEY") or "username").lower()
    if member_key not in MEMBER_KEYS:
        raise ConfigError("NIPPO_MEMBER_KEY", f"must be one of {', '.join(MEMBER_KEYS)}, not {member_key!r}")

    log_format = read_log_format(env)
    oauth_client_id, oauth_client_secret = _oauth(get, mattermost_url)

    return Settings(
        database_url=database_url,
        mattermost_url=mattermost_url,
        bot_token=bot_token,
        command_tokens=tokens,
        public_url=public_url.rstrip("/"),
        secret_key=_secret(get, "NIPPO_SECRET_KEY"),
        api_token=_secret(get, "NIPPO_API_TOKEN"),
        timezone=timezone,
        language=language,
        persona=persona,
        persona_dir=persona_dir,
        holidays=holidays_cc,
        scheduler=scheduler == "on",
        catchup_minutes=int(catchup_raw),
        report_source=source,
        report_source_url=source_url,
        report_source_query=source_query,
        report_source_token=get("NIPPO_REPORT_SOURCE_TOKEN"),
        member_key=member_key,
        metrics_token=_secret(get, "NIPPO_METRICS_TOKEN"),
        log_format=log_format,
        oauth_client_id=oauth_client_id,
        oauth_client_secret=oauth_client_secret,
    )


def read_log_format(env: Mapping[str, str] | None = None) -> str:
    """``NIPPO_LOG_FORMAT`` alone: logging is set up before a verb reads the settings it needs."""
    env = os.environ if env is None else env
    raw = env.get("NIPPO_LOG_FORMAT")
    if raw is not None and not raw.strip():
        raise ConfigError("NIPPO_LOG_FORMAT", "is set but blank: give it a value, or unset it")
    value = "text" if raw is None else raw.strip().lower()
    if value not in LOG_FORMATS:
        raise ConfigError("NIPPO_LOG_FORMAT", f"must be one of {', '.join(LOG_FORMATS)}, not {raw.strip()!r}")
    return value


def _oauth(get, mattermost_url: str | None) -> tuple[str | None, str | None]:
    """A Mattermost OAuth 2.0 app: both halves or neither, and a Mattermost to sign in with."""
    client_id, secret = get("NIPPO_OAUTH_CLIENT_ID"), get("NIPPO_OAUTH_CLIENT_SECRET")
    if client_id is None and secret is None:
        return None, None
    if client_id is None:
        raise ConfigError("NIPPO_OAUTH_CLIENT_ID", "is required when NIPPO_OAUTH_CLIENT_SECRET is set (set both or neither)")
    if secret is None:
        raise ConfigError("NIPPO_OAUTH_CLIENT_SECRET", "is required when NIPPO_OAUTH_CLIENT_ID is set (set both or neither)")
    if mattermost_url is None:
        raise ConfigError("NIPPO_OAUTH_CLIENT_ID", "needs NIPPO_MATTERMOST_URL: console mode has no Mattermost to sign in with")
    if not re.fullmatch(r"[a-z0-9]{26}", client_id):
        raise ConfigError("NIPPO_OAUTH_CLIENT_ID", "must be the app's 26-character Client ID as Mattermost shows it")
    return client_id, secret


def valid_timezone(name: str) -> bool:
    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def _bind_names(query: str) -> set[str]:
    from sqlalchemy import text

    try:
        return set(text(query).compile().binds)
    except Exception:  # an unparseable query has no usable parameter either
        return set()


def _holiday_country_known(code: str) -> bool:
    from bot.calendar import supported_countries

    # The calendar's own list (ISO codes, no aliases such as UK): what it accepts, and nothing else.
    return code in supported_countries()


def _http_url(variable: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(variable, f"must be an http(s) URL, not {value!r}")


def _database_url(value: str, variable: str = "NIPPO_DATABASE_URL", any_dialect: bool = False) -> str:
    try:
        url = make_url(value)
    except (ArgumentError, ValueError):
        raise ConfigError(variable, "is not a database URL (for example sqlite:///nippo.db or postgresql://user@host/db)") from None
    if not any_dialect and url.get_backend_name() not in SUPPORTED_DATABASES:
        raise ConfigError(variable, f"unsupported database {url.get_backend_name()!r} (use sqlite or postgresql)")
    return value
