"""reply templates per language

Revision ID: 0012
Revises: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'reply_templates',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('updated_by', sa.Integer(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['updated_by'], ['staff.id'],
                                name=op.f('fk_reply_templates_updated_by_staff')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reply_templates')),
        sa.UniqueConstraint('name', 'language', name=op.f('uq_reply_templates_name')),
    )


def downgrade() -> None:
    op.drop_table('reply_templates')
