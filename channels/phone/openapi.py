"""The phone channel's part of the OpenAPI document."""

from __future__ import annotations

from typing import Any

_PROBLEM = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
_STAFF: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]
_ID = [{"name": "id", "in": "path", "required": True,
        "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}]


def _err(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "Problem", "content": _PROBLEM} for c in codes}


def _ok(schema: dict[str, Any], status: str = "200") -> dict[str, Any]:
    return {status: {"description": "OK", "content": {"application/json": {"schema": schema}}}}


def _body(properties: dict[str, Any], required: list[str] | None = None) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": {
        "type": "object", "required": required or [], "properties": properties}}}}


WINDOW = {"type": "object", "required": ["from", "to"], "properties": {
    "from": {"type": "string", "format": "date-time"},
    "to": {"type": "string", "format": "date-time"}}}
CALLBACK = {"type": "object", "properties": {
    "id": {"type": "integer"}, "phone": {"type": "string"},
    "postal_code": {"type": ["string", "null"]}, "area": {"type": ["string", "null"]},
    "language": {"type": "string"}, "topic": {"type": ["integer", "null"]},
    "text": {"type": "string"}, "source": {"type": "string", "enum": ["form", "missed_call"]},
    "preferred_time": {"oneOf": [WINDOW, {"type": "null"}]},
    "priority": {"type": "integer"},
    "state": {"type": "string", "enum": ["queued", "claimed", "done", "failed", "cancelled"]},
    "attempts": {"type": "integer"}, "max_attempts": {"type": "integer"},
    "not_before": {"type": ["string", "null"]}, "claimable": {"type": "boolean"},
    "claimed_by": {"type": ["integer", "null"]}, "holder": {"type": ["string", "null"]},
    "contact_id": {"type": ["integer", "null"]}, "created_at": {"type": "string"},
    "waiting_s": {"type": "integer"}}}
LOGGED = {"type": "object", "properties": {
    "id": {"type": "integer"}, "contact_id": {"type": ["integer", "null"]},
    "case_id": {"type": ["integer", "null"]}, "resident_id": {"type": ["integer", "null"]}}}
ITEMS = {"type": "object", "properties": {"items": {"type": "array"}}}

