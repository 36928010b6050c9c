"""Mattermost's calls into nippo: slash commands, buttons and dialogs. A thin adapter: authenticate, turn the request into
plain values, let ``commands`` decide, turn the reply into JSON."""

from __future__ import annotations

import hmac
import logging

from flask import Blueprint, abort, current_app, jsonify, request

from commands.dispatch import handle_command
from commands.interactive import handle_action, handle_dialog
from commands.request import CommandRequest
from web import access
from web.bodies import json_body
from web.fields import ACTION_FIELDS, DIALOG_FIELDS, command_problem, payload_problem

log = logging.getLogger("nippo.web")

blueprint = Blueprint("mattermost", __name__)

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _services():
    return current_app.extensions["nippo"]


def command_token(fields) -> str:
    token = fields.get("token") or ""
    if not token:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "token":
            token = value.strip()
    return token


def token_is_valid(token: str, allowed: tuple[str, ...]) -> bool:
    """Constant-time comparison against every configured token."""
    valid = False
    for candidate in allowed:
        valid |= hmac.compare_digest(token.encode(), candidate.encode())
    return valid


@blueprint.route("/mattermost/command", methods=["POST", "GET"])
def command():
    services = _services()
    # A command set to GET in the System Console sends the same fields in the query string.
    if request.method == "POST" and request.mimetype not in FORM_TYPES:
        abort(400, description="a slash command is form-encoded")
    fields = request.form if request.method == "POST" else request.args
    settings = services.settings
    # Console mode takes any token only when none is configured: configured tokens always count.
    if (settings.command_tokens or not settings.console_mode) and not token_is_valid(
            command_token(fields), settings.command_tokens):
        log.warning("slash command refused: bad token")
        return jsonify(error="unauthorized"), 401
    problem = command_problem(fields, settings.console_mode)
    if problem:
        abort(400, description=problem)
    parsed = CommandRequest.from_form(fields, request_id=access.request_id())
    if parsed is None:
        abort(400, description="command, user_id and channel_id are required")
    reply = handle_command(services, parsed, services.clock())
    if reply.later is not None:
        services.run_later(reply.later)
    return jsonify(reply.to_json())


@blueprint.app_errorhandler(400)
@blueprint.app_errorhandler(404)
@blueprint.app_errorhandler(405)
@blueprint.app_errorhandler(413)
@blueprint.app_errorhandler(415)
def client_error(error):
    return jsonify(error=getattr(error, "description", "bad request")), error.code


@blueprint.app_errorhandler(500)
def server_error(error):
    # Handlers answer their own failures; this is the last line, and it says nothing inside.
    log.error("unhandled error answering %s %s", request.method, request.endpoint or "(no route)")
    return jsonify(error="internal error"), 500


def _json_payload(fields: dict[str, str]) -> dict:
    payload = json_body()
    problem = payload_problem(payload, fields, _services().settings.console_mode)
    if problem:
        abort(400, description=problem)
    return payload


def _answer(answer):
    if answer.status == 200 and not answer.body:
        # An empty 200 closes a dialog and leaves a post as it was.
        return "", 200
    return jsonify(answer.body), answer.status


@blueprint.post("/mattermost/actions")
def actions():
    services = _services()
    payload = _json_payload(ACTION_FIELDS)
    try:
        return _answer(handle_action(services, payload, services.clock()))
    except Exception:
        log.exception("button click failed")
        return jsonify(ephemeral_text=_apology(services)), 200


@blueprint.post("/mattermost/dialogs")
def dialogs():
    services = _services()
    payload = _json_payload(DIALOG_FIELDS)
    try:
        return _answer(handle_dialog(services, payload, services.clock()))
    except Exception:
        log.exception("dialog submission failed")
        return jsonify(error=_apology(services)), 200


def _apology(services) -> str:
    persona = services.personas.get(services.settings.persona)
    return persona.say("error.internal", services.settings.language, request_id=access.request_id())
