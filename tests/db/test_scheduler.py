"""The `ingest-inbox` job, the scheduler's job store and its single-scheduler lock."""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import time
from datetime import UTC, datetime

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED
from apscheduler.executors.pool import ProcessPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text

import app.jobs as jobs
from app.cli import serve
from db import queries
from db.config import get_settings
from db.engine import create_store_engine
from db.errors import SchedulerLockedError
from db.locks import scheduler_lock
from tests.db.helpers import FACILITY_CSV, snapshot, write

BAD_CSV = "facility,week,technicians,active_users\nA,2025-03-03,x,1\n"


@pytest.fixture
def inbox(store_url, tmp_path, monkeypatch):
    folder = tmp_path / "inbox"
    folder.mkdir()
    monkeypatch.setenv("CHASM_INBOX_DIR", str(folder))
    return folder


def test_inbox_files_are_ingested_and_moved(engine, inbox):
    write(inbox, "a_good.csv", FACILITY_CSV)
    write(inbox, "b_bad.csv", BAD_CSV)
    write(inbox, ".hidden.csv", FACILITY_CSV)
    write(inbox, "c_partial.csv.part", FACILITY_CSV)
    outcomes = jobs.ingest_inbox()
    assert [(o.file_name, o.outcome) for o in outcomes] == [
        ("a_good.csv", "accepted"),
        ("b_bad.csv", "rejected"),
    ]
    assert (inbox / "processed" / "a_good.csv").exists()
    assert (inbox / "failed" / "b_bad.csv").exists()
    report = (inbox / "failed" / "b_bad.csv.errors.txt").read_text()
    assert (
        report
        == "b_bad.csv was rejected (1 problem(s)):\n  Row 2, column 'technicians', value 'x': not a number\n"
    )
    assert json.loads((inbox / "failed" / "b_bad.csv.errors.json").read_text())[0]["row"] == 2
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == [".hidden.csv", "c_partial.csv.part"]
    assert len(queries.weekly_metrics(engine)) == 3
    assert queries.uploads(engine)["uploaded_by"].unique().tolist() == ["chasm scheduler"]


def test_same_name_again_does_not_overwrite_processed_file(engine, inbox):
    write(inbox, "week.csv", FACILITY_CSV)
    jobs.ingest_inbox()
    write(inbox, "week.csv", FACILITY_CSV)
    [outcome] = jobs.ingest_inbox()
    assert outcome.summary == "0 inserted, 0 updated, 3 unchanged"
    assert len(list((inbox / "processed").iterdir())) == 2


def test_a_crash_moves_the_file_to_failed_with_the_reason_after_one_try(engine, inbox):
    write(inbox, "week.csv", FACILITY_CSV)
    before = snapshot(engine)

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("db.ingest.pipeline.apply_changes", crash)
        [outcome] = jobs.ingest_inbox()
    assert (outcome.outcome, outcome.summary) == ("error", "moved to failed/ (RuntimeError: power cut)")
    assert outcome.moved_to == inbox / "failed" / "week.csv" and outcome.moved_to.exists()
    assert (inbox / "failed" / "week.csv.errors.txt").read_text() == (
        "week.csv could not be ingested: RuntimeError: power cut\n"
        "Nothing was stored. The scheduler's log has the details; once the cause is fixed, put the "
        "file back in the inbox.\n")
    assert snapshot(engine) == before
    assert jobs.ingest_inbox() == []  # not retried by itself
    (inbox / "failed" / "week.csv").rename(inbox / "week.csv")  # put back once the cause is fixed
    assert [o.outcome for o in jobs.ingest_inbox()] == ["accepted"]


def test_kept_raw_files_are_deleted_after_the_retention_period(engine, inbox, monkeypatch):
    monkeypatch.setenv("CHASM_RAW_FILE_RETENTION_DAYS", "10")
    write(inbox, "old_good.csv", FACILITY_CSV)
    write(inbox, "old_bad.csv", BAD_CSV)
    jobs.ingest_inbox()
    kept = sorted(p.name for folder in ("processed", "failed") for p in (inbox / folder).iterdir())
    assert kept == ["old_bad.csv", "old_bad.csv.errors.json", "old_bad.csv.errors.txt", "old_good.csv"]
    eleven_days_ago = time.time() - 11 * 86_400
    for path in [*(inbox / "processed").iterdir(), *(inbox / "failed").iterdir()]:
        os.utime(path, (eleven_days_ago, eleven_days_ago))
    write(inbox, "new.csv", FACILITY_CSV)
    os.utime(inbox / "new.csv", (eleven_days_ago, eleven_days_ago))  # written long ago, processed now
    jobs.ingest_inbox()
    assert [p.name for p in (inbox / "processed").iterdir()] == ["new.csv"]
    assert list((inbox / "failed").iterdir()) == []


def test_retention_counts_days_and_keeps_everything_else(tmp_path):
    (tmp_path / "processed").mkdir()
    for name, days_old in (("a.csv", 29.9), ("b.csv", 30.1)):
        path = write(tmp_path / "processed", name, "x")
        stamp = time.time() - days_old * 86_400
        os.utime(path, (stamp, stamp))
    write(tmp_path, "waiting.csv", "x")
    assert jobs.purge_raw_files(tmp_path, 30) == [tmp_path / "processed" / "b.csv"]
    assert sorted(p.name for p in tmp_path.rglob("*.csv")) == ["a.csv", "waiting.csv"]
    assert get_settings().raw_file_retention_days == 30


