"""pytest fixtures for the Mattermost stand-in; conftest.py imports them.

``mattermost``: a started stand-in with the bot (``mattermost.bot``,
``mattermost.bot_token``), team ``acme`` (``mattermost.team``) and channel
``dev`` with the bot in it (``mattermost.channel``). At teardown the test
fails if any request nippo made did not match Mattermost's OpenAPI spec.

``mattermost_client``: a MattermostClient for the bot, talking to it.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from bot.mattermost import MattermostClient
from tests.standin.server import MattermostStandIn


def started_standin(**options: object) -> MattermostStandIn:
    standin = MattermostStandIn(**options).start()
    standin.team = standin.add_team("acme")
    standin.channel = standin.add_channel(standin.team["id"], "dev")
    standin.add_channel_member(standin.channel["id"], standin.bot["id"])
    return standin


@pytest.fixture
def mattermost() -> Iterator[MattermostStandIn]:
    standin = started_standin()
    try:
        yield standin
    finally:
        standin.stop()
    standin.assert_no_violations()


@pytest.fixture
def mattermost_client(mattermost: MattermostStandIn) -> Iterator[MattermostClient]:
    client = MattermostClient(mattermost.url, mattermost.bot_token, timeout=5.0)
    yield client
    client.close()
