"""the resident's rights and retention: erasure on the resident row, the retention runs

Revision ID: 0017
Revises: 0016
"""

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('residents') as batch:
        batch.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('erased_by', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('erasure_reason', sa.Text(), nullable=True))
        batch.create_foreign_key(batch.f('fk_residents_erased_by_staff'), 'staff',
                                 ['erased_by'], ['id'])
    op.create_table(
        'retention_runs',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('day', sa.Date(), nullable=False, index=True),
        sa.Column('trigger', sa.String(length=16), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('raw_purged', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('links_removed', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('residents_due', sa.JSON(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table('retention_runs')
    with op.batch_alter_table('residents') as batch:
        batch.drop_constraint(batch.f('fk_residents_erased_by_staff'), type_='foreignkey')
        batch.drop_column('erasure_reason')
        batch.drop_column('erased_by')
        batch.drop_column('erased_at')
