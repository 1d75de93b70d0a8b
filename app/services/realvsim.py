"""Real vs simulated: the stored weekly active share over a simulated ensemble, aligned at rollout start.

Week 1 is the first stored week (the rollout's go-live). Each real facility is compared with the
simulated facility of the same name: the recorded rollout, and the calibrated model fitted under it,
carry the stored facilities' names, sizes and go-live weeks. A scenario whose facilities have other
names (the presets' Facility 01, 02...) cannot be paired with ours, so each real facility is read
against the whole organisation's simulated band, and the comparison says so. Against the calibrated
model, a facility with a calibration of its own is read against that one.

The verdict (`verdict`, `verdict_words`) says in words how many facilities the model fits
(`FIT_SHARE`) and which run above or below its band, since when.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Literal, NotRequired, TypedDict

import numpy as np
import pandas as pd
from sqlalchemy import Engine

from app.services import words
from app.services.tracker import OVERALL
from db.queries import active_share, weekly_metrics
from model.ensemble import EnsembleResult, run_ensemble
from model.scenario import Scenario

LOOK_AHEAD_WEEKS = 26
"""Simulated weeks shown beyond the last stored week."""

FIT_SHARE = 0.8
"""A facility fits the model when at least this share of its real weeks fall inside its 90% band.

A well-calibrated 90% band holds about 90% of the weeks; 80% leaves room for the weeks that
technicians come and go more than the model's runs do, and still flags a facility that has left it.
"""

Side = Literal["above", "below", ""]


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


class Drift(TypedDict):
    """A facility the model does not fit: where its latest weeks sit against its band."""

    facility: str
    inside90: float
    """Share of its real weeks inside the band."""
    side: Side
    """above or below: its latest week and those before it in a row are outside on that side;
    "" when its latest week is inside the band (it strays in and out)."""
    since: date | None
    """The first week (its Monday) of that run of weeks outside; None when `side` is ""."""


class Verdict(TypedDict):
    """How well the model fits the real organisation, facility by facility and overall."""

    facilities: int
    """Facilities compared (with at least one week in their band)."""
    fits: int
    """Facilities with at least FIT_SHARE of their weeks inside their band."""
    drifts: list[Drift]
    """The others, in the order of the comparison's table."""
    overall_inside90: float | None
    """Share of the organisation's real weeks inside its 90% band."""
    by_name: bool
    """True when each facility was read against its own counterpart, False against the organisation's band."""


class Comparison(TypedDict):
    """What the Real vs simulated page draws (see compare_real_simulated and compare_calibrated)."""

    overall: OverallComparison
    facilities: pd.DataFrame
    """Long bands with a `facility` column."""
    real_facilities: pd.DataFrame
    fits: pd.DataFrame
    """One row per facility: facility, mae, inside90, points, side, since_week, own."""
    weeks: Weeks
    matched: bool
    """True when every real facility was read against a simulated facility of its own name."""
    scenario: str
    runs: int
    first_week: date
    """The Monday of week 1 (the first stored week)."""
    verdict: Verdict
    fitted_weeks: NotRequired[int]
    """Against the calibrated model only: the weeks the organisation's fit saw."""
    own_fits: NotRequired[list[str]]
    """Against the calibrated model only: facilities drawn from their own calibration."""


def recorded_toml(engine: Engine) -> str:
    """The rollout as recorded (the stored facilities and the intervention log), as scenario TOML."""
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


def _joined(real: pd.DataFrame, simulated: pd.DataFrame) -> pd.DataFrame:
    return real.merge(simulated.reset_index(), on="week").sort_values("week")


def fit(real: pd.DataFrame, simulated: pd.DataFrame) -> Fit:
    """Mean absolute error against the simulated median, and the share of real points in the 90% band."""
    joined = _joined(real, simulated)
    if joined.empty:
        return {"mae": None, "inside90": None, "points": 0}
    inside = (joined["active_share"] >= joined["p05"]) & (joined["active_share"] <= joined["p95"])
    return {"mae": float((joined["active_share"] - joined["p50"]).abs().mean()),
            "inside90": float(inside.mean()), "points": int(len(joined))}


def latest_outside(real: pd.DataFrame, simulated: pd.DataFrame) -> tuple[Side, int | None]:
    """Where the latest real week sits: "above" or "below" the band and the first week of that run of
    weeks outside, or ("", None) inside it."""
    joined = _joined(real, simulated)
    if joined.empty:
        return "", None
    share = joined["active_share"].to_numpy()
    side = np.where(share > joined["p95"].to_numpy(), 1, np.where(share < joined["p05"].to_numpy(), -1, 0))
    if side[-1] == 0:
        return "", None
    start = len(side) - 1
    while start > 0 and side[start - 1] == side[-1]:
        start -= 1
    return ("above" if side[-1] > 0 else "below"), int(joined["week"].iloc[start])


