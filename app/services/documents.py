"""The forecast document and the backtest result: typed, versioned, stored as JSON.

`refresh_forecast` stores `ForecastDocument.model_dump(mode="json")` in a forecast snapshot; the page,
the PDF, the CLI and the deviation check read it back through `ForecastDocument.model_validate`. A
stored document of another schema version, or one that no longer validates, is not shown: the next
refresh recomputes it. Bump `SCHEMA_VERSION` whenever a stored document of the old shape would be read
wrongly (a field renamed, removed or given another meaning); a new optional field needs no bump.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator

SCHEMA_VERSION = 1
"""The shape of the stored forecast document; documents stored before it was recorded are version 1."""


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ObservedSeries(_Part):
    """The weekly active share the forecast was fitted on (week 1 = the first stored week)."""

    week: list[int]
    week_start: list[date]
    active_share: list[float]


class Bands(_Part):
    """A plan's forecast per future week: mean and percentiles (50/80/95% bands) of the runs."""

    week: list[int]
    mean: list[float]
    p025: list[float]
    p10: list[float]
    p25: list[float]
    p50: list[float]
    p75: list[float]
    p90: list[float]
    p975: list[float]


class Driver(_Part):
    """One intervention of a plan and how much it matters: the active share at the target week with
    the whole plan minus the share with it left out, over the calibration's plausible worlds."""

    label: str
    week: int
    """The rollout week it starts."""
    mean: float
    p05: float
    p95: float
    helps_share: float
    """The share of plausible worlds where it raises adoption."""


class PlanForecast(_Part):
    """One plan's forecast and what it costs and gains against the current plan."""

    plan: str
    description: str = ""
    bands: Bands
    probability_of_target: float
    expected_at_horizon: float
    expected_week_of_target: float | None
    cost: float | None
    cost_per_point: float | None
    points_gained: float | None
    downtime_hours_saved: float | None
    downtime_saving: float | None
    drivers: list[Driver] = Field(default_factory=list)
    """The recommended plan's interventions, the one that matters most first (empty for the others)."""


class BassBaseline(_Part):
    """The Bass curve fitted to the observed series, with its 80% band: the forecast to beat."""

    method: str = "bass"
    week: list[int]
    mean: list[float]
    lo_80: list[float]
    hi_80: list[float]


class FacilityForecast(_Part):
    """One facility's early-warning forecast (`app.services.facility_forecasts`), pooled across facilities."""

    facility: str
    weeks_live: int
    """Weeks it has reported since its go-live."""
    last_week_start: date
    now: float
    """Its latest active share."""
    week_start: list[date]
    """The forecast's weeks (Mondays)."""
    p10: list[float]
    p50: list[float]
    p90: list[float]
    chance_of_target: float
    """Share of forecast paths holding the target four weeks running, begun by the target date."""
    target_date: date
    prior: str
    """What it borrowed from, in words."""
    why: str


class Ranking(_Part):
    """Plan names, best first: by chance of the target, and by cost per point gained (priced plans)."""

    by_probability: list[str]
    by_cost_per_point: list[str]


class MethodScore(_Part):
    """How one method's past forecasts did: mean absolute error and 80%-band coverage (None: no origin)."""

    mae: float | None
    coverage80: float | None
    origins: int
    horizon: int
    inside: int = 0
    """Forecasts whose outcome fell inside the 80% band."""
    scored: int = 0
    """Forecasts scored (0 in documents stored before the backtest counted them)."""
    window_weeks: int = 0
    """The most recent weeks whose outcomes were scored."""


class BacktestResult(_Part):
    """A rolling-origin backtest of the model and of the Bass baseline on the same origins."""

    model: MethodScore
    bass: MethodScore


class SkippedPlan(_Part):
    """A plan file the forecast left out, and why."""

    file: str
    reason: str


class PosteriorSummary(_Part):
    """The calibration's posterior: mean and central 90% interval of each fitted parameter."""

    mean: dict[str, float]
    interval90: dict[str, tuple[float, float]]


class ForecastDocument(_Part):
    """The forecast as leadership reads it: what the nightly job stores and `chasm forecast --json` prints.

    `backtest` is None until the nightly refresh tested the model (`{}` in the JSON, as before it was
    typed); `skipped_plans` and `inputs_version` are set by the refresh.
    """

    schema_version: int = SCHEMA_VERSION
    facility: str | None
    data_version: str
    calibration_id: int
    created_at: str = Field(description="ISO 8601, UTC, to the second")
    observed: ObservedSeries
    horizon: int
    target: float
    target_week: int
    plans: list[PlanForecast]
    baseline: BassBaseline
    ranking: Ranking
    backtest: BacktestResult | None = None
    sentence: str = ""
    posterior: PosteriorSummary
    skipped_plans: list[SkippedPlan] = Field(default_factory=list)
    inputs_version: str | None = None
    facilities: list[FacilityForecast] = Field(default_factory=list)
    """Each facility's early-warning forecast (the organisation-wide document only; empty before #13)."""
    recommended: str | None = None
    """The plan the forecast recommends (an alternative with a better chance than the current plan's),
    or None when no alternative beats it."""

    @field_validator("schema_version")
    @classmethod
    def _known_version(cls, version: int) -> int:
        if version != SCHEMA_VERSION:
            raise ValueError(f"schema version {version} is not the one this version of Chasm reads "
                             f"({SCHEMA_VERSION})")
        return version

    @field_validator("backtest", mode="before")
    @classmethod
    def _untested(cls, value: Any) -> Any:
        return None if value == {} else value

    @field_serializer("backtest")
    def _dump_untested(self, value: BacktestResult | None) -> dict[str, Any]:
        return {} if value is None else value.model_dump()

    @property
    def horizon_week(self) -> int:
        """The last forecast week."""
        return self.observed.week[-1] + self.horizon

    def recommendation(self) -> PlanForecast | None:
        """The recommended plan: the one named by `recommended`, or for a document stored before it was
        (no drivers then), the alternative `recommended_plan` picks."""
        if self.recommended is not None:
            return next((p for p in self.plans if p.plan == self.recommended), None)
        return recommended_plan(self.plans)

    def date_of(self, week: int) -> date | None:
        """The Monday that starts rollout week `week`, from the observed calendar (None without one)."""
        if not self.observed.week_start:
            return None
        return self.observed.week_start[0] + timedelta(weeks=week - self.observed.week[0])


def recommended_plan(plans: list[PlanForecast]) -> PlanForecast | None:
    """The alternative to recommend: the best chance of the target (of equal chances, to the tenth of a
    point, the cheaper), when that chance is better than the current plan's (`plans[0]`)."""
    if len(plans) < 2:
        return None
    best = max(plans[1:], key=lambda p: (round(p.probability_of_target, 3), -(p.cost or 0.0)))
    return best if best.probability_of_target > plans[0].probability_of_target else None
