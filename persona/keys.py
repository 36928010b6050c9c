"""The catalogue of everything nippo says: message keys and their placeholders.

Each key names one message. A persona file gives, per language, a list of
variant strings for it; a variant may use only the placeholders listed here
(``{name}`` syntax, nothing else) and must use the required ones.

Keys marked *common* are not persona voice (command usage, help, button and
dialog labels): ``builtin/_common.toml`` provides them and persona files may
override them. Every other key is *voice*: each persona must give it in every
language the file declares.

Callers pass every placeholder a key allows (any variant may use any of
them); ``Persona.say`` refuses a call that leaves one out, whichever variant
it picks, so the mistake shows in the first test rather than some morning.

Placeholder conventions, shared by every key:

- ``{mentions}`` — real mentions made with ``render.mention()``, joined by
  spaces. Always followed (and preceded) by a space or punctuation in the text,
  never by a letter: ``{mentions} さん``, not ``{mentions}さん``.
- ``{names}`` / ``{name}`` / ``{who}`` — people listed without pinging
  (``render.name()``), joined with ``render.join()``.
- ``{date}`` / ``{dates}`` — a work date, or several (or a range), as the
  caller formats them. ``{next}`` — when the next reminder goes out.
- ``{command}`` — the exact slash command to file the missing date, e.g.
  ``/report 2026-03-04``; texts show it in backticks.
- ``{token}``, ``{value}``, ``{external_id}`` and the ``{reason}`` of
  leader.delivery_failed carry text a user typed or a server sent: the caller
  passes it through ``render.inert()``, and texts never put these inside
  backticks (escapes are literal there). The ``{reason}`` of
  error.refused_users is already persona text (``reason.*``).
- Counts (``{count}``, ``{streak}``, ``{reported}``…) are plain integers.
"""

from __future__ import annotations

from dataclasses import dataclass

LANGUAGES: tuple[str, ...] = ("en", "ja")
DEFAULT_LANGUAGE = "en"

# Placeholders that become real @mentions: the text around them must leave a
# word boundary Mattermost recognises, or the mention silently pings nobody.
MENTION_PLACEHOLDERS: frozenset[str] = frozenset({"mentions", "mention"})

# Mattermost's limits (docs/buttons-and-dialogs.md); button labels are capped to stay one line.
# Dialog limits are UTF-8 bytes (the server's Go len()): 24 bytes hold 8
# Japanese characters.
DIALOG_LABEL_MAX = 24
DIALOG_HELP_MAX = 150
BUTTON_LABEL_MAX = 30
DISPLAY_NAME_MAX = 64


@dataclass(frozen=True)
class KeySpec:
    key: str
    doc: str
    placeholders: frozenset[str]
    required: frozenset[str]
    common: bool = False
    max_length: int | None = None
    max_bytes: int | None = None  # a limit Mattermost counts in UTF-8 bytes


_SPECS: list[KeySpec] = []


def _key(key: str, doc: str, allowed: str = "", required: str = "", *,
         common: bool = False, max_length: int | None = None, max_bytes: int | None = None) -> None:
    placeholders = frozenset(allowed.split())
    needed = frozenset(required.split())
    assert needed <= placeholders, key
    _SPECS.append(KeySpec(key, doc, placeholders, needed, common, max_length, max_bytes))


# --- the morning reminder (docs/reminders.md) ------------------------------
_key("reminder.channel", "Channel post mentioning every missing member.",
     "mentions count date command", "mentions command")
_key("reminder.channel_names", "Channel post with `mention off`: the missing members are listed, nobody is pinged.",
     "names count date command", "names command")
_key("reminder.dm", "DM to one missing member (buttons follow).",
     "name date command", "command")
_key("reminder.stern", "DM to a member missing `escalate N` runs in a row: colder still.",
     "name date command streak", "command")
