"""`chasm backfill`: a history of any size in one transaction, read a chunk at a time (issue #14)."""

from __future__ import annotations

import hashlib
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import inspect, select, text
from sqlalchemy.exc import IntegrityError

from db import queries
from db.errors import IngestError, Problem
from db.ingest import ingest_bytes
from db.ingest.backfill import _pieces, _split, backfill
from db.models import Revision, Upload
from tests.db.helpers import DATA_TABLES, clear, snapshot
from tests.db.test_cli_store import invoke

FIRST_MONDAY = date(2025, 1, 6)
HEADER = ("technician_id,facility,week_start,active,eligible_work_orders,ai_assisted_work_orders,"
          "alerts_received,alerts_actioned,training_type,training_hours,champion")
TABLES = (*DATA_TABLES, "technician_state", "lifecycle_week")


def _week_lines(week: int, technicians: int = 12) -> list[str]:
    monday = (FIRST_MONDAY + timedelta(weeks=week)).isoformat()
    return [f"T{t:03d},{'Hull Works' if t % 2 else 'Oulu Mill'},{monday},{'yes' if (t + week) % 3 else 'no'},"
            f"4,{2 if (t + week) % 3 else 0},1,1,{'\"coached, on site\"' if t == 5 else ''},0,no"
            for t in range(technicians)]


def _weekly_files(folder: Path, weeks: int = 6, technicians: int = 12) -> list[Path]:
    folder.mkdir(exist_ok=True)
    paths = []
    for week in range(weeks):
        path = folder / f"week_{week:02d}.csv"
        path.write_text("\n".join([HEADER, *_week_lines(week, technicians)]) + "\n")
        paths.append(path)
    return paths


