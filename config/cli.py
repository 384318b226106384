"""The `yhteys` command: serve, worker, migrate, staff add, token create, demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import sys

from config.settings import Settings
from config.system import System, build_system
from inbox.audit import LOGS, seal, verify
from inbox.errors import Problem
from inbox.roles import ROLES
from inbox.staff import add_staff, create_token, set_desk_phone, set_password
from router.identify import InvalidPhone, normalise_phone


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="yhteys", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the service (HTTP, socket.io, SMTP)")
    worker = sub.add_parser("worker", help="run an rq worker (needs YHTEYS_REDIS_URL)")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    sub.add_parser("migrate", help="bring the database schema and reference data up to date")
    staff = sub.add_parser("staff", help="manage staff").add_subparsers(dest="action",
                                                                        required=True)
    add = staff.add_parser("add", help="add a staff member")
    add.add_argument("email")
    add.add_argument("--name", required=True)
    add.add_argument("--area", action="append", default=[], help="area code (repeatable)")
    add.add_argument("--role", default="counsellor", choices=ROLES)
    add.add_argument("--language", action="append", default=None)
    add.add_argument("--password-stdin", action="store_true")
    desk = staff.add_parser("phone", help="set a counsellor's desk phone (screen pop)")
    desk.add_argument("email")
    desk.add_argument("--number", help="E.164 or any Finnish way of writing it")
    desk.add_argument("--extension", help="the phone system's extension, digits")
    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="action",
                                                                      required=True)
    token.add_parser("create", help="print a new bearer token").add_argument("email")
    demo = sub.add_parser("demo", help="one demo counsellor per area; prints the logins")
    demo.add_argument("--year", action="store_true",
                      help="and fill the service with a seeded year of contacts and cases, "
                           "sent through the real channels")
    demo.add_argument("--contacts", type=int, default=400, help="how many (with --year)")
    demo.add_argument("--seed", type=int, default=2026, help="the same seed, the same year")
    audit = sub.add_parser("audit", help="the use log").add_subparsers(dest="action",
                                                                       required=True)
    audit.add_parser("seal", help="seal the settled use-log rows now")
    audit.add_parser("verify", help="check the use log's hash chain; exit 1 if broken")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # aiosmtpd logs every command, senders' addresses included: personal data stays out.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    # flufl.bounce logs a traceback whenever one of its many detectors trips over a mail
    # that is no bounce of its format; that is expected, not an error of ours.
    logging.getLogger("flufl.bounce").setLevel(logging.CRITICAL)
    settings = Settings.from_env()
    if args.command == "serve":
        from config.serve import serve_forever

        asyncio.run(serve_forever(settings))
        return 0
    if args.command == "worker":
        from config.worker import run_worker

        return run_worker(settings, burst=args.burst)
    system = build_system(settings)
    system.prepare_database()
    try:
        if args.command == "staff" and args.action == "phone":
            number = normalise_phone(args.number) if args.number else None
            staff = system.store.run(set_desk_phone, args.email, number, args.extension)
            print(f"{staff.email}: desk phone {staff.phone or '-'}, "
                  f"extension {staff.extension or '-'}")
        elif args.command == "staff":
            password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
            staff = system.store.run(add_staff, args.email, args.name, args.area, args.role,
                                     password, args.language)
            print(f"added {staff.email} ({staff.role}; areas: {', '.join(args.area) or '-'})")
        elif args.command == "token":
            print(system.store.run(create_token, args.email))
        elif args.command == "demo":
            _demo(system)
            if args.year:
                from config.demo_year import fill_year

                made = asyncio.run(fill_year(settings, args.contacts, args.seed))
                print(f"a year of demo data: {made} contacts, worked as counsellors would")
        elif args.command == "audit":
            return _audit(system, args.action)
    except Problem as p:
        print(f"yhteys: {p.title}: {p.detail}", file=sys.stderr)
        return 2
    except InvalidPhone as bad:
        print(f"yhteys: {bad}", file=sys.stderr)
        return 2
    return 0


def _audit(system: System, action: str) -> int:
    if action == "seal":
        print(f"sealed {system.store.run(seal, system.clock.now())} rows")
        return 0
    intact = True
    for log in LOGS:
        v = system.store.run(verify, log)
        intact = intact and v.intact
        print(f"{log} log: {v.seals} seals over {v.rows} rows, {v.unsealed} not yet sealed: "
              + ("intact" if v.intact else f"BROKEN at seal {v.broken_at}: {v.reason}"))
    return 0 if intact else 1


def _demo(system: System) -> None:
    """One counsellor per area and a lead; running it again gives them new passwords."""
    print("Demo logins (email / password):")
    people = [(f"{a.code}@demo.yhteys.localhost", f"Neuvoja {a.name}", [a.code], "counsellor")
              for a in system.reference.areas]
    people.append(("lead@demo.yhteys.localhost", "Tiiminvetäjä", [], "lead"))
    for email, name, areas, role in people:
        password = secrets.token_urlsafe(9)
        try:
            system.store.run(add_staff, email, name, areas, role, password, ["fi", "sv", "en"])
        except Problem:
            system.store.run(set_password, email, password)
        print(f"  {email:40} {password}")


if __name__ == "__main__":
    sys.exit(main())
