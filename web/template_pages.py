"""The reply templates page /templates: leads and administrators keep the templates per
language (create, edit, delete); counsellors see them and use them on the contact page.

Plain HTML forms with the session's CSRF token, answered by a redirect back to the page
that says what was done; on bad input the page again with what was typed kept and the
reason at its field. The rules (who may, which placeholders) are inbox.templates'; a
counsellor's post is refused there and answered here with a 403 page in words.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from aiohttp import web

from inbox.access import Principal
from inbox.errors import Problem
from inbox.store import Store
from inbox.templates import LANGUAGES, PLACEHOLDERS, delete_template, save_template, templates
from web.api import path_id
from web.auth import require_staff
from web.case_words import N_
from web.contact_forms import ENDONYMS, UNSTORABLE, ContactForm, posted_form, storable
from web.pages import render_page

FIELDS = ("name", "language", "text")
REFUSALS = {
    "name": N_("Give the template a name of at most 100 characters."),
    "language": N_("Choose the language of the template."),
    "text": N_("Write the template's text (at most 10000 characters)."),
    "template.unknown_placeholder": N_("The text has a placeholder the service does not "
                                       "know. Use only {first_name}, {counsellor} and "
                                       "{opening_hours}."),
    "template.broken": N_("A brace is not closed. Write a placeholder as {first_name}; the "
                          "text cannot hold other braces."),
}
EXISTS = N_("There is already a template with this name in this language. Choose another "
            "name.")
LEADS_ONLY = N_("Only leads and administrators can change reply templates.")
DONE = {"created": N_("The template is added."), "saved": N_("The template is saved."),
        "deleted": N_("The template is deleted.")}


def may_keep(who: Principal) -> bool:
    """Only to decide what the page offers; inbox.templates refuses everyone else's posts."""
    return who.can("lead")


@dataclass
class TemplatePages:
    store: Store
    clock: Callable[[], datetime]

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/templates", self.show),
                web.post("/templates", self.create),
                web.post("/templates/{id}", self.update),
                web.post("/templates/{id}/delete", self.delete)]

    async def show(self, request: web.Request) -> web.Response:
        done = request.query.get("done", "")
        return await self._page(request, ContactForm(), notice=DONE.get(done, ""))

    async def _page(self, request: web.Request, form: ContactForm, status: int = 200,
                    notice: str = "", refused: str = "") -> web.Response:
        who = require_staff(request)
        items = await self.store.call(templates)
        by_language = [(lang, ENDONYMS[lang], [t for t in items if t["language"] == lang])
                       for lang in LANGUAGES]
        response = render_page(request, "templates_admin.html", who, form=form,
                               by_language=by_language, endonyms=ENDONYMS,
                               may_keep=may_keep(who), notice=notice, refused=refused,
                               placeholders=["{" + p + "}" for p in PLACEHOLDERS],
                               nav="templates")
        response.set_status(status)
        return response

    def _back(self, request: web.Request, done: str, anchor: str = "") -> str:
        lang = request.query.get("lang", "")
        query = {**({"lang": lang} if lang in LANGUAGES else {}), "done": done}
        return f"/templates?{urlencode(query)}{anchor}"

    async def create(self, request: web.Request) -> web.Response:
        return await self._save(request, None)

    async def update(self, request: web.Request) -> web.Response:
        return await self._save(request, path_id(request))

    async def _save(self, request: web.Request, template_id: int | None) -> web.Response:
        who = require_staff(request)
        form = posted_form(f"t{template_id}" if template_id else "new", await request.post(),
                           FIELDS)
        bad = [f for f, v in form.values.items() if not storable(v)]
        if bad:
            form.refuse(bad[0], UNSTORABLE)
            return await self._page(request, form, 400)
        try:
            saved = await self.store.call(save_template, who, template_id, form.values["name"],
                                          form.values["language"], form.values["text"],
                                          self.clock())
        except Problem as problem:
            return await self._refusal(request, form, problem)
        raise web.HTTPSeeOther(self._back(request, "saved" if template_id else "created",
                                          f"#template-{saved.id}"))

    async def delete(self, request: web.Request) -> web.Response:
        who = require_staff(request)
        try:
            await self.store.call(delete_template, who, path_id(request))
        except Problem as problem:
            return await self._refusal(request, ContactForm(), problem)
        raise web.HTTPSeeOther(self._back(request, "deleted"))

    async def _refusal(self, request: web.Request, form: ContactForm, problem: Problem
                       ) -> web.Response:
        if problem.status == 403:
            return await self._page(request, ContactForm(), 403, refused=LEADS_ONLY)
        if problem.status == 404:
            raise problem
        if problem.status == 409:
            form.refuse("name", EXISTS)
        else:
            where = problem.field if problem.field in FIELDS else "text"
            form.refuse(where, REFUSALS.get(problem.code or "", REFUSALS[where]))
        return await self._page(request, form, problem.status)

