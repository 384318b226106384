"""thread waits: a reply routed before its parent waits for it

Revision ID: 0007
Revises: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'thread_waits',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('ref_hash', sa.String(length=64), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'],
                                name=op.f('fk_thread_waits_contact_id_contacts')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_thread_waits')),
    )
    op.create_index(op.f('ix_thread_waits_ref_hash'), 'thread_waits', ['ref_hash'])
    op.create_index(op.f('ix_thread_waits_contact_id'), 'thread_waits', ['contact_id'])


def downgrade() -> None:
    op.drop_table('thread_waits')
