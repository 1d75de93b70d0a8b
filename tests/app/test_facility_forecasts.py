"""Per-facility early warnings in the nightly forecast: pooled across facilities (issue #13), in parallel
(issue #14)."""

import time
from datetime import date, timedelta

import numpy as np
import pytest
from sqlalchemy import text

from app.services import brief
from app.services import facility_forecasts as ff
from app.services.facility_forecasts import facility_forecasts, facility_series
from model.parallel import DaskCluster, InProcess, LocalPool


def _cut_to_last_weeks(engine, facility: str, weeks: int) -> None:
    """Make `facility` a new one: only its last `weeks` weeks stay stored."""
    with engine.begin() as conn:
        fid = conn.execute(text("SELECT id FROM facility WHERE name = :n"), {"n": facility}).scalar_one()
        starts = [r[0] for r in conn.execute(text(
            "SELECT week_start FROM weekly_metric WHERE facility_id = :f ORDER BY week_start"), {"f": fid})]
        conn.execute(text("DELETE FROM weekly_metric WHERE facility_id = :f AND week_start < :w"),
                     {"f": fid, "w": starts[-weeks]})


def test_a_facility_three_weeks_after_go_live_borrows_from_the_others(demo_store):
    """One run (it fits every facility): a new facility pools, one with two weeks is left out, and the
    leadership table and sentence read it in words."""
    _cut_to_last_weeks(demo_store, "Oulu Mill", 3)
    _cut_to_last_weeks(demo_store, "Nantes Depot", 2)
    series = facility_series(demo_store)
    assert len(series["Oulu Mill"]) == 3 and len(series["Aberdeen Works"]) > 60
    done = []
    forecasts = {f.facility: f for f in facility_forecasts(demo_store, horizon=8,
                                                           progress=lambda d, n: done.append((d, n)))}
    assert len(forecasts) == 14 and done == [(d, 14) for d in range(1, 15)]
    assert "Nantes Depot" not in forecasts  # two weeks: too few to forecast
    new = forecasts["Oulu Mill"]
    assert new.weeks_live == 3
    pooled = "other facilities live for 8 weeks or more"
    assert new.prior == f"the organisation's 13 {pooled}"
    assert new.why.startswith("Only 3 weeks so far")
    assert forecasts["Aberdeen Works"].prior == f"the organisation's 12 {pooled}"
    for f in forecasts.values():
        assert len(f.p50) == 8
        assert all(lo <= mid <= hi for lo, mid, hi in zip(f.p10, f.p50, f.p90, strict=True))
        assert abs(f.p50[0] - f.now) < 0.1  # starts from where the facility is today
        assert 0 <= f.chance_of_target <= 1

    from tests.app.helpers import forecast_doc

    doc = forecast_doc().model_copy(update={"facilities": list(forecasts.values())})
    table = brief.facility_table(doc)
    assert list(table.columns)[:3] == ["Facility", "Weeks live", "Now"]
    assert all("_" not in c for c in table.columns)
    sentence = brief.facility_sentence(doc, "Aberdeen Works")
    assert sentence is not None and sentence.startswith("Aberdeen Works is at ")
    assert "chance of holding 70% by" in sentence
    assert brief.facility_sentence(doc, "Nowhere") is None
    assert brief.brief_pdf(doc)[:4] == b"%PDF"


def _keep_first_weeks(engine, weeks: int) -> None:
    """The organisation as it was `weeks` weeks after its go-live."""
    with engine.begin() as conn:
        starts = [r[0] for r in conn.execute(text("SELECT DISTINCT week_start FROM weekly_metric "
                                                  "ORDER BY week_start"))]
        conn.execute(text("DELETE FROM weekly_metric WHERE week_start > :w"), {"w": starts[weeks - 1]})


