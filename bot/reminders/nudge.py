"""Planning a nudge (`/subscribe again HH:MM`): one more DM, later the same
day, to the members still missing the morning run's work date.

Not to those who filed or are off since, nor to those with a snoozed DM still
to come; never a channel post. A nudge is no run of its own for escalation
(that counts mornings), but a member on an escalated streak gets the stern
nudge. Keys make a nudge once per member, work date and time, whichever
roster plans it first.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.reminders.bulk import EncodedContext
from bot.reminders.common import nudge_time, person
from bot.reminders.plan import Filed, RunPlan, dm_step, leaders_of, run_seed, who_is_missing
from bot.reminders.snapshot import NEVER_MISSED, Missed, Person, Sub


def nudge_key(user_id: str, work_date: date, at: str) -> str:
    return f"again:{user_id}:{work_date.isoformat()}:{at}"


def plan_nudge(run_id: int, sub: Sub, slot: str, work_date: date, roster: list[Person], filed: Filed,
               streaks: dict[tuple[int, int], Missed], snoozed: set[tuple[str, date]], now: datetime,
               deadline: datetime, *, local_date: date) -> RunPlan:
    missing, expected = who_is_missing(roster, sub.team_id, work_date, filed)
    missing = [m for m in missing if (m.user_id, work_date) not in snoozed]
    plan = RunPlan(missing=missing, expected=expected)
    at = nudge_time(slot)
    common = {"persona": sub.persona, "lang": sub.language, "sub": sub.id, "team": sub.team_id,
              "channel_id": sub.channel_id, "channel_name": sub.channel_name, "leaders": leaders_of(roster),
              "date": work_date.isoformat(), "x": sub.escalate, "again": at,
              "rs": run_seed(sub.id, local_date, slot)}
    dms = []
    for member in missing:
        # The morning run was sent, so its miss is counted already.
        missed = streaks.get((sub.id, member.member_id), NEVER_MISSED)
        entry = {**person(member.member_id, member.user_id, member.username, member.key), "s": missed.streak}
        stern = sub.escalate > 0 and missed.streak >= sub.escalate
        dms.append([nudge_key(member.user_id, work_date, at),
                    {"member": entry, "text_key": "reminder.again_stern" if stern else "reminder.again"}])
    if dms:
        plan.rows.append(dm_step(run_id, work_date, EncodedContext(common), dms, now, deadline))
    return plan
