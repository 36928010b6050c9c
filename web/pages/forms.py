"""What the forms share: acting as the signed-in person in a team's channel
(the commands' own context, so a form and a slash command are one code path),
and the commands' messages shown next to a field."""

from __future__ import annotations

import re

from flask import flash, g

from commands.context import Ctx
from commands.dispatch import make_context
from commands.reply import CommandError
from commands.request import CommandRequest
from commands.tokens import UsageError
from persona import inert
from web.pages.access import services

_MARKUP = re.compile(r"\*\*|`")


def acting_in(team, command: str) -> Ctx:
    """The context of ``command`` typed by the viewer in the team's channel,
    now; it speaks in the team's persona and the page's language."""
    request = CommandRequest(command=command, text="", user_id=g.viewer.user_id, user_name=g.viewer.username,
                             channel_id=team.channel_id, channel_name=team.channel_name or "",
                             team_id=team.mattermost_team_id or "")
    ctx = make_context(services(), request, services().clock())
    ctx.lang = g.lang
    return ctx


def plain(text: str) -> str:
    """A chat message as page text: without Markdown's emphasis and code marks."""
    return _MARKUP.sub("", text)


def say(ctx: Ctx, key: str, **params) -> str:
    return plain(ctx.say(key, **params))


def refusal(ctx: Ctx, error: CommandError | UsageError) -> str:
    """A command's refusal, worded as the command words it (without the usage line)."""
    if isinstance(error, UsageError):
        # What the person typed is shown inert, as the dispatcher does.
        params = {k: inert(v) if isinstance(v, str) else v for k, v in error.params.items()}
        return say(ctx, error.key, **params)
    return say(ctx, error.key, **error.params)


def done(message: str) -> None:
    """A confirmation shown once on the next page."""
    flash(message, "done")
