"""staff accounts: TOTP second factor, recovery codes, demo and disabled accounts, named
expiring revocable tokens, session stages and idle time, the login throttle

Revision ID: 0016
Revises: 0015
"""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('staff') as batch:
        batch.add_column(sa.Column('totp_secret', sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column('totp_last_step', sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column('demo', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('api_tokens') as batch:
        batch.add_column(sa.Column('name', sa.String(length=100), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True))
    # Tokens made before expiry existed get the default 90 days from now, not forever.
    op.get_bind().execute(sa.text("UPDATE api_tokens SET expires_at = :at"),
                          {"at": datetime.now(UTC) + timedelta(days=90)})
    with op.batch_alter_table('staff_sessions') as batch:
        batch.add_column(sa.Column('stage', sa.String(length=8), nullable=False,
                                   server_default='live'))
        batch.add_column(sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('pending_secret', sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column('next_path', sa.String(length=500), nullable=True))
        batch.add_column(sa.Column('language', sa.String(length=2), nullable=True))
    op.create_table(
        'staff_recovery_codes',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('staff_id', sa.Integer(), sa.ForeignKey('staff.id'), nullable=False,
                  index=True),
        sa.Column('code_hash', sa.String(length=200), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        'login_failures',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('key', sa.String(length=300), nullable=False, index=True),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False, index=True),
    )


def downgrade() -> None:
    op.drop_table('login_failures')
    op.drop_table('staff_recovery_codes')
    with op.batch_alter_table('staff_sessions') as batch:
        for column in ('language', 'next_path', 'pending_secret', 'last_seen_at', 'stage'):
            batch.drop_column(column)
    with op.batch_alter_table('api_tokens') as batch:
        for column in ('last_used_at', 'revoked_at', 'expires_at', 'name'):
            batch.drop_column(column)
    with op.batch_alter_table('staff') as batch:
        for column in ('disabled_at', 'demo', 'totp_last_step', 'totp_secret'):
            batch.drop_column(column)