def compare_real_simulated(engine: Engine, scenario: Scenario | str, runs: int = 100,
                           facility: str | None = None, *, seed: int = 0) -> Comparison:
    """The real series, the ensemble's bands and fit statistics, overall and per facility.

    Each real facility is read against the simulated facility of the same name; where the scenario
    has none of that name (a preset's Facility 01, 02...), against the whole organisation's band.

    Args:
        engine: the store's engine.
        scenario: a validated scenario, or its TOML text.
        runs: replicates in the ensemble.
        facility: only this real facility (plus the overall view).
        seed: the ensemble's seed.

    Returns:
        A Comparison: the overall real series, band and fit; long bands per facility; the real
        facilities' series; a fit per facility; whether every facility had its own counterpart;
        the verdict.

    Raises:
        LookupError: no metrics are stored.
    """
    if isinstance(scenario, str):
        from app.services.simulator import parse

        scenario = parse(scenario)[0]
    real, first = _stored_real(engine)
    weeks = min(scenario.weeks, int(real["week"].max()) + LOOK_AHEAD_WEEKS)
    result = run_ensemble(scenario, runs=runs, weeks=weeks, seed=seed)
    overall = result.summary("active_share")
    bands, own = _bands_by_name(result, _facility_names(real, facility), overall)
    return _comparison(real, overall, bands, own, first=first, scenario=scenario.name, runs=runs)


def compare_calibrated(engine: Engine, runs: int = 100, *, seed: int = 0) -> Comparison:
    """The real series over the calibrated model's rollout from week 1 (one run per posterior draw).

    Overall: the organisation's latest calibration. Per facility: that facility's own latest
    calibration where one is stored (`chasm calibrate --facility F`), else the facility of the same
    name in the organisation's calibration (calibrations stored before facilities carried names:
    the organisation's band).

    Returns:
        As `compare_real_simulated`, plus "fitted_weeks" (weeks the organisation's fit saw) and
        "own_fits" (facilities drawn from their own calibration).

    Raises:
        LookupError: no metrics, or no calibration of the whole organisation stored yet.
    """
    from app.services.calibration import stored_calibration
    from db.forecasts import latest_calibration
    from model.forecast import hindcast

    real, first = _stored_real(engine)
    row = latest_calibration(engine)
    if row is None:
        raise LookupError("no calibration stored yet: run `chasm calibrate` (the nightly refresh-forecast "
                          "job does it when new data arrives)")
    weeks = int(real["week"].max()) + LOOK_AHEAD_WEEKS
    calibration = stored_calibration(row)
    result = hindcast(calibration, runs=runs, weeks=weeks, seed=seed, record_facilities=True)
    overall = result.summary("active_share")
    names = _facility_names(real, None)
    bands, matched = _bands_by_name(result, names, overall)
    own: list[str] = []
    for name in names:
        facility_row = latest_calibration(engine, name)
        if facility_row is None:
            continue
        # A facility's fit counts its weeks from its own first stored week.
        offset = int(real.loc[real["scope"] == name, "week"].min()) - 1
        band = hindcast(stored_calibration(facility_row), runs=runs, weeks=weeks - offset,
                        seed=seed).summary("active_share")
        bands[name] = band.set_axis(band.index + offset, axis=0).rename_axis("week")
        own.append(name)
    comparison = _comparison(real, overall, bands, sorted(set(matched) | set(own)), first=first,
                             scenario="the calibrated model", runs=runs)
    comparison["fitted_weeks"] = int(calibration.observed.size)
    comparison["own_fits"] = own
    return comparison


def _bands_by_name(result: EnsembleResult, names: list[str],
                   overall: pd.DataFrame) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Each real facility's band: the simulated facility of its name, else the organisation's."""
    bands: dict[str, pd.DataFrame] = {}
    matched: list[str] = []
    for name in names:
        if name in result.facility_names:
            bands[name] = result.summary("active_share", name)
            matched.append(name)
        else:
            bands[name] = overall
    return bands, matched


def _stored_real(engine: Engine) -> tuple[pd.DataFrame, date]:
    metrics = weekly_metrics(engine)
    real = real_shares(metrics)
    if real.empty:
        raise LookupError("no weekly metrics stored: upload a file or load the demo first")
    return real, pd.Timestamp(metrics["week_start"].min()).date()


def _facility_names(real: pd.DataFrame, facility: str | None) -> list[str]:
    names = sorted(n for n in real["scope"].unique() if n != OVERALL)
    return [n for n in names if n == facility] if facility is not None else names


def _comparison(real: pd.DataFrame, overall: pd.DataFrame, bands: dict[str, pd.DataFrame],
                own: list[str], *, first: date, scenario: str, runs: int) -> Comparison:
    """Fit statistics of the real series against the overall band and each facility's band."""
    rows = []
    for name, band in bands.items():
        mine = real[real["scope"] == name]
        side, since = latest_outside(mine, band)
        rows.append({"facility": name, **fit(mine, band), "side": side, "since_week": since,
                     "own": name in own})
    fits = pd.DataFrame(rows, columns=["facility", "mae", "inside90", "points", "side", "since_week", "own"])
    real_overall = real[real["scope"] == OVERALL][["week", "active_share"]]
    real_fac = real[real["scope"].isin(list(bands))].rename(columns={"scope": "facility"})
    long = [band.reset_index().assign(facility=name) for name, band in bands.items()]
    overall_fit = fit(real_overall, overall)
    matched = bool(bands) and set(own) >= set(bands)
    return {"overall": {"real": real_overall, "simulated": overall, "fit": overall_fit},
            "facilities": pd.concat(long, ignore_index=True) if long else pd.DataFrame(),
            "real_facilities": real_fac, "fits": fits,
            "weeks": {"real": int(real["week"].max()), "simulated": int(np.asarray(overall.index).max())},
            "matched": matched, "scenario": scenario, "runs": runs, "first_week": first,
            "verdict": verdict(fits, overall_fit["inside90"], first, by_name=matched)}


