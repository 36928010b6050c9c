"""Planning one run: who is missing, and which outbox messages that makes.

A pure function of the run, its roster, what was filed and the streaks; it
writes nothing and sends nothing. Outbox keys make the result idempotent: a
run planned twice adds no message, and a member on two rosters gets one DM
per work date (``dm:{user}:{work date}``, whichever run plans it first).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from bot.reminders.bulk import EncodedContext
from bot.reminders.common import CHANNEL, DM, DMS, MEMBERSHIP, NOTICE, PENDING, SUMMARY, new_post_id, person
from bot.reminders.snapshot import NEVER_MISSED, Missed, Person, Sub
from bot.reminders.texts import persona_for, split_channel
from db.models import MORNING
from db.streaks import LONG_STREAK


@dataclass(frozen=True)
class Filed:
    """What is known about reports and absences for the work dates in play."""

    reported: set  # (member id, work date)
    absent: set  # (team id, member id, work date); team None: the member's own, for every team
    outside_keys: dict  # work date -> member keys the outside source says reported
    # work date -> that day's sets, made at its first question (a morning asks a hundred thousand)
    _days: dict = field(default_factory=dict, init=False, repr=False, compare=False)
    # (team, work date) -> (the roster asked about, who_is_missing's answer): a morning asks twice per run
    _missing: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def day(self, work_date: date) -> FiledOn:
        found = self._days.get(work_date)
        if found is None:
            found = self._days[work_date] = FiledOn.of(self, work_date)
        return found


@dataclass(frozen=True)
class FiledOn:
    """``Filed`` for one work date, as sets of member ids."""

    reported: frozenset[int]
    outside_keys: frozenset[str]
    absent_everywhere: frozenset[int]  # the member's own absence
    absent_from: dict[int, frozenset[int]]  # team id -> members off for that team

    @classmethod
    def of(cls, filed: Filed, work_date: date) -> FiledOn:
        absent_from: dict = {}
        for team_id, member_id, day in filed.absent:
            if day == work_date:
                absent_from.setdefault(team_id, set()).add(member_id)
        return cls(frozenset(m for m, day in filed.reported if day == work_date),
                   frozenset(filed.outside_keys.get(work_date, ())), frozenset(absent_from.pop(None, ())),
                   {team_id: frozenset(members) for team_id, members in absent_from.items()})

    def has_reported(self, member: Person) -> bool:
        return member.member_id in self.reported or (member.key is not None and member.key in self.outside_keys)

    def split(self, roster: list[Person], roster_ids: frozenset[int], team_id: int) -> tuple[frozenset, frozenset]:
        """(who reported, who was off and did not report) of a roster
        (``roster_ids``: its member ids), as member ids. Set operations,
        not a walk of the roster: a digest asks this of each of its week's
        days for every team."""
        if self.outside_keys:  # keys, not ids: the roster is walked
            reported = frozenset(m.member_id for m in roster if self.has_reported(m))
        else:
            reported = roster_ids & self.reported
        off = roster_ids & self.absent_everywhere
        off_here = self.absent_from.get(team_id)
        if off_here:
            off |= roster_ids & off_here
        return reported, off - reported


@dataclass
class RunPlan:
    missing: list[Person]
    expected: int  # roster members a report was due from (not absent)
    rows: list[dict] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)  # member ids whose leaders are told now


_NOT_IN_A_DM = frozenset({"channel_id", "expected", "mention"})


def who_is_missing(roster: list[Person], team_id: int, work_date: date, filed: Filed) -> tuple[list[Person], int]:
    """(missing members of the team, how many a report was expected from). A report wins over an absence.
    The list is shared with the next caller asking about the same roster: it is not to be changed."""
    known = filed._missing.get((team_id, work_date))
    if known is not None and known[0] is roster:
        return known[1]
    found = filed._missing[(team_id, work_date)] = (roster, _who_is_missing(roster, team_id, work_date, filed))
    return found[1]


def _who_is_missing(roster: list[Person], team_id: int, work_date: date, filed: Filed) -> tuple[list[Person], int]:
    reported, off = filed.day(work_date).split(roster, frozenset(m.member_id for m in roster), team_id)
    return [m for m in roster if m.member_id not in reported and m.member_id not in off], len(roster) - len(off)


def leaders_of(roster: list[Person]) -> list[list[str]]:
    return [[m.user_id, m.username] for m in roster if m.leader]


def run_seed(sub_id: int, local_date: date, slot: str) -> str:
    """What a run's messages pick their persona variants by: the run itself
    (its subscription, local date and slot), not its row's id, which a dry
    run cannot know, so the preview words every message as the run will."""
    return f"{sub_id}:{local_date.isoformat()}:{slot}"


def message_seed(payload, run_id: int | None, key: str) -> str:
    """The seed of a message a step makes (a DM of its run): the run's seed
    and the message's key. A row planned before runs carried their seed
    (``rs``) is seeded by its run id, as it was planned."""
    return f"{payload.get('rs') or f'run{run_id}'}:{key}"


def plan_run(services, run_id: int, sub: Sub, work_date: date, roster: list[Person], filed: Filed,
             streaks: dict[tuple[int, int], Missed], now: datetime, deadline: datetime,
             kept: dict[int, int] | None = None, *, local_date: date) -> RunPlan:
    """``kept``: the work days in a row each missing member had reported
    before ``work_date`` (the streak this miss would end), where known;
    ``local_date``: the run's (``run_seed``)."""
    kept = kept or {}
    missing, expected = who_is_missing(roster, sub.team_id, work_date, filed)
    plan = RunPlan(missing=missing, expected=expected)
    if expected == 0:
        return plan  # an empty or all-absent roster: nothing to say
    common = {"persona": sub.persona, "lang": sub.language, "sub": sub.id, "team": sub.team_id,
              "channel_id": sub.channel_id,
              "channel_name": sub.channel_name, "leaders": leaders_of(roster), "date": work_date.isoformat(),
              "x": sub.escalate, "expected": expected, "mention": sub.mention,
              "rs": run_seed(sub.id, local_date, MORNING)}

    # A member's DM says nothing of the channel post: its rows
    # (tens of thousands on a big morning) leave that context out.
    dm_common = {name: value for name, value in common.items() if name not in _NOT_IN_A_DM}

    contexts = {DM: EncodedContext(dm_common), None: EncodedContext(common)}

    def seed(name: str) -> str:  # what a message's persona variant is picked by
        return f"{common['rs']}:{name}"

    def add(name: str, kind: str, *, channel_id: str | None = None, recipient: str | None = None, **payload):
        """``name``: the message within its run; its key puts the run's id after the name's first part."""
        first, _, rest = name.partition(":")
        key = f"{first}:{run_id}:{rest}" if rest else f"{first}:{run_id}"
        context = contexts[DM if kind == DM else None]
        plan.rows.append(outbox_row(key, kind, run_id=run_id, work_date=work_date, channel_id=channel_id,
                                    recipient=recipient, now=now, deadline=deadline,
                                    payload=context.payload({"seed": seed(name), **payload})))

    chased = []
    for member in missing:
        missed = streaks.get((sub.id, member.member_id), NEVER_MISSED)
        entry = person(member.member_id, member.user_id, member.username, member.key)
        entry["s"] = missed.streak + 1
        chased.append(entry)
        if sub.escalate > 0 and missed.streak + 1 >= sub.escalate and not missed.told:
            plan.escalated.append(member.member_id)

    if sub.delivery in ("channel", "both"):
        if not chased:
            add("channel:0", CHANNEL, channel_id=sub.channel_id, members=[], part=0)
        else:
            persona = persona_for(services, sub.persona)
            seed_for = lambda part: seed(f"channel:{part}")  # noqa: E731  (as add() seeds it)
            base = {**common, "seed": seed_for(0)}
            for part, group in enumerate(split_channel(persona, base, chased, seed_for)):
                add(f"channel:{part}", CHANNEL, channel_id=sub.channel_id, members=group, part=part)
        if sub.delivery == "channel" and chased:
            add("membership", MEMBERSHIP, channel_id=sub.channel_id, members=chased)
    if sub.delivery in ("dm", "both") and chased:
        dms = []
        for entry in chased:  # a big morning has tens of thousands of DMs: one step row per run holds them
            own = {"member": entry, "text_key": dm_text_key(entry, sub.escalate)}
            if own["text_key"] == "reminder.dm" and kept.get(entry["m"], 0) >= LONG_STREAK:
                # the miss that would end a long streak: the persona is colder
                own["text_key"], own["streak"] = "reminder.broken", kept[entry["m"]]
            dms.append([dm_key(entry["u"], work_date), own])
        plan.rows.append(dm_step(run_id, work_date, contexts[DM], dms, now, deadline))
    if sub.delivery == "dm":
        for user_id, _username in common["leaders"]:
            add(f"summary:{user_id}", SUMMARY, recipient=user_id, members=chased)
    if plan.escalated:
        escalated = [e for e in chased if e["m"] in plan.escalated]
        for user_id, _username in common["leaders"]:
            others = [e for e in escalated if e["u"] != user_id]  # a leader hears about themselves in their own reminder
            if others:
                add(f"escalation:{user_id}", NOTICE, recipient=user_id, text_key="leader.escalation",
                    members=others)
    return plan


