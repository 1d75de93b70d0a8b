"""The `ingest-inbox` job, the scheduler's job store and its single-scheduler lock."""

from __future__ import annotations

import json

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import text

import app.jobs as jobs
from db import queries
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


def test_crash_before_commit_leaves_file_in_inbox(engine, inbox):
    write(inbox, "week.csv", FACILITY_CSV)
    before = snapshot(engine)

    def crash(*args, **kwargs):
        raise RuntimeError("power cut")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("db.ingest.pipeline.apply_changes", crash)
        [outcome] = jobs.ingest_inbox()
    assert outcome.outcome == "error" and outcome.moved_to is None
    assert (inbox / "week.csv").exists()
    assert snapshot(engine) == before
    assert [o.outcome for o in jobs.ingest_inbox()] == ["accepted"]


def test_job_store_lives_in_the_database_with_explicit_id(engine, inbox):
    for _ in range(2):  # a restart replaces the job instead of adding another
        scheduler = jobs.build_scheduler(BackgroundScheduler)
        scheduler.start(paused=True)
        scheduler.shutdown(wait=False)
    with engine.connect() as conn:
        ids = conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars().all()
    assert sorted(ids) == ["check-deviation", "ingest-inbox", "refresh-forecast"]


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
