"""Sending one leased outbox message, outside any transaction.

Nothing is sent twice: every post carries the message's ``pending_post_id``
(Mattermost returns the first post for a repeat within 30 seconds) and
``props.nippo_outbox_id``. When an answer was lost, the channel is searched
for the outbox id before sending again, even within those 30 seconds: a
clustered Mattermost keeps that dedup per node, and a repeat may reach
another one. A post goes out only while enough of the message's lease is
left that it lands before another process may take the message over; waits
for a rate limit stay inside the lease too, and a message with too little
left is handed back for a later tick.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from bot.mattermost import MattermostError
from bot.reminders import recheck
from bot.reminders.common import (CANCELLED, CHANNEL, DELIVERED, DIGEST, DM, DMS, EXPANDED, LEASE_MARGIN,
                                  MEMBERSHIP, NOTICE, PENDING, SNOOZE, SOURCE_RETRY, STATUS, SUMMARY, UNDELIVERABLE,
                                  DeliveryOptions, TickTime)
from bot.reminders.digest import digest_text
from bot.reminders.limiter import Breaker
from bot.reminders.outbox import Outcome, failed_target
from bot.reminders.plan import dm_key, dm_rows, dm_text_key, message_seed, outbox_row
from bot.reminders.texts import (channel_text, dm_attachments, dm_text, failure_reason, leader_summary, notice_text,
                                 persona_for, post_props, praise_text)

_RATE_LIMITED_TRIES = 50  # 429s waited out inline for one call at most (the lease usually ends it first)
_MIN_DEFER = timedelta(seconds=1)  # past the tick's now, so this pass does not lease it again
# Failures that say the target is gone for nippo (not a bug of nippo's, not a
# revoked token): only these count towards a subscription pausing itself.
GONE_PREFIX = "gone: "
_GONE_STATUSES = (403, 404)
_GONE_ERROR_IDS = frozenset({
    "api.post.create_post.can_not_post_to_deleted.error",  # archived channel
    "api.post.create_post.can_not_post_in_restricted_dm.error",  # direct messages restricted
    "api.context.permissions.app_error",  # not a member of the channel
    "app.channel.get_member.missing.app_error",
})
_NEWEST_PAGE = 200  # Mattermost's largest page
# Mattermost's answer to a pending_post_id whose first request is still being saved.
DEDUP_PENDING = "api.post.deduplicate_create_post.pending"


def is_gone(error: MattermostError) -> bool:
    return error.status in _GONE_STATUSES or (error.error_id or "") in _GONE_ERROR_IDS


class _LeaseRunningOut(Exception):
    """Too little of the message's lease is left for a post to land inside it."""


@dataclass
class _Attempt:
    channel_id: str | None
    unknown_since: datetime | None  # real clock: when a request whose answer was lost went out
    lease_end: float  # real clock, epoch seconds: when another process may take the message over
    post: dict | None = None


