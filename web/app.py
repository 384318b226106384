"""Builds the aiohttp application from the parts config hands in."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp_jinja2
import jinja2
from aiohttp import web

from inbox.accounts import AccountRules
from inbox.callbacks import QueueRules
from inbox.hours import OpeningHours, ServiceHours
from inbox.outbound import Outbound
from inbox.ports import JobQueue
from inbox.store import Store
from inbox.taxonomy import CaseVocabulary
from router.pipeline import Router
from web.account_pages import AccountPages, accounts_openapi
from web.admin_pages import AdminPages, admin_openapi
from web.api import ContactsApi
from web.audit_api import AuditApi, audit_openapi
from web.audit_page import AuditPage
from web.auth import auth_middleware
from web.callback_page import CallbackPage
from web.case_pages import CasePages
from web.cases_api import CasesApi, cases_openapi
from web.forwarded import forwarded_middleware
from web.health import Check, Health
from web.i18n import Catalogs
from web.inbox_page import InboxPage
from web.letters import Letters, letters_openapi
from web.openapi import document
from web.pages import CATALOGS, Pages
from web.phone_pages import PhonePages
from web.problems import problems, security_headers
from web.refusals import refusals_middleware
from web.report_words import ReportWords
from web.reports_api import ReportsApi, reports_openapi
from web.reports_page import ReportsPage
from web.rights_api import RightsApi, rights_openapi
from web.routing_text import RoutingText
from web.secure import SecurePortal
from web.session import SessionRoutes
from web.template_pages import TemplatePages
from web.templates_api import TemplatesApi, opening_hours_text, templates_openapi
from web.widget import WidgetPages

HERE = Path(__file__).parent

FRONT_END = {"hds": "hds-core/lib", "sio": "socket.io-client/dist"}  # /vendor/<key>/: npm's


@dataclass
class WebConfig:
    store: Store
    outbound: Outbound
    allowed_origins: tuple[str, ...]
    cookie_secure: bool
    allow_login: Callable[[str], bool]
    node_modules: Path
    labels: dict[str, dict[int, str]]
    trusted_proxies: frozenset[str] = frozenset()
    catalogs: Catalogs = field(default_factory=Catalogs.load)
    widget_origins: tuple[str, ...] = ()
    privacy_url: str = ""
    portal: SecurePortal | None = None
    jobs: JobQueue | None = None
    extra_routes: list[web.RouteDef] = field(default_factory=list)
    extra_openapi: dict[str, Any] = field(default_factory=dict)
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    callback_rules: QueueRules = field(default_factory=QueueRules)
    case_vocabulary: CaseVocabulary = field(default_factory=CaseVocabulary)
    hours: ServiceHours | None = None  # for templates' {opening_hours}
    router: Router | None = None  # "log a call" routes the call it logs
    accounts: AccountRules = field(default_factory=AccountRules)  # sessions, tokens, throttle
    retention_years: int = 10  # erasure waits this long after a resident's last case closed
    health_checks: dict[str, Check] = field(default_factory=dict)  # beside the database's


def build_app(cfg: WebConfig) -> web.Application:
    health = Health(cfg.store, cfg.jobs, cfg.health_checks)
    app = web.Application(
        middlewares=[health.middleware, forwarded_middleware(cfg.trusted_proxies),
                     security_headers, problems,
                     auth_middleware(cfg.store, cfg.allowed_origins, cfg.accounts),
                     refusals_middleware(cfg.store)],
        client_max_size=1024 * 1024,
    )
    env = aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"),
                               autoescape=True, extensions=["jinja2.ext.i18n"])
    env.install_gettext_callables(  # type: ignore[attr-defined]
        lambda m: m, lambda s, p, n: s if n == 1 else p, newstyle=True)  # pages pass their own
    env.globals["labels"] = cfg.labels
    app[CATALOGS] = cfg.catalogs
    openapi = document({**cfg.extra_openapi, **cases_openapi(), **templates_openapi(),
                        **letters_openapi(), **reports_openapi(), **audit_openapi(),
                        **rights_openapi(), **accounts_openapi(),
                        **admin_openapi()})

    async def openapi_json(request: web.Request) -> web.Response:
        return web.json_response(openapi)

    app.add_routes([*health.routes(), web.get("/api/v1/openapi.json", openapi_json)])
    app.add_routes(ContactsApi(cfg.store, cfg.outbound, RoutingText(cfg.catalogs),
                               cfg.jobs).routes())
    app.add_routes(SessionRoutes(cfg.store, cfg.cookie_secure, cfg.allow_login,
                                 cfg.accounts).routes())
    app.add_routes(AccountPages(cfg.store, cfg.accounts).routes())
    app.add_routes(AdminPages(cfg.store).routes())
    app.add_routes(cfg.extra_routes)
    app.add_routes(CasesApi(cfg.store, cfg.clock, cfg.labels.get("steps", {}),
                            cfg.case_vocabulary).routes())
    letters = Letters(cfg.store, cfg.catalogs, cfg.clock)
    app.add_routes(letters.routes())
    app.add_routes(CasePages(cfg.store, cfg.clock, cfg.labels.get("steps", {}),
                             RoutingText(cfg.catalogs), letters, cfg.case_vocabulary).routes())
    hours_text = opening_hours_text(cfg.hours or ServiceHours(OpeningHours({})))
    app.add_routes(TemplatesApi(cfg.store, cfg.clock, hours_text).routes())
    if cfg.portal is not None:
        app.add_routes(cfg.portal.routes())
    reports = ReportsApi(cfg.store, ReportWords(cfg.catalogs, cfg.labels, cfg.case_vocabulary),
                         cfg.clock)
    app.add_routes(reports.routes())
    app.add_routes(ReportsPage(reports).routes())
    app.add_routes(AuditApi(cfg.store, cfg.catalogs, cfg.clock).routes())
    app.add_routes(RightsApi(cfg.store, cfg.catalogs, cfg.clock, cfg.retention_years).routes())
    app.add_routes(AuditPage(cfg.store, cfg.clock).routes())
    app.add_routes(InboxPage(cfg.store, RoutingText(cfg.catalogs), cfg.clock).routes())
    app.add_routes(Pages(cfg.store, cfg.outbound, RoutingText(cfg.catalogs), cfg.clock,
                         hours_text, cfg.case_vocabulary).routes())
    app.add_routes(TemplatePages(cfg.store, cfg.clock).routes())
    app.add_routes(PhonePages(cfg.store, cfg.router, cfg.clock, cfg.callback_rules).routes())
    app.add_routes(WidgetPages(cfg.catalogs, cfg.widget_origins, cfg.privacy_url).routes())
    app.add_routes(CallbackPage(cfg.catalogs, cfg.privacy_url).routes())
    app.router.add_static("/static/", HERE / "static")
    for name, folder in FRONT_END.items():
        app.router.add_static(f"/vendor/{name}/", cfg.node_modules / folder)
    return app
