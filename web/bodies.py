"""Request bodies: refused by their announced length before anything reads
them, and JSON decoded without ever failing with a 500.

``BodyLimit`` sits in front of the Flask app. ``nippo serve`` runs waitress,
which buffers a whole body before it calls the app (a chunked one too, and it
then sets CONTENT_LENGTH to what it received): its own limit is set to the
largest body nippo takes (``LARGEST_BODY``), so anything longer is refused
while it is still arriving, and this layer refuses what is too long for its
path. Under another server a chunked body has no length up front; Flask's
``MAX_CONTENT_LENGTH`` then stops reading it at the limit.
"""

from __future__ import annotations

import json
from typing import Any

from flask import abort, request

API_BODY_LIMIT = 20 * 1024 * 1024  # 1,000 reports of 3,000 characters, each escaped as \uXXXX at worst
BODY_LIMIT = 1024 * 1024  # Mattermost's own calls are small
LARGEST_BODY = API_BODY_LIMIT
API_PREFIX = "/api/"
MAX_JSON_DEPTH = 32  # Mattermost's payloads nest four deep; past this it is no payload of theirs


def body_limit(path: str) -> int:
    return API_BODY_LIMIT if path.startswith(API_PREFIX) else BODY_LIMIT


class BodyLimit:
    """WSGI middleware: 413 for a body announced longer than its path takes,
    before the app (or anything else) reads a byte of it."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        announced = environ.get("CONTENT_LENGTH") or ""
        if announced:
            if not announced.isdigit():
                return _refuse(start_response, "400 Bad Request", "Content-Length is not a number")
            limit = body_limit(environ.get("PATH_INFO") or "")
            if int(announced) > limit:
                return _refuse(start_response, "413 Request Entity Too Large",
                               f"the body is longer than {limit} bytes")
        return self.app(environ, start_response)


def _refuse(start_response, status: str, message: str):
    body = json.dumps({"error": message}).encode()
    # Answered before Flask sees the request, so with the headers every other answer carries (web.pages).
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                            ("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"),
                            ("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
                            ("Referrer-Policy", "same-origin"), ("Cache-Control", "no-store")])
    return [body]


def json_body() -> Any:
    """The request's JSON document; 400 for anything that is not one, nested
    too deeply included (the parser's recursion must never become a 500)."""
    if not request.is_json:
        abort(400, description="expected a JSON body")
    try:
        document = json.loads(request.get_data(cache=True))
    except (ValueError, RecursionError):
        abort(400, description="the body is not valid JSON")
    if _depth(document) > MAX_JSON_DEPTH:
        abort(400, description=f"the JSON is nested more than {MAX_JSON_DEPTH} deep")
    return document


def _depth(document: Any) -> int:
    """How deeply lists and objects nest, counted without recursion."""
    deepest, stack = 0, [(document, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            value = list(value.values())
        if isinstance(value, list):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                stack.extend((item, depth + 1) for item in value)
    return deepest
