"""Rendered ``/report-status`` answers, reused while still true.

An entry is valid while the data version (db.versioning) is the one it was
rendered at and its own clock limit has not passed (the caller's next local
midnight, or the moment the next run goes out, after which "the default work
date" means another day).

The version is read from the database for every answer (one statement,
``Database.data_version``), so a write through any replica shows in the
very next answer of every other. Writes made by this process invalidate at
once (``Database.local_writes``). ``max_age`` lets a caller share one read
between threads for a while, at the price of that promise.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from datetime import datetime
from typing import Callable

MAX_ENTRIES = 2048
VERSION_MAX_AGE = 0.0  # seconds: read every time


class StatusCache:
    def __init__(self, max_entries: int = MAX_ENTRIES, max_age: float = VERSION_MAX_AGE,
                 monotonic: Callable[[], float] = time.monotonic):
        self._entries: OrderedDict[tuple, tuple[object, datetime, object]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries
        self._max_age = max_age
        self._monotonic = monotonic
        self._version: tuple[float, int] | None = None  # (read at, value)
        self.hits = 0
        self.misses = 0

    def version(self, database) -> tuple[int, int]:
        """The data version to compare entries with: the database's (read now,
        unless ``max_age`` allows an older read) and this process's own write count."""
        now = self._monotonic()
        known = self._version
        if known is None or now - known[0] >= self._max_age:
            known = (now, database.data_version())
            self._version = known
        return known[1], database.local_writes

    def get(self, key: tuple, version, now: datetime) -> object | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version or now >= entry[1]:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[2]

    def put(self, key: tuple, version, valid_until: datetime, text: object) -> None:
        with self._lock:
            self._entries[key] = (version, valid_until, text)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)
