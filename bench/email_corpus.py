"""One corpus of residents' mails for the full-email-path bench, ours and the peer alike.

`corpus(n, replies)` gives `n` RFC 5322 mails (CRLF bytes, oldest first): `n - replies`
first mails of a thread, each from a sender of its own (a resident writing for the first
time), and `replies` answers of those senders to their own earlier mail (In-Reply-To and
References naming it, "Re: " subject, quoted text), each after the mail it answers. Every
system that threads by In-Reply-To must put each reply on its first mail's ticket or
contact: `threads(mails)` says which first mail each reply belongs to.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path

from smtp_ingest import BODIES, PLACES, SENDERS, SERVICE  # bench/ is on sys.path as a script

DOMAIN = "example.fi"
REPLY_TEXTS = [
    "Kiitos vastauksesta. Lisätietona: vuokranantaja on nyt lähettänyt myös perintäkirjeen.",
    "Hei vielä, unohdin kertoa että saan asumistukea Kelalta. Mitä teen seuraavaksi?",
    "Sopiiko, että soitatte huomenna aamupäivällä? Olen kotona koko päivän.",
]


def message_id(thread: int, n: int) -> str:
    return f"<corpus.{thread}.{n}@{DOMAIN}>"


def corpus(n: int = 500, replies: int = 150, seed: int = 10) -> list[bytes]:
    """The mails in the order they arrive (see the module's docstring)."""
    if not 0 <= replies < n:
        raise ValueError("replies must be fewer than the mails")
    rng = random.Random(seed)
    firsts = n - replies
    start = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    order: list[tuple[int, int]] = [(t, 0) for t in range(firsts)]  # (thread, nth mail)
    answered = rng.sample(range(firsts), k=min(replies, firsts))
    answered += [rng.randrange(firsts) for _ in range(replies - len(answered))]
    counts: dict[int, int] = {}
    for thread in answered:  # a reply after its first mail, somewhere later in the day
        counts[thread] = counts.get(thread, 0) + 1
        after = order.index((thread, counts[thread] - 1))
        order.insert(rng.randrange(after + 1, len(order) + 1), (thread, counts[thread]))
    return [_mail(thread, nth, start + timedelta(seconds=30 * i))
            for i, (thread, nth) in enumerate(order)]


def threads(mails: list[bytes]) -> dict[str, str]:
    """Each reply's Message-ID -> the Message-ID of its thread's first mail."""
    found: dict[str, str] = {}
    for raw in mails:
        head = raw.split(b"\r\n\r\n", 1)[0].decode()
        ids = dict(line.split(": ", 1) for line in head.split("\r\n")
                   if line.startswith(("Message-ID: ", "In-Reply-To: ")))
        if "In-Reply-To" in ids:
            thread = ids["Message-ID"].split(".")[1]
            found[ids["Message-ID"]] = message_id(int(thread), 0)
    return found


def write(mails: list[bytes], folder: Path) -> list[Path]:
    """One .eml file per mail, named so that a directory listing keeps their order."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, raw in enumerate(mails):
        path = folder / f"{i:05d}.eml"
        path.write_bytes(raw)
        paths.append(path)
    return paths


def _mail(thread: int, nth: int, at: datetime) -> bytes:
    name, local = SENDERS[thread % len(SENDERS)]
    street, postal = PLACES[thread % len(PLACES)]
    subject, body = BODIES[thread % len(BODIES)]
    mail = EmailMessage()
    mail["From"] = f"{name} <{local}.{thread}@{DOMAIN}>"  # one resident per thread
    mail["To"] = SERVICE
    mail["Date"] = format_datetime(at)
    mail["Message-ID"] = message_id(thread, nth)
    first = body.format(euros=400 + 37 * thread, street=street, postal=postal, name=name)
    if nth == 0:
        mail["Subject"] = subject
        mail.set_content(first)
    else:
        mail["Subject"] = f"Re: {subject}"
        mail["In-Reply-To"] = message_id(thread, nth - 1)
        mail["References"] = " ".join(message_id(thread, k) for k in range(nth))
        quoted = "\n".join(f"> {line}" for line in first.splitlines())
        mail.set_content(f"{REPLY_TEXTS[(thread + nth) % len(REPLY_TEXTS)]}\n\n{name}\n\n"
                         f"{quoted}\n")
    return mail.as_bytes(policy=mail.policy.clone(linesep="\r\n"))
