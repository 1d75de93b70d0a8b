"""Forecast documents: what the nightly job stores and the page, the PDF and the CLI read.

The document's shape is `app.services.documents.ForecastDocument`; this module computes, stores and
reads it back.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from app.services.backtests import backtest, backtest_sentence
from app.services.calibration import calibrate_store, stored_calibration
from app.services.documents import (
    Bands,
    BassBaseline,
    Driver,
    FacilityForecast,
    ForecastDocument,
    ObservedSeries,
    PlanForecast,
    PosteriorSummary,
    Ranking,
    SkippedPlan,
    recommended_plan,
)
from app.services.recorded import observed_series, recorded_scenario
from app.services.settings import Settings, get_settings
from app.services.snapshots import latest_forecast as latest_forecast
from app.services.snapshots import readable
from db import forecasts as store
from db.queries import weekly_metrics
from model.bass import fit_bass
from model.calibrate import Calibration
from model.forecast import forecast_plans, rank_plans
from model.plan import Costs, Plan

log = logging.getLogger(__name__)

DRIVER_WORLDS = 40
"""Plausible worlds (posterior draws) the recommended plan's drivers are read over (20 when quick)."""

PLAN_STATS = ("probability_of_target", "expected_at_horizon", "expected_week_of_target", "cost",
              "cost_per_point", "points_gained", "downtime_hours_saved", "downtime_saving")
"""The columns of model.forecast.rank_plans that a PlanForecast carries."""


class Refresh(TypedDict):
    """What one refresh-forecast run did."""

    recalibrated: bool
    snapshots: list[int]
    """The ids of the snapshots stored."""
    data_version: str


def _rounded(values: Iterable[float]) -> list[float]:
    return [round(float(v), 6) for v in values]


def _bands(frame: pd.DataFrame) -> Bands:
    return Bands.model_validate({c: [int(v) for v in frame[c]] if c == "week" else _rounded(frame[c])
                                 for c in frame.columns})


def forecast_document(engine: Engine, *, facility: str | None = None, horizon: int = 26,
                      plans: tuple[Plan, ...] = (), target: float = 0.7, target_week: int | None = None,
                      seed: int = 0, quick: bool = False, costs: Costs | None = None) -> ForecastDocument:
    """The forecast as leadership reads it, from the latest calibration (fitting one if needed).

    `costs` price the current plan (the organisation's; default: `Settings`). The backtest is the
    latest stored forecast's (the nightly refresh runs a new one).
    """
    series = observed_series(engine, facility)
    row = _current_calibration(engine, facility, weeks=len(series), seed=seed, quick=quick)
    cal = stored_calibration(row)
    forecasts = forecast_plans(cal, horizon=horizon, plans=plans, target=target, target_week=target_week,
                               seed=seed, costs=costs or get_settings().costs())
    ranked = rank_plans(forecasts).set_index("plan")
    t = cal.observed.size
    bass = fit_bass(cal.observed).forecast(horizon)
    previous = latest_forecast(engine, facility)
    tested = previous.backtest if previous else None
    shown = [PlanForecast.model_validate({"plan": f.plan.name, "description": f.plan.description,
                                          "bands": _bands(f.bands()), **_plan_stats(ranked, f.plan.name)})
             for f in forecasts]
    best = recommended_plan(shown)
    if best is not None:
        plan = next(f.plan for f in forecasts if f.plan.name == best.plan)
        index = shown.index(best)
        shown[index] = best.model_copy(update={"drivers": plan_drivers(
            cal, plan, target_week=forecasts[0].target_week, seed=seed, quick=quick)})
    return ForecastDocument(
        facility=facility, data_version=row["data_version"], calibration_id=row["id"],
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        observed=ObservedSeries(week=series["week"].tolist()[:t],
                                week_start=list(pd.to_datetime(series["week_start"]).dt.date)[:t],
                                active_share=_rounded(cal.observed)),
        horizon=horizon, target=target, target_week=forecasts[0].target_week,
        plans=shown, recommended=None if best is None else best.plan,
        baseline=BassBaseline(week=list(range(t + 1, t + horizon + 1)), mean=_rounded(bass["mean"]),
                              lo_80=_rounded(bass["lo_80"]), hi_80=_rounded(bass["hi_80"])),
        ranking=Ranking(by_probability=list(ranked.index),
                        by_cost_per_point=list(ranked["cost_per_point"].dropna().sort_values().index)),
        backtest=tested, sentence=backtest_sentence(tested),
        posterior=PosteriorSummary(mean=cal.posterior.mean(), interval90=cal.posterior.interval(0.9)),
    )