_key("reminder.stern_channel", "Channel line for members on a streak of {streak} missed runs.",
     "mentions date command streak", "mentions command")
_key("reminder.stern_channel_names", "reminder.stern_channel with `mention off`: names listed, nobody pinged.",
     "names date command streak", "names command")
_key("reminder.outside_channel", "DM to a roster member who is not in the team's channel {channel}.",
     "name date command channel", "command")
_key("reminder.snoozed", "The DM sent again after 'Remind me in 1 hour'.",
     "name date command", "command")
_key("reminder.again", "A nudge (`again HH:MM`): one more DM later the same day to a member still missing.",
     "name date command", "command")
_key("reminder.again_stern", "A nudge to a member missing {streak} reminders in a row (`escalate N` reached).",
     "name date command streak", "command")
_key("reminder.broken", "The morning DM to a member whose {streak} work days in a row this miss would end: colder.",
     "name date command streak", "command streak")
_key("praise", "Channel post (or leaders' DM) when everyone has reported.", "date count")

# --- what leaders are told ---------------------------------------------------
_key("leader.summary", "One-line DM to leaders: {count} members missing, {names}.",
     "count names date", "names")
_key("leader.summary_none", "DM to leaders when nobody is missing.", "date")
_key("leader.escalations", "Told to a leader once per streak: the members in {names} ({count} of them) missed "
     "{streak} or more runs in a row; a leader is never listed in their own notice.",
     "names count streak date", "names streak")
_key("leader.delivery_failed", "A message could not be delivered to {target} and will not be retried.",
     "target reason date", "target")
_key("leader.paused", "The subscription of {channel} paused itself after {count} failed runs in a row.",
     "channel count", "channel")
_key("leader.dropped", "{count} messages were still undelivered when the catch-up window closed.",
     "count date", "count")
_key("leader.source_unreachable", "The outside report source could not be read before the window closed.",
     "date", "date")

# --- /report-status ---------------------------------------------------------
_key("status.header", "First line of the status.", "date reported missing absent total", "date")
_key("status.reported", "Line listing who reported.", "names", "names")
_key("status.missing", "Line listing who is missing.", "names", "names")
_key("status.absent", "Line listing who is off.", "names", "names")
_key("status.counts_only", "Large teams: counts instead of names.",
     "reported missing absent total", "reported missing absent")
_key("status.everyone", "Everyone has reported for {date}.", "date")
_key("status.empty", "The roster is empty.", "date")
_key("status.no_subscription", "Note: no subscription, so the previous Mon-Fri day in {timezone} was used.",
     "date timezone", "date timezone")
_key("status.source_unreachable", "The outside report source could not be read: reports there are not counted.",
     "date", "date")
_key("status.posted", "Ephemeral acknowledgement after `/report-status public`.")
_key("status.streaks", "Line after the missing members: the longest current streaks, {streaks} as '@name (N)' items.",
     "streaks", "streaks")

# --- /report and absences ---------------------------------------------------
_key("report.filed", "A report was filed for {date}.", "date", "date")
_key("report.replaced", "A report replaced the earlier one for {date}.", "date", "date")
_key("report.still_missing", "Earlier chased dates still missing, with the command to file them.",
     "dates command", "dates command")
_key("report.streak_start", "After /report: the first work day of a streak ({streak} is 1).", "streak")
_key("report.streak", "After /report: {streak} work days in a row.", "streak", "streak")
_key("report.streak_long", "After /report: a long streak of {streak} work days in a row; respect grows with it.",
     "streak", "streak")
_key("report.dialog_opened", "Ephemeral line after `/report` opened the dialog.")
_key("report.dialog_failed", "The dialog could not be opened (e.g. an expired trigger): use the command.",
     "command", "command")
_key("absence.set", "{who} is marked off on {dates}.", "who dates", "dates")
_key("absence.cleared", "{who}'s absence on {dates} is cancelled.", "who dates", "dates")
_key("absence.none", "{who} had no absence on {dates} to cancel.", "who dates", "dates")

