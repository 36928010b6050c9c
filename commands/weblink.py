"""``/team web``: a one-time link that signs the caller in to the web pages
and opens this channel's team there."""

from __future__ import annotations

from commands.context import Ctx
from commands.grammar import TeamWeb
from commands.reply import Reply
from db import queries
from db.web_auth import LINK_LIFETIME, create_login_token

LOGIN_PATH = "/web/login/"


def web_link(ctx: Ctx, command: TeamWeb) -> Reply:
    # Anyone may ask: the pages show each person only what is theirs to see.
    # The link travels in the ephemeral answer only, which no one else sees.
    with ctx.write() as session:
        team = queries.team_by_channel(session, ctx.request.channel_id)
        token = create_login_token(session, ctx.request.user_id, ctx.request.user_name or ctx.request.user_id,
                                   team.id if team is not None else None, ctx.now)
    url = ctx.settings.public_url + LOGIN_PATH + token
    return Reply(ctx.say("team.web_link", url=url, minutes=int(LINK_LIFETIME.total_seconds() // 60)))