def test_the_store_forecasts_from_three_weeks_of_uploads(demo_store):
    """Before the agent-based fit can be made (6 weeks), `chasm forecast` gives the early warning."""
    import json

    from typer.testing import CliRunner

    from app import cli

    cli._register_commands()
    runner = CliRunner()
    _keep_first_weeks(demo_store, 3)
    result = runner.invoke(cli.app, ["forecast", "--horizon", "8", "--by", "2025-09-29"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == ("Only 3 weeks stored: the agent-based forecast needs 6. An early warning from the "
                        "seed case (a rollout of 280 technicians like ours) instead.")
    assert lines[1].startswith("Now (week of 09 Jun 2025): ") and lines[2].startswith("Only 3 weeks so far")
    assert lines[3] == "week of         forecast (80% band)" and len(lines) == 4 + 8 + 1
    assert lines[-1].startswith("Chance of 70% by 29 Sep 2025: ")
    result = runner.invoke(cli.app, ["forecast", "--horizon", "8", "--json"])
    warning = json.loads(result.stdout)["early_warning"]
    assert warning["weeks_live"] == 3 and len(warning["p50"]) == 8
    assert warning["p10"][0] <= warning["now"] <= warning["p90"][0]  # starts from today
    assert warning["p90"][-1] - warning["p10"][-1] > 0.1, "three weeks say little: a wide band"
    _keep_first_weeks(demo_store, 2)
    result = runner.invoke(cli.app, ["forecast"])
    assert result.exit_code == 1
    assert result.stderr.strip() == ("error: stored weekly metrics: 2 weeks of data; an early warning needs "
                                     "at least 3")


def _small_store(tmp_path, lives: tuple[int, ...]):
    """A fresh store of len(lives) facilities, facility k live lives[k] weeks up to the same week."""
    from db.engine import create_store_engine
    from db.ingest import FACILITY_WEEK, ingest_bytes
    from db.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'small.db'}"
    upgrade(url)
    engine = create_store_engine(url)
    rng = np.random.default_rng(3)
    lines = ["facility,week_start,technicians,active_users,work_orders,ai_assisted_work_orders,alerts,"
             "alerts_actioned,training_hours,champions,unplanned_downtime_hours"]
    end = max(lives)
    for k, live in enumerate(lives):
        t = np.arange(1, live + 1)
        share = rng.uniform(0.5, 0.9) * (1 - np.exp(-rng.uniform(0.05, 0.3) * t))
        for week, users in zip(range(end - live, end), rng.binomial(60, share), strict=True):
            monday = date(2024, 1, 1) + timedelta(weeks=week)
            lines.append(f"Site {k},{monday},60,{users},360,{int(users * 3)},300,150,4.0,2,6.0")
    ingest_bytes(("\n".join(lines) + "\n").encode(), "weeks.csv", engine=engine, kind=FACILITY_WEEK)
    return engine


def test_a_process_pool_and_a_dask_cluster_give_the_same_forecasts_as_one_process(tmp_path):
    """Bit for bit, per seed: each facility is one task with the caller's seed, pooled here in order."""
    from distributed import Client, LocalCluster

    engine = _small_store(tmp_path, (3, 5, 9, 14, 24))
    pool = LocalPool(2)
    try:
        told: list[tuple[int, int]] = []
        here = facility_forecasts(engine, horizon=6, seed=4, executor=InProcess())
        there = facility_forecasts(engine, horizon=6, seed=4, executor=pool,
                                   progress=lambda d, n: told.append((d, n)))
        other_seed = facility_forecasts(engine, horizon=6, seed=5, executor=pool)
        with (LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
              Client(cluster) as client):
            on_dask = facility_forecasts(engine, horizon=6, seed=4, executor=DaskCluster(client))
    finally:
        pool.close()
        engine.dispose()
    assert [f.facility for f in here] == [f"Site {k}" for k in range(5)]
    assert here == there == on_dask and here != other_seed
    assert here[0].prior == "the organisation's 3 other facilities live for 8 weeks or more"
    assert told == [(d, 5) for d in range(1, 6)]


class _Cancelled(Exception):
    """What a page's progress bar raises when its Cancel button is pressed."""


def test_a_cancelled_forecast_stops_before_the_next_facility(tmp_path, monkeypatch):
    engine = _small_store(tmp_path, (4, 9, 12))
    calls: list[str] = []
    forecast_task = ff._forecast_task
    monkeypatch.setattr(ff, "_forecast_task", lambda name, *a: calls.append(name) or forecast_task(name, *a))

    def cancel_after_one(done: int, total: int) -> None:
        if done == 1:
            raise _Cancelled

    try:
        with pytest.raises(_Cancelled):
            facility_forecasts(engine, horizon=4, executor=InProcess(), progress=cancel_after_one)
    finally:
        engine.dispose()
    assert calls == ["Site 0"]


def test_closing_a_pool_s_results_cancels_the_tasks_not_started():
    """A cancelled page leaves no queue of facilities behind it on the shared pool."""
    pool = LocalPool(2)
    try:
        pool.map(time.sleep, [(0,)] * 2)  # the workers are up
        start = time.perf_counter()
        results = pool.imap(time.sleep, [(0.4,)] * 20)  # 4 s of work on two workers
        assert next(results) is None
        results.close()
        assert pool.map(abs, [(-1,)]) == [1]
        assert time.perf_counter() - start < 2.5  # at most the few already handed to a worker ran
    finally:
        pool.close()