def _stored(engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    weeks = queries.technician_weeks(engine).sort_values(["technician_key", "week_start"])
    return weeks.reset_index(drop=True), queries.lifecycle_counts(engine)


def test_a_folder_backfilled_in_chunks_stores_what_uploading_each_file_stores(engine, tmp_path):
    files = _weekly_files(tmp_path / "history")
    for path in files:
        ingest_bytes(path.read_bytes(), path.name, engine=engine)
    expected = _stored(engine)
    clear(engine)
    seen = []
    report = backfill([tmp_path / "history"], engine=engine, chunk_rows=5,
                      progress=lambda done, total, rows: seen.append((done, total, rows)))
    assert [r.file_name for r in report.reports] == [p.name for p in files]
    assert (report.inserted, report.updated, report.unchanged) == (72, 0, 0)
    assert seen[-1] == (6, 6, 72)
    for got, want in zip(_stored(engine), expected, strict=True):
        pd.testing.assert_frame_equal(got, want)
    kept, full = queries.lifecycle_counts(engine), queries.lifecycle_counts(engine, full=True)
    pd.testing.assert_frame_equal(kept, full)
    with engine.connect() as conn:
        audit = conn.execute(select(Upload).order_by(Upload.id)).all()
    assert [(a.file_name, a.outcome, a.inserted) for a in audit] == [(p.name, "accepted", 12) for p in files]
    assert all(len(a.sha256) == 64 for a in audit)


@pytest.mark.parametrize("technicians", [12, 60])  # 60: a week's rows span several pieces
def test_a_later_file_of_an_initial_load_corrects_an_earlier_one_as_separate_uploads_would(engine, tmp_path,
                                                                                          technicians):
    """Into an empty store the backfill skips reading stored rows for pieces whose keys it has not
    written yet; a file that repeats earlier weeks (some rows corrected) still updates them."""
    files = _weekly_files(tmp_path / "history", weeks=3, technicians=technicians)
    corrected = [line.replace(",yes,4,2,", ",no,4,0,") if line.startswith(("T001", "T004")) else line
                 for line in _week_lines(1, technicians)]
    fix = tmp_path / "history" / "week_99_corrections.csv"
    fix.write_text("\n".join([HEADER, *corrected]) + "\n")
    counts = []
    for path in [*files, fix]:
        uploaded = ingest_bytes(path.read_bytes(), path.name, engine=engine)
        counts.append((uploaded.inserted, uploaded.updated, uploaded.unchanged))
    expected = _stored(engine)
    clear(engine)
    report = backfill([tmp_path / "history"], engine=engine, chunk_rows=5)
    assert [(r.inserted, r.updated, r.unchanged) for r in report.reports] == counts
    assert counts[-1] == (0, 2, technicians - 2)
    for got, want in zip(_stored(engine), expected, strict=True):
        pd.testing.assert_frame_equal(got, want)
    with engine.connect() as conn:
        assert len(conn.execute(select(Revision)).all()) == 2


def test_one_long_file_is_read_a_chunk_at_a_time_with_the_files_row_numbers(engine, tmp_path):
    lines = ["Weekly technician export", "", HEADER]
    for week in range(5):
        lines += _week_lines(week)
    path = tmp_path / "history.csv"
    path.write_text("\n".join(lines) + "\n\n\n")
    report = backfill([path], engine=engine, chunk_rows=7)
    assert report.inserted == 60
    stored = _stored(engine)
    clear(engine)
    ingest_bytes(path.read_bytes(), path.name, engine=engine)
    for got, want in zip(stored, _stored(engine), strict=True):
        pd.testing.assert_frame_equal(got, want)


def test_a_bad_value_deep_in_the_last_file_stores_nothing_and_names_its_row(engine, tmp_path):
    files = _weekly_files(tmp_path / "history", weeks=3)
    lines = files[-1].read_text().splitlines()
    lines[10] = lines[10].replace(",4,", ",four,", 1)
    files[-1].write_text("\n".join(lines) + "\n")
    before = snapshot(engine, TABLES)
    with pytest.raises(IngestError) as raised:
        backfill([tmp_path / "history"], engine=engine, chunk_rows=4)
    assert snapshot(engine, TABLES) == before
    assert str(raised.value) == (
        "week_02.csv (nothing from this backfill was stored) was rejected (1 problem(s)):\n"
        "  Row 11, column 'eligible_work_orders', value 'four': not a number")
    with engine.connect() as conn:
        audit = conn.execute(select(Upload).order_by(Upload.id.desc())).first()
    assert (audit.file_name, audit.outcome) == ("week_02.csv", "rejected")
    assert json.loads(audit.error_report) == [p.as_dict() for p in raised.value.problems]


def test_a_technician_week_repeated_in_a_later_chunk_is_a_duplicate_not_an_update(engine, tmp_path):
    lines = [HEADER, *_week_lines(0), *_week_lines(1)]
    lines.append(lines[3].replace(",yes,", ",no,").replace(",no,4,2,", ",yes,4,2,"))
    path = tmp_path / "history.csv"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError) as raised:
        backfill([path], engine=engine, chunk_rows=5)
    monday = FIRST_MONDAY.isoformat()
    assert raised.value.problems == [
        Problem(26, "week_start", monday, "the same technician and week already appear on row 4")]
    assert queries.technician_weeks(engine).empty


def test_the_backfill_command_prints_counts_and_json(engine, tmp_path):
    _weekly_files(tmp_path / "history", weeks=2)
    result = invoke("backfill", tmp_path / "history")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Backfilled 2 file(s): 24 inserted, 0 updated, 0 unchanged.\n"
    assert "2 of 2 files, 24 rows read" in result.stderr
    again = invoke("backfill", tmp_path / "history", "--json")
    shape = json.loads(again.stdout)
    assert (shape["outcome"], shape["inserted"], shape["unchanged"]) == ("accepted", 0, 24)
    assert [(f["file"], f["kind"], f["unchanged"]) for f in shape["files"]] == [
        ("week_00.csv", "technician-week", 12), ("week_01.csv", "technician-week", 12)]


def test_a_backfill_of_an_empty_folder_says_so(engine, tmp_path):
    (tmp_path / "empty").mkdir()
    result = invoke("backfill", tmp_path / "empty")
    assert result.exit_code == 1
    assert result.stderr == f"error: no CSV or XLSX files in {tmp_path / 'empty'}\n"


