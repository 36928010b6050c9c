"""Request bodies: refused by their length before they are read
(the push API 20 MiB, everything else 1 MiB) with 413, against a real
``nippo serve`` (waitress); JSON that is undecodable or nested too deeply
for the parser is 400, and no client's mistake logs a traceback."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import time

import pytest
import requests

from tests.harness import API_TOKEN, free_port
from tests.test_cli import NIPPO, run

MIB = 1024 * 1024
ENDPOINTS = ("/mattermost/command", "/mattermost/actions", "/mattermost/dialogs", "/api/v1/reports")


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """``nippo serve`` in console mode: (base URL, the process)."""
    env = {"NIPPO_DATABASE_URL": f"sqlite:///{tmp_path_factory.mktemp('serve')}/n.db", "NIPPO_API_TOKEN": API_TOKEN,
           "NIPPO_SCHEDULER": "off"}
    assert run(["db", "upgrade"], env=env).returncode == 0
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("NIPPO_")} | env
    process = subprocess.Popen([NIPPO, "serve", "--host", "127.0.0.1", "--port", str(port)], env=full_env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{url}/healthz", timeout=1)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline and process.poll() is None, "nippo serve did not come up"
                time.sleep(0.1)
        yield url, process
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert "Traceback" not in err


def announce(url: str, path: str, length: int, headers: str = "") -> tuple[str, float]:
    """Send only the request head announcing ``length`` body bytes; the status
    line of the answer, and how long it took."""
    host, port = url.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        connection.sendall((f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                            f"Content-Length: {length}\r\n{headers}\r\n").encode())
        answer = connection.recv(4096).decode("latin-1")
    return answer.split("\r\n", 1)[0], time.monotonic() - started


@pytest.mark.parametrize("path", ENDPOINTS)
def test_a_body_announced_as_400_mb_is_refused_at_once_without_being_sent(served, path):
    url, _ = served
    status, took = announce(url, path, 400 * MIB)
    assert " 413 " in status and took < 2


@pytest.mark.parametrize("path", ENDPOINTS[:3])
def test_a_body_over_1_mib_is_refused_outside_the_push_api(served, path):
    url, _ = served
    answer = requests.post(f"{url}{path}", data=b"{" * (MIB + 1), timeout=30, headers={
        "Content-Type": "application/json"})
    assert answer.status_code == 413 and "longer than" in answer.json()["error"]


def test_the_push_api_takes_bodies_over_1_mib_but_not_over_20(served):
    url, _ = served
    body = b'{"user": "alice", "date": "2026-11-30", "text": "' + b"x" * (2 * MIB) + b'"}'
    answer = requests.post(f"{url}/api/v1/reports", data=body, timeout=30, headers={
        "Authorization": f"Bearer {API_TOKEN}", "Content-Type": "application/json"})
    assert answer.status_code == 400 and "text is longer" in answer.text  # read, and judged on its content
    status, _ = announce(url, "/api/v1/reports", 20 * MIB + 1, f"Authorization: Bearer {API_TOKEN}\r\n")
    assert " 413 " in status


def test_a_chunked_body_over_the_limit_is_refused(served):
    url, _ = served

    def chunks():
        for _ in range(4):
            yield b"[" * (MIB // 2)

    answer = requests.post(f"{url}/mattermost/actions", data=chunks(), timeout=30,
                           headers={"Content-Type": "application/json"})
    assert answer.status_code == 413


@pytest.fixture
def client(nippo):
    """nippo's Flask app, with the test's stand-in and database behind it."""
    from web.app import create_app

    return create_app(services=nippo.services).test_client()


@pytest.mark.parametrize("path", ENDPOINTS[1:])
@pytest.mark.parametrize("depth", [40, 1_000, 100_000])
def test_json_nested_too_deeply_is_400_without_a_traceback(client, path, depth, caplog):
    caplog.set_level(logging.INFO)
    body = "[" * depth + "]" * depth
    answer = client.post(path, data=body, content_type="application/json",
                         headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert answer.status_code == 400 and answer.is_json
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


@pytest.mark.parametrize("path", ENDPOINTS[1:])
@pytest.mark.parametrize("body", [b"{", b"\xff\xfe{}", b'{"a": "\\ud800', b"1" * 5000, b"\xef\xbb\xbf{}"])
def test_undecodable_json_is_400(client, path, body):
    answer = client.post(path, data=body, content_type="application/json",
                         headers={"Authorization": f"Bearer {API_TOKEN}"})
    assert answer.status_code == 400 and answer.is_json
