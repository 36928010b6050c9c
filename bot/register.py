"""``nippo register-commands``: create or update the five slash commands of a
team, and print the tokens nippo must accept (docs/operations.md).

A rerun updates the commands nippo registered before (their URL ends in
``/mattermost/command``) instead of adding duplicates. A trigger that belongs
to another integration is left alone, naming its URL and creator, unless
``--force``: a team's existing ``/report`` is not silently taken over. No
username or icon override is registered: the persona decides how posts look.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from bot.config import ConfigError
from bot.mattermost import MattermostClient, MattermostError

log = logging.getLogger("nippo.register")

COMMAND_PATH = "/mattermost/command"
DUPLICATE_TRIGGER = "api.command.duplicate_trigger.app_error"

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
     "auto_complete_hint": "add @user... | remove @user... | leader @user | list | sync | web | link @user ID | off DATE | on DATE"},
]


def register_commands(mattermost_url: str, token: str, team_name: str, public_url: str,
                      client: MattermostClient | None = None, *, force: bool = False) -> list[str]:
    client = client or MattermostClient(mattermost_url, token)
    try:
        team = client.get_team_by_name(team_name)
    except MattermostError as error:
        if error.status == 404:
            raise ConfigError("--team", f"no team named {team_name!r} that this token can see (use the team's URL name)") from None
        raise
    existing = {c.get("trigger"): c for c in client.list_commands(team["id"]) if not c.get("delete_at")}
    url = public_url.rstrip("/") + COMMAND_PATH
    foreign = [existing[spec["trigger"]] for spec in COMMANDS
               if spec["trigger"] in existing and not points_at_nippo(existing[spec["trigger"]])]
    if foreign and not force:
        owners = "; ".join(f"/{c['trigger']} belongs to another integration: {_owner(client, c)}" for c in foreign)
        raise ConfigError("--force", f"{owners}. Nothing was changed: remove or rename "
                                     f"{'that command' if len(foreign) == 1 else 'those commands'} in Mattermost, "
                                     f"or rerun with --force to point {'it' if len(foreign) == 1 else 'them'} at nippo")
    # New commands first: if Mattermost refuses one, the ones made so far are
    # removed again and nothing has changed.
    said, tokens, made = {}, {}, []
    for spec in COMMANDS:
        trigger = spec["trigger"]
        if trigger in existing:
            continue
        try:
            command = client.create_command(_options(spec, team["id"], url))
        except MattermostError as error:
            left = _undo(client, made)
            if error.error_id == DUPLICATE_TRIGGER:
                raise ConfigError("--token", _taken_unseen(trigger, team_name, left)) from None
            raise
        made.append(command)
        tokens[trigger], said[trigger] = command.get("token"), f"created /{trigger}"
    for spec in COMMANDS:
        trigger, current = spec["trigger"], existing.get(spec["trigger"])
        if current is None:
            continue
        took_over = "" if points_at_nippo(current) else f" (taken over from {_owner(client, current)})"
        command = client.update_command(current["id"], {**current, **_options(spec, team["id"], url)})
        tokens[trigger] = command.get("token") or current.get("token")
        said[trigger] = f"updated /{trigger}{took_over}"
    order = [spec["trigger"] for spec in COMMANDS]
    return [said[t] for t in order] + ["NIPPO_COMMAND_TOKENS=" + ",".join(tokens[t] for t in order)]


def points_at_nippo(command: dict) -> bool:
    """A command nippo registered: its URL ends in /mattermost/command (at any host)."""
    return urlsplit(command.get("url") or "").path.rstrip("/").endswith(COMMAND_PATH)


def _options(spec: dict, team_id: str, url: str) -> dict:
    return {**spec, "team_id": team_id, "method": "P", "url": url, "auto_complete": True,
            "username": "", "icon_url": ""}


def _owner(client: MattermostClient, command: dict) -> str:
    """"https://… (created by @carol)": whom to ask about a command."""
    creator = command.get("creator_id") or ""
    try:
        who = "@" + client.get_user(creator)["username"] if creator else "someone"
    except MattermostError:
        who = f"user {creator}"
    return f"{command.get('url')} (created by {who})"


def _taken_unseen(trigger: str, team_name: str, left: list[str]) -> str:
    """Mattermost's api.command.duplicate_trigger.app_error, in plain words."""
    changed = ("Nothing was changed" if not left else
               f"Created just now and not removed again: {', '.join('/' + t for t in left)}")
    return (f"/{trigger} is already taken in team {team_name!r} by a command this token cannot see "
            f"(another integration's, made by someone else, or one of Mattermost's own). {changed}. "
            "Run register-commands with a team or system admin's token (--token) to see whose it is, "
            "or ask an admin to remove or rename it under Integrations > Slash Commands")


def _undo(client: MattermostClient, made: list[dict]) -> list[str]:
    """Remove the commands made in this run; the triggers that could not be."""
    left = []
    for command in made:
        try:
            client.delete_command(command["id"])
        except MattermostError as error:
            log.warning("could not remove /%s again (%s)", command.get("trigger"), error)
            left.append(command.get("trigger"))
    return left
