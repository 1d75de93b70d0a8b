"""The tracker's per-week lifecycle summary, kept by the ingest transaction (issue #14).

Counting new, retained, reactivated and lapsed users per week needs each technician's previous
stored week: a window over every technician-week, 3-4 s at two million rows. Uploads nearly always
append (next week's file), so the ingest keeps two small tables current instead:

- `technician_state`: per technician, the latest stored week, whether it was active, whether the
  technician was ever active and the last active week;
- `lifecycle_week`: per week and status, how many technicians.

An upload whose technician-weeks all come after each technician's latest stored week extends them
from the state (a few set operations over the upload's rows). Anything else (a week filled in
behind, a correction of `active` or of the facility) rebuilds both tables from the technician-weeks
in SQL, in the same transaction. `chasm db rebuild-summaries` rebuilds them on demand;
`lifecycle_counts_full` is the full computation they are tested equal to.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, Select, and_, case, delete, false, func, insert, select, true

from db.engine import write_transaction
from db.models import LifecycleWeek, TechnicianState, TechnicianWeek, table_of

_STATE_COLUMNS = (
    "technician_key", "facility_id", "last_week", "last_was_active", "ever_active", "last_active"
)


def lifecycle_counts_full() -> Select:
    """The lifecycle counts from every technician-week (window functions): the reference.

    Returns:
        A query of `week_start`, `status`, `technicians`, ordered by week then status.
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
    return (
        select(counted.c.week_start, counted.c.status, func.count().label("technicians"))
        .where(counted.c.status.is_not(None))
        .group_by(counted.c.week_start, counted.c.status)
        .order_by(counted.c.week_start, counted.c.status)
    )


def _state_full() -> Select:
    """Each technician's state from every technician-week (GROUP BY, then its latest row)."""
    t = table_of(TechnicianWeek)
    agg = select(
        t.c.technician_key,
        func.max(t.c.week_start).label("last_week"),
        func.max(case((t.c.active == true(), 1), else_=0)).label("ever"),
        func.max(case((t.c.active == true(), t.c.week_start), else_=None)).label("last_active"),
    ).group_by(t.c.technician_key).subquery()
    return select(
        agg.c.technician_key, t.c.facility_id, agg.c.last_week, t.c.active,
        case((agg.c.ever == 1, true()), else_=false()), agg.c.last_active,
    ).join(t, and_(t.c.technician_key == agg.c.technician_key, t.c.week_start == agg.c.last_week))


def rebuild(conn: Connection) -> None:
    """Recompute both summary tables from the technician-weeks, in SQL, inside `conn`'s transaction.

    Args:
        conn: A connection inside a write transaction.
    """
    lifecycle, state = table_of(LifecycleWeek), table_of(TechnicianState)
    conn.execute(delete(lifecycle))
    conn.execute(delete(state))
    counts = lifecycle_counts_full().order_by(None)
    conn.execute(insert(lifecycle).from_select(["week_start", "status", "technicians"], counts))
    conn.execute(insert(state).from_select(list(_STATE_COLUMNS), _state_full()))


def record_technician_weeks(conn: Connection, inserted: pd.DataFrame, revised: bool) -> None:
    """Bring the summary up to date after an upload wrote technician-weeks, in its transaction.

    Args:
        conn: The upload's write transaction, after the rows were written.
        inserted: The new rows: `technician_key`, `week_start`, `active`, `facility_id`.
        revised: Whether the upload changed `active` or the facility of a stored week.
    """
    if revised:
        rebuild(conn)
        return
    if inserted.empty:
        return
    rows = inserted[["technician_key", "week_start", "active", "facility_id"]].assign(
        week_start=lambda f: pd.to_datetime(f["week_start"]))
    rows = rows.sort_values(["technician_key", "week_start"]).reset_index(drop=True)
    state = _read_state(conn, rows["technician_key"])
    known = rows[["technician_key"]].merge(state, on="technician_key", how="left")
    behind = rows["week_start"] <= known["last_week"]  # NaT (a new technician) compares False
    if behind.any():  # a week filled in behind a later one: every later week's status can change
        rebuild(conn)
        return
    _extend(conn, rows, known)


def _read_state(conn: Connection, keys: pd.Series) -> pd.DataFrame:
    state = table_of(TechnicianState)
    query = select(*(state.c[c] for c in _STATE_COLUMNS))
    unique = keys.unique()
    if len(unique) <= 500:
        query = query.where(state.c.technician_key.in_(unique.tolist()))
    frame = pd.DataFrame([tuple(r) for r in conn.execute(query)], columns=list(_STATE_COLUMNS))
    frame = frame.astype({"last_week": "datetime64[ns]", "last_active": "datetime64[ns]"})
    return frame[frame["technician_key"].isin(unique)]


