"""The application's settings: one class over the `CHASM_*` environment variables, read when needed.

No streamlit here: the scheduler's nightly forecast, the CLI and the pages read the same values.
The store's own settings stay in `db.config.StoreSettings` (db knows nothing of the app); `Settings.store`
reads them from the same environment.
"""

from __future__ import annotations

import os
from dataclasses import fields
from functools import cached_property
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from db.config import StoreSettings
from model.budget import DEFAULT_MAX_BYTES, DEFAULT_MAX_TECHNICIAN_WEEKS
from model.plan import Costs

FORECAST_INPUTS = frozenset({"target_share", *(f.name for f in fields(Costs))})
"""The settings a forecast depends on: changing one makes the nightly job forecast again."""


class Settings(BaseSettings):
    """Everything the application reads from its environment (`CHASM_<FIELD>`, e.g. `CHASM_TARGET_SHARE`)."""

    # An empty variable counts as unset (`CHASM_SMTP_HOST=` turns e-mail off, as it always did).
    model_config = SettingsConfigDict(env_prefix="CHASM_", extra="ignore", env_ignore_empty=True)

    # What the organisation's forecasts assume.
    target_share: float = Field(0.7, ge=0.0, le=1.0)
    wage_per_hour: float = Field(Costs.wage_per_hour, ge=0.0)
    champion_hours_per_week: float = Field(Costs.champion_hours_per_week, ge=0.0)
    downtime_hours_per_week: float = Field(Costs.downtime_hours_per_week, ge=0.0)
    downtime_cost_per_hour: float = Field(Costs.downtime_cost_per_hour, ge=0.0)
    currency: str = Field("€", min_length=1, max_length=5)
    """How money is written on the pages, in the brief and on the command line (`CHASM_CURRENCY=£`)."""
    # The web app.
    session_idle_minutes: int = Field(30, ge=1)
    session_secret: SecretStr | None = None
    """Signs the cookie that keeps a browser signed in across a refresh (else `<data dir>/session.key`,
    made on first use); set the same one on every server behind one address."""
    inactive_weeks: int = Field(3, ge=1)
    admin_password: SecretStr | None = None
    """The `admin` account's password at the first start (else a one-time password is printed)."""
    # Where calibration batches run: a Dask scheduler's address, or this machine when empty.
    dask_address: str = ""
    # Deviation alerts by e-mail: sent when both a host and a recipient are set.
    smtp_host: str | None = None
    smtp_port: int = Field(25, ge=1, le=65535)
    smtp_from: str = "chasm@localhost"
    alert_to: str | None = None
    # The simulator (CLI and web): what one simulation may take, and where edge lists may come from.
    simulation_max_bytes: int = Field(DEFAULT_MAX_BYTES, ge=1)
    """Memory one simulation may need (estimated before it starts; 2.0 GB)."""
    simulation_max_technician_weeks: int = Field(DEFAULT_MAX_TECHNICIAN_WEEKS, ge=1)
    """Technicians x weeks x runs one simulation may take."""
    network_dirs: Annotated[tuple[Path, ...], NoDecode] = ()
    """Folders edge-list networks may come from besides the scenario's own and the shipped data
    (`CHASM_NETWORK_DIRS`, separated like PATH: `/srv/a:/srv/b`)."""

    @field_validator("network_dirs", mode="before")
    @classmethod
    def _split_dirs(cls, value: object) -> object:
        return tuple(p for p in value.split(os.pathsep) if p) if isinstance(value, str) else value

    @cached_property
    def store(self) -> StoreSettings:
        """The store's settings (database, data folder, schedules...), from the same environment."""
        return StoreSettings()

    def costs(self) -> Costs:
        """The organisation's costs: they price every plan, unless a plan's own `[costs]` says otherwise."""
        return Costs(**{f.name: getattr(self, f.name) for f in fields(Costs)})

    def forecast_inputs_json(self) -> str:
        """The settings a forecast depends on, as JSON (what the nightly job fingerprints)."""
        return self.model_dump_json(include=set(FORECAST_INPUTS))


ForecastSettings = Settings
"""The name of the forecasts' settings before they joined the one class."""
AppSettings = Settings
"""The name of the web app's settings before they joined the one class."""


def get_settings() -> Settings:
    """Read the application's settings from the environment now."""
    return Settings()
