"""The intervention log: what the organisation actually did, loaded idempotently."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Engine, delete, insert, select, update
from sqlmodel import col

from db.engine import write_transaction
from db.errors import IngestError, Problem
from db.ingest.names import facility_key
from db.ingest.upsert import create_facilities
from db.models import Facility, Intervention, table_of

INTERVENTION_KINDS: dict[str, str] = {
    "champions": "Champions launched",
    "cmms_integration": "AI embedded in the CMMS",
    "kpi_change": "KPI change",
    "training_wave": "Training wave",
    "communication": "Communication",
    "leadership": "Leadership action",
    "other": "Other",
}
"""The kinds the log accepts, in the order they are offered, with their labels for people.

What each kind does to the model's levers is app.services.recorded.KIND_SETTINGS (one entry per kind).
"""
_COLUMNS = ("week_start", "facility", "kind", "description")


def read_interventions(path: Path | str) -> pd.DataFrame:
    """Read and check an intervention log CSV (`week_start, facility, kind, description`).

    An empty `facility` ("") means the whole organisation.

    Args:
        path: The CSV file.

    Returns:
        Columns `week_start` (date), `facility` (str, "" for all), `kind`, `description`.

    Raises:
        IngestError: Every bad cell, with its row and column.
    """
    path = Path(path)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in _COLUMNS if c not in frame.columns]
    problems = [Problem(1, c, "", "required column is missing") for c in missing]
    if not problems:
        # Line numbers as a person sees them in the file: the header is line 1.
        problems = [p for number, (_, row) in enumerate(frame.iterrows(), start=2)
                    for p in _row_problems(number, row)]
    if problems:
        raise IngestError(path.name, problems)
    frame["week_start"] = frame["week_start"].map(date.fromisoformat)
    frame["facility"] = frame["facility"].map(lambda f: " ".join(f.split()))
    return frame[list(_COLUMNS)]


def _row_problems(row: int, values: pd.Series) -> list[Problem]:
    problems = []
    try:
        date.fromisoformat(values["week_start"])
    except ValueError:
        problems.append(Problem(row, "week_start", values["week_start"], "not a YYYY-MM-DD date"))
    return problems + _kind_problems(row, values["kind"])


def _kind_problems(row: int, kind: str) -> list[Problem]:
    if kind in INTERVENTION_KINDS:
        return []
    return [Problem(row, "kind", kind, f"unknown kind: use one of {', '.join(INTERVENTION_KINDS)}")]


def record_interventions(engine: Engine, frame: pd.DataFrame) -> int:
    """Store interventions not yet logged, keyed on (week, facility, kind, description).

    Args:
        engine: The store's engine.
        frame: From `read_interventions`.

    Returns:
        How many were new.
    """
    with write_transaction(engine) as conn:
        known = dict(conn.execute(select(col(Facility.name_key), col(Facility.id))).all())
        names = [n for n in frame["facility"].unique() if n]
        create_facilities(conn, [n for n in names if facility_key(n) not in known])
        known = dict(conn.execute(select(col(Facility.name_key), col(Facility.id))).all())
        existing = set(
            conn.execute(
                select(
                    col(Intervention.week_start),
                    col(Intervention.facility_id),
                    col(Intervention.kind),
                    col(Intervention.description),
                )
            ).all()
        )
        rows = [
            {
                "week_start": row.week_start,
                "facility_id": known[facility_key(str(row.facility))] if row.facility else None,
                "kind": row.kind,
                "description": row.description,
            }
            for row in frame.itertuples()
        ]
        new = [r for r in rows if tuple(r.values()) not in existing]
        if new:
            conn.execute(insert(table_of(Intervention)), new)
    return len(new)


@dataclass(frozen=True)
class LogChanges:
    """What `save_intervention_log` did."""

    added: int
    updated: int
    deleted: int


LOG_NAME = "intervention log"


def save_intervention_log(engine: Engine, frame: pd.DataFrame, *, shown_ids: list[int]) -> LogChanges:
    """Store an edited intervention log in one transaction: updates, additions and deletions.

    Every row is checked first; one bad row rejects the whole edit and nothing is written. Lever
    `settings` of an entry are kept when its text is edited.

    Args:
        engine: The store's engine.
        frame: The log as edited: `id` (None or NaN for a new entry), `week_start` (date),
            `facility` ("" or None for the whole organisation), `kind`, `description`.
        shown_ids: The ids the editor was given; those missing from `frame` are deleted (entries
            added meanwhile by someone else are left alone).

    Returns:
        How many entries were added, updated and deleted.

    Raises:
        IngestError: Every bad cell, as "Row N, column 'C', value 'V': what is wrong", where N counts
            the editor's rows from 1.
    """
    rows = [_log_row(i + 1, row) for i, row in enumerate(frame.to_dict("records"))]
    with write_transaction(engine) as conn:
        facilities = dict(conn.execute(select(col(Facility.name_key), col(Facility.id))).all())
        stored = {r.id: r for r in conn.execute(select(table_of(Intervention))).all()}
        problems = [p for _, _, found in rows for p in found]
        for number, values, _ in rows:
            if values["facility"] and facility_key(values["facility"]) not in facilities:
                problems.append(Problem(number, "facility", values["facility"],
                                        "unknown facility: choose one with stored metrics, or leave it "
                                        "empty for the whole organisation"))
            if values["id"] is not None and values["id"] not in stored:
                problems.append(Problem(number, "id", str(values["id"]),
                                        "this entry no longer exists (deleted meanwhile): reload the page"))
        if problems:
            raise IngestError(LOG_NAME, problems)
        added = updated = 0
        for _, values, _ in rows:
            record = {"week_start": values["week_start"], "kind": values["kind"],
                      "description": values["description"],
                      "facility_id": (facilities[facility_key(values["facility"])]
                                      if values["facility"] else None)}
            if values["id"] is None:
                conn.execute(insert(table_of(Intervention)), [record])
                added += 1
            elif any(getattr(stored[values["id"]], k) != v for k, v in record.items()):
                conn.execute(update(table_of(Intervention))
                             .where(table_of(Intervention).c.id == values["id"]).values(**record))
                updated += 1
        kept = {values["id"] for _, values, _ in rows}
        gone = [i for i in shown_ids if i not in kept and i in stored]
        if gone:
            conn.execute(delete(table_of(Intervention)).where(table_of(Intervention).c.id.in_(gone)))
    return LogChanges(added, updated, len(gone))


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NaT


def _log_row(number: int, row: dict) -> tuple[int, dict, list[Problem]]:
    """One editor row -> (its number, clean values, its problems)."""
    problems = []
    week: Any = row.get("week_start")  # a date, a datetime or text from the editor, or missing
    if _missing(week):
        problems.append(Problem(number, "week_start", "", "a week is required (YYYY-MM-DD)"))
        week = None
    elif not isinstance(week, date) or isinstance(week, datetime):
        week = pd.Timestamp(week).date()
    kind = "" if _missing(row.get("kind")) else str(row["kind"])
    problems += _kind_problems(number, kind)
    description = "" if _missing(row.get("description")) else str(row["description"]).strip()
    if not description:
        problems.append(Problem(number, "description", "", "a description is required"))
    facility = "" if _missing(row.get("facility")) else " ".join(str(row["facility"]).split())
    entry_id = None if _missing(row.get("id")) else int(row["id"])
    return number, {"id": entry_id, "week_start": week, "facility": facility, "kind": kind,
                    "description": description}, problems
