from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select

from db import queries
from db.errors import IngestError, Problem
from db.ingest import ingest_file
from db.models import Revision, Upload
from tests.db.helpers import FACILITY_CSV, count, snapshot, write


def test_accepted_file_is_stored_and_audited(engine, tmp_path):
    report = ingest_file(write(tmp_path, "week.csv", FACILITY_CSV), engine=engine, uploaded_by="ana")
    assert (report.inserted, report.updated, report.unchanged) == (3, 0, 0)
    metrics = queries.weekly_metrics(engine)
    assert list(metrics["facility"]) == ["North Plant", "North Plant", "South Works"]
    assert metrics["week_start"].iloc[1] == date(2025, 3, 10)
    assert metrics["active_users"].tolist() == [8, 9, 3]
    audit = queries.uploads(engine)
    assert audit.loc[0, ["file_name", "uploaded_by", "outcome", "inserted"]].tolist() == [
        "week.csv",
        "ana",
        "accepted",
        3,
    ]
    assert len(audit.loc[0, "sha256"]) == 64


def test_same_file_twice_changes_nothing_and_says_so(engine, tmp_path):
    path = write(tmp_path, "week.csv", FACILITY_CSV)
    ingest_file(path, engine=engine)
    before = snapshot(engine)
    again = ingest_file(path, engine=engine)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 3)
    assert not again.changed_anything
    assert again.warnings[-1].message.startswith("this exact file was already accepted as upload 1")
    assert snapshot(engine) == before


def test_changed_value_is_updated_and_previous_kept_as_revision(engine, tmp_path):
    ingest_file(write(tmp_path, "a.csv", FACILITY_CSV), engine=engine)
    changed = FACILITY_CSV.replace("South Works,2025-03-03,15,3,", "south  works ,2025-03-03,15,5,")
    report = ingest_file(write(tmp_path, "b.csv", changed), engine=engine)
    assert (report.inserted, report.updated, report.unchanged) == (0, 1, 2)
    south = queries.weekly_metrics(engine, facility="SOUTH WORKS")
    assert south["active_users"].tolist() == [5]
    with engine.connect() as conn:
        revision = conn.execute(select(Revision)).one()
        assert revision.upload_id == report.upload_id
        assert revision.table_name == "weekly_metric"
        assert revision.previous_values["active_users"] == 3
        assert revision.previous_values["technicians"] == 15


def test_facility_names_are_normalised_and_matched(engine, tmp_path):
    ingest_file(write(tmp_path, "a.csv", FACILITY_CSV), engine=engine)
    text = "Site,Week,Headcount,Active\n  NORTH   plant ,2025-03-17,20,10\n"
    report = ingest_file(write(tmp_path, "b.csv", text), engine=engine)
    assert report.inserted == 1
    assert queries.facilities(engine)["facility"].tolist() == ["North Plant", "South Works"]


def test_rejected_file_leaves_data_unchanged_and_records_audit(engine, tmp_path):
    ingest_file(write(tmp_path, "a.csv", FACILITY_CSV), engine=engine)
    before = snapshot(engine)
    bad = FACILITY_CSV + "West,2025-03-03,10,-1,5,6\n"
    with pytest.raises(IngestError) as raised:
        ingest_file(write(tmp_path, "bad.csv", bad), engine=engine)
    assert raised.value.problems == [
        Problem(5, "active_users", "-1", "must not be negative"),
        Problem(
            5,
            "ai_assisted_work_orders",
            "6",
            "ai_assisted_work_orders (6) is more than work_orders (5)",
        ),
    ]
    assert snapshot(engine) == before
    with engine.connect() as conn:
        rejected = conn.execute(select(Upload).where(Upload.outcome == "rejected")).one()
    assert rejected.file_name == "bad.csv"
    assert json.loads(rejected.error_report)[0] == {
        "row": 5,
        "column": "active_users",
        "value": "-1",
        "message": "must not be negative",
    }


