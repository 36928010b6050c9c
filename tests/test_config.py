"""Settings: defaults, console mode, and one clear line per bad variable."""

import pytest

from bot.config import ConfigError, Settings


def test_defaults_are_console_mode_on_sqlite():
    settings = Settings.from_env({})
    assert settings.console_mode
    assert settings.database_url == "sqlite:///nippo.db"
    assert settings.database_kind == "sqlite"
    assert settings.timezone == "UTC" and settings.language == "en" and settings.persona == "emperor"
    assert settings.catchup_minutes == 180 and settings.scheduler


def test_values_are_read_and_normalised():
    settings = Settings.from_env({
        "NIPPO_MATTERMOST_URL": "https://chat.example.com/",
        "NIPPO_COMMAND_TOKENS": " a1 , b2,,",
        "NIPPO_TIMEZONE": "Asia/Tokyo",
        "NIPPO_LANGUAGE": "JA",
        "NIPPO_HOLIDAYS": "jp",
        "NIPPO_SCHEDULER": "off",
        "NIPPO_CATCHUP_MINUTES": "30",
    })
    assert settings.mattermost_url == "https://chat.example.com"
    assert settings.command_tokens == ("a1", "b2")
    assert settings.language == "ja" and settings.holidays == "JP"
    assert not settings.scheduler and settings.catchup_minutes == 30
    assert not settings.console_mode


@pytest.mark.parametrize("variable, value", [
    ("NIPPO_DATABASE_URL", "bogus://x"),
    ("NIPPO_DATABASE_URL", "not a url"),
    ("NIPPO_MATTERMOST_URL", "chat.example.com"),
    ("NIPPO_PUBLIC_URL", "ftp://x"),
    ("NIPPO_TIMEZONE", "Mars/Olympus"),
    ("NIPPO_TIMEZONE", "../../etc/passwd"),
    ("NIPPO_LANGUAGE", "fr"),
    ("NIPPO_HOLIDAYS", "Japan"),
    ("NIPPO_HOLIDAYS", "QQ"),
    ("NIPPO_HOLIDAYS", "UK"),  # an alias the calendar does not take: GB is the code
    ("NIPPO_SCHEDULER", "maybe"),
    ("NIPPO_CATCHUP_MINUTES", "-5"),
    ("NIPPO_CATCHUP_MINUTES", "soon"),
    ("NIPPO_REPORT_SOURCE", "ldap"),
    ("NIPPO_MEMBER_KEY", "phone"),
    ("NIPPO_PERSONA_DIR", "/no/such/folder"),
    ("NIPPO_LOG_FORMAT", "yaml"),
    ("NIPPO_LOG_FORMAT", " "),
])
def test_a_bad_value_names_its_variable(variable, value):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({variable: value})
    assert raised.value.variable == variable
    assert str(raised.value).startswith(variable + ":")
    assert "\n" not in str(raised.value)


@pytest.mark.parametrize("env, variable", [
    ({"NIPPO_REPORT_SOURCE": "sql"}, "NIPPO_REPORT_SOURCE_URL"),
    ({"NIPPO_REPORT_SOURCE": "sql", "NIPPO_REPORT_SOURCE_URL": "sqlite:///x.db"}, "NIPPO_REPORT_SOURCE_QUERY"),
    ({"NIPPO_REPORT_SOURCE": "sql", "NIPPO_REPORT_SOURCE_URL": "sqlite:///x.db",
      "NIPPO_REPORT_SOURCE_QUERY": "SELECT name FROM t"}, "NIPPO_REPORT_SOURCE_QUERY"),
    ({"NIPPO_REPORT_SOURCE": "sql", "NIPPO_REPORT_SOURCE_URL": "sqlite:///x.db",
      "NIPPO_REPORT_SOURCE_QUERY": "DELETE FROM t WHERE d = :work_date"}, "NIPPO_REPORT_SOURCE_QUERY"),
    ({"NIPPO_REPORT_SOURCE": "http", "NIPPO_REPORT_SOURCE_URL": "nowhere"}, "NIPPO_REPORT_SOURCE_URL"),
])
def test_a_report_source_needs_what_it_uses(env, variable):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env(env)
    assert raised.value.variable == variable


def test_require_names_the_missing_variable_outside_console_mode():
    settings = Settings.from_env({"NIPPO_MATTERMOST_URL": "http://mm.local:8065", "NIPPO_BOT_TOKEN": "x"})
    with pytest.raises(ConfigError) as raised:
        settings.require("bot_token", "command_tokens", "secret_key")
    assert raised.value.variable == "NIPPO_COMMAND_TOKENS"
    assert Settings.from_env({}).require("bot_token", "command_tokens")  # console mode needs none


