"""inbox at scale: each contact's place in the queue as a computed column with an index
in the inbox's order; the open contacts' areas and assignees indexed for the folder counts;
an index of a resident's contacts; on PostgreSQL trigram indexes, so a name or a summary is
found by any part without reading every row, and each message's search words stored (a
row checked during a walk in the queue's order no longer stems its text again)

Revision ID: 0019
Revises: 0018
"""

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

QUEUE_RANK = ("(CASE WHEN status = 'open' THEN 0 ELSE 3 END"
              " + CASE urgency WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 ELSE 2 END)")
OPEN = sa.text("status = 'open'")
VECTOR = "to_tsvector('finnish', text) || to_tsvector('swedish', text)"
TRIGRAMS = {"ix_residents_name_trgm": ("residents", "name"),
            "ix_contacts_summary_trgm": ("contacts", "summary")}


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    # SQLite can add only a virtual computed column; PostgreSQL 15 only a stored one.
    op.execute(f"ALTER TABLE contacts ADD COLUMN queue_rank SMALLINT GENERATED ALWAYS AS "
               f"({QUEUE_RANK}) {'STORED' if postgresql else 'VIRTUAL'}")
    op.create_index("ix_contacts_queue", "contacts", ["queue_rank", "updated_at", "id"])
    op.create_index("ix_contacts_resident_id", "contacts", ["resident_id"])
    op.create_index("ix_contacts_open", "contacts", ["area_code", "assignee_id"],
                    postgresql_where=OPEN, sqlite_where=OPEN)
    if postgresql:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for name, (table, column) in TRIGRAMS.items():
            op.execute(f"CREATE INDEX {name} ON {table} USING gin "
                       f"(lower({column}) gin_trgm_ops)")
        op.execute(f"ALTER TABLE messages ADD COLUMN search_vector tsvector "
                   f"GENERATED ALWAYS AS ({VECTOR}) STORED")
        op.execute("DROP INDEX ix_messages_fts")
        op.execute("CREATE INDEX ix_messages_search ON messages USING gin (search_vector)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_messages_search")
        op.execute(f"CREATE INDEX ix_messages_fts ON messages USING gin (({VECTOR}))")
        op.execute("ALTER TABLE messages DROP COLUMN search_vector")
        for name in TRIGRAMS:
            op.execute(f"DROP INDEX {name}")
    op.drop_index("ix_contacts_open", "contacts")
    op.drop_index("ix_contacts_resident_id", "contacts")
    op.drop_index("ix_contacts_queue", "contacts")
    op.execute("ALTER TABLE contacts DROP COLUMN queue_rank")
