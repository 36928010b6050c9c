"""A short-lived cache of Mattermost users, so a burst of commands from one
person costs one lookup. Entries expire on the real clock."""

from __future__ import annotations

import threading
import time
from typing import Callable

USER_TTL_SECONDS = 120


class UserCache:
    def __init__(self, client, ttl: float = USER_TTL_SECONDS, clock: Callable[[], float] = time.monotonic):
        self._client = client
        self._ttl = ttl
        self._clock = clock
        self._users: dict[str, tuple[float, dict]] = {}
        self._lock = threading.Lock()

    def get(self, user_id: str, fallback_username: str | None = None) -> dict:
        now = self._clock()
        with self._lock:
            cached = self._users.get(user_id)
        if cached and now - cached[0] < self._ttl:
            return cached[1]
        user = self._client.get_user(user_id)
        with self._lock:
            self._users[user_id] = (now, user)
        return user

    def forget(self, user_id: str) -> None:
        with self._lock:
            self._users.pop(user_id, None)
