"""A short-lived cache of Mattermost users, so a burst of commands from one
person costs one lookup. Entries expire on the real clock, and the cache
keeps the most recently asked ``max_entries``: without a bound a serve would
keep the record of every user who ever ran a command, for good."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable

USER_TTL_SECONDS = 120
MAX_USERS = 1024  # more than ask within one TTL on any team nippo serves


class UserCache:
    def __init__(self, client, ttl: float = USER_TTL_SECONDS, clock: Callable[[], float] = time.monotonic,
                 max_entries: int = MAX_USERS):
        self._client = client
        self._ttl = ttl
        self._clock = clock
        self._max = max_entries
        self._users: OrderedDict[str, tuple[float, dict]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, user_id: str, fallback_username: str | None = None) -> dict:
        now = self._clock()
        with self._lock:
            cached = self._users.get(user_id)
            if cached and now - cached[0] < self._ttl:
                self._users.move_to_end(user_id)
                return cached[1]
        user = self._client.get_user(user_id)
        with self._lock:
            self._users[user_id] = (now, user)
            self._users.move_to_end(user_id)
            while len(self._users) > self._max:
                self._users.popitem(last=False)
        return user

    def forget(self, user_id: str) -> None:
        with self._lock:
            self._users.pop(user_id, None)

    def __len__(self) -> int:
        return len(self._users)
