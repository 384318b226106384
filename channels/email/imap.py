"""IMAP polling: mail that partners leave in a mailbox the service reads (secure-mail boxes).

What is new is decided by a checkpoint (`inbox/imap_state.py`), never by the `\\Seen` flag:
each round SELECTs the folder, compares its UIDVALIDITY with the stored one (a recreated
folder starts over), and fetches only UIDs above the last one stored, with `BODY.PEEK[]`.
Each message is stored raw with the same idempotency key as SMTP mail, and the checkpoint
advances in that same transaction, so a crash mid-round fetches again and never skips; a
message fetched twice is recognised by the raw store. Only then is it flagged `\\Seen`
(a courtesy to people reading the box; it decides nothing) and queued as `email.process`.

Between rounds the connection IDLEs when the server offers it (re-IDLE after
`idle_timeout`, RFC 2177 asks for less than 29 minutes), else it waits `interval`. A dead
connection or any error closes it and connects again with a growing delay.

All imapclient calls happen in one thread per mailbox, which owns the connection; the
asyncio task only waits for it, and on cancel tells it to stop (it notices within
`STOP_CHECK` seconds while idling or waiting, and logs out).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any

from imapclient import IMAPClient
from imapclient.exceptions import LoginError
from sqlalchemy.orm import Session

from channels.email.listener import idempotency_key
from inbox.imap_state import advance, mailbox_key, resume
from inbox.ports import JobQueue
from inbox.raw import process_job_id, store_raw
from inbox.store import Store

log = logging.getLogger(__name__)
BATCH = 20  # messages per FETCH
STOP_CHECK = 0.5  # seconds between looks at the stop flag while idling
IDLE_LIMIT = 29 * 60  # RFC 2177: re-issue IDLE at least this often
SEEN = b"\\Seen"


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    use_ssl: bool = True
    ca_file: str | None = None  # a private CA's PEM; else the system's CAs

    @property
    def key(self) -> str:
        return mailbox_key(self.host, self.user, self.folder)

    @property
    def name(self) -> str:
        return f"{self.user} at {self.host}:{self.port}/{self.folder}"


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Verifying client context: certificate chain and host name, TLS >= 1.2."""
    context = ssl.create_default_context(cafile=ca_file)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


class _Stopped(Exception):
    pass


