"""Orchestration of the store and the simulator: calibrate to uploads, forecast, backtest, alert.

This is the one place that reads db/ and runs model/ together (the nightly re-forecast, the
deviation check, the CLI's calibrate/forecast/backtest and the Forecast page).
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from app.settings import ForecastSettings
from db import forecasts as store
from db.queries import interventions as logged_interventions
from db.queries import weekly_metrics
from model.abc import Posterior
from model.bass import fit_bass
from model.calibrate import Calibration, CalibrationError, calibrate
from model.forecast import forecast_plans, rank_plans
from model.parallel import DaskCluster, Executor, LocalPool
from model.plan import Costs, Plan
from model.scenario import (
    Champions,
    Intervention,
    Scenario,
    load_scenario,
    scenario_from_toml,
    scenario_to_toml,
)

ROLLOUT = Path(__file__).resolve().parent.parent / "seed_data" / "scenarios" / "rollout.toml"

# What a logged intervention of each kind did to the levers, when the log gives no settings.
KIND_SETTINGS: dict[str, dict] = {
    "cmms_integration": {"friction_minutes": 0.5},
    "kpi_change": {"kpi": "downtime_prevented"},
    "training_wave": {"training_per_week": 20, "training_hours": 8.0, "training_mode": "hands_on"},
    "transparency": {"transparency": 0.8},
    "support": {"support": 0.5},
}


def replayed_settings(kind: str, settings: dict | None) -> dict:
    """The lever values a logged intervention sets when the forecast replays it: its own, else the kind's."""
    return dict(settings if isinstance(settings, dict) else KIND_SETTINGS.get(kind, {}))


def describe_replay(kind: str, settings: dict | None) -> str:
    """What the forecast replays for one log entry, in words ("" for nothing)."""
    values = replayed_settings(kind, settings)
    parts = [f"{k} = {v:g}" if isinstance(v, int | float) else f"{k} = {v}" for k, v in values.items()]
    if kind == "champions":
        parts.append("1 champion per 12 technicians, in every facility")
    return ", ".join(parts)


def observed_series(engine: Engine, facility: str | None = None) -> pd.DataFrame:
    """Weekly active share from the stored metrics: week (1 = first stored week), week_start, share.

    Raises:
        CalibrationError: no metrics (for the facility).
    """
    metrics = weekly_metrics(engine, facility=facility)
    if metrics.empty:
        where = f" for facility {facility!r}" if facility else ""
        raise CalibrationError(f"no weekly metrics stored{where}: upload a file or load the demo")
    weekly = metrics.groupby("week_start")[["active_users", "technicians"]].sum().sort_index()
    frame = pd.DataFrame({"week_start": weekly.index,
                          "active_share": (weekly["active_users"] / weekly["technicians"]).astype(float)})
    frame.insert(0, "week", np.arange(1, len(frame) + 1))
    return frame.reset_index(drop=True)


