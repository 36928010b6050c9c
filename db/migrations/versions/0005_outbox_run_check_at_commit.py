"""outbox rows may be written before their run, in one transaction

A tick writes a run once, already planned: its outbox rows stream to the
database while the runs are planned, and the runs follow at the end of the
same transaction, with the state planning gave them (bot/reminders/planner.py).
The foreign key from ``outbox.run_id`` to ``reminder_runs.id`` is therefore
checked at commit when a transaction asks for it (``SET CONSTRAINTS …
DEFERRED``), and at once otherwise, as before. On PostgreSQL that needs the
constraint to be declared ``DEFERRABLE``; SQLite defers any foreign key for
a transaction that asks (``PRAGMA defer_foreign_keys``), so its schema stays
as it is. No data changes.

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def _outbox_run_key() -> str:
    """The constraint's name, as the database made it (0001 gave it none)."""
    for key in sa.inspect(op.get_bind()).get_foreign_keys("outbox"):
        if key["referred_table"] == "reminder_runs" and key["constrained_columns"] == ["run_id"]:
            return key["name"]
    raise RuntimeError("outbox has no foreign key to reminder_runs")


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f'ALTER TABLE outbox ALTER CONSTRAINT "{_outbox_run_key()}" DEFERRABLE INITIALLY IMMEDIATE')


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f'ALTER TABLE outbox ALTER CONSTRAINT "{_outbox_run_key()}" NOT DEFERRABLE')
