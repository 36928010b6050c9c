"""The schema revisions without Alembic (db.revision): what a start and a readiness probe ask."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from db.revision import MIGRATIONS, head_revision

ROOT = Path(__file__).resolve().parent.parent


def alembics_head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config).get_current_head()


def test_the_head_is_the_one_alembic_finds():
    assert head_revision() == alembics_head()


def migration(folder: Path, name: str, revision: str, down) -> None:
    (folder / f"{name}.py").write_text(f'"""{name}"""\nrevision = {revision!r}\ndown_revision: str | None = {down!r}\n'
                                       "def upgrade():\n    pass\n", encoding="utf-8")


def test_the_head_is_the_revision_no_other_follows(tmp_path):
    migration(tmp_path, "b", "0002", "0001")
    migration(tmp_path, "a", "0001", None)
    (tmp_path / "helpers.py").write_text("SOMETHING = 1\n", encoding="utf-8")
    assert head_revision(tmp_path) == "0002"


def test_a_merge_follows_both_branches(tmp_path):
    migration(tmp_path, "a", "0001", None)
    migration(tmp_path, "b", "0002a", "0001")
    migration(tmp_path, "c", "0002b", "0001")
    migration(tmp_path, "d", "0003", ("0002a", "0002b"))
    assert head_revision(tmp_path) == "0003"


def test_two_heads_are_refused(tmp_path):
    migration(tmp_path, "a", "0001", None)
    migration(tmp_path, "b", "0002a", "0001")
    migration(tmp_path, "c", "0002b", "0001")
    with pytest.raises(RuntimeError, match="2 heads"):
        head_revision(tmp_path)


def test_no_migrations_no_head(tmp_path):
    assert head_revision(tmp_path) is None


def start(url: str) -> bool:
    """Whether a fresh process that opens the database as `nippo serve` does loaded Alembic."""
    script = ("import sys; from bot.config import Settings; from bot.startup import open_database; "
              f"open_database(Settings.from_env({{'NIPPO_DATABASE_URL': {url!r}}}), migrate=True); "
              "print('alembic' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT)
    return json.loads(result.stdout.splitlines()[-1].lower())


def test_only_a_start_with_a_migration_to_run_loads_alembic(tmp_path):
    url = f"sqlite:///{tmp_path / 'nippo.db'}"
    assert start(url) is True  # a new database: every migration runs
    assert start(url) is False
