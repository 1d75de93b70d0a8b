"""technician keys compare byte by byte (COLLATE "C") on PostgreSQL

A technician's key is an HMAC written in hex: its order means nothing to a person, and comparing
it under the database's language collation (en_US.UTF-8, C.UTF-8) keeps PostgreSQL from sorting
by abbreviated keys. Sorting 1.9 million technician-weeks by technician (the lifecycle summary's
window, building the unique key) took seconds longer for it; the enterprise backfill went from
a median of 20.3 s to 17.3 s in paired runs. Hex digits order the same either way, so no result changes. SQLite already
compares text byte by byte.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 18:20:00
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLES = ('technician_week', 'technician_state')


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in _TABLES:
        op.alter_column(table, 'technician_key', type_=sa.String(64, collation='C'),
                        existing_type=sa.String(64), existing_nullable=False)


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for table in _TABLES:
        op.alter_column(table, 'technician_key', type_=sa.String(64, collation='default'),
                        existing_type=sa.String(64, collation='C'), existing_nullable=False)
