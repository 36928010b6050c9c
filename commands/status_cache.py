"""Rendered ``/report-status`` answers, reused while still true.

An entry is valid while the data version (db.versioning) is the one it was
rendered at and its own clock limit has not passed (the caller's next local
midnight, or the moment the next run goes out, after which "the default work
date" means another day). Any replica's write bumps the version, so an
answer is never stale across replicas; checking costs one small query.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime

MAX_ENTRIES = 2048


class StatusCache:
    def __init__(self, max_entries: int = MAX_ENTRIES):
        self._entries: OrderedDict[tuple, tuple[int, datetime, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self.hits = 0
        self.misses = 0

    def get(self, key: tuple, version: int, now: datetime) -> str | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version or now >= entry[1]:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[2]

    def put(self, key: tuple, version: int, valid_until: datetime, text: str) -> None:
        with self._lock:
            self._entries[key] = (version, valid_until, text)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
