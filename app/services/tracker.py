"""The tracker's numbers, computed from stored metrics (plain DataFrames in, a TrackerView out).

Breadth is the active share of technicians; depth is the AI-assisted share of work orders. With
technician-weeks, each technician's week is classed as new, retained, reactivated or lapsed, and
those who used the tool before but have been inactive for `inactive_weeks`+ weeks are at risk.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TypedDict

import numpy as np
import pandas as pd

from db.queries import active_share

OVERALL = "All facilities"
"""The scope label of every facility taken together, wherever a list of facilities is shown."""
LIFECYCLE = ("new", "retained", "reactivated", "lapsed")


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


@dataclass(frozen=True)
class TrackerView:
    """Everything the tracker page draws."""

    latest_week: date | None
    overall: Overall
    """active_share, change (vs the week before), depth, technicians, facilities_below_target."""
    trend: pd.DataFrame
    """week_start, scope (facility or OVERALL), breadth, depth."""
    facilities: pd.DataFrame
    """One row per facility at the latest week."""
    lifecycle: pd.DataFrame
    """week_start, status, technicians."""
    at_risk: pd.DataFrame
    """technician, facility, last_active, weeks_inactive."""
    target: float


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


def facility_table(trends: pd.DataFrame, metrics: pd.DataFrame, target: float) -> pd.DataFrame:
    """The latest week per facility with its change against the week before."""
    per = trends[trends["scope"] != OVERALL].sort_values("week_start")
    per = per.assign(change=per.groupby("scope")["breadth"].diff())
    latest = per.groupby("scope").tail(1).set_index("scope")
    heads = metrics.sort_values("week_start").groupby("facility").tail(1).set_index("facility")
    return pd.DataFrame({
        "Facility": latest.index,
        "Technicians": heads["technicians"].reindex(latest.index).to_numpy(),
        "Active share": latest["breadth"].to_numpy(),
        "Change vs last week": latest["change"].to_numpy(),
        "AI-assisted work orders": latest["depth"].to_numpy(),
        "On target": (latest["breadth"] >= target).to_numpy(),
        "Week of": latest["week_start"].to_numpy(),
    }).sort_values("Active share").reset_index(drop=True)


def lifecycle(tech_weeks: pd.DataFrame) -> pd.DataFrame:
    """Per week, how many technicians were new, retained, reactivated or lapsed users."""
    if tech_weeks.empty:
        return pd.DataFrame(columns=["week_start", "status", "technicians"])
    frame = tech_weeks[["technician_key", "week_start", "active"]].sort_values(["technician_key",
                                                                               "week_start"])
    by = frame.groupby("technician_key")["active"]
    before = by.shift(1, fill_value=False).astype(bool)
    ever_before = by.transform(lambda s: s.astype(int).cumsum().shift(1, fill_value=0) > 0)
    active = frame["active"].astype(bool)
    status = np.select(
        [active & ~ever_before, active & before, active & ~before & ever_before, ~active & before],
        list(LIFECYCLE), default="")
    counts: pd.DataFrame = (frame.assign(status=status)[status != ""]
                            .groupby(["week_start", "status"]).size().rename("technicians").reset_index())
    return counts


def at_risk(tech_weeks: pd.DataFrame, inactive_weeks: int = 3) -> pd.DataFrame:
    """Technicians who used the tool before and have been inactive for `inactive_weeks`+ weeks.

    Only technicians present in the latest week count (those who left are not at risk).
    """
    columns = ["technician", "facility", "last_active", "weeks_inactive"]
    if tech_weeks.empty:
        return pd.DataFrame(columns=columns)
    latest = tech_weeks["week_start"].max()
    present = tech_weeks.loc[tech_weeks["week_start"] == latest, ["technician_key", "facility"]]
    used = tech_weeks[tech_weeks["active"].astype(bool)]
    last = used.groupby("technician_key")["week_start"].max()
    frame = present.assign(last_active=present["technician_key"].map(last)).dropna(subset=["last_active"])
    weeks = frame["last_active"].map(lambda d: (latest - d).days // 7)
    frame = frame.assign(weeks_inactive=weeks)[weeks >= inactive_weeks]
    frame = frame.assign(technician=frame["technician_key"].str.slice(0, 10))
    ordered: pd.DataFrame = frame.sort_values(["weeks_inactive", "facility"], ascending=[False, True])
    return ordered[columns].reset_index(drop=True)


def tracker_view(metrics: pd.DataFrame, tech_weeks: pd.DataFrame, *, target: float = 0.7,
                 inactive_weeks: int = 3) -> TrackerView:
    """Everything the tracker shows, from the stored facility-weeks and technician-weeks."""
    if metrics.empty:
        empty = pd.DataFrame()
        return TrackerView(None, {}, empty, empty, lifecycle(tech_weeks), at_risk(tech_weeks), target)
    trends = trend(metrics)
    overall = trends[trends["scope"] == OVERALL].sort_values("week_start")
    last = overall.iloc[-1]
    previous = overall.iloc[-2] if len(overall) > 1 else None
    table = facility_table(trends, metrics, target)
    summary: Overall = {
        "active_share": float(last["breadth"]),
        "change": None if previous is None else float(last["breadth"] - previous["breadth"]),
        "depth": float(last["depth"]),
        "depth_change": None if previous is None else float(last["depth"] - previous["depth"]),
        "technicians": int(table["Technicians"].sum()),
        "facilities": len(table),
        "facilities_below_target": int((~table["On target"]).sum()),
    }
    return TrackerView(last["week_start"], summary, trends, table, lifecycle(tech_weeks),
                       at_risk(tech_weeks, inactive_weeks), target)
