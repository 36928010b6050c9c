"""One gate in front of every delivery call, shared by the worker threads.

Mattermost's rate limiter (docs/operations.md, Performance) answers 429 with Retry-After once the
burst is spent. Each worker backing off on its own would keep the others
hammering; instead a 429 closes the gate for everyone until Retry-After has
passed. The server's tokens keep accruing meanwhile, so nothing is lost by
waiting. From the calls that got through since the first 429 the gate learns
the server's rate and spaces calls to match it, so workers stop running into
the limit every second; what accrued during a pause may go at once when the
gate opens. The spacing shrinks a little while no 429 comes (a raised limit
is found again) and is dropped after a quiet minute.
"""

from __future__ import annotations

import threading
from typing import Callable

_RELAX_AFTER = 60.0  # seconds without a 429 before calls are no longer spaced
_PROBE_EVERY = 20  # calls between small speed-ups, to find a limit that was raised
_PROBE_FACTOR = 0.95
_CREDIT_SHARE = 1.0


class RateGate:
    def __init__(self, monotonic: Callable[[], float], sleep: Callable[[float], None]) -> None:
        self._monotonic = monotonic
        self._sleep = sleep
        self._lock = threading.Lock()
        self._open_at = 0.0  # closed until then (Retry-After)
        self._next = 0.0  # the next free slot when calls are spaced
        self._spacing = 0.0
        self._first_limited_at: float | None = None  # the first 429 since calls were last free
        self._limited_at: float | None = None  # the last 429
        self._passed = 0  # calls that got through since the first 429
        self._credit = 0  # calls that may skip the spacing once the gate opens
        self._learn_at_open = False
        self.pauses = 0  # how often a 429 closed the gate (for the benchmark)

    def wait(self, until: float | None = None) -> bool:
        """Block until this caller may make its call; False, at once, when
        that would be after ``until`` (monotonic): the caller gives up its turn."""
        while True:
            with self._lock:
                now = self._monotonic()
                self._relax(now)
                if self._open_at > now:
                    if until is not None and self._open_at > until:
                        return False
                    slot, delay = None, self._open_at - now
                elif self._learn_at_open:
                    self._learn()
                    continue
                elif self._credit > 0:  # tokens the server gave back while the gate was closed
                    self._credit -= 1
                    slot, delay = now, 0.0
                else:
                    slot = max(now, self._next)
                    if until is not None and slot > until:
                        return False
                    self._next = slot + self._spacing
                    delay = slot - now
            if delay > 0:
                self._sleep(delay)
            if slot is not None:
                with self._lock:
                    if self._open_at <= self._monotonic():
                        return True  # not closed again while this caller waited for its slot

    def passed(self) -> None:
        """A call got through."""
        with self._lock:
            self._passed += 1
            if self._spacing and self._passed % _PROBE_EVERY == 0:
                self._spacing *= _PROBE_FACTOR  # a limit that was raised is found again

    def pause(self, seconds: float) -> None:
        """A 429 said to wait ``seconds``: close the gate for every caller."""
        with self._lock:
            now = self._monotonic()
            if self._open_at > now:  # a call that was already in flight: the gate is closed already
                self._open_at = max(self._open_at, now + seconds)
                self._next = max(self._next, self._open_at)
                return
            if self._first_limited_at is None:
                self._first_limited_at, self._passed = now, 0  # the burst is spent: count from here
            else:
                self._learn_at_open = True  # once calls in flight now have come back
            self._limited_at = now
            self._open_at = now + max(seconds, 0.0)
            self._next = max(self._next, self._open_at)
            self.pauses += 1

    def _learn(self) -> None:
        """The server's rate from the calls that got through since the first
        429, up to the last one: tokens accrue all the time, pauses included."""
        self._learn_at_open = False
        if not self._passed or self._limited_at <= self._first_limited_at:
            return
        self._spacing = (self._limited_at - self._first_limited_at) / self._passed
        # Spaced calls alone would never spend what accrued during the pause:
        # that much may go at once now.
        self._credit = int(_CREDIT_SHARE * (self._open_at - self._limited_at) / self._spacing)

    def _relax(self, now: float) -> None:
        if self._limited_at is not None and now - self._limited_at > _RELAX_AFTER:
            self._spacing, self._first_limited_at, self._limited_at = 0.0, None, None


class Breaker:
    """Stops a delivery pass after several calls in a row got no usable answer
    (Mattermost down or failing): the rest wait for a later tick instead of
    each trying and failing once."""

    def __init__(self, threshold: int = 5) -> None:
        self._threshold = threshold
        self._lock = threading.Lock()
        self._failures = 0

    @property
    def threshold(self) -> int:
        return self._threshold

    def failed(self) -> None:
        with self._lock:
            self._failures += 1

    def succeeded(self) -> None:
        with self._lock:
            self._failures = 0

    @property
    def open(self) -> bool:
        with self._lock:
            return self._failures >= self._threshold
