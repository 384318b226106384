"""the logs' retention: rows older than the retention floor may be removed, nothing newer

Revision ID: 0018
Revises: 0017

The append-only triggers of 0014/0015 now let a DELETE through only for a row older than
the longest retention ever recorded in `log_retention_floor` (itself append-only, so the
application can lengthen the period but never shorten it below what it once was, and never
below two years). `log_prunes` records each removal so the seal chain can be checked from
where it was cut.
"""

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

LOGS = ("access_log", "disclosure_log", "access_log_seals", "disclosure_log_seals")
NEW = ("log_retention_floor", "log_prunes")
FLOOR = "(SELECT max(years) FROM log_retention_floor)"


def upgrade() -> None:
    op.create_table(
        'log_retention_floor',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('years', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'log_prunes',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('log', sa.String(length=16), nullable=False),
        sa.Column('up_to_id', sa.Integer(), nullable=False),
        sa.Column('last_hash', sa.String(length=64), nullable=False),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    )
    op.execute("INSERT INTO log_retention_floor (years, at) VALUES (2, CURRENT_TIMESTAMP)")
    with op.batch_alter_table('retention_runs') as batch:
        batch.add_column(sa.Column('logs_pruned', sa.Integer(), nullable=False,
                                   server_default='0'))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"""CREATE FUNCTION yhteys_log_guard() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'DELETE' AND OLD.at < now() - make_interval(years => {FLOOR}) THEN
                RETURN OLD;
              END IF;
              RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
            END $$ LANGUAGE plpgsql""")
        for table in LOGS:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION yhteys_log_guard()")
        for table in NEW:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION yhteys_append_only()")
    else:
        for table in LOGS:
            op.execute(f"DROP TRIGGER {table}_no_delete")
            # SQLite keeps times as 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): they compare as text.
            op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                       f"WHEN OLD.at >= datetime('now', '-' || {FLOOR} || ' years') "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
        for table in NEW:
            for event in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in LOGS:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION yhteys_append_only()")
        op.execute("DROP FUNCTION yhteys_log_guard()")
    else:
        for table in LOGS:
            op.execute(f"DROP TRIGGER {table}_no_delete")
            op.execute(f"CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table} "
                       f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")
    with op.batch_alter_table('retention_runs') as batch:
        batch.drop_column('logs_pruned')
    op.drop_table('log_prunes')
    op.drop_table('log_retention_floor')
