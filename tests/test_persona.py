"""persona/: every word nippo says (persona/README.md), checked before it is ever said."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from persona import (
    MESSAGE_KEYS,
    PersonaError,
    check_file,
    inert,
    load_registry,
    mention,
    name,
    quote,
)
from persona.keys import COMMON_KEYS, KEYS, LANGUAGES, VOICE_KEYS
from persona.loader import BUILTIN_DIR
from persona.check import _variant_problems
from persona.render import ZWSP, join, pick

BUILTIN_PERSONAS = ("emperor", "plain", "polite")
BUILTIN_FILES = sorted(BUILTIN_DIR.glob("*.toml"))


@pytest.fixture(scope="module")
def registry():
    return load_registry(None)


def dummy_params(key: str) -> dict[str, str]:
    return {placeholder: f"<{placeholder}>" for placeholder in MESSAGE_KEYS[key]}


def write_persona(path: Path, data: dict) -> Path:
    """A persona file with every message as a quoted dotted key (the other layout the loader accepts)."""

    def value(item):
        if isinstance(item, list):
            return "[" + ", ".join(value(element) for element in item) + "]"
        if isinstance(item, bool):
            return "true" if item else "false"
        return json.dumps(item)  # a JSON string or number is a TOML basic string or number

    lines = [f"{key} = {value(item)}" for key, item in data.items() if not isinstance(item, dict)]
    for language, messages in data.items():
        if isinstance(messages, dict):
            lines.append(f"[{language}]")
            lines += [f"{json.dumps(key)} = {value(item)}" for key, item in messages.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def flat(table: dict, prefix: str = "") -> dict:
    out = {}
    for key, item in table.items():
        if isinstance(item, dict):
            out.update(flat(item, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = item
    return out


def plain_persona(**settings) -> dict:
    """The built-in plain persona as a dict with flat keys, renamed so it can sit beside it."""
    data = tomllib.loads((BUILTIN_DIR / "plain.toml").read_text(encoding="utf-8"))
    persona = {"name": "custom", "display_name": "Custom"}
    persona.update(settings)
    for language in LANGUAGES:
        persona[language] = flat(data[language])
    return persona


# --- the built-ins -------------------------------------------------------------


def test_builtin_personas_are_emperor_polite_and_plain(registry):
    assert registry.names() == list(BUILTIN_PERSONAS)


@pytest.mark.parametrize("persona_name", BUILTIN_PERSONAS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_builtin_persona_has_every_voice_key_in_every_language(registry, persona_name, language):
    assert set(registry.get(persona_name).texts[language]) == VOICE_KEYS


@pytest.mark.parametrize("path", BUILTIN_FILES, ids=lambda path: path.name)
def test_every_builtin_file_passes_check_file(path):
    assert check_file(path) == []


@pytest.mark.parametrize("persona_name", BUILTIN_PERSONAS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_variant_of_every_key_renders_with_its_placeholders(registry, persona_name, language):
    persona = registry.get(persona_name)
    for key in KEYS:
        params = dummy_params(key)
        for variant in persona.variants(key, language):
            text = variant.format_map(params)
            assert "{" not in text and "}" not in text, (key, variant)
            for placeholder in re.findall(r"\{(\w+)\}", variant):
                assert f"<{placeholder}>" in text
        assert persona.say(key, language, seed="any", **params)


@pytest.mark.parametrize("persona_name", BUILTIN_PERSONAS)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_reminder_shows_the_command(registry, persona_name, language):
    persona = registry.get(persona_name)
    for key in (key for key in KEYS if key.startswith("reminder.")):
        for variant in persona.variants(key, language):
            assert "{command}" in variant, (key, variant)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_emperor_varies_his_mornings(registry, language):
    emperor = registry.get("emperor")
    for key in ("reminder.channel", "reminder.dm", "praise"):
        assert len(emperor.variants(key, language)) >= 4, key
    assert len(emperor.variants("reminder.stern", language)) >= 3


def test_the_emperor_tells_you_his_power_level(registry):
    emperor = registry.get("emperor")
    english = " ".join(text for key in KEYS for text in emperor.variants(key, "en"))
    japanese = " ".join(text for key in KEYS for text in emperor.variants(key, "ja"))
    assert "530,000" in english
    assert "私の戦闘力は53万です" in japanese and "ホーッホッホッホ" in japanese
    assert "{mentions} さん" in japanese and "{mentions}さん" not in japanese


@pytest.mark.parametrize("language", LANGUAGES)
def test_common_texts_cover_usage_help_and_labels(registry, language):
    persona = registry.get("plain")
    for key in COMMON_KEYS:
        assert persona.say(key, language)
    assert "/report-status [DATE] [public]" in persona.say("usage.report_status", language)


# --- rendering -----------------------------------------------------------------


def test_the_same_seed_renders_the_same_text(registry):
    emperor = registry.get("emperor")
    params = dummy_params("reminder.dm")
    first = emperor.say("reminder.dm", "en", seed="run-7:alice", **params)
    assert all(emperor.say("reminder.dm", "en", seed="run-7:alice", **params) == first for _ in range(5))


def test_many_seeds_use_more_than_one_variant(registry):
    emperor = registry.get("emperor")
    params = dummy_params("reminder.channel")
    texts = {emperor.say("reminder.channel", "ja", seed=f"run-{n}", **params) for n in range(50)}
    assert len(texts) > 1


def test_the_variant_choice_is_pinned_to_a_stable_hash(registry):
    # sha256 of (persona, key, seed), not hash(): the same in every process, whatever PYTHONHASHSEED.
    assert [pick(4, "emperor", "praise", str(n)) for n in range(8)] == [1, 2, 0, 3, 3, 1, 0, 3]
    emperor = registry.get("emperor")
    variants = emperor.variants("praise", "en")
    expected = variants[pick(len(variants), "emperor", "praise", "run-1")].format(date="2026-03-04", count=5)
    assert emperor.say("praise", "en", seed="run-1", date="2026-03-04", count=5) == expected


def test_a_missing_param_is_a_key_error_naming_key_and_placeholder(registry):
    with pytest.raises(KeyError, match=r"reminder\.dm.*command"):
        registry.get("plain").say("reminder.dm", "en", name="x", date="2026-03-04")


def test_extra_params_are_ignored(registry):
    text = registry.get("plain").say("report.filed", "en", date="2026-03-04", unused="x")
    assert "2026-03-04" in text


def test_an_unknown_key_is_a_key_error(registry):
    with pytest.raises(KeyError, match="no.such"):
        registry.get("plain").say("no.such", "en")


@pytest.mark.parametrize("lang, expected", [("ja", "受け付けました"), ("ja-JP", "受け付けました"),
                                            ("en", "Filed"), ("fr", "Filed"), (None, "Filed")])
def test_unknown_language_falls_back_to_english(registry, lang, expected):
    assert expected in registry.get("plain").say("report.filed", lang, date="2026-03-04")


# --- mention safety ------------------------------------------------------------


@pytest.mark.parametrize("text", ["@channel", "@all", "@here", "<!channel>", "<!here|here>", "@alice", "hi @bob."])
def test_inert_text_never_pings(text):
    out = inert(text)
    assert not re.search(r"@[\w.-]", out)
    assert "<!" not in out
    assert out.replace(ZWSP, "") == text


@pytest.mark.parametrize("text, expected", [
    ("**bold**", r"\*\*bold\*\*"),
    ("```\nfence", "\\`\\`\\`\nfence"),
    ("[link](http://x)", r"\[link\](http://x)"),
    ("~~gone~~ a_b", r"\~\~gone\~\~ a\_b"),
    ("back\\slash", "back\\\\slash"),
    ("3-4 hours: fixed #12 > done", "3-4 hours: fixed #12 > done"),
])
def test_inert_text_cannot_break_the_formatting_around_it(text, expected):
    assert inert(text) == expected


@given(st.text())
def test_inert_never_leaves_a_live_mention(text):
    out = inert(text)
    assert not re.search(f"@(?!{ZWSP})", out)
    assert "<!" not in out


def test_quote_shows_report_text_verbatim_in_a_block_quote():
    assert quote("line @here\n\n**two**") == f"> line @{ZWSP}here\n>\n> \\*\\*two\\*\\*"


def test_mention_pings_and_name_does_not():
    assert mention("alice") == "@alice"
    assert mention("@alice.b-c_d") == "@alice.b-c_d"
    assert name("alice") == f"@{ZWSP}alice"
    assert name("@alice") == f"@{ZWSP}alice"


@pytest.mark.parametrize("username", ["channel", "all", "here", "x y", "<!channel>", "", "all.", "channel-", "here_",
                                      "ALL:", "here.-_:"])
def test_mention_of_something_that_is_no_username_never_pings(username):
    assert not re.search(r"@[\w.-]", mention(username))


def test_join_lists_names_the_way_each_language_does():
    assert join(["@a", "@b"], "en") == "@a, @b"
    assert join(["@a", "@b"], "ja") == "@a、@b"


# --- check_file ----------------------------------------------------------------


def test_a_persona_file_with_nested_or_quoted_keys_is_accepted(tmp_path):
    path = write_persona(tmp_path / "custom.toml", plain_persona(icon_url="https://example.com/i.png"))
    assert check_file(path) == []


def test_mentions_followed_by_a_space_then_san_is_accepted(tmp_path):
    data = plain_persona()
    data["ja"]["reminder.channel"] = ["{mentions} さん、{date} の日報をお願いします。`{command}`"]
    assert check_file(write_persona(tmp_path / "custom.toml", data)) == []


def test_mentions_directly_followed_by_san_is_refused_with_the_fix(tmp_path):
    data = plain_persona()
    data["ja"]["reminder.channel"] = ["{mentions}さん、{date} の日報をお願いします。`{command}`"]
    path = write_persona(tmp_path / "custom.toml", data)
    [problem] = check_file(path)
    assert problem.file == str(path) and problem.key == "ja.reminder.channel"
    assert "{mentions} さん" in problem.reason
    assert str(problem).startswith(f"{path}: ja.reminder.channel: ")


def _break(key: str, variants):
    def mutate(data):
        language, message = key.split(".", 1)
        data[language][message] = variants
    return mutate


def _drop(key: str):
    def mutate(data):
        language, message = key.split(".", 1)
        del data[language][message]
    return mutate


def _set(setting: str, value):
    def mutate(data):
        data[setting] = value
    return mutate


REFUSED = {
    "missing key": (_drop("ja.praise"), "ja.praise", "missing"),
    "unknown placeholder": (_break("en.report.filed", ["Filed {date} {when}"]), "en.report.filed", "unknown placeholder {when}"),
    "empty variant list": (_break("en.praise", []), "en.praise", "no variants"),
    "empty string": (_break("en.praise", ["ok", "  "]), "en.praise", "variant 2 is empty"),
    "variant not a string": (_break("en.praise", [42]), "en.praise", "not a string"),
    "unbalanced brace": (_break("en.report.filed", ["Filed {date"]), "en.report.filed", "unbalanced braces"),
    "stray closing brace": (_break("en.report.filed", ["Filed {date}}"]), "en.report.filed", "unbalanced braces"),
    "format spec": (_break("en.report.filed", ["Filed {date:>12}"]), "en.report.filed", "format specs"),
    "conversion": (_break("en.report.filed", ["Filed {date!r}"]), "en.report.filed", "conversions"),
    "attribute access": (_break("en.report.filed", ["Filed {date.year}"]), "en.report.filed", "attribute"),
    "index access": (_break("en.report.filed", ["Filed {date[0]}"]), "en.report.filed", "index"),
    "positional": (_break("en.report.filed", ["Filed {0}"]), "en.report.filed", "positional"),
    "empty braces": (_break("en.report.filed", ["Filed {}"]), "en.report.filed", "positional"),
    "mention glued to kana": (_break("ja.reminder.channel", ["{mentions}さん `{command}`"]),
                              "ja.reminder.channel", "write `{mentions} さん`"),
    "mention glued to a letter": (_break("en.reminder.channel", ["{mentions}s: `{command}`"]),
                                  "en.reminder.channel", "put a space after it"),
    "mention glued to a placeholder": (_break("en.reminder.channel", ["{mentions}{count} `{command}`"]),
                                       "en.reminder.channel", "another placeholder"),
    "letter glued before a mention": (_break("ja.reminder.channel", ["皆さん{mentions} `{command}`"]),
                                      "ja.reminder.channel", "put a space before it"),
    "reminder without command": (_break("en.reminder.dm", ["You forgot {date}."]), "en.reminder.dm", "{command}"),
    "channel reminder without mentions": (_break("en.reminder.channel", ["Missing: `{command}`"]),
                                          "en.reminder.channel", "{mentions}"),
    "unknown message key": (_break("en.reminder.chanel", ["x"]), "en.reminder.chanel", "did you mean reminder.channel"),
    "dialog title too long": (_break("en.dialog.title", ["A dialog title far too long"]), "en.dialog.title", "at most 24"),
    "japanese title of 9 characters": (_break("ja.dialog.title", ["業務日報の提出です"]), "ja.dialog.title", "27 bytes"),
    "japanese label over 24 bytes": (_break("ja.dialog.date_label", ["報告の対象となる日付"]), "ja.dialog.date_label",
                                     "at most 24 bytes"),
    "japanese help over 150 bytes": (_break("ja.dialog.text_help", ["改" * 51]), "ja.dialog.text_help", "153 bytes"),
    "display name too long": (_set("display_name", "x" * 65), "display_name", "at most 64"),
    "icon url not http": (_set("icon_url", "ftp://example.com/i.png"), "icon_url", "http"),
    "bad persona name": (_set("name", "Bad Name"), "name", "lowercase"),
    "unknown language": (_set("fr", {"praise": ["Bravo"]}), "fr", "unknown language"),
}


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_check_file_refuses_with_file_key_and_reason(tmp_path, case):
    mutate, key, reason = REFUSED[case]
    data = plain_persona()
    mutate(data)
    path = write_persona(tmp_path / "custom.toml", data)
    problems = check_file(path)
    assert problems, case
    assert any(p.file == str(path) and p.key == key and reason in p.reason for p in problems), problems
    assert any(str(p) == f"{path}: {key}: {p.reason}" for p in problems)


def test_a_japanese_dialog_title_of_8_characters_fits_in_24_bytes(tmp_path):
    data = plain_persona()
    data["ja"]["dialog.title"] = ["日報提出フォーム"]  # 8 characters, 24 bytes
    assert check_file(write_persona(tmp_path / "custom.toml", data)) == []


FRAGMENTS = ["{", "}", "{{", "}}", "{date}", "{count}", "{nope}", "{date", ":>3", "!r", ".year", "[0]", "{0}", "x", " ", "さ"]


@given(st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join))
def test_any_variant_the_check_accepts_renders(variant):
    if not _variant_problems("praise", variant):
        assert isinstance(variant.format_map(dummy_params("praise")), str)


def test_check_file_refuses_bad_toml(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text('name = "broken"\n[en\npraise = ["x"]\n', encoding="utf-8")
    [problem] = check_file(path)
    assert problem.file == str(path) and "not valid TOML" in problem.reason


def test_check_file_refuses_a_persona_without_any_language(tmp_path):
    path = write_persona(tmp_path / "empty.toml", {"name": "empty", "display_name": "Empty"})
    assert any("at least [en] or [ja]" in p.reason for p in check_file(path))


def test_a_persona_may_speak_one_language_only(tmp_path):
    data = plain_persona()
    del data["en"]
    assert check_file(write_persona(tmp_path / "custom.toml", data)) == []


def test_check_file_names_a_file_that_cannot_be_read(tmp_path):
    [problem] = check_file(tmp_path / "nowhere.toml")
    assert "nowhere.toml" in str(problem) and "cannot be read" in problem.reason


# --- the registry ----------------------------------------------------------------


def test_registry_describes_builtins(registry):
    assert registry.describe() == [(name, ("en", "ja"), "built-in") for name in BUILTIN_PERSONAS]


def test_personas_in_the_extra_folder_load_beside_the_builtins(tmp_path):
    data = plain_persona(name="pirate", display_name="Captain")
    del data["en"]
    data["ja"]["button.write"] = ["航海日誌を書く"]  # a persona may override the common texts
    path = write_persona(tmp_path / "pirate.toml", data)
    registry = load_registry(str(tmp_path))
    assert "pirate" in registry.names()
    assert ("pirate", ("ja",), str(path)) in registry.describe()
    pirate = registry.get("pirate")
    assert pirate.display_name == "Captain"
    assert pirate.say("button.write", "en") == "航海日誌を書く"  # en falls back to ja
    assert pirate.say("button.off", "ja") == "休みでした"  # the common text


def test_a_broken_persona_in_the_extra_folder_stops_loading_naming_the_file(tmp_path):
    data = plain_persona()
    data["ja"]["reminder.dm"] = ["{name}さん、{date} の日報がありません。"]
    path = write_persona(tmp_path / "broken.toml", data)
    with pytest.raises(PersonaError) as raised:
        load_registry(str(tmp_path))
    assert f"{path}: ja.reminder.dm: " in str(raised.value)
    assert "{command}" in str(raised.value)


def test_a_persona_may_not_take_a_builtin_name(tmp_path):
    path = write_persona(tmp_path / "mine.toml", plain_persona(name="emperor"))
    with pytest.raises(PersonaError, match=re.escape(f"{path}: name: ")):
        load_registry(str(tmp_path))


def test_a_missing_extra_folder_is_an_error(tmp_path):
    with pytest.raises(PersonaError, match="not a folder"):
        load_registry(str(tmp_path / "missing"))


def test_unknown_persona_is_a_key_error_unless_a_fallback_is_given(registry):
    with pytest.raises(KeyError, match="emperor"):
        registry.get("nobody")
    assert registry.get("nobody", fallback="plain").name == "plain"


# --- upgrading: files written for an earlier catalogue ------------------------------


def first_catalogue_persona(**settings) -> dict:
    """A persona written for nippo's first catalogue: plain's texts, without any key added since,
    with one key nippo no longer uses."""
    from persona.keys import LATER_VOICE_KEYS

    data = plain_persona(**settings)
    for language in LANGUAGES:
        for key in LATER_VOICE_KEYS:
            data[language].pop(key, None)
        data[language]["leader.escalation"] = ["{name}: {streak} in a row."]
    return data


def test_the_first_catalogue_is_frozen_and_later_keys_are_everything_else():
    from persona.keys import FIRST_CATALOGUE, LATER_VOICE_KEYS, REQUIRED_VOICE_KEYS, RETIRED_KEYS

    assert len(FIRST_CATALOGUE) == 106
    assert REQUIRED_VOICE_KEYS | LATER_VOICE_KEYS == VOICE_KEYS
    assert not REQUIRED_VOICE_KEYS & LATER_VOICE_KEYS
    assert RETIRED_KEYS == FIRST_CATALOGUE - set(KEYS)


def test_a_persona_written_for_an_earlier_version_still_loads_with_plains_texts(tmp_path, caplog):
    from persona.keys import LATER_VOICE_KEYS

    path = write_persona(tmp_path / "old.toml", first_catalogue_persona(name="old"))
    with caplog.at_level("WARNING", logger="persona.loader"):
        registry = load_registry(str(tmp_path))
    old, plain = registry.get("old"), registry.get("plain")
    for key in LATER_VOICE_KEYS:
        assert old.variants(key, "ja") == plain.variants(key, "ja")
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 1  # one line for the file, naming every message
    assert str(path) in warnings[0] and all(f"en.{key}" in warnings[0] for key in LATER_VOICE_KEYS)


def test_check_lists_later_and_retired_keys_as_warnings_and_accepts_the_file(tmp_path):
    from persona.keys import LATER_VOICE_KEYS

    path = write_persona(tmp_path / "old.toml", first_catalogue_persona(name="old"))
    problems = check_file(path)
    assert problems and all(problem.warning for problem in problems)
    keys = {problem.key for problem in problems}
    assert {f"en.{key}" for key in LATER_VOICE_KEYS} <= keys and "ja.leader.escalation" in keys
    assert all(": warning: " in str(problem) for problem in problems)


def test_a_missing_first_catalogue_key_is_still_refused(tmp_path):
    data = first_catalogue_persona(name="old")
    del data["en"]["reminder.dm"]
    path = write_persona(tmp_path / "old.toml", data)
    refused = [p for p in check_file(path) if not p.warning]
    assert [(p.key, p.reason) for p in refused] == [("en.reminder.dm", "missing")]
    with pytest.raises(PersonaError, match="en.reminder.dm: missing"):
        load_registry(str(tmp_path))


def test_a_builtin_file_missing_a_later_key_is_refused(tmp_path):
    from persona.check import parse_file

    data = plain_persona(name="plain2")
    del data["en"]["error.given_twice"]
    path = write_persona(tmp_path / "plain2.toml", data)
    content, problems = parse_file(path, strict=True)
    assert content is None and [p.key for p in problems] == ["en.error.given_twice"]


def test_a_persona_extending_a_builtin_gives_only_what_it_changes(tmp_path):
    path = tmp_path / "pirate.toml"
    path.write_text('name = "pirate"\ndisplay_name = "Captain"\nextends = "plain"\n'
                    '[en.reminder]\nchannel = ["{mentions}, the log for {date}! `{command}`"]\n', encoding="utf-8")
    assert check_file(path) == []
    pirate = load_registry(str(tmp_path)).get("pirate")
    assert pirate.languages == ("en", "ja")
    assert pirate.say("reminder.channel", "en", mentions="@a", date="d", command="c", count=1) == "@a, the log for d! `c`"
    assert pirate.variants("praise", "ja") == load_registry(None).get("plain").variants("praise", "ja")


@pytest.mark.parametrize("extends", ["nobody", "pirate", 3])
def test_extends_must_name_a_builtin(tmp_path, extends):
    path = write_persona(tmp_path / "pirate.toml", {"name": "pirate", "display_name": "P", "extends": extends,
                                                    "en": {"praise": ["Yo ho"]}})
    [problem] = [p for p in check_file(path) if p.key == "extends"]
    assert "emperor, plain, polite" in problem.reason


def test_new_persona_file_copies_every_message_of_both_languages(registry, tmp_path):
    from persona import new_persona_file

    text = new_persona_file("pirate", registry.get("polite"), registry.get("plain"))
    path = tmp_path / "pirate.toml"
    path.write_text(text, encoding="utf-8")
    assert check_file(path) == []
    data = tomllib.loads(text)
    assert data["name"] == "pirate" and "extends" not in data
    for language in LANGUAGES:
        assert set(data[language]) == VOICE_KEYS
        assert data[language]["praise"] == list(registry.get("polite").variants("praise", language))
