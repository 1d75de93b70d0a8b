"""Settings of the metrics store, read from `CHASM_*` environment variables when needed."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class StoreSettings(BaseSettings):
    """Everything the store needs to know about its surroundings.

    Built fresh by `get_settings()` so tests and operators can change the environment.
    """

    model_config = SettingsConfigDict(env_prefix="CHASM_", extra="ignore")

    data_dir: Path = Path("data")
    database_url: str | None = None
    busy_timeout_ms: int = 30_000
    upload_max_bytes: int = 20 * 1024 * 1024
    # Limits of one upload, checked before the work they bound; docs/store.md lists their messages.
    upload_max_rows: int = Field(default=1_000_000, ge=1)
    upload_max_columns: int = Field(default=100, ge=1)
    upload_max_line_bytes: int = Field(default=128 * 1024, ge=1)
    upload_max_unpacked_bytes: int = Field(default=200 * 1024 * 1024, ge=1)
    upload_max_compression_ratio: int = Field(default=100, ge=1)
    # A rejection keeps (in the audit log and on the page) this many problems per column, and counts the rest.
    upload_problems_per_column: int = Field(default=100, ge=1)
    # Weeks before this Monday are taken for typing mistakes (0001-01-01, 1900-01-01) and rejected.
    earliest_week: date = date(2000, 1, 3)
    pseudonym_secret: SecretStr | None = None
    inbox_dir: Path | None = None
    plans_dir: Path | None = None
    ingest_cron: str = "0 6 * * mon"
    forecast_cron: str = "30 2 * * *"
    # Inbox files kept in processed/ and failed/ hold raw technician ids: deleted after this many days.
    raw_file_retention_days: int = Field(default=30, ge=0)

    @property
    def resolved_database_url(self) -> str:
        """The configured URL, or a SQLite file in the data directory."""
        return self.database_url or f"sqlite:///{self.data_dir / 'chasm.db'}"

    @property
    def resolved_inbox_dir(self) -> Path:
        """The folder the `ingest-inbox` job watches."""
        return self.inbox_dir or self.data_dir / "inbox"

    @property
    def resolved_plans_dir(self) -> Path:
        """The folder of alternative-plan TOML files the nightly forecast weighs against the current plan."""
        return self.plans_dir or self.data_dir / "plans"

    @property
    def legacy_key_file(self) -> Path:
        """Where earlier versions kept the pseudonym key; a store without a key adopts this file.

        The key itself now lives in the store (`db.pseudonym_key.technician_secret`).
        """
        return self.data_dir / "pseudonym.key"


def get_settings() -> StoreSettings:
    """Read the store settings from the environment now."""
    return StoreSettings()
