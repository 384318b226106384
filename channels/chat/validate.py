"""What a resident's chat client may send, checked before anything is stored.

A refusal carries a `code` (the widget renders it in the resident's language from its
catalog) and an English `error` for developers and scripts.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from inbox.errors import Problem, require_storable
from router.identify import normalise_email

MAX_TEXT = 4000
MAX_NAME = 200
MAX_CLIENT_ID = 100
LANGUAGES = ("fi", "sv", "en")
POSTAL = re.compile(r"^\d{5}$")


class Refusal(Exception):
    def __init__(self, code: str, error: str, **params: Any):
        super().__init__(error)
        self.code = code
        self.error = error
        self.params = params

    def ack(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.error, "code": self.code}
        if self.params:
            body["params"] = self.params
        return body


@dataclass(frozen=True)
class Start:
    language: str
    text: str
    postal_code: str | None
    no_fixed_address: bool
    topic: int | None
    name: str | None
    email: str | None
    client_id: str | None


def storable(data: Any) -> None:
    try:
        require_storable(data)
    except Problem as exc:
        raise Refusal("unstorable_text", "text must not contain NUL characters or lone "
                      "surrogates") from exc


def text_of(data: dict[str, Any]) -> str:
    text = data.get("text")
    if not isinstance(text, str) or not text.strip():
        raise Refusal("text_required", "text is required")
    if len(text) > MAX_TEXT:
        raise Refusal("text_too_long", f"text is longer than {MAX_TEXT} characters",
                      max=MAX_TEXT)
    return text.strip()


def client_id_of(data: dict[str, Any], required: bool) -> str | None:
    client_id = data.get("client_id")
    if client_id is None and not required:
        return None
    if not isinstance(client_id, str) or not 0 < len(client_id) <= MAX_CLIENT_ID:
        raise Refusal("client_id_invalid",
                      f"client_id is required (text, at most {MAX_CLIENT_ID} characters)")
    return client_id


def language_of(data: dict[str, Any]) -> str:
    language = data.get("language") or "fi"
    if language not in LANGUAGES:
        raise Refusal("language_unknown", f"language must be one of {', '.join(LANGUAGES)}")
    return str(language)


def start_of(data: Any, topics: frozenset[int]) -> Start:
    if not isinstance(data, dict):
        raise Refusal("bad_request", "start takes {language, text, postal_code?, "
                      "no_fixed_address?, topic?, name?, email?, client_id?}")
    storable(data)
    language = language_of(data)
    client_id = client_id_of(data, required=False)
    no_address = data.get("no_fixed_address") is True
    postal = data.get("postal_code")
    if no_address:
        postal = None
    elif postal is None or postal == "":
        raise Refusal("postal_code_required", "give postal_code (five digits) or "
                      "no_fixed_address: true")
    elif not isinstance(postal, str) or not POSTAL.match(postal.strip()):
        raise Refusal("postal_code_invalid", "postal_code must be five digits, e.g. 00940")
    topic = data.get("topic")
    if isinstance(topic, str) and topic.isdigit():
        topic = int(topic)
    if topic is not None and (isinstance(topic, bool) or not isinstance(topic, int)
                              or topic not in topics):
        raise Refusal("topic_unknown", f"topic must be one of {sorted(topics)}")
    name = data.get("name")
    if name is not None and (not isinstance(name, str) or len(name) > MAX_NAME):
        raise Refusal("name_too_long", f"name must be text of at most {MAX_NAME} characters")
    email = data.get("email")
    if email is not None and email != "":
        email = normalise_email(email) if isinstance(email, str) and len(email) <= 254 else None
        if email is None:
            raise Refusal("email_invalid", "email must be an address like name@example.fi")
    text = text_of(data)
    return Start(language, text, postal.strip() if isinstance(postal, str) else None,
                 no_address, topic, (name or "").strip() or None, email or None, client_id)
