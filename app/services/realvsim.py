"""Real vs simulated: the stored weekly active share over a simulated ensemble, aligned at rollout start.

Week 1 is the first stored week (the rollout's go-live). Against a scenario, simulated facility i
is compared with the i-th real facility in alphabetical order when both have as many facilities;
otherwise each real facility is read against the whole organisation's simulated band. Against the
calibrated model, each facility with a calibration of its own is read against it, the others
against the organisation's.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from app.services.tracker import OVERALL
from db.queries import active_share, weekly_metrics
from model.ensemble import run_ensemble
from model.scenario import Scenario

LOOK_AHEAD_WEEKS = 26
"""Simulated weeks shown beyond the last stored week."""


class Fit(TypedDict):
    """How a real series sits in a simulated band (mae and inside90 None when no week overlaps)."""

    mae: float | None
    inside90: float | None
    points: int


class OverallComparison(TypedDict):
    """All facilities together: the real series, the simulated band and their fit."""

    real: pd.DataFrame
    simulated: pd.DataFrame
    fit: Fit


class Weeks(TypedDict):
    """The last real week and the last simulated week."""

    real: int
    simulated: int


class Comparison(TypedDict):
    """What the Real vs simulated page draws (see compare_real_simulated and compare_calibrated)."""

    overall: OverallComparison
    facilities: pd.DataFrame
    """Long bands with a `facility` column."""
    real_facilities: pd.DataFrame
    fits: pd.DataFrame
    """One row per facility: facility, mae, inside90, points."""
    weeks: Weeks
    matched: bool
    scenario: str
    runs: int
    fitted_weeks: NotRequired[int]
    """Against the calibrated model only: the weeks the organisation's fit saw."""
    own_fits: NotRequired[list[str]]
    """Against the calibrated model only: facilities drawn from their own calibration."""


def recorded_toml(engine: Engine) -> str:
    """The rollout as recorded (stored headcounts and the intervention log), as scenario TOML."""
    from app.services.recorded import recorded_scenario
    from model.scenario import scenario_to_toml

    return scenario_to_toml(recorded_scenario(engine))


def real_shares(metrics: pd.DataFrame) -> pd.DataFrame:
    """Weekly active share per facility and overall: scope, week (1 = first stored week), active_share."""
    weeks = {d: i for i, d in enumerate(sorted(metrics["week_start"].unique()), start=1)}
    counts = metrics[["facility", "week_start", "active_users", "technicians"]].astype(
        {"active_users": float, "technicians": float})
    total = counts.groupby("week_start", as_index=False)[["active_users", "technicians"]].sum()
    frame = pd.concat([total.assign(facility=OVERALL), counts], ignore_index=True)
    return pd.DataFrame({"scope": frame["facility"], "week": frame["week_start"].map(weeks).astype(int),
                         "active_share": active_share(frame)}).dropna()


def fit(real: pd.DataFrame, simulated: pd.DataFrame) -> Fit:
    """Mean absolute error against the simulated median, and the share of real points in the 90% band."""
    joined = real.merge(simulated.reset_index(), on="week")
    if joined.empty:
        return {"mae": None, "inside90": None, "points": 0}
    inside = (joined["active_share"] >= joined["p05"]) & (joined["active_share"] <= joined["p95"])
    return {"mae": float((joined["active_share"] - joined["p50"]).abs().mean()),
            "inside90": float(inside.mean()), "points": int(len(joined))}


def compare_real_simulated(engine: Engine, scenario: Scenario | str, runs: int = 100,
                           facility: str | None = None, *, seed: int = 0) -> Comparison:
    """The real series, the ensemble's bands and fit statistics, overall and per facility.

    Args:
        engine: the store's engine.
        scenario: a validated scenario, or its TOML text.
        runs: replicates in the ensemble.
        facility: only this real facility (plus the overall view).
        seed: the ensemble's seed.

    Returns:
        A Comparison: the overall real series, band and fit; long bands per facility; the real
        facilities' series; a fit per facility; whether facilities were matched one to one.

    Raises:
        LookupError: no metrics are stored.
    """
    if isinstance(scenario, str):
        from app.services.simulator import parse

        scenario = parse(scenario)[0]
    real = _stored_real(engine)
    weeks = min(scenario.weeks, int(real["week"].max()) + LOOK_AHEAD_WEEKS)
    result = run_ensemble(scenario, runs=runs, weeks=weeks, seed=seed)
    overall = result.summary("active_share")
    names = _facility_names(real, facility)
    matched = len(names) == len(result.facility_names) and facility is None
    bands = {name: result.summary("active_share", result.facility_names[i]) if matched else overall
             for i, name in enumerate(names)}
    return _comparison(real, overall, bands, matched=matched, scenario=scenario.name, runs=runs)


