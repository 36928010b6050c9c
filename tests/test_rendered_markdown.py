"""What members read, parsed by Mattermost's own Markdown parser (the
webapp's fork of commonmark.js): nippo's texts ping exactly whom they mean,
what users typed never becomes formatting, a link or a mention, and every
command shown in a code span reads exactly as it is to be typed."""

from __future__ import annotations

import re
from string import Formatter

import pytest

from persona import inert, join, load_registry, mention, name
from persona.keys import KEYS, LANGUAGES
from tests.mattermost_markdown import markdown  # noqa: F401  (fixture)
from tests.reminder_helpers import TUESDAY_9AM, ZWSP, Scene

HOSTILE = "**bold** _it_ `code` [link](http://evil.example) @channel @all. <!here> ~town-square"
NAMES = join([name("alice"), name("all."), name("a_b_c")], "en")
MENTIONED = {"alice", "bob"}
BOT = "nippo"  # "invite @nippo first" means the bot, and names it as a mention
COMMAND = "/report 2026-11-30 what you did"
CHANNEL_WIDE = {"all", "channel", "here"}


def sample(placeholder: str, key: str) -> str:
    """A value for every placeholder, as callers fill them: names inert, user input inert."""
    if key == "error.refused_users" and placeholder == "reason":
        return "Bots file no reports."  # persona text (reason.*), not what anyone typed
    if placeholder == "mentions":
        return " ".join(mention(n) for n in sorted(MENTIONED))
    if placeholder in ("names", "name", "who", "leaders", "members", "target", "filed", "added"):
        return NAMES
    if placeholder in ("token", "value", "external_id", "reason"):
        return inert(HOSTILE)
    if placeholder == "streaks":
        return join([f"{name('alice')} (12)", f"{name('a_b_c')} (3)"], "en")
    return {
        "command": COMMAND, "commands": "/report, /report-status, /subscribe, /unsubscribe, /team",
        "summary": "`at 09:00 tz Asia/Tokyo`", "next": "2026-12-02 (Wed) 09:00 Asia/Tokyo", "option": "at",
        "expected": "HH:MM", "choices": "emperor, plain, polite", "action": "/team add", "bot": f"@{BOT}",
        "url": "http://localhost:8080/web/login/abc", "channel": "~dev", "timezone": "Asia/Tokyo",
        "status": "Filed.", "request_id": "abc123", "again": "13:00", "at": "09:00",
    }.get(placeholder, "7")


def every_text():
    registry = load_registry()
    for persona_name in registry.names():
        persona = registry.get(persona_name)
        for lang in LANGUAGES:
            for key, spec in KEYS.items():
                for number, variant in enumerate(persona.variants(key, lang)):
                    params = {p: sample(p, key) for p in spec.placeholders}
                    used = {field for _, field, _, _ in Formatter().parse(variant) if field}
                    yield f"{persona_name}.{lang}.{key}[{number}]", used, variant.format(**params)


def resolved(mentions: list[str], users: set[str]) -> set[str]:
    """Whom the mentions reach: Mattermost retries a name it does not know
    without its trailing ``.``, ``-``, ``_`` and ``:`` (``@bob.`` at the end of
    a sentence is bob; ``@all.`` is everyone)."""
    return {m if m in users else m.rstrip(".-_:") for m in mentions}


def channel_wide(mentions: list[str], users: set[str] = frozenset()) -> list[str]:
    return [m for m in resolved(mentions, users) if m.lower() in CHANNEL_WIDE]


def test_every_persona_text_mentions_exactly_whom_it_means(markdown):
    wrong = []
    for where, used, text in every_text():
        rendered = markdown.render(text)
        meant = set(MENTIONED) if "mentions" in used else set()
        if "bot" in used:
            meant.add(BOT)
        reached = resolved(rendered.mentions, MENTIONED | {BOT})
        if reached - meant or channel_wide(rendered.mentions):
            wrong.append(f"{where}: mentions {rendered.mentions}")
        if "mentions" in used and not MENTIONED <= reached:
            wrong.append(f"{where}: the members it means are not mentioned: {rendered.mentions}")
    assert not wrong, "\n".join(wrong[:20])


def test_what_users_typed_never_becomes_formatting_a_link_or_a_channel_link(markdown):
    wrong = []
    for where, used, text in every_text():
        if not used & {"token", "value", "external_id", "reason"} or "error.refused_users" in where:
            continue
        rendered = markdown.render(text)
        # A bare URL is shown as itself (Mattermost links it, as it would in the user's own post);
        # what must never happen is text of the user's choosing standing for a link.
        if ">link</a>" in rendered.html or "town-square" in rendered.channels:
            wrong.append(f"{where}: a link from user input")
        if "<strong>bold</strong>" in rendered.html or "<em>it</em>" in rendered.html or \
                any("code" == c for c in rendered.codes):
            wrong.append(f"{where}: user input became formatting")
    assert not wrong, "\n".join(wrong[:20])


def test_names_read_as_typed_underscores_and_all(markdown):
    wrong = []
    for where, used, text in every_text():
        if not used & {"names", "name", "who"}:
            continue
        html = markdown.render(text).html
        if "a_b_c" not in html.replace(ZWSP, "") or "<em>b" in html:
            wrong.append(f"{where}: {html[:120]}")
    assert not wrong, "\n".join(wrong[:20])


def test_code_spans_read_exactly_as_they_are_typed(markdown):
    """No backslash escape and no zero-width space inside a code span: inside
    backticks Markdown shows both literally, and a copied command would fail."""
    wrong = []
    for where, _used, text in every_text():
        for code in markdown.render(text).codes:
            if "\\" in code or ZWSP in code:
                wrong.append(f"{where}: `{code}`")
    assert not wrong, "\n".join(wrong[:20])


def test_a_reminder_shows_the_command_to_file_the_missing_date_as_code(markdown):
    registry = load_registry()
    for persona_name in registry.names():
        for lang in LANGUAGES:
            text = registry.get(persona_name).say("reminder.dm", lang, name=NAMES, date="2026-11-30", command=COMMAND)
            assert COMMAND in markdown.render(text).codes, (persona_name, lang)


# --- what a real morning posts -------------------------------------------------------------

@pytest.fixture
def scene(database, mattermost, clock):
    scene = Scene(database, mattermost, clock)
    yield scene
    scene.close()


def test_the_channel_reminder_pings_the_missing_members_and_no_channel_wide_name(scene, markdown):
    for username in ("alice", "all.", "here_", "bob.smith", "carol-"):
        scene.person(username)
    scene.subscribe()
    scene.tick(TUESDAY_9AM)
    [post] = scene.channel_posts()
    rendered = markdown.render(post["message"])
    users = {"alice", "all.", "here_", "bob.smith", "carol-"}
    assert resolved(rendered.mentions, users) == {"alice", "bob.smith", "carol-"}
    assert not channel_wide(rendered.mentions, users)
    assert re.search(r"/report 2026-11-30", " ".join(rendered.codes))