# --- /subscribe, /unsubscribe -----------------------------------------------
_key("subscribe.show", "The current subscription ({summary} is a settings line).", "summary", "summary")
_key("subscribe.none", "This channel has no subscription.")
_key("subscribe.disabled", "The subscription exists but was unsubscribed.", "summary", "summary")
_key("subscribe.created", "Subscription created; {next} is the next reminder.", "summary next", "summary next")
_key("subscribe.updated", "Subscription changed.", "summary next", "summary next")
_key("subscribe.reenabled", "Subscription switched back on.", "summary next", "summary next")
_key("subscribe.paused_note", "Added when the subscription paused itself after failed deliveries.")
_key("subscribe.again_channel_note", "Added when `again` is set in channel mode: nudges are DMs (dm and both modes).")
_key("unsubscribe.done", "Reminders switched off for this channel.")
_key("unsubscribe.none", "There was nothing to switch off.")

# --- the weekly digest (`/subscribe digest DAY HH:MM`) ------------------------
_key("digest.header", "First line: the week from {first} to {last}, {filed} of {expected} reports ({rate}).",
     "first last filed expected rate", "first last")
_key("digest.day", "One line per work day of the week: its report rate ({day} is a digest.weekdays name).",
     "date day filed expected rate", "date filed expected")
_key("digest.weekdays", "Weekday names for digest.day, Monday first, separated by spaces.", common=True)
_key("digest.perfect", "Who filed every work day they were expected: named and praised.", "names count", "names")
_key("digest.nobody_perfect", "Nobody filed every work day this week.")
_key("digest.streaks", "The longest current streaks, {streaks} as '@name (N)' items.", "streaks", "streaks")
_key("digest.missing", "Members on a long missing streak, named without a mention.", "names count", "names")

# --- /team -------------------------------------------------------------------
_key("team.added", "Members added to the roster.", "names", "names")
_key("team.already", "Members already on the roster.", "names", "names")
_key("team.removed", "Members removed from the roster.", "names", "names")
_key("team.not_on_roster", "`/team remove` named people who are not on the roster.", "names", "names")
_key("team.leader", "{name} is now a leader.", "name", "name")
_key("team.list", "The roster.", "leaders members count", "leaders members")
_key("team.list_deactivated", "Roster members whose accounts are deactivated (skipped by reminders).",
     "names", "names")
_key("team.synced", "`/team sync` added {added} members; the roster now has {count}.", "added count", "added")
_key("team.sync_left", "Roster members who are no longer in the channel.", "names", "names")
_key("team.sync_started", "A long sync answers at once; the result follows.")
_key("team.linked", "{name} is linked to {external_id} in the outside system.",
     "name external_id", "name external_id")
_key("team.days_off_set", "Team days off recorded.", "dates", "dates")
_key("team.days_off_cleared", "Team days off cancelled.", "dates", "dates")
_key("team.days_off_none", "There were no team days off on {dates} to cancel.", "dates", "dates")
_key("team.web_link", "`/team web`: the caller's one-time sign-in link to the web pages, valid {minutes} minutes.",
     "url minutes", "url")