def compare_calibrated(engine: Engine, runs: int = 100, *, seed: int = 0) -> Comparison:
    """The real series over the calibrated model's rollout from week 1 (one run per posterior draw).

    Overall: the organisation's latest calibration. Per facility: that facility's own latest
    calibration where one is stored (`chasm calibrate --facility F`), else the organisation's band.

    Returns:
        As `compare_real_simulated`, plus "fitted_weeks" (weeks the organisation's fit saw) and
        "own_fits" (facilities drawn from their own calibration).

    Raises:
        LookupError: no metrics, or no calibration of the whole organisation stored yet.
    """
    from app.services.calibration import stored_calibration
    from db.forecasts import latest_calibration
    from model.forecast import hindcast

    real = _stored_real(engine)
    row = latest_calibration(engine)
    if row is None:
        raise LookupError("no calibration stored yet: run `chasm calibrate` (the nightly refresh-forecast "
                          "job does it when new data arrives)")
    weeks = int(real["week"].max()) + LOOK_AHEAD_WEEKS
    calibration = stored_calibration(row)
    overall = hindcast(calibration, runs=runs, weeks=weeks, seed=seed).summary("active_share")
    bands: dict[str, pd.DataFrame] = {}
    own: list[str] = []
    for name in _facility_names(real, None):
        facility_row = latest_calibration(engine, name)
        if facility_row is None:
            bands[name] = overall
            continue
        # A facility's fit counts its weeks from its own first stored week.
        offset = int(real.loc[real["scope"] == name, "week"].min()) - 1
        band = hindcast(stored_calibration(facility_row), runs=runs, weeks=weeks - offset,
                        seed=seed).summary("active_share")
        bands[name] = band.set_axis(band.index + offset, axis=0).rename_axis("week")
        own.append(name)
    comparison = _comparison(real, overall, bands, matched=False, scenario="the calibrated model", runs=runs)
    comparison["fitted_weeks"] = int(calibration.observed.size)
    comparison["own_fits"] = own
    return comparison


def _stored_real(engine: Engine) -> pd.DataFrame:
    real = real_shares(weekly_metrics(engine))
    if real.empty:
        raise LookupError("no weekly metrics stored: upload a file or load the demo first")
    return real


def _facility_names(real: pd.DataFrame, facility: str | None) -> list[str]:
    names = sorted(n for n in real["scope"].unique() if n != OVERALL)
    return [n for n in names if n == facility] if facility is not None else names


def _comparison(real: pd.DataFrame, overall: pd.DataFrame, bands: dict[str, pd.DataFrame], *,
                matched: bool, scenario: str, runs: int) -> Comparison:
    """Fit statistics of the real series against the overall band and each facility's band."""
    fits = [{"facility": name, **fit(real[real["scope"] == name], band)} for name, band in bands.items()]
    real_overall = real[real["scope"] == OVERALL][["week", "active_share"]]
    real_fac = real[real["scope"].isin(list(bands))].rename(columns={"scope": "facility"})
    long = [band.reset_index().assign(facility=name) for name, band in bands.items()]
    return {"overall": {"real": real_overall, "simulated": overall, "fit": fit(real_overall, overall)},
            "facilities": pd.concat(long, ignore_index=True) if long else pd.DataFrame(),
            "real_facilities": real_fac, "fits": pd.DataFrame(fits),
            "weeks": {"real": int(real["week"].max()), "simulated": int(np.asarray(overall.index).max())},
            "matched": matched, "scenario": scenario, "runs": runs}
