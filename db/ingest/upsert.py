"""Validated rows -> stored rows on the natural key: insert new, count identical, revise changed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlalchemy import Connection, Table, UniqueConstraint, insert, select
from sqlalchemy.exc import DataError
from sqlmodel import col

from db import summary
from db.engine import keys_checked_by_index
from db.ingest.columns import FACILITY_WEEK, TECHNICIAN_WEEK
from db.ingest.names import facility_key, facility_name
from db.models import Facility, Revision, TechnicianWeek, WeeklyMetric, table_of

_FACILITY_VALUES = (
    "technicians",
    "active_users",
    "work_orders",
    "ai_assisted_work_orders",
    "alerts",
    "alerts_actioned",
    "training_hours",
    "champions",
    "unplanned_downtime_hours",
)
_TECHNICIAN_VALUES = (
    "facility_id",
    "active",
    "eligible_work_orders",
    "ai_assisted_work_orders",
    "alerts_received",
    "alerts_actioned",
    "training_type",
    "training_hours",
    "champion",
)


@dataclass(frozen=True)
class TableSpec:
    """Where one kind of upload is stored, its natural key and the values compared."""

    table: Table
    key: tuple[str, ...]
    values: tuple[str, ...]

    @property
    def index_order(self) -> list[str]:
        """The key's columns in the order of the table's unique index (on the key)."""
        unique = next(c for c in self.table.constraints if isinstance(c, UniqueConstraint))
        return [column.name for column in unique.columns]


SPECS = {
    FACILITY_WEEK: TableSpec(table_of(WeeklyMetric), ("facility_id", "week_start"), _FACILITY_VALUES),
    TECHNICIAN_WEEK: TableSpec(
        table_of(TechnicianWeek), ("technician_key", "week_start"), _TECHNICIAN_VALUES
    ),
}


@dataclass
class ChangePlan:
    """What an upload does to the stored rows."""

    inserts: pd.DataFrame
    updates: pd.DataFrame
    previous: pd.DataFrame
    unchanged: int
    new_facilities: list[str] = field(default_factory=list)
    # Per row of the upload (in its order): the upload that last wrote the stored row, NA if new.
    stored_by: pd.Series = field(default_factory=lambda: pd.Series(dtype="Int64"))


def plan_changes(
    conn: Connection, kind: str, frame: pd.DataFrame, present: frozenset[str] | None = None,
    *, read_stored: bool = True,
) -> ChangePlan:
    """Compare validated rows with the stored ones, without writing.

    Args:
        conn: A connection to the store.
        kind: `facility-week` or `technician-week`.
        frame: The validated upload.
        present: Stored columns the file has (default all); only these are compared and
            updated, so a file without, say, `alerts` never erases stored alerts.
        read_stored: False when the caller knows that no stored row has a key of `frame` (a
            backfill into an empty table): every row is new and the stored rows are not read.

    Returns:
        Rows to insert, rows to update (with `id`), the values they replace, the count of
        identical rows, and the facilities that do not exist yet.
    """
    spec = SPECS[kind]
    known = dict(conn.execute(select(col(Facility.name_key), col(Facility.id))).all())
    rows = _stored_columns(frame, spec, known)
    new_names = frame.loc[~frame["facility_key"].isin(known), ["facility_key", "facility"]]
    new_facilities = new_names.drop_duplicates("facility_key")["facility"].tolist()
    compared = [c for c in spec.values if present is None or c in present or c == "facility_id"]
    if not read_stored:  # every row is new: nothing to merge or compare (0.1 s a backfill's piece)
        return ChangePlan(
            inserts=rows[list(spec.key + spec.values)],
            updates=pd.DataFrame(columns=["id", *compared]),
            previous=pd.DataFrame(columns=["id", *spec.values]),
            unchanged=0,
            new_facilities=new_facilities,
            stored_by=pd.Series(pd.NA, index=rows.index, dtype="Int64"),
        )
    existing = _named(_existing_rows(conn, spec, rows), rows, spec.key)
    merged = rows.merge(existing, on=list(spec.key), how="left", suffixes=("", "_old"))
    is_new = merged["id"].isna()
    same = pd.Series(True, index=merged.index)
    for column in compared:
        new, old = merged[column], merged[f"{column}_old"]
        same &= (new == old).fillna(False).astype(bool) | (new.isna() & old.isna())
    changed = ~is_new & ~same
    return ChangePlan(
        inserts=merged.loc[is_new, list(spec.key + spec.values)],
        updates=merged.loc[changed, ["id", *compared]],
        previous=merged.loc[changed, ["id"]].join(
            merged.loc[changed, [f"{c}_old" for c in spec.values]].set_axis(spec.values, axis=1)
        ),
        unchanged=int((~is_new & same).sum()),
        new_facilities=new_facilities,
        stored_by=merged["upload_id"].astype("Int64"),
    )


def create_facilities(conn: Connection, names: list[str]) -> None:
    """Insert facilities that uploads mention for the first time.

    Args:
        conn: A connection inside the write transaction.
        names: Display names; stored as `facility_name` gives them, matched by `facility_key`.
    """
    by_key: dict[str, str] = {}
    for name in names:  # two spellings of one name are one facility
        by_key.setdefault(facility_key(name), facility_name(name))
    if by_key:
        conn.execute(insert(table_of(Facility)), [{"name": n, "name_key": k} for k, n in by_key.items()])


def apply_changes(
    conn: Connection, kind: str, plan: ChangePlan, upload_id: int, *, summary_kept: bool = True,
    index_order: bool = True,
) -> None:
    """Write a plan: inserts, updates, and a revision holding each replaced row's values.

    Args:
        conn: A connection inside the write transaction.
        kind: `facility-week` or `technician-week`.
        plan: From `plan_changes`, made inside the same transaction.
        upload_id: The audit record the written rows point to.
        summary_kept: Bring the lifecycle summary up to date (a backfill leaves it, then rebuilds it
            once).
        index_order: Insert in the unique index's order; False when the table has no indexes yet
            (a backfill builds them at the end).
    """
    spec = SPECS[kind]
    kept = summary_kept and kind == TECHNICIAN_WEEK and bool(len(plan.inserts) or len(plan.updates))
    after = summary.last_technician_week(conn) if kept else 0
    with keys_checked_by_index(conn):
        _write_rows(conn, spec, plan, upload_id, staged=kept, index_order=index_order)
    if kept:
        copied = conn.dialect.name == "postgresql" and len(plan.inserts)
        staged = _stage_name(spec.table, None) if copied else None
        one_each = bool(plan.inserts["technician_key"].is_unique)
        summary.record_technician_weeks(conn, after, _revises_lifecycle(plan), staged, one_each=one_each)


def _revises_lifecycle(plan: ChangePlan) -> bool:
    """Whether updated technician-weeks changed what the lifecycle summary depends on."""
    for column in ("active", "facility_id"):
        if column in plan.updates.columns and len(plan.updates):
            new = plan.updates[column].reset_index(drop=True)
            old = plan.previous[column].reset_index(drop=True)
            if not (new.astype(object) == old.astype(object)).all():
                return True
    return False


def _write_rows(
    conn: Connection, spec: TableSpec, plan: ChangePlan, upload_id: int, *, staged: bool, index_order: bool
) -> None:
    if len(plan.inserts):
        # The unique index's order keeps its pages hot: several times faster on big uploads.
        inserts = plan.inserts.sort_values(spec.index_order) if index_order else plan.inserts
        inserts = inserts.assign(upload_id=upload_id)
        _execute_many(conn, spec.table, inserts, staged=staged)
    if not len(plan.updates):
        return
    _execute_many(conn, spec.table, plan.updates.assign(upload_id=upload_id), key="id")
    revisions = [
        {
            "upload_id": upload_id,
            "table_name": spec.table.name,
            "record_id": values.pop("id"),
            "previous_values": values,
        }
        for values in native_records(plan.previous)
    ]
    conn.execute(insert(table_of(Revision)), revisions)


def _execute_many(
    conn: Connection, table: Table, rows: pd.DataFrame, key: str | None = None, *, staged: bool = True
) -> None:
    """Insert (or, with `key`, update) many rows: COPY and set-based SQL on PostgreSQL, else executemany.

    SQLAlchemy's per-row parameter processing costs more than the database itself at 100,000
    rows, and these values are already validated and plain. `staged=False` lets PostgreSQL COPY
    new rows straight into the table, when nothing later in the transaction reads the staging table.
    """
    if conn.dialect.name == "postgresql":
        _copy_then_write(conn, table, rows, key, staged or key is not None)
        return
    mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    columns = [c for c in rows.columns if c != key]
    if key is None:
        sql = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES ({', '.join([mark] * len(columns))})"
    else:
        sets = ", ".join(f"{c} = {mark}" for c in columns)
        sql = f"UPDATE {table.name} SET {sets} WHERE {key} = {mark}"
        columns = [*columns, key]
    values = [_column_values(rows[c], iso_dates=conn.dialect.name == "sqlite") for c in columns]
    conn.exec_driver_sql(sql, list(zip(*values, strict=True)))


def _copy_then_write(
    conn: Connection, table: Table, rows: pd.DataFrame, key: str | None, staged: bool
) -> None:
    """PostgreSQL: COPY the rows into a staging table, then write them set-based.

    The staging table is dropped at commit; one INSERT ... SELECT (or UPDATE ... FROM) writes the
    rows into the table, in the upload's transaction. Unless `staged`, new rows are copied into the
    table itself: a backfill's 1.9 million rows then cross the server once, not twice (3 s less).
    """
    stage = _stage_name(table, key)
    driver = conn.connection.driver_connection
    if driver is None:  # (a pooled connection always has one)
        raise RuntimeError("no database connection")
    try:
        if staged:
            _copy_stage(driver, table.name, stage, rows, key)
        else:
            _copy_into(driver, table.name, rows)
    except conn.dialect.dbapi.DataError as refused:  # type: ignore[union-attr]  # as SQLAlchemy raises it
        raise DataError(f"COPY {stage}", None, refused) from refused


def _stage_name(table: Table, key: str | None) -> str:
    """The staging table of an upload's new (no key) or changed rows of `table`."""
    return f"stage_{table.name}_{'new' if key is None else 'changed'}"


