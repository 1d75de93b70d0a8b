"""The intervention log: what the organisation actually did, loaded idempotently."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, insert, select

from db.engine import write_transaction
from db.errors import IngestError, Problem
from db.ingest.upsert import create_facilities
from db.models import Facility, Intervention

INTERVENTION_KINDS = (
    "champions",
    "cmms_integration",
    "kpi_change",
    "training_wave",
    "communication",
    "leadership",
    "other",
)
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
        problems = [p for i, row in frame.iterrows() for p in _row_problems(int(i) + 2, row)]
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
    if values["kind"] not in INTERVENTION_KINDS:
        message = f"unknown kind: use one of {', '.join(INTERVENTION_KINDS)}"
        problems.append(Problem(row, "kind", values["kind"], message))
    return problems


def record_interventions(engine: Engine, frame: pd.DataFrame) -> int:
    """Store interventions not yet logged, keyed on (week, facility, kind, description).

    Args:
        engine: The store's engine.
        frame: From `read_interventions`.

    Returns:
        How many were new.
    """
    with write_transaction(engine) as conn:
        known = dict(conn.execute(select(Facility.name_key, Facility.id)).all())
        names = [n for n in frame["facility"].unique() if n]
        create_facilities(conn, [n for n in names if n.casefold() not in known])
        known = dict(conn.execute(select(Facility.name_key, Facility.id)).all())
        existing = set(
            conn.execute(
                select(
                    Intervention.week_start,
                    Intervention.facility_id,
                    Intervention.kind,
                    Intervention.description,
                )
            ).all()
        )
        rows = [
            {
                "week_start": row.week_start,
                "facility_id": known[row.facility.casefold()] if row.facility else None,
                "kind": row.kind,
                "description": row.description,
            }
            for row in frame.itertuples()
        ]
        new = [r for r in rows if tuple(r.values()) not in existing]
        if new:
            conn.execute(insert(Intervention.__table__), new)
    return len(new)
