"""The outbox worker: lease due messages, re-check, send with a bounded
thread pool, record the results.

Leasing in batches keeps replicas from sending the same message; the pool
keeps Mattermost's latency from setting the pace (docs/operations.md: 200 posts/s at
20 ms a call); the shared gate keeps the pool within Mattermost's rate limit.
Results are written by one recorder thread, a few at a time in short
transactions, so workers go back to sending at once. ``should_stop`` is
checked before each message: on SIGTERM a send in flight finishes and is
recorded, and the rest are handed back.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait

from bot.reminders import recheck
from bot.reminders.common import PENDING, TickTime, delivery_options
from bot.reminders.limiter import Breaker
from bot.reminders.outbox import Outcome, drop_expired, lease, record_all, release
from bot.reminders.sender import Sender

log = logging.getLogger("nippo.reminders")

_RECORD_BATCH = 50


class Recorder(threading.Thread):
    """Writes outcomes in the order they come, up to _RECORD_BATCH per transaction."""

    def __init__(self, database, owner: str, tick: TickTime) -> None:
        super().__init__(name="nippo-record", daemon=True)
        self._database, self._owner, self._tick = database, owner, tick
        self._queue: queue.Queue = queue.Queue()

    def put(self, message: dict, outcome: Outcome | None) -> None:
        """``outcome`` None hands the lease back: nothing was sent."""
        self._queue.put((message, outcome))

    def flush(self) -> None:
        self._queue.join()

    def close(self) -> None:
        self._queue.put(None)
        self.join()

    def run(self) -> None:
        while True:
            items = [self._queue.get()]
            while len(items) < _RECORD_BATCH:
                try:
                    items.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            closing = items[-1] is None
            work = [item for item in items if item is not None]
            try:
                if work:
                    self._write(work)
            except Exception:  # the leases run out; the messages are searched for, then sent
                log.exception("recording %d delivery results failed", len(work))
            finally:
                for _ in items:
                    self._queue.task_done()
            if closing:
                return

    def _write(self, work: list) -> None:
        with self._database.write() as session:
            release(session, [message for message, outcome in work if outcome is None], self._owner)
            lost = record_all(session, [(m, o) for m, o in work if o is not None], self._owner, self._tick.now)
        if lost:
            log.warning("%d delivery results not recorded: their lease had passed to another process", lost)


def deliver(services, tick: TickTime, owner: str, *, should_stop=lambda: False) -> Counter:
    """Send every message due at the tick's time; a Counter of outcomes."""
    options = delivery_options(services)
    database = services.database
    counts: Counter = Counter()
    with database.write() as session:
        counts["dropped"] = drop_expired(session, tick, owner)
    sources = recheck.SourceCache(services.source)
    breaker = Breaker()
    sender = Sender(services, tick, options, sources, breaker)
    recorder = Recorder(database, owner, tick)
    recorder.start()

    def one(message: dict, check: recheck.Recheck) -> str:
        if should_stop() or breaker.open:
            recorder.put(message, None)
            return "released"
        try:
            outcome = sender.send(message, check)
        except Exception as error:  # a bug must not lose the message: retry it later
            log.exception("sending outbox message %s failed unexpectedly", message["id"])
            outcome = Outcome(PENDING, error=type(error).__name__, not_before=tick.now + options.retry_base)
        recorder.put(message, outcome)
        return outcome.state

    try:
        with ThreadPoolExecutor(max_workers=options.workers, thread_name_prefix="nippo-send") as pool:
            running: set = set()
            while not should_stop() and not breaker.open:
                with database.write() as session:
                    batch = lease(session, tick, owner, options.batch)
                if not batch:
                    if running:
                        done, running = wait(running, return_when=FIRST_COMPLETED)
                        _count(done, counts)
                        continue
                    recorder.flush()  # a membership step may just have added DMs
                    with database.write() as session:
                        batch = lease(session, tick, owner, options.batch)
                    if not batch:
                        break
                check = recheck.load(database, sources, batch)
                running |= {pool.submit(one, message, check) for message in batch}
                # Lease the next batch while this one is still sending, so
                # the workers do not idle between batches.
                while len(running) > options.workers:
                    done, running = wait(running, return_when=FIRST_COMPLETED)
                    _count(done, counts)
            done, _ = wait(running)
            _count(done, counts)
    finally:
        recorder.close()
    return counts


def _count(futures, counts: Counter) -> None:
    for future in futures:
        counts[future.result()] += 1
