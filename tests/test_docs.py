"""The documents describe what the code does, and stand alone: every setting
the code reads (docs/configuration.md), every metric family it exports
(docs/operations.md), every web page it serves (docs/web.md) and every
/subscribe option it takes (docs/commands.md) is named where an operator or a
leader looks for it, and nothing cites a specification outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import Settings

ROOT = Path(__file__).resolve().parent.parent
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def doc(name: str) -> str:
    return (ROOT / "docs" / name).read_text(encoding="utf-8")


class _Recording(dict):
    """An empty environment that notes every variable asked for."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key, default=None):
        self.asked.add(key)
        return super().get(key, default)


def test_configuration_lists_exactly_the_variables_the_settings_read():
    env = _Recording()
    Settings.from_env(env)
    documented = set(re.findall(r"^\| `(NIPPO_[A-Z_]+)` \|", doc("configuration.md"), re.M))
    assert env.asked and documented == env.asked


def exported_families() -> set[str]:
    """Each nippo family as /metrics names it (a counter with _total, an info with _info)."""
    import web.access  # noqa: F401  (defines the HTTP families)
    from prometheus_client import REGISTRY

    from bot.metrics import DatabaseCollector

    suffix = {"counter": "_total", "info": "_info"}
    families = list(REGISTRY.collect()) + DatabaseCollector(database=None).describe()
    return {f.name + suffix.get(f.type, "") for f in families if f.name.startswith("nippo_")}


def test_operations_names_every_metric_family_nippo_exports():
    families = exported_families()
    text = doc("operations.md")
    assert len(families) >= 10
    missing = {family for family in families if f"`{family}`" not in text}
    assert not missing, f"docs/operations.md does not name {sorted(missing)}"


def test_the_web_doc_names_every_page_a_browser_opens(tmp_path):
    from web.app import create_app

    app = create_app(Settings.from_env({"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path / 'nippo.db'}"}))
    services = app.extensions["nippo"]
    services.background.shutdown()
    services.database.dispose()
    text = doc("web.md")
    pages = {re.sub(r"<int:team_id>", "ID", re.sub(r"<token>", "TOKEN", rule.rule))
             for rule in app.url_map.iter_rules()
             if rule.rule.startswith("/web/") and "GET" in rule.methods and "<path:" not in rule.rule}
    assert "/web/teams/ID/settings" in pages
    missing = {page for page in pages if page not in text}
    assert not missing, f"docs/web.md does not name {sorted(missing)}"


def test_the_commands_doc_has_a_row_for_every_subscribe_option():
    from commands.subscribe import current_options
    from db.models import Subscription

    options = current_options(Subscription(
        at_time="09:00", timezone="UTC", weekdays="0,1,2,3,4", delivery="channel", persona="plain", language="en",
        holidays=None, check_day="previous", escalate=3, mention=True, again_times="", digest_day=None,
        digest_time=None))
    rows = set(re.findall(r"^\| `([a-z]+)` \|", doc("commands.md"), re.M))
    assert set(options) == rows


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_no_document_cites_a_specification_outside_the_repository(page):
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"SPEC(\.md)? ?§|SPEC\.md|\.\./shared", text)
