"""`/subscribe persona NAME` changes the voice of the next run (persona/README.md)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

TUESDAY_0905_TOKYO = datetime(2026, 12, 1, 0, 5, tzinfo=timezone.utc)


def possible_texts(registry, persona: str, lang: str, **params) -> set[str]:
    voice = registry.get(persona)
    return {variant.format(**params) for variant in voice.variants("reminder.channel", lang)}


@pytest.mark.parametrize("persona, lang", [("plain", "en"), ("polite", "ja"), ("emperor", "ja")])
def test_the_next_run_speaks_in_the_chosen_voice(nippo, mattermost, persona, lang):
    boss, alice = mattermost.add_user("boss"), mattermost.add_user("alice")
    mattermost.add_channel_member(mattermost.channel["id"], boss["id"], scheme_admin=True)
    mattermost.add_channel_member(mattermost.channel["id"], alice["id"])
    nippo.reply(boss, "at 09:00 tz Asia/Tokyo", "/subscribe")
    nippo.reply(boss, "add @alice", "/team")
    nippo.reply(boss, "2026-11-30 done", "/report")
    nippo.reply(boss, f"persona {persona} lang {lang}", "/subscribe")
    nippo.tick(TUESDAY_0905_TOKYO)
    [post] = mattermost.posts_in(mattermost.channel["id"])
    command = "/report 2026-11-30 " + ("what you did" if lang == "en" else "やったこと")
    expected = possible_texts(nippo.services.personas, persona, lang, mentions="@alice", count=1,
                              date="2026-11-30", command=command)
    assert post["message"] in expected
