"""Domain errors that every edge turns into a clear answer (HTTP problem, ack error, SMTP code)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class Problem(Exception):
    """A request we refuse, with an HTTP-like status and words a person can act on."""

    def __init__(self, status: int, title: str, detail: str = "", type_: str = "about:blank",
                 code: str | None = None, field: str | None = None):
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.code = code  # for a reader's sentence in their language (e.g. phone.too_short)
        self.field = field  # the input it is about


def bad_request(detail: str, title: str = "Invalid input", code: str | None = None,
                field: str | None = None) -> Problem:
    return Problem(400, title, detail, code=code, field=field)


def not_found(what: str) -> Problem:
    return Problem(404, "Not found", f"{what} does not exist or is not yours to see")


def unauthorized(detail: str = "Log in or send a bearer token") -> Problem:
    return Problem(401, "Authentication required", detail)


def require_storable(value: object) -> None:
    """400 for a NUL (PostgreSQL text refuses it) or a lone surrogate (not UTF-8) anywhere."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _UNSTORABLE.search(item):
                raise bad_request("text must not contain NUL characters or lone surrogates")
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


MAX_ID = 2**31 - 1  # ids are INTEGER columns (int4 on PostgreSQL)


def whole_id(raw: str, name: str = "id") -> int:
    """A row id from a URL: ASCII digits in range, or 400 (never a 500 from the database)."""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 10 and 0 < int(raw) <= MAX_ID):
        raise bad_request(f"{name} must be a whole number from 1 to {MAX_ID}")
    return int(raw)


async def json_object(load: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    """A request body that must be a JSON object of storable text (load: e.g. request.json)."""
    try:
        body = await load()
    except (ValueError, LookupError, RecursionError) as exc:  # bad JSON or charset; too deep
        raise bad_request("the body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise bad_request("the body must be a JSON object")
    require_storable(body)
    return body
