"""Engine, sessions and schema migration. Called by the composition root, never at import."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"
PING_AFTER_IDLE_S = 1.0


def make_engine(url: str) -> Engine:
    """An engine tuned per backend: SQLite gets WAL and a busy timeout so threads can share it."""
    if url.startswith("sqlite"):
        # One connection: every writer waits its turn in SQLAlchemy's pool instead of in
        # SQLite's busy handler, which sleeps and retries. (Not strictly first come, first
        # served: a thread arriving as the connection comes back may take it before one
        # already waiting, which is where SQLite's longest tails under load come from.)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=1, max_overflow=0, pool_timeout=60)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin,
            # so BEGIN IMMEDIATE can serialise writers.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # pg_stat_activity (and /healthz's lease holders) then say which process is which.
    name = f"yhteys {socket.gethostname()} {os.getpid()}"[:63]
    engine = create_engine(url, pool_size=10, max_overflow=20,
                           connect_args={"application_name": name})
    _ping_when_idle(engine)

    @event.listens_for(engine, "connect")
    def _no_jit(dbapi_conn: Any, _record: Any) -> None:
        # Short queries only: a search the planner costs high (a walk it cannot bound) got
        # half a second of JIT compiling for a query that runs in 20 ms.
        with dbapi_conn.cursor() as cur:
            cur.execute("SET jit = off")
        dbapi_conn.commit()

    return engine


def _ping_when_idle(engine: Engine, idle_s: float = PING_AFTER_IDLE_S) -> None:
    """Pessimistic disconnect handling, only where it can matter: a pooled connection
    that sat idle is pinged before use (a PostgreSQL restarted meanwhile then costs a
    reconnect, not a failed request); one back within a second is used as it is. A worker
    routing mail takes a connection about twice a mail, and pool_pre_ping's round trip
    each time was a tenth of its statements. A server gone within that second fails the
    one unit of work (503, or the job's retry), and the pool reconnects after it."""

    @event.listens_for(engine, "checkin")
    def _idle_since(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is None or time.monotonic() - since < idle_s:
            return  # new, or just given back
        try:
            engine.dialect.do_ping(dbapi_conn)
        except Exception as exc:  # the pool drops it and connects anew
            raise DisconnectionError(f"idle connection lost: {exc}") from exc


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


PREPARING_LOCK = 7426001


def one_at_a_time(conn: Connection | Session) -> None:
    """Several serve processes may start at once on a new database: one prepares it (the
    schema, then the reference data), the others wait for its commit and find it done."""
    dialect = conn.dialect if isinstance(conn, Connection) else conn.get_bind().dialect
    if dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PREPARING_LOCK})


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision (same migrations on both engines)."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        one_at_a_time(conn)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")