# --------------------------------------------------------------------------- the verdict in words

def verdict(fits: pd.DataFrame, overall_inside90: float | None, first_week: date | None, *,
            by_name: bool) -> Verdict:
    """The verdict from the per-facility fits (columns facility, inside90, side, since_week).

    Args:
        fits: one row per facility, as a Comparison's "fits".
        overall_inside90: share of the organisation's real weeks inside its band.
        first_week: the Monday of week 1, to tell weeks as dates.
        by_name: whether each facility was read against its own counterpart.
    """
    compared = fits[fits["inside90"].notna()]
    fitting = compared["inside90"] >= FIT_SHARE
    drifts: list[Drift] = []
    for row in compared[~fitting].to_dict("records"):
        week = _week(row.get("since_week"))
        since = words.week_date(week, first_week) if week is not None else None
        side: Side = row["side"] if row.get("side") in ("above", "below") and since is not None else ""
        drifts.append({"facility": str(row["facility"]), "inside90": float(row["inside90"]),
                       "side": side, "since": since if side else None})
    return {"facilities": int(len(compared)), "fits": int(fitting.sum()), "drifts": drifts,
            "overall_inside90": overall_inside90, "by_name": by_name}


def _week(value: Any) -> int | None:
    """A week number from a fits cell (None or NaN when there is none)."""
    return None if value is None or pd.isna(value) else int(value)


def _names(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def verdict_words(v: Verdict) -> str:
    """The verdict as sentences, e.g. "The model fits 12 of 15 facilities; Cork Refinery and Hull Works
    run below it since 2 March 2026. Overall, 74% of real weeks fall inside the 90% band."
    """
    lead = "The model" if v["by_name"] else "Read against the whole organisation's band, the model"
    if not v["facilities"]:
        head = f"{lead} has no facility week to compare with"
    elif v["fits"] == v["facilities"]:
        head = (f"{lead} fits all {v['facilities']} facilities" if v["facilities"] > 1
                else f"{lead} fits the facility")
    else:
        head = f"{lead} fits {v['fits']} of {v['facilities']} facilities"
    groups: dict[tuple[Side, date | None], list[str]] = {}
    for drift in v["drifts"]:
        groups.setdefault((drift["side"], drift["since"]), []).append(drift["facility"])
    parts = []
    for (side, since), names in sorted(groups.items(), key=lambda g: (g[0][0] == "", g[0][1] or date.max)):
        if side:
            verb = "runs" if len(names) == 1 else "run"
            parts.append(f"{_names(names)} {verb} {side} it since {words.day(since)}")
        else:
            verb = "moves" if len(names) == 1 else "move"
            parts.append(f"{_names(names)} {verb} in and out of it")
    text = head + ("; " + "; ".join(parts) if parts else "") + "."
    if v["overall_inside90"] is not None:
        text += f" Overall, {words.share(v['overall_inside90'])} of real weeks fall inside the 90% band."
    return text


def fits_table(comparison: Comparison) -> pd.DataFrame:
    """The per-facility fits as a person reads them: one row per facility, in words and percentages."""
    first = comparison["first_week"]
    rows = []
    for row in comparison["fits"].to_dict("records"):
        inside = None if row["inside90"] is None or pd.isna(row["inside90"]) else float(row["inside90"])
        week = _week(row["since_week"])
        where = ("Inside the band" if week is None or row["side"] not in ("above", "below") else
                 f"{str(row['side']).capitalize()} the band since {words.day(words.week_date(week, first))}")
        rows.append({
            "Facility": str(row["facility"]),
            "Fits the model": "n/a" if inside is None else ("Yes" if inside >= FIT_SHARE else "No"),
            "Real weeks inside the 90% band": words.share(inside),
            "Average error": ("n/a" if row["mae"] is None or pd.isna(row["mae"])
                              else f"{float(row['mae']) * 100:.1f} pts"),
            "Latest weeks": where,
            "Compared with": ("its own simulated facility" if row["own"]
                              else "the whole organisation's band"),
            "Weeks compared": int(row["points"]),
        })
    return pd.DataFrame(rows)
