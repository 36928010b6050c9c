"""Each schema change carries existing data over: a database at the previous
revision, with rows in it, is upgraded (and downgraded) on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from db.migrate import upgrade
from db.session import Database
from tests.conftest import POSTGRES_URL, drop_postgres_database, ensure_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_database(request, tmp_path):
    """An empty database of its own, so migrating it leaves the shared one alone."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'migrate.db'}")
        yield database
        database.dispose()
        return
    url = POSTGRES_URL.replace("/nippo_test_", "/nippo_migrate_")
    ensure_postgres_database(url)
    database = Database(url)
    with database.engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    yield database
    database.dispose()
    drop_postgres_database(url)


def run(database: Database, sql: str, **params):
    with database.engine.begin() as connection:
        return connection.execute(text(sql), params).all() if sql.lstrip().upper().startswith("SELECT") \
            else connection.execute(text(sql), params)


def downgrade(database: Database, revision: str) -> None:
    from alembic import command

    from db.migrate import alembic_config

    command.downgrade(alembic_config(database), revision)


NOW = "2026-11-20 09:00:00+00:00"


def seed_0001(database: Database) -> None:
    """Two teams: ~dev led by lead, ~ops led by other; bob is on both, carol on ~dev only."""
    for id_, user_id, name, external in ((1, "lead", "lead", None), (2, "bob", "bob", "E-7"),
                                          (3, "carol", "carol", "E-9"), (4, "other", "other", None),
                                          (5, "dave", "dave", None)):
        run(database, "INSERT INTO members (id, user_id, username, external_id, active, is_bot) "
                      "VALUES (:i, :u, :n, :e, true, false)", i=id_, u=user_id, n=name, e=external)
    for id_, channel in ((1, "dev"), (2, "ops")):
        run(database, "INSERT INTO teams (id, channel_id, channel_name, created_at) VALUES (:i, :c, :c, :t)",
            i=id_, c=channel, t=NOW)
    for team, member, role in ((1, 1, "leader"), (1, 2, "member"), (1, 3, "member"),
                               (2, 4, "leader"), (2, 2, "member")):
        run(database, "INSERT INTO roster (team_id, member_id, role, added_at) VALUES (:t, :m, :r, :a)",
            t=team, m=member, r=role, a=NOW)
    absences = (
        (2, "2026-11-23", "bob"),    # bob's own: counts everywhere
        (2, "2026-11-24", "lead"),   # set by ~dev's leader: ~dev only
        (3, "2026-11-24", "other"),  # set by someone who leads none of carol's teams: where it counted
        (5, "2026-11-24", "lead"),   # dave is on no roster: kept as it was
    )
    for member, day, creator in absences:
        run(database, "INSERT INTO absences (member_id, work_date, created_by, created_at) "
                      "VALUES (:m, :d, :c, :t)", m=member, d=day, c=creator, t=NOW)


def test_0002_moves_external_ids_to_every_roster_entry_and_scopes_absences(blank_database):
    upgrade(blank_database, "0001")
    seed_0001(blank_database)
    upgrade(blank_database, "0002")

    roster = run(blank_database, "SELECT team_id, member_id, external_id FROM roster ORDER BY team_id, member_id")
    assert [tuple(r) for r in roster] == [(1, 1, None), (1, 2, "E-7"), (1, 3, "E-9"), (2, 2, "E-7"), (2, 4, None)]
    absences = run(blank_database, "SELECT member_id, CAST(work_date AS TEXT), team_id FROM absences "
                                   "ORDER BY member_id, work_date, team_id")
    assert [tuple(a) for a in absences] == [
        (2, "2026-11-23", None),
        (2, "2026-11-24", 1),
        (3, "2026-11-24", 1),
        (5, "2026-11-24", None),
    ]
    # Own absences stay one per date; team ones one per team and date.
    run(blank_database, "INSERT INTO absences (member_id, work_date, team_id, created_by, created_at) "
                        "VALUES (2, '2026-11-24', 2, 'other', :t)", t=NOW)
    with pytest.raises(Exception):
        run(blank_database, "INSERT INTO absences (member_id, work_date, team_id, created_by, created_at) "
                            "VALUES (2, '2026-11-23', NULL, 'bob', :t)", t=NOW)


def test_0002_downgrades_back_to_one_absence_per_member_and_date(blank_database):
    upgrade(blank_database, "0001")
    seed_0001(blank_database)
    upgrade(blank_database, "0002")
    run(blank_database, "INSERT INTO absences (member_id, work_date, team_id, created_by, created_at) "
                        "VALUES (2, '2026-11-24', 2, 'other', :t)", t=NOW)
    downgrade(blank_database, "0001")
    absences = run(blank_database, "SELECT member_id, CAST(work_date AS TEXT) FROM absences ORDER BY member_id, work_date")
    assert [tuple(a) for a in absences] == [(2, "2026-11-23"), (2, "2026-11-24"), (3, "2026-11-24"), (5, "2026-11-24")]
    members = run(blank_database, "SELECT user_id, external_id FROM members ORDER BY id")
    assert [tuple(m) for m in members][:3] == [("lead", None), ("bob", "E-7"), ("carol", "E-9")]
