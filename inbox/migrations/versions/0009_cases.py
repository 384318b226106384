"""cases: key dates, urgency, version; a timeline of events; follow-ups

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table('cases') as batch:
        for column in ('process_steps', 'interventions', 'follow_up_at'):
            batch.drop_column(column)  # never written: the timeline replaces them
        batch.add_column(sa.Column('housing_type', sa.String(length=32), nullable=True))
        batch.add_column(sa.Column('eviction_date', sa.Date(), nullable=True))
        batch.add_column(sa.Column('hearing_date', sa.Date(), nullable=True))
        batch.add_column(sa.Column('discharge_date', sa.Date(), nullable=True))
        batch.add_column(sa.Column('urgency', sa.String(length=16), nullable=False,
                                   server_default='normal'))
        batch.add_column(sa.Column('previous_case_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('version', sa.Integer(), nullable=False,
                                   server_default='1'))
        batch.create_foreign_key(batch.f('fk_cases_previous_case_id_cases'), 'cases',
                                 ['previous_case_id'], ['id'])
    op.create_table(
        'case_events',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=True),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('at', TS, nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_case_events_case_id_cases')),
        sa.ForeignKeyConstraint(['staff_id'], ['staff.id'],
                                name=op.f('fk_case_events_staff_id_staff')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_events')),
    )
    op.create_index(op.f('ix_case_events_case_id'), 'case_events', ['case_id'])
    op.create_table(
        'follow_ups',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('due', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('note', sa.Text(), nullable=False),
        sa.Column('done_at', TS, nullable=True),
        sa.Column('reminded_at', TS, nullable=True),
        sa.Column('created_by', sa.Integer(), nullable=True),
        sa.Column('created_at', TS, nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_follow_ups_case_id_cases')),
        sa.ForeignKeyConstraint(['created_by'], ['staff.id'],
                                name=op.f('fk_follow_ups_created_by_staff')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_follow_ups')),
    )
    op.create_index(op.f('ix_follow_ups_case_id'), 'follow_ups', ['case_id'])
    op.create_index(op.f('ix_follow_ups_due'), 'follow_ups', ['due'])
    with op.batch_alter_table('access_log') as batch:
        batch.add_column(sa.Column('case_id', sa.Integer(), nullable=True))
        batch.create_foreign_key(batch.f('fk_access_log_case_id_cases'), 'cases',
                                 ['case_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('access_log') as batch:
        batch.drop_column('case_id')
    op.drop_table('follow_ups')
    op.drop_table('case_events')
    with op.batch_alter_table('cases') as batch:
        for column in ('housing_type', 'eviction_date', 'hearing_date', 'discharge_date',
                       'urgency', 'previous_case_id', 'version'):
            batch.drop_column(column)
        batch.add_column(sa.Column('process_steps', sa.JSON(), nullable=False,
                                   server_default='[]'))
        batch.add_column(sa.Column('interventions', sa.JSON(), nullable=False,
                                   server_default='[]'))
        batch.add_column(sa.Column('follow_up_at', TS, nullable=True))