def _copy_stage(driver: Any, name: str, stage: str, rows: pd.DataFrame, key: str | None) -> None:
    columns = list(rows.columns)
    listed = ", ".join(columns)
    with driver.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {stage}")
        cursor.execute(f"CREATE TEMP TABLE {stage} ON COMMIT DROP AS "
                       f"SELECT {listed} FROM {name} WITH NO DATA")
        with cursor.copy(f"COPY {stage} ({listed}) FROM STDIN (FORMAT csv)") as copy:
            copy.write(_csv_bytes(rows))
        if key is None:
            cursor.execute(f"INSERT INTO {name} ({listed}) SELECT {listed} FROM {stage}")
        else:
            sets = ", ".join(f"{c} = {stage}.{c}" for c in columns if c != key)
            cursor.execute(f"UPDATE {name} SET {sets} FROM {stage} WHERE {name}.{key} = {stage}.{key}")


def _copy_into(driver: Any, name: str, rows: pd.DataFrame) -> None:
    listed = ", ".join(rows.columns)
    with driver.cursor() as cursor, cursor.copy(f"COPY {name} ({listed}) FROM STDIN (FORMAT csv)") as copy:
        copy.write(_csv_bytes(rows))


def _csv_bytes(rows: pd.DataFrame) -> bytes:
    """The rows as CSV for COPY, written by Arrow's C++ writer in one call.

    A Python call per row (psycopg's `write_row`) cost 1.7 microseconds a row, about 3 s of a
    history of 1.6 million. Every value is quoted and a missing one is left empty and unquoted,
    so COPY reads an empty string as an empty string and only a missing value as NULL.
    """
    table = pa.Table.from_pandas(rows, preserve_index=False)
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False, quoting_style="all_valid"))
    return sink.getvalue().to_pybytes()


