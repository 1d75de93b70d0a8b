"""Enterprise scale (issue #14): 20,000 technicians in 200 facilities over 95 weeks, on SQLite and PostgreSQL.

The benchmark generates the history itself, at the issue's size: 95 weekly technician-week files
of 20,000 rows (1.9 million technician-weeks: every technician is in every week's export, those of a
facility not yet live with no use, as facilities go live over seven months) and one facility-week
file (19,000 facility-weeks). Each database gets, in a process of its own (so its peak RSS is its own):
- the weekly files through the product's upload path (`db.ingest.ingest_file`, one transaction per
  file), into a fresh store;
- the same history as one file through `chasm backfill` (`db.ingest.backfill`), into another;
then the tracker's reads as the app makes them (the summary tables and SQL aggregates of
`db.queries`, then `app.services.tracker.tracker_view`) against the full window computation and the
reference path (every technician-week read into pandas) in the same process; and on PostgreSQL the
tracker in chromium against `chasm serve` on that store (first paint after sign-in, repaint from
the menu, the server's memory).

PostgreSQL: a fresh database on CHASM_BENCH_POSTGRES_URL's server (default the machine's
127.0.0.1:5432); skipped with a message when there is none.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import numpy as np

TECHNICIANS = 20_000
FACILITIES = 200
WEEKS = 95
FIRST_MONDAY = date(2025, 1, 6)
SECRET = "benchmark"
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
        lines = ["technician_id,facility,week_start,active,eligible_work_orders,ai_assisted_work_orders,"
                 "alerts_received,alerts_actioned,training_type,training_hours,champion"]
        flags = np.where(active, "yes", "no")  # the export lists everyone; before go-live, no use
        lines += [f"{i},{n},{monday},{a},{e},{s},3,1,,0,no" for i, n, a, e, s in zip(
            ids, names[facility], flags, eligible, assisted, strict=True)]
        path = folder / f"technician_weeks_{week + 1:03d}.csv"
        path.write_text("\n".join(lines) + "\n")
        files.append(path)
        for f in range(FACILITIES):
            mine = facility == f
            facility_rows.append(f"{names[f]},{monday},{int(mine.sum())},{int((active & mine).sum())},"
                                 f"{int(eligible[mine].sum())},{int(assisted[mine].sum())},300,150,4.0,2,6.0")
    facility_file = folder / "facility_weeks.csv"
    facility_file.write_text("\n".join(facility_rows) + "\n")
    return files, facility_file


def _peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it does not carry over the RSS of
    the process that forked this one before it exec'd)."""
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024


def _ingest_child(url: str, how: str, paths: list[Path]) -> tuple[float, float, int]:
    """In a fresh process (its own peak RSS): migrate, load, return (seconds, peak RSS MB, rows)."""
    os.environ.setdefault("CHASM_PSEUDONYM_SECRET", SECRET)
    from db.engine import create_store_engine
    from db.ingest import ingest_file
    from db.ingest.backfill import backfill
    from db.migrate import upgrade

    upgrade(url)
    engine = create_store_engine(url)
    start = time.perf_counter()
    if how == "backfill":
        rows = backfill(paths, engine=engine).inserted
    else:
        rows = sum(ingest_file(path, engine=engine).inserted for path in paths)
    seconds = time.perf_counter() - start
    engine.dispose()
    return seconds, _peak_rss_mb(), rows


def _in_child(url: str, how: str, paths: list[Path]) -> tuple[float, float, int]:
    context = multiprocessing.get_context("spawn")
    with context.Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(_ingest_child, (url, how, paths))


def _ingest_rows(urls: Callable[[], str], files: list[Path], facility_file: Path, one_file: Path,
                 label: str) -> tuple[list[dict], str]:
    """Weekly files through the upload path, then the history as one file through `chasm backfill`,
    each into a fresh store in its own process; returns the rows and the backfilled store."""
    weekly_s, weekly_rss, rows = _in_child(urls(), "upload", [facility_file, *files])
    backfilled = urls()
    backfill_s, backfill_rss, _ = _in_child(backfilled, "backfill", [facility_file, one_file])
    target = 20.0 if label == "PostgreSQL" else 40.0
    size = one_file.stat().st_size / 1_048_576
    return [
        {"name": f"ingest {rows:,} rows in {len(files)} weekly files + the facility-weeks ({label}, upload path)",
         "median_s": weekly_s, "target_s": target, "n": 1, "n_counts": "ingest into a fresh store",
         "note": f"one transaction per file, as {len(files) + 1} uploads; peak RSS of the loading process "
                 f"{weekly_rss:.0f} MB (target 500 MB)"},
        {"name": f"backfill the same history as one {size:.0f} MB file ({label}, chasm backfill)",
         "median_s": backfill_s, "target_s": target, "n": 1, "n_counts": "backfill into a fresh store",
         "note": f"one transaction, read 50,000 rows at a time; peak RSS of the loading process "
                 f"{backfill_rss:.0f} MB (target 500 MB)"},
    ], backfilled


