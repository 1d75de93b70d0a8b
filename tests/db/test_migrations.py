from __future__ import annotations

from datetime import date

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Date, bindparam, inspect, text

from db import queries
from db.engine import create_store_engine
from db.errors import SchemaOutOfDateError
from db.migrate import downgrade, head_revision, require_current_schema, upgrade
from db.models import SQLModel
from tests.db.conftest import BACKENDS


@pytest.fixture(params=BACKENDS)
def empty_url(request, tmp_path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return request.getfixturevalue("postgres_database")()


def tables(url: str) -> set[str]:
    engine = create_store_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_from_empty_creates_every_table(empty_url):
    upgrade(empty_url)
    assert tables(empty_url) == set(SQLModel.metadata.tables) | {"alembic_version"}
    engine = create_store_engine(empty_url)
    require_current_schema(engine)
    engine.dispose()


def test_downgrade_to_base_and_back(empty_url):
    upgrade(empty_url)
    downgrade(empty_url)
    assert tables(empty_url) == {"alembic_version"}
    upgrade(empty_url)
    assert "weekly_metric" in tables(empty_url)


def test_no_pending_autogenerate_diff(empty_url):
    upgrade(empty_url)
    engine = create_store_engine(empty_url)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
    engine.dispose()


def test_empty_database_is_refused_with_instructions(empty_url):
    engine = create_store_engine(empty_url)
    with pytest.raises(SchemaOutOfDateError) as raised:
        require_current_schema(engine)
    engine.dispose()
    assert str(raised.value) == (
        "The database schema is out of date (empty, "
        f"this version of Chasm needs {head_revision()}). Run `chasm db upgrade` first."
    )


def test_sqlite_runs_in_wal_mode(tmp_path):
    engine = create_store_engine(f"sqlite:///{tmp_path / 'wal.db'}", busy_timeout_ms=1234)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 1234
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_the_lifecycle_summary_migration_builds_it_from_stored_weeks(empty_url):
    upgrade(empty_url, "0005")
    engine = create_store_engine(empty_url)
    rows = [("a", "2025-01-06", True), ("a", "2025-01-13", False), ("a", "2025-01-20", True),
            ("b", "2025-01-13", True)]
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO facility (id, name, name_key) VALUES (1, 'Hull', 'hull')"))
        for key, week, active in rows:
            values = {"k": key, "w": date.fromisoformat(week), "a": active}
            insert = text("INSERT INTO technician_week (technician_key, week_start, active, facility_id) "
                          "VALUES (:k, :w, :a, 1)").bindparams(bindparam("w", type_=Date))
            conn.execute(insert, values)
    upgrade(empty_url)
    counts = queries.lifecycle_counts(engine)
    assert [(str(w), s, n) for w, s, n in counts.itertuples(index=False)] == [
        ("2025-01-06", "new", 1), ("2025-01-13", "lapsed", 1), ("2025-01-13", "new", 1),
        ("2025-01-20", "reactivated", 1)]
    last = queries.last_active(engine)
    pairs = zip(last.technician_key, last.last_active, strict=True)
    assert [(k, str(w)) for k, w in pairs] == [("a", "2025-01-20")]
    engine.dispose()


def _technician_key_collations(url: str) -> dict[str, str | None]:
    engine = create_store_engine(url)
    try:
        found = inspect(engine)
        return {table: next(getattr(c["type"], "collation", None) for c in found.get_columns(table)
                            if c["name"] == "technician_key")
                for table in ("technician_week", "technician_state")}
    finally:
        engine.dispose()


def test_technician_keys_compare_byte_by_byte_and_the_downgrade_gives_the_collation_back(empty_url):
    """0008: on PostgreSQL the technician keys are COLLATE "C" (SQLite compares text byte by byte
    already); downgrading to 0007 gives them the database's collation again."""
    upgrade(empty_url)
    postgres = empty_url.startswith("postgresql")
    keyed = ("technician_week", "technician_state")
    assert _technician_key_collations(empty_url) == dict.fromkeys(keyed, "C" if postgres else None)
    downgrade(empty_url, "0007")
    assert _technician_key_collations(empty_url) == dict.fromkeys(keyed, None)
    upgrade(empty_url)
    assert _technician_key_collations(empty_url)["technician_week"] == ("C" if postgres else None)
