"""Settings of the metrics store, read from `CHASM_*` environment variables when needed."""

from __future__ import annotations

import secrets
from pathlib import Path

from pydantic import SecretStr
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
    pseudonym_secret: SecretStr | None = None
    inbox_dir: Path | None = None
    plans_dir: Path | None = None
    ingest_cron: str = "0 6 * * mon"
    forecast_cron: str = "30 2 * * *"

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

    def technician_secret(self) -> bytes:
        """The HMAC key that pseudonymises technician ids.

        Taken from `CHASM_PSEUDONYM_SECRET`, else from a key file in the data directory that is
        created once, so the same person keeps the same key across uploads.
        """
        if self.pseudonym_secret is not None:
            return self.pseudonym_secret.get_secret_value().encode()
        key_file = self.data_dir / "pseudonym.key"
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_hex(32))
            key_file.chmod(0o600)
        return key_file.read_text().strip().encode()


def get_settings() -> StoreSettings:
    """Read the store settings from the environment now."""
    return StoreSettings()
