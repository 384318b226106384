"""The OpenAPI 3.1 document of /api/v1; channels add the paths they serve."""

from __future__ import annotations

from typing import Any

PROBLEM = {"$ref": "#/components/schemas/Problem"}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "Problem", "content": {"application/problem+json":
                                                           {"schema": PROBLEM}}}
            for c in codes}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


STAFF: list[dict[str, list[str]]] = [{"bearer": []}, {"session": []}]
CONTACT_ID = [{"name": "id", "in": "path", "required": True,
               "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}]

PATHS: dict[str, Any] = {
    "/healthz": {"get": {"summary": "Liveness and database check", "security": [],
                         "responses": {"200": _json({"type": "object"})}}},
    "/api/v1/openapi.json": {"get": {"summary": "This OpenAPI document", "security": [],
                                     "responses": {"200": _json({"type": "object"})}}},
    "/api/v1/me": {"get": {"summary": "The authenticated staff member", "security": STAFF,
                           "responses": {"200": _json({"type": "object"}), **_errors(401)}}},
    "/api/v1/me/availability": {"post": {
        "summary": "Mark myself away or back; away staff get no new contacts",
        "security": STAFF,
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["available"],
            "properties": {"available": {"type": "boolean"}}}}}},
        "responses": {"200": _json({"type": "object"}), **_errors(400, 401, 403)}}},
    "/api/v1/contacts": {"get": {
        "summary": "Contacts this staff member may see (each read is access-logged)",
        "security": STAFF,
        "parameters": [{"name": "folder", "in": "query", "schema": {
            "type": "string", "enum": ["mine", "areas", "unassigned", "all"]}}],
        "responses": {"200": _json({"type": "object", "properties": {"items": {
            "type": "array", "items": {"$ref": "#/components/schemas/Contact"}}}}),
            **_errors(400, 401)}}},
    "/api/v1/contacts/{id}": {"get": {
        "summary": "One contact with its messages", "security": STAFF,
        "parameters": CONTACT_ID,
        "responses": {"200": _json({"allOf": [
            {"$ref": "#/components/schemas/Contact"},
            {"type": "object", "properties": {"messages": {
                "type": "array", "items": {"$ref": "#/components/schemas/Message"}}}}]}),
            **_errors(400, 401, 404)}}},
    "/api/v1/contacts/{id}/replies": {"post": {
        "summary": "Answer through the contact's own channel", "security": STAFF,
        "parameters": CONTACT_ID,
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["text"],
            "properties": {"text": {"type": "string", "minLength": 1, "maxLength": 20000,
                                    "pattern": "\\S"},
                           "secure": {"type": "boolean", "description":
                                      "as a secure-message link (default for residents' "
                                      "email: YHTEYS_SECURE_REPLIES)"}}}}}},
        "responses": {"201": _json({"$ref": "#/components/schemas/Message"}, "Stored"),
                      **_errors(400, 401, 403, 404, 409)}}},
    "/api/v1/contacts/{id}/take": {"post": {
        "summary": "Assign the contact to me (and its case, if it has no counsellor)",
        "security": STAFF, "parameters": CONTACT_ID,
        "responses": {"200": _json({"$ref": "#/components/schemas/Contact"}),
                      **_errors(400, 401, 403, 404)}}},
    "/api/v1/contacts/{id}/close": {"post": {
        "summary": "Mark the contact handled; a new message opens it again",
        "security": STAFF, "parameters": CONTACT_ID,
        "responses": {"200": _json({"$ref": "#/components/schemas/Contact"}),
                      **_errors(400, 401, 403, 404)}}},
    "/api/v1/contacts/{id}/transfer": {"post": {
        "summary": "Hand the contact to another counsellor or area with a note (a routing "
                   "step); a chat resident is told",
        "security": STAFF, "parameters": CONTACT_ID,
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "type": "object", "required": ["note"],
            "properties": {"to_staff_id": {"type": ["integer", "null"], "minimum": 1},
                           "to_area": {"type": ["string", "null"]},
                           "note": {"type": "string", "minLength": 1, "maxLength": 1000,
                                    "pattern": "\\S"}}}}}},
        "responses": {"200": _json({"$ref": "#/components/schemas/Contact"}),
                      **_errors(400, 401, 403, 404, 409)}}},
    "/api/v1/contacts/{id}/messages/{mid}/retry": {"post": {
        "summary": "Send again a reply that failed or bounced",
        "security": STAFF,
        "parameters": [*CONTACT_ID, {"name": "mid", "in": "path", "required": True,
                                     "schema": {"type": "integer", "minimum": 1,
                                                "maximum": 2147483647}}],
        "responses": {"200": _json({"$ref": "#/components/schemas/Contact"}),
                      **_errors(400, 401, 403, 404, 409)}}},
    "/api/v1/unparsed/{id}/retry": {"post": {
        "summary": "Put a mail kept for manual handling back in line (leads and admins)",
        "security": STAFF, "parameters": CONTACT_ID,
        "responses": {"202": _json({"type": "object"}, "Queued again"),
                      **_errors(400, 401, 403, 404)}}},
    "/api/v1/unparsed": {"get": {
        "summary": "Inbound input that could not be parsed, kept for manual handling",
        "security": STAFF, "responses": {"200": _json({"type": "object"}), **_errors(401)}}},
}

