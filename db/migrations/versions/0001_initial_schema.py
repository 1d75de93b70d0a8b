"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-27 14:39:27.963948
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op


revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('facility',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('name_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_facility')),
    sa.UniqueConstraint('name_key', name=op.f('uq_facility_name_key'))
    )
    op.create_table('upload',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('file_name', sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
    sa.Column('sha256', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('uploaded_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('uploaded_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('inserted', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('outcome', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
    sa.Column('error_report', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_upload'))
    )
    with op.batch_alter_table('upload', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_upload_sha256'), ['sha256'], unique=False)

    op.create_table('intervention',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_intervention_facility_id_facility')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_intervention'))
    )
    op.create_table('revision',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('upload_id', sa.Integer(), nullable=False),
    sa.Column('table_name', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('previous_values', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['upload_id'], ['upload.id'], name=op.f('fk_revision_upload_id_upload')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_revision'))
    )
    with op.batch_alter_table('revision', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revision_record_id'), ['record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_revision_upload_id'), ['upload_id'], unique=False)

    op.create_table('technician_week',
    sa.Column('technician_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('eligible_work_orders', sa.Integer(), nullable=True),
    sa.Column('ai_assisted_work_orders', sa.Integer(), nullable=True),
    sa.Column('alerts_received', sa.Integer(), nullable=True),
    sa.Column('alerts_actioned', sa.Integer(), nullable=True),
    sa.Column('training_type', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
    sa.Column('training_hours', sa.Float(), nullable=True),
    sa.Column('champion', sa.Boolean(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('upload_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_technician_week_facility_id_facility')),
    sa.ForeignKeyConstraint(['upload_id'], ['upload.id'], name=op.f('fk_technician_week_upload_id_upload')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_technician_week')),
    sa.UniqueConstraint('technician_key', 'week_start', name=op.f('uq_technician_week_technician_key_week_start'))
    )
    with op.batch_alter_table('technician_week', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_technician_week_facility_id'), ['facility_id'], unique=False)

    op.create_table('weekly_metric',
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('technicians', sa.Integer(), nullable=False),
    sa.Column('active_users', sa.Integer(), nullable=False),
    sa.Column('work_orders', sa.Integer(), nullable=True),
    sa.Column('ai_assisted_work_orders', sa.Integer(), nullable=True),
    sa.Column('alerts', sa.Integer(), nullable=True),
    sa.Column('alerts_actioned', sa.Integer(), nullable=True),
    sa.Column('training_hours', sa.Float(), nullable=True),
    sa.Column('champions', sa.Integer(), nullable=True),
    sa.Column('unplanned_downtime_hours', sa.Float(), nullable=True),
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('facility_id', sa.Integer(), nullable=False),
    sa.Column('upload_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], name=op.f('fk_weekly_metric_facility_id_facility')),
    sa.ForeignKeyConstraint(['upload_id'], ['upload.id'], name=op.f('fk_weekly_metric_upload_id_upload')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_weekly_metric')),
    sa.UniqueConstraint('facility_id', 'week_start', name=op.f('uq_weekly_metric_facility_id_week_start'))
    )


def downgrade() -> None:
    op.drop_table('weekly_metric')
    with op.batch_alter_table('technician_week', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_technician_week_facility_id'))

    op.drop_table('technician_week')
    with op.batch_alter_table('revision', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revision_upload_id'))
        batch_op.drop_index(batch_op.f('ix_revision_record_id'))

    op.drop_table('revision')
    op.drop_table('intervention')
    with op.batch_alter_table('upload', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_upload_sha256'))

    op.drop_table('upload')
    op.drop_table('facility')
