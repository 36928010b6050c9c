"""The texts of nudges, digests and streaks: every built-in persona speaks
them in both languages, the emperor in several ways, and `persona check`
knows them."""

from __future__ import annotations

import pytest

from persona import check_file, load_registry
from persona.keys import LANGUAGES
from tests.test_persona import plain_persona, write_persona

NEW_VOICE_KEYS = (
    "reminder.again", "reminder.again_stern", "reminder.broken", "report.streak_start", "report.streak",
    "report.streak_long", "status.streaks", "subscribe.again_channel_note", "error.again_not_after_at",
    "digest.header", "digest.day", "digest.perfect", "digest.nobody_perfect", "digest.streaks", "digest.missing",
)
# Said again and again: these vary (an error or a list line need not).
VARIED = [key for key in NEW_VOICE_KEYS if key not in ("error.again_not_after_at", "digest.day")]


@pytest.fixture(scope="module")
def registry():
    return load_registry()


@pytest.mark.parametrize("key", NEW_VOICE_KEYS)
def test_persona_check_names_a_new_key_a_file_lacks_as_a_warning(tmp_path, key):
    """A custom file written before nudges and digests still loads: the plain
    persona's text stands in, and `persona check` says which key is missing."""
    data = plain_persona()
    del data["ja"][key]
    problems = check_file(write_persona(tmp_path / "custom.toml", data))
    assert [(p.key, p.warning) for p in problems] == [(f"ja.{key}", True)]
    assert problems[0].reason.startswith("missing")


@pytest.mark.parametrize("persona_name", ["emperor", "polite", "plain"])
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_built_in_persona_says_each_new_thing_in_more_than_one_way(registry, persona_name, language):
    persona = registry.get(persona_name)
    for key in VARIED:
        assert len(persona.variants(key, language)) >= 2, key


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_emperor_has_at_least_three_ways_to_nudge_praise_a_streak_and_sum_up_a_week(registry, language):
    emperor = registry.get("emperor")
    for key in ("reminder.again", "reminder.again_stern", "reminder.broken", "report.streak", "report.streak_long",
                "digest.header", "digest.perfect", "digest.streaks", "digest.missing"):
        assert len(emperor.variants(key, language)) >= 3, key
