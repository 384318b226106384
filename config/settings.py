"""Settings from the environment (public contract v1), read once by the composition root."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from inbox.accounts import AccountRules
from inbox.callbacks import QueueRules
from inbox.retention import RetentionRules

DEFAULT_PRIVACY_URL = "https://www.hel.fi/fi/paatoksenteko-ja-hallinto/tietoa-helsingista/tietosuoja"


def _origins(value: str | None) -> tuple[str, ...]:
    return tuple(o.strip().rstrip("/") for o in (value or "").split(",") if o.strip())


def _hostport(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return host or "127.0.0.1", int(port)

CHECKOUT = Path(__file__).resolve().parent.parent  # where `npm ci` ran, in a checkout


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None
    http_host: str
    http_port: int
    smtp_host: str
    smtp_port: int
    smtp_relay: tuple[str, int] | None
    service_address: str
    config_path: Path | None
    secret_key: bytes
    allowed_origins: tuple[str, ...]
    cookie_secure: bool
    smtp_max_bytes: int
    retry_delays: tuple[float, ...]
    var_dir: Path
    smtp_tls_cert: Path | None = None
    smtp_tls_key: Path | None = None
    smtp_max_connections: int = 200  # SMTP sessions open at once, in total
    smtp_max_per_client: int = 20  # ... from one IPv4 address or IPv6 /64
    smtp_idle_s: float = 60.0  # an SMTP session silent this long is closed
    imap: dict[str, str] | None = None  # host, port, user, password, folder, ssl, interval
    trusted_proxies: frozenset[str] = frozenset()
    widget_origins: tuple[str, ...] = ()  # sites that may frame /widget (hel.fi)
    privacy_url: str = DEFAULT_PRIVACY_URL
    chat_handling_s: int = 300  # a counsellor's typical time per chat, for expected waits
    chat_connects_per_min: int = 60  # per client address (a shared NAT may need more)
    secure_replies: bool = True  # replies to residents by email go as portal links
    secure_link_days: int = 30
    public_url: str = "http://127.0.0.1:8080"  # where residents open portal links
    retired_secret_keys: tuple[bytes, ...] = ()  # still open what they sealed (rotation)
    trusted_authserv_ids: frozenset[str] = frozenset()  # border MTAs whose AR we believe
    dkim_dns: str | None = None  # host:port of the DNS server for DKIM keys (tests)
    assets_dir: Path = CHECKOUT / "node_modules"  # the npm packages the pages load
    email_receipts: bool = True  # one automatic receipt per new email thread
    answer_days: int = 3  # what the receipt promises
    smtp_relay_tls: str | None = None  # starttls | tls: verified TLS to the relay
    smtp_relay_ca: str | None = None  # a private CA for the relay's certificate
    telephony_secret: str | None = None  # HMAC key the phone system signs events with
    callback_dedupe_min: int = 60  # one missed-call request per number in this time
    callback_retry_min: int = 120  # after a no-answer, wait at least this long
    callback_claim_min: int = 30  # an unresolved claim returns to the queue after this
    callback_max_attempts: int = 3
    urgent_eviction_days: int = 14  # a case's eviction this close makes it urgent
    high_hearing_days: int = 30  # a district-court hearing this close: high
    high_discharge_days: int = 7  # a hospital discharge this close: high
    attachment_max_bytes: int = 10_000_000  # one attachment (mail, portal upload)
    attachment_message_max_bytes: int = 25_000_000  # one message's attachments together
    retention_years: int = 10  # a resident's data after their last case closed (703/2023)
    raw_retention_days: int = 90  # raw inbound mail's bytes after it was routed
    log_retention_years: int = 12  # the use and disclosure logs' rows
    session_idle_min: int = 30  # a staff session without a request this long ends
    session_max_hours: int = 10  # ... and any session at this age
    token_days: int = 90  # an API token's default lifetime
    login_max_failures: int = 5  # wrong passwords/codes for one account: locked
    login_address_failures: int = 20  # ... from one address: locked
    login_lock_min: int = 15  # the throttle's window (and the longest lock)

    @property
    def account_rules(self) -> AccountRules:
        return AccountRules(session_idle=timedelta(minutes=self.session_idle_min),
                            session_max=timedelta(hours=self.session_max_hours),
                            token_days=self.token_days,
                            account_failures=self.login_max_failures,
                            address_failures=self.login_address_failures,
                            lock_window=timedelta(minutes=self.login_lock_min))
    @property
    def callback_rules(self) -> QueueRules:
        return QueueRules(claim_timeout=timedelta(minutes=self.callback_claim_min),
                          retry_after=timedelta(minutes=self.callback_retry_min),
                          max_attempts=self.callback_max_attempts,
                          dedupe=timedelta(minutes=self.callback_dedupe_min))

    @property
    def retention_rules(self) -> RetentionRules:
        return RetentionRules(years=self.retention_years, raw_days=self.raw_retention_days,
                              log_years=self.log_retention_years)

    @property
    def embedded(self) -> bool:
        """No Redis: jobs run in this process (the embedded default)."""
        return self.redis_url is None

    @property
    def service_domain(self) -> str:
        return self.service_address.rpartition("@")[2]

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        var_dir = Path(env.get("YHTEYS_VAR_DIR", "var")).absolute()
        http_host = env.get("YHTEYS_HTTP_HOST", "127.0.0.1")
        http_port = int(env.get("YHTEYS_HTTP_PORT", "8080"))
        relay = env.get("YHTEYS_SMTP_RELAY")
        origins = env.get("YHTEYS_ALLOWED_ORIGINS")
        default_origins = (f"http://{http_host}:{http_port}", f"http://localhost:{http_port}")
        return cls(
            database_url=env.get("YHTEYS_DATABASE_URL") or f"sqlite:///{var_dir / 'yhteys.db'}",
            redis_url=env.get("YHTEYS_REDIS_URL") or None,
            http_host=http_host,
            http_port=http_port,
            smtp_host=env.get("YHTEYS_SMTP_HOST", "127.0.0.1"),
            smtp_port=int(env.get("YHTEYS_SMTP_PORT", "2525")),
            smtp_relay=_hostport(relay) if relay else None,
            service_address=env.get("YHTEYS_SERVICE_ADDRESS", "asumisneuvonta@yhteys.localhost")
            .strip().lower(),
            config_path=Path(env["YHTEYS_CONFIG"]) if env.get("YHTEYS_CONFIG") else None,
            secret_key=_secret_key(env, var_dir),
            allowed_origins=tuple(o.strip() for o in origins.split(",")) if origins
            else default_origins,
            cookie_secure=env.get("YHTEYS_COOKIE_SECURE", "1") not in ("0", "false", "no"),
            smtp_max_bytes=int(env.get("YHTEYS_SMTP_MAX_BYTES", str(10 * 1024 * 1024))),
            retry_delays=tuple(
                float(d) for d in env.get("YHTEYS_RETRY_DELAYS", "10,60,300,1800").split(",")
            ),
            var_dir=var_dir,
            smtp_tls_cert=Path(env["YHTEYS_SMTP_TLS_CERT"]) if env.get("YHTEYS_SMTP_TLS_CERT")
            else None,
            smtp_tls_key=Path(env["YHTEYS_SMTP_TLS_KEY"]) if env.get("YHTEYS_SMTP_TLS_KEY")
            else None,
            smtp_max_connections=int(env.get("YHTEYS_SMTP_MAX_CONNECTIONS", "200")),
            smtp_max_per_client=int(env.get("YHTEYS_SMTP_MAX_PER_CLIENT", "20")),
            smtp_idle_s=float(env.get("YHTEYS_SMTP_IDLE_S", "60")),
            trusted_proxies=frozenset(
                p.strip() for p in env.get("YHTEYS_TRUSTED_PROXIES", "").split(",") if p.strip()),
            widget_origins=_origins(env.get("YHTEYS_WIDGET_ORIGINS")),
            privacy_url=env.get("YHTEYS_PRIVACY_URL") or DEFAULT_PRIVACY_URL,
            chat_handling_s=int(env.get("YHTEYS_CHAT_HANDLING_S", "300")),
            chat_connects_per_min=int(env.get("YHTEYS_CHAT_CONNECTS_PER_MIN", "60")),
            secure_replies=env.get("YHTEYS_SECURE_REPLIES", "1") not in ("0", "false", "no"),
            secure_link_days=int(env.get("YHTEYS_SECURE_LINK_DAYS", "30")),
            trusted_authserv_ids=frozenset(
                a.strip().lower() for a in env.get("YHTEYS_TRUSTED_AUTHSERV_IDS", "").split(",")
                if a.strip()),
            dkim_dns=env.get("YHTEYS_DKIM_DNS") or None,
            email_receipts=env.get("YHTEYS_EMAIL_RECEIPTS", "1") not in ("0", "false", "no"),
            answer_days=int(env.get("YHTEYS_ANSWER_DAYS", "3")),
            smtp_relay_tls=env.get("YHTEYS_SMTP_RELAY_TLS") or None,
            smtp_relay_ca=env.get("YHTEYS_SMTP_RELAY_CA") or None,
            telephony_secret=env.get("YHTEYS_TELEPHONY_SECRET") or None,
            callback_dedupe_min=int(env.get("YHTEYS_CALLBACK_DEDUPE_MIN", "60")),
            callback_retry_min=int(env.get("YHTEYS_CALLBACK_RETRY_MIN", "120")),
            callback_claim_min=int(env.get("YHTEYS_CALLBACK_CLAIM_MIN", "30")),
            callback_max_attempts=int(env.get("YHTEYS_CALLBACK_MAX_ATTEMPTS", "3")),
            urgent_eviction_days=int(env.get("YHTEYS_URGENT_EVICTION_DAYS", "14")),
            high_hearing_days=int(env.get("YHTEYS_HIGH_HEARING_DAYS", "30")),
            high_discharge_days=int(env.get("YHTEYS_HIGH_DISCHARGE_DAYS", "7")),
            attachment_max_bytes=int(env.get("YHTEYS_ATTACHMENT_MAX_BYTES", "10000000")),
            attachment_message_max_bytes=int(
                env.get("YHTEYS_ATTACHMENT_MESSAGE_MAX_BYTES", "25000000")),
            retention_years=int(env.get("YHTEYS_RETENTION_YEARS", "10")),
            raw_retention_days=int(env.get("YHTEYS_RAW_RETENTION_DAYS", "90")),
            log_retention_years=int(env.get("YHTEYS_LOG_RETENTION_YEARS", "12")),
            session_idle_min=int(env.get("YHTEYS_SESSION_IDLE_MIN", "30")),
            session_max_hours=int(env.get("YHTEYS_SESSION_MAX_HOURS", "10")),
            token_days=int(env.get("YHTEYS_TOKEN_DAYS", "90")),
            login_max_failures=int(env.get("YHTEYS_LOGIN_MAX_FAILURES", "5")),
            login_address_failures=int(env.get("YHTEYS_LOGIN_ADDRESS_FAILURES", "20")),
            login_lock_min=int(env.get("YHTEYS_LOGIN_LOCK_MIN", "15")),
            retired_secret_keys=tuple(k.strip().encode() for k in env.get(
                "YHTEYS_RETIRED_SECRET_KEYS", "").split(",") if k.strip()),
            public_url=(env.get("YHTEYS_PUBLIC_URL") or f"http://{http_host}:{http_port}"
                        ).rstrip("/"),
            assets_dir=Path(env.get("YHTEYS_ASSETS_DIR") or CHECKOUT / "node_modules"),
            imap={k.removeprefix("YHTEYS_IMAP_").lower(): v for k, v in env.items()
                  if k.startswith("YHTEYS_IMAP_")} if env.get("YHTEYS_IMAP_HOST") else None,
        )


def _secret_key(env: Mapping[str, str], var_dir: Path) -> bytes:
    """YHTEYS_SECRET_KEY in production; the embedded default keeps one under ./var."""
    if env.get("YHTEYS_SECRET_KEY"):
        return env["YHTEYS_SECRET_KEY"].encode()
    path = var_dir / "secret_key"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip().encode()
