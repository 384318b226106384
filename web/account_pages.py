"""A staff member's own API tokens (/me/tokens: see, make, revoke) and the admin's reset of
someone's second factor (POST /api/v1/staff/{id}/second-factor/reset)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiohttp import web

from inbox.accounts import TOKEN_MAX_DAYS, AccountRules, create_token, revoke_token, token_rows
from inbox.hours import HELSINKI
from inbox.staff import change_account
from inbox.store import Store
from web.api import path_id
from web.auth import require_staff
from web.pages import render_page


def _when(moment: datetime | None) -> str:
    return moment.astimezone(HELSINKI).strftime("%Y-%m-%d %H:%M") if moment else ""


def _shown(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**row, **{k: _when(row[k]) for k in ("created_at", "expires_at",
                                                  "last_used_at")}} for row in rows]


@dataclass
class AccountPages:
    store: Store
    rules: AccountRules

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/me/tokens", self.tokens),
                web.post("/me/tokens", self.create),
                web.post("/me/tokens/{id}/revoke", self.revoke),
                web.post("/api/v1/staff/{id}/second-factor/reset", self.reset)]

    async def _page(self, request: web.Request, status: int = 200, made: str | None = None,
                    error: str | None = None) -> web.Response:
        who = require_staff(request)
        rows = await self.store.call(token_rows, who.staff_id)
        response = render_page(request, "tokens.html", who, tokens=_shown(rows), made=made,
                               error=error, days=self.rules.token_days)
        response.set_status(status)
        return response

    async def tokens(self, request: web.Request) -> web.Response:
        return await self._page(request)

    async def create(self, request: web.Request) -> web.Response:
        """The new token is in this answer only: only its digest is stored."""
        who = require_staff(request)
        form = await request.post()
        name = str(form.get("name", "")).strip()
        try:
            days = int(str(form.get("days", self.rules.token_days)))
        except ValueError:
            days = 0
        if not name or len(name) > 100:
            return await self._page(request, 400, error="name")
        if not 1 <= days <= TOKEN_MAX_DAYS:  # tokens.html says the same limit in words
            return await self._page(request, 400, error="days")
        token = await self.store.call(create_token, who.email, name, days)
        return await self._page(request, 201, made=token)

    async def revoke(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        try:
            token_id = int(request.match_info["id"])
        except ValueError as exc:
            raise web.HTTPNotFound() from exc
        await self.store.call(revoke_token, token_id, who.staff_id)  # not theirs: 404
        raise web.HTTPSeeOther("/me/tokens" + (f"?lang={request.query['lang']}"
                                               if request.query.get("lang") else ""))

    async def reset(self, request: web.Request) -> web.Response:
        """An admin resets a staff member's second factor: they enrol again at next login."""
        who = require_staff(request)
        staff_id = path_id(request)
        await self.store.call(change_account, who, staff_id, "reset")  # the admin page's rule
        return web.json_response({"id": staff_id, "second_factor": "reset"})


def accounts_openapi() -> dict[str, Any]:
    return {"/api/v1/staff/{id}/second-factor/reset": {"post": {
        "summary": "Reset a staff member's second factor (admins): the secret and recovery "
                   "codes go, their sessions end, and their next login enrols again",
        "parameters": [{"name": "id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "responses": {
            "200": {"description": "reset", "content": {"application/json": {"schema": {
                "type": "object", "properties": {"id": {"type": "integer"},
                                                 "second_factor": {"const": "reset"}}}}}},
            "400": {"description": "no such staff member"},
            "403": {"description": "not an admin"}}}}}
