"""What a member reads, rendered by Mattermost's own Markdown parser: the
webapp's fork of commonmark.js (``@mattermost/commonmark`` on the npm
registry), which also finds at-mentions and channel links.

``scripts/test.sh`` installs it into ``tests/markdown/node_modules`` (``npm
ci``); one ``node`` process per test session answers every render. Without
Node.js or the package the tests that need it are skipped, saying why.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent / "markdown"
SCRIPT = HERE / "render.js"
PACKAGE = HERE / "node_modules" / "@mattermost" / "commonmark"


@dataclass(frozen=True)
class Rendered:
    html: str
    mentions: list[str]  # at-mention names as the parser reads them (``all.`` stays ``all.``)
    channels: list[str]
    codes: list[str]  # the literal text of code spans and blocks
    links: list[str]
    types: list[str]  # every node type, in document order

    def has(self, node_type: str) -> bool:
        return node_type in self.types


class MattermostMarkdown:
    def __init__(self) -> None:
        self._process = subprocess.Popen(["node", str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         text=True, encoding="utf-8", bufsize=1)
        self._lock = threading.Lock()

    def render(self, text: str) -> Rendered:
        with self._lock:
            self._process.stdin.write(json.dumps({"text": text}) + "\n")
            self._process.stdin.flush()
            answer = json.loads(self._process.stdout.readline())
        if "error" in answer:
            raise AssertionError(f"the Markdown parser failed: {answer['error']}")
        return Rendered(**answer)

    def close(self) -> None:
        self._process.stdin.close()
        self._process.wait(timeout=10)


def why_unavailable() -> str | None:
    if shutil.which("node") is None:
        return "Node.js is not installed: Mattermost's Markdown parser runs on it (scripts/test.sh expects `node`)"
    if not PACKAGE.is_dir():
        return ("@mattermost/commonmark is not installed: run `npm ci --prefix tests/markdown` "
                "(scripts/test.sh does)")
    return None


@pytest.fixture(scope="session")
def markdown():
    reason = why_unavailable()
    if reason:
        pytest.skip(reason)
    renderer = MattermostMarkdown()
    yield renderer
    renderer.close()
