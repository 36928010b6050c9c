"""Alembic environment: the URL and engine come from nippo's own Database."""

from alembic import context
from sqlalchemy import text

from db.migrate import MIGRATION_LOCK_ID
from db.models import Base

config = context.config


def run_migrations_online() -> None:
    database = config.attributes["database"]
    with database.engine.connect() as connection:
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


if context.is_offline_mode():
    raise SystemExit("nippo migrations run online only: use `nippo db upgrade`")
run_migrations_online()
