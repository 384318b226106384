"""secure messages: portal links, secure replies, access log rows by residents

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('secure_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('message_id', sa.Integer(), nullable=True),
    sa.Column('contact_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('code_hash', sa.String(length=64), nullable=True),
    sa.Column('code_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('wrong_codes', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_secure_links_conversation_id_conversations')),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_secure_links_message_id_messages')),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_secure_links_contact_id_contacts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_secure_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_secure_links_token_hash'))
    )
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('secure', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
        batch.add_column(sa.Column('opened_at', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('access_log') as batch:
        batch.alter_column('staff_id', existing_type=sa.Integer(), nullable=True)
        batch.add_column(sa.Column('actor', sa.String(length=60), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('access_log') as batch:
        batch.drop_column('actor')
        batch.alter_column('staff_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('opened_at')
        batch.drop_column('secure')
    op.drop_table('secure_links')
