"""``nippo serve`` as an operator runs it: real processes (waitress, the
scheduler thread, the real clock), talking to the Mattermost stand-in, with a
load balancer the stand-in sends its requests through."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests

from tests.harness import COMMAND_TOKEN, SECRET_KEY, free_port

NIPPO = str(Path(sys.executable).with_name("nippo"))
METRICS_TOKEN = "metrics-token-for-tests-thirty-two"
PUBLIC_URL = "http://nippo.example.com"  # the balancer's address: buttons and dialogs call back there


def serve_env(database_url: str, mattermost, **overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NIPPO_")}
    env.update({
        "NIPPO_DATABASE_URL": database_url,
        "NIPPO_MATTERMOST_URL": mattermost.url,
        "NIPPO_BOT_TOKEN": mattermost.bot_token,
        "NIPPO_COMMAND_TOKENS": COMMAND_TOKEN,
        "NIPPO_SECRET_KEY": SECRET_KEY,
        "NIPPO_PUBLIC_URL": PUBLIC_URL,
        "NIPPO_METRICS_TOKEN": METRICS_TOKEN,
        **overrides,
    })
    return env


@dataclass
class Served:
    process: subprocess.Popen
    url: str
    log_path: Path

    def metrics(self) -> str:
        answer = requests.get(f"{self.url}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=10)
        assert answer.status_code == 200, answer.text
        return answer.text

    def stop(self) -> str:
        """SIGTERM, wait, and return what it logged (standard error)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.log_path.read_text()


def start_serve(env: dict[str, str], log_path: Path) -> Served:
    """Start one process; ``wait_until_up`` before talking to it."""
    port = free_port()
    with open(log_path, "w") as log_file:
        process = subprocess.Popen([NIPPO, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=log_file)
    return Served(process=process, url=f"http://127.0.0.1:{port}", log_path=log_path)


def wait_until_up(served: Served, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert served.process.poll() is None, f"nippo serve exited: {served.log_path.read_text()[-2000:]}"
        try:
            if requests.get(f"{served.url}/healthz", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, "nippo serve did not come up"
        time.sleep(0.05)


class RoundRobin:
    """A load balancer in front of the replicas, on the stand-in's side: each
    request Mattermost sends (commands, clicks, dialog submissions) goes to
    the next replica in turn, whatever address the integration named."""

    def __init__(self, replicas: list[Served]):
        self.replicas = replicas
        self.sent = 0
        self.served: Counter[str] = Counter()

    @property
    def next_url(self) -> str:
        return self.replicas[self.sent % len(self.replicas)].url

    def __call__(self, method: str, url: str, headers: dict, body: bytes) -> requests.Response:
        parts = urlsplit(url)
        target = self.next_url
        self.sent += 1
        self.served[target] += 1
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        return requests.request(method, target + path, headers=headers, data=body, timeout=30)


def wait_for(condition, timeout: float = 30, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
