"""Reads of the store, returned as DataFrames (no ORM object leaves `db/`)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import Engine, Select, and_, case, func, select, true
from sqlmodel import col

from db.ingest.names import facility_key
from db.ingest.upsert import SPECS
from db.models import Facility, Intervention, TechnicianWeek, Upload, WeeklyMetric, table_of

WEEKLY_METRIC_COLUMNS = ("facility", "week_start", *SPECS["facility-week"].values)


def _frame(engine: Engine, query: Select) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame([tuple(row) for row in result], columns=list(result.keys()))


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


def lifecycle_counts(engine: Engine) -> pd.DataFrame:
    """Per week, how many technicians were new, retained, reactivated or lapsed users, in SQL.

    A technician-week is *new* when active for the first time, *retained* when active and active in
    the technician's previous stored week, *reactivated* when active after a gap, *lapsed* when
    inactive after an active week. Window functions over the technician-weeks (portable to SQLite
    and PostgreSQL); only the small count table comes back.

    Returns:
        Columns `week_start`, `status`, `technicians`, ordered by week then status.
    """
    t = table_of(TechnicianWeek)
    active = case((t.c.active == true(), 1), else_=0)
    key, week = t.c.technician_key, t.c.week_start
    weeks = select(
        t.c.week_start, active.label("active"),
        func.coalesce(func.lag(active).over(partition_by=key, order_by=week), 0).label("before"),
        func.coalesce(func.max(active).over(partition_by=key, order_by=week, rows=(None, -1)), 0)
        .label("ever_before"),
    ).subquery()
    is_active, before, ever = weeks.c.active == 1, weeks.c.before == 1, weeks.c.ever_before == 1
    status = case(
        (and_(is_active, ~ever), "new"),
        (and_(is_active, before), "retained"),
        (and_(is_active, ~before, ever), "reactivated"),
        (and_(~is_active, before), "lapsed"),
        else_=None,
    ).label("status")
    counted = select(weeks.c.week_start, status).subquery()
    query: Select = (
        select(counted.c.week_start, counted.c.status, func.count().label("technicians"))
        .where(counted.c.status.is_not(None))
        .group_by(counted.c.week_start, counted.c.status)
        .order_by(counted.c.week_start, counted.c.status)
    )
    return _frame(engine, query)


def last_active(engine: Engine) -> pd.DataFrame:
    """The technicians of the latest stored week who were active in some week, with their last one.

    Returns:
        Columns `technician_key`, `facility`, `last_active`, `latest_week` (the newest stored week).
    """
    t = table_of(TechnicianWeek)
    latest = select(func.max(t.c.week_start)).scalar_subquery()
    used = (select(t.c.technician_key, func.max(t.c.week_start).label("last_active"))
            .where(t.c.active == true()).group_by(t.c.technician_key).subquery())
    query: Select = (
        select(t.c.technician_key, col(Facility.name).label("facility"), used.c.last_active,
               t.c.week_start.label("latest_week"))
        .join(Facility, col(Facility.id) == t.c.facility_id)
        .join(used, used.c.technician_key == t.c.technician_key)
        .where(t.c.week_start == latest)
        .order_by(t.c.technician_key)
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
