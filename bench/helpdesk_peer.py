"""The peer on our e-mail corpus: django-helpdesk 2.6.1 ingesting a local mail directory.

    .venv/bin/python bench/helpdesk_peer.py [--mails 500] [--replies 150]
        [--workdir DIR] [--timeout 600] [--sorted] [--json]

`run_peer(mails, workdir)` is what bench/email_path.py calls beside our own service. Under
`workdir` (default /tmp/yhteys-bench-helpdesk) it keeps a throwaway venv made with this
interpreter and `pip install django-helpdesk==2.6.1` (pip picks Django; reused while it
holds 2.6.1), and writes a fresh minimal Django project per run: the apps of helpdesk's
docs/install.rst, SQLite with Django's defaults, teams mode off (else pinax-teams is
needed), DEBUG off, and the locmem e-mail backend, so the notification helpdesk sends to
each submitter is built in full but kept in memory. After `migrate` (not timed) one queue
"Asumisneuvonta" polls a local directory (email_box_type "local", check interval 0).

The corpus goes into that directory as .eml files; the clock is the wall time of
`manage.py get_email` from spawn to exit, interpreter and Django start-up included; the
median of 3 runs on an empty directory is the start-up, reported subtracted as the net
rate. CPU is the children's rusage. One get_email reads the whole directory and deletes
each file it made a ticket or follow-up of; if files remain it runs again (at most 5
rounds). Then the peer's database says how many replies landed on their first mail's
ticket. Helpdesk takes the directory in os.listdir order, which on ext4 is hash order,
not arrival: `out_of_order` counts the replies listed before their first mail. --sorted
(a diagnostic) patches os.listdir to sorted in the get_email process.

No network while timed: a local mailbox, mail kept in memory. Bounded: every subprocess has
a timeout; a failure raises with the tail of its stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from email_corpus import corpus, threads, write  # bench/ is on sys.path as a script

VERSION = "2.6.1"
WORKDIR = Path(tempfile.gettempdir()) / "yhteys-bench-helpdesk"
ROUNDS = 5  # get_email runs at most, should files be left over

SETTINGS = '''"""A minimal django-helpdesk installation, written by bench/helpdesk_peer.py."""
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = "bench-only-throwaway"
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
SITE_ID = 1
INSTALLED_APPS = [
    "django.contrib.admin", "django.contrib.auth", "django.contrib.contenttypes",
    "django.contrib.sessions", "django.contrib.messages", "django.contrib.staticfiles",
    "django.contrib.sites", "django.contrib.humanize", "rest_framework",
    "django_cleanup.apps.CleanupConfig", "helpdesk",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates", "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}}
USE_TZ = True
TIME_ZONE = "Europe/Helsinki"
STATIC_URL = "static/"
MEDIA_ROOT = BASE_DIR / "media"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "asumisneuvonta@yhteys.test"
HELPDESK_TEAMS_MODE_ENABLED = False
'''
URLS = """from django.contrib import admin
from django.urls import include, path

urlpatterns = [path("admin/", admin.site.urls), path("helpdesk/", include("helpdesk.urls"))]
"""
MANAGE = """import os
import sys

from django.core.management import execute_from_command_line

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
execute_from_command_line(sys.argv)
"""
QUEUE = """from helpdesk.models import Queue
Queue.objects.create(title="Asumisneuvonta", slug="asum", email_address="{address}",
    allow_email_submission=True, email_box_type="local", email_box_local_dir="{folder}",
    email_box_interval=0)
"""
SORTED_GET_EMAIL = """import os
import django
from django.core.management import call_command

