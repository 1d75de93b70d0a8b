"""The single-scheduler lock: a PostgreSQL advisory lock, or a lock file beside SQLite."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout
from sqlalchemy import Engine, text

from db.config import get_settings
from db.errors import SchedulerLockedError

_SCHEDULER_LOCK_ID = 0x43485343
ALREADY_RUNNING = "another Chasm scheduler already runs against this database ({where})"


@contextmanager
def scheduler_lock(engine: Engine) -> Iterator[None]:
    """Hold the database's scheduler lock for the duration of the block.

    Args:
        engine: The store's engine.

    Yields:
        Nothing; the lock is released (or dies with the process) when the block ends.

    Raises:
        SchedulerLockedError: Another scheduler holds it.
    """
    if engine.dialect.name == "postgresql":
        with _advisory_lock(engine):
            yield
    else:
        with _file_lock(engine):
            yield


@contextmanager
def _advisory_lock(engine: Engine) -> Iterator[None]:
    # A session-level lock lives as long as this connection, so keep it out of the pool's reach.
    with engine.connect() as conn:
        query = text("SELECT pg_try_advisory_lock(:k)")
        acquired = conn.execute(query, {"k": _SCHEDULER_LOCK_ID}).scalar()
        conn.commit()
        if not acquired:
            where = f"PostgreSQL advisory lock {_SCHEDULER_LOCK_ID}"
            raise SchedulerLockedError(ALREADY_RUNNING.format(where=where))
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _SCHEDULER_LOCK_ID})
            conn.commit()


@contextmanager
def _file_lock(engine: Engine) -> Iterator[None]:
    database = engine.url.database
    if database and database != ":memory:":
        path = Path(f"{database}.scheduler.lock")
    else:
        path = get_settings().data_dir / "scheduler.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(path, timeout=0)
    try:
        lock.acquire()
    except Timeout as error:
        raise SchedulerLockedError(ALREADY_RUNNING.format(where=path)) from error
    try:
        yield
    finally:
        lock.release()
