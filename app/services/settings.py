"""The app's settings (`CHASM_*` environment variables), read when needed.

No streamlit here: the scheduler's nightly forecast and the pages read the same values.
"""

from __future__ import annotations

from dataclasses import fields

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from model.plan import Costs


class ForecastSettings(BaseSettings):
    """What the organisation's forecasts assume."""

    model_config = SettingsConfigDict(env_prefix="CHASM_", extra="ignore")

    target_share: float = Field(0.7, ge=0.0, le=1.0)
    wage_per_hour: float = Field(Costs.wage_per_hour, ge=0.0)
    champion_hours_per_week: float = Field(Costs.champion_hours_per_week, ge=0.0)
    downtime_hours_per_week: float = Field(Costs.downtime_hours_per_week, ge=0.0)
    downtime_cost_per_hour: float = Field(Costs.downtime_cost_per_hour, ge=0.0)

    def costs(self) -> Costs:
        """The organisation's costs: they price every plan, unless a plan's own `[costs]` says otherwise."""
        return Costs(**{f.name: getattr(self, f.name) for f in fields(Costs)})


class AppSettings(ForecastSettings):
    """The web app's settings: the forecasts' and its own."""

    session_idle_minutes: int = 30
    inactive_weeks: int = 3