def test_error_message_names_file_row_column_value(engine, tmp_path):
    bad = "facility,week_start,technicians,active_users\nA,2025-03-03,ten,3\n"
    with pytest.raises(IngestError) as raised:
        ingest_file(write(tmp_path, "bad.csv", bad), engine=engine)
    assert str(raised.value) == (
        "bad.csv was rejected (1 problem(s)):\n  Row 2, column 'technicians', value 'ten': not a number"
    )


def test_dry_run_reports_changes_and_writes_nothing(engine, tmp_path):
    ingest_file(write(tmp_path, "a.csv", FACILITY_CSV), engine=engine)
    before = snapshot(engine, tables=("facility", "weekly_metric", "revision"))
    audit_before = count(engine, "upload")
    more = FACILITY_CSV.replace("2025-03-10,20,9", "2025-03-10,20,12") + "East,2025-03-03,5,1,,\n"
    report = ingest_file(write(tmp_path, "b.csv", more), engine=engine, dry_run=True)
    assert (report.inserted, report.updated, report.unchanged) == (1, 1, 2)
    assert report.dry_run and report.upload_id is None
    assert snapshot(engine, tables=("facility", "weekly_metric", "revision")) == before
    assert count(engine, "upload") == audit_before


def test_dry_run_of_bad_file_writes_no_audit(engine, tmp_path):
    with pytest.raises(IngestError):
        ingest_file(write(tmp_path, "bad.csv", "nonsense"), engine=engine, dry_run=True)
    assert count(engine, "upload") == 0


def test_technician_ids_are_pseudonymised(engine, tmp_path):
    text = "technician_id,site,week,active,eligible_work_orders,ai_assisted_work_orders\n"
    text += "EMP-001,North,2025-03-03,yes,10,4\nemp-001 ,North,2025-03-10,no,8,0\n"
    text += "EMP-002,North,2025-03-03,1,5,5\n"
    report = ingest_file(write(tmp_path, "t.csv", text), engine=engine)
    assert report.kind == "technician-week" and report.inserted == 3
    weeks = queries.technician_weeks(engine)
    keys = weeks["technician_key"].tolist()
    assert len(set(keys)) == 2 and all(len(k) == 32 for k in keys)
    assert "EMP-001" not in json.dumps(snapshot(engine), default=str).upper()
    assert weeks["active"].tolist() == [True, True, False]


def test_same_technician_keeps_key_across_uploads(engine, tmp_path):
    first = "technician,facility,week,active\nT1,North,2025-03-03,yes\n"
    second = "technician,facility,week,active\nT1,North,2025-03-10,no\n"
    ingest_file(write(tmp_path, "a.csv", first), engine=engine)
    ingest_file(write(tmp_path, "b.csv", second), engine=engine)
    assert queries.technician_weeks(engine)["technician_key"].nunique() == 1


def test_file_over_size_limit_is_rejected(engine, tmp_path, monkeypatch):
    monkeypatch.setenv("CHASM_UPLOAD_MAX_BYTES", "100")
    big = FACILITY_CSV + "".join(f"F{i},2025-03-03,10,1,,\n" for i in range(20))
    with pytest.raises(IngestError) as raised:
        ingest_file(write(tmp_path, "big.csv", big), engine=engine)
    [problem] = raised.value.problems
    assert problem.row == 0 and problem.message == f"the file is {len(big)} bytes, over the 100 bytes limit"
    assert count(engine, "weekly_metric") == 0


def test_absent_optional_column_keeps_stored_values(engine, tmp_path):
    ingest_file(write(tmp_path, "a.csv", FACILITY_CSV), engine=engine)
    text = "facility,week_start,technicians,active_users\nNorth Plant,2025-03-03,20,8\n"
    report = ingest_file(write(tmp_path, "b.csv", text), engine=engine)
    assert (report.updated, report.unchanged) == (0, 1)
    north = queries.weekly_metrics(engine, facility="North Plant")
    assert north["work_orders"].tolist() == [100, 110]


