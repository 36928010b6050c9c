"""What a reminder says: outbox payloads turned into post text and props.

Rendering happens twice: at planning, to split a long channel post, and just
before sending, with whoever is still missing then. The persona variant is a
function of the message's seed, so a retry says exactly what the first try
said.
"""

from __future__ import annotations

import functools
import string
from datetime import date, datetime

from bot.buttons import reminder_attachment
from bot.reminders.common import POST_LIMIT
from persona import inert, join, mention, name

# What the command shows as TEXT, so members see a complete command to copy.
_WHAT_YOU_DID = {"en": "what you did", "ja": "やったこと"}
# Room left in a post for a persona's words around the names.
_SPLIT_MARGIN = 400
# Room kept below the limit for what may differ at sending: fewer names can
# change a count's or a streak's wording.
_SEND_MARGIN = 200


def persona_for(services, persona_name: str):
    return services.personas.get(persona_name, fallback=services.settings.persona)


def command_for(work_date: date, lang: str) -> str:
    what = _WHAT_YOU_DID.get((lang or "en")[:2], _WHAT_YOU_DID["en"])
    return f"/report {work_date.isoformat()} {what}"


def _is_stern(member: dict, escalate: int) -> bool:
    return escalate > 0 and member.get("s", 0) >= escalate


def channel_text(persona, payload: dict, members: list[dict], outside: frozenset[str] = frozenset()) -> str:
    """The channel reminder for ``members``: the usual text for most, the
    stern one for those on a streak; names without pings under `mention off`.
    Members whose user id is in ``outside`` are not in the channel: they are
    named, not mentioned (the ping would not reach them, and Mattermost would
    offer to add them to the channel); their DM reaches them instead."""
    lang, seed, work_date = payload["lang"], payload["seed"], date.fromisoformat(payload["date"])
    escalate, pings = payload.get("x", 0), payload.get("mention", True)
    common = {"date": work_date.isoformat(), "command": command_for(work_date, lang)}
    usual = [m for m in members if not _is_stern(m, escalate)]
    stern = [m for m in members if _is_stern(m, escalate)]
    sections = []
    if usual:
        key = "reminder.channel" if pings else "reminder.channel_names"
        sections.append(persona.say(key, lang, seed=seed, count=len(usual), **common,
                                    **_people(usual, pings, lang, outside)))
    if stern:
        key = "reminder.stern_channel" if pings else "reminder.stern_channel_names"
        streak = min(m["s"] for m in stern)
        sections.append(persona.say(key, lang, seed=seed + ":stern", count=len(stern), streak=streak,
                                    **common, **_people(stern, pings, lang, outside)))
    return "\n\n".join(sections)


def _people(members: list[dict], pings: bool, lang: str, outside: frozenset[str]) -> dict:
    if pings:
        return {"mentions": " ".join(name(m["n"]) if m["u"] in outside else mention(m["n"]) for m in members)}
    return {"names": join([name(m["n"]) for m in members], lang)}


def split_channel(persona, payload: dict, members: list[dict], seed_for=None) -> list[list[dict]]:
    """``members`` in groups whose channel post stays within Mattermost's
    limit, with a margin. ``seed_for(part)`` is the seed part ``part`` is
    sent with: the persona variant depends on it, so each group is measured
    with exactly the text it will be sent with."""
    seed_for = seed_for or (lambda part: payload["seed"])
    limit = POST_LIMIT - _SEND_MARGIN

    def length(group: list[dict], part: int) -> int:
        # Measured with everyone named: a name is longer than a mention, and
        # who is outside the channel is only known when the post is sent.
        named = frozenset(m["u"] for m in group)
        return len(channel_text(persona, {**payload, "seed": seed_for(part)}, group, named))

    if not members or _surely_fits(persona, payload, members, limit) or length(members, 0) <= limit:
        return [members]
    overhead = max(length(members[:1], part) for part in range(3)) - _cost(members[0])
    budget = max(limit - overhead - _SPLIT_MARGIN, 100)
    groups: list[list[dict]] = [[]]
    used = 0
    for member in members:
        cost = _cost(member)
        if groups[-1] and used + cost > budget:
            groups.append([])
            used = 0
        groups[-1].append(member)
        used += cost
    # The estimate holds for every persona we ship; halve any group it did
    # not (which renumbers the parts after it, so check them all again).
    while True:
        for part, group in enumerate(groups):
            if len(group) > 1 and length(group, part) > limit:
                half = len(group) // 2
                groups[part:part + 1] = [group[:half], group[half:]]
                break
        else:
            return groups


def _surely_fits(persona, payload: dict, members: list[dict], limit: int) -> bool:
    """Whether the post naming all of ``members`` fits whatever the variant,
    known without rendering it: the longest variant of each section with
    every placeholder filled by the longest value. Nearly every team's post
    fits, and rendering each to measure it was a tenth of a big morning."""
    lang = payload["lang"]
    keys = (("reminder.channel", "reminder.stern_channel") if payload.get("mention", True)
            else ("reminder.channel_names", "reminder.stern_channel_names"))
    # a name at its longest: "@", a zero-width space, every character escaped, a separator
    longest_value = max(sum(2 * len(m["n"]) + 4 for m in members),
                        len(command_for(date.fromisoformat(payload["date"]), lang)), _NUMBER_ROOM)
    total = len("\n\n")
    for key in keys:
        extent = _extent(persona.variants(key, lang))
        if extent is None:
            return False
        longest, fields = extent
        total += longest + fields * longest_value
    return total <= limit


