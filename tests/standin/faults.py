"""Fault knobs and Mattermost's rate limiter (429 with Retry-After and X-RateLimit-* headers)."""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Fault:
    """Applies to the next `times` requests whose method and path match.

    kind: "fail" (AppError answer), "rate_limit" (429 text/plain), "cut"
    (connection closed, request not processed), "lose_answer" (request
    processed, connection closed without an answer), "stall" (connection
    closed while the request is still being processed: see stall_posts).
    """

    kind: str
    method: str
    path_re: re.Pattern
    times: int
    status: int = 503
    error_id: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        return self.times > 0 and self.method in ("*", method) and bool(self.path_re.fullmatch(path))


class FaultBook:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def add(self, fault: Fault) -> None:
        with self._lock:
            self._faults.append(fault)

    def take(self, method: str, path: str) -> Fault | None:
        """The first armed fault for this request, used up by one."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    return fault
        return None

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()


class Gcra:
    """The GCRA of the `throttled` library Mattermost uses, one bucket.

    Mattermost keys buckets by remote address; every test client is
    127.0.0.1, so one bucket is what it would do here.
    """

    def __init__(self, per_sec: float, burst: int, clock: Callable[[], float]) -> None:
        self.emission = 1.0 / per_sec
        self.tolerance = self.emission * (burst + 1)
        self.limit = burst + 1
        self.clock = clock
        self._tat: float | None = None
        self._lock = threading.Lock()

    def take(self) -> tuple[bool, dict[str, str]]:
        """(limited, headers) for one request."""
        with self._lock:
            now = self.clock()
            tat = now if self._tat is None or self._tat < now else self._tat
            new_tat = tat + self.emission
            diff = now - (new_tat - self.tolerance)
            retry_after = -1.0
            if diff < 0:
                if self.emission <= self.tolerance:
                    retry_after = -diff
                ttl = tat - now
                limited = True
            else:
                ttl = new_tat - now
                self._tat = new_tat
                limited = False
        spare = self.tolerance - ttl
        remaining = int(spare / self.emission + 1e-9) if spare > -self.emission else 0
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(max(0, remaining)),
            "X-RateLimit-Reset": str(math.ceil(ttl)),
        }
        if limited and retry_after >= 0:
            headers["Retry-After"] = str(math.ceil(retry_after))
        return limited, headers
