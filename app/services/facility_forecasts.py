"""Per-facility early-warning forecasts, pooled across facilities (`model.early`).

A facility three weeks after its go-live borrows from the ones live for months: each facility's
curve is first fitted from the seed case's prior; then every facility is refitted from the prior
its *other* facilities describe (empirical Bayes over those live for POOL_WEEKS weeks or more,
`early.pooled_prior`), forecast, and its band calibrated on its own past. With fewer than two such
facilities the seed case's prior is used as it is.

Both passes run one task a facility on the calibration's executor (`executor_from_env`: the Dask
cluster at CHASM_DASK_ADDRESS, else the local process pool) once there are PARALLEL_FROM facilities
or more; fewer are fitted here, where starting the pool would cost more than it saves. Every task
has the caller's seed and the pooling is done here, in order, so the forecasts are the same bit for
bit whichever executor ran them, and with however many workers.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import closing
from dataclasses import dataclass, fields
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
from model.parallel import Executor, InProcess
from model.seedcase import seed_case_prior
from model.series import MIN_PERIODS, early_band_scale, widen

POOL_WEEKS = 8
"""Facilities live this long or longer are the ones a new facility borrows from."""
PARALLEL_FROM = 8
"""From this many facilities on, the fits run on the executor. A facility takes up to 2 s; a fresh
local pool costs about 10 s to start and warm up (the demo's 15 facilities: 31.6 s here, 29.2 s on a
fresh 2-worker pool, 21.0 s on one already running, as the calibration's usually is)."""


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
                       progress: Callable[[int, int], None] | None = None,
                       executor: Executor | None = None) -> list[FacilityForecast]:
    """Every facility's forecast `horizon` weeks past its latest week, pooled across facilities.

    Facilities with fewer than MIN_PERIODS weeks are left out. `progress` is told (facilities done,
    facilities) after each one (not during the first fits, a tenth of the work); an exception it
    raises (a cancelled page) stops the work there, cancelling the tasks not started. `target_date`
    defaults to the horizon's end of the latest facility. `executor` defaults to the calibration's
    (`executor_from_env`) from PARALLEL_FROM facilities on, else this process; any gives the same.
    """
    series = {name: frame for name, frame in facility_series(engine).items() if len(frame) >= MIN_PERIODS}
    if not series:
        return []
    if executor is None:
        from app.services.calibration import executor_from_env

        executor = executor_from_env() if len(series) >= PARALLEL_FROM else InProcess()
    tell = progress or (lambda done, total: None)
    base = seed_case_prior()
    first = {}
    with closing(executor.imap(_first_fit, [(frame["active_share"].to_numpy(), base, seed)
                                            for frame in series.values()])) as fits:
        for name, fitted in zip(series, fits, strict=True):
            first[name] = _Pooling.of(fitted)
    latest = max(frame["week_start"].iloc[-1] for frame in series.values())
    target_date = target_date or latest + timedelta(weeks=horizon)

    def tasks() -> Iterator[tuple[object, ...]]:
        for name, frame in series.items():
            others: list[early.Posterior] = [first[o] for o, f in series.items()
                                             if o != name and len(f) >= POOL_WEEKS]
            prior = early.pooled_prior(others, base, source=f"the organisation's {len(others)} other "
                                                            f"facilities live for {POOL_WEEKS} weeks or more")
            yield name, frame, prior, horizon, target, target_date, seed

    out = []
    with closing(executor.imap(_forecast_task, tasks())) as forecasts:
        for done, forecast in enumerate(forecasts, start=1):
            out.append(forecast)
            tell(done, len(series))
    return out


@dataclass(frozen=True)
class _Pooling(early.Posterior):
    """A facility's first fit as pooling reads it: its particles and their moments, computed once
    (pooled_prior reads every other facility's, for each facility), without the per-particle
    posterior over the error scale (11 MB a facility)."""

    cached_moments: tuple[np.ndarray, np.ndarray]

    @classmethod
    def of(cls, posterior: early.Posterior) -> _Pooling:
        """The fit's particles and moments (the same numbers pooled_prior would compute from it)."""
        parts = {f.name: getattr(posterior, f.name) for f in fields(early.Posterior)}
        return cls(**parts, cached_moments=posterior.moments())

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Weighted mean and covariance of z, as computed from the whole fit."""
        return self.cached_moments


def _first_fit(y: np.ndarray, base: early.Prior, seed: int) -> early.Posterior:
    """One facility's curve from the seed case's prior (a task: picklable in and out)."""
    fitted = early.fit(y, base, cumulative=False, seed=seed, particles=3000)
    return early.Posterior(fitted.z, fitted.weights, np.empty((len(fitted.z), 0)), fitted.prior,
                           fitted.observed, fitted.cumulative)


def _forecast_task(name: str, frame: pd.DataFrame, prior: early.Prior, horizon: int, target: float,
                   target_date: date, seed: int) -> FacilityForecast:
    """`_forecast` as a task (positional arguments, run in a worker)."""
    return _forecast(name, frame, prior, horizon=horizon, target=target, target_date=target_date, seed=seed)


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
