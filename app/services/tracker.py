"""The tracker's numbers, computed from stored metrics (plain DataFrames in, a TrackerView out).

Breadth is the active share of technicians; depth is the AI-assisted share of work orders. With
technician-weeks, each technician's week is classed as new, retained, reactivated or lapsed, and
those who used the tool before but have been inactive for `inactive_weeks`+ weeks are at risk
(those gone LAPSED_WEEKS or more are counted apart, as lapsed).

The headline is honest about who reported: it is the latest *complete* week (every facility that
reported the week before reported it too), and a change is computed over the facilities that
reported both weeks, so a facility uploading early or late never makes the organisation jump.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TypedDict

import numpy as np
import pandas as pd

from db.queries import active_share

OVERALL = "All facilities"
"""The scope label of every facility taken together, wherever a list of facilities is shown."""
LIFECYCLE = ("new", "retained", "reactivated", "lapsed")
LAPSED_WEEKS = 52
"""Inactive this long (a year) is lapsed, not at risk: counted apart, not listed."""


class Overall(TypedDict, total=False):
    """The headline numbers for all facilities at the latest week (empty when nothing is stored)."""

    active_share: float
    change: float | None
    """vs the week before; None in the first week."""
    depth: float
    depth_change: float | None
    technicians: int
    facilities: int
    facilities_below_target: int
    week: date
    """The week the headline is for: the latest complete week."""
    latest_week: date
    """The newest week any facility reported."""
    reported: int
    """Facilities that reported for latest_week."""
    expected: int
    """Facilities that reported the week before latest_week (all of them when it is the first)."""
    lapsed: int
    """Technicians inactive LAPSED_WEEKS weeks or more (not in the at-risk list)."""


@dataclass(frozen=True)
class TrackerView:
    """Everything the tracker page draws."""

    latest_week: date | None
    """The week the headline is for (the latest complete week)."""
    overall: Overall
    """active_share, change (vs the week before), depth, technicians, facilities_below_target, and
    who reported: week, latest_week, reported, expected."""
    trend: pd.DataFrame
    """week_start, scope (facility or OVERALL), breadth, depth."""
    facilities: pd.DataFrame
    """One row per facility at the latest week."""
    lifecycle: pd.DataFrame
    """week_start, status, technicians."""
    at_risk: pd.DataFrame
    """technician, facility, last_active, weeks_inactive: the most recent lapses first."""
    target: float
    interventions: pd.DataFrame = field(default_factory=pd.DataFrame)
    """week_start, facility, label: the intervention log, for the trend's markers."""

    @property
    def partial(self) -> bool:
        """Some facilities have not reported the newest week yet (the headline uses an earlier one)."""
        o = self.overall
        return bool(o) and o["latest_week"] != o["week"]


def _shares(frame: pd.DataFrame) -> pd.DataFrame:
    sums = frame[["technicians", "active_users", "work_orders", "ai_assisted_work_orders"]].astype(float)
    return pd.DataFrame({
        "breadth": active_share(sums),
        "depth": sums["ai_assisted_work_orders"] / sums["work_orders"].replace(0, np.nan),
    })


def trend(metrics: pd.DataFrame) -> pd.DataFrame:
    """Breadth and depth per week, per facility and for all facilities together."""
    cols = ["technicians", "active_users", "work_orders", "ai_assisted_work_orders"]
    per = metrics[["facility", "week_start", *cols]].rename(columns={"facility": "scope"})
    total = metrics.groupby("week_start", as_index=False)[cols].sum(min_count=1)
    total.insert(0, "scope", OVERALL)
    both = pd.concat([total, per], ignore_index=True)
    return pd.concat([both[["week_start", "scope"]], _shares(both)], axis=1)


def complete_week(metrics: pd.DataFrame) -> tuple[date, date, int, int]:
    """(complete week, latest week, facilities that reported the latest, facilities expected for it).

    A week is complete when every facility that reported the week before reported it too; the
    complete week is the newest such week (the first week always is).
    """
    weeks = sorted(metrics["week_start"].unique())
    reporters = metrics.groupby("week_start")["facility"].agg(frozenset)
    latest = weeks[-1]
    expected = reporters[weeks[-2]] if len(weeks) > 1 else reporters[latest]
    complete = next((w for before, w in zip(reversed(weeks[:-1]), reversed(weeks[1:]), strict=True)
                     if reporters[before] <= reporters[w]), weeks[0])
    return complete, latest, len(reporters[latest] & expected), len(expected)


