"""The short-lived cache of Mattermost users (bot.users)."""

from __future__ import annotations

from bot.users import UserCache


class Mattermost:
    def __init__(self) -> None:
        self.asked: list[str] = []

    def get_user(self, user_id: str) -> dict:
        self.asked.append(user_id)
        return {"id": user_id, "username": f"name-of-{user_id}"}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_from_one_person_costs_one_lookup():
    mattermost = Mattermost()
    users = UserCache(mattermost, ttl=120, clock=Clock())
    assert users.get("alice")["username"] == "name-of-alice"
    users.get("alice")
    assert mattermost.asked == ["alice"]


def test_an_entry_expires_after_its_ttl():
    mattermost, clock = Mattermost(), Clock()
    users = UserCache(mattermost, ttl=120, clock=clock)
    users.get("alice")
    clock.now = 120
    users.get("alice")
    assert mattermost.asked == ["alice", "alice"]


def test_the_cache_keeps_only_the_most_recently_asked_users():
    mattermost = Mattermost()
    users = UserCache(mattermost, ttl=120, clock=Clock(), max_entries=2)
    users.get("alice")
    users.get("bob")
    users.get("alice")  # alice is now the most recent: bob goes first
    users.get("carol")
    assert len(users) == 2
    users.get("alice")
    users.get("bob")
    assert mattermost.asked == ["alice", "bob", "carol", "bob"]


def test_forgetting_a_user_asks_again():
    mattermost = Mattermost()
    users = UserCache(mattermost, ttl=120, clock=Clock())
    users.get("alice")
    users.forget("alice")
    users.get("alice")
    assert mattermost.asked == ["alice", "alice"]
