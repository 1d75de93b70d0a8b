"""technician-week key by week first: a week's upload appends to the unique index instead of
touching a random page of it per row

The natural key (technician_key, week_start) led with the pseudonym, an HMAC: a weekly upload of
20,000 technicians dirtied about as many index pages, and on SQLite the commit then wrote most of
the index again (0.4 s an upload at 1.6 million technician-weeks, growing with the history). With
the week first the new rows land together at the end of the index. The unique constraint holds
the same pairs, and as its first column is the week it also serves the by-week reads, so the
separate week index of 0005 goes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 23:40:00
"""
from collections.abc import Sequence

from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('technician_week', schema=None) as batch_op:
        batch_op.drop_constraint('uq_technician_week_technician_key_week_start', type_='unique')
        batch_op.drop_index('ix_technician_week_week_start')
        batch_op.create_unique_constraint('uq_technician_week_week_start_technician_key',
                                          ['week_start', 'technician_key'])


def downgrade() -> None:
    with op.batch_alter_table('technician_week', schema=None) as batch_op:
        batch_op.drop_constraint('uq_technician_week_week_start_technician_key', type_='unique')
        batch_op.create_index('ix_technician_week_week_start', ['week_start'], unique=False)
        batch_op.create_unique_constraint('uq_technician_week_technician_key_week_start',
                                          ['technician_key', 'week_start'])
