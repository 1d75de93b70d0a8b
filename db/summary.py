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

from sqlalchemy import (
    Connection,
    Date,
    Engine,
    Select,
    and_,
    case,
    delete,
    false,
    func,
    insert,
    select,
    text,
    true,
)
from sqlalchemy.sql.elements import TextClause

from db.engine import keys_checked_by_index, write_transaction
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


# The weeks an upload just inserted (ids above the largest before it: writers are serialised), with
# each technician's stored state: the lifecycle status of every new week, as in the full computation.
# MATERIALIZED: the new rows by id range first (otherwise SQLite walks the whole unique index to
# get them in technician order).
_FRESH = """
WITH fresh AS MATERIALIZED (
  SELECT technician_key, week_start, facility_id, CASE WHEN active THEN 1 ELSE 0 END AS active
  FROM {new_rows}
)"""
# Each new week's flags: active, active the week before, ever active before.
_WINDOWED_FLAGS = """, new AS (
  SELECT technician_key, week_start, active,
         LAG(active) OVER (PARTITION BY technician_key ORDER BY week_start) AS before_in,
         MAX(active) OVER (PARTITION BY technician_key ORDER BY week_start
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS ever_in
  FROM fresh
), flagged AS (
  SELECT n.week_start, n.active,
         COALESCE(n.before_in, CASE WHEN s.last_was_active THEN 1 ELSE 0 END) AS before,
         CASE WHEN n.ever_in = 1 OR s.ever_active THEN 1 ELSE 0 END AS ever,
         CASE WHEN n.week_start <= s.last_week THEN 1 ELSE 0 END AS behind,
         CASE WHEN s.technician_key IS NULL THEN 1 ELSE 0 END AS unknown
  FROM new n LEFT JOIN technician_state s ON s.technician_key = n.technician_key
)"""
# The same when each technician has one new week (a weekly upload): the stored state alone.
_STORED_FLAGS = """, flagged AS (
  SELECT w.week_start, w.active,
         CASE WHEN s.last_was_active THEN 1 ELSE 0 END AS before,
         CASE WHEN s.ever_active THEN 1 ELSE 0 END AS ever,
         CASE WHEN w.week_start <= s.last_week THEN 1 ELSE 0 END AS behind,
         CASE WHEN s.technician_key IS NULL THEN 1 ELSE 0 END AS unknown
  FROM fresh w LEFT JOIN technician_state s ON s.technician_key = w.technician_key
)"""
# With each count, how many of its weeks are at or before their technician's latest stored week
# (filled in behind: then the counts are not used and the summary is rebuilt) and how many are of
# technicians with no state yet (none: nothing to insert into the state). One join of the new weeks
# with the state answers all three (a separate check for weeks behind took 0.09 s a weekly upload).
_STATUS_COUNTS = """, statuses AS (
  SELECT week_start, CASE
           WHEN active = 1 AND ever = 0 THEN 'new'
           WHEN active = 1 AND before = 1 THEN 'retained'
           WHEN active = 1 THEN 'reactivated'
           WHEN before = 1 THEN 'lapsed'
         END AS status, behind, unknown
  FROM flagged
)
SELECT week_start, status, COUNT(*), SUM(behind), SUM(unknown) FROM statuses
WHERE status IS NOT NULL OR behind = 1 OR unknown = 1
GROUP BY week_start, status
"""
_NEW_WEEKS = _FRESH + _WINDOWED_FLAGS + _STATUS_COUNTS
_NEW_WEEK_EACH = _FRESH + _STORED_FLAGS + _STATUS_COUNTS

