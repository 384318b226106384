"""`yhteys demo --year` fills the embedded default with a seeded year through the real
channels: the reports then show a year of contacts, cases worked and closed; the same seed
gives the same year."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from tests.integration.test_cli import yhteys


def year_of(tmp: Path) -> dict[str, Any]:
    """The embedded default (SQLite, in-process jobs) on both test runs."""
    env = {"YHTEYS_VAR_DIR": str(tmp), "YHTEYS_DATABASE_URL": f"sqlite:///{tmp / 'y.db'}",
           "YHTEYS_REDIS_URL": "", "YHTEYS_HTTP_PORT": "0", "YHTEYS_SMTP_PORT": "0"}
    done = yhteys(env, "demo", "--year", "--contacts", "24", "--seed", "7")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "a year of demo data: 24 contacts" in done.stdout
    db = sqlite3.connect(tmp / "y.db")
    return {
        "months": db.execute("SELECT substr(received_at, 1, 7), count(*) FROM contacts "
                             "GROUP BY 1 ORDER BY 1").fetchall(),
        "channels": dict(db.execute("SELECT channel, count(*) FROM contacts GROUP BY 1")),
        "who": db.execute("SELECT count(*) FROM contacts WHERE who_contacted IS NOT NULL"
                          ).fetchone()[0],
        "closed": db.execute("SELECT count(*) FROM cases WHERE status = 'closed' AND "
                             "outcome IS NOT NULL").fetchone()[0],
        "steps": db.execute("SELECT count(*) FROM case_events WHERE kind = 'step'"
                            ).fetchone()[0],
        "disclosed": db.execute("SELECT count(*) FROM disclosure_log WHERE kind = "
                                "'secure_message'").fetchone()[0],
        "followups_done": db.execute("SELECT count(*) FROM follow_ups WHERE done_at IS NOT NULL"
                                     ).fetchone()[0],
        "sent": db.execute("SELECT count(*) FROM messages WHERE direction = 'out' AND "
                           "delivery_state IN ('sent', 'notified')").fetchone()[0],
    }


def test_a_seeded_year_through_the_real_channels(tmp_path: Path):
    first = year_of(tmp_path / "a")
    assert len(first["months"]) >= 6  # spread over the year
    assert set(first["channels"]) == {"email", "chat", "phone"}
    assert first["who"] == 24 and first["closed"] and first["steps"] and first["sent"]
    assert first["disclosed"] == first["sent"]  # replies left as secure messages, logged
    assert first["followups_done"]  # past follow-ups were kept, as counsellors keep them
    assert year_of(tmp_path / "b") == first  # the same seed, the same year
