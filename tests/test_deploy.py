"""deploy/: the compose file, its proxy and the Grafana dashboard. No
container engine runs here, so the files are checked against what they
promise and against the repository's Dockerfile, read now (not a copy)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from prometheus_client import REGISTRY

from bot.metrics import DatabaseCollector
from web import access  # noqa: F401  (registers the HTTP metrics)

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
REQUIRED_BY_SERVE = ("NIPPO_MATTERMOST_URL", "NIPPO_BOT_TOKEN", "NIPPO_COMMAND_TOKENS", "NIPPO_SECRET_KEY",
                     "NIPPO_PUBLIC_URL")


def dockerfile_instruction(name: str) -> str:
    """The instruction's arguments, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    found = re.findall(rf"^{name}\s+(.*)$", text, re.M)
    assert found, f"the Dockerfile has no {name}"
    return found[-1].strip()


def as_command(value) -> list[str]:
    """Exec form (a JSON list) or shell form, as one list of words."""
    if isinstance(value, list):
        return value
    value = value.strip()
    if value.startswith("["):
        return json.loads(value)
    return ["/bin/sh", "-c", value]


def dockerfile_cmd() -> list[str]:
    return as_command(dockerfile_instruction("CMD"))


def dockerfile_healthcheck() -> list[str]:
    arguments = dockerfile_instruction("HEALTHCHECK")
    return as_command(arguments.split(" CMD ", 1)[1] if " CMD " in f" {arguments}" else arguments)


def serve_port() -> int:
    words = " ".join(dockerfile_cmd())
    port = re.search(r"nippo serve\b.*?--port[ =](\d+)", words)
    return int(port.group(1)) if port else 8080


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text())


@pytest.fixture(scope="module")
def nippo_services(compose) -> dict:
    found = {name: s for name, s in compose["services"].items() if "build" in s}
    assert len(found) >= 2, "two nippo replicas at least"
    return found


def test_the_replicas_are_built_from_the_repository_dockerfile(nippo_services):
    for service in nippo_services.values():
        assert (DEPLOY / service["build"]["context"]).resolve() == ROOT
        assert service["build"].get("dockerfile", "Dockerfile") == "Dockerfile"
        assert "entrypoint" not in service


def test_each_replica_runs_the_dockerfiles_command_and_health_check(nippo_services):
    cmd, healthcheck = dockerfile_cmd(), dockerfile_healthcheck()
    assert any("nippo serve" in word for word in cmd) or "serve" in cmd
    for name, service in nippo_services.items():
        # Stated or inherited from the image, the command is the Dockerfile's.
        assert as_command(service.get("command", cmd)) == cmd, name
        test = service.get("healthcheck", {}).get("test", ["CMD", *healthcheck])
        assert not service.get("healthcheck", {}).get("disable"), name
        if test[0] == "CMD-SHELL":
            test = ["CMD", "/bin/sh", "-c", test[1]]
        assert test == ["CMD", *healthcheck], name


def test_the_replicas_read_env_and_wait_for_a_healthy_database(compose, nippo_services):
    database = compose["services"]["db"]
    assert database["image"].startswith("postgres:")
    assert database["healthcheck"]["test"] and any(v.split(":")[0] in compose["volumes"] for v in database["volumes"])
    for service in nippo_services.values():
        assert service["env_file"] in (".env", [".env"])
        assert service["depends_on"]["db"]["condition"] == "service_healthy"
        assert service["environment"]["NIPPO_DATABASE_URL"].startswith("postgresql://")
        assert "@db:" in service["environment"]["NIPPO_DATABASE_URL"]


def test_env_example_names_what_serve_needs_and_only_known_variables():
    lines = (DEPLOY / ".env.example").read_text().splitlines()
    names = {line.lstrip("# ").split("=", 1)[0] for line in lines if re.match(r"#? ?[A-Z_]+=", line)}
    assert set(REQUIRED_BY_SERVE) <= names and "POSTGRES_PASSWORD" in names
    documented = set(re.findall(r"`(NIPPO_[A-Z_]+)`", (ROOT / "README.md").read_text()
                                + (ROOT / "docs" / "configuration.md").read_text()))
    assert {n for n in names if n.startswith("NIPPO_")} <= documented


def test_the_proxy_routes_to_every_replica_on_the_port_nippo_serves(compose, nippo_services):
    proxy = compose["services"]["proxy"]
    assert proxy["ports"]
    assert set(nippo_services) <= set(proxy["depends_on"])
    mounted = [v.split(":")[0] for v in proxy["volumes"] if v.startswith("./")]
    assert "./Caddyfile" in mounted
    caddyfile = (DEPLOY / "Caddyfile").read_text()
    upstreams = re.search(r"^\s*reverse_proxy\s+([^{\n]+)", caddyfile, re.M).group(1).split()
    assert sorted(upstreams) == sorted(f"{name}:{serve_port()}" for name in nippo_services)
    assert re.search(r"health_uri\s+/readyz", caddyfile)


def test_deploy_readme_shows_compose_up_and_adding_a_replica():
    readme = (DEPLOY / "README.md").read_text()
    assert "docker compose up" in readme and "nippo-3" in readme
    assert "deploy/README.md" in (ROOT / "README.md").read_text()


def exported_metric_names() -> set[str]:
    """Every series name nippo's /metrics can show, from the collectors themselves."""
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"), "info": ("_info",)}
    families = list(REGISTRY.collect()) + DatabaseCollector(database=None).describe()
    return {family.name + suffix for family in families if family.name.startswith("nippo_")
            for suffix in suffixes.get(family.type, ("",))}


def dashboard_expressions() -> list[str]:
    dashboard = json.loads((DEPLOY / "grafana-dashboard.json").read_text())
    exprs = []

    def walk(panels):
        for panel in panels:
            exprs.extend(target["expr"] for target in panel.get("targets", []))
            walk(panel.get("panels", []))

    walk(dashboard["panels"])
    return exprs


def test_every_dashboard_expression_names_metrics_nippo_exports():
    exported = exported_metric_names()
    assert {"nippo_http_requests_total", "nippo_http_request_duration_seconds_bucket", "nippo_outbox_messages",
            "nippo_reminder_runs_total", "nippo_mattermost_requests_total",
            "nippo_scheduler_last_tick_timestamp_seconds", "nippo_build_info"} <= exported
    expressions = dashboard_expressions()
    assert len(expressions) >= 10
    for expr in expressions:
        named = set(re.findall(r"\bnippo_[a-z0-9_]+", expr))
        assert named, f"names no nippo metric: {expr}"
        assert named <= exported, f"{expr}: {named - exported} not exported"
        assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), expr


def test_the_dashboard_shows_requests_latency_reminders_per_day_and_backlog():
    joined = "\n".join(dashboard_expressions())
    assert "rate(nippo_http_requests_total" in joined
    assert "histogram_quantile(0.95" in joined and "nippo_http_request_duration_seconds_bucket" in joined
    assert re.search(r'nippo_outbox_messages\{state=~"sent\|failed\|dropped"\}\[1d\]', joined)
    assert re.search(r'nippo_outbox_messages\{state=~"pending\|sending"\}', joined)