def plan_drivers(cal: Calibration, plan: Plan, *, target_week: int, seed: int = 0,
                 quick: bool = False) -> list[Driver]:
    """Which of a plan's interventions matter, the most first: each one's effect on the active share
    at the target week, left out in turn, over the calibration's plausible worlds (`model.whatif`)."""
    from app.services.whatif import Source, simulate_over_posterior

    observed = cal.observed.size
    scenario = plan.apply(cal.scenario, after_week=observed)
    whatif = simulate_over_posterior(scenario, Source(cal.posterior, "the calibration"),
                                     worlds=DRIVER_WORLDS // 2 if quick else DRIVER_WORLDS,
                                     weeks=max(target_week, observed + 1), seed=seed,
                                     effects_from=observed + 1)
    drivers = [Driver(label=e.label, week=e.week, **{k: v for k, v in e.stats().items() if k != "p50"})
               for e in whatif.effects]
    return sorted(drivers, key=lambda d: -d.mean)


def _current_calibration(engine: Engine, facility: str | None, *, weeks: int, seed: int,
                         quick: bool) -> dict[str, Any]:
    """The latest calibration row, fitting a new one first on new data or when fitted on fewer weeks."""
    row = store.latest_calibration(engine, facility)
    if row is not None and row["data_version"] == store.data_version(engine) \
            and len(row["observed"]) == weeks:
        return row
    calibrate_store(engine, facility=facility, seed=seed, quick=quick)
    fitted = store.latest_calibration(engine, facility)
    if fitted is None:
        raise RuntimeError(f"the calibration just stored for {facility or 'all facilities'} is missing")
    return fitted


def _number(value: float | None) -> float | None:
    return None if value is None or (isinstance(value, float) and np.isnan(value)) else float(value)


def _plan_stats(ranked: pd.DataFrame, plan: str) -> dict[str, float | None]:
    """One plan's row of rank_plans, NaN as None (PlanForecast validates the values)."""
    return {k: _number(ranked[k].loc[plan]) for k in PLAN_STATS}


def alternative_plans(engine: Engine, folder: Path | None = None,
                      costs: Costs | None = None) -> tuple[tuple[Plan, ...], list[SkippedPlan]]:
    """The organisation's alternative plans that can be forecast now, and why the others cannot.

    Plans are the adopted ones (stored in the database: from the simulator, the optimiser or
    `chasm plan adopt`), then the `*.toml` files of the plans folder (`CHASM_PLANS_DIR`, default
    `<data dir>/plans`; the demo puts three there), read against the recorded scenario. A plan that is
    not valid, one with an intervention in a week the data already covers, or a name already taken
    is left out with its reason. `costs`: the organisation's (default: `Settings`).

    Returns:
        The adopted plans (oldest first) and the files (in name order), and those left out with
        their reasons.
    """
    from app.services.plans import adopted_plans
    from model.plan import CURRENT, load_plan
    from model.scenario import ScenarioError

    settings = get_settings()
    folder = folder or settings.store.resolved_plans_dir
    base, weeks = recorded_scenario(engine), len(observed_series(engine))
    costs = costs or settings.costs()
    adopted, skipped = adopted_plans(engine, costs)
    plans: list[Plan] = list(adopted)
    for path in sorted(folder.glob("*.toml")):
        try:
            plan = load_plan(path, base, costs)
            plan.apply(base, after_week=weeks)
        except ScenarioError as exc:
            skipped.append(SkippedPlan(file=path.name, reason=str(exc).removeprefix(f"{path}: ")))
            continue
        if plan.name in {CURRENT.name, *(p.name for p in plans)}:
            skipped.append(SkippedPlan(file=path.name,
                                       reason=f"the name {plan.name!r} is taken by another plan"))
            continue
        plans.append(plan)
    return tuple(plans), skipped