def _tracker_rows(url: str, label: str) -> list[dict]:
    from app.services import tracker
    from db import queries
    from db.engine import create_store_engine

    engine = create_store_engine(url)

    def app_read() -> tracker.TrackerView:
        return tracker.tracker_view(
            queries.weekly_metrics(engine), lifecycle_counts=queries.lifecycle_counts(engine),
            last_active=queries.last_active(engine), last_uploads=queries.last_uploads(engine),
            interventions=queries.interventions(engine))

    reads = []
    for _ in range(5):
        t = time.perf_counter()
        view = app_read()
        reads.append(time.perf_counter() - t)
    t = time.perf_counter()
    full = queries.lifecycle_counts(engine, full=True)
    full_s = time.perf_counter() - t
    t = time.perf_counter()
    reference = tracker.tracker_view(queries.weekly_metrics(engine), queries.technician_weeks(engine))
    reference_s = time.perf_counter() - t
    assert view.overall == reference.overall and len(view.at_risk) == len(reference.at_risk)
    assert full.equals(queries.lifecycle_counts(engine))
    engine.dispose()
    read_s = float(np.median(reads))
    return [{"name": f"tracker view, {TECHNICIANS:,} technicians x {WEEKS} weeks in {FACILITIES} facilities "
                     f"({label}, in process)", "median_s": read_s, "target_s": 2.0, "n": 5,
             "n_counts": "reads of the app's SQL aggregates + the view",
             "note": f"lifecycle from the summary the ingest keeps; the full window computation it equals "
                     f"{full_s:.1f} s; every technician-week into pandas (the reference) {reference_s:.1f} s, "
                     f"{reference_s / read_s:.0f}x slower; same headline and at-risk list"}]


def _process_tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (the app server and its scheduler)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            status = (Path("/proc") / str(current) / "status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:")), 0)
    return total / 1024


def _browser_rows(url: str) -> list[dict]:
    """The tracker in chromium against `chasm serve` on the enterprise store (sign-in to charts drawn)."""
    from bench.bench_app import _tracker_from_menu, _tracker_paint
    from devtools.browser import CHROMIUM_ARGS, App, chromium_executable, new_page, start_server

    executable = chromium_executable()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        executable = None
    if executable is None:
        print("bench_enterprise: browser rows skipped (chromium or Playwright missing: make browser)",
              file=sys.stderr)
        return []
    with tempfile.TemporaryDirectory(prefix="chasm-bench-enterprise-app-") as tmp:
        server = start_server(Path(tmp), database_url=url, secret=SECRET)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
                paints, repaints = [], []
                for _ in range(4):
                    app = App(new_page(browser, server), server)
                    paints.append(_tracker_paint(app))
                    app.wait_idle()
                    repaints.append(_tracker_from_menu(app))
                    app.page.context.close()
                browser.close()
            memory = _process_tree_rss_mb(server.process.pid)
        finally:
            server.stop()
    cold, warm = paints[0], paints[1:]
    return [
        {"name": f"app: tracker first paint, {TECHNICIANS:,} technicians x {WEEKS} weeks (PostgreSQL)",
         "median_s": float(np.median(warm)), "target_s": 2.0, "n": len(warm),
         "n_counts": "sign-ins, each in a new browser session on a warm server",
         "note": f"sign-in click to metrics shown and charts drawn, chromium headless; the first after "
                 f"server start {cold:.2f} s; the server (app + scheduler) {memory:.0f} MB resident "
                 f"afterwards (target 500 MB)"},
        {"name": f"app: tracker repaint, {TECHNICIANS:,} technicians (PostgreSQL, Forecast -> Tracker)",
         "median_s": float(np.median(repaints[1:])), "target_s": 1.0, "n": len(repaints) - 1,
         "n_counts": "menu clicks, one in each of those sessions",
         "note": "click on Tracker in the sidebar to metrics shown and charts drawn"},
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
    os.environ.setdefault("CHASM_PSEUDONYM_SECRET", SECRET)
    rows: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="chasm-bench-enterprise-") as tmp:
        folder = Path(tmp)
        files, facility_file = generate(folder)
        one_file = _one_file(files, folder / "history.csv")
        count = iter(range(100))
        ingest, sqlite_store = _ingest_rows(lambda: f"sqlite:///{folder / f'store-{next(count)}.db'}", files,
                                            facility_file, one_file, "SQLite")
        rows += ingest + _tracker_rows(sqlite_store, "SQLite")
        databases: list[str] = []

        def postgres() -> str:
            url = _postgres_database()
            if url is None:
                raise LookupError
            databases.append(url)
            return url

        try:
            ingest, pg_store = _ingest_rows(postgres, files, facility_file, one_file, "PostgreSQL")
            rows += ingest + _tracker_rows(pg_store, "PostgreSQL") + _browser_rows(pg_store)
        except LookupError:
            pass
        finally:
            for url in databases:
                _drop(url)
    return rows


def _one_file(files: list[Path], target: Path) -> Path:
    """The weekly files as one history file (one header)."""
    with target.open("wb") as out:
        for number, path in enumerate(files):
            with path.open("rb") as part:
                if number:
                    part.readline()
                out.write(part.read())
    return target


if __name__ == "__main__":
    for row in run():
        print(row)
