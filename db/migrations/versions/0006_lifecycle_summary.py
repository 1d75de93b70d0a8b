"""lifecycle summary: per-technician state and per-week lifecycle counts, kept by the ingest

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 12:40:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op

from db import summary

revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'technician_state',
        sa.Column('technician_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column('facility_id', sa.Integer(), nullable=False),
        sa.Column('last_week', sa.Date(), nullable=False),
        sa.Column('last_was_active', sa.Boolean(), nullable=False),
        sa.Column('ever_active', sa.Boolean(), nullable=False),
        sa.Column('last_active', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['facility_id'], ['facility.id'], ),
        sa.PrimaryKeyConstraint('technician_key'),
    )
    if op.get_bind().dialect.name == 'postgresql':
        # Every weekly upload updates every row: room on each page for the new versions (HOT
        # updates, no index on an updated column) keeps the table from bloating between vacuums.
        op.execute('ALTER TABLE technician_state SET (fillfactor = 50)')
    op.create_table(
        'lifecycle_week',
        sa.Column('week_start', sa.Date(), nullable=False),
        sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column('technicians', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('week_start', 'status'),
    )
    # A store with technician-weeks already: build the summary from them.
    summary.rebuild(op.get_bind())


def downgrade() -> None:
    op.drop_table('lifecycle_week')
    op.drop_table('technician_state')
