"""Enterprise scale (issue #14): 20,000 technicians in 200 facilities over 95 weeks, on SQLite and PostgreSQL.

The benchmark generates the history itself: 95 weekly technician-week files (20,000 rows each,
1.9 million technician-weeks) and one facility-week file (19,000 rows). It ingests them through the
product's upload path (`db.ingest.ingest_file`, one transaction per file) into a fresh store, then
times the tracker's reads as the app makes them (the SQL aggregates of `db.queries`, then
`app.services.tracker.tracker_view`) against the reference path in the same process (every
technician-week read into pandas, lifecycle and at-risk computed there).

PostgreSQL: a fresh database on CHASM_BENCH_POSTGRES_URL's server (default the machine's
127.0.0.1:5432); skipped with a message when there is none.
"""

from __future__ import annotations

import os
import resource
import sys
import tempfile
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

import numpy as np

TECHNICIANS = 20_000
FACILITIES = 200
WEEKS = 95
FIRST_MONDAY = date(2025, 1, 6)
PG_SERVER = os.environ.get("CHASM_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def generate(folder: Path) -> tuple[list[Path], Path]:
    """Weekly technician-week files and one facility-week file of a rollout that rises and lapses."""
    rng = np.random.default_rng(14)
    facility = np.arange(TECHNICIANS) % FACILITIES
    go_live = rng.integers(0, 30, FACILITIES)[facility]  # facilities go live over seven months
    propensity = rng.normal(0, 1, TECHNICIANS)
    active = np.zeros(TECHNICIANS, dtype=bool)
    files = []
    facility_rows = ["facility,week_start,technicians,active_users,work_orders,ai_assisted_work_orders,"
                     "alerts,alerts_actioned,training_hours,champions,unplanned_downtime_hours"]
    ids = np.array([f"T{t:05d}" for t in range(TECHNICIANS)])
    names = np.array([f"Site {f:03d}" for f in range(FACILITIES)])
    for week in range(WEEKS):
        live = week >= go_live
        age = np.maximum(week - go_live, 0)
        p_adopt = 1 / (1 + np.exp(-(propensity + 0.05 * age - 2.0)))
        p_keep = 0.9
        active = live & np.where(active, rng.random(TECHNICIANS) < p_keep, rng.random(TECHNICIANS) < p_adopt * 0.3)
        monday = (FIRST_MONDAY + timedelta(weeks=week)).isoformat()
        eligible = rng.poisson(6, TECHNICIANS)
        assisted = np.where(active, rng.binomial(eligible, 0.6), 0)
        present = live
        lines = ["technician_id,facility,week_start,active,eligible_work_orders,ai_assisted_work_orders,"
                 "alerts_received,alerts_actioned,training_type,training_hours,champion"]
        flags = np.where(active, "yes", "no")
        lines += [f"{i},{n},{monday},{a},{e},{s},3,1,,0,no" for i, n, a, e, s in zip(
            ids[present], names[facility[present]], flags[present], eligible[present], assisted[present],
            strict=True)]
        if present.any():
            path = folder / f"technician_weeks_{week + 1:03d}.csv"
            path.write_text("\n".join(lines) + "\n")
            files.append(path)
        for f in np.unique(facility[present]):
            mine = facility == f
            facility_rows.append(f"{names[f]},{monday},{int(mine.sum())},{int((active & mine).sum())},"
                                 f"{int(eligible[mine].sum())},{int(assisted[mine].sum())},300,150,4.0,2,6.0")
    facility_file = folder / "facility_weeks.csv"
    facility_file.write_text("\n".join(facility_rows) + "\n")
    return files, facility_file


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _measure(url: str, files: list[Path], facility_file: Path, label: str) -> list[dict]:
    from app.services import tracker
    from db import queries
    from db.engine import create_store_engine
    from db.ingest import ingest_file
    from db.migrate import upgrade

    upgrade(url)
    engine = create_store_engine(url)
    start = time.perf_counter()
    ingest_file(facility_file, engine=engine)
    for path in files:
        ingest_file(path, engine=engine)
    ingest_s = time.perf_counter() - start
    ingest_rss = _peak_rss_mb()
    rows = sum(1 for path in files for _ in path.open()) - len(files)

    def app_read() -> tracker.TrackerView:
        return tracker.tracker_view(
            queries.weekly_metrics(engine), lifecycle_counts=queries.lifecycle_counts(engine),
            last_active=queries.last_active(engine), last_uploads=queries.last_uploads(engine),
            interventions=queries.interventions(engine))

    reads = []
    for _ in range(3):
        t = time.perf_counter()
        view = app_read()
        reads.append(time.perf_counter() - t)
    t = time.perf_counter()
    reference = tracker.tracker_view(queries.weekly_metrics(engine), queries.technician_weeks(engine))
    reference_s = time.perf_counter() - t
    assert view.overall == reference.overall and len(view.at_risk) == len(reference.at_risk)
    engine.dispose()
    read_s = float(np.median(reads))
    return [
        {"name": f"ingest {rows:,} technician-weeks in {len(files)} weekly files + 19,000 facility-weeks "
                 f"({label})", "median_s": ingest_s, "target_s": 20.0 if label == "PostgreSQL" else 40.0,
         "n": 1, "n_counts": "ingest into a fresh store",
         "note": f"one transaction per file through the upload path; peak RSS of the process by the end "
                 f"of the ingest {ingest_rss:.0f} MB (target 500 MB; includes generating the files)"},
        {"name": f"tracker view, {TECHNICIANS:,} technicians x {WEEKS} weeks in {FACILITIES} facilities "
                 f"({label}, in process)", "median_s": read_s, "target_s": 2.0, "n": 3,
         "n_counts": "reads of the app's SQL aggregates + the view",
         "note": f"reference path (every technician-week into pandas) in the same process: "
                 f"{reference_s:.1f} s; speed-up {reference_s / read_s:.1f}x; same headline and at-risk "
                 f"list"},
    ]


def _postgres_database() -> str | None:
    import psycopg
    from sqlalchemy.engine import make_url

    server = make_url(PG_SERVER)
    plain = server.set(drivername="postgresql").render_as_string(False)
    name = f"chasm_bench_{uuid.uuid4().hex[:8]}"
    try:
        with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error as error:
        print(f"bench_enterprise: PostgreSQL skipped ({str(error).strip()})", file=sys.stderr)
        return None
    return server.set(database=name).render_as_string(False)


def _drop(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    target = make_url(url)
    plain = make_url(PG_SERVER).set(drivername="postgresql").render_as_string(False)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')


def run() -> list[dict]:
    os.environ.setdefault("CHASM_PSEUDONYM_SECRET", "benchmark")
    rows = []
    with tempfile.TemporaryDirectory(prefix="chasm-bench-enterprise-") as tmp:
        folder = Path(tmp)
        files, facility_file = generate(folder)
        rows += _measure(f"sqlite:///{folder / 'enterprise.db'}", files, facility_file, "SQLite")
        url = _postgres_database()
        if url is not None:
            try:
                rows += _measure(url, files, facility_file, "PostgreSQL")
            finally:
                _drop(url)
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
