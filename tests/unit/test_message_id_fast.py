"""The listener reads a mail's Message-ID without email's parser when the header is plain;
the idempotency key must not change with it (stored keys recognise redeliveries), so for
any bytes the fast reading gives what the parser gives."""

from __future__ import annotations

import random
from email.parser import BytesHeaderParser

import pytest

from channels.email.listener import _PLAIN_MESSAGE_ID, idempotency_key, message_id_of


def by_parser(content: bytes) -> str:
    headers = BytesHeaderParser().parsebytes(content)
    return str(headers.get("Message-ID", "") or "").strip()


PLAIN = (b"Received: from mx.test.hel.fi\r\n\tby yhteys.test; Tue, 1 Dec 2026 10:00:00 +0200\r\n"
         b"From: Maija <maija@example.fi>\r\nSubject: Vuokra\r\n"
         b"Message-ID:   <1234.5678@example.fi>  \r\nMIME-Version: 1.0\r\n\r\nHei\r\n")

CASES = [
    PLAIN,
    PLAIN.replace(b"\r\n", b"\n"),
    b"message-id: <lower@example.fi>\r\n\r\nbody",
    b"MESSAGE-ID:<upper@example.fi>\r\n",
    b"Message-ID: <folded@\r\n example.fi>\r\nX: y\r\n\r\n",       # folded: the parser's
    b"Message-ID:\r\n <next-line@example.fi>\r\n\r\n",
    b"Message-ID: <first@example.fi>\r\nMessage-ID: <second@example.fi>\r\n\r\n",
    b"Message-ID: <folded-first@\r\n x>\r\nMessage-ID: <second@example.fi>\r\n\r\n",
    b"Message-ID:\r\nMessage-ID: <after-empty@example.fi>\r\n\r\n",
    b"From: a@b\r\n\r\nMessage-ID: <in-the-body@example.fi>\r\n",
    b"From: a@b\r\nnot a header line\r\nMessage-ID: <after-junk@example.fi>\r\n\r\n",
    b"From someone Tue Dec  1 10:00:00 2026\r\nMessage-ID: <after-unixfrom@example.fi>\r\n",
    b"X: y\r\nFrom misplaced\r\nMessage-ID: <after-misplaced@example.fi>\r\n",
    b": no name\r\nMessage-ID: <after-empty-name@example.fi>\r\n",
    b" leading fold\r\nMessage-ID: <after-leading-fold@example.fi>\r\n",
    b"X: a\rMessage-ID: <after-bare-cr@example.fi>\r\n",
    b"X: a\x0cb\r\nMessage-ID: <after-form-feed@example.fi>\r\n",
    b"Message-ID: <tab\tinside@example.fi>\r\n",
    b"Message-ID: <sp ace@example.fi>\t \r\n",
    b"Message-ID: <8bit-\xc3\xa4@example.fi>\r\n",
    b"X-8bit: \xc3\xa4\xff\r\nMessage-ID: <after-8bit@example.fi>\r\n",
    b"Message-ID: <no-newline@example.fi>",
    b"Message-ID : <space-before-colon@example.fi>\r\n",
    b"Subject: no id\r\n\r\nbody",
    b"",
    b"\r\n\r\nMessage-ID: <after-blank@example.fi>\r\n",
]


@pytest.mark.parametrize("content", CASES)
def test_the_fast_reading_agrees_with_the_parser(content: bytes):
    assert message_id_of(content) == by_parser(content)


def test_plain_mail_takes_the_fast_path():
    assert _PLAIN_MESSAGE_ID.match(PLAIN)
    assert message_id_of(PLAIN) == "<1234.5678@example.fi>"


PIECES = [b"From: a@b", b"Message-ID: <m@x>", b"message-id:<n@y> ", b"Message-ID:",
          b" fold", b"\tfold <z>", b"X-A: \xc3\xa4", b"From x", b": nameless", b"junk",
          b"", b"Message-ID: <a\tb>", b"Subject: \x0c\x1c", b"Message-ID:  <q@r>\t"]
ENDS = [b"\r\n", b"\n", b"\r", b""]


def test_random_headers_agree_with_the_parser():
    rng = random.Random(703)  # fixed: a failure is the same failure on every run
    for _ in range(4000):
        content = b"".join(rng.choice(PIECES) + rng.choice(ENDS)
                           for _ in range(rng.randint(0, 7)))
        assert message_id_of(content) == by_parser(content), content


def test_a_redelivery_with_one_more_received_line_has_the_same_key():
    again = b"Received: from relay.example.fi by mx.test.hel.fi\r\n" + PLAIN
    assert idempotency_key(again) == idempotency_key(PLAIN)
    assert idempotency_key(PLAIN.replace(b"Hei", b"Moi")) != idempotency_key(PLAIN)
