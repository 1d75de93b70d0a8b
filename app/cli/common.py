"""What every `chasm` command shares: one way to fail and one way to open the store.

A command that cannot do its work prints `error: <message>` on stderr and exits 1, with nothing on
stdout but what `--json` asked for; a wrong option or argument is a usage error (Typer's own
message) and exits 2. The packages raise specific errors (`IngestError`, `ScenarioError`...) and the
commands turn them into messages here, so no command prints a traceback for a refusal.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sqlalchemy import Engine


def fail(message: str) -> typer.Exit:
    """Print `error: message` on stderr; the caller raises the returned Exit (code 1)."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _refusal_types() -> tuple[type[Exception], ...]:
    from db.accounts import AccountError
    from db.errors import IngestError, SchedulerLockedError, SchemaOutOfDateError
    from model.calibrate import CalibrationError
    from model.scenario import ScenarioError

    return (AccountError, CalibrationError, IngestError, ScenarioError, SchedulerLockedError,
            SchemaOutOfDateError)


@contextmanager
def refusals() -> Iterator[None]:
    """Turn the packages' own errors raised inside the block into `fail` (exit 1, no traceback)."""
    try:
        yield
    except _refusal_types() as error:
        raise fail(str(error)) from None


def open_store() -> Engine:
    """The process's engine, refusing a database whose schema is out of date."""
    from db.engine import get_engine
    from db.migrate import require_current_schema

    engine = get_engine()
    with refusals():
        require_current_schema(engine)
    return engine
