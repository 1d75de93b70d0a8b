"""Per-facility early-warning forecasts, pooled across facilities (`model.early`).

A facility three weeks after its go-live borrows from the ones live for months: each facility's
curve is first fitted from the seed case's prior; then every facility is refitted from the prior
its *other* facilities describe (empirical Bayes over those live for POOL_WEEKS weeks or more,
`early.pooled_prior`), forecast, and its band calibrated on its own past. With fewer than two such
facilities the seed case's prior is used as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from app.services.documents import FacilityForecast
from app.services.recorded import observed_series
from db.queries import active_share, weekly_metrics
from model import early
from model.calibrate import check_series
from model.forecast import first_sustained
from model.seedcase import seed_case_prior
from model.series import MIN_PERIODS, early_band_scale, widen

POOL_WEEKS = 8
"""Facilities live this long or longer are the ones a new facility borrows from."""


def facility_series(engine: Engine) -> dict[str, pd.DataFrame]:
    """Each facility's weekly active share from its first reported week: week_start, active_share."""
    metrics = weekly_metrics(engine)
    out = {}
    for name, rows in metrics.groupby("facility", sort=True):
        weekly = rows.groupby("week_start")[["active_users", "technicians"]].sum().sort_index()
        out[str(name)] = pd.DataFrame({"week_start": pd.to_datetime(weekly.index).date,
                                       "active_share": active_share(weekly)}).reset_index(drop=True)
    return out


def facility_forecasts(engine: Engine, *, horizon: int = 26, target: float = 0.7,
                       target_date: date | None = None, seed: int = 0,
                       progress: Callable[[int, int], None] | None = None) -> list[FacilityForecast]:
    """Every facility's forecast `horizon` weeks past its latest week, pooled across facilities.

    Facilities with fewer than MIN_PERIODS weeks are left out. `progress` is told (facilities done,
    facilities) after each one; `target_date` defaults to the horizon's end of the latest facility.
    """
    series = {name: frame for name, frame in facility_series(engine).items() if len(frame) >= MIN_PERIODS}
    if not series:
        return []
    base = seed_case_prior()
    first = {name: early.fit(frame["active_share"].to_numpy(), base, cumulative=False, seed=seed,
                             particles=3000) for name, frame in series.items()}
    latest = max(frame["week_start"].iloc[-1] for frame in series.values())
    target_date = target_date or latest + timedelta(weeks=horizon)
    out = []
    for done, (name, frame) in enumerate(series.items(), start=1):
        others = [first[o] for o, f in series.items() if o != name and len(f) >= POOL_WEEKS]
        prior = early.pooled_prior(others, base, source=f"the organisation's {len(others)} other facilities "
                                                        f"live for {POOL_WEEKS} weeks or more")
        out.append(_forecast(name, frame, prior, horizon=horizon, target=target, target_date=target_date,
                             seed=seed))
        if progress is not None:
            progress(done, len(series))
    return out


def _forecast(name: str, frame: pd.DataFrame, prior: early.Prior, *, horizon: int, target: float,
              target_date: date, seed: int) -> FacilityForecast:
    """One weekly series' early warning from `prior`, its band calibrated on its own past."""
    y = frame["active_share"].to_numpy()
    fitted = early.forecast(early.fit(y, prior, cumulative=False, seed=seed), horizon, seed=seed, unit="week")
    paths = widen(fitted.paths, early_band_scale(y, min(horizon, 8), seed=seed, prior=prior))
    last = frame["week_start"].iloc[-1]
    weeks = [last + timedelta(weeks=k) for k in range(1, horizon + 1)]
    lo, median, hi = np.quantile(paths, [0.1, 0.5, 0.9], axis=0)
    by = sum(w <= target_date for w in weeks)
    chance = float((first_sustained(paths, target) < by).mean()) if by else float(y[-1] >= target)
    return FacilityForecast(
        facility=name, weeks_live=len(y), last_week_start=last, now=round(float(y[-1]), 6),
        week_start=weeks, p10=[round(float(v), 6) for v in lo], p50=[round(float(v), 6) for v in median],
        p90=[round(float(v), 6) for v in hi], chance_of_target=round(chance, 4), target_date=target_date,
        prior=prior.source, why=fitted.why)


def early_warning(engine: Engine, *, facility: str | None = None, horizon: int = 26, target: float = 0.7,
                  target_date: date | None = None, seed: int = 0) -> FacilityForecast:
    """The store's forecast before the agent-based fit can be made (fewer than MIN_WEEKS weeks).

    The organisation's (or one facility's) weekly series from MIN_PERIODS weeks, from the seed
    case's prior: what leadership can be told in the first weeks of a rollout.

    Raises:
        CalibrationError: no metrics, or fewer than MIN_PERIODS weeks.
    """
    frame = observed_series(engine, facility)
    check_series(frame["active_share"].to_numpy(), what="stored weekly metrics", minimum=MIN_PERIODS,
                 needs="an early warning")
    frame = frame.assign(week_start=pd.to_datetime(frame["week_start"]).dt.date)
    last = frame["week_start"].iloc[-1]
    return _forecast(facility or "all facilities", frame, seed_case_prior(), horizon=horizon, target=target,
                     target_date=target_date or last + timedelta(weeks=horizon), seed=seed)
