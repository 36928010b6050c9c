"""GET /api/v1/openapi.json: nippo's push API described as OpenAPI 3, and
true to what the endpoint really accepts and answers."""

from __future__ import annotations

import pytest
import requests
from openapi_core import OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from db.models import Member
from tests.harness import API_TOKEN, start_nippo

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def alice(database):
    with database.write() as session:
        session.add(Member(user_id="u-alice", username="alice", email="alice@example.com"))


def document(nippo) -> dict:
    answer = requests.get(f"{nippo.url}/api/v1/openapi.json", timeout=10)
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("application/json")
    return answer.json()


def exchange(api: OpenAPI, method: str, url: str, **kwargs) -> requests.Response:
    """Send a real request, and hold request and answer against the document."""
    prepared = requests.Request(method, url, **kwargs).prepare()
    with requests.Session() as session:
        answer = session.send(prepared, timeout=10)
    api.validate_response(RequestsOpenAPIRequest(prepared), RequestsOpenAPIResponse(answer))
    return answer


def test_the_document_is_valid_openapi_3(nippo):
    spec = document(nippo)
    assert spec["openapi"].startswith("3.")
    OpenAPI.from_dict(spec)  # validates the document itself; raises if it is not OpenAPI


def test_a_stored_report_matches_the_document(nippo, alice):
    api = OpenAPI.from_dict(document(nippo))
    body = {"user": "alice", "date": "2026-11-30", "text": "did things"}
    prepared = requests.Request("POST", f"{nippo.url}/api/v1/reports", json=body, headers=AUTH).prepare()
    api.validate_request(RequestsOpenAPIRequest(prepared))
    answer = exchange(api, "POST", f"{nippo.url}/api/v1/reports", json=[body], headers=AUTH)
    assert answer.json() == {"stored": 1}


@pytest.mark.parametrize("body, headers", [
    ([{"user": "alice", "date": "2026-11-30", "text": "ok"}, {"user": "nobody", "date": "2026-11-30", "text": "x"}],
     AUTH),
    ({"user": "alice", "date": "2026-11-30", "text": "x"}, {"Authorization": "Bearer wrong"}),
])
def test_refusals_match_the_document(nippo, alice, body, headers):
    api = OpenAPI.from_dict(document(nippo))
    answer = exchange(api, "POST", f"{nippo.url}/api/v1/reports", json=body, headers=headers)
    assert answer.status_code in (400, 401)


def test_the_document_names_the_limits_the_endpoint_enforces(nippo):
    from web.api import MAX_ITEMS

    spec = document(nippo)
    schema = spec["paths"]["/api/v1/reports"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    [_one, many] = schema["oneOf"]
    assert many["maxItems"] == MAX_ITEMS
    assert spec["servers"] == [{"url": nippo.url}]


def test_the_document_is_served_without_an_api_token(database, mattermost, clock):
    running = start_nippo(database, mattermost, clock, NIPPO_API_TOKEN=None)
    try:
        assert document(running)["paths"]["/api/v1/reports"]
    finally:
        running.stop()
