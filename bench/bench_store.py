"""Benchmarks of the metrics store: validating and ingesting big uploads on SQLite."""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from db.engine import create_store_engine
from db.ingest import ingest_file
from db.migrate import upgrade

REPEATS = 3
FIRST_MONDAY = date(2024, 1, 1)


def _technician_file(folder: Path, technicians: int = 2000, weeks: int = 50) -> Path:
    rng = np.random.default_rng(7)
    lines = [
        "technician_id,facility,week_start,active,eligible_work_orders,"
        "ai_assisted_work_orders,alerts_received,alerts_actioned,training_type,training_hours,champion"
    ]
    for w in range(weeks):
        monday = (FIRST_MONDAY + timedelta(weeks=w)).isoformat()
        eligible = rng.poisson(6, technicians)
        assisted = rng.binomial(eligible, 0.5)
        alerts = rng.poisson(3, technicians)
        actioned = rng.binomial(alerts, 0.6)
        for t in range(technicians):
            lines.append(
                f"T{t:05d},Site {t % 40},{monday},{'yes' if assisted[t] else 'no'},"
                f"{eligible[t]},{assisted[t]},{alerts[t]},{actioned[t]},,0,no"
            )
    path = folder / "technician_weeks.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _facility_file(folder: Path, facilities: int = 100, weeks: int = 50) -> Path:
    lines = [
        "facility,week_start,technicians,active_users,work_orders,ai_assisted_work_orders,"
        "alerts,alerts_actioned,training_hours,champions,unplanned_downtime_hours"
    ]
    for f in range(facilities):
        for w in range(weeks):
            monday = (FIRST_MONDAY + timedelta(weeks=w)).isoformat()
            lines.append(f"Site {f},{monday},30,{(f + w) % 30},120,{(f * w) % 120},40,20,3.5,2,6.25")
    path = folder / "facility_weeks.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _median_seconds(
    action: Callable[[Engine], object],
    template: Path,
    folder: Path,
    prepare: Callable[[Engine], object] | None = None,
) -> float:
    times = []
    for i in range(REPEATS):
        database = folder / f"run{i}.db"
        shutil.copy(template, database)
        engine = create_store_engine(f"sqlite:///{database}")
        if prepare is not None:
            prepare(engine)
        start = time.perf_counter()
        action(engine)
        times.append(time.perf_counter() - start)
        engine.dispose()
    return statistics.median(times)


def run() -> list[dict]:
    """Time the store's two ingest targets; each run starts from an empty migrated SQLite file."""
    os.environ.setdefault("CHASM_PSEUDONYM_SECRET", "benchmark")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        template = folder / "template.db"
        upgrade(f"sqlite:///{template}")
        technicians, facilities = _technician_file(folder), _facility_file(folder)
        tech_s = _median_seconds(lambda e: ingest_file(technicians, engine=e), template, folder)
        fac_s = _median_seconds(lambda e: ingest_file(facilities, engine=e), template, folder)
        again_s = _median_seconds(
            lambda e: ingest_file(technicians, engine=e),
            template,
            folder,
            prepare=lambda e: ingest_file(technicians, engine=e),
        )
    note = "SQLite temp file, validate + upsert + audit in one transaction"
    fresh = "timed runs, each on a copy of an empty migrated database"
    return [
        {
            "name": "ingest 100,000 technician-week rows (2,000 x 50 weeks)",
            "median_s": tech_s,
            "target_s": 5.0,
            "n": REPEATS,
            "n_counts": fresh,
            "note": note,
        },
        {
            "name": "re-ingest the same 100,000 technician-week rows (all unchanged)",
            "median_s": again_s,
            "target_s": 5.0,
            "n": REPEATS,
            "n_counts": "timed runs, each after the same file was ingested untimed into an empty database",
            "note": note,
        },
        {
            "name": "ingest 5,000-row facility-week file",
            "median_s": fac_s,
            "target_s": 1.0,
            "n": REPEATS,
            "n_counts": fresh,
            "note": note,
        },
    ]


if __name__ == "__main__":
    for result in run():
        print(result)
