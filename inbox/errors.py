"""Domain errors that every edge turns into a clear answer (HTTP problem, ack error, SMTP code)."""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class Problem(Exception):
    """A request we refuse, with an HTTP-like status and words a person can act on."""

    def __init__(self, status: int, title: str, detail: str = "", type_: str = "about:blank"):
        super().__init__(f"{status} {title}: {detail}")
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_


def bad_request(detail: str, title: str = "Invalid input") -> Problem:
    return Problem(400, title, detail)


def not_found(what: str) -> Problem:
    return Problem(404, "Not found", f"{what} does not exist or is not yours to see")


def forbidden(detail: str) -> Problem:
    return Problem(403, "Forbidden", detail)


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