def _technician_week_foreign_keys(engine) -> list[tuple[str, list[str], str]]:
    found = inspect(engine).get_foreign_keys("technician_week")
    return sorted((fk["name"], fk["constrained_columns"], fk["referred_table"]) for fk in found)


FOREIGN_KEYS = [("fk_technician_week_facility_id_facility", ["facility_id"], "facility"),
                ("fk_technician_week_upload_id_upload", ["upload_id"], "upload")]


def test_the_technician_weeks_keep_their_foreign_keys_through_a_backfill_and_its_rollback(engine, tmp_path):
    """On PostgreSQL the backfill checks the foreign keys once at the end (dropped and added back in
    its transaction) instead of row by row: they are there after it, and after one that failed."""
    files = _weekly_files(tmp_path / "history", weeks=3)
    backfill([tmp_path / "history"], engine=engine, chunk_rows=4)
    assert _technician_week_foreign_keys(engine) == FOREIGN_KEYS
    lines = files[-1].read_text().splitlines()
    lines[5] = lines[5].replace(",4,", ",four,", 1)
    files[-1].write_text("\n".join(lines) + "\n")
    with pytest.raises(IngestError):
        backfill([tmp_path / "history"], engine=engine, chunk_rows=4)
    assert _technician_week_foreign_keys(engine) == FOREIGN_KEYS
    with engine.begin() as conn, pytest.raises(IntegrityError):  # and they hold
        conn.execute(text("UPDATE technician_week SET facility_id = 999999 WHERE id = (SELECT MIN(id) "
                          "FROM technician_week)"))


def _technician_week_schema(engine) -> dict:
    found, table = inspect(engine), "technician_week"
    return {
        "primary key": found.get_pk_constraint(table),
        "unique": sorted((u["name"], u["column_names"]) for u in found.get_unique_constraints(table)),
        "indexes": sorted((i["name"], i["column_names"], i["unique"]) for i in found.get_indexes(table)),
        "foreign keys": _technician_week_foreign_keys(engine),
    }


@pytest.mark.parametrize("fails", [False, True], ids=["loaded", "rolled back"])
def test_an_initial_load_leaves_the_technician_weeks_keys_and_indexes_as_they_were(engine, tmp_path, fails):
    """On PostgreSQL a backfill into an empty table builds its indexes and keys once at the end
    (dropped and added back in its transaction): after it, or after its rollback, the table has
    every one of them, under the same names, and the unique key holds."""
    before = _technician_week_schema(engine)
    assert before["primary key"]["constrained_columns"] == ["id"]
    unique_key = ("uq_technician_week_week_start_technician_key", ["week_start", "technician_key"])
    assert before["unique"] == [unique_key]
    files = _weekly_files(tmp_path / "history", weeks=3)
    if fails:
        lines = files[-1].read_text().splitlines()
        lines[5] = lines[5].replace(",4,", ",four,", 1)
        files[-1].write_text("\n".join(lines) + "\n")
        with pytest.raises(IngestError):
            backfill([tmp_path / "history"], engine=engine, chunk_rows=4)
    else:
        backfill([tmp_path / "history"], engine=engine, chunk_rows=4)
    assert _technician_week_schema(engine) == before
    with engine.begin() as conn:
        stored = conn.execute(text("SELECT COUNT(*) FROM technician_week")).scalar_one()
    assert stored == (0 if fails else 36)
    if not fails:
        with engine.begin() as conn, pytest.raises(IntegrityError):  # the unique key holds
            conn.execute(text("INSERT INTO technician_week (technician_key, week_start, active, facility_id) "
                              "SELECT technician_key, week_start, active, facility_id FROM technician_week "
                              "WHERE id = (SELECT MIN(id) FROM technician_week)"))


