"""`to channel` reminders (docs/reminders.md) through the stand-in, on both databases."""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from sqlalchemy import select

from bot.reminders.common import POST_LIMIT, TickTime, process_id
from bot.tick import plan_tick
from db.models import ReminderRun
from tests.reminder_helpers import TUESDAY_9AM, ZWSP, Scene, mentions_in, pings_everyone

MONDAY = date(2026, 11, 30)


@pytest.fixture
def scene(database, mattermost, clock):
    scene = Scene(database, mattermost, clock)
    yield scene
    scene.close()


def test_channel_post_mentions_exactly_the_missing(scene):
    scene.person("boss", leader=True)
    scene.people("alice", "bob", "carol")
    scene.report("boss", MONDAY)
    scene.report("alice", MONDAY)
    scene.absent("bob", MONDAY)
    sub_id = scene.subscribe()

    lines = scene.tick(TUESDAY_9AM)

    [post] = scene.channel_posts()
    assert mentions_in(post["message"]) == {"carol"}
    assert "/report 2026-11-30" in post["message"]
    assert post["props"]["nippo_outbox_id"] and post["props"]["from_webhook"] == "true"
    assert post["pending_post_id"]
    assert lines == [f"subscription {sub_id} ~dev work date 2026-11-30 missing 1: sent"]
    [run] = scene.runs()
    assert (run.state, run.local_date, run.work_date, run.missing) == ("sent", date(2026, 12, 1), MONDAY,
                                                                      [scene.member_id("carol")])


def test_leaders_are_chased_like_everyone(scene):
    scene.person("boss", leader=True)
    scene.person("alice")
    scene.subscribe()
    scene.tick(TUESDAY_9AM)
    [post] = scene.channel_posts()
    assert mentions_in(post["message"]) == {"boss", "alice"}


def test_praise_when_everyone_reported(scene):
    scene.person("boss", leader=True)
    scene.people("alice", "bob")
    for name in ("boss", "alice"):
        scene.report(name, MONDAY)
    scene.absent("bob", MONDAY)
    scene.subscribe()
    scene.tick(TUESDAY_9AM)
    [post] = scene.channel_posts()
    assert not mentions_in(post["message"])
    assert "2026-11-30" in post["message"] and ("filed" in post["message"])


def test_nothing_for_an_empty_roster(scene):
    scene.subscribe()
    scene.tick(TUESDAY_9AM)
    assert scene.channel_posts() == []
    assert [r.state for r in scene.runs()] == ["sent"]


def test_nothing_for_an_all_absent_roster(scene):
    scene.people("alice", "bob")
    scene.absent("alice", MONDAY)
    scene.absent("bob", MONDAY)
    scene.subscribe()
    scene.tick(TUESDAY_9AM)
    assert scene.channel_posts() == []


def test_inactive_members_and_bots_are_skipped(scene):
    scene.person("alice")
    scene.person("ghost", active=False)
    scene.person("robot", bot=True)
    scene.subscribe()
    scene.tick(TUESDAY_9AM)
    [post] = scene.channel_posts()
    assert mentions_in(post["message"]) == {"alice"}


def test_mention_off_lists_names_without_pinging(scene):
    scene.people("alice", "bob")
    scene.subscribe(mention=False)
    scene.tick(TUESDAY_9AM)
    [post] = scene.channel_posts()
    assert mentions_in(post["message"]) == set()
    assert f"@{ZWSP}alice" in post["message"] and f"@{ZWSP}bob" in post["message"]


def test_a_long_list_is_split_below_the_post_limit(scene):
    names = [f"member-with-a-long-name-{i:04d}" for i in range(700)]
    scene.people(*names)
    scene.subscribe()
    scene.tick(TUESDAY_9AM)
    posts = scene.channel_posts()
    assert len(posts) >= 2
    assert all(len(p["message"]) <= POST_LIMIT for p in posts)
    pinged = [mentions_in(p["message"]) for p in posts]
    assert set().union(*pinged) == set(names)
    assert sum(len(p) for p in pinged) == len(names)  # nobody twice


def test_each_part_is_measured_with_the_seed_it_is_sent_with():
    """The persona variant follows the seed: a list that fits with one seed
    may not with another, so planning measures with the send-time seed and
    keeps a margin (a review finding: a channel post of 16,384+ characters)."""
    from persona.loader import load_registry

    from bot.reminders.texts import channel_text, split_channel

    persona = load_registry().get("emperor")
    plan_seed, send_seed = "run1:channel", "run1:channel:1:0"
    payload = {"lang": "en", "seed": plan_seed, "date": MONDAY.isoformat(), "x": 3, "mention": True}

    def members(names):
        return [{"m": i, "u": f"id{i}", "n": n, "k": n, "s": 1} for i, n in enumerate(names)]

    names = sorted(f"u{i:04d}" + "x" * 15 for i in range(760))
    while len(channel_text(persona, payload, members(names))) > POST_LIMIT - 5:
        names.pop()
    sent = {**payload, "seed": send_seed}
    assert len(channel_text(persona, sent, members(names))) > POST_LIMIT  # the trap
    seed_for = lambda part: f"run1:channel:1:{part}"  # noqa: E731
    groups = split_channel(persona, sent, members(names), seed_for)
    assert len(groups) >= 2 and sum(len(g) for g in groups) == len(names)
    for part, group in enumerate(groups):
        assert len(channel_text(persona, {**payload, "seed": seed_for(part)}, group)) <= POST_LIMIT - 100


