"""imap checkpoint: per mailbox the UIDVALIDITY and the last UID imported

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('imap_checkpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mailbox', sa.String(length=1000), nullable=False),
    sa.Column('uidvalidity', sa.BigInteger(), nullable=False),
    sa.Column('last_uid', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_imap_checkpoints')),
    sa.UniqueConstraint('mailbox', name=op.f('uq_imap_checkpoints_mailbox'))
    )


def downgrade() -> None:
    op.drop_table('imap_checkpoints')
