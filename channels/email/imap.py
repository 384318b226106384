"""IMAP polling: mail that partners leave in a mailbox the service reads (secure-mail boxes).

Each new message is stored raw with the same idempotency key as SMTP mail, then flagged
\\Seen; only after the durable write, so a crash between the two means a harmless
redelivery, never a loss. Parsing and routing are the same email job.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from dataclasses import dataclass

from imapclient import IMAPClient

from channels.email.listener import idempotency_key
from inbox.ports import JobQueue
from inbox.raw import store_raw
from inbox.store import Store

log = logging.getLogger(__name__)
BATCH = 50


@dataclass(frozen=True)
class Mailbox:
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    use_ssl: bool = True


class ImapPoller:
    def __init__(self, mailbox: Mailbox, store: Store, jobs: JobQueue, interval: float = 30):
        self.mailbox = mailbox
        self.store = store
        self.jobs = jobs
        self.interval = interval

    def poll_once(self) -> int:
        """Fetch unseen messages, store each durably, flag it seen; returns how many were new."""
        box = self.mailbox
        context = ssl.create_default_context() if box.use_ssl else None
        new = 0
        with IMAPClient(box.host, port=box.port, ssl=box.use_ssl, ssl_context=context,
                        timeout=30) as client:
            client.login(box.user, box.password)
            client.select_folder(box.folder)
            uids = client.search(["UNSEEN"])[:BATCH]
            if not uids:
                return 0
            for uid, data in client.fetch(uids, ["BODY.PEEK[]"]).items():
                raw = data[b"BODY[]"]
                envelope = {"imap": f"{box.user}/{box.folder}", "uid": uid}
                raw_id, created = self.store.run(store_raw, "email", idempotency_key(raw),
                                                 envelope, raw)
                if created:
                    new += 1
                    self.jobs.enqueue("email.process", raw_id,
                                      job_id=f"email-process-{raw_id}")
                client.add_flags([uid], [b"\\Seen"])
        return new

    async def run(self) -> None:
        """Poll until cancelled; a failing server is logged and tried again next round."""
        while True:
            try:
                new = await asyncio.to_thread(self.poll_once)
                if new:
                    log.info("IMAP %s: %d new message(s)", self.mailbox.user, new)
            except Exception as exc:
                log.warning("IMAP %s@%s failed: %s", self.mailbox.user, self.mailbox.host, exc)
            await asyncio.sleep(self.interval)
