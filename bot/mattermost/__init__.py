"""Talking to Mattermost: the REST client, its console stand-in, one error type."""

from bot.mattermost.client import MEMBERS_PER_PAGE, MattermostClient
from bot.mattermost.console import ConsoleClient
from bot.mattermost.errors import MattermostError

__all__ = ["MEMBERS_PER_PAGE", "ConsoleClient", "MattermostClient", "MattermostError"]
