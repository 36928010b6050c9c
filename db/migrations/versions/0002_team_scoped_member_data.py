"""team-scoped member data: external ids on roster entries, absences per team

What a leader or admin sets about a member belongs to that team's roster:
``external_id`` moves from ``members`` to ``roster``, and an absence set by
someone other than the member counts for one team only (``absences.team_id``;
NULL is the member's own absence, which counts everywhere).

Existing data is carried over: every roster entry of a member takes the
member's external id (it applied to every team before); an absence its member
set stays their own; one set by somebody else becomes an absence of each team
on which that person leads the member, else of each team the member is on (as
it counted before), else stays as it was.

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_OWN = sa.text("team_id IS NULL")
_TEAMS = sa.text("team_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("roster") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
        batch.create_index("ix_roster_external_id", ["external_id"], unique=False)
    op.execute("UPDATE roster SET external_id = "
               "(SELECT members.external_id FROM members WHERE members.id = roster.member_id)")
    with op.batch_alter_table("members") as batch:
        batch.drop_index("ix_members_external_id")
        batch.drop_column("external_id")

    with op.batch_alter_table("absences") as batch:
        batch.add_column(sa.Column("team_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_absences_team", "teams", ["team_id"], ["id"], ondelete="CASCADE")
        batch.drop_constraint("uq_absences_member_date", type_="unique")
    _scope_absences_set_by_others()
    op.create_index("uq_absences_own", "absences", ["member_id", "work_date"], unique=True,
                    sqlite_where=_OWN, postgresql_where=_OWN)
    op.create_index("uq_absences_team", "absences", ["member_id", "work_date", "team_id"], unique=True,
                    sqlite_where=_TEAMS, postgresql_where=_TEAMS)


def _scope_absences_set_by_others() -> None:
    others = ("absences.created_by IS NOT NULL AND absences.created_by <> "
              "(SELECT members.user_id FROM members WHERE members.id = absences.member_id)")
    on_roster = "r.member_id = absences.member_id AND r.removed_at IS NULL"
    led_by_creator = (f"{on_roster} AND EXISTS (SELECT 1 FROM roster l JOIN members lm ON lm.id = l.member_id "
                      "WHERE l.team_id = r.team_id AND l.role = 'leader' AND l.removed_at IS NULL "
                      "AND lm.user_id = absences.created_by)")
    copy = ("INSERT INTO absences (member_id, work_date, team_id, created_by, created_at) "
            "SELECT absences.member_id, absences.work_date, r.team_id, absences.created_by, absences.created_at "
            "FROM absences JOIN roster r ON {match} WHERE absences.team_id IS NULL AND " + others)
    led = f"EXISTS (SELECT 1 FROM roster r WHERE {led_by_creator})"
    member_of_any = f"EXISTS (SELECT 1 FROM roster r WHERE {on_roster})"
    # The teams whose leader set it; failing that, every team it counted for before.
    op.execute(copy.format(match=led_by_creator))
    op.execute(copy.format(match=on_roster) + f" AND NOT {led}")
    op.execute(f"DELETE FROM absences WHERE team_id IS NULL AND {others} AND {member_of_any}")


def downgrade() -> None:
    op.drop_index("uq_absences_team", table_name="absences")
    op.drop_index("uq_absences_own", table_name="absences")
    # Team absences become the member's own again (one per date).
    op.execute("DELETE FROM absences WHERE team_id IS NOT NULL AND EXISTS (SELECT 1 FROM absences o "
               "WHERE o.member_id = absences.member_id AND o.work_date = absences.work_date "
               "AND (o.team_id IS NULL OR o.id < absences.id))")
    op.execute("UPDATE absences SET team_id = NULL")
    with op.batch_alter_table("absences") as batch:
        batch.drop_constraint("fk_absences_team", type_="foreignkey")
        batch.drop_column("team_id")
        batch.create_unique_constraint("uq_absences_member_date", ["member_id", "work_date"])

    with op.batch_alter_table("members") as batch:
        batch.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
        batch.create_index("ix_members_external_id", ["external_id"], unique=False)
    op.execute("UPDATE members SET external_id = (SELECT MIN(roster.external_id) FROM roster "
               "WHERE roster.member_id = members.id)")
    with op.batch_alter_table("roster") as batch:
        batch.drop_index("ix_roster_external_id")
        batch.drop_column("external_id")