def _column_values(column: pd.Series, *, iso_dates: bool) -> list:
    values = _plain_values(column)
    if iso_dates and column.name == "week_start":
        return [None if v is None else v.isoformat() for v in values]
    return values


def _stored_columns(frame: pd.DataFrame, spec: TableSpec, known: dict[str, int | None]) -> pd.DataFrame:
    rows = frame.rename(columns={"technician": "technician_key"})
    # Each distinct facility looked up once (`Series.map` cost 10 ms a 50,000-row piece).
    codes, names = pd.factorize(rows["facility_key"])
    ids = pd.array([known.get(name) for name in names], dtype="Int64")
    rows["facility_id"] = ids.take(codes, allow_fill=True)
    return rows[list(spec.key + spec.values)].reset_index(drop=True)


def _existing_rows(conn: Connection, spec: TableSpec, rows: pd.DataFrame) -> pd.DataFrame:
    table = spec.table
    columns = ["id", *spec.key, *spec.values, "upload_id"]
    query = select(*(table.c[c] for c in columns)).where(
        table.c.week_start.in_(sorted(rows["week_start"].unique()))
    )
    if "facility_id" in spec.key:
        ids = [int(i) for i in rows["facility_id"].dropna().unique()]
        query = query.where(table.c.facility_id.in_(ids))
    # Plain tuples: pandas probes Row objects attribute by attribute, 100,000 times over.
    existing = pd.DataFrame([tuple(row) for row in conn.execute(query)], columns=columns)
    # Same dtypes on both sides, so equal values compare equal.
    return existing.astype({**{c: rows[c].dtype for c in (*spec.key, *spec.values)}, "upload_id": "Int64"})


def _named(existing: pd.DataFrame, rows: pd.DataFrame, key: tuple[str, ...]) -> pd.DataFrame:
    """The stored rows whose key the upload has (and, rarely, a few whose key hashes alike).

    The stored rows are fetched by week; a backfill's piece that starts inside a week fetches that
    week's earlier rows, 20,000 that it never matches, and merging on them cost a fifth of a second
    a piece. Comparing 64-bit hashes of the keys first leaves the merge only the rows that matter.
    """
    if existing.empty:
        return existing
    stored = pd.util.hash_pandas_object(existing[list(key)], index=False).to_numpy()
    wanted = pd.util.hash_pandas_object(rows[list(key)], index=False).to_numpy()
    return existing[np.isin(stored, wanted)]


def native_records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values (None for missing), ready for any DB driver.

    Args:
        frame: Any frame of scalars.

    Returns:
        One dict per row.
    """
    columns = {c: _plain_values(frame[c]) for c in frame.columns}
    keys = list(columns)
    return [dict(zip(keys, values, strict=True)) for values in zip(*columns.values(), strict=True)]


def _plain_values(column: pd.Series) -> list[Any]:
    """The column's values as Python objects, None where missing."""
    # pandas takes any na_value (its docs: "Any"); the stubs' `Scalar` leaves out None.
    return column.to_numpy(dtype=object, na_value=None).tolist()  # type: ignore[call-overload]