listdir = os.listdir
os.listdir = lambda path=".": sorted(listdir(path))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "settings")
django.setup()
call_command("get_email")
"""


def _run(cmd: list[str], cwd: Path, timeout: float) -> str:
    """One bounded subprocess; a failure says which and why (its stderr's tail)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    try:
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else e.stderr
        raise RuntimeError(f"{cmd[1:4]} timed out after {timeout} s: {(err or '')[-2000:]}") from e
    if done.returncode:
        raise RuntimeError(f"{cmd[1:4]} exited {done.returncode} in {cwd}:\n"
                           f"{(done.stderr or done.stdout)[-2000:]}")
    return done.stdout


def peer_venv(workdir: Path, timeout: float) -> tuple[Path, dict[str, str]]:
    """The venv's python and what is installed in it, building it only when needed."""
    python = workdir / "venv" / "bin" / "python"
    probe = [str(python), "-c", "import importlib.metadata as m, json; print(json.dumps("
             "{d.metadata['Name'].lower(): d.version for d in m.distributions()}))"]
    if python.exists():
        installed = json.loads(_run(probe, workdir, timeout))
        if installed.get("django-helpdesk") == VERSION:
            return python, installed
    shutil.rmtree(workdir / "venv", ignore_errors=True)
    workdir.mkdir(parents=True, exist_ok=True)
    _run([sys.executable, "-m", "venv", str(workdir / "venv")], workdir, timeout)
    _run([str(python), "-m", "pip", "install", "-q", f"django-helpdesk=={VERSION}"],
         workdir, timeout)
    return python, json.loads(_run(probe, workdir, timeout))


def _timed(cmd: list[str], cwd: Path, timeout: float) -> tuple[float, float]:
    """Wall and CPU seconds of one child, from spawn to exit."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    _run(cmd, cwd, timeout)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime


def _out_of_order(paths: list[Path], mails: list[bytes], folder: Path) -> int:
    """Replies that the directory listing puts before the first mail they answer."""
    file_of = {BytesHeaderParser().parsebytes(raw)["Message-ID"]: path.name
               for path, raw in zip(paths, mails, strict=True)}
    position = {name: i for i, name in enumerate(os.listdir(folder))}
    return sum(position[file_of[reply]] < position[file_of[first]]
               for reply, first in threads(mails).items())


def _database(path: Path, mails: list[bytes]) -> dict[str, Any]:
    """What the peer stored, read back from its SQLite file."""
    with sqlite3.connect(path) as db:
        ticket_of = dict(db.execute("SELECT message_id, ticket_id FROM helpdesk_followup"))
        recipients = [json.loads(r or "[]") for (r,) in
                      db.execute("SELECT email_recipients FROM helpdesk_followup")]
        tickets = db.execute("SELECT count(*) FROM helpdesk_ticket").fetchone()[0]
        journal = db.execute("PRAGMA journal_mode").fetchone()[0]
    replies = threads(mails)
    threaded = sum(reply in ticket_of and ticket_of[reply] == ticket_of.get(first)
                   for reply, first in replies.items())
    return {"tickets": tickets, "followups": len(ticket_of), "threaded": threaded,
            "replies": len(replies), "notifications": sum(map(len, recipients)),
            "database": f"sqlite (journal_mode={journal})"}


def run_peer(mails: list[bytes], workdir: Path = WORKDIR, timeout: float = 600,
             in_order: bool = False) -> dict[str, Any]:
    """django-helpdesk's get_email on these mails, timed, and how it threaded them."""
    python, installed = peer_venv(workdir, timeout)
    project = Path(tempfile.mkdtemp(prefix="project-", dir=workdir))
    maildir = project / "mail"
    maildir.mkdir()
    for name, text in (("settings.py", SETTINGS), ("urls.py", URLS), ("manage.py", MANAGE)):
        (project / name).write_text(text)
    manage = [str(python), "manage.py"]
    _run([*manage, "migrate", "--noinput"], project, timeout)
    _run([*manage, "shell", "-c", QUEUE.format(address="asumisneuvonta@yhteys.test",
                                                folder=maildir)], project, timeout)
    get_email = [str(python), "-c", SORTED_GET_EMAIL] if in_order else [*manage, "get_email"]
    startup = statistics.median(_timed(get_email, project, timeout)[0] for _ in range(3))
    paths = write(mails, maildir)
    out_of_order = 0 if in_order else _out_of_order(paths, mails, maildir)
    seconds = cpu = 0.0
    rounds, left = 0, len(mails)
    while left and rounds < ROUNDS:
        wall, used = _timed(get_email, project, timeout)
        seconds, cpu, rounds = seconds + wall, cpu + used, rounds + 1
        before, left = left, len(os.listdir(maildir))
        if left == before:
            break  # no progress: what is left stays left
    done = len(mails) - left
    result = {"system": f"django-helpdesk {installed['django-helpdesk']}",
              "django": installed["django"], "mails": len(mails), "processed": done,
              "left": left, "rounds": rounds, "order": "sorted" if in_order else "listdir",
              "out_of_order": out_of_order, "seconds": round(seconds, 3),
              "startup_s": round(startup, 3), "mails_per_s": round(done / seconds, 1),
              "mails_per_s_net": round(done / max(seconds - rounds * startup, 1e-9), 1),
              "cpu_s": round(cpu, 3), "mails_per_cpu_s": round(done / cpu, 1),
              **_database(project / "db.sqlite3", mails),
              "email_backend": "locmem", "installed": installed}
    shutil.rmtree(project)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mails", type=int, default=500)
    parser.add_argument("--replies", type=int, default=150)
    parser.add_argument("--workdir", type=Path, default=WORKDIR)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--sorted", action="store_true", help="diagnostic: sorted listing")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = run_peer(corpus(args.mails, args.replies), args.workdir, args.timeout,
                      in_order=args.sorted)
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"{result['system']} (Django {result['django']}, {result['database']}): "
          f"{result['processed']}/{result['mails']} mails in {result['seconds']} s over "
          f"{result['rounds']} get_email run(s), start-up {result['startup_s']} s")
    print(f"  {result['mails_per_s']} mails/s gross, {result['mails_per_s_net']} net of "
          f"start-up, {result['mails_per_cpu_s']} per CPU-second ({result['cpu_s']} CPU s)")
    print(f"  tickets {result['tickets']}, follow-ups {result['followups']}, threaded "
          f"{result['threaded']}/{result['replies']} ({result['out_of_order']} replies "
          f"listed before their first mail), notifications {result['notifications']}")


if __name__ == "__main__":
    main()
