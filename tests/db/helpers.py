"""Small helpers shared by the db tests."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, select

from db.models import SQLModel

DATA_TABLES = ("facility", "weekly_metric", "technician_week", "revision", "intervention")

FACILITY_CSV = """facility,week_start,technicians,active_users,work_orders,ai_assisted_work_orders
North Plant,2025-03-03,20,8,100,30
South Works,2025-03-03,15,3,80,10
North Plant,2025-03-10,20,9,110,35
"""


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode() if isinstance(content, str) else content)
    return path


def snapshot(engine: Engine, tables=DATA_TABLES) -> dict[str, list[tuple]]:
    """Every row of the data tables, to show a rejected upload changed nothing."""
    metadata = SQLModel.metadata.tables
    with engine.connect() as conn:
        return {t: sorted(map(tuple, conn.execute(select(metadata[t])).all()), key=repr) for t in tables}


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return len(conn.execute(select(SQLModel.metadata.tables[table])).all())


def clear(engine: Engine) -> None:
    """Delete every stored row (faster than a new database for each hypothesis example)."""
    with engine.begin() as conn:
        for table in reversed(SQLModel.metadata.sorted_tables):
            conn.execute(table.delete())
