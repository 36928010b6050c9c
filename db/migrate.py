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
from sqlalchemy import inspect, text

from db.session import Database

MIGRATIONS = Path(__file__).with_name("migrations")
# An arbitrary constant shared by every nippo replica ("nippo" in ASCII).
MIGRATION_LOCK_ID = 0x6E6970706F
VERSION_TABLE = "alembic_version"  # Alembic's default, which nippo keeps


def alembic_config(database: Database) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database"] = database
    return config


def upgrade(database: Database, revision: str = "head") -> None:
    command.upgrade(alembic_config(database), revision)


def current_revision(database: Database) -> str | None:
    """The schema's revision, None before the first migration. Cheap enough for every readiness probe:
    a read-only transaction (on SQLite a plain one would queue behind writers) and no Alembic context,
    which logs two lines each time it is made."""
    with database.engine.connect().execution_options(nippo_read_only=True) as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def head_revision() -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config_without_database()).get_current_head()


def alembic_config_without_database() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config
