"""The context a command handler works in: who asked, where, when, and in
which voice to answer. Handlers open their own short sessions so Mattermost
calls never happen inside a write transaction."""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from commands.request import CommandRequest


@dataclass
class Ctx:
    request: CommandRequest
    services: object  # bot.services.Services
    now: datetime  # the real clock: commands are judged on it
    persona: object  # persona.Persona
    lang: str
    timezone: str  # the caller's "today" zone (docs/concepts.md)

    @property
    def settings(self):
        return self.services.settings

    @property
    def mattermost(self):
        return self.services.mattermost

    @property
    def console(self) -> bool:
        return self.services.settings.console_mode

    @property
    def today(self) -> date:
        return self.now.astimezone(ZoneInfo(self.timezone)).date()

    def say(self, key: str, **params) -> str:
        seed = f"{self.request.user_id}:{self.request.command}:{self.today.isoformat()}"
        return self.persona.say(key, self.lang, seed=seed, **params)

    @contextmanager
    def write(self):
        with self.services.database.write() as session:
            yield session

    @contextmanager
    def read(self):
        with self.services.database.read() as session:
            yield session
