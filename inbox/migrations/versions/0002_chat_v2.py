"""chat v2: message seq per conversation, ended chats, contact language, who joined

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('conversations') as batch:
        batch.add_column(sa.Column('contact_email', sa.String(length=254), nullable=True))
        batch.add_column(sa.Column('last_seq', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('ended_by', sa.String(length=16), nullable=True))
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(sa.Column('language', sa.String(length=8), nullable=True))
        batch.add_column(sa.Column('joined_by_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('joined_at', sa.DateTime(timezone=True), nullable=True))
        batch.create_foreign_key(op.f('fk_contacts_joined_by_id_staff'), 'staff',
                                 ['joined_by_id'], ['id'])
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('seq', sa.Integer(), nullable=False, server_default='0'))
    # Existing messages get their place in the conversation, in id order.
    op.execute("UPDATE messages SET seq = (SELECT COUNT(*) FROM messages m2 "
               "WHERE m2.conversation_id = messages.conversation_id AND m2.id <= messages.id)")
    op.execute("UPDATE conversations SET last_seq = (SELECT COUNT(*) FROM messages m "
               "WHERE m.conversation_id = conversations.id)")
    op.execute("UPDATE contacts SET language = (SELECT r.language FROM residents r "
               "WHERE r.id = contacts.resident_id)")


def downgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('seq')
    with op.batch_alter_table('contacts') as batch:
        batch.drop_constraint(op.f('fk_contacts_joined_by_id_staff'), type_='foreignkey')
        batch.drop_column('joined_at')
        batch.drop_column('joined_by_id')
        batch.drop_column('language')
    with op.batch_alter_table('conversations') as batch:
        batch.drop_column('ended_by')
        batch.drop_column('ended_at')
        batch.drop_column('last_seq')
        batch.drop_column('contact_email')
