"""nudges and digests: a slot per reminder of the day, `again` and `digest` settings

A reminder run was one per (subscription, local date). Nudges (`again HH:MM`)
and the weekly digest are runs too, with the same exactly-once guarantee, so
each takes a slot of its own: ``''`` the morning run, ``'again HH:MM'`` a
nudge, ``'digest'`` the digest; the unique key becomes (subscription, local
date, slot). Existing runs carry over as morning runs. Subscriptions gain
``again_times`` ('' for none) and ``digest_day`` / ``digest_time`` (NULL for
`digest off`, the default).

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("reminder_runs") as batch:
        batch.add_column(sa.Column("slot", sa.String(length=16), nullable=False, server_default=""))
        batch.drop_constraint("uq_runs_subscription_local_date", type_="unique")
        batch.create_unique_constraint("uq_runs_subscription_local_date_slot",
                                       ["subscription_id", "local_date", "slot"])
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("again_times", sa.String(length=32), nullable=False, server_default=""))
        batch.add_column(sa.Column("digest_day", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("digest_time", sa.String(length=5), nullable=True))


def downgrade() -> None:
    # Only morning runs existed before: nudges and digests (and their messages) go.
    op.execute("DELETE FROM outbox WHERE run_id IN (SELECT id FROM reminder_runs WHERE slot <> '')")
    op.execute("DELETE FROM reminder_runs WHERE slot <> ''")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("digest_time")
        batch.drop_column("digest_day")
        batch.drop_column("again_times")
    with op.batch_alter_table("reminder_runs") as batch:
        batch.drop_constraint("uq_runs_subscription_local_date_slot", type_="unique")
        batch.drop_column("slot")
        batch.create_unique_constraint("uq_runs_subscription_local_date", ["subscription_id", "local_date"])
