"""Our SMTP server reads a plain MAIL FROM / RCPT TO address without aiosmtpd's parse; for
any argument it must answer what aiosmtpd's own `_getaddr` answers (the same address is
accepted or refused, the same parameters follow)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator

import pytest
from aiosmtpd.smtp import SMTP

from channels.email.listener import YhteysSMTP
from channels.email.smtp_address import plain_address

CASES = [
    "<matti.meikalainen@example.fi>",
    "<asumisneuvonta@yhteys.test> SIZE=1234 BODY=8BITMIME",
    "<a@b.c>\tSMTPUTF8",
    "  <leading@blanks.fi>",
    "<a@b.c>  (a comment) SIZE=1",
    "<a@b.c>(comment)",
    "<first.last+tag@sub.example.fi>",
    "<o'brien@example.ie>",
    "<{weird}|~`!#$%&*/=?^_-@example.fi>",
    "<=?utf-8?q?abc?=@x.y>",
    "<a=?b@c.d>",
    "<a..b@c.d>",
    "<.a@c.d>",
    "<a.@c.d>",
    "<a@c..d>",
    '<"quoted local"@example.fi>',
    "<a\\b@example.fi>",
    "<user@[192.0.2.1]>",
    "<@relay.example:user@example.fi>",
    "<>",
    "<a@b.c",
    "a@b.c",
    "a@b.c SIZE=1",
    "<a@b.c> <d@e.f>",
    "<a b@c.d>",
    "<ä@example.fi>",
    "<a@exämple.fi>",
    "",
    "<a@b.c> x=\"y\"",
    "<a@b.c> \\",
    "<.@\t[>",  # email's parser raises AttributeError, IndexError
    "<@ 1,(é>",
    "<" + "x" * 65 + "@example.fi>",
    "<" + "x" * 64 + "@example.fi>",
]
ALPHABET = "ab.@<> \t()\"\\[]:;,=?_+-'äé1"
NEARLY_PLAIN = "ab1.+-_'=?"  # mostly atext: the quick path's own ground


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[SMTP, SMTP]]:
    loop = asyncio.new_event_loop()
    limited = (SMTP(object(), loop=loop), YhteysSMTP(object(), loop=loop))
    yield limited
    loop.close()


def answers(servers: tuple[SMTP, SMTP], arg: str, limit: int) -> tuple[object, object]:
    """aiosmtpd's answer and ours; where email's parser crashes inside aiosmtpd (its
    client then hears "451 try again"), ours is "not an address" (a 5xx syntax error)."""
    bare, ours = servers
    bare.local_part_limit = ours.local_part_limit = limit
    try:
        expected: object = bare._getaddr(arg)
    except Exception:
        expected = (None, None)
    return expected, ours._getaddr(arg)


@pytest.mark.parametrize("arg", CASES)
@pytest.mark.parametrize("limit", [0, 64])
def test_an_address_reads_as_aiosmtpd_reads_it(servers: tuple[SMTP, SMTP], arg: str,
                                               limit: int):
    bare, ours = answers(servers, arg, limit)
    assert ours == bare


def test_the_plain_form_is_the_one_read_quickly():
    assert plain_address("<matti@example.fi> SIZE=10") == ("matti@example.fi", "SIZE=10")
    assert plain_address('<"q"@example.fi>') is None  # left to aiosmtpd's parser
    assert plain_address("<a@b.c> (comment)") is None


def test_random_arguments_read_as_aiosmtpd_reads_them(servers: tuple[SMTP, SMTP]):
    rng = random.Random(20261204)
    fast = 0
    for _ in range(4000):
        letters = rng.choice([ALPHABET, NEARLY_PLAIN])
        local = "".join(rng.choice(letters) for _ in range(rng.randint(0, 8)))
        domain = "".join(rng.choice(letters) for _ in range(rng.randint(0, 8)))
        rest = rng.choice(["", " SIZE=10", "  BODY=8BITMIME", "(c)", " x", "\t"])
        arg = rng.choice(["<{}@{}>{}", "{}@{}{}", "<{}{}>{}"]).format(local, domain, rest)
        bare, ours = answers(servers, arg, rng.choice([0, 4]))
        assert ours == bare, arg
        fast += plain_address(arg) is not None
    assert fast > 100  # the quick path was taken often enough to be tested
