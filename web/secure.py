"""The secure-message portal's pages: /s/{token} (identify, read, answer) and /secure/new.

Residents have no account: a link mailed to them, then a one-time code in a second mail
(`inbox.secure.EmailCode`), then a signed cookie for this link only (HttpOnly, SameSite
Strict, 30 minutes). Writes check the Origin; uploads are read part by part with the
service's attachment limits, and judged by the mail's rule (`inbox.attachments.judge`):
the type sniffed from the bytes, not taken from the name, nothing the mail would hold.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import aiohttp_jinja2
from aiohttp import BodyPartReader, web
from sqlalchemy.orm import Session

from inbox.attachments import Limits, judge
from inbox.errors import Problem, require_storable
from inbox.inbound import Inbound, InboundAttachment
from inbox.ports import JobQueue
from inbox.secure import (
    EmailCode,
    LinkState,
    compose_link,
    link_state,
    locked_link,
    mark_replied,
    open_conversation,
)
from inbox.store import Store
from router.identify import normalise_email
from router.pipeline import Router
from web.attachment_text import megabytes
from web.i18n import Catalogs, language

MAX_FILES = 10
SESSION = timedelta(minutes=30)
ACCEPT = (".pdf,.png,.jpg,.jpeg,.gif,.tif,.tiff,.webp,.heic,.txt,.doc,.xls,.ppt,.docx,.xlsx,"
          ".pptx,.odt,.ods,.odp")
# What a resident may send, as `judge` sniffs it: documents and pictures, never archives,
# programs or web pages; office files only without macros (judge holds those).
ACCEPTED_TYPES = frozenset({
    "application/pdf", "image/png", "image/jpeg", "image/gif", "image/tiff", "image/webp",
    "image/heic", "text/plain", "application/msword", "application/vnd.ms-excel",
    "application/vnd.ms-powerpoint",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation",
})


def accepted_type(name: str, data: bytes) -> str | None:
    """The sniffed content type when the portal takes the file: one of ACCEPTED_TYPES and
    nothing the mail's rule would quarantine (a program named .pdf, a macro document)."""
    verdict = judge(name, data)
    if verdict.quarantine is not None or verdict.content_type not in ACCEPTED_TYPES:
        return None
    return verdict.content_type


def mask(email: str) -> str:
    user, _, domain = email.partition("@")
    return f"{user[:1]}***@{domain}"