def test_job_store_lives_in_the_database_with_explicit_id(engine, inbox):
    for _ in range(2):  # a restart replaces the job instead of adding another
        scheduler = jobs.build_scheduler(BackgroundScheduler)
        scheduler.start(paused=True)
        scheduler.shutdown(wait=False)
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars().all()
    assert sorted(ids) == ["check-deviation", "ingest-inbox", "refresh-forecast"]


def _stored_jobs(engine) -> dict[str, str]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, job_state FROM apscheduler_jobs")).all()
    return {row.id: pickle.loads(row.job_state)["func"] for row in rows}


def test_jobs_stored_under_the_old_module_path_are_replaced_and_strangers_removed(engine, inbox):
    scheduler = jobs.build_scheduler(BackgroundScheduler)
    scheduler.start(paused=True)
    scheduler.shutdown(wait=False)
    with engine.begin() as conn:  # as stored before the move: app.jobs_store:..., plus a job not ours
        for job_id, state in [(r.id, pickle.loads(r.job_state)) for r in
                              conn.execute(text("SELECT id, job_state FROM apscheduler_jobs")).all()]:
            state["func"] = state["func"].replace("app.jobs:", "app.jobs_store:")
            conn.execute(text("UPDATE apscheduler_jobs SET job_state = :s WHERE id = :i"),
                         {"s": pickle.dumps(state), "i": job_id})
        # A stranger that would still load and run: only its id says it is not ours.
        state["id"], state["func"] = "old-alerts", "app.jobs:check_deviation_job"
        conn.execute(text("INSERT INTO apscheduler_jobs (id, next_run_time, job_state) VALUES (:i, 0, :s)"),
                     {"i": "old-alerts", "s": pickle.dumps(state)})
    assert _stored_jobs(engine) == {
        "ingest-inbox": "app.jobs_store:ingest_inbox",
        "refresh-forecast": "app.jobs_store:refresh_forecast_job",
        "check-deviation": "app.jobs_store:check_deviation_job",
        "old-alerts": "app.jobs:check_deviation_job"}
    scheduler = jobs.build_scheduler(BackgroundScheduler)
    scheduler.start(paused=True)
    try:
        running = {job.id: job.func_ref for job in scheduler.get_jobs()}
    finally:
        scheduler.shutdown(wait=False)
    expected = {"ingest-inbox": "app.jobs:ingest_inbox", "refresh-forecast": "app.jobs:refresh_forecast_job",
                "check-deviation": "app.jobs:check_deviation_job"}
    assert running == expected and _stored_jobs(engine) == expected


def test_only_one_scheduler_per_database(store_url):
    first, second = create_store_engine(store_url), create_store_engine(store_url)
    with (
        scheduler_lock(first),
        pytest.raises(SchedulerLockedError, match="another Chasm scheduler already runs"),
        scheduler_lock(second),
    ):
        pass
    with scheduler_lock(second):
        pass
    first.dispose()
    second.dispose()


def test_cli_run_once(engine, inbox):
    from tests.db.test_cli_store import invoke

    write(inbox, "week.csv", FACILITY_CSV)
    result = invoke("scheduler", "--run-once", "ingest-inbox")
    assert result.exit_code == 0, result.output
    assert result.stdout == "week.csv: accepted (3 inserted, 0 updated, 0 unchanged)\n"


def test_the_scheduler_process_loads_neither_the_ingest_nor_the_model():
    """`chasm serve` starts the scheduler as `app.jobs.main`: it stays small between runs because
    the jobs bring pandas, the ingest and the model into their own processes only."""
    probe = ("import sys, app.jobs; print(sorted(m for m in ('pandas', 'numpy', 'db.ingest', 'model', "
             "'app.services', 'typer') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"
    assert serve.scheduler_command()[-2] == "import sys; from app.jobs import main; sys.exit(main())"


def test_a_job_runs_in_a_process_of_its_own_and_an_ingest_triggers_the_deviation_check(engine, inbox):
    write(inbox, "week.csv", FACILITY_CSV)
    executed: list[tuple[str, object]] = []
    scheduler = jobs.build_scheduler(BackgroundScheduler)
    scheduler.add_listener(lambda event: executed.append((event.job_id, event.retval)), EVENT_JOB_EXECUTED)
    assert isinstance(scheduler._lookup_executor("default"), ProcessPoolExecutor)
    scheduler.start()
    try:
        scheduler.modify_job(jobs.INGEST_INBOX, next_run_time=datetime.now(UTC))
        deadline = time.monotonic() + 120
        while len(executed) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        scheduler.shutdown(wait=True)
    ingest, check = executed[:2]
    assert ingest[0] == jobs.INGEST_INBOX
    assert [(o.file_name, o.outcome) for o in ingest[1]] == [("week.csv", "accepted")]
    assert check == (jobs.CHECK_DEVIATION, [jobs.InboxOutcome("deviation", "ok", None,
                                                               "adoption within the forecast band")])
    assert (inbox / "processed" / "week.csv").exists()
    assert len(queries.weekly_metrics(engine)) == 3
