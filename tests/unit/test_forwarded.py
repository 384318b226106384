"""Which address is the client's, behind our proxies and in front of them."""

from __future__ import annotations

from web.forwarded import client_address

PROXIES = frozenset({"10.0.0.2", "10.0.0.3"})


def test_without_a_trusted_proxy_the_header_is_ignored():
    assert client_address("198.51.100.7", "203.0.113.9", PROXIES) == "198.51.100.7"
    assert client_address("198.51.100.7", "203.0.113.9", frozenset()) == "198.51.100.7"


def test_behind_our_proxies_the_nearest_outside_address_is_the_client():
    assert client_address("10.0.0.2", "203.0.113.9", PROXIES) == "203.0.113.9"
    assert client_address("10.0.0.2", "203.0.113.9, 10.0.0.3", PROXIES) == "203.0.113.9"


def test_a_client_cannot_spoof_by_prepending_addresses():
    # The client sent "X-Forwarded-For: 1.2.3.4"; our proxy appended the real address.
    assert client_address("10.0.0.2", "1.2.3.4, 203.0.113.9", PROXIES) == "203.0.113.9"