PATHS: dict[str, Any] = {
    "/api/v1/callbacks": {
        "post": {
            "summary": "A resident asks to be called back (public, rate-limited); the answer "
                       "says in the reader's language when to expect the call",
            "security": [],
            "parameters": [{"name": "lang", "in": "query", "description":
                            "fi, sv or en; anything else: Accept-Language decides",
                            "schema": {"type": "string"}}],
            "requestBody": _body({
                "phone": {"type": "string", "example": "040 123 4567"},
                "postal_code": {"type": ["string", "null"], "pattern": "^[0-9]{5}$"},
                "no_fixed_address": {"type": "boolean"},
                "language": {"type": "string", "enum": ["fi", "sv", "en"]},
                "topic": {"type": "integer", "minimum": 1, "maximum": 99},
                "text": {"type": "string", "maxLength": 2000},
                "preferred_time": {"oneOf": [WINDOW, {"type": "null"}]}}, ["phone"]),
            "responses": {**_ok({"type": "object", "properties": {
                "id": {"type": "integer"}, "area": {"type": ["string", "null"]},
                "message": {"type": "string"},
                "expected": {"oneOf": [WINDOW, {"type": "null"}]}}}, "201"),
                **_err(400, 429)}},
        "get": {"summary": "The queue of my areas (leads: all, and the failed with history)",
                "security": _STAFF,
                "responses": {**_ok(ITEMS), **_err(401)}},
    },
    "/api/v1/callbacks/windows": {"get": {
        "summary": "The call windows a resident may choose (the area's opening hours)",
        "security": [],
        "parameters": [
            {"name": "postal_code", "in": "query",
             "schema": {"type": "string", "pattern": "^[0-9]{5}$"}},
            {"name": "no_fixed_address", "in": "query", "description": "1 or true: city-wide",
             "schema": {"type": "string"}},
            {"name": "lang", "in": "query", "description":
             "fi, sv or en; anything else: Accept-Language decides", "schema": {"type": "string"}}],
        "responses": {**_ok({"type": "object", "properties": {
            "open_now": {"type": "boolean"}, "windows": {"type": "array"}}}), **_err(400)}}},
    "/api/v1/callbacks/claim": {"post": {
        "summary": "Take the next callback whose window is open; never one to two people",
        "security": _STAFF,
        "responses": {**_ok(CALLBACK), "204": {"description": "Nothing to claim"},
                      **_err(401, 409)}}},
    "/api/v1/callbacks/{id}/claim": {"post": {
        "summary": "Take this callback from the queue", "security": _STAFF,
        "parameters": _ID, "responses": {**_ok(CALLBACK), **_err(400, 401, 404, 409)}}},
    "/api/v1/callbacks/{id}/attempts": {"post": {
        "summary": "Record a call made on a callback I hold", "security": _STAFF,
        "parameters": _ID,
        "requestBody": _body({"result": {"type": "string",
                                         "enum": ["reached", "no_answer", "wrong_number"]},
                              "notes": {"type": "string", "maxLength": 20000}}, ["result"]),
        "responses": {**_ok(CALLBACK, "201"), **_err(400, 401, 404, 409)}}},
    "/api/v1/callbacks/{id}/cancel": {"post": {
        "summary": "No call needed any more", "security": _STAFF, "parameters": _ID,
        "responses": {**_ok(CALLBACK), **_err(400, 401, 404, 409)}}},
    "/api/v1/calls": {
        "post": {
            "summary": "Log a call: linked by number (or the chosen resident) within my areas",
            "security": _STAFF,
            "requestBody": _body({
                "phone": {"type": "string"},
                "direction": {"type": "string", "enum": ["in", "out"]},
                "notes": {"type": "string", "maxLength": 20000},
                "started_at": {"type": "string", "format": "date-time"},
                "duration_s": {"type": "integer", "minimum": 0, "maximum": 2**31 - 1},
                "resident_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
                "client_id": {"type": "string", "minLength": 1, "maxLength": 60}},
                ["phone", "direction"]),
            "responses": {**_ok(LOGGED, "201"), **_err(400, 401, 404)}},
        "get": {"summary": "Recent calls I may see", "security": _STAFF,
                "responses": {**_ok(ITEMS), **_err(401)}},
    },
    "/api/v1/residents": {"get": {
        "summary": "Residents of my areas by number or name (to link a call)",
        "security": _STAFF,
        "parameters": [{"name": "q", "in": "query", "required": True,
                        "schema": {"type": "string", "minLength": 2, "maxLength": 100}}],
        "responses": {**_ok(ITEMS), **_err(400, 401)}}},
    "/api/v1/contacts/{id}/possible-match": {"post": {
        "summary": "Confirm or reject the known resident a public request's number suggests",
        "security": _STAFF, "parameters": _ID,
        "requestBody": _body({"action": {"type": "string", "enum": ["confirm", "reject"]}},
                             ["action"]),
        "responses": {**_ok(LOGGED), **_err(400, 401, 404, 409)}}},
    "/api/v1/telephony/events": {"post": {
        "summary": "The phone system's call events (Zammad generic CTI), HMAC-signed",
        "security": [],
        "parameters": [
            {"name": "X-Yhteys-Timestamp", "in": "header", "required": True,
             "schema": {"type": "string"}},
            {"name": "X-Yhteys-Signature", "in": "header", "required": True,
             "schema": {"type": "string"}}],
        "requestBody": _body({
            "event": {"type": "string", "enum": ["newCall", "answer", "hangup"]},
            "callId": {"type": "string", "minLength": 1, "maxLength": 100},
            "from": {"type": "string"}, "to": {"type": "string"},
            "direction": {"type": "string", "enum": ["in", "out"]},
            "user": {"type": "string"}, "answeringNumber": {"type": "string"},
            "cause": {"type": "string"}}, ["event", "callId"]),
        "responses": {**_ok({"type": "object"}), **_err(400, 401, 413, 503)}}},
}
