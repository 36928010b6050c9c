"""A retry that meets Mattermost still saving the first request: the server
answers 500 ``api.post.deduplicate_create_post.pending`` (app/post.go
deduplicateCreatePost), and the reminder must still be posted exactly once."""

from __future__ import annotations

from datetime import date

import pytest

from tests.reminder_helpers import TUESDAY_9AM, Scene

MONDAY = date(2026, 11, 30)


@pytest.fixture
def scene(database, mattermost, clock):
    scene = Scene(database, mattermost, clock)
    scene.person("boss", leader=True)
    scene.person("alice")
    scene.report("boss", MONDAY)
    yield scene
    scene.close()


def test_a_retry_while_the_first_post_is_still_saving_waits_and_posts_once(scene):
    scene.subscribe()
    scene.mattermost.stall_posts()
    lines = scene.tick(TUESDAY_9AM)
    assert "wait for a retry" in lines[0]
    [waiting] = [m for m in scene.outbox(kind="channel")]
    assert waiting.state == "pending" and "deduplicate_create_post.pending" in waiting.last_error
    scene.mattermost.finish_stalled()  # the server carried on and saved it
    for _ in range(3):
        scene.later(minutes=1)
    assert len(scene.channel_posts()) == 1
    assert [r.state for r in scene.runs()] == ["sent"]