# Each technician's state from its newest inserted week and its stored state (WHERE TRUE: SQLite
# reads ON CONFLICT after a bare join as the join's ON).
_ON_CONFLICT = f"""
WHERE TRUE
ON CONFLICT (technician_key) DO UPDATE SET
  {", ".join(f"{c} = excluded.{c}" for c in _STATE_COLUMNS[1:])}
"""
_STATE_UPSERT = _FRESH + f"""
INSERT INTO technician_state ({", ".join(_STATE_COLUMNS)})
SELECT w.technician_key, w.facility_id, w.week_start, CASE WHEN w.active = 1 THEN TRUE ELSE FALSE END,
       CASE WHEN agg.ever = 1 OR s.ever_active THEN TRUE ELSE FALSE END,
       COALESCE(agg.last_active, s.last_active)
FROM (SELECT technician_key, MAX(week_start) AS last_week, MAX(active) AS ever,
             MAX(CASE WHEN active = 1 THEN week_start END) AS last_active
      FROM fresh GROUP BY technician_key) agg
JOIN fresh w ON w.technician_key = agg.technician_key AND w.week_start = agg.last_week
LEFT JOIN technician_state s ON s.technician_key = agg.technician_key""" + _ON_CONFLICT
# The same when each technician has one new week: the known technicians' states updated from a join,
# then the new technicians' inserted. On PostgreSQL 0.10 s against 0.17 s for the upsert above at
# 20,000 technicians, which probes the key and locks each row before updating it.
_STATE_UPDATE_EACH = _FRESH + """
UPDATE technician_state AS s
SET facility_id = w.facility_id, last_week = w.week_start,
    last_was_active = CASE WHEN w.active = 1 THEN TRUE ELSE FALSE END,
    ever_active = CASE WHEN w.active = 1 OR s.ever_active THEN TRUE ELSE FALSE END,
    last_active = CASE WHEN w.active = 1 THEN w.week_start ELSE s.last_active END
FROM fresh w WHERE s.technician_key = w.technician_key"""
_STATE_INSERT_EACH = _FRESH + f"""
INSERT INTO technician_state ({", ".join(_STATE_COLUMNS)})
SELECT w.technician_key, w.facility_id, w.week_start, CASE WHEN w.active = 1 THEN TRUE ELSE FALSE END,
       CASE WHEN w.active = 1 THEN TRUE ELSE FALSE END, CASE WHEN w.active = 1 THEN w.week_start END
FROM fresh w WHERE NOT EXISTS (SELECT 1 FROM technician_state s WHERE s.technician_key = w.technician_key)"""


def last_technician_week(conn: Connection) -> int:
    """The largest technician-week id: call before an upload inserts, pass to `record_technician_weeks`."""
    return int(conn.execute(select(func.max(table_of(TechnicianWeek).c.id))).scalar() or 0)


def record_technician_weeks(
    conn: Connection, after: int, revised: bool, staged: str | None = None, *, one_each: bool = False
) -> None:
    """Bring the summary up to date after an upload wrote technician-weeks, in its transaction.

    The weeks it inserted are those with ids above `after`. When each comes after its technician's
    latest stored week, the summary is extended set-based in SQL from them and the stored state;
    otherwise (or when `revised`) it is rebuilt.

    Args:
        conn: The upload's write transaction, after the rows were written.
        after: `last_technician_week` before the upload inserted.
        revised: Whether the upload changed `active` or the facility of a stored week.
        staged: A table in the transaction holding exactly the inserted rows (PostgreSQL's COPY
            staging table), read instead of the id range: the planner's statistics lag behind a
            bulk load and would scan the whole table for the range.
        one_each: No technician has more than one inserted week (a weekly upload): the status of
            each follows from the stored state alone, without a window over the new weeks.
    """
    new_rows = staged or "technician_week WHERE id > :after"

    def run(sql: str) -> TextClause:
        return text(sql.replace("{new_rows}", new_rows))

    if revised:
        rebuild(conn)
        return
    counts = conn.execute(run(_NEW_WEEK_EACH if one_each else _NEW_WEEKS).columns(week_start=Date),
                          {"after": after}).all()
    if any(behind for *_, behind, _ in counts):
        rebuild(conn)
        return
    _add_counts(conn, {(week, status): int(n) for week, status, n, _, _ in counts if status is not None})
    with keys_checked_by_index(conn):  # the states' facilities
        if not one_each:
            conn.execute(run(_STATE_UPSERT), {"after": after})
        else:
            conn.execute(run(_STATE_UPDATE_EACH), {"after": after})
            if any(unknown for *_, unknown in counts):
                conn.execute(run(_STATE_INSERT_EACH), {"after": after})


def _add_counts(conn: Connection, total: dict[tuple[date, str], int]) -> None:
    """Add the new weeks' counts to the stored ones (a few rows per week)."""
    if not total:
        return
    lifecycle = table_of(LifecycleWeek)
    weeks = sorted({w for w, _ in total})
    stored = conn.execute(select(lifecycle.c.week_start, lifecycle.c.status, lifecycle.c.technicians)
                          .where(lifecycle.c.week_start.in_(weeks))).all()
    for week, status, technicians in stored:
        total[(week, status)] = total.get((week, status), 0) + int(technicians)
    conn.execute(delete(lifecycle).where(lifecycle.c.week_start.in_(weeks)))
    conn.execute(insert(lifecycle), [{"week_start": w, "status": s, "technicians": n}
                                     for (w, s), n in sorted(total.items())])


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
