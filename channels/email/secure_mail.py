"""The mails of the secure-message portal: none carries the reply's text or anything
personal beyond the address it goes to. Words come from the catalogs (`mail.po`), in the
reader's language; every such mail is marked `Auto-Submitted: auto-generated`."""

from __future__ import annotations

from collections.abc import Callable
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from sqlalchemy.orm import Session

from inbox.models import SecureLink
from inbox.secure import compose_link, compose_token, mailed_code, now_utc, reply_link

Words = Callable[..., str]  # (lang, key, **params) -> text


def _mail(sender: str, to: str, subject: str, body: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, to, subject
    mail["Date"] = format_datetime(now_utc())
    mail["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2])
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: never answered automatically
    mail.set_content(body)
    return mail


def notification(session: Session, key: bytes, words: Words, reply: EmailMessage,
                 message_id: int, language: str, public_url: str, days: int
                 ) -> EmailMessage:
    """"You have a secure message": the reply's envelope and thread headers (its stable
    Message-ID, In-Reply-To, References), a plain subject and the link, never the text."""
    to = str(reply["To"])
    link, token = reply_link(session, key, message_id, to, language, days, now_utc())
    lang = link.language
    mail = _mail(str(reply["From"]), to, words(lang, "mail.notify.subject"),
                 words(lang, "mail.notify.body", link=f"{public_url}/s/{token}", days=days))
    for header in ("Message-ID", "In-Reply-To", "References"):
        if reply[header]:
            del mail[header]
            mail[header] = str(reply[header])
    return mail


def portal_mail(session: Session, key: bytes, words: Words, kind: str, link_id: int,
                public_url: str, sender: str) -> EmailMessage | None:
    """The second mail (the one-time code) or a compose link, made from the link's state."""
    link = session.get(SecureLink, link_id)
    if link is None:
        return None
    lang = link.language
    if kind == "code":
        if link.code_expires_at is None:
            return None  # used or replaced meanwhile
        code = mailed_code(key, link.id, link.code_expires_at)
        return _mail(sender, link.email, words(lang, "mail.code.subject"),
                     words(lang, "mail.code.body", code=code))
    url = f"{public_url}/s/{compose_token(key, link.id)}"
    return _mail(sender, link.email, words(lang, "mail.compose.subject"),
                 words(lang, "mail.compose.body", link=url))


def receipt_mail(session: Session, key: bytes, words: Words,
                 owed: tuple[str, str | None], public_url: str, sender: str,
                 answer_days: int) -> EmailMessage:
    """"We got your message": when we answer, and a secure link for anything personal, in
    all three languages (we do not know the writer's). Auto-Submitted: auto-replied."""
    to, replied_to = owed
    link = compose_link(session, key, to, "fi", now_utc())
    url = f"{public_url}/s/{compose_token(key, link.id)}"
    body = "\n\n-----\n\n".join(words(lang, "mail.receipt.body", days=answer_days, link=url)
                                 for lang in ("fi", "sv", "en"))
    mail = _mail(sender, to, " / ".join(words(lang, "mail.receipt.subject")
                                        for lang in ("fi", "sv", "en")), body)
    del mail["Auto-Submitted"]
    mail["Auto-Submitted"] = "auto-replied"
    if replied_to:
        mail["In-Reply-To"] = replied_to
        mail["References"] = replied_to
    return mail