# --- buttons and the report dialog ------------------------------------------
_key("button.write", "Button: open the report dialog.", common=True, max_length=BUTTON_LABEL_MAX)
_key("button.off", "Button: record an absence.", common=True, max_length=BUTTON_LABEL_MAX)
_key("button.snooze", "Button: remind me in 1 hour.", common=True, max_length=BUTTON_LABEL_MAX)
_key("dialog.title", "Report dialog title.", common=True, max_bytes=DIALOG_LABEL_MAX)
_key("dialog.text_label", "Label of the report textarea.", common=True, max_bytes=DIALOG_LABEL_MAX)
_key("dialog.date_label", "Label of the work-date field.", common=True, max_bytes=DIALOG_LABEL_MAX)
_key("dialog.text_help", "Help under the report textarea.", common=True, max_bytes=DIALOG_HELP_MAX)
_key("dialog.submit", "The dialog's submit button.", common=True, max_length=DIALOG_LABEL_MAX)
_key("action.expired", "The clicked button has expired.")
_key("action.absence_recorded", "After 'I was off'.", "date", "date")
_key("action.snoozed", "After 'Remind me in 1 hour'.", "date", "date")
_key("action.report_filed", "After the dialog opened from a DM was submitted.", "date", "date")
_key("action.already_done", "The button's date was already reported or marked off.", "date", "date")
_key("dm.updated_footer", "Appended to a reminder DM after a click; {status} is an action.* text.",
     "status", "status")

# --- errors (the caller adds the usage line) --------------------------------
_key("error.bad_date", "{token} looks like a date but is none.", "token", "token")
_key("error.future_date", "Reports more than one day ahead are refused.", "date", "date")
_key("error.range_too_long", "A range longer than {limit} days.", "days limit", "days")
_key("error.range_backwards", "A range that ends before it starts.", "token", "token")
_key("error.unknown_option", "An option or subcommand nippo does not know.", "token", "token")
_key("error.given_twice", "An option given twice, e.g. `at 09:00 at 10:00`.", "option", "option")
_key("error.one_user", "`/team {option}` names one @user; {token} is the first one too many.",
     "option token", "option")
_key("error.unknown_command", "A slash command nippo does not serve; {commands} lists the five it does.",
     "command commands", "commands")
_key("error.bad_value", "{value} is no valid value for {option}; {expected} is the grammar.",
     "option value expected", "option value")
_key("error.again_not_after_at", "A nudge time {again} is not later than the reminder time {at}.",
     "again at", "again at")
_key("error.bad_timezone", "Not an IANA time zone.", "value", "value")
_key("error.unknown_persona", "No such persona; {choices} lists them.", "value choices", "value choices")
_key("error.unknown_user", "No such Mattermost users.", "names", "names")
_key("error.not_permitted", "{action} (the command as typed) needs a leader or an admin.", "action", "action")
_key("error.not_admin", "The first subscription or roster of a channel needs a channel, team or system admin.")
_key("error.dm_channel", "Teams live in channels, not in DMs or group DMs.")
_key("error.bot_not_in_channel", "Invite {bot} to the channel first.", "bot", "bot")
_key("error.refused_users", "/team add or leader refused users; {reason} is reason.* texts naming them.",
     "names reason", "reason")
_key("reason.bot", "Why {names} were refused: bots file no reports.", "names", "names")
_key("reason.deactivated", "Why {names} were refused: deactivated accounts.", "names", "names")
_key("error.too_many_users", "A command names more @users than it takes; `/team sync` is for a whole channel.",
     "count limit", "limit")
_key("error.text_too_long", "Report text over {limit} characters.", "limit length", "limit")
_key("error.empty_text", "Report text is empty.")
_key("error.not_on_roster", "The caller is not on this channel's roster.")
_key("error.no_team", "This channel has no roster yet.")
_key("error.bad_characters", "The text holds characters that cannot be stored (NUL, broken Unicode).")
_key("error.internal", "Short apology with the request id; never exception text.", "request_id", "request_id")
_key("dialog.error_empty", "Dialog field error: empty report.")
_key("dialog.error_too_long", "Dialog field error: report too long.", "limit", "limit")
_key("dialog.error_bad_date", "Dialog field error: not a date.", "token", "token")
_key("dialog.error_future_date", "Dialog field error: a date more than one day ahead.", "date", "date")
_key("dialog.expired", "The report dialog was submitted after it expired: file with the command instead.",
     "command", "command")

