"""``POST /api/v1/reports``: other systems push reports (docs/api.md).

All or nothing: every item is checked first, and one bad item means a 400
listing every bad item and nothing stored. Without ``NIPPO_API_TOKEN`` the
endpoint does not exist: every method answers 404.
"""

from __future__ import annotations

import hmac
import logging
import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, jsonify, request
from sqlalchemy import func, select

from commands.grammar import REPORT_TEXT_LIMIT, storable
from db import queries
from db.models import Member, RosterEntry
from web import openapi
from web.bodies import API_BODY_LIMIT, json_body

log = logging.getLogger("nippo.api")

blueprint = Blueprint("api", __name__)

MAX_ITEMS = 1000
KEYS = ("user", "email", "external_id")
# external_id is set per team (a roster entry's); the others are the member's own.
COLUMNS = {"user": (Member.id, Member.username), "email": (Member.id, Member.email),
           "external_id": (RosterEntry.member_id, RosterEntry.external_id)}


def _authorized(expected: str) -> bool:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected.encode())


@blueprint.route("/api/v1/reports", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
def push_reports():
    services = current_app.extensions["nippo"]
    expected = services.settings.api_token
    if not expected:
        abort(404)
    if request.method != "POST":
        abort(405, valid_methods=["POST"])
    if not _authorized(expected):
        return jsonify(error="unauthorized"), 401
    request.max_content_length = API_BODY_LIMIT
    body = json_body()
    if not isinstance(body, (dict, list)):
        return jsonify(error="the body must be a JSON object (one report) or a list of them"), 400
    items = body if isinstance(body, list) else [body]
    if not items:
        return jsonify(error="no reports given"), 400
    if len(items) > MAX_ITEMS:
        return jsonify(error=f"at most {MAX_ITEMS} reports at once, got {len(items)}"), 400
    now = services.clock()
    # As for /report: at most one day ahead (in the default zone: an API call has no member zone yet).
    latest = now.astimezone(ZoneInfo(services.settings.timezone)).date() + timedelta(days=1)
    checked, errors = _check(items, latest)
    with services.database.write() as session:
        members = _members(session, checked)
        for index, item in enumerate(checked):
            if item is None:
                continue
            match = (item["key"], item["value"].lower())
            if match not in members:
                errors.append({"index": index, "error": f"unknown {item['key']} {item['value']!r}"})
            elif members[match] is None:
                errors.append({"index": index, "error": f"{item['key']} {item['value']!r} names several members"})
        if errors:
            session.rollback()
            return jsonify(error="nothing was stored", items=sorted(errors, key=lambda e: e["index"])), 400
        for item in checked:
            member_id = members[(item["key"], item["value"].lower())]
            queries.save_report(session, member_id, item["date"], item["text"], "api", now)
    return jsonify(stored=len(checked)), 200


@blueprint.get("/api/v1/openapi.json")
def openapi_document():
    """The push API described as OpenAPI 3, for client generators and validators."""
    settings = current_app.extensions["nippo"].settings
    return jsonify(openapi.document(settings.public_url, max_items=MAX_ITEMS, max_body_bytes=API_BODY_LIMIT))


def _check(items: list, latest: date) -> tuple[list, list]:
    """Each item checked on its own; ``latest`` is the last work date a report may have."""
    checked, errors = [], []
    for index, item in enumerate(items):
        problem, value = _check_one(item, latest)
        if problem:
            errors.append({"index": index, "error": problem})
            checked.append(None)
        else:
            checked.append(value)
    return checked, errors


def _check_one(item, latest: date) -> tuple[str | None, dict | None]:
    if not isinstance(item, dict):
        return "each report is a JSON object", None
    named = [k for k in KEYS if k in item]
    if len(named) != 1:
        return "name exactly one of user, email, external_id", None
    key = named[0]
    value = item[key]
    if not isinstance(value, str) or not value.strip() or len(value) > 320:
        return f"{key} must be a non-empty string", None
    unknown = set(item) - set(KEYS) - {"date", "text"}
    if unknown:
        return f"unknown field {sorted(unknown)[0]!r}", None
    if not storable(value):
        return f"{key} contains characters that cannot be stored", None
    raw_date = item.get("date")
    try:
        if not isinstance(raw_date, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw_date):
            raise ValueError
        work_date = date.fromisoformat(raw_date)
    except ValueError:
        return "date must be YYYY-MM-DD", None
    if work_date > latest:
        return f"date {raw_date} is more than one day ahead", None
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        return "text must be a non-empty string", None
    if len(text) > REPORT_TEXT_LIMIT:
        return f"text is longer than {REPORT_TEXT_LIMIT} characters", None
    if not storable(text):
        return "text contains characters that cannot be stored (NUL or invalid Unicode)", None
    return None, {"key": key, "value": value.strip().lstrip("@") if key == "user" else value.strip(),
                  "date": work_date, "text": text}


def _members(session, checked: list) -> dict[tuple[str, str], int | None]:
    """Member ids by (key, lower-cased value), in one query per key kind; None
    where one value names several members."""
    found: dict[tuple[str, str], set[int]] = {}
    for key, (id_column, column) in COLUMNS.items():
        wanted = {item["value"].lower() for item in checked if item is not None and item["key"] == key}
        if not wanted:
            continue
        query = select(id_column, column).where(func.lower(column).in_(wanted))
        if key == "external_id":
            query = query.where(RosterEntry.removed_at.is_(None))
        for member_id, value in session.execute(query):
            found.setdefault((key, value.lower()), set()).add(member_id)
    # Two members with one key (an e-mail shared, or two teams' ids): refuse rather than guess.
    return {match: next(iter(ids)) if len(ids) == 1 else None for match, ids in found.items()}
