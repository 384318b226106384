"""The `yhteys` command: serve, worker, migrate, staff (add, list, disable, enable, role,
reset-2fa, phone), token (create, list, revoke), demo, audit."""

from __future__ import annotations

import argparse
import asyncio
import logging
import secrets
import sys

from config.settings import Settings
from config.system import System, build_system
from inbox import retention
from inbox.accounts import create_token, list_tokens, revoke_token
from inbox.audit import LOGS, seal, verify
from inbox.errors import Problem
from inbox.roles import ROLES
from inbox.staff import (
    add_staff,
    list_staff,
    mark_demo,
    set_desk_phone,
    set_disabled,
    set_password,
    set_role,
    staff_id_of,
)
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
    staff.add_parser("list", help="every account: role, areas, second factor, disabled")
    for action, text in (("disable", "disable an account: its sessions and tokens stop now"),
                         ("enable", "enable a disabled account again"),
                         ("reset-2fa", "reset the second factor: the next login enrols")):
        staff.add_parser(action, help=text).add_argument("email")
    role = staff.add_parser("role", help="change an account's role")
    role.add_argument("email")
    role.add_argument("role", choices=ROLES)
    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="action",
                                                                      required=True)
    create = token.add_parser("create", help="print a new bearer token (shown only now)")
    create.add_argument("email")
    create.add_argument("--name", default="", help="what uses it")
    create.add_argument("--days", type=int, default=None,
                        help="days until it expires (default YHTEYS_TOKEN_DAYS, 90)")
    token.add_parser("list", help="a staff member's tokens").add_argument("email")
    token.add_parser("revoke", help="revoke a token by its id").add_argument("id", type=int)
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
    retention = sub.add_parser("retention", help="what is kept no longer than it must")
    retention.add_subparsers(dest="action", required=True).add_parser(
        "run", help="drop old raw mail, remove expired portal links, list residents due")
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
    if args.command == "demo" and not settings.database_url.startswith("sqlite"):
        print("yhteys: demo accounts log in without a second factor, so `yhteys demo` runs "
              "only on the embedded default database (SQLite), never on a shared one",
              file=sys.stderr)
        return 2
    system = build_system(settings)
    system.prepare_database()
    try:
        if args.command == "staff" and args.action == "phone":
            number = normalise_phone(args.number) if args.number else None
            staff = system.store.run(set_desk_phone, args.email, number, args.extension)
            print(f"{staff.email}: desk phone {staff.phone or '-'}, "
                  f"extension {staff.extension or '-'}")
        elif args.command == "staff" and args.action != "add":
            _staff(system, args)
        elif args.command == "staff":
            password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
            staff = system.store.run(add_staff, args.email, args.name, args.area, args.role,
                                     password, args.language)
            print(f"added {staff.email} ({staff.role}; areas: {', '.join(args.area) or '-'})")
        elif args.command == "token":
            _token(system, settings, args)
        elif args.command == "demo":
            _demo(system)
            if args.year:
                from config.demo_year import fill_year

                made = asyncio.run(fill_year(settings, args.contacts, args.seed))
                print(f"a year of demo data: {made} contacts, worked as counsellors would")
        elif args.command == "audit":
            return _audit(system, args.action)
        elif args.command == "retention":
            _retention(system)
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


def _staff(system: System, args: argparse.Namespace) -> None:
    """staff list | disable | enable | role | reset-2fa."""
    from inbox.totp import reset_second_factor

    if args.action == "list":
        for row in system.store.run(list_staff):
            state = "disabled" if row["disabled"] else "active"
            print(f"{row['email']:40} {row['role']:10} 2fa:{row['second_factor']:4} {state:8} "
                  f"{','.join(row['areas']) or '-'}")
    elif args.action in ("disable", "enable"):
        staff = system.store.run(set_disabled, args.email, args.action == "disable")
        print(f"{staff.email}: {args.action}d")
    elif args.action == "role":
        staff = system.store.run(set_role, args.email, args.role)
        print(f"{staff.email}: role {staff.role}")
    else:
        system.store.run(reset_second_factor, system.store.run(staff_id_of, args.email))
        print(f"{args.email}: second factor reset; the next login enrols a new one")


def _token(system: System, settings: Settings, args: argparse.Namespace) -> None:
    """token create | list | revoke."""
    if args.action == "create":
        days = args.days if args.days is not None else settings.token_days
        print(system.store.run(create_token, args.email, args.name, days))
    elif args.action == "list":
        for t in system.store.run(list_tokens, args.email):
            used = t["last_used_at"].isoformat(timespec="minutes") if t["last_used_at"] else "-"
            expires = t["expires_at"].isoformat(timespec="minutes") if t["expires_at"] else "-"
            print(f"{t['id']:6} {t['name'] or '-':30} {t['state']:8} "
                  f"created {t['created_at'].isoformat(timespec='minutes')}  "
                  f"expires {expires}  last used {used}")
    else:
        system.store.run(revoke_token, args.id)
        print(f"token {args.id} revoked")


def _retention(system: System) -> None:
    done = system.store.run(retention.run, system.clock.now(), system.settings.retention_rules)
    print(f"raw mails' bytes dropped: {done['raw_purged']}, expired portal links removed: "
          f"{done['links_removed']}, residents whose retention ended: {done['residents_due']}"
          + (f" ({', '.join(map(str, done['residents_due_ids']))})"
             if done['residents_due_ids'] else ""))


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
        system.store.run(mark_demo, email)  # these, and only these, skip the second factor
        print(f"  {email:40} {password}")


if __name__ == "__main__":
    sys.exit(main())
