"""Engines (one per process and URL) and the write transaction every ingest goes through."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url

from db.config import get_settings

# Any constant works; it only has to be the same in every Chasm process.
_WRITE_LOCK_ID = 0x43484153


def create_store_engine(url: str, *, busy_timeout_ms: int = 30_000) -> Engine:
    """Build an engine for `url`, set up for several processes sharing one database.

    SQLite gets WAL mode, a busy timeout and foreign keys; its write transactions start with
    `BEGIN IMMEDIATE` so two writers queue instead of failing on a lock upgrade.

    Args:
        url: SQLAlchemy URL (`sqlite:///path` or `postgresql+psycopg://...`).
        busy_timeout_ms: How long a SQLite writer waits for another one.

    Returns:
        A new engine; callers in the app should prefer `get_engine()`.
    """
    sa_url = make_url(url)
    if sa_url.get_backend_name() != "sqlite":
        return create_engine(sa_url, pool_pre_ping=True)
    if sa_url.database and sa_url.database != ":memory:":
        Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(sa_url, connect_args={"timeout": busy_timeout_ms / 1000})
    _prepare_sqlite(engine, busy_timeout_ms)
    return engine


def _prepare_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        # 64 MB of page cache: a 100,000-row upload updates indexes without thrashing.
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("chasm_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@cache
def _engine_for(url: str, busy_timeout_ms: int) -> Engine:
    return create_store_engine(url, busy_timeout_ms=busy_timeout_ms)


def get_engine() -> Engine:
    """The process's engine for the configured database (built once per URL)."""
    settings = get_settings()
    return _engine_for(settings.resolved_database_url, settings.busy_timeout_ms)


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One all-or-nothing write, serialised with every other Chasm writer.

    SQLite: `BEGIN IMMEDIATE` takes the database's write lock up front. PostgreSQL: a
    transaction-scoped advisory lock, so concurrent uploads that touch the same facilities
    never deadlock or race on inserting the same new facility.

    Args:
        engine: The store's engine.

    Yields:
        A connection inside the transaction; it commits when the block ends without error.
    """
    with engine.connect() as conn:
        conn = conn.execution_options(chasm_write=True)
        with conn.begin():
            if engine.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _WRITE_LOCK_ID})
            yield conn


# PostgreSQL checks each written row's foreign keys with a planned lookup in the referenced table. At
# the default random_page_cost (4) it plans the lookup in 200 facilities as a scan of every row,
# cheaper on paper than the index for a table of two pages: a weekly upload's 20,000 checks took
# 0.30 s, by the primary key 0.16 s (EXPLAIN ANALYZE). The cost of a page in memory, as these are.
_KEY_LOOKUP_PAGE_COST = 1.1


@contextmanager
def keys_checked_by_index(conn: Connection) -> Iterator[None]:
    """Inside the block, PostgreSQL plans the foreign-key checks of the rows written as index lookups.

    The connection keeps a check's plan once made, so the first write's plan serves the next ones.
    The planner's setting is the configured one again after the block (and after a rollback).

    Args:
        conn: A connection inside a write transaction.
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.execute(text(f"SET LOCAL random_page_cost = {_KEY_LOOKUP_PAGE_COST}"))
    yield
    conn.execute(text("SET LOCAL random_page_cost TO DEFAULT"))
