"""tracker indexes: technician-weeks by week (the latest week's technicians, each week's counts)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 08:30:00
"""
from collections.abc import Sequence

from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('technician_week', schema=None) as batch_op:
        batch_op.create_index('ix_technician_week_week_start', ['week_start'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('technician_week', schema=None) as batch_op:
        batch_op.drop_index('ix_technician_week_week_start')