def _same_facilities_change(metrics: pd.DataFrame, week: date) -> tuple[float | None, float | None]:
    """Breadth and depth change from the week before `week`, over the facilities that reported both."""
    weeks = sorted(metrics["week_start"].unique())
    at = weeks.index(week)
    if at == 0:
        return None, None
    both = metrics[metrics["week_start"].isin([weeks[at - 1], week])]
    both = both[both.groupby("facility")["week_start"].transform("nunique") == 2]
    if both.empty:
        return None, None
    cols = ["technicians", "active_users", "work_orders", "ai_assisted_work_orders"]
    sums = _shares(both.groupby("week_start")[cols].sum(min_count=1)).sort_index()
    return (float(sums["breadth"].iloc[1] - sums["breadth"].iloc[0]),
            float(sums["depth"].iloc[1] - sums["depth"].iloc[0]))


def facility_table(trends: pd.DataFrame, metrics: pd.DataFrame, target: float,
                   last_uploads: pd.DataFrame | None = None) -> pd.DataFrame:
    """The latest week per facility with its change against the week before, and how fresh it is.

    `last_uploads` (facility, uploaded_at) gives each facility's latest upload; weeks missing count
    the weeks since its latest reported week up to the newest week any facility reported.
    """
    per = trends[trends["scope"] != OVERALL].sort_values("week_start")
    per = per.assign(change=per.groupby("scope")["breadth"].diff())
    latest = per.groupby("scope").tail(1).set_index("scope")
    heads = metrics.sort_values("week_start").groupby("facility").tail(1).set_index("facility")
    newest = pd.Timestamp(metrics["week_start"].max())
    missing = ((newest - pd.to_datetime(latest["week_start"])).dt.days // 7).astype(int)
    uploaded = (pd.Series(pd.NaT, index=latest.index, dtype="datetime64[ns, UTC]") if last_uploads is None
                else pd.to_datetime(last_uploads.set_index("facility")["uploaded_at"], utc=True)
                .reindex(latest.index))
    return pd.DataFrame({
        "Facility": latest.index,
        "Technicians": heads["technicians"].reindex(latest.index).to_numpy(),
        "Active share": latest["breadth"].to_numpy(),
        "Change vs last week": latest["change"].to_numpy(),
        "AI-assisted work orders": latest["depth"].to_numpy(),
        "On target": (latest["breadth"] >= target).to_numpy(),
        "Week of": latest["week_start"].to_numpy(),
        "Weeks missing": missing.to_numpy(),
        "Last upload": uploaded.dt.tz_localize(None).dt.date.to_numpy(),
    }).sort_values("Active share").reset_index(drop=True)


def lifecycle(tech_weeks: pd.DataFrame) -> pd.DataFrame:
    """Per week, how many technicians were new, retained, reactivated or lapsed users."""
    if tech_weeks.empty:
        return pd.DataFrame(columns=["week_start", "status", "technicians"])
    frame = tech_weeks[["technician_key", "week_start", "active"]].sort_values(["technician_key",
                                                                               "week_start"])
    by = frame.groupby("technician_key")["active"]
    before = by.shift(1, fill_value=False).astype(bool)
    active = frame["active"].astype(bool)
    ever_before = (active.astype(int).groupby(frame["technician_key"]).cumsum() - active.astype(int)) > 0
    status = np.select(
        [active & ~ever_before, active & before, active & ~before & ever_before, ~active & before],
        list(LIFECYCLE), default="")
    counts: pd.DataFrame = (frame.assign(status=status)[status != ""]
                            .groupby(["week_start", "status"]).size().rename("technicians").reset_index())
    return counts


def _inactive(tech_weeks: pd.DataFrame) -> pd.DataFrame:
    """Technicians present in the latest week who used the tool before: last_active, weeks_inactive.

    The pandas reference of `db.queries.last_active` + `inactive_from`."""
    latest = tech_weeks["week_start"].max()
    present = tech_weeks.loc[tech_weeks["week_start"] == latest, ["technician_key", "facility"]]
    used = tech_weeks[tech_weeks["active"].astype(bool)]
    last = used.groupby("technician_key")["week_start"].max()
    frame = present.assign(last_active=present["technician_key"].map(last)).dropna(subset=["last_active"])
    return inactive_from(frame.assign(latest_week=latest))


def inactive_from(last_active: pd.DataFrame) -> pd.DataFrame:
    """`db.queries.last_active`'s rows with weeks_inactive (whole weeks since the last active one)."""
    gap = pd.to_datetime(last_active["latest_week"]) - pd.to_datetime(last_active["last_active"])
    weeks = gap.dt.days // 7
    out: pd.DataFrame = last_active.drop(columns="latest_week").assign(weeks_inactive=weeks.astype(int))
    return out


def at_risk_from(inactive: pd.DataFrame, inactive_weeks: int = 3) -> pd.DataFrame:
    """Those inactive `inactive_weeks` up to LAPSED_WEEKS weeks, the most recent lapses first."""
    columns = ["technician", "facility", "last_active", "weeks_inactive"]
    if inactive.empty:
        return pd.DataFrame(columns=columns)
    weeks = inactive["weeks_inactive"]
    frame = inactive[(weeks >= inactive_weeks) & (weeks < LAPSED_WEEKS)]
    frame = frame.assign(technician=frame["technician_key"].str.slice(0, 10))
    ordered: pd.DataFrame = frame.sort_values(["weeks_inactive", "facility", "technician"])
    return ordered[columns].reset_index(drop=True)


def at_risk(tech_weeks: pd.DataFrame, inactive_weeks: int = 3) -> pd.DataFrame:
    """Technicians who used the tool before and have been inactive for `inactive_weeks`+ weeks, the most
    recent lapses first (the ones a call can still win back); those gone LAPSED_WEEKS+ are not listed.

    Only technicians present in the latest week count (those who left are not at risk).
    """
    return at_risk_from(pd.DataFrame() if tech_weeks.empty else _inactive(tech_weeks), inactive_weeks)


def _lapsed(inactive: pd.DataFrame) -> int:
    return 0 if inactive.empty else int((inactive["weeks_inactive"] >= LAPSED_WEEKS).sum())


def lapsed_count(tech_weeks: pd.DataFrame) -> int:
    """Technicians still present who used the tool before and have not for LAPSED_WEEKS weeks or more."""
    return 0 if tech_weeks.empty else _lapsed(_inactive(tech_weeks))


def tracker_view(metrics: pd.DataFrame, tech_weeks: pd.DataFrame | None = None, *, target: float = 0.7,
                 inactive_weeks: int = 3, last_uploads: pd.DataFrame | None = None,
                 interventions: pd.DataFrame | None = None, lifecycle_counts: pd.DataFrame | None = None,
                 last_active: pd.DataFrame | None = None) -> TrackerView:
    """Everything the tracker shows, from the stored facility-weeks and technician-weeks.

    The technicians' part comes either from the technician-weeks themselves (`tech_weeks`, the
    pandas reference) or, as the app reads it, from the database's aggregates
    (`db.queries.lifecycle_counts` and `db.queries.last_active`), which are small at any history.
    The headline is the latest complete week's (`complete_week`), its changes over the facilities
    that reported both weeks; the overall trend stops at that week.
    """
    if tech_weeks is not None:
        counts = lifecycle(tech_weeks)
        inactive = pd.DataFrame() if tech_weeks.empty else _inactive(tech_weeks)
    else:
        counts = lifecycle_counts if lifecycle_counts is not None else lifecycle(pd.DataFrame())
        inactive = pd.DataFrame() if last_active is None or last_active.empty else inactive_from(last_active)
    risky = at_risk_from(inactive, inactive_weeks)
    lapsed = _lapsed(inactive)
    if metrics.empty:
        empty = pd.DataFrame()
        return TrackerView(None, {}, empty, empty, counts, risky, target)
    week, newest, reported, expected = complete_week(metrics)
    trends = trend(metrics)
    trends = trends[(trends["scope"] != OVERALL) | (trends["week_start"] <= week)].reset_index(drop=True)
    overall = trends[trends["scope"] == OVERALL].sort_values("week_start")
    last = overall.iloc[-1]
    change, depth_change = _same_facilities_change(metrics, week)
    table = facility_table(trends, metrics, target, last_uploads)
    at_week = metrics[metrics["week_start"] == week]
    summary: Overall = {
        "active_share": float(last["breadth"]),
        "change": change,
        "depth": float(last["depth"]),
        "depth_change": depth_change,
        "technicians": int(at_week["technicians"].sum()),
        "facilities": int(at_week["facility"].nunique()),
        "facilities_below_target": int((~table["On target"]).sum()),
        "week": week, "latest_week": newest, "reported": reported, "expected": expected,
        "lapsed": lapsed,
    }
    log = pd.DataFrame(columns=["week_start", "facility", "label"]) if interventions is None or \
        interventions.empty else pd.DataFrame({
            "week_start": interventions["week_start"], "facility": interventions["facility"],
            "label": interventions["description"].fillna("").where(
                interventions["description"].fillna("") != "",
                interventions["kind"].str.replace("_", " ").str.capitalize())})
    return TrackerView(week, summary, trends, table, counts, risky, target, log)