# --- usage and help (common; no placeholders) -------------------------------
for _command in ("report", "report_status", "subscribe", "unsubscribe", "team"):
    _key(f"usage.{_command}", f"Usage lines of /{_command.replace('_', '-')}, shown with every error.", common=True)
    _key(f"help.{_command}", f"`/{_command.replace('_', '-')} help`: usage with explanations.", common=True)


KEYS: dict[str, KeySpec] = {spec.key: spec for spec in _SPECS}
assert len(KEYS) == len(_SPECS), "duplicate message key"

#: key -> the placeholders its variants may use.
MESSAGE_KEYS: dict[str, frozenset[str]] = {key: spec.placeholders for key, spec in KEYS.items()}
#: key -> the placeholders every variant must use.
REQUIRED_PLACEHOLDERS: dict[str, frozenset[str]] = {key: spec.required for key, spec in KEYS.items()}
#: Keys provided by builtin/_common.toml; persona files may override them.
COMMON_KEYS: frozenset[str] = frozenset(key for key, spec in KEYS.items() if spec.common)
#: Keys every persona must provide in every language it declares (the built-ins always do).
VOICE_KEYS: frozenset[str] = frozenset(KEYS) - COMMON_KEYS

# The message keys of nippo's first persona catalogue (0.1). A persona file
# must give the voice keys among them. A key added since is optional in a file
# written before it existed: that message falls back to the plain persona's
# text, with a warning, so upgrading nippo never stops a custom persona from
# loading. A key dropped since is ignored in such a file, with a warning.
# Never add to this list: new keys are "later" by not being on it.
FIRST_CATALOGUE: frozenset[str] = frozenset("""
    absence.cleared absence.none absence.set action.absence_recorded action.already_done action.expired
    action.report_filed action.snoozed dialog.error_bad_date dialog.error_empty dialog.error_too_long
    dm.updated_footer error.bad_characters error.bad_date error.bad_timezone error.bad_value
    error.bot_not_in_channel error.dm_channel error.empty_text error.future_date error.internal error.no_team
    error.not_admin error.not_on_roster error.not_permitted error.range_backwards error.range_too_long
    error.refused_users error.text_too_long error.unknown_option error.unknown_persona error.unknown_user
    leader.delivery_failed leader.dropped leader.escalation leader.paused leader.source_unreachable leader.summary
    leader.summary_none praise reason.bot reason.deactivated reminder.channel reminder.channel_names reminder.dm
    reminder.outside_channel reminder.snoozed reminder.stern reminder.stern_channel reminder.stern_channel_names
    report.dialog_failed report.dialog_opened report.filed report.replaced report.still_missing status.absent
    status.counts_only status.empty status.everyone status.header status.missing status.no_subscription
    status.posted status.reported status.source_unreachable subscribe.created subscribe.disabled subscribe.none
    subscribe.paused_note subscribe.reenabled subscribe.show subscribe.updated team.added team.already
    team.days_off_cleared team.days_off_none team.days_off_set team.leader team.linked team.list
    team.list_deactivated team.not_on_roster team.removed team.sync_left team.sync_started team.synced
    unsubscribe.done unsubscribe.none
    button.write button.off button.snooze dialog.title dialog.text_label dialog.date_label dialog.text_help
    dialog.submit usage.report help.report usage.report_status help.report_status usage.subscribe
    help.subscribe usage.unsubscribe help.unsubscribe usage.team help.team
""".split())
#: Voice keys a persona file must give (in each language it declares, unless it ``extends`` a built-in).
REQUIRED_VOICE_KEYS: frozenset[str] = VOICE_KEYS & FIRST_CATALOGUE
#: Voice keys added after the first catalogue: a file without them gets the plain texts and a warning.
LATER_VOICE_KEYS: frozenset[str] = VOICE_KEYS - FIRST_CATALOGUE
#: Keys nippo no longer uses: ignored, with a warning, in a file written when it did.
RETIRED_KEYS: frozenset[str] = FIRST_CATALOGUE - frozenset(KEYS)
