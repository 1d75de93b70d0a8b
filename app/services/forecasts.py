"""Forecast documents: what the nightly job stores and the page, the PDF and the CLI read."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from app.services.backtests import backtest, backtest_sentence
from app.services.calibration import calibrate_store, stored_calibration
from app.services.recorded import observed_series, recorded_scenario
from app.services.settings import ForecastSettings
from db import forecasts as store
from db.queries import weekly_metrics
from model.bass import fit_bass
from model.forecast import forecast_plans, rank_plans
from model.plan import Costs, Plan


def _bands_json(frame: pd.DataFrame) -> dict:
    return {c: [int(v) if c == "week" else round(float(v), 6) for v in frame[c]] for c in frame.columns}


def forecast_document(engine: Engine, *, facility: str | None = None, horizon: int = 26,
                      plans: tuple[Plan, ...] = (), target: float = 0.7, target_week: int | None = None,
                      seed: int = 0, quick: bool = False, costs: Costs | None = None) -> dict:
    """The forecast as leadership reads it, from the latest calibration (fitting one if needed).

    `costs` price the current plan (the organisation's; default: `ForecastSettings`).
    """
    row = store.latest_calibration(engine, facility)
    series = observed_series(engine, facility)
    stale = row is None or row["data_version"] != store.data_version(engine)
    if stale or len(row["observed"]) != len(series):  # new data, or fitted on fewer weeks
        calibrate_store(engine, facility=facility, seed=seed, quick=quick)
        row = store.latest_calibration(engine, facility)
    cal = stored_calibration(row)
    forecasts = forecast_plans(cal, horizon=horizon, plans=plans, target=target, target_week=target_week,
                               seed=seed, costs=costs or ForecastSettings().costs())
    ranked = rank_plans(forecasts).set_index("plan")
    t = cal.observed.size
    bass = fit_bass(cal.observed).forecast(horizon)
    snapshot = store.latest_snapshot(engine, facility)
    tested = (snapshot or {}).get("document", {}).get("backtest", {})
    return {
        "facility": facility, "data_version": row["data_version"], "calibration_id": row["id"],
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "observed": {"week": series["week"].tolist()[:t],
                     "week_start": [str(d) for d in series["week_start"]][:t],
                     "active_share": [round(float(v), 6) for v in cal.observed]},
        "horizon": horizon, "target": target, "target_week": forecasts[0].target_week,
        "plans": [{"plan": f.plan.name, "description": f.plan.description, "bands": _bands_json(f.bands()),
                   **_plan_stats(ranked.loc[f.plan.name])} for f in forecasts],
        "baseline": {"method": "bass", "week": list(range(t + 1, t + horizon + 1)),
                     "mean": [round(float(v), 6) for v in bass["mean"]],
                     "lo_80": [round(float(v), 6) for v in bass["lo_80"]],
                     "hi_80": [round(float(v), 6) for v in bass["hi_80"]]},
        "ranking": {"by_probability": list(ranked.index),
                    "by_cost_per_point": list(ranked["cost_per_point"].dropna().sort_values().index)},
        "backtest": tested,
        "sentence": backtest_sentence(tested),
        "posterior": {"mean": cal.posterior.mean(), "interval90": cal.posterior.interval(0.9)},
    }


def _plan_stats(row: pd.Series) -> dict:
    def num(v):
        return None if v is None or (isinstance(v, float) and np.isnan(v)) else float(v)
    keys = ("probability_of_target", "expected_at_horizon", "expected_week_of_target", "cost",
            "cost_per_point", "points_gained", "downtime_hours_saved", "downtime_saving")
    return {k: num(row[k]) for k in keys}


def latest_forecast(engine: Engine, facility: str | None = None) -> dict | None:
    """The newest stored forecast document, or None."""
    snapshot = store.latest_snapshot(engine, facility)
    return snapshot["document"] if snapshot else None


def alternative_plans(engine: Engine, folder: Path | None = None,
                      costs: Costs | None = None) -> tuple[tuple[Plan, ...], list[dict]]:
    """The organisation's alternative plans that can be forecast now, and why the others cannot.

    Plans are the `*.toml` files of the plans folder (`CHASM_PLANS_DIR`, default `<data dir>/plans`;
    the demo puts three there), read against the recorded scenario. A file that is not a valid plan,
    a plan with an intervention in a week the data already covers, or a name already taken is left
    out with its reason. `costs`: the organisation's (default: `ForecastSettings`).

    Returns:
        The plans in file-name order, and [{"file", "reason"}] for the files left out.
    """
    from db.config import get_settings
    from model.plan import CURRENT, load_plan
    from model.scenario import ScenarioError

    folder = folder or get_settings().resolved_plans_dir
    base, weeks = recorded_scenario(engine), len(observed_series(engine))
    costs = costs or ForecastSettings().costs()
    plans: list[Plan] = []
    skipped = []
    for path in sorted(folder.glob("*.toml")):
        try:
            plan = load_plan(path, base, costs)
            plan.apply(base, after_week=weeks)
        except ScenarioError as exc:
            skipped.append({"file": path.name, "reason": str(exc).removeprefix(f"{path}: ")})
            continue
        if plan.name in {CURRENT.name, *(p.name for p in plans)}:
            skipped.append({"file": path.name, "reason": f"the name {plan.name!r} is taken by another plan"})
            continue
        plans.append(plan)
    return tuple(plans), skipped


def _inputs_version(folder: Path, settings: ForecastSettings) -> str:
    """Changes whenever a plan file is added, removed or edited, or a forecast setting changes."""
    digest = hashlib.sha256(settings.model_dump_json().encode())
    for path in sorted(folder.glob("*.toml")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def refresh_forecast(engine: Engine, *, horizon: int = 26, seed: int = 0, quick: bool = False,
                     facilities: bool = False) -> dict:
    """Job `refresh-forecast`: recalibrate when new data arrived, then store a forecast snapshot.

    Args:
        engine: the store's engine.
        horizon: weeks ahead.
        seed: the run's seed.
        quick: smaller calibrations (tests, small machines).
        facilities: also refit and snapshot every facility (per-facility fits beside the pooled one).

    Returns:
        {"recalibrated": bool, "snapshots": [ids], "data_version": str}
    """
    from db.config import get_settings

    version = store.data_version(engine)
    settings = ForecastSettings()
    inputs_version = _inputs_version(get_settings().resolved_plans_dir, settings)
    scopes: list[str | None] = [None]
    if facilities:
        scopes += sorted(weekly_metrics(engine)["facility"].unique())
    recalibrated, snapshots = False, []
    for facility in scopes:
        latest = store.latest_calibration(engine, facility)
        if latest is None or latest["data_version"] != version:
            calibrate_store(engine, facility=facility, seed=seed, quick=quick)
            recalibrated = True
        elif ((snap := store.latest_snapshot(engine, facility)) and snap["data_version"] == version
              and snap["document"].get("inputs_version") == inputs_version):
            continue  # no new data, plans or settings since the last snapshot
        tested = (backtest(engine, facility=facility, seed=seed, step=16 if quick else 8)
                  if facility is None else {})
        # Plans are organisation-wide (champion counts, training waves): only its forecast weighs them.
        plans, skipped = alternative_plans(engine, costs=settings.costs()) if facility is None else ((), [])
        document = forecast_document(engine, facility=facility, horizon=horizon, plans=plans, seed=seed,
                                     quick=quick, target=settings.target_share, costs=settings.costs())
        document["backtest"], document["sentence"] = tested, backtest_sentence(tested)
        document["skipped_plans"], document["inputs_version"] = skipped, inputs_version
        cal_id = document["calibration_id"]
        snapshots.append(store.store_snapshot(engine, calibration_id=cal_id, facility=facility,
                                              data_version=version, document=document))
    return {"recalibrated": recalibrated, "snapshots": snapshots, "data_version": version}
