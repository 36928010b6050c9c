"""Which schema revision the database is at, and which one this nippo needs,
without loading Alembic.

Every start and every readiness probe asks both; Alembic (and the template
and highlighting packages it brings) costs a process some 10 MiB it would
then hold for good, so it is loaded only when there is a migration to run
(``db.migrate``). The migrations are a chain of files under
``db/migrations/versions``, each naming its ``revision`` and the
``down_revision`` it follows: the head is the one no other follows.
"""

from __future__ import annotations

import ast
from pathlib import Path

from sqlalchemy import inspect, text

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"  # Alembic's default, which nippo keeps


def current_revision(database) -> str | None:
    """The schema's revision, None before the first migration. Cheap enough for every readiness probe:
    a read-only transaction (on SQLite a plain one would queue behind writers) and no Alembic context,
    which logs two lines each time it is made."""
    with database.engine.connect().execution_options(nippo_read_only=True) as connection:
        if not inspect(connection).has_table(VERSION_TABLE):
            return None
        return connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalar()


def head_revision(versions: Path = MIGRATIONS / "versions") -> str | None:
    """The newest revision, as Alembic's ``ScriptDirectory.get_current_head`` finds it."""
    revisions, followed = set(), set()
    for script in sorted(versions.glob("*.py")):
        names = _assigned(script, ("revision", "down_revision"))
        if names.get("revision") is None:
            continue  # not a migration
        revisions.add(names["revision"])
        down = names.get("down_revision")
        followed.update(down if isinstance(down, (tuple, list)) else [down] if down else [])
    heads = revisions - followed
    if len(heads) > 1:
        raise RuntimeError(f"the migrations have {len(heads)} heads ({', '.join(sorted(heads))}): merge them")
    return next(iter(heads), None)


def _assigned(script: Path, names: tuple[str, ...]) -> dict:
    """The literal values the module assigns to ``names`` at its top level."""
    found = {}
    for node in ast.parse(script.read_text(encoding="utf-8"), str(script)).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in names:
            found[target.id] = ast.literal_eval(value)
    return found