@dataclass
class SecurePortal:
    store: Store
    router: Router
    jobs: JobQueue
    key: bytes
    clock: Callable[[], datetime]
    catalogs: Catalogs
    cookie_secure: bool
    privacy_url: str
    allow_code: Callable[[str], bool]  # code mails per link
    allow_new: Callable[[str], bool]  # compose links per client address
    limits: Limits = field(default_factory=Limits)  # Settings' attachment limits, as mail

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/s/{token}", self.show), web.post("/s/{token}/code", self.send_code),
                web.post("/s/{token}/verify", self.verify),
                web.post("/s/{token}/send", self.receive),
                web.get("/secure/new", self.new), web.post("/secure/new", self.new_link)]

    # --- pages --------------------------------------------------------------------------
    def _render(self, request: web.Request, lang: str, status: int = 200,
                **context: Any) -> web.Response:
        response = aiohttp_jinja2.render_template(
            "secure.html", request, {**self.catalogs.for_language(lang),
                                     "privacy_url": self.privacy_url, "accept": ACCEPT,
                                     "file_mb": megabytes(self.limits.file, lang),
                                     "total_mb": megabytes(self.limits.message, lang),
                                     **context})
        response.set_status(status)
        return response

    async def _state(self, request: web.Request) -> tuple[LinkState, str, str]:
        token = request.match_info["token"]
        if not (token.isascii() and token.isalnum() and len(token) <= 100):
            raise Problem(404, "Not found", "no such link")
        state = await self.store.call(link_state, token, self.clock())
        if state is None:
            raise Problem(404, "Not found", "no such link")
        return state, token, language(request.query.get("lang"), state.language)

    async def show(self, request: web.Request, notice: str | None = None,
                   error: str | None = None, status: int = 200) -> web.Response:
        state, token, lang = await self._state(request)
        t = self.catalogs.for_language(lang)["_"]
        if state.expired:
            return self._render(request, lang, 410, state="expired")
        if state.locked_until:
            return self._render(request, lang, 423, state="locked")
        if not self._identified(request, state.id):
            return self._render(request, lang, status, state="identify", token=token,
                                masked_email=mask(state.email), notice=notice, error=error,
                                code_pending=state.code_pending)
        messages = await self.store.call(open_conversation, state.id, self.clock())
        if request.query.get("sent") == "1" and notice is None:
            notice = t("Sent. A counsellor will answer you; we let you know by email.")
        return self._render(request, lang, status, state="conversation", token=token,
                            messages=messages, kind=state.kind, notice=notice, error=error,
                            nonce=secrets.token_hex(8))

    async def send_code(self, request: web.Request) -> web.Response:
        self._same_origin(request)
        state, _token, lang = await self._state(request)
        t = self.catalogs.for_language(lang)["_"]
        if state.expired or state.locked_until:
            return await self.show(request)
        if not self.allow_code(f"link:{state.id}"):
            return await self.show(request, error=t(
                "We have sent several codes already. Wait a while and try again."), status=429)
        await self.store.call(lambda s: EmailCode(self.key).start(s, state.id, self.clock()))
        self.jobs.enqueue("email.portal", "code", state.id)
        return await self.show(request, notice=t("We sent a code to %(email)s.",
                                                 email=mask(state.email)))

    async def verify(self, request: web.Request) -> web.Response:
        self._same_origin(request)
        state, token, lang = await self._state(request)
        t = self.catalogs.for_language(lang)["_"]
        form = await request.post()
        code = str(form.get("code", "")).strip()
        ok = code.isascii() and code.isdigit() and await self.store.call(
            lambda s: EmailCode(self.key).verify(s, state.id, code, self.clock()))
        if not ok:
            return await self.show(request, status=400, error=t(
                "The code is wrong or has expired. Check it, or ask for a new code."))
        response = web.HTTPSeeOther(f"/s/{token}?lang={lang}")
        response.set_cookie(f"ys{state.id}", self._session_value(state.id), path="/s/",
                            httponly=True, samesite="Strict", secure=self.cookie_secure,
                            max_age=int(SESSION.total_seconds()))
        raise response

    async def receive(self, request: web.Request) -> web.Response:
        self._same_origin(request)
        state, token, lang = await self._state(request)
        t = self.catalogs.for_language(lang)["_"]
        if state.expired or state.locked_until or not self._identified(request, state.id):
            return await self.show(request)
        try:
            nonce, text, files = await self._read_upload(request, lang, t)
        except ValueError as exc:
            return await self.show(request, error=str(exc), status=400)
        await self.store.call(self._store_message, state.id, nonce, text, files)
        raise web.HTTPSeeOther(f"/s/{token}?lang={lang}&sent=1")

    async def new(self, request: web.Request) -> web.Response:
        lang = language(request.query.get("lang"))
        return self._render(request, lang, state="new")

    async def new_link(self, request: web.Request) -> web.Response:
        self._same_origin(request)
        lang = language(request.query.get("lang"))
        t = self.catalogs.for_language(lang)["_"]
        if not self.allow_new(request.remote or "?"):
            return self._render(request, lang, 429, state="new", error=t(
                "Too many links asked from here. Wait a while and try again."))
        form = await request.post()
        email = normalise_email(str(form.get("email", ""))[:254])
        if email is None:
            return self._render(request, lang, 400, state="new", error=t(
                "Give an email address such as name@example.fi."))
        link = await self.store.call(compose_link, self.key, email, lang, self.clock())
        self.jobs.enqueue("email.portal", "compose", link.id)
        return self._render(request, lang, state="new_sent", notice=t(
            "We sent a link to %(email)s. Open it to write your message.", email=email))

    # --- helpers ------------------------------------------------------------------------
    def _session_value(self, link_id: int) -> str:
        expires = int((self.clock() + SESSION).timestamp())
        mac = hmac.new(self.key, f"portal:{link_id}:{expires}".encode(), hashlib.sha256)
        return f"{expires}.{mac.hexdigest()}"

    def _identified(self, request: web.Request, link_id: int) -> bool:
        value = request.cookies.get(f"ys{link_id}", "")
        expires, _, mac = value.partition(".")
        if not expires.isdigit() or int(expires) < self.clock().timestamp():
            return False
        good = hmac.new(self.key, f"portal:{link_id}:{expires}".encode(), hashlib.sha256)
        return hmac.compare_digest(mac, good.hexdigest())

    @staticmethod
    def _same_origin(request: web.Request) -> None:
        origin = request.headers.get("Origin")
        if origin is not None and origin != f"{request.scheme}://{request.host}":
            raise Problem(403, "Forbidden", f"origin {origin} may not write here")

    async def _read_upload(self, request: web.Request, lang: str, t: Callable[..., str]
                           ) -> tuple[str, str, list[InboundAttachment]]:
        nonce, text, total = "", "", 0
        files: list[InboundAttachment] = []
        if request.content_type != "multipart/form-data":  # a form without files
            form = await request.post()
            nonce, text = str(form.get("nonce", ""))[:40], str(form.get("text", ""))
            return await self._checked(nonce, text, files, t)
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                continue
            if part.name in ("nonce", "text"):
                value = (await part.read(decode=True))[:100_000].decode("utf-8", "replace")
                nonce, text = (value[:40], text) if part.name == "nonce" else (nonce, value)
                continue
            if part.name != "files" or not part.filename:
                continue
            data = bytearray()
            while chunk := await part.read_chunk():
                data += chunk
                if len(data) > self.limits.file:
                    raise ValueError(t("A file is larger than %(mb)s MB.",
                                       mb=megabytes(self.limits.file, lang)))
            total += len(data)
            if total > self.limits.message or len(files) >= MAX_FILES:
                raise ValueError(t("The files are larger than %(mb)s MB together.",
                                   mb=megabytes(self.limits.message, lang)))
            kind = accepted_type(part.filename, bytes(data))
            if kind is None:
                raise ValueError(t("%(name)s is not a PDF, an image or an office document.",
                                   name=part.filename[:100]))
            files.append(InboundAttachment(part.filename[:255], kind, bytes(data)))
        return await self._checked(nonce, text, files, t)

    @staticmethod
    async def _checked(nonce: str, text: str, files: list[InboundAttachment],
                       t: Callable[..., str]) -> tuple[str, str, list[InboundAttachment]]:
        text = text.strip()
        try:
            require_storable(text)
        except Problem as exc:
            raise ValueError(t("Write your message.")) from exc
        if not text and not files:
            raise ValueError(t("Write your message."))
        return nonce or secrets.token_hex(8), text, files

    def _store_message(self, session: Session, link_id: int, nonce: str, text: str,
                       files: list[InboundAttachment]) -> None:
        """As an email contact with a verified sender: on its thread, or a new one."""
        link = locked_link(session, link_id)
        inbound = Inbound(
            channel="email", idempotency_key=f"secure:{link.id}:{nonce}", text=text,
            sender_email=link.email, language=link.language,
            subject=None if link.conversation_id else "Suojattu viesti",
            attachments=tuple(files), conversation_id=link.conversation_id,
            client_id=f"secure:{nonce}")
        recorded = self.router.route(session, inbound)
        mark_replied(session, link.id, self.clock(), recorded.contact_id,
                     recorded.conversation_id)
