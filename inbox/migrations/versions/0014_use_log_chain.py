"""use log: the basis of each read, seals that chain it, and no update or delete

Revision ID: 0014
Revises: 0013
"""

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

GUARDED = ("access_log", "access_log_seals")


def upgrade() -> None:
    with op.batch_alter_table('access_log') as batch:
        batch.add_column(sa.Column('basis', sa.String(length=24), nullable=True))
    op.create_table(
        'access_log_seals',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('first_id', sa.Integer(), nullable=False),
        sa.Column('last_id', sa.Integer(), nullable=False, unique=True),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    )
    # Append-only for the application, whatever its role: rows are written, never changed.
    # (TRUNCATE, a superuser's tool, is not a row change; retention will need its own role.)
    if op.get_bind().dialect.name == "postgresql":
        op.execute("""CREATE FUNCTION yhteys_append_only() RETURNS trigger AS $$
            BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$ LANGUAGE plpgsql""")
        for table in GUARDED:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION yhteys_append_only()")
    else:
        for table in GUARDED:
            for event in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in GUARDED:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
        op.execute("DROP FUNCTION yhteys_append_only()")
    else:
        for table in GUARDED:
            for event in ("update", "delete"):
                op.execute(f"DROP TRIGGER {table}_no_{event}")
    op.drop_table('access_log_seals')
    with op.batch_alter_table('access_log') as batch:
        batch.drop_column('basis')
