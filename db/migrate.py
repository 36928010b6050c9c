"""Apply Alembic migrations, safely when several replicas start at once.

PostgreSQL: the migration runs in one transaction holding a transaction-level
advisory lock, so a second replica waits, then finds nothing left to do.
SQLite: the migration transaction starts with ``BEGIN IMMEDIATE`` (see
``db.session``), which serialises writers the same way.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from db.session import Database

MIGRATIONS = Path(__file__).with_name("migrations")
# An arbitrary constant shared by every nippo replica ("nippo" in ASCII).
MIGRATION_LOCK_ID = 0x6E6970706F


def alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database"] = database
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    command.upgrade(alembic_config(database), revision)


def current_revision(database: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config_without_database()).get_current_head()


def alembic_config_without_database() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config
