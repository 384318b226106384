"""disclosure log (luovutusloki) and its seals, append-only like the use log

Revision ID: 0015
Revises: 0014
"""

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

GUARDED = ("disclosure_log", "disclosure_log_seals")


def upgrade() -> None:
    op.create_table(
        'disclosure_log',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('staff_id', sa.Integer(), sa.ForeignKey('staff.id'), index=True),
        sa.Column('resident_id', sa.Integer(), sa.ForeignKey('residents.id'), index=True),
        sa.Column('contact_id', sa.Integer(), sa.ForeignKey('contacts.id')),
        sa.Column('case_id', sa.Integer(), sa.ForeignKey('cases.id')),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('recipient', sa.String(length=200), nullable=False),
        sa.Column('basis', sa.String(length=40), nullable=False),
        sa.Column('detail', sa.String(length=200), nullable=False, server_default=''),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'disclosure_log_seals',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('first_id', sa.Integer(), nullable=False),
        sa.Column('last_id', sa.Integer(), nullable=False, unique=True),
        sa.Column('rows', sa.Integer(), nullable=False),
        sa.Column('prev_hash', sa.String(length=64), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    )
    if op.get_bind().dialect.name == "postgresql":  # the function is 0014's
        for table in GUARDED:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       "FOR EACH ROW EXECUTE FUNCTION yhteys_append_only()")
    else:
        for table in GUARDED:
            for event in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{event.lower()} BEFORE {event} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END")


def downgrade() -> None:
    op.drop_table('disclosure_log_seals')  # triggers go with their tables
    op.drop_table('disclosure_log')
