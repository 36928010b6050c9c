"""The OpenAPI 3 document of nippo's own ``/api/v1`` (served at
``GET /api/v1/openapi.json``; docs/api.md shows it with examples).

Built from the same limits the endpoint enforces, so the two cannot drift.
"""

from __future__ import annotations

from commands.grammar import REPORT_TEXT_LIMIT

MAX_KEY_LENGTH = 320


def _report_schema() -> dict:
    def naming(key: str, description: str) -> dict:
        return {
            "type": "object",
            "required": [key, "date", "text"],
            "additionalProperties": False,
            "properties": {
                key: {"type": "string", "minLength": 1, "maxLength": MAX_KEY_LENGTH, "description": description},
                "date": {"type": "string", "format": "date",
                         "description": "The work date (YYYY-MM-DD), at most one day ahead in NIPPO_TIMEZONE."},
                "text": {"type": "string", "minLength": 1, "maxLength": REPORT_TEXT_LIMIT,
                         "description": "The report; pushing again for the same member and date replaces it."},
            },
        }

    return {
        "description": "One report. Name the member by exactly one of user, email or external_id "
                       "(compared case-insensitively).",
        "oneOf": [
            naming("user", "Mattermost username, with or without @."),
            naming("email", "The member's e-mail address as Mattermost knows it."),
            naming("external_id", "The member's id in the outside work-report system (`/team link`)."),
        ],
        "example": {"user": "alice", "date": "2026-11-30", "text": "Fixed the login bug; reviewed #42."},
    }


def document(server_url: str, *, max_items: int, max_body_bytes: int) -> dict:
    error = {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
    refused = {
        "type": "object",
        "required": ["error"],
        "description": "`items` lists every bad item when the body was a report or a list of them.",
        "properties": {
            "error": {"type": "string", "example": "nothing was stored"},
            "items": {"type": "array", "items": {
                "type": "object", "required": ["index", "error"],
                "properties": {"index": {"type": "integer", "description": "Position in the list (0 for one object)."},
                               "error": {"type": "string"}}}},
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "nippo push API",
            "version": "1",
            "description": "Other systems push work reports into nippo. The API exists only where "
                           "NIPPO_API_TOKEN is set; elsewhere every method answers 404.",
        },
        "servers": [{"url": server_url}],
        "security": [{"bearer": []}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "description": "The value of NIPPO_API_TOKEN."}},
            "schemas": {"Report": _report_schema(), "Error": error, "Refused": refused},
        },
        "paths": {
            "/api/v1/reports": {
                "post": {
                    "operationId": "pushReports",
                    "summary": "Store reports, all or nothing",
                    "description": f"One report, or a list of at most {max_items:,}. Every item is checked first: "
                                   "one bad item stores nothing, and the answer lists every bad item.",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"oneOf": [
                            {"$ref": "#/components/schemas/Report"},
                            {"type": "array", "minItems": 1, "maxItems": max_items,
                             "items": {"$ref": "#/components/schemas/Report"}},
                        ]}}},
                    },
                    "responses": {
                        "200": {"description": "Every report was stored.", "content": {"application/json": {
                            "schema": {"type": "object", "required": ["stored"],
                                       "properties": {"stored": {"type": "integer", "example": 1}}}}}},
                        "400": {"description": "Nothing was stored: the body, or some items, are wrong.",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Refused"}}}},
                        "401": {"description": "No bearer token, or the wrong one.",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                        "404": {"description": "NIPPO_API_TOKEN is not set: there is no push API.",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                        "413": {"description": f"The body is over {max_body_bytes // 2**20} MiB.",
                                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
                    },
                },
            },
            "/api/v1/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "This document",
                    "security": [],
                    "responses": {"200": {"description": "The OpenAPI 3 document of /api/v1.",
                                          "content": {"application/json": {"schema": {"type": "object"}}}}},
                },
            },
        },
    }