def test_secrets_are_not_in_the_repr():
    settings = Settings.from_env({"NIPPO_MATTERMOST_URL": "http://mm.local",
                                  "NIPPO_BOT_TOKEN": "sekrit-bot", "NIPPO_SECRET_KEY": "sekrit-key" * 4,
                                  "NIPPO_COMMAND_TOKENS": "sekrit-cmd", "NIPPO_API_TOKEN": "sekrit-api" * 4,
                                  "NIPPO_METRICS_TOKEN": "sekrit-metrics" * 3})
    assert "sekrit" not in repr(settings)


# --- half-set configuration -------------------------------------------------

READ_VARIABLES = [
    "NIPPO_DATABASE_URL", "NIPPO_MATTERMOST_URL", "NIPPO_BOT_TOKEN", "NIPPO_COMMAND_TOKENS", "NIPPO_PUBLIC_URL",
    "NIPPO_SECRET_KEY", "NIPPO_API_TOKEN", "NIPPO_TIMEZONE", "NIPPO_LANGUAGE", "NIPPO_PERSONA", "NIPPO_PERSONA_DIR",
    "NIPPO_HOLIDAYS", "NIPPO_SCHEDULER", "NIPPO_CATCHUP_MINUTES", "NIPPO_REPORT_SOURCE", "NIPPO_REPORT_SOURCE_URL",
    "NIPPO_REPORT_SOURCE_QUERY", "NIPPO_REPORT_SOURCE_TOKEN", "NIPPO_MEMBER_KEY", "NIPPO_METRICS_TOKEN",
    "NIPPO_LOG_FORMAT",
]


@pytest.mark.parametrize("variable", READ_VARIABLES)
@pytest.mark.parametrize("blank", ["", "   "])
def test_a_set_but_blank_variable_is_invalid_not_unset(variable, blank):
    configured = {"NIPPO_MATTERMOST_URL": "http://mm.local", "NIPPO_REPORT_SOURCE": "http",
                  "NIPPO_REPORT_SOURCE_URL": "http://reports.local/done"}
    configured.pop(variable, None)
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({**configured, variable: blank})
    assert raised.value.variable == variable
    assert "blank" in str(raised.value) and "\n" not in str(raised.value)


def test_a_blank_mattermost_url_is_never_console_mode():
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"NIPPO_MATTERMOST_URL": "", "NIPPO_COMMAND_TOKENS": "t", "NIPPO_SECRET_KEY": "k" * 32})
    assert raised.value.variable == "NIPPO_MATTERMOST_URL" and "console mode" in str(raised.value)


def test_console_mode_with_a_bot_token_is_refused():
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"NIPPO_BOT_TOKEN": "a-real-token"})
    assert raised.value.variable == "NIPPO_BOT_TOKEN"
    assert "NIPPO_MATTERMOST_URL" in str(raised.value)


def test_command_tokens_that_name_no_token_are_invalid():
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"NIPPO_COMMAND_TOKENS": " , ,"})
    assert raised.value.variable == "NIPPO_COMMAND_TOKENS"


def test_log_format_and_metrics_token():
    assert Settings.from_env({}).log_format == "text" and Settings.from_env({}).metrics_token is None
    settings = Settings.from_env({"NIPPO_LOG_FORMAT": " JSON ", "NIPPO_METRICS_TOKEN": "scrape" * 6})
    assert settings.log_format == "json" and settings.metrics_token == "scrape" * 6


@pytest.mark.parametrize("variable", ["NIPPO_SECRET_KEY", "NIPPO_API_TOKEN", "NIPPO_METRICS_TOKEN"])
def test_a_secret_shorter_than_32_characters_is_refused_without_showing_it(variable):
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({variable: "hunter2-but-longer-31-characters"[:31]})
    message = str(raised.value)
    assert raised.value.variable == variable and "31 characters" in message and "at least 32" in message
    assert "hunter2" not in message and "\n" not in message


@pytest.mark.parametrize("variable, field", [("NIPPO_SECRET_KEY", "secret_key"), ("NIPPO_API_TOKEN", "api_token"),
                                             ("NIPPO_METRICS_TOKEN", "metrics_token")])
def test_a_secret_of_32_characters_is_taken_as_it_is(variable, field):
    assert getattr(Settings.from_env({variable: "s" * 32}), field) == "s" * 32