class ImapPoller:
    def __init__(self, mailbox: Mailbox, store: Store, jobs: JobQueue, interval: float = 30,
                 *, idle: bool = True, idle_timeout: float = 300, max_backoff: float = 300):
        self.mailbox = mailbox
        self.store = store
        self.jobs = jobs
        self.interval = interval
        self.idle = idle
        self.idle_timeout = min(idle_timeout, IDLE_LIMIT)
        self.max_backoff = max(max_backoff, interval)
        self.rounds = 0  # finished rounds, for tests and curiosity
        self._stop = threading.Event()
        self._context = tls_context(mailbox.ca_file) if mailbox.use_ssl else None

    # --- the asyncio side ---------------------------------------------------------------

    async def run(self) -> None:
        """Until cancelled: the blocking work runs in a thread of its own (it lives as long
        as the service, so it takes no worker of the loop's default pool)."""
        loop = asyncio.get_running_loop()
        finished: asyncio.Future[None] = loop.create_future()

        def main() -> None:
            try:
                self.serve()
            finally:
                with contextlib.suppress(RuntimeError):  # the loop may be closed by now
                    loop.call_soon_threadsafe(_resolve, finished)

        thread = threading.Thread(target=main, name=f"yhteys-imap {self.mailbox.name}",
                                  daemon=True)
        self._stop.clear()
        if not self.mailbox.use_ssl:
            log.warning("IMAP %s: YHTEYS_IMAP_SSL=0, reading the mailbox in clear",
                        self.mailbox.name)
        thread.start()
        try:
            await asyncio.shield(finished)
        finally:
            self._stop.set()  # cancelled (serve stop): the thread logs out and ends

    def stop(self) -> None:
        self._stop.set()

    # --- the thread ---------------------------------------------------------------------

    @property
    def lease(self) -> str:
        """The name of the lease its polling holds (`Store.hold`)."""
        return f"imap:{self.mailbox.key}"

    def serve(self) -> None:
        """One poller per mailbox, whatever the number of serve processes: this one polls
        while it holds the mailbox's lease (inbox/store.py `hold`: a lock that its holder
        loses when it dies), else it asks again every `interval`, and takes over."""
        waiting_said = False
        while not self._stop.is_set():
            try:
                with self.store.hold(self.lease) as mine:
                    if mine:
                        log.info("IMAP %s: this process polls it", self.mailbox.name)
                        waiting_said = False
                        self._poll()
                        continue
            except Exception as exc:  # the database is away, and the lease with it
                log.warning("IMAP %s: its lease could not be asked for: %s",
                            self.mailbox.name, exc)
            if not waiting_said:
                log.info("IMAP %s: another process polls it; standing by",
                         self.mailbox.name)
                waiting_said = True
            self._stop.wait(max(self.interval, 0.1))

    def _poll(self) -> None:
        """Connect, round, idle or wait, round …; on any failure reconnect after a delay."""
        failures = 0
        while not self._stop.is_set():
            client: IMAPClient | None = None
            try:
                client = self._connect()
                use_idle = self.idle and b"IDLE" in client.capabilities()
                log.info("IMAP %s: connected (%s, %s)", self.mailbox.name,
                         "TLS" if self.mailbox.use_ssl else "clear",
                         "IDLE" if use_idle else f"polling every {self.interval:g} s")
                while not self._stop.is_set():
                    self.round(client)
                    failures = 0
                    if use_idle:
                        self._idle(client)
                    else:
                        self._stop.wait(self.interval)
            except _Stopped:
                pass
            except Exception as exc:
                if self._stop.is_set():  # e.g. a login still under way when serve stopped
                    log.debug("IMAP %s: stopped during %s", self.mailbox.name, exc)
                    break
                failures += 1
                delay = min(max(self.interval, 0.1) * 2 ** (failures - 1), self.max_backoff)
                self._log_failure(exc, delay)
                self._stop.wait(delay)
            finally:
                if client is not None:
                    _close(client)

    def _connect(self) -> IMAPClient:
        box = self.mailbox
        client = IMAPClient(box.host, port=box.port, ssl=box.use_ssl,
                            ssl_context=self._context, timeout=30)
        try:
            client.login(box.user, box.password)
        except BaseException:
            _close(client)
            raise
        return client

    def round(self, client: IMAPClient) -> int:
        """Store every message above the checkpoint; returns how many were new mail."""
        box = self.mailbox
        selected = client.select_folder(box.folder)
        uidvalidity = int(selected[b"UIDVALIDITY"])
        where = self.store.run(resume, box.key, uidvalidity)
        if where.previous_uidvalidity is not None:
            log.warning("IMAP %s: UIDVALIDITY changed from %d to %d (folder recreated?): "
                        "reading it all again; mail stored before is recognised",
                        box.name, where.previous_uidvalidity, uidvalidity)
        last = where.last_uid
        # `n:*` always matches the highest UID, also when it is <= n: filter.
        uids = sorted(u for u in client.search(["UID", f"{last + 1}:*"]) if u > last)
        new = 0
        for start in range(0, len(uids), BATCH):
            batch = uids[start:start + BATCH]
            fetched = client.fetch(batch, ["BODY.PEEK[]"])
            stored: list[int] = []
            for uid in batch:
                if self._stop.is_set():
                    raise _Stopped
                raw = fetched.get(uid, {}).get(b"BODY[]")
                if raw is None:
                    if uid in client.search(["UID", str(uid)]):  # no `*`: exact
                        raise RuntimeError(f"message UID {uid} exists but has no body")
                    # Expunged since the search: nothing to store, nothing skipped.
                    self.store.run(advance, box.key, uidvalidity, uid)
                    continue
                envelope = {"imap": f"{box.user}/{box.folder}", "host": box.host,
                            "uidvalidity": uidvalidity, "uid": uid}
                raw_id, created = self.store.run(_store_message, box.key, uidvalidity, uid,
                                                 idempotency_key(raw), envelope, raw)
                stored.append(uid)
                if created:
                    new += 1
                    self.jobs.enqueue("email.process", raw_id, job_id=process_job_id([raw_id]))
            if stored:
                client.add_flags(stored, [SEEN], silent=True)
        self.rounds += 1
        if new:
            log.info("IMAP %s: %d new message(s)", box.name, new)
        log.debug("IMAP %s: round %d done, %d new, last UID %d", box.name, self.rounds, new,
                  uids[-1] if uids else last)
        return new

    def _idle(self, client: IMAPClient) -> None:
        """IDLE until the server reports new mail, `idle_timeout` passes or we stop.

        A socket that is readable but gives nothing (the peer closed it, or only TLS
        records came) ends the IDLE too: DONE then fails on a dead connection, which is
        then opened again, and on a live one costs only a round.
        """
        client.idle()
        log.debug("IMAP %s: idling", self.mailbox.name)
        deadline = time.monotonic() + self.idle_timeout
        while not self._stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            wait = min(remaining, STOP_CHECK)
            began = time.monotonic()
            responses = client.idle_check(timeout=wait)
            if any(_is(r, b"BYE") for r in responses):
                raise ConnectionError(f"server said BYE: {_text(responses)}")
            if any(_is(r, b"EXISTS") for r in responses):
                break
            if not responses and time.monotonic() - began < wait / 2:
                break  # readable without data: see the docstring
        client.idle_done()

    def _log_failure(self, exc: Exception, delay: float) -> None:
        name = self.mailbox.name
        if isinstance(exc, ssl.SSLCertVerificationError):
            log.error("IMAP %s: TLS certificate not trusted (%s); nothing read, never "
                      "falling back to clear. A private CA goes in YHTEYS_IMAP_CA. "
                      "Next try in %.1f s", name, exc.verify_message or exc, delay)
        elif isinstance(exc, ssl.SSLError):
            log.error("IMAP %s: TLS failed (%s); nothing read. Next try in %.1f s",
                      name, exc, delay)
        elif isinstance(exc, LoginError):
            log.error("IMAP %s: login refused (%s). Next try in %.1f s", name, exc, delay)
        else:
            log.warning("IMAP %s failed: %s: %s. Next try in %.1f s", name,
                        type(exc).__name__, exc, delay)


def _store_message(session: Session, mailbox: str, uidvalidity: int, uid: int, key: str,
                   envelope: dict[str, Any], raw: bytes) -> tuple[int, bool]:
    """One transaction: the raw mail and the checkpoint past it."""
    result = store_raw(session, "email", key, envelope, raw)
    advance(session, mailbox, uidvalidity, uid)
    return result


def _is(response: Any, word: bytes) -> bool:
    return isinstance(response, tuple) and len(response) > 1 and (
        response[0] == word or response[1] == word)


def _text(responses: list[Any]) -> str:
    return "; ".join(repr(r) for r in responses)[:300]


def _close(client: IMAPClient) -> None:
    """Log out politely; a broken connection is just shut."""
    try:
        client.logout()
    except Exception:
        with contextlib.suppress(Exception):
            client.shutdown()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
