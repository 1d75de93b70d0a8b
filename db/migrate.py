"""Alembic, driven from code: upgrade, downgrade, and the out-of-date schema check."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from db.config import get_settings
from db.errors import SchemaOutOfDateError

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(url: str | None = None) -> Config:
    """An Alembic configuration for `url` (default: the configured database).

    Args:
        url: SQLAlchemy URL of the database to migrate.

    Returns:
        A config whose `env.py` migrates that database with the store's metadata.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # ConfigParser interpolation would choke on '%' in passwords.
    target = url or get_settings().resolved_database_url
    config.set_main_option("sqlalchemy.url", target.replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Apply migrations up to `revision` (default: the latest).

    Args:
        url: SQLAlchemy URL of the database; default the configured one.
        revision: Target Alembic revision.
    """
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Undo migrations down to `revision` (default: an empty database).

    Args:
        url: SQLAlchemy URL of the database; default the configured one.
        revision: Target Alembic revision.
    """
    command.downgrade(alembic_config(url), revision)


def head_revision() -> str | None:
    """The revision this version of the code expects."""
    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None for an unmigrated database."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def require_current_schema(engine: Engine) -> None:
    """Refuse to work on a database whose schema does not match the code.

    Args:
        engine: The store's engine.

    Raises:
        SchemaOutOfDateError: The database needs `chasm db upgrade`.
    """
    current, head = current_revision(engine), head_revision()
    if current != head:
        raise SchemaOutOfDateError(current, head)
