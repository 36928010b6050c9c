"""Closing runs whose messages have all had their fate, and what follows from
that: escalation streaks (sent runs only) and, after runs that could not be
delivered, the subscription pausing itself.

A run is **failed** when its channel post could not be delivered, or when
nothing of it could be delivered and something failed for good (one member
with closed DMs does not fail a team's run); a run whose messages were all
dropped is failed too, but only undeliverable runs count towards the pause.
Otherwise it is **sent**.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import case, exists, func, insert, select, update
from sqlalchemy.orm import Session

from bot.reminders import snapshot
from bot.reminders.bulk import update_by_id
from bot.reminders.common import (CHANNEL, DELIVERED, DIGEST_SLOT, DM, DMS, DROPPED, EXPANDED, FAILED, OPEN_STATES,
                                  OUTCOME_ROW_KINDS, PAUSE_AFTER_FAILED_RUNS, PLANNED, RUN_KINDS, SENT, UNDELIVERABLE,
                                  TickTime)
from bot.reminders.notices import channel_ref, notice_rows
from bot.reminders.plan import leaders_of
from bot.reminders.planner import RunLine, insert_messages
from bot.reminders.sender import GONE_PREFIX
from db.idsets import in_ids
from db.models import MORNING, MissingStreak, OutboxMessage, ReminderRun, Subscription

UNDELIVERABLE_REASON = "undeliverable"
ERROR_REASON = "error"  # failed for good, but not because the target is gone: no pause
GONE = "gone"  # in a tally: undeliverable messages whose target is gone


def finish_runs(services, tick: TickTime) -> list[RunLine]:
    with services.database.write() as session:
        return _finish(services, session, tick)


def _finish(services, session: Session, tick: TickTime) -> list[RunLine]:
    # Each run's few rows are found by run id alone; the state is tested on
    # the rows themselves (COALESCE: not a condition the state index can
    # take). Given one, PostgreSQL combined both indexes, and after a big
    # morning the state index still holds an entry for every row's earlier
    # pending and sending versions until vacuum: each run read all of them
    # (8.5 s for 10,000 runs).
    still_open = exists().where(OutboxMessage.run_id == ReminderRun.id, OutboxMessage.kind.in_(RUN_KINDS),
                                func.coalesce(OutboxMessage.state, "").in_(OPEN_STATES))
    query = (select(ReminderRun.id, ReminderRun.subscription_id, ReminderRun.work_date, ReminderRun.missing,
                    ReminderRun.slot)
             .where(ReminderRun.state == PLANNED, ~still_open).order_by(ReminderRun.work_date, ReminderRun.id))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)  # two replicas finishing at once
    runs = session.execute(query).all()
    if not runs:
        return []
    tally: dict[int, dict] = defaultdict(lambda: defaultdict(int))
    gone = case((OutboxMessage.last_error.like(GONE_PREFIX + "%"), 1), else_=0)
    for run_id, kind, state, is_gone, count in session.execute(
            select(OutboxMessage.run_id, OutboxMessage.kind, OutboxMessage.state, gone, func.count())
            .where(in_ids(session, OutboxMessage.run_id, [r.id for r in runs], "runs"),
                   OutboxMessage.kind.in_(OUTCOME_ROW_KINDS))
            .group_by(OutboxMessage.run_id, OutboxMessage.kind, OutboxMessage.state, gone)):
        if kind == DMS:  # a step that made its DMs leaves them to be judged; one dropped before, is them dropped
            if state == EXPANDED:
                continue
            kind = DM
        tally[run_id][(kind, state)] += count
        if state == UNDELIVERABLE and is_gone:
            tally[run_id][(kind, GONE)] += count
    outcomes = {run.id: _outcome(tally[run.id]) for run in runs}
    finished: set[int] = set()
    for state, reason in {outcome for outcome in outcomes.values()}:
        ids = [run_id for run_id, outcome in outcomes.items() if outcome == (state, reason)]
        finished |= set(session.scalars(
            update(ReminderRun).where(in_ids(session, ReminderRun.id, ids, "runs"), ReminderRun.state == PLANNED)
            .values(state=state, reason=reason, finished_at=tick.now).returning(ReminderRun.id)
            .execution_options(synchronize_session=False)))
    runs = [run for run in runs if run.id in finished]  # another replica may have closed some first
    if not runs:
        return []
    subs = snapshot.subscriptions_by_id(session, {run.subscription_id for run in runs})
    # Escalation and pausing count mornings: a day with two nudges is one miss,
    # and one member's closed DMs must not pause a team in a single day.
    mornings = [run for run in runs if run.slot == MORNING]
    _update_streaks(session, [run for run in mornings if outcomes[run.id][0] == SENT], subs)
    _count_failures(services, session, tick, mornings, outcomes, subs)
    return [RunLine(run.id, run.subscription_id, subs[run.subscription_id].channel_name if run.subscription_id in subs
                    else "?", run.work_date, None if run.slot == DIGEST_SLOT else len(run.missing or []),
                    _status(outcomes[run.id]), run.slot) for run in runs]


def _outcome(tally: dict) -> tuple[str, str | None]:
    delivered = any(state == DELIVERED for (_kind, state) in tally)
    if tally.get((CHANNEL, UNDELIVERABLE)) or (not delivered and any(s == UNDELIVERABLE for (_k, s) in tally)):
        # Only a target that is gone (403/404, archived, restricted) counts
        # towards the pause; a 400 from a bug or a 401 does not.
        if tally.get((CHANNEL, GONE)) or (not tally.get((CHANNEL, UNDELIVERABLE))
                                          and any(s == GONE for (_k, s) in tally)):
            return FAILED, UNDELIVERABLE_REASON
        return FAILED, ERROR_REASON
    if not delivered and any(state == DROPPED for (_kind, state) in tally):
        return FAILED, "dropped"
    return SENT, None


def _status(outcome: tuple[str, str | None]) -> str:
    state, reason = outcome
    return f"{state} ({reason})" if reason else state


def _update_streaks(session: Session, runs: list, subs: dict) -> None:
    """Members a sent run listed as missing (and who have not filed since)
    gain one; members who reported lose their streak; absences (the member's
    own, or one set for this run's team) change nothing.

    A morning closes thousands of runs over tens of thousands of streaks:
    they are read and written as plain rows, each subscription's walked for
    its own runs only (every streak for every run, as ORM objects, took
    14 s for 1,000 runs of 10 members; 10,000 runs would take hours)."""
    if not runs:
        return
    known: dict[tuple[int, int], tuple[int, bool, int | None]] = {
        (sub_id, member_id): (streak, told, last) for sub_id, member_id, streak, told, last in session.execute(
            select(MissingStreak.subscription_id, MissingStreak.member_id, MissingStreak.streak,
                   MissingStreak.leaders_told, MissingStreak.last_run_id)
            .where(in_ids(session, MissingStreak.subscription_id, {run.subscription_id for run in runs},
                          "subscriptions")))}
    members = {m for run in runs for m in run.missing or []} | {member_id for _sub, member_id in known}
    dates = {run.work_date for run in runs}
    reported, absences = snapshot.filed_by(session, members, dates)
    streaks = dict(known)  # as each run in turn leaves them
    of_sub: dict[int, set[int]] = defaultdict(set)  # subscription -> members with a streak row
    for sub_id, member_id in known:
        of_sub[sub_id].add(member_id)
    for run in runs:
        sub = subs.get(run.subscription_id)
        team_id = sub.team_id if sub is not None else None

        def absent(member_id: int) -> bool:
            return ((None, member_id, run.work_date) in absences
                    or (team_id is not None and (team_id, member_id, run.work_date) in absences))

        missing = {m for m in run.missing or [] if (m, run.work_date) not in reported and not absent(m)}
        rows = of_sub[run.subscription_id]
        for member_id in missing:
            key = (run.subscription_id, member_id)
            streak, told, last = streaks.get(key, (0, False, None))
            rows.add(member_id)
            if last != run.id:
                # leaders_told is recorded when an escalation is delivered (outbox)
                streaks[key] = (streak + 1, told, run.id)
        for member_id in rows - missing:
            if absent(member_id) and (member_id, run.work_date) not in reported:
                continue
            streaks[(run.subscription_id, member_id)] = (0, False, run.id)
    changed = [{"subscription_id": sub_id, "member_id": member_id, "streak": streak, "leaders_told": told,
                "last_run_id": last} for (sub_id, member_id), (streak, told, last) in streaks.items()
               if known.get((sub_id, member_id)) != (streak, told, last)]
    added = [row for row in changed if (row["subscription_id"], row["member_id"]) not in known]
    if added:
        # A plain INSERT: a replica that closed another run of the subscription
        # at the same moment makes this one fail and close next tick, on its rows.
        session.execute(insert(MissingStreak), added)
    if len(added) < len(changed):
        update_by_id(session, MissingStreak, [row for row in changed
                                              if (row["subscription_id"], row["member_id"]) in known],
                     key=("subscription_id", "member_id"))


def _count_failures(services, session: Session, tick: TickTime, runs: list, outcomes: dict, subs: dict) -> None:
    """Three undeliverable runs in a row pause the subscription; leaders are told by DM."""
    failed = {run.subscription_id for run in runs if outcomes[run.id] == (FAILED, UNDELIVERABLE_REASON)}
    succeeded = {run.subscription_id for run in runs if outcomes[run.id][0] == SENT} - failed
    if succeeded:
        session.execute(update(Subscription).where(in_ids(session, Subscription.id, succeeded, "subs"),
                                                     Subscription.failure_streak != 0)
                        .values(failure_streak=0).execution_options(synchronize_session=False))
    if not failed:
        return
    streaks = dict(session.execute(
        update(Subscription).where(in_ids(session, Subscription.id, failed, "subs"))
        .values(failure_streak=Subscription.failure_streak + 1)
        .returning(Subscription.id, Subscription.failure_streak).execution_options(synchronize_session=False)).all())
    pausing = {sub_id for sub_id, streak in streaks.items() if streak >= PAUSE_AFTER_FAILED_RUNS}
    if not pausing:
        return
    session.execute(update(Subscription).where(in_ids(session, Subscription.id, pausing, "subs")).values(paused=True)
                    .execution_options(synchronize_session=False))
    rosters = snapshot.rosters(session, {subs[s].team_id for s in pausing if s in subs},
                               getattr(services.source, "member_key", "username"))
    rows = []
    for run in runs:
        sub = subs.get(run.subscription_id)
        if sub is None or sub.id not in pausing:
            continue
        context = {"persona": sub.persona, "lang": sub.language, "sub": sub.id, "channel_name": sub.channel_name,
                   "channel_id": sub.channel_id, "leaders": leaders_of(rosters.get(sub.team_id, [])),
                   "date": run.work_date.isoformat()}
        rows += notice_rows(f"paused:{run.id}", context, "leader.paused", tick.now, run_id=run.id,
                            work_date=run.work_date, params={"channel": channel_ref(context),
                                                             "count": streaks[sub.id]})
    insert_messages(session, rows)
