"""Is this mail really from the partner its sender domain names?

A sender address is easy to forge, so a mail counts as Kela's or Heka's only when a border
MTA we trust (its authserv-id in `YHTEYS_TRUSTED_AUTHSERV_IDS`, parsed with authres, as
Mailman trusts `trusted_authserv_ids`) says DKIM or SPF passed for the partner's domain, or
when it came to us over TLS and its DKIM signature (dkimpy) verifies for that domain.
Otherwise it is an unknown sender, and the contact says why.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage

import authres
import dkim

log = logging.getLogger(__name__)
DnsTxt = Callable[..., bytes | None]  # dkimpy's dnsfunc(name, timeout=5)


def dns_txt(server: str | None) -> DnsTxt | None:
    """TXT lookups through one DNS server (host:port), or None for dkimpy's default."""
    if not server:
        return None
    import dns.resolver

    host, _, port = server.rpartition(":")
    resolver = dns.resolver.Resolver(configure=False)
    resolver.nameservers, resolver.port = [host or "127.0.0.1"], int(port)

    def lookup(name: bytes | str, timeout: float = 5) -> bytes | None:
        qname = name.decode() if isinstance(name, bytes) else name
        try:
            answer = resolver.resolve(qname.rstrip("."), "TXT", lifetime=timeout)
        except Exception:
            return None
        return b"".join(b"".join(r.strings) for r in answer)

    return lookup


@dataclass(frozen=True)
class PartnerCheck:
    trusted_authserv_ids: frozenset[str]
    dnsfunc: DnsTxt | None = None

    def verify(self, data: bytes, message: EmailMessage, domain: str, over_tls: bool
               ) -> tuple[bool, str]:
        """(verified, how or why not) for mail whose sender is at `domain`."""
        for header in message.get_all("Authentication-Results", []) or []:
            try:
                results = authres.AuthenticationResultsHeader.parse(
                    f"Authentication-Results: {header}")
            except Exception as exc:  # a malformed header proves nothing
                log.info("unreadable Authentication-Results ignored: %s", exc)
                continue
            if results.authserv_id.lower() not in self.trusted_authserv_ids:
                continue
            for result in results.results:
                if result.method in ("dkim", "spf") and result.result == "pass":
                    return True, f"{result.method}=pass by {results.authserv_id}"
        if not over_tls:
            return False, "not over TLS and no trusted Authentication-Results"
        try:
            signed = dkim.DKIM(data)
            good = signed.verify(dnsfunc=self.dnsfunc) if self.dnsfunc else signed.verify()
            signer = (signed.domain or b"").decode().lower()
        except Exception as exc:
            log.info("DKIM check failed: %s", exc)
            good, signer = False, ""
        if good and (signer == domain or domain.endswith("." + signer)):
            return True, f"DKIM signature of {signer} over TLS"
        return False, "over TLS, but no DKIM signature of the domain verifies"
