"""search: full-text index of message text (PostgreSQL: Finnish + Swedish; SQLite: FTS5)

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

PG_VECTOR = "(to_tsvector('finnish', text) || to_tsvector('swedish', text))"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX ix_messages_fts ON messages USING gin ({PG_VECTOR})")
        return
    op.execute("CREATE VIRTUAL TABLE messages_fts USING fts5(text, content='messages', "
               "content_rowid='id', tokenize='unicode61 remove_diacritics 0')")
    op.execute("INSERT INTO messages_fts(rowid, text) SELECT id, text FROM messages")
    op.execute("CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN "
               "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END")
    op.execute("CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN "
               "INSERT INTO messages_fts(messages_fts, rowid, text) "
               "VALUES ('delete', old.id, old.text); END")
    op.execute("CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN "
               "INSERT INTO messages_fts(messages_fts, rowid, text) "
               "VALUES ('delete', old.id, old.text); "
               "INSERT INTO messages_fts(rowid, text) VALUES (new.id, new.text); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_messages_fts")
        return
    for trigger in ("insert", "delete", "update"):
        op.execute(f"DROP TRIGGER messages_fts_{trigger}")
    op.execute("DROP TABLE messages_fts")
