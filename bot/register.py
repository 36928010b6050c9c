"""``nippo register-commands``: create or update the five slash commands of a
team, and print the tokens nippo must accept (SPEC §8).

A rerun updates the commands it finds by trigger instead of adding
duplicates. No username or icon override is registered: the persona decides
how posts look.
"""

from __future__ import annotations

from bot.config import ConfigError
from bot.mattermost import MattermostClient, MattermostError

COMMANDS = [
    {"trigger": "report", "display_name": "nippo report",
     "description": "File your daily work report, or mark a day off",
     "auto_complete_desc": "File my report for DATE (default today); no text opens a dialog",
     "auto_complete_hint": "[DATE] [TEXT...] | off [@user] [DATE|DATE..DATE] | on ... | help"},
    {"trigger": "report-status", "display_name": "nippo status",
     "description": "Who has and hasn't reported in this channel's team",
     "auto_complete_desc": "Who has and hasn't reported for DATE",
     "auto_complete_hint": "[DATE] [public]"},
    {"trigger": "subscribe", "display_name": "nippo subscribe",
     "description": "Morning reminders for this channel's team",
     "auto_complete_desc": "Show or change this channel's reminder schedule",
     "auto_complete_hint": "[at HH:MM] [tz ZONE] [days mon-fri] [to dm|channel|both] [persona NAME] [lang en|ja] "
                           "[holidays CC|none] [check previous|same-day] [escalate N] [mention on|off] "
                           "[again HH:MM[,HH:MM...]|off] [digest DAY HH:MM|off]"},
    {"trigger": "unsubscribe", "display_name": "nippo unsubscribe",
     "description": "Stop this channel's morning reminders",
     "auto_complete_desc": "Stop this channel's reminders (roster and settings are kept)",
     "auto_complete_hint": ""},
    {"trigger": "team", "display_name": "nippo team",
     "description": "The roster of this channel's team",
     "auto_complete_desc": "Keep the roster, links and team days off",
     "auto_complete_hint": "add @user... | remove @user... | leader @user | list | sync | link @user ID | off DATE | on DATE"},
]


def register_commands(mattermost_url: str, token: str, team_name: str, public_url: str,
                      client: MattermostClient | None = None) -> list[str]:
    client = client or MattermostClient(mattermost_url, token)
    try:
        team = client.get_team_by_name(team_name)
    except MattermostError as error:
        if error.status == 404:
            raise ConfigError("--team", f"no team named {team_name!r} that this token can see (use the team's URL name)") from None
        raise
    existing = {c.get("trigger"): c for c in client.list_commands(team["id"]) if not c.get("delete_at")}
    url = public_url.rstrip("/") + "/mattermost/command"
    lines, tokens = [], []
    for spec in COMMANDS:
        options = {**spec, "team_id": team["id"], "method": "P", "url": url, "auto_complete": True,
                   "username": "", "icon_url": ""}
        current = existing.get(spec["trigger"])
        if current is None:
            command = client.create_command(options)
            lines.append(f"created /{spec['trigger']}")
        else:
            command = client.update_command(current["id"], {**current, **options})
            lines.append(f"updated /{spec['trigger']}")
        tokens.append(command.get("token") or current.get("token"))
    lines.append("NIPPO_COMMAND_TOKENS=" + ",".join(tokens))
    return lines