def recorded_scenario(engine: Engine, facility: str | None = None) -> Scenario:
    """The rollout as it happened: stored headcounts and the intervention log on the rollout preset.

    Facility-scoped log entries apply only to that facility's fit; kinds without lever settings
    (communications, reviews) change nothing in the model.
    """
    metrics = weekly_metrics(engine, facility=facility)
    if metrics.empty:
        raise CalibrationError(f"no weekly metrics stored for facility {facility!r}" if facility
                               else "no weekly metrics stored: upload a file or load the demo")
    first_week = metrics["week_start"].min()
    latest = metrics[metrics["week_start"] == metrics["week_start"].max()]
    base = load_scenario(ROLLOUT)
    headcount = int(latest["technicians"].sum())
    org = replace(base.organisation, technicians=headcount, facilities=int(latest["facility"].nunique()),
                  pilot_technicians=min(base.organisation.pilot_technicians, headcount // 4))
    log = logged_interventions(engine)
    items = []
    for row in log.itertuples():
        scoped = isinstance(row.facility, str)
        if scoped and (facility is None or row.facility.casefold() != facility.casefold()):
            continue
        week = (pd.Timestamp(row.week_start) - pd.Timestamp(first_week)).days // 7 + 1
        if week < 1:
            continue
        settings = replayed_settings(row.kind, row.settings)
        champions = None
        if row.kind == "champions":
            count = max(1, org.technicians // 12)
            champions = Champions(count=min(count, org.technicians), strategy="facility")
        if settings or champions:
            items.append(Intervention(week=int(week), levers=settings, champions=champions,
                                      label=row.description or row.kind))
    weeks = int(metrics["week_start"].nunique()) + 260
    return replace(base, name=f"recorded ({facility or 'all facilities'})", organisation=org,
                   interventions=tuple(sorted(items, key=lambda i: i.week)), weeks=weeks)


_EXECUTORS: dict[str, Executor] = {}


def executor_from_env() -> Executor:
    """Where calibration batches run: the Dask cluster at CHASM_DASK_ADDRESS, else a local pool.

    Built once per process (and per address); the same seed gives the same result on either.
    """
    address = os.environ.get("CHASM_DASK_ADDRESS", "")
    if address not in _EXECUTORS:
        _EXECUTORS[address] = DaskCluster(address) if address else LocalPool()
    return _EXECUTORS[address]


def calibrate_store(engine: Engine, *, facility: str | None = None, until: int | None = None,
                    seed: int = 0, quick: bool = False) -> tuple[int, Calibration]:
    """Fit the model to the stored series (up to week `until`) and store the posterior.

    Returns:
        The stored calibration's id and the calibration.
    """
    series = observed_series(engine, facility)
    y = series["active_share"].to_numpy()[: until or None]
    scenario = recorded_scenario(engine, facility)
    start = time.perf_counter()
    settings = {"particles": 120, "generations": 3, "max_simulations": 5000} if quick else {}
    cal = calibrate(scenario, y, seed=seed, executor=executor_from_env(), **settings)
    cal_id = store.store_calibration(
        engine, facility=facility, data_version=store.data_version(engine), observed=y.tolist(),
        posterior=cal.posterior.to_dict(), scenario_toml=scenario_to_toml(scenario),
        seconds=time.perf_counter() - start)
    return cal_id, cal


def stored_calibration(row: dict) -> Calibration:
    """Rebuild a calibration from its stored row."""
    scenario = scenario_from_toml(row["scenario_toml"], name="recorded")
    return Calibration(scenario, np.asarray(row["observed"], dtype=float), "active",
                       Posterior.from_dict(row["posterior"]))


def backtest(engine: Engine, *, facility: str | None = None, horizon: int = 8, step: int = 8,
             first: int = 16, seed: int = 0) -> dict:
    """Rolling-origin backtest of the model and of Bass on the stored series: MAE and 80% coverage."""
    y = observed_series(engine, facility)["active_share"].to_numpy()
    scenario = recorded_scenario(engine, facility)
    errors = {"model": [], "bass": []}
    inside = {"model": [], "bass": []}
    origins = list(range(first, len(y) - 1, step))
    for origin in origins:
        h = min(horizon, len(y) - origin)
        held = y[origin:origin + h]
        cal = calibrate(scenario, y[:origin], seed=seed, particles=100, generations=3,
                        max_simulations=4000)
        bands = forecast_plans(cal, horizon=h, draws=150, seed=seed)[0].bands()
        errors["model"].append(np.abs(bands["mean"].to_numpy() - held))
        inside["model"].append((held >= bands["p10"].to_numpy()) & (held <= bands["p90"].to_numpy()))
        bass = fit_bass(y[:origin]).forecast(h)
        errors["bass"].append(np.abs(bass["mean"] - held))
        inside["bass"].append((held >= bass["lo_80"]) & (held <= bass["hi_80"]))
    return {method: {"mae": float(np.concatenate(errors[method]).mean()) if origins else None,
                     "coverage80": float(np.concatenate(inside[method]).mean()) if origins else None,
                     "origins": len(origins), "horizon": horizon}
            for method in ("model", "bass")}


def backtest_sentence(result: dict) -> str:
    """One plain sentence on how far to trust the forecast."""
    model, bass = result.get("model", {}), result.get("bass", {})
    if not result:
        return ("Not yet backtested on this data: the nightly refresh does it "
                "(or run `chasm backtest`).")
    if not model.get("origins"):
        return "Not enough history yet to test the forecast against what happened."
    return (f"Tested on {model['origins']} past points in time, the model's {model['horizon']}-week "
            f"forecasts were off by {model['mae'] * 100:.0f} points on average and "
            f"{model['coverage80']:.0%} of outcomes fell inside its 80% band (a simple Bass curve: "
            f"{bass['mae'] * 100:.0f} points, {bass['coverage80']:.0%}).")


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


def week_of(engine: Engine, when: str, facility: str | None = None) -> int:
    """A rollout week from a week number or an ISO date (week 1 = the first stored week).

    Raises:
        CalibrationError: neither a whole number nor a date.
    """
    if when.strip().isdigit():
        return int(when)
    try:
        day = pd.Timestamp(date.fromisoformat(when.strip()))
    except ValueError:
        raise CalibrationError(f"--by {when!r}: give a week number or a date like 2027-06-30") from None
    first = pd.Timestamp(observed_series(engine, facility)["week_start"].iloc[0])
    return int((day - first).days // 7 + 1)


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


# --------------------------------------------------------------------------- scheduled jobs

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


def check_deviation(engine: Engine, *, notify=None) -> list[str]:
    """Job `check-deviation`: alert when actual adoption left the latest forecast's 80% band for
    two weeks in a row (weeks observed after the forecast was made).

    Args:
        engine: the store's engine.
        notify: called with each new alert's message (e.g. an e-mail sender); optional.

    Returns:
        The messages of the alerts stored by this run.
    """
    snapshot = store.latest_snapshot(engine)
    if snapshot is None:
        return []
    doc = snapshot["document"]
    bands = doc["plans"][0]["bands"]
    series = observed_series(engine)
    by_week = dict(zip(series["week"], series["active_share"], strict=True))
    starts = dict(zip(series["week"], series["week_start"], strict=True))
    outside = []
    for week, lo, hi in zip(bands["week"], bands["p10"], bands["p90"], strict=True):
        if week in by_week:
            share = by_week[week]
            outside.append((week, share, lo, hi, share < lo or share > hi))
    messages = []
    for (*_, out1), (w2, share, lo, hi, out2) in zip(outside, outside[1:], strict=False):
        if out1 and out2:
            side = "below" if share < lo else "above"
            message = (f"Adoption was {side} the forecast's 80% band for two weeks running "
                       f"(week {w2}: {share:.0%} against {lo:.0%}-{hi:.0%}).")
            if store.add_alert(engine, kind="deviation", message=message, week_start=starts[w2]):
                messages.append(message)
                if notify is not None:
                    notify(message)
    return messages


def email_notifier():
    """An e-mail sender when SMTP settings are given (CHASM_SMTP_HOST, CHASM_ALERT_TO), else None."""
    import os
    import smtplib
    from email.message import EmailMessage

    host, to = os.environ.get("CHASM_SMTP_HOST"), os.environ.get("CHASM_ALERT_TO")
    if not host or not to:
        return None
    port = int(os.environ.get("CHASM_SMTP_PORT", "25"))
    sender = os.environ.get("CHASM_SMTP_FROM", "chasm@localhost")

    def send(message: str) -> None:
        mail = EmailMessage()
        mail["Subject"], mail["From"], mail["To"] = "Chasm: adoption off forecast", sender, to
        mail.set_content(message)
        with smtplib.SMTP(host, port, timeout=10) as smtp:
            smtp.send_message(mail)

    return send