def test_a_post_judged_to_fit_without_rendering_fits_whatever_its_variant():
    """split_channel skips measuring a post its bound says surely fits: the
    bound must hold for every built-in persona, language, variant and name."""
    from persona.loader import load_registry

    from bot.reminders.texts import _extent, _surely_fits, channel_text

    registry = load_registry()
    names = ["a" * 60, "_*[`~]\\" * 8, "日本語の名前", "bob"]
    judged = 0
    for persona_name in registry.names():
        persona = registry.get(persona_name)
        for lang in ("en", "ja"):
            for mention in (True, False):
                for count in (1, 50, 120, 200):
                    members = [{"m": i, "u": f"id{i}", "n": names[i % 4] + str(i), "k": None, "s": 1 + i % 5}
                               for i in range(count)]
                    payload = {"lang": lang, "seed": "s", "date": MONDAY.isoformat(), "x": 3, "mention": mention}
                    limit = 4000
                    if not _surely_fits(persona, payload, members, limit):
                        continue
                    judged += 1
                    named = frozenset(m["u"] for m in members)
                    for seed in range(40):  # enough seeds to meet every variant
                        text = channel_text(persona, {**payload, "seed": f"s{seed}"}, members, named)
                        assert len(text) <= limit, (persona_name, lang, mention, count)
    assert judged > 10
    assert _extent(("{names:>9000}",)) is None and _extent(("{names!r}",)) is None
    assert _extent(("Hi {names}, {names} and {count}",)) == (len("Hi {names}, {names} and {count}"), 3)


def test_roster_members_outside_the_channel_are_named_without_a_mention_and_get_a_dm(scene):
    scene.person("alice")
    scene.person("remote", in_channel=False)
    scene.subscribe()
    scene.tick(TUESDAY_9AM)
    [post] = scene.channel_posts()
    assert mentions_in(post["message"]) == {"alice"}
    assert f"@{ZWSP}remote" in post["message"]
    [dm] = scene.dms("remote")
    assert "/report 2026-11-30" in dm["message"] and "~dev" in dm["message"]
    assert scene.dms("alice") == []
    assert [a["id"] for a in dm["props"]["attachments"][0]["actions"]] == ["write", "off", "snooze"]


def test_someone_who_files_between_planning_and_sending_is_not_chased(scene):
    scene.people("alice", "bob")
    scene.subscribe()
    plan_tick(scene.services, TickTime(TUESDAY_9AM), process_id())
    scene.report("alice", MONDAY)
    scene.tick(TUESDAY_9AM)
    [post] = scene.channel_posts()
    assert mentions_in(post["message"]) == {"bob"}
    with scene.database.read() as session:  # what planning saw stays on record
        assert len(session.scalar(select(ReminderRun.missing))) == 2


def test_if_everyone_files_before_sending_the_team_is_praised(scene):
    scene.people("alice", "bob")
    scene.subscribe()
    plan_tick(scene.services, TickTime(TUESDAY_9AM), process_id())
    scene.report("alice", MONDAY)
    scene.absent("bob", MONDAY)
    scene.tick(TUESDAY_9AM)
    [post] = scene.channel_posts()
    assert not mentions_in(post["message"]) and "filed" in post["message"]


def test_the_persona_speaks_with_its_own_name(scene):
    scene.person("alice")
    scene.subscribe(persona="emperor", language="ja")
    scene.tick(TUESDAY_9AM)
    [post] = scene.channel_posts()
    persona = scene.services.personas.get("emperor")
    assert post["props"]["override_username"] == persona.display_name
    assert "/report 2026-11-30" in post["message"]


def test_dry_run_writes_and_sends_nothing(scene):
    scene.people("alice", "bob")
    scene.report("alice", MONDAY)
    scene.subscribe()
    lines = scene.tick(TUESDAY_9AM, dry_run=True)
    assert len(lines) == 1 and "missing 1" in lines[0] and "dry-run" in lines[0]
    assert scene.runs() == [] and scene.outbox() == [] and scene.post_calls() == 0
    later = datetime(2026, 12, 1, 4, 0, tzinfo=timezone.utc)
    assert "skipped" in scene.tick(later, dry_run=True)[0]
    assert scene.runs() == []


@pytest.mark.parametrize("username", ["all.", "channel-", "here_", "all:", "here.-_"])
def test_a_username_that_mattermost_would_read_as_a_channel_wide_mention_is_never_written_as_one(scene, username):
    scene.person("alice")
    scene.person(username)
    scene.subscribe()
    scene.tick(TUESDAY_9AM)
    [post] = scene.channel_posts()
    assert mentions_in(post["message"]) == {"alice"}
    assert not pings_everyone(post["message"])
    assert f"@{ZWSP}{username.replace('_', chr(92) + '_')}" in post["message"]  # named, inert