SCHEMAS: dict[str, Any] = {
    "Problem": {"type": "object", "required": ["type", "title"], "properties": {
        "type": {"type": "string"}, "title": {"type": "string"},
        "status": {"type": "integer"}, "detail": {"type": "string"}}},
    "Contact": {"type": "object",
                "required": ["id", "channel", "status", "area", "assignee", "case_id",
                             "routing"],
                "properties": {
                    "id": {"type": "integer"},
                    "channel": {"type": "string", "enum": ["chat", "email", "phone"]},
                    "status": {"type": "string"}, "area": {"type": ["string", "null"]},
                    "assignee": {"type": ["object", "null"]},
                    "case_id": {"type": ["integer", "null"]},
                    "urgency": {"type": "string"},
                    "language": {"type": ["string", "null"], "enum": ["fi", "sv", "en", None]},
                    "resident_id": {"type": ["integer", "null"]},
                    "routing": {"type": "object", "properties": {
                        "summary": {"type": "string",
                                    "description": "in the reader's language (lang, "
                                                   "Accept-Language; default fi)"},
                        "steps": {"type": "array", "items": {"type": "object", "properties": {
                            "rule": {"type": "string"}, "code": {"type": "string"},
                            "params": {"type": "object"}, "text": {"type": "string"},
                            "rule_label": {"type": "string"}}}}}}}},
    "Message": {"type": "object", "required": ["id", "direction", "text", "sender", "at"],
                "properties": {
                    "id": {"type": "integer"},
                    "seq": {"type": "integer", "description": "1, 2, 3 … in its conversation"},
                    "direction": {"type": "string", "enum": ["in", "out"]},
                    "text": {"type": "string"}, "sender": {"type": "string"},
                    "at": {"type": "string", "format": "date-time"},
                    "delivery": {"type": "object", "properties": {
                        "state": {"type": "string",
                                  "enum": ["pending", "sent", "retrying", "failed", "bounced",
                                           "notified", "opened", "replied", "expired"]},
                        "attempts": {"type": "integer"},
                        "error": {"type": ["string", "null"]}}}}},
}


def document(extra_paths: dict[str, Any]) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Yhteys API", "version": "1.0.0",
                 "description": "Multichannel contact service of Helsinki housing counselling"},
        "paths": {**PATHS, **extra_paths},
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "yhteys_session",
                            "description": "writes also need the X-CSRF-Token header"},
            },
        },
    }