def _split_line_by_line(rest: bytes, head: list[bytes], header: bytes, chunk_rows: int, digest):
    """The cutting as it was, a line at a time: the reference the block-wise cutting must equal."""
    lines, line_number, first_line, quoted = list(head), len(head), 1, False
    for line in io.BytesIO(rest):
        line_number += 1
        lines.append(line)
        if line.count(b'"') % 2:
            quoted = not quoted
        if len(lines) >= chunk_rows and not quoted:
            yield from _pieces(lines, first_line, header, digest)
            lines, first_line = [], line_number + 1
    yield from _pieces(lines, first_line, header, digest)


@given(head=st.lists(st.text('ab,"', max_size=6).map(lambda t: t.encode() + b"\n"), min_size=1, max_size=4),
       rest=st.text('ab,"\n\r ', max_size=120).map(str.encode),
       chunk_rows=st.integers(1, 7), block_size=st.integers(1, 40))
def test_cutting_a_file_block_by_block_gives_the_pieces_of_cutting_it_line_by_line(head, rest, chunk_rows,
                                                                                   block_size):
    """Pieces end only where no quoted cell is open, keep the file's row numbers, and the digest
    takes every byte, whatever the block size."""
    want_digest, got_digest = hashlib.sha256(), hashlib.sha256()
    want = list(_split_line_by_line(rest, head, b"h\n", chunk_rows, want_digest))
    got = list(_split(io.BytesIO(rest), head, b"h\n", chunk_rows, got_digest, block_size))
    assert got == want
    assert got_digest.hexdigest() == want_digest.hexdigest()


def test_a_plan_made_without_reading_stored_rows_is_the_plan_made_reading_an_empty_table(engine):
    """An initial load skips reading stored rows (none can share a key): the plan is the same as
    one that read the empty table, in rows, values, dtypes and counts."""
    from db.ingest.read import read_table
    from db.ingest.upsert import create_facilities, plan_changes
    from db.ingest.validate import validate_table

    content = "\n".join([HEADER, *_week_lines(0), *_week_lines(1)]).encode()
    validated = validate_table(read_table(content), kind="technician-week", today=date(2026, 12, 7),
                               secret=b"key")
    with engine.begin() as conn:
        create_facilities(conn, ["Oulu Mill"])  # one facility known, one new
        read, skipped = (plan_changes(conn, "technician-week", validated.frame, validated.present,
                                      read_stored=read_stored) for read_stored in (True, False))
    pd.testing.assert_frame_equal(skipped.inserts.reset_index(drop=True), read.inserts.reset_index(drop=True))
    for plan in (read, skipped):
        assert (plan.updates.empty, plan.previous.empty, plan.unchanged) == (True, True, 0)
        assert plan.new_facilities == ["Hull Works"]
    assert list(skipped.updates.columns) == list(read.updates.columns)
    pd.testing.assert_series_equal(skipped.stored_by.reset_index(drop=True),
                                   read.stored_by.reset_index(drop=True), check_names=False)


def test_a_backfill_on_sqlite_holds_a_smaller_page_cache_and_gives_the_connection_its_own_back(
        request, tmp_path, monkeypatch):
    import shutil

    from db import summary
    from db.engine import create_store_engine

    path = tmp_path / "store.db"
    shutil.copy(request.getfixturevalue("migrated_sqlite_template"), path)
    engine = create_store_engine(f"sqlite:///{path}")
    during = []
    rebuild = summary.rebuild
    monkeypatch.setattr(summary, "rebuild", lambda conn: (
        during.append(conn.exec_driver_sql("PRAGMA cache_size").scalar_one()), rebuild(conn)))
    try:
        backfill(_weekly_files(tmp_path / "history", weeks=2), engine=engine)
        pooled = [engine.connect() for _ in range(max(engine.pool.checkedin(), 1))]
        after = [conn.exec_driver_sql("PRAGMA cache_size").scalar_one() for conn in pooled]
        for conn in pooled:
            conn.close()
    finally:
        engine.dispose()
    assert during == [-16_384]  # 16 MB while the backfill writes and rebuilds the summary
    assert set(after) == {-65_536}  # the store's 64 MB for every connection afterwards