def test_technician_moving_facility_is_a_revision(engine, tmp_path):
    ingest_file(
        write(tmp_path, "a.csv", "technician,site,week,active\nT1,North,2025-03-03,yes\n"), engine=engine
    )
    report = ingest_file(
        write(tmp_path, "b.csv", "technician,site,week,active\nT1,South,2025-03-03,yes\n"), engine=engine
    )
    assert report.updated == 1
    assert queries.technician_weeks(engine)["facility"].tolist() == ["South"]
    with engine.connect() as conn:
        revision = conn.execute(select(Revision)).one()
    assert revision.table_name == "technician_week" and revision.previous_values["active"] is True


def test_quoted_csv_keeps_row_numbers(engine, tmp_path):
    text = "facility,week_start,technicians,active_users\n"
    text += '"Plant, North",2025-03-03,20,8\n"Plant\nSouth",2025-03-03,x,1\n"Plant, East",2025-03-03,y,1\n'
    with pytest.raises(IngestError) as raised:
        ingest_file(write(tmp_path, "q.csv", text), engine=engine)
    assert [(p.row, p.column, p.value) for p in raised.value.problems] == [
        (3, "technicians", "x"),
        (5, "technicians", "y"),
    ]


def test_unknown_kind_is_a_value_error(engine, tmp_path):
    with pytest.raises(ValueError, match="unknown upload kind 'monthly'"):
        ingest_file(write(tmp_path, "a.csv", FACILITY_CSV), engine=engine, kind="monthly")


@pytest.mark.postgres
def test_an_upload_checks_its_facilities_by_index_and_leaves_the_planner_as_it_was(request, tmp_path):
    """PostgreSQL plans the foreign-key lookup in 200 facilities (two pages) as a scan of every row
    unless its pages are costed as in memory; the setting ends with the writes."""
    from sqlalchemy import insert, text

    from db.engine import create_store_engine
    from db.ingest.columns import TECHNICIAN_WEEK
    from db.ingest.limits import Limits
    from db.ingest.read import read_table
    from db.ingest.upsert import apply_changes, create_facilities, plan_changes
    from db.ingest.validate import validate_table
    from db.models import table_of
    from tests.db.conftest import _wipe_postgres

    url = request.getfixturevalue("migrated_postgres")
    _wipe_postgres(url)
    engine = create_store_engine(url)
    lines = ["technician_id,facility,week_start,active"]
    lines += [f"T{n},Site {n % 200:03d},2025-03-03,yes" for n in range(400)]
    limits = Limits()
    validated = validate_table(read_table(("\n".join(lines) + "\n").encode(), limits), kind=TECHNICIAN_WEEK,
                               today=date(2026, 1, 1), secret=b"test", limits=limits)
    try:
        with engine.begin() as conn:
            create_facilities(conn, [f"Site {n:03d}" for n in range(200)])
        with engine.begin() as conn:
            conn.execute(text("ANALYZE facility"))
        with engine.begin() as conn:
            before = conn.execute(text("SHOW random_page_cost")).scalar_one()
            upload = conn.execute(insert(table_of(Upload)).values(
                file_name="week.csv", sha256="0" * 64, uploaded_by="test",
                uploaded_at=datetime(2026, 1, 1, tzinfo=UTC), kind=TECHNICIAN_WEEK, inserted=400, updated=0,
                unchanged=0, outcome="accepted",
            )).inserted_primary_key[0]
            apply_changes(conn, TECHNICIAN_WEEK, plan_changes(conn, TECHNICIAN_WEEK, validated.frame), upload)
            scans = conn.execute(text(
                "SELECT seq_scan, idx_scan FROM pg_stat_xact_user_tables WHERE relname = 'facility'")).one()
            assert conn.execute(text("SHOW random_page_cost")).scalar_one() == before
        assert scans.idx_scan >= 800  # a lookup for each technician-week and each new technician's state
        assert scans.seq_scan == 1  # plan_changes reads the facilities' names
    finally:
        engine.dispose()