def dm_step(run_id: int, work_date: date, context: EncodedContext, dms: list[list], now: datetime,
            deadline: datetime) -> dict:
    """The step row of a run's DMs: what they share, and each one's key and
    own fields (``dms``: [key, own] pairs). Delivery makes the DM rows
    (``dm_rows``); the DMs are exactly those planning would have written."""
    return outbox_row(f"dms:{run_id}", DMS, run_id=run_id, work_date=work_date, channel_id=None, recipient=None,
                      now=now, deadline=deadline, payload=context.payload({"dms": dms}))


def dm_rows(step: dict, now: datetime) -> list[dict]:
    """The DM rows a step row stands for (``step``: the row as leased or planned), due at ``now``."""
    payload, run_id, work_date = step["payload"], step["run_id"], step["work_date"]
    context = {name: value for name, value in payload.items() if name != "dms"}
    return [outbox_row(key, DM, run_id=run_id, work_date=work_date, channel_id=None, recipient=own["member"]["u"],
                       now=now, deadline=step["deadline"],
                       payload={**context, "seed": message_seed(context, run_id, key), **own})
            for key, own in payload["dms"]]


def messages_in(kind: str, payload) -> int:
    """How many messages a row stands for: a step of DMs, each of them."""
    return len(payload["dms"]) if kind == DMS else 1


def dm_key(user_id: str, work_date: date) -> str:
    return f"dm:{user_id}:{work_date.isoformat()}"


def dm_text_key(entry: dict, escalate: int, *, outside: bool = False) -> str:
    if escalate > 0 and entry.get("s", 0) >= escalate:
        return "reminder.stern"
    return "reminder.outside_channel" if outside else "reminder.dm"


def outbox_row(key: str, kind: str, *, run_id: int | None, work_date: date | None, channel_id: str | None,
               recipient: str | None, now: datetime, deadline: datetime, payload: dict) -> dict:
    return {
        "key": key, "run_id": run_id, "kind": kind, "channel_id": channel_id, "recipient_user_id": recipient,
        "work_date": work_date, "payload": payload, "state": PENDING, "attempts": 0, "not_before": now,
        "deadline": deadline, "pending_post_id": new_post_id(), "created_at": now,
    }
