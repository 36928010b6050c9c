"""The collaborators one nippo process shares between web threads and the scheduler."""

from __future__ import annotations

import contextvars
import logging
import secrets
import sys
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from bot.clock import Clock, utc_now
from bot.config import Settings
from bot.responder import Responder
from bot.signing import Signer
from bot.users import UserCache
from db.status_cache import StatusCache
from db.session import Database

log = logging.getLogger("nippo")


@dataclass
class Services:
    settings: Settings
    database: Database
    mattermost: Any  # MattermostClient or ConsoleClient: the same interface
    personas: Any  # persona.PersonaRegistry
    clock: Clock = utc_now
    source: Any = None  # bot.sources.ReportSource
    signer: Any = None  # bot.signing.Signer
    users: Any = None  # bot.users.UserCache
    responder: Any = None  # bot.responder.Responder
    status_cache: Any = None  # db.status_cache.StatusCache
    delivery: Any = None  # bot.reminders delivery options (workers, clocks, rate gate)
    background: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=2, thread_name_prefix="nippo-later"))
    pending: list = field(default_factory=list)

    def run_later(self, work) -> Future:
        """Work that must not hold up an answer to Mattermost (it waits 30 s at most)."""
        # In the caller's context: the work's log lines carry the request id of the request that asked for it.
        future = self.background.submit(contextvars.copy_context().run, _logged, work)
        self.pending = [f for f in self.pending if not f.done()] + [future]
        return future

    def wait_for_background(self, timeout: float = 30) -> None:
        for future in list(self.pending):
            future.result(timeout)


def _logged(work):
    try:
        return work()
    except Exception:
        log.exception("background work failed")


def build_services(settings: Settings, *, database: Database | None = None, mattermost=None,
                   personas=None, clock: Clock | None = None, source=None, console_stream=None) -> Services:
    """Wire the real collaborators from settings; tests pass their own where they must."""
    from persona import load_registry

    database = database or Database(settings.database_url)
    if mattermost is None:
        if settings.console_mode:
            from bot.mattermost import ConsoleClient

            mattermost = ConsoleClient(stream=console_stream or sys.stdout)
        else:
            from bot.mattermost import MattermostClient

            mattermost = MattermostClient(settings.mattermost_url, settings.bot_token)
    personas = personas or load_registry(settings.persona_dir)
    services = Services(settings=settings, database=database, mattermost=mattermost,
                        personas=personas, clock=clock or utc_now)
    if source is None:
        from bot.sources import make_source

        source = make_source(settings, database)
    services.source = source
    services.users = UserCache(mattermost)
    services.status_cache = StatusCache()
    services.responder = Responder(settings.mattermost_url)
    services.signer = Signer(settings.secret_key or secrets.token_hex(32))
    return services
