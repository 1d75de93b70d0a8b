"""The recorded rollout: observed shares from the store and the intervention log replayed as levers.

With technician-weeks stored, the weekly lapse rate is observed too (`observed_churn`).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy import Engine

import seed_data
from db.interventions import INTERVENTION_KINDS
from db.queries import active_share, technician_weeks, weekly_metrics
from db.queries import interventions as logged_interventions
from model.calibrate import CalibrationError
from model.scenario import (
    Champions,
    Intervention,
    Scenario,
    Wave,
    load_scenario,
)

ROLLOUT = seed_data.path("scenarios", "rollout.toml")


# What a logged intervention of each kind does to the levers when the log gives no settings of its
# own: one entry per kind db.interventions accepts ({} changes no lever). `champions` launches
# champions instead (see recorded_scenario).
KIND_SETTINGS: dict[str, dict[str, Any]] = {
    "champions": {},
    "cmms_integration": {"friction_minutes": 0.5},
    "kpi_change": {"kpi": "downtime_prevented"},
    "training_wave": {"training_per_week": 20, "training_hours": 8.0, "training_mode": "hands_on"},
    "communication": {},
    "leadership": {},
    "other": {},
}


def replayed_settings(kind: str, settings: dict[str, Any] | None) -> dict[str, Any]:
    """The lever values a logged intervention sets when the forecast replays it: its own, else the kind's."""
    return dict(settings if isinstance(settings, dict) else KIND_SETTINGS.get(kind, {}))


def describe_replay(kind: str, settings: dict[str, Any] | None) -> str:
    """What the forecast replays for one log entry, in words ("" for nothing)."""
    values = replayed_settings(kind, settings)
    parts = [f"{k} = {v:g}" if isinstance(v, int | float) else f"{k} = {v}" for k, v in values.items()]
    if kind == "champions":
        parts.append("1 champion per 12 technicians, in every facility")
    return ", ".join(parts)


class _LogEntry(NamedTuple):
    """One entry of the intervention log, typed (the columns db.queries.interventions returns)."""

    week_start: date
    facility: str | None
    kind: str
    description: str
    settings: dict[str, Any] | None


def _log_entries(engine: Engine) -> list[_LogEntry]:
    """The intervention log, oldest first, one typed entry per row."""
    log = logged_interventions(engine)[list(_LogEntry._fields)]
    return [_LogEntry._make(row) for row in log.itertuples(index=False, name=None)]


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
    frame = pd.DataFrame({"week_start": weekly.index, "active_share": active_share(weekly)})
    frame.insert(0, "week", np.arange(1, len(frame) + 1))
    return frame.reset_index(drop=True)


def observed_churn(engine: Engine, facility: str | None = None) -> np.ndarray | None:
    """Weekly lapse rate from the stored technician-weeks, one value per week of `observed_series`.

    The share of last week's users who did not use the tool this week, among those with a
    technician-week in both weeks; NaN in week 1 and where no one was a user the week before.
    Calibration matches it as well as the active share: it tells sticky use from coming and going.

    Returns:
        The rates, or None when no technician-weeks are stored (facility-week uploads only).

    Raises:
        CalibrationError: no metrics (for the facility).
    """
    weeks = list(observed_series(engine, facility)["week_start"])
    tech = technician_weeks(engine, facility=facility)
    if tech.empty:
        return None
    used = (tech.assign(active=tech["active"].astype(float))
            .pivot_table(index="technician_key", columns="week_start", values="active", aggfunc="max")
            .reindex(columns=weeks).to_numpy(dtype=float))
    before, now = used[:, :-1], used[:, 1:]
    users = (before == 1) & ~np.isnan(now)
    lapsed = (users & (now == 0)).sum(axis=0)
    counts = users.sum(axis=0)
    rate = np.where(counts > 0, lapsed / np.maximum(counts, 1), np.nan)
    return np.concatenate([[np.nan], rate])


def recorded_scenario(engine: Engine, facility: str | None = None) -> Scenario:
    """The rollout as it happened: the stored facilities and the intervention log on the rollout preset.

    Each stored facility is a facility of the scenario, with its name, its headcount at its latest
    stored week and a wave that takes it live at its first stored week (week 1 = the first stored
    week); facilities are ordered by go-live week, then name, so the pilot's technicians sit in the
    first facility live. Facility-scoped log entries apply only to that facility's fit: the engine's
    levers are organisation-wide, so the organisation's scenario leaves them out. Kinds without
    lever settings (communications, reviews) change nothing in the model.
    """
    metrics = weekly_metrics(engine, facility=facility)
    if metrics.empty:
        raise CalibrationError(f"no weekly metrics stored for facility {facility!r}" if facility
                               else "no weekly metrics stored: upload a file or load the demo")
    first_week = pd.Timestamp(metrics["week_start"].min())
    layout = _facility_layout(metrics, first_week)
    base = load_scenario(ROLLOUT)
    headcount = sum(size for _, size, _ in layout)
    org = replace(base.organisation, technicians=headcount, facilities=len(layout),
                  facility_names=tuple(name for name, _, _ in layout),
                  facility_sizes=tuple(size for _, size, _ in layout),
                  pilot_technicians=min(base.organisation.pilot_technicians, headcount // 4))
    waves = tuple(Wave(facilities=tuple(i for i, (_, _, live) in enumerate(layout) if live == week),
                       week=week) for week in sorted({live for _, _, live in layout}))
    items = []
    for row in _log_entries(engine):
        place = row.facility
        if isinstance(place, str) and (facility is None or place.casefold() != facility.casefold()):
            continue
        week = (pd.Timestamp(row.week_start) - first_week).days // 7 + 1
        if week < 1:
            continue
        settings = replayed_settings(row.kind, row.settings)
        champions = None
        if row.kind == "champions":
            count = max(1, org.technicians // 12)
            champions = Champions(count=min(count, org.technicians), strategy="facility")
        if settings or champions:
            items.append(Intervention(week=int(week), levers=settings, champions=champions,
                                      label=row.description or INTERVENTION_KINDS.get(row.kind, row.kind)))
    weeks = int(metrics["week_start"].nunique()) + 260
    weeks = max(weeks, waves[-1].week)
    return replace(base, name=f"recorded ({facility or 'all facilities'})", organisation=org, waves=waves,
                   interventions=tuple(sorted(items, key=lambda i: i.week)), weeks=weeks)


def _facility_layout(metrics: pd.DataFrame, first_week: pd.Timestamp) -> list[tuple[str, int, int]]:
    """(name, headcount at its latest stored week, go-live week) per stored facility, in go-live order."""
    rows = metrics.sort_values("week_start")
    latest = rows.groupby("facility").tail(1).set_index("facility")["technicians"]
    live = rows.groupby("facility")["week_start"].min()
    layout = [(str(name), max(1, int(latest[name])),
               int((pd.Timestamp(live[name]) - first_week).days // 7 + 1)) for name in live.index]
    return sorted(layout, key=lambda item: (item[2], item[0]))


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
