"""phone: callback windows, attempts and states; calls from the phone system; desk phones

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('staff') as batch:
        batch.add_column(sa.Column('phone', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('extension', sa.String(length=16), nullable=True))
        batch.create_unique_constraint(batch.f('uq_staff_phone'), ['phone'])
        batch.create_unique_constraint(batch.f('uq_staff_extension'), ['extension'])
    with op.batch_alter_table('contacts') as batch:
        batch.add_column(sa.Column('possible_resident_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f('fk_contacts_possible_resident_id_residents'),
                                 'residents', ['possible_resident_id'], ['id'])
    with op.batch_alter_table('callback_requests') as batch:
        batch.alter_column('postal_code', existing_type=sa.String(length=5), nullable=True)
        batch.add_column(sa.Column('reason', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('source', sa.String(length=16), nullable=False,
                                   server_default='form'))
        batch.add_column(sa.Column('window_from', TS, nullable=True))
        batch.add_column(sa.Column('window_to', TS, nullable=True))
        batch.add_column(sa.Column('max_attempts', sa.Integer(), nullable=False,
                                   server_default='3'))
        batch.add_column(sa.Column('not_before', TS, nullable=True))
        batch.add_column(sa.Column('closed_at', TS, nullable=True))
        batch.drop_column('preferred_time')
    op.execute("UPDATE callback_requests SET state = 'queued' WHERE state = 'open'")
    op.create_table(
        'callback_attempts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('callback_id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('result', sa.String(length=16), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('at', TS, nullable=False),
        sa.ForeignKeyConstraint(['callback_id'], ['callback_requests.id'],
                                name=op.f('fk_callback_attempts_callback_id_callback_requests')),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'],
                                name=op.f('fk_callback_attempts_staff_id_staff')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_callback_attempts')),
    )
    op.create_index(op.f('ix_callback_attempts_callback_id'), 'callback_attempts',
                    ['callback_id'])
    with op.batch_alter_table('call_logs') as batch:
        batch.add_column(sa.Column('call_id', sa.String(length=100), nullable=True))
        batch.add_column(sa.Column('from_number', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('to_number', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('answered_at', TS, nullable=True))
        batch.add_column(sa.Column('ended_at', TS, nullable=True))
        batch.add_column(sa.Column('cause', sa.String(length=32), nullable=True))
        batch.alter_column('staff_id', existing_type=sa.Integer(), nullable=True)
        batch.create_unique_constraint(batch.f('uq_call_logs_call_id'), ['call_id'])
    op.create_table(
        'telephony_signatures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('signature', sa.String(length=64), nullable=False),
        sa.Column('at', TS, nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_telephony_signatures')),
        sa.UniqueConstraint('signature', name=op.f('uq_telephony_signatures_signature')),
    )
    op.create_index(op.f('ix_telephony_signatures_at'), 'telephony_signatures', ['at'])


def downgrade() -> None:
    op.drop_table('telephony_signatures')
    op.drop_table('callback_attempts')
    with op.batch_alter_table('call_logs') as batch:
        batch.drop_constraint('uq_call_logs_call_id', type_='unique')
        for column in ('call_id', 'from_number', 'to_number', 'answered_at', 'ended_at',
                       'cause'):
            batch.drop_column(column)
    with op.batch_alter_table('callback_requests') as batch:
        batch.add_column(sa.Column('preferred_time', sa.String(length=200), nullable=True))
        for column in ('reason', 'source', 'window_from', 'window_to', 'max_attempts',
                       'not_before', 'closed_at'):
            batch.drop_column(column)
    op.execute("UPDATE callback_requests SET state = 'open' WHERE state = 'queued'")
    with op.batch_alter_table('contacts') as batch:
        batch.drop_column('possible_resident_id')
    with op.batch_alter_table('staff') as batch:
        batch.drop_constraint('uq_staff_phone', type_='unique')
        batch.drop_constraint('uq_staff_extension', type_='unique')
        batch.drop_column('phone')
        batch.drop_column('extension')
