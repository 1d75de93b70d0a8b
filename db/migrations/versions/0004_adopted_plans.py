"""adopted plans: scenarios or optimiser results the organisation adopted, as TOML text

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 14:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel.sql.sqltypes  # noqa: F401  (autogenerate renders sqlmodel.sql.sqltypes.AutoString)
from alembic import op


revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('adopted_plan',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('toml', sa.Text(), nullable=False),
    sa.Column('source', sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
    sa.Column('adopted_by', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('adopted_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_adopted_plan')),
    sa.UniqueConstraint('name', name=op.f('uq_adopted_plan_name'))
    )


def downgrade() -> None:
    op.drop_table('adopted_plan')
