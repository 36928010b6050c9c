"""Alembic environment: the URL and engine come from nippo's own Database."""

from alembic import context
from sqlalchemy import text

from db.migrate import MIGRATION_LOCK_ID
from db.models import Base

config = context.config


def run_migrations_online() -> None:
    database = config.attributes["database"]
    with database.engine.connect() as connection:
        if database.kind == "sqlite":
            # Batch mode rebuilds a table by copying it and dropping the old one;
            # with foreign keys on, that drop would cascade-delete every row that
            # refers to it. The pragma only works outside a transaction, so it
            # goes straight to the driver, before the migration's BEGIN.
            connection.connection.driver_connection.execute("PRAGMA foreign_keys = OFF")
        try:
            _migrate(database, connection)
        finally:
            if database.kind == "sqlite":
                connection.connection.driver_connection.execute("PRAGMA foreign_keys = ON")


def _migrate(database, connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=database.kind == "sqlite",
        transaction_per_migration=False,
        # SQLite can roll DDL back too; one transaction keeps concurrent starts serial.
        transactional_ddl=True,
    )
    with context.begin_transaction():
        if database.kind == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
        context.run_migrations()
        if database.kind == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left {len(broken)} rows whose foreign keys point nowhere")


if context.is_offline_mode():
    raise SystemExit("nippo migrations run online only: use `nippo db upgrade`")
run_migrations_online()