# Room for a number (a count, a streak) or a date in a text.
_NUMBER_ROOM = 20


@functools.lru_cache(maxsize=256)
def _extent(variants: tuple[str, ...]) -> tuple[int, int] | None:
    """(the longest variant's length, the most placeholders in one variant);
    None when a placeholder has a format spec or conversion, which could
    make its value longer."""
    longest = most = 0
    for variant in variants:
        fields = [(spec, conversion) for _text, field, spec, conversion in _FORMATTER.parse(variant)
                  if field is not None]
        if any(spec or conversion for spec, conversion in fields):
            return None
        longest, most = max(longest, len(variant)), max(most, len(fields))
    return longest, most


_FORMATTER = string.Formatter()


def _cost(member: dict) -> int:
    return len(name(member["n"])) + 2  # a name with its separator; a mention is shorter


def praise_text(persona, payload: dict) -> str:
    return persona.say("praise", payload["lang"], seed=payload["seed"], date=payload["date"],
                       count=payload.get("expected", 0))


def dm_text(persona, payload: dict) -> str:
    member, lang = payload["member"], payload["lang"]
    work_date = date.fromisoformat(payload["date"])
    # {streak} is what planning chose to show (a long streak at stake), else the missed runs in a row
    return persona.say(payload["text_key"], lang, seed=payload["seed"], name=name(member["n"]),
                       date=work_date.isoformat(), command=command_for(work_date, lang),
                       streak=payload.get("streak", member.get("s", 0)),
                       channel=f"~{payload.get('channel_name') or ''}")


def leader_summary(persona, payload: dict, members: list[dict], leader_id: str) -> str | None:
    """A dm-mode run's word to one leader on ``members``, the ones still
    missing: never about the leader in the third person (their own DM says
    it), so None when they are the only one; the praise when nobody is."""
    others = [m for m in members if m["u"] != leader_id]
    if members and not others:
        return None
    return summary_text(persona, payload, others) if others else praise_text(persona, payload)


def summary_text(persona, payload: dict, members: list[dict]) -> str:
    """The leaders' one line: how many are missing and who, cut at a whole
    name with the rest counted if the team is huge."""
    lang, seed = payload["lang"], payload["seed"]
    names = [name(m["n"]) for m in members]
    text = persona.say("leader.summary", lang, seed=seed, count=len(members), names=join(names, lang),
                       date=payload["date"])
    if len(text) <= POST_LIMIT:
        return text
    shown: list[str] = []
    budget = POST_LIMIT - (len(text) - len(join(names, lang))) - _SPLIT_MARGIN
    for item in names:
        if sum(len(n) + 2 for n in shown) + len(item) + 2 > budget:
            break
        shown.append(item)
    listing = join(shown, lang) + f" (+{len(names) - len(shown)})"
    return persona.say("leader.summary", lang, seed=seed, count=len(members), names=listing, date=payload["date"])


def notice_text(persona, payload: dict, members: list[dict] | None = None) -> str:
    """A notice to leaders; an escalation is one message listing every member
    still missing (the payload's ``text_key`` names the kind of notice)."""
    lang, seed, params = payload["lang"], payload["seed"], dict(payload.get("params") or {})
    if payload["text_key"] == "leader.escalation":
        members = members or []
        names = [f"{name(m['n'])} ({m['s']})" for m in members]
        listing = join(names, lang)
        budget = POST_LIMIT - _SPLIT_MARGIN
        if len(listing) > budget:  # a huge team: whole names, the rest counted, like the summary
            shown: list[str] = []
            for item in names:
                if len(join(shown + [item], lang)) > budget:
                    break
                shown.append(item)
            listing = join(shown, lang) + f" (+{len(names) - len(shown)})"
        return persona.say("leader.escalations", lang, seed=seed, names=listing, count=len(members),
                           streak=min((m["s"] for m in members), default=0), date=payload["date"])
    params.setdefault("date", payload.get("date", ""))
    return persona.say(payload["text_key"], lang, seed=seed, **params)


def failure_reason(error) -> str:
    """A short, inert reason for leaders: Mattermost's own message (in the
    bot's locale), else its error id."""
    reason = getattr(error, "message", None) or getattr(error, "error_id", None) or str(error)
    return inert(reason.strip().rstrip(".")[:160])


def dm_attachments(services, persona, lang: str, user_id: str, work_date: date, now: datetime, *,
                   seed: str = "") -> list[dict]:
    """The buttons of a DM reminder (write / off / snooze), expiring 7 days
    after ``now``, the tick's time; the action endpoint rebuilds them with this."""
    return [reminder_attachment(services, persona, lang, user_id, work_date, now, seed=seed)]


def post_props(persona, outbox_id: int, attachments: list[dict] | None = None) -> dict:
    """Props every nippo post carries: the persona's face and the outbox id
    that lets a lost answer be found again."""
    props: dict = {"from_webhook": "true", "override_username": persona.display_name,
                   "nippo_outbox_id": str(outbox_id)}
    if persona.icon_url:
        props["override_icon_url"] = persona.icon_url
    if attachments:
        props["attachments"] = attachments
    return props
