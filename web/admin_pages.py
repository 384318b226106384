"""/admin/staff: the admin's page of staff accounts (disable, enable, role, second-factor
reset), and the same changes for API clients (GET /api/v1/staff, POST
/api/v1/staff/{id}/disable | enable, PUT /api/v1/staff/{id}/role).

The changes are inbox/staff.py's and inbox/totp.py's, the ones `yhteys staff` calls. Two
things only the service adds: an admin may not lock themself out (the change is undone when
it would leave them disabled or without the admin role: an organisation must not lose its
last way in by one click), and each change is a use-log row naming whose account it was
(`admin.staff.disable:12`), so an auditor sees who changed whose account.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from inbox.access import Principal
from inbox.errors import Problem, bad_request
from inbox.roles import ROLES
from inbox.staff import accounts, admin_only, change_account
from inbox.store import Store
from web.api import path_id
from web.auth import require_staff
from web.case_words import N_
from web.pages import render_page
from web.ui_language import asked_language

CHANGES = ("disable", "enable", "role", "reset")
DONE = {
    "disable": N_("Account disabled: %(name)s. Their sessions and API tokens stopped at "
                  "once."),
    "enable": N_("Account enabled again: %(name)s."),
    "role": N_("New role for %(name)s: %(role)s."),
    "reset": N_("Second factor reset: %(name)s. At their next login they enrol a new one."),
}
REFUSED = {
    "staff.self_lockout": N_("You cannot disable your own account or take away your own "
                             "admin role: the organisation must not lock itself out. Ask "
                             "another admin."),
    "staff.role": N_("Choose one of the roles."),
}
ROLE_WORDS = {
    "counsellor": N_("Works the contacts and cases of their own areas and the city-wide "
                     "pool."),
    "lead": N_("Works every area, keeps the reply templates, sees failed callbacks and "
               "unparsed mail."),
    "admin": N_("What a lead may, and manages staff accounts and erases residents' data."),
    "auditor": N_("Reads the use and disclosure logs and no resident's record."),
}


@dataclass
class AdminPages:
    store: Store

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/admin/staff", self.page),
                *[web.post(f"/admin/staff/{{id}}/{path}", self._form(change))
                  for change, path in (("disable", "disable"), ("enable", "enable"),
                                       ("role", "role"), ("reset", "second-factor/reset"))],
                web.get("/api/v1/staff", self.api_list),
                web.post("/api/v1/staff/{id}/disable", self._api("disable")),
                web.post("/api/v1/staff/{id}/enable", self._api("enable")),
                web.put("/api/v1/staff/{id}/role", self._api("role"))]

    async def page(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        if not who.can("admin"):
            return self._denied(request, who)
        rows = await self.store.call(accounts, who)
        q = request.query
        about = next((row for row in rows if str(row["id"]) == q.get("staff")), None)
        return render_page(request, "admin_staff.html", who, nav="admin", accounts=rows,
                           roles=ROLES, role_words=ROLE_WORDS, about=about,
                           notice=DONE.get(q.get("done", "")) if about else None,
                           refused=REFUSED.get(q.get("refused", "")))

    def _denied(self, request: web.Request, who: Principal) -> web.Response:
        response = render_page(request, "admin_staff.html", who, nav="admin", denied=True)
        response.set_status(403)
        return response

    def _form(self, change: str) -> Any:
        async def handle(request: web.Request) -> web.Response:
            """A form's change, answered by a redirect back that says what happened."""
            who = require_staff(request)
            staff_id = path_id(request)
            role = str((await request.post()).get("role", "")) if change == "role" else ""
            try:
                await self.store.call(change_account, who, staff_id, change, role)
            except Problem as problem:
                if problem.status == 403:
                    return self._denied(request, who)
                code = problem.code or ("staff.role" if change == "role" else "")
                if code not in REFUSED:
                    raise
                raise web.HTTPSeeOther(_back(request, staff_id, refused=code)) from problem
            raise web.HTTPSeeOther(_back(request, staff_id, done=change))
        return handle

    async def api_list(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        return web.json_response({"items": await self.store.call(accounts, who)})

    def _api(self, change: str) -> Any:
        async def handle(request: web.Request) -> web.Response:
            who = require_staff(request)
            admin_only(who)  # before reading a body: a refusal says only that
            staff_id = path_id(request)
            role = ""
            if change == "role":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise bad_request("send JSON: {\"role\": …}") from exc
                given = body.get("role") if isinstance(body, dict) else None
                role = given if isinstance(given, str) else ""  # not a role: 400
            row = await self.store.call(change_account, who, staff_id, change, role)
            return web.json_response(row)
        return handle


def _back(request: web.Request, staff_id: int, **said: str) -> str:
    lang = asked_language(request)
    query = {**({"lang": lang} if lang else {}), **said, "staff": str(staff_id)}
    return f"/admin/staff?{urlencode(query)}#staff-{staff_id}"


_ID = [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_ACCOUNT = {"type": "object", "properties": {
    "id": {"type": "integer"}, "email": {"type": "string"}, "name": {"type": "string"},
    "role": {"enum": list(ROLES)}, "areas": {"type": "array", "items": {"type": "string"}},
    "second_factor": {"enum": ["yes", "no", "demo"]}, "enrolled": {"type": "boolean"},
    "demo": {"type": "boolean"}, "disabled": {"type": "boolean"}}}
_REFUSALS = {
    "400": {"description": "an unknown role, or the change would lock the admin out "
                           "(code staff.self_lockout)"},
    "403": {"description": "not an admin"},
    "404": {"description": "no such staff member"},
}


def _change(summary: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary, "parameters": _ID,
        "responses": {"200": {"description": "the account after the change", "content": {
            "application/json": {"schema": _ACCOUNT}}}, **_REFUSALS}}
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": body}}}
    return operation


def admin_openapi() -> dict[str, Any]:
    return {
        "/api/v1/staff": {"get": {
            "summary": "Every staff account and the state of its login (admins)",
            "responses": {"200": {"description": "the accounts", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "items": {"type": "array", "items": _ACCOUNT}}}}}},
                "403": {"description": "not an admin"}}}},
        "/api/v1/staff/{id}/disable": {"post": _change(
            "Disable an account (admins): its sessions end, its tokens and logins are "
            "refused; an admin cannot disable themself")},
        "/api/v1/staff/{id}/enable": {"post": _change("Enable a disabled account (admins)")},
        "/api/v1/staff/{id}/role": {"put": _change(
            "Change an account's role (admins); an admin cannot take away their own",
            {"type": "object", "required": ["role"],
             "properties": {"role": {"enum": list(ROLES)}}})},
    }
