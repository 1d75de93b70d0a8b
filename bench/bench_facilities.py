"""Per-facility forecasts of 200 facilities in parallel (issue #14): the process pool, and Dask 1 vs 2 workers.

The benchmark generates an organisation of 200 facilities that went live over 90 weeks (each live 3
to 90 weeks, with its own speed, ceiling and lapse rate, so the new ones lean on the pooled prior),
ingests its facility-week file through the upload path (`db.ingest.ingest_bytes`) into a fresh
SQLite store, and times `app.services.facility_forecasts.facility_forecasts` as the nightly refresh
runs it: on the local process pool (both cores, started inside the timed run) and on a Dask
`distributed.LocalCluster` of one worker process and of two (started before the timed run, as a
cluster at CHASM_DASK_ADDRESS would be). The forecasts must be identical on all three.

The clusters' workers start without Dask's default MALLOC_TRIM_THRESHOLD_=65536 (the nanny's
`distributed.nanny.pre-spawn-environ`, set to null), as docs/forecasting.md recommends for a Chasm
cluster: with it every large array is a fresh mmap, and 40 of these facilities took 169 s instead
of 73 s on one worker. The whole benchmark takes about 15 minutes on this machine.
"""

from __future__ import annotations

import logging
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

FACILITIES = 200
WEEKS = 90
FIRST_MONDAY = date(2023, 1, 2)
HEADER = ("facility,week_start,technicians,active_users,work_orders,ai_assisted_work_orders,alerts,"
          "alerts_actioned,training_hours,champions,unplanned_downtime_hours")


def facility_weeks(seed: int = 14) -> str:
    """The organisation's facility-week file: each facility's weeks from its go-live to week WEEKS."""
    rng = np.random.default_rng(seed)
    lines = [HEADER]
    for f in range(FACILITIES):
        live = int(rng.integers(3, WEEKS + 1))
        technicians = int(rng.integers(20, 200))
        p, q = rng.uniform(0.005, 0.05), rng.uniform(0.08, 0.5)  # innovation, imitation a week
        ceiling, lapse = rng.uniform(0.4, 0.95), rng.choice([0.0, rng.uniform(0.002, 0.02)])
        t = np.arange(1, live + 1)
        grow = np.exp(-(p + q) * t)
        share = ceiling * (1 - grow) / (1 + q / p * grow) * np.exp(-lapse * np.maximum(t - 20, 0))
        active = rng.binomial(technicians, np.clip(share, 0, 1))
        for week, users in zip(range(WEEKS - live, WEEKS), active, strict=True):
            monday = (FIRST_MONDAY + timedelta(weeks=week)).isoformat()
            orders = 6 * technicians
            lines.append(f"Site {f:03d},{monday},{technicians},{users},{orders},{int(users * 6 * 0.6)},"
                         "300,150,4.0,2,6.0")
    return "\n".join(lines) + "\n"


def _timed(engine, executor) -> tuple[float, list]:
    from app.services.facility_forecasts import facility_forecasts

    start = time.perf_counter()
    done = facility_forecasts(engine, executor=executor)
    return time.perf_counter() - start, done


def run() -> list[dict]:
    import dask
    from distributed import Client, LocalCluster

    from db.engine import create_store_engine
    from db.ingest import FACILITY_WEEK, ingest_bytes
    from db.migrate import upgrade
    from model.parallel import DaskCluster, LocalPool
    from model.seedcase import seed_case_prior

    with tempfile.TemporaryDirectory(prefix="chasm-bench-facilities-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'facilities.db'}"
        upgrade(url)
        engine = create_store_engine(url)
        content = facility_weeks()
        ingest_bytes(content.encode(), "facility_weeks.csv", engine=engine, kind=FACILITY_WEEK)
        rows = content.count("\n") - 1
        seed_case_prior()  # the seed case's prior, once per process, as in the nightly job
        pool = LocalPool(2)
        try:
            pool_s, by_pool = _timed(engine, pool)
        finally:
            pool.close()
        dask_s = {}
        for workers in (1, 2):
            with (dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}),
                  LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                               silence_logs=logging.ERROR) as cluster, Client(cluster) as client):
                dask_s[workers], by_dask = _timed(engine, DaskCluster(client))
            assert by_dask == by_pool, f"Dask with {workers} worker(s) gave other forecasts than the pool"
        engine.dispose()
    n = len(by_pool)
    live = [f.weeks_live for f in by_pool]
    return [
        {"name": f"per-facility pooled forecasts of {n} facilities (process pool, 2 workers)",
         "median_s": pool_s, "target_s": 1800.0, "n": 1, "n_counts": "run on a fresh store",
         "note": f"{rows:,} facility-weeks ingested, facilities live {min(live)} to {max(live)} weeks; "
                 f"{pool_s / n:.2f} s a facility, the pool's start-up included"},
        {"name": f"per-facility pooled forecasts of {n} facilities (Dask LocalCluster, 2 workers vs 1)",
         "median_s": dask_s[2], "target_s": 1800.0, "n": 1, "n_counts": "run on a running cluster",
         "note": f"1 worker {dask_s[1]:.1f} s, 2 workers {dask_s[2]:.1f} s: speed-up "
                 f"{dask_s[1] / dask_s[2]:.2f}x; workers without Dask's MALLOC_TRIM_THRESHOLD_; "
                 "forecasts identical on the pool and both clusters"},
    ]


if __name__ == "__main__":
    for row in run():
        print(row)