def _extend(conn: Connection, rows: pd.DataFrame, known: pd.DataFrame) -> None:
    """Append the upload's weeks to the summary from the stored state (every week is newer)."""
    active = rows["active"].astype(bool).to_numpy()
    keys = rows["technician_key"]
    first = ~keys.duplicated().to_numpy()
    stored_active = known["last_was_active"].fillna(False).astype(bool).to_numpy()
    stored_ever = known["ever_active"].fillna(False).astype(bool).to_numpy()
    shifted = pd.Series(active).groupby(keys).shift(1, fill_value=False).to_numpy(dtype=bool)
    before = np.where(first, stored_active, shifted)
    seen = pd.Series(active).groupby(keys).cummax().groupby(keys).shift(1, fill_value=False)
    ever = seen.to_numpy(dtype=bool) | stored_ever
    status = np.select(
        [active & ~ever, active & before, active & ~before & ever, ~active & before],
        ["new", "retained", "reactivated", "lapsed"], default="",
    )
    counted = pd.DataFrame({"week_start": rows["week_start"], "status": status})
    counted = counted[counted["status"] != ""]
    counts = counted.groupby([counted["week_start"].dt.date, "status"]).size()
    _add_counts(conn, counts)
    _write_state(conn, rows, known, active)


def _add_counts(conn: Connection, counts: pd.Series) -> None:
    if counts.empty:
        return
    lifecycle = table_of(LifecycleWeek)
    keys: list[tuple[date, str]] = counts.index.tolist()
    total = dict(zip(keys, (int(n) for n in counts.tolist()), strict=True))
    weeks = sorted({w for w, _ in keys})
    stored = conn.execute(select(lifecycle.c.week_start, lifecycle.c.status, lifecycle.c.technicians)
                          .where(lifecycle.c.week_start.in_(weeks))).all()
    for week, status, technicians in stored:
        total[(week, status)] = total.get((week, status), 0) + int(technicians)
    conn.execute(delete(lifecycle).where(lifecycle.c.week_start.in_(weeks)))
    conn.execute(insert(lifecycle), [{"week_start": w, "status": s, "technicians": n}
                                     for (w, s), n in sorted(total.items())])


def _write_state(conn: Connection, rows: pd.DataFrame, known: pd.DataFrame, active: np.ndarray) -> None:
    """Upsert each technician's state from its newest uploaded week (ON CONFLICT: SQLite and PostgreSQL)."""
    frame = rows.assign(active=active, stored_ever=known["ever_active"].fillna(False).astype(bool),
                        stored_last_active=known["last_active"])
    frame["active_week"] = frame["week_start"].where(frame["active"])
    grouped = frame.groupby("technician_key", sort=False)
    latest = grouped.tail(1).set_index("technician_key")
    uploaded_last_active = grouped["active_week"].max()
    last_active = uploaded_last_active.combine_first(latest["stored_last_active"])
    state = pd.DataFrame({
        "technician_key": latest.index,
        "facility_id": latest["facility_id"].astype(int).to_numpy(),
        "last_week": latest["week_start"].to_numpy(),
        "last_was_active": latest["active"].to_numpy(dtype=bool),
        "ever_active": (grouped["active"].max() | latest["stored_ever"]).to_numpy(dtype=bool),
        "last_active": last_active.reindex(latest.index).to_numpy(),
    })
    sqlite = conn.dialect.name == "sqlite"
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    updates = ", ".join(f"{c} = excluded.{c}" for c in _STATE_COLUMNS[1:])
    sql = (f"INSERT INTO technician_state ({', '.join(_STATE_COLUMNS)}) "
           f"VALUES ({', '.join([mark] * len(_STATE_COLUMNS))}) "
           f"ON CONFLICT (technician_key) DO UPDATE SET {updates}")
    values = [_plain(state[c], iso=sqlite) for c in _STATE_COLUMNS]
    conn.exec_driver_sql(sql, list(zip(*values, strict=True)))


def _plain(column: pd.Series, *, iso: bool) -> list:
    values = column.to_numpy(dtype=object, na_value=None).tolist()  # type: ignore[call-overload]
    if column.name in ("last_week", "last_active"):
        values = [None if v is None or v is pd.NaT else _as_date(v) for v in values]
        return [None if v is None else v.isoformat() for v in values] if iso else values
    if column.name in ("last_was_active", "ever_active"):
        return [bool(v) for v in values]
    return values


def _as_date(value: object) -> date:
    if isinstance(value, pd.Timestamp):
        return value.date()
    if isinstance(value, np.datetime64):
        return pd.Timestamp(value).date()
    if isinstance(value, date):
        return value
    raise TypeError(f"not a date: {value!r}")


def rebuild_store(engine: Engine) -> tuple[int, int]:
    """Rebuild the summary of a store in one write transaction (`chasm db rebuild-summaries`).

    Args:
        engine: The store's engine.

    Returns:
        How many technicians and how many weeks the summary now covers.
    """
    with write_transaction(engine) as conn:
        rebuild(conn)
        state, lifecycle = table_of(TechnicianState), table_of(LifecycleWeek)
        technicians = conn.execute(select(func.count()).select_from(state)).scalar_one()
        weeks = conn.execute(select(func.count(func.distinct(lifecycle.c.week_start)))).scalar_one()
    return int(technicians), int(weeks)