class Sender:
    def __init__(self, services, tick: TickTime, options: DeliveryOptions, sources: recheck.SourceCache,
                 breaker: Breaker) -> None:
        self._services = services
        self._client = services.mattermost
        self._tick = tick
        self._options = options
        self._sources = sources
        self._breaker = breaker
        self._lock = threading.Lock()
        self._channel_locks: dict[str, threading.Lock] = {}
        self._members: dict[str, frozenset[str]] = {}

    def send(self, message: dict, check: recheck.Recheck) -> Outcome:
        attempt = _Attempt(message["channel_id"], message["unknown_since"], message["lease_until"].timestamp())
        try:
            if message["kind"] == MEMBERSHIP:
                return self._membership(message, check, attempt)
            if message["kind"] == DMS:  # a run's DMs become rows of their own; each is checked as it is sent
                return Outcome(EXPANDED, new_rows=dm_rows(message, self._tick.now))
            return self._send(message, check, attempt)
        except MattermostError as error:
            return self._failure(message, error, attempt)
        except _LeaseRunningOut:  # handed back: the next tick, here or anywhere, sends it
            return Outcome(PENDING, error="lease running out", not_before=self._tick.now + _MIN_DEFER,
                           unknown_since=attempt.unknown_since, channel_id=attempt.channel_id)

    # --- one post ----------------------------------------------------------

    def _send(self, message: dict, check: recheck.Recheck, attempt: _Attempt) -> Outcome:
        rendered = self._render(message, check, attempt)
        if isinstance(rendered, Outcome):
            return rendered
        text, persona, buttons = rendered
        if attempt.channel_id is None:
            attempt.channel_id = self._dm_channel(message["recipient_user_id"], attempt)
        channel_id = attempt.channel_id
        attachments = None
        if buttons:
            payload = message["payload"]
            attachments = dm_attachments(self._services, persona, payload["lang"], message["recipient_user_id"],
                                         message["work_date"], self._tick.now, seed=payload["seed"])
        props = post_props(persona, message["id"], attachments)
        found = self._post(channel_id, text, props, message, attempt)
        if found is not None:
            return Outcome(DELIVERED, post_id=found["id"], channel_id=channel_id, text=found.get("message"))
        post = attempt.post
        self._breaker.succeeded()
        return Outcome(DELIVERED, post_id=post["id"], channel_id=channel_id, text=text)

    def _post(self, channel_id: str, text: str, props: dict, message: dict, attempt: _Attempt) -> dict | None:
        """Create the post, through the gate. Right before each HTTP attempt (a
        wait at the gate may be long) the lease is checked, and after a lost
        answer the channel is searched instead of posting again. Returns the
        post found by that search, else None with ``attempt.post`` set."""
        retried, error = False, None
        earliest_unknown = attempt.unknown_since
        for _ in range(_RATE_LIMITED_TRIES):
            self._enter_gate(attempt, error)
            if attempt.unknown_since is not None:
                found = self._find(channel_id, message, attempt.unknown_since, attempt)
                if found is not None:
                    return found
                attempt.unknown_since = None  # not there: a send with the same pending_post_id is safe
                self._enter_gate(attempt, error)  # the search took a slot
            self._check_lease(attempt)
            started = datetime.fromtimestamp(self._real(), timezone.utc)  # when this request goes out
            try:
                attempt.post = self._client.create_post(channel_id, text, props=props,
                                                        pending_post_id=message["pending_post_id"])
                self._options.gate.passed()
                return None
            except MattermostError as caught:
                if caught.error_id == DEDUP_PENDING:
                    # An earlier request with this pending_post_id is still being
                    # saved: it will land. Search again before any other try.
                    attempt.unknown_since = earliest_unknown or started
                    raise
                if caught.landed is None:  # no answer: it may have landed
                    if attempt.unknown_since is None:
                        attempt.unknown_since = started  # the earliest request that may have landed
                    earliest_unknown = earliest_unknown or attempt.unknown_since
                    if not retried:
                        retried = True  # searched first, then the same pending_post_id once more
                        continue
                    raise
                if not self._waits_inline(caught):
                    raise
                error = caught
                self._options.gate.pause(self._wait_of(caught))
        raise error

    def _render(self, message: dict, check: recheck.Recheck, attempt: _Attempt):
        """(text, persona, with buttons) for what is still true now, or the
        outcome of a message nobody needs any more."""
        payload, kind, work_date = message["payload"], message["kind"], message["work_date"]
        persona = persona_for(self._services, payload["persona"])
        if kind == STATUS:  # said when the command was given: sent as it was
            return payload["text"], persona, False
        if kind == NOTICE:
            if "members" not in payload:
                return notice_text(persona, payload), persona, False
            remaining = check.still_missing(payload["members"], work_date, payload.get("team"))  # an escalation
            if not remaining:
                return Outcome(CANCELLED, error="everyone it named has filed")
            return notice_text(persona, payload, remaining), persona, False
        if kind == SNOOZE and work_date is not None and self._sources.is_unavailable(work_date):
            # whether it was filed cannot be told now: wait rather than chase someone who filed
            return Outcome(PENDING, error="report source unavailable", not_before=self._tick.now + SOURCE_RETRY)
        if kind in (DM, SNOOZE):
            if check.is_done(payload["member"], work_date, payload.get("team")):
                return Outcome(CANCELLED, error="filed before it was sent")
            return dm_text(persona, payload), persona, True
        if kind == DIGEST:
            return digest_text(persona, payload), persona, False
        members = payload.get("members") or []
        remaining = check.still_missing(members, work_date, payload.get("team"))
        if kind == SUMMARY:
            text = leader_summary(persona, payload, remaining, message["recipient_user_id"])
            if text is None:
                return Outcome(CANCELLED, error="only the leader it was for is missing: their own DM says so")
            return text, persona, False
        if kind == CHANNEL:
            if remaining:
                outside = self._outside_channel(message["channel_id"], remaining, attempt) \
                    if payload.get("mention", True) else frozenset()
                return channel_text(persona, payload, remaining, outside), persona, False
            if members and (payload.get("part") or recheck.run_still_missing(
                    self._services.database, self._sources, message["run_id"], work_date,
                    getattr(self._services.source, "member_key", "username"))):
                return Outcome(CANCELLED, error="everyone it named has filed")
            return praise_text(persona, payload), persona, False
        raise ValueError(f"unknown outbox kind {kind!r}")

    # --- roster members outside the channel ---------------------------------

    def _membership(self, message: dict, check: recheck.Recheck, attempt: _Attempt) -> Outcome:
        payload, work_date = message["payload"], message["work_date"]
        remaining = check.still_missing(payload.get("members") or [], work_date, payload.get("team"))
        if not remaining:
            return Outcome(DELIVERED)
        inside = self._channel_members(message["channel_id"], attempt)
        if not inside:
            # Nobody, not even the bot: a client that cannot tell (console
            # mode). DMing the whole roster would be worse than no DM.
            return Outcome(DELIVERED)
        base = {k: v for k, v in payload.items() if k != "members"}
        rows = []
        for member in remaining:
            if member["u"] in inside:
                continue
            key = dm_key(member["u"], work_date)
            rows.append(outbox_row(
                key, DM, run_id=message["run_id"], work_date=work_date, channel_id=None, recipient=member["u"],
                now=self._tick.now, deadline=message["deadline"],
                payload={**base, "seed": message_seed(base, message["run_id"], key), "member": member,
                         "text_key": dm_text_key(member, payload.get("x", 0), outside=True)}))
        return Outcome(DELIVERED, new_rows=rows)

    def _outside_channel(self, channel_id: str, members: list[dict], attempt: _Attempt) -> frozenset[str]:
        """Which of ``members`` are not in the channel (nobody, when the client
        cannot tell: console mode lists no members)."""
        inside = self._channel_members(channel_id, attempt)
        if not inside:
            return frozenset()
        return frozenset(m["u"] for m in members if m["u"] not in inside)

    def _dm_channel(self, user_id: str, attempt: _Attempt) -> str:
        known = self._options.dm_channels.get(user_id)
        if known is None:
            known = self._call(lambda: self._client.direct_channel_id(user_id), attempt)
            self._options.dm_channels[user_id] = known
        return known

    def _channel_members(self, channel_id: str, attempt: _Attempt) -> frozenset[str]:
        with self._lock:
            lock = self._channel_locks.setdefault(channel_id, threading.Lock())
        with lock:  # one fetch per channel and pass, however many runs share it
            if channel_id not in self._members:
                self._members[channel_id] = frozenset(self._call(lambda: self._client.channel_member_ids(channel_id),
                                                                 attempt))
            return self._members[channel_id]

    # --- Mattermost calls ---------------------------------------------------

    def _call(self, request, attempt: _Attempt):
        """One call through the shared gate; a short 429 closes the gate for
        every worker and the call is made again once it opens."""
        error = None
        for _ in range(_RATE_LIMITED_TRIES):
            self._enter_gate(attempt, error)
            try:
                answer = request()
                self._options.gate.passed()
                return answer
            except MattermostError as caught:
                error = caught
                if not self._waits_inline(caught):
                    raise
                self._options.gate.pause(self._wait_of(caught))
        raise error

    @staticmethod
    def _wait_of(error: MattermostError) -> float:
        return error.retry_after if error.retry_after is not None else 1.0

    def _waits_inline(self, error: MattermostError) -> bool:
        """A short 429 is waited out at the gate; a long one is a later tick's."""
        return error.status == 429 and self._wait_of(error) <= self._options.inline_wait_max

    def _enter_gate(self, attempt: _Attempt, error: MattermostError | None) -> None:
        """Wait for a turn at the gate, but only as long as the call still
        lands well inside the lease; else the message goes back, with the
        429 that made it wait (its Retry-After says when to try again)."""
        left = attempt.lease_end - self._real() - LEASE_MARGIN
        if not self._options.gate.wait(until=self._options.monotonic() + left):
            raise error if error is not None else _LeaseRunningOut()

    def _check_lease(self, attempt: _Attempt) -> None:
        if attempt.lease_end - self._real() < LEASE_MARGIN:
            raise _LeaseRunningOut

    def _find(self, channel_id: str, message: dict, since: datetime, attempt: _Attempt) -> dict | None:
        """The post of this outbox message, if an earlier try made it after all."""
        since_s = since.timestamp()
        if self._real() - since_s > 2 * 86400:
            # Taken over from a dead sender: the post, if any, is younger than the
            # message itself, so search from its planning — a page of newest posts
            # could miss it in a busy channel. A planning time Mattermost's clock has
            # not reached (`nippo remind --at` ahead of time) says nothing: newest page.
            created = message.get("created_at")
            if created is None or created.timestamp() > self._real():
                posts = self._call(lambda: self._client.recent_posts(channel_id, per_page=_NEWEST_PAGE), attempt)
                return self._match(posts, message)
            since_s = created.timestamp()
        posts = self._call(lambda: self._client.recent_posts(channel_id, since_ms=int((since_s - 120) * 1000)),
                           attempt)
        return self._match(posts, message)

    @staticmethod
    def _match(posts: list[dict], message: dict) -> dict | None:
        wanted = str(message["id"])
        return next((p for p in posts if str((p.get("props") or {}).get("nippo_outbox_id")) == wanted), None)

    def _failure(self, message: dict, error: MattermostError, attempt: _Attempt) -> Outcome:
        if error.transient:
            self._breaker.failed()
            return Outcome(PENDING, error=str(error), not_before=self._retry_at(message, error),
                           unknown_since=attempt.unknown_since, channel_id=attempt.channel_id)
        notify = None
        if message["kind"] not in (MEMBERSHIP, STATUS):  # the channel post's own failure tells the leaders
            notify = {"target": failed_target(message), "reason": failure_reason(error),
                      "date": message["payload"].get("date", "")}
        reason = f"{GONE_PREFIX}{error}" if is_gone(error) else str(error)
        return Outcome(UNDELIVERABLE, error=reason, notify=notify, channel_id=attempt.channel_id)

    def _retry_at(self, message: dict, error: MattermostError) -> datetime:
        """Retry-After when Mattermost gave one, else exponential backoff with jitter."""
        if error.retry_after is not None:
            delay = timedelta(seconds=error.retry_after)
        elif error.landed is None:
            delay = _MIN_DEFER  # the answer was lost: the next tick searches, then resends
        else:
            options = self._options
            step = options.retry_base * (2 ** max(0, message["attempts"] - 1))
            delay = min(options.retry_cap, step) * (0.5 + options.random.random())
        return self._tick.now + max(delay, _MIN_DEFER)

    def _real(self) -> float:
        return self._options.real_clock()
