"""Reads of the store, returned as DataFrames (no ORM object leaves `db/`)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, Select, func, select
from sqlmodel import col

from db import summary
from db.ingest.names import facility_key
from db.ingest.upsert import SPECS
from db.models import (
    Facility,
    Intervention,
    LifecycleWeek,
    TechnicianState,
    TechnicianWeek,
    Upload,
    WeeklyMetric,
    table_of,
)

WEEKLY_METRIC_COLUMNS = ("facility", "week_start", *SPECS["facility-week"].values)


def _frame(engine: Engine, query: Select) -> pd.DataFrame:
    """The query's rows, only its columns, built by pandas from the driver's rows (no Row objects)."""
    with engine.connect() as conn:
        return pd.read_sql(query, conn, coerce_float=False)


def _facility_key(facility: str) -> str:
    return facility_key(facility)


def weekly_metrics(engine: Engine, *, facility: str | None = None) -> pd.DataFrame:
    """Stored facility-weeks, ordered by facility then week.

    Args:
        engine: The store's engine.
        facility: Only this facility (matched like uploads: case and spacing ignored).

    Returns:
        Columns `facility`, `week_start` (date) and every metric; counts are nullable ints.
    """
    metric_columns = [table_of(WeeklyMetric).c[c] for c in WEEKLY_METRIC_COLUMNS[1:]]
    query = (
        select(col(Facility.name).label("facility"), *metric_columns)
        .join(Facility, col(Facility.id) == col(WeeklyMetric.facility_id))
        .order_by(col(Facility.name), col(WeeklyMetric.week_start))
    )
    if facility is not None:
        query = query.where(col(Facility.name_key) == _facility_key(facility))
    frame = _frame(engine, query)
    hours = {"training_hours", "unplanned_downtime_hours"}
    dtypes = {c: "Float64" if c in hours else "Int64" for c in WEEKLY_METRIC_COLUMNS[2:]}
    return frame.astype(dtypes)


def active_share(counts: pd.DataFrame) -> pd.Series:
    """The active share of technicians, row by row: `active_users / technicians` as floats.

    The one definition of a week's adoption (breadth), for one facility or summed over several.

    Args:
        counts: Rows with `active_users` and `technicians` (e.g. from `weekly_metrics`, or their
            sums per week).

    Returns:
        The share per row; NaN where a count is missing or there were no technicians.
    """
    technicians = counts["technicians"].astype(float)
    return counts["active_users"].astype(float) / technicians.where(technicians > 0)


def technician_weeks(engine: Engine, *, facility: str | None = None) -> pd.DataFrame:
    """Stored technician-weeks with pseudonymous keys, ordered by week then technician.

    Args:
        engine: The store's engine.
        facility: Only this facility.

    Returns:
        Columns `technician_key`, `facility`, `week_start` and the technician-week values.
    """
    table = table_of(TechnicianWeek)
    values = [table.c[c] for c in SPECS["technician-week"].values if c != "facility_id"]
    query = (
        select(table.c.technician_key, col(Facility.name).label("facility"), table.c.week_start, *values)
        .join(Facility, col(Facility.id) == table.c.facility_id)
        .order_by(table.c.week_start, table.c.technician_key)
    )
    if facility is not None:
        query = query.where(col(Facility.name_key) == _facility_key(facility))
    return _frame(engine, query)


def lifecycle_counts(engine: Engine, *, full: bool = False) -> pd.DataFrame:
    """Per week, how many technicians were new, retained, reactivated or lapsed users.

    A technician-week is *new* when active for the first time, *retained* when active and active in
    the technician's previous stored week, *reactivated* when active after a gap, *lapsed* when
    inactive after an active week. Read from the summary the ingest keeps (`db.summary`); with
    `full`, computed from every technician-week by window functions instead (the reference).

    Returns:
        Columns `week_start`, `status`, `technicians`, ordered by week then status.
    """
    if full:
        return _frame(engine, summary.lifecycle_counts_full())
    table = table_of(LifecycleWeek)
    query: Select = (select(table.c.week_start, table.c.status, table.c.technicians)
                     .order_by(table.c.week_start, table.c.status))
    return _frame(engine, query)


def last_active(engine: Engine) -> pd.DataFrame:
    """The technicians of the latest stored week who were active in some week, with their last one.

    Read from the per-technician state the ingest keeps (`db.summary`).

    Returns:
        Columns `technician_key`, `facility`, `last_active`, `latest_week` (the newest stored week).
    """
    s = table_of(TechnicianState)
    latest = select(func.max(s.c.last_week)).scalar_subquery()
    query: Select = (
        select(s.c.technician_key, col(Facility.name).label("facility"), s.c.last_active,
               s.c.last_week.label("latest_week"))
        .join(Facility, col(Facility.id) == s.c.facility_id)
        .where(s.c.last_week == latest, s.c.last_active.is_not(None))
        .order_by(s.c.technician_key)
    )
    return _frame(engine, query)


def uploads(engine: Engine) -> pd.DataFrame:
    """The upload audit log, newest first.

    Args:
        engine: The store's engine.

    Returns:
        One row per upload: id, file name, SHA-256, who, when, kind, counts, outcome.
    """
    table = table_of(Upload)
    columns = [c for c in table.c if c.name != "error_report"]
    return _frame(engine, select(*columns).order_by(table.c.id.desc()))


def last_uploads(engine: Engine) -> pd.DataFrame:
    """Each facility's latest upload that brought it a facility-week: facility, uploaded_at.

    Facilities whose weeks came without an upload record (e.g. the demo loaded directly) are absent.
    """
    query: Select = (
        select(col(Facility.name).label("facility"), func.max(col(Upload.uploaded_at)).label("uploaded_at"))
        .join(WeeklyMetric, col(WeeklyMetric.facility_id) == col(Facility.id))
        .join(Upload, col(Upload.id) == col(WeeklyMetric.upload_id))
        .group_by(col(Facility.name))
        .order_by(col(Facility.name))
    )
    return _frame(engine, query)


def facilities(engine: Engine) -> pd.DataFrame:
    """Every facility with its number of stored weeks.

    Args:
        engine: The store's engine.

    Returns:
        Columns `facility` and `weeks`, ordered by name.
    """
    query: Select = (
        select(col(Facility.name).label("facility"), func.count(col(WeeklyMetric.id)).label("weeks"))
        .outerjoin(WeeklyMetric, col(WeeklyMetric.facility_id) == col(Facility.id))
        .group_by(col(Facility.id), col(Facility.name))
        .order_by(col(Facility.name))
    )
    return _frame(engine, query)


def interventions(engine: Engine) -> pd.DataFrame:
    """The intervention log, oldest first; `facility` is None for organisation-wide ones.

    Args:
        engine: The store's engine.

    Returns:
        Columns `id`, `week_start`, `facility`, `kind`, `description`, `settings` (lever values or
        None).
    """
    query = (
        select(
            col(Intervention.id),
            col(Intervention.week_start),
            col(Facility.name).label("facility"),
            col(Intervention.kind),
            col(Intervention.description),
            col(Intervention.settings),
        )
        .outerjoin(Facility, col(Facility.id) == col(Intervention.facility_id))
        .order_by(col(Intervention.week_start), col(Intervention.id))
    )
    return _frame(engine, query)
