"""Talking to Mattermost: the REST client, its console stand-in, one error type."""

from bot.mattermost.client import MattermostClient
from bot.mattermost.console import ConsoleClient
from bot.mattermost.errors import MattermostError

__all__ = ["ConsoleClient", "MattermostClient", "MattermostError"]
