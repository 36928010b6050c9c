"""Apply Alembic migrations, safely when several replicas start at once.

PostgreSQL: the migration runs in one transaction holding a transaction-level
advisory lock, so a second replica waits, then finds nothing left to do.
SQLite: the migration transaction starts with ``BEGIN IMMEDIATE`` (see
``db.session``), which serialises writers the same way. Which revision the
schema is at, and the head, are ``db.revision``'s: asking needs no Alembic.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config

from db.revision import MIGRATIONS, VERSION_TABLE, current_revision, head_revision  # noqa: F401  (imported from here too)
from db.session import Database

# An arbitrary constant shared by every nippo replica ("nippo" in ASCII).
MIGRATION_LOCK_ID = 0x6E6970706F


def alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database"] = database
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    command.upgrade(alembic_config(database), revision)
