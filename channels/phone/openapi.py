"""The phone channel's part of the OpenAPI document."""

from __future__ import annotations

from typing import Any

_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_STAFF: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]


def _err(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "Problem", "content": _PROBLEM} for c in codes}


CALLBACK = {"type": "object", "properties": {
    "id": {"type": "integer"}, "phone": {"type": "string"}, "postal_code": {"type": "string"},
    "area": {"type": ["string", "null"]}, "language": {"type": "string"},
    "topic": {"type": "string"}, "preferred_time": {"type": ["string", "null"]},
    "priority": {"type": "integer"}, "state": {"type": "string"},
    "attempts": {"type": "integer"}, "claimed_by": {"type": ["integer", "null"]},
    "contact_id": {"type": ["integer", "null"]}}}

PATHS: dict[str, Any] = {
    "/api/v1/callbacks": {
        "post": {
            "summary": "A resident asks to be called back (public, rate-limited)",
            "security": [],
            "requestBody": {"required": True, "content": {"application/json": {"schema": {
                "type": "object", "required": ["phone", "postal_code", "topic"],
                "properties": {
                    "phone": {"type": "string", "example": "040 123 4567"},
                    "postal_code": {"type": "string", "pattern": "^[0-9]{5}$"},
                    "language": {"type": "string", "enum": ["fi", "sv", "en"]},
                    "topic": {"type": "string", "minLength": 1, "maxLength": 2000,
                              "pattern": "\\S"},
                    "preferred_time": {"type": ["string", "null"], "maxLength": 200}}}}}},
            "responses": {"201": {"description": "Queued", "content": {"application/json": {
                "schema": {"type": "object", "properties": {"id": {"type": "integer"}}}}}},
                **_err(400, 429)}},
        "get": {"summary": "Open and claimed callbacks of my areas", "security": _STAFF,
                "responses": {"200": {"description": "OK"}, **_err(401)}},
    },
    "/api/v1/callbacks/claim": {"post": {
        "summary": "Take the next callback of my areas; never the same one to two people",
        "security": _STAFF,
        "responses": {"200": {"description": "Claimed", "content": {"application/json": {
            "schema": CALLBACK}}}, "204": {"description": "Nothing to claim"},
            **_err(401, 409)}}},
    "/api/v1/callbacks/{id}/outcome": {"post": {
        "summary": "After calling: done, or no answer (back to the queue)",
        "security": _STAFF,
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["outcome"], "properties": {
                "outcome": {"type": "string", "enum": ["done", "no_answer"]}}}}}},
        "responses": {"200": {"description": "Recorded", "content": {"application/json": {
            "schema": CALLBACK}}}, **_err(400, 401, 409)}}},
    "/api/v1/calls": {"post": {
        "summary": "Log a call; it is linked to the resident and case by number",
        "security": _STAFF,
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["phone", "direction"], "properties": {
                "phone": {"type": "string"}, "direction": {"type": "string",
                                                           "enum": ["in", "out"]},
                "notes": {"type": "string", "maxLength": 20000},
                "started_at": {"type": "string", "format": "date-time"},
                "duration_s": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}}}}}},
        "responses": {"201": {"description": "Logged"}, **_err(400, 401)}}},
}