def _inputs_version(engine: Engine, folder: Path, settings: Settings) -> str:
    """Changes whenever a plan is adopted or retired, a plan file is added, removed or edited, or a
    forecast setting changes."""
    from app.services.plans import adopted_version

    digest = hashlib.sha256(settings.forecast_inputs_json().encode())
    digest.update(adopted_version(engine))
    for path in sorted(folder.glob("*.toml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _facility_forecasts(engine: Engine, *, horizon: int, document: ForecastDocument, seed: int,
                        tell: Progress, at: float, width: float) -> list[FacilityForecast]:
    """Each facility's pooled early warning, to the organisation-wide forecast's target date; progress
    in facilities done."""
    from app.services.facility_forecasts import facility_forecasts

    def told(done: int, total: int) -> None:
        tell(f"Forecasting each facility ({done} of {total} done)", at + width * done / max(total, 1))

    tell("Forecasting each facility", at)
    return facility_forecasts(engine, horizon=horizon, target=document.target,
                              target_date=document.date_of(document.target_week), seed=seed, progress=told)


Progress = Callable[[str, float], None]
"""Told what a refresh is doing, in words, and how far along it is (0 to 1)."""


def refresh_forecast(engine: Engine, *, horizon: int = 26, seed: int = 0, quick: bool = False,
                     facilities: bool = False, progress: Progress | None = None) -> Refresh:
    """Job `refresh-forecast`: recalibrate when new data arrived, then store a forecast snapshot.

    A stored snapshot that this version cannot read (another schema version, or invalid) is
    recomputed as if it were missing.

    Args:
        engine: the store's engine.
        horizon: weeks ahead.
        seed: the run's seed.
        quick: smaller calibrations (tests, small machines).
        facilities: also refit and snapshot every facility (per-facility fits beside the pooled one).
        progress: told each step in words and the share done (the page's progress bar); fitting
            takes about half of each scope's time, testing on the past a third.

    Returns:
        Whether it recalibrated, the ids of the snapshots stored, the data version.
    """
    version = store.data_version(engine)
    settings = get_settings()
    inputs_version = _inputs_version(engine, settings.store.resolved_plans_dir, settings)
    scopes: list[str | None] = [None]
    if facilities:
        scopes += sorted(weekly_metrics(engine)["facility"].unique())
    recalibrated, snapshots = False, list[int]()
    tell = progress or (lambda what, done: None)
    for number, facility in enumerate(scopes):
        where = "all facilities" if facility is None else facility

        def step(start: float, width: float, what: str, at: int = number) -> Callable[[int, int], None]:
            """A (done, total) callback of one step, told as a share of the whole refresh."""
            def told(done: int, total: int) -> None:
                tell(what, (at + start + width * done / max(total, 1)) / len(scopes))
            return told

        latest = store.latest_calibration(engine, facility)
        if latest is None or latest["data_version"] != version:
            calibrate_store(engine, facility=facility, seed=seed, quick=quick,
                            progress=step(0.0, 0.5, f"Fitting the model to the stored metrics ({where})"))
            recalibrated = True
        elif ((snap := store.latest_snapshot(engine, facility)) and snap["data_version"] == version
              and (shown := readable(snap)) is not None and shown.inputs_version == inputs_version):
            continue  # no new data, plans or settings since the last snapshot
        tell(f"Testing the model on the past ({where})", (number + 0.5) / len(scopes))
        tested = (backtest(engine, facility=facility, seed=seed, step=6 if quick else 2,
                           progress=step(0.5, 0.35, f"Testing the model on the past ({where})"))
                  if facility is None else None)
        tell(f"Forecasting each plan ({where})", (number + 0.85) / len(scopes))
        # Plans are organisation-wide (champion counts, training waves): only its forecast weighs them.
        plans, skipped = alternative_plans(engine, costs=settings.costs()) if facility is None else ((), [])
        document = forecast_document(engine, facility=facility, horizon=horizon, plans=plans, seed=seed,
                                     quick=quick, target=settings.target_share, costs=settings.costs())
        early_warnings = (_facility_forecasts(engine, horizon=horizon, document=document, seed=seed,
                                              tell=tell, at=(number + 0.9) / len(scopes),
                                              width=0.1 / len(scopes))
                          if facility is None else [])
        document = document.model_copy(update={
            "backtest": tested, "sentence": backtest_sentence(tested), "skipped_plans": skipped,
            "inputs_version": inputs_version, "facilities": early_warnings})
        snapshots.append(store.store_snapshot(engine, calibration_id=document.calibration_id,
                                              facility=facility, data_version=version,
                                              document=document.model_dump(mode="json")))
    tell("Forecast ready", 1.0)
    return {"recalibrated": recalibrated, "snapshots": snapshots, "data_version": version}
