"""Hostile and careless uploads: bounded before work starts, always a rejection, read as people read them.

Every test that stores runs on SQLite and PostgreSQL (the `engine` fixture); messages are exact.
"""

from __future__ import annotations

import csv
import io
import json
import re
import time
import unicodedata
import zipfile
from datetime import date

import openpyxl
import pytest
from sqlalchemy import select

from db import queries
from db.config import StoreSettings
from db.csvsafe import csv_text, escape_cell, write_csv
from db.errors import IngestError, Problem
from db.ingest import ingest_bytes, ingest_file
from db.ingest.limits import human_size
from db.models import Upload
from tests.db.helpers import FACILITY_CSV, count, snapshot, write

HEADER = "facility,week_start,technicians,active_users"
NFC = unicodedata.normalize("NFC", "Zürich Ångström")
NFD = unicodedata.normalize("NFD", "Zürich Ångström")


def rejected(engine, content: bytes | str, name: str = "bad.csv", **options) -> IngestError:
    """Ingest `content`, expect a rejection that changed nothing and was audited; the error."""
    raw = content.encode() if isinstance(content, str) else content
    before = snapshot(engine)
    with pytest.raises(IngestError) as raised:
        ingest_bytes(raw, name, engine=engine, **options)
    assert snapshot(engine) == before
    with engine.connect() as conn:
        audit = conn.execute(select(Upload).order_by(Upload.id.desc())).first()
    assert audit.outcome == "rejected" and audit.file_name == name
    assert json.loads(audit.error_report) == [p.as_dict() for p in raised.value.problems]
    return raised.value


def workbook(rows: list[list], far_cell: str | None = None) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    if far_cell:
        book.active[far_cell] = "far away"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def with_sheet(content: bytes, sheet_xml: bytes) -> bytes:
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(content)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for member in source.infolist():
            is_sheet = member.filename == "xl/worksheets/sheet1.xml"
            target.writestr(member.filename, sheet_xml if is_sheet else source.read(member))
    return out.getvalue()


def unpacked(content: bytes) -> tuple[int, int]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        members = archive.infolist()
    return sum(m.file_size for m in members), sum(m.compress_size for m in members)


GOOD_ROWS = [["facility", "week_start", "technicians", "active_users"], ["North Plant", "2025-03-03", 20, 8]]


# Memory and time are bounded before work starts.


def test_settings_hold_the_limits_with_sensible_defaults():
    settings = StoreSettings()
    assert (settings.upload_max_rows, settings.upload_max_columns) == (1_000_000, 100)
    assert settings.upload_max_unpacked_bytes == 200 * 1024 * 1024
    assert settings.upload_max_line_bytes == 128 * 1024
    assert settings.upload_max_compression_ratio == 100
    assert settings.upload_problems_per_column == 100
    assert settings.earliest_week == date(2000, 1, 3)


def test_xlsx_claiming_a_huge_dimension_is_read_for_the_rows_it_has(engine):
    content = workbook(GOOD_ROWS)
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    claim = re.sub(rb"<dimension [^>]*/>", b'<dimension ref="A1:XFD1048576"/>', sheet)
    assert claim != sheet
    start = time.perf_counter()
    report = ingest_bytes(with_sheet(content, claim), "claims.xlsx", engine=engine)
    assert time.perf_counter() - start < 10  # it padded 17 billion cells (60 s, 2.9 GB) before
    assert report.inserted == 1
    assert queries.weekly_metrics(engine)["technicians"].tolist() == [20]


def test_xlsx_with_rows_past_the_limit_is_rejected(engine, monkeypatch):
    monkeypatch.setenv("CHASM_UPLOAD_MAX_ROWS", "10")
    error = rejected(engine, workbook(GOOD_ROWS, far_cell="B40"), "far.xlsx")
    assert error.problems == [
        Problem(40, "", "", "the file has more than 10 rows, over the limit: split it into smaller files")
    ]


def test_xlsx_with_columns_past_the_limit_is_rejected(engine):
    error = rejected(engine, workbook(GOOD_ROWS, far_cell="XFD3"), "wide.xlsx")
    assert error.problems == [Problem(3, "", "", "this row has 16,384 values, over the limit of 100 columns")]


def test_zip_bomb_is_rejected_from_its_declared_sizes(engine, monkeypatch):
    monkeypatch.setenv("CHASM_UPLOAD_MAX_UNPACKED_BYTES", str(1024 * 1024))
    content = with_sheet(workbook(GOOD_ROWS), b"<worksheet>" + b" " * (3 * 1024 * 1024) + b"</worksheet>")
    size, _ = unpacked(content)
    error = rejected(engine, content, "bomb.xlsx")
    assert error.problems == [
        Problem(0, "", f"{size} bytes", f"the workbook unpacks to {human_size(size)}, over the 1.0 MB limit")
    ]
    assert (
        str(error.problems[0]) == f"File: the workbook unpacks to {human_size(size)}, over the 1.0 MB limit"
    )


def test_workbook_packed_beyond_any_spreadsheet_is_rejected(engine):
    content = with_sheet(workbook(GOOD_ROWS), b"<worksheet>" + b" " * (3 * 1024 * 1024) + b"</worksheet>")
    size, packed = unpacked(content)
    error = rejected(engine, content, "bomb.xlsx")
    message = (
        f"the workbook unpacks to {size // packed:,} times its size, over the limit of 100 times: "
        "it is not an ordinary spreadsheet"
    )
    assert error.problems == [Problem(0, "", f"{size} bytes", message)]


def test_csv_line_past_the_length_limit_is_rejected_before_parsing(engine):
    one_line = "a," * (100 * 1024) + "\n"  # 200 KB, 102,401 columns
    error = rejected(engine, HEADER + "\n" + one_line)
    assert error.problems == [Problem(2, "", "", "this line is 200.0 KB long, over the 128.0 KB limit")]


def test_csv_with_too_many_columns_is_rejected(engine):
    header = ",".join(f"c{i}" for i in range(150))
    error = rejected(engine, f"{header}\n")
    assert error.problems == [Problem(1, "", "", "this row has 150 values, over the limit of 100 columns")]
    # A wide row far below the header (pandas' fast path stops there and the careful path refuses it).
    rows = "".join(f"A{i},2025-03-03,10,4\n" for i in range(60))
    error = rejected(engine, f"{HEADER}\n{rows}" + "x," * 120 + "x\n")
    assert error.problems == [Problem(62, "", "", "this row has 121 values, over the limit of 100 columns")]


def test_trailing_empty_values_do_not_count_against_the_column_limit(engine):
    report = ingest_bytes(
        f"{HEADER}{',' * 300}\nA,2025-03-03,10,4{',' * 300}\n".encode(), "a.csv", engine=engine
    )
    assert report.inserted == 1


def test_csv_with_too_many_rows_is_rejected(engine, monkeypatch):
    monkeypatch.setenv("CHASM_UPLOAD_MAX_ROWS", "5")
    rows = "".join(f"F{i},2025-03-03,10,4\n" for i in range(5))
    assert ingest_bytes(f"{HEADER}\n{rows}".encode(), "ok.csv", engine=engine).inserted == 5
    rows = "".join(f"F{i},2025-03-03,10,4\n" for i in range(6))
    error = rejected(engine, f"{HEADER}\n{rows}")
    assert error.problems == [
        Problem(7, "", "", "the file has more than 5 rows, over the limit: split it into smaller files")
    ]


def test_a_report_keeps_the_first_problems_of_each_column_and_counts_the_rest(engine, monkeypatch):
    monkeypatch.setenv("CHASM_UPLOAD_PROBLEMS_PER_COLUMN", "3")
    rows = "".join(f"F{i},2025-03-03,x,-1\n" for i in range(10))
    error = rejected(engine, f"{HEADER}\n{rows}")
    assert error.total == 20
    assert [str(p) for p in error.problems] == [
        "Row 2, column 'technicians', value 'x': not a number",
        "Row 2, column 'active_users', value '-1': must not be negative",
        "Row 3, column 'technicians', value 'x': not a number",
        "Row 3, column 'active_users', value '-1': must not be negative",
        "Row 4, column 'technicians', value 'x': not a number",
        "Row 4, column 'active_users', value '-1': must not be negative",
        "and 7 more problem(s) in column 'technicians', not listed",
        "and 7 more problem(s) in column 'active_users', not listed",
    ]
    assert str(error).splitlines()[0] == "bad.csv was rejected (20 problem(s)):"
    assert error.as_json()["errors"][-1] == {
        "row": 0,
        "column": "active_users",
        "value": "",
        "message": "and 7 more problem(s) in column 'active_users', not listed",
    }


def test_a_million_bad_rows_store_a_small_report(engine):
    content = f"{HEADER}\n".encode() + b"A,2025-03-03,x,y\n" * 1_000_000
    start = time.perf_counter()
    error = rejected(engine, content, "million.csv")
    assert time.perf_counter() - start < 30  # about 1.5 s here; generous for a shared CI machine
    assert error.total == 3_000_000 - 1  # two bad counts a row, and every row after the first repeats it
    with engine.connect() as conn:
        report = conn.execute(select(Upload.error_report)).scalar_one()
    assert len(report) < 100_000
    assert [p.message for p in error.problems[-3:]] == [  # in the file's column order
        "and 999,899 more problem(s) in column 'facility', not listed",
        "and 999,900 more problem(s) in column 'technicians', not listed",
        "and 999,900 more problem(s) in column 'active_users', not listed",
    ]


def test_long_values_are_cut_in_the_report(engine):
    error = rejected(engine, f"{HEADER}\nA,2025-03-03,{'9' * 500}x,4\n")
    assert error.problems[0].value == "9" * 100 + "…"


# Every failure is a rejection, audited, with no traceback.


@pytest.mark.parametrize("value", ["1e19", "9223372036854775807", "2147483648", "99999999999999999999999"])
def test_counts_beyond_the_integer_range_are_rejected(engine, value):
    error = rejected(engine, f"{HEADER}\nA,2025-03-03,{value},4\n")
    assert error.problems == [
        Problem(2, "technicians", value, "more than 2,147,483,647, the largest number the store keeps")
    ]


def test_hours_that_would_round_to_infinity_are_rejected(engine):
    error = rejected(engine, f"{HEADER},training_hours\nA,2025-03-03,10,4,1e308\n")
    assert error.problems == [
        Problem(2, "training_hours", "1e308", "more than 2,147,483,647, the largest number the store keeps")
    ]


def test_largest_count_is_stored(engine):
    ingest_bytes(f"{HEADER}\nA,2025-03-03,2147483647,4\n".encode(), "a.csv", engine=engine)
    assert queries.weekly_metrics(engine)["technicians"].tolist() == [2_147_483_647]


def test_nul_byte_after_the_first_64_kb_is_a_problem_with_row_column_value(engine):
    rows = "".join(f"Plant {i},2025-03-03,10,4\n" for i in range(3000))  # about 80 KB
    error = rejected(engine, f"{HEADER}\n{rows}North\x00Plant,2025-03-03,10,4\n")
    assert error.problems == [
        Problem(
            3002,
            "facility",
            "North\\x00Plant",
            "contains the control character U+0000, which cannot be stored: remove it",
        )
    ]


def test_nul_byte_at_the_start_still_means_not_a_spreadsheet(engine):
    error = rejected(engine, b"\x00\x01binary" + FACILITY_CSV.encode())
    assert error.problems == [
        Problem(0, "", "", "not a spreadsheet: upload a CSV file or an Excel .xlsx workbook")
    ]


def test_uploader_name_longer_than_the_column_is_rejected_and_audited(engine):
    error = rejected(engine, FACILITY_CSV, uploaded_by="x" * 300)
    assert error.problems == [
        Problem(
            0,
            "uploader",
            "x" * 100 + "…",
            "the name is longer than 200 characters, more than the audit log keeps",
        )
    ]
    assert str(error.problems[0]).startswith("Uploader 'xxxx")
    assert queries.uploads(engine)["uploaded_by"].tolist() == ["x" * 200]


def test_a_value_the_database_refuses_is_a_rejection_not_a_traceback(engine, store_url, monkeypatch):
    # Let a count past PostgreSQL's integer through validation, as a future bug might.
    monkeypatch.setattr("db.ingest.cells.MAX_NUMBER", 10**12)
    content = f"{HEADER}\nA,2025-03-03,3000000000,4\n"
    if store_url.startswith("sqlite"):  # SQLite stores any integer: nothing to refuse
        assert ingest_bytes(content.encode(), "big.csv", engine=engine).inserted == 1
        return
    error = rejected(engine, content, "big.csv")
    assert error.problems == [
        Problem(
            0, "", "", 'the database refused a value of this file (value "3000000000" is out of range for '
            "type integer): nothing was stored"
        )
    ]
    assert count(engine, "facility") == 0


# Data integrity.


def test_unicode_forms_of_one_name_are_one_facility(engine):
    assert NFC != NFD
    ingest_bytes(f"{HEADER}\n{NFC},2025-03-03,10,4\n".encode(), "a.csv", engine=engine)
    report = ingest_bytes(f"{HEADER}\n{NFD},2025-03-10,10,5\n".encode(), "b.csv", engine=engine)
    assert report.inserted == 1 and not [w for w in report.warnings if w.message.startswith("new facility")]
    assert queries.facilities(engine)["facility"].tolist() == [NFC]
    assert len(queries.weekly_metrics(engine, facility=NFD.upper())) == 2


@pytest.mark.parametrize(
    "variant", ["North\u200b Plant", "\ufeffNorth  Plant", "Ｎｏｒｔｈ Plant", "NORTH\u00a0PLANT"]
)
def test_invisible_characters_width_and_spaces_do_not_make_a_new_facility(engine, variant):
    ingest_bytes(f"{HEADER}\nNorth Plant,2025-03-03,10,4\n".encode(), "a.csv", engine=engine)
    report = ingest_bytes(f"{HEADER}\n{variant},2025-03-10,10,5\n".encode(), "b.csv", engine=engine)
    assert report.inserted == 1
    assert queries.facilities(engine)["facility"].tolist() == ["North Plant"]


def test_both_forms_in_one_file_are_duplicates(engine):
    error = rejected(engine, f"{HEADER}\n{NFC},2025-03-03,10,4\n{NFD},2025-03-03,10,4\n")
    assert error.problems == [
        Problem(3, "facility", NFC, "the same facility and week already appear on row 2")
    ]


def test_a_name_of_nothing_but_zero_width_characters_is_missing(engine):
    error = rejected(engine, f"{HEADER}\n\u200b\u200d,2025-03-03,10,4\n")
    assert error.problems == [Problem(2, "facility", "\u200b\u200d", "a value is required here")]


def test_file_mixing_utf8_and_windows_1252_is_rejected_at_the_first_bad_line(engine):
    content = f"{HEADER}\nZürich Plant,2025-03-03,10,4\n".encode() + "München,2025-03-03,10,4\n".encode(
        "cp1252"
    )
    error = rejected(engine, content)
    assert [str(p) for p in error.problems] == [
        "Row 3: this line is not UTF-8 (byte 0xFC) but the rest of the file is: save the whole file as UTF-8"
    ]


def test_file_entirely_in_windows_1252_is_still_read(engine):
    content = f"{HEADER}\nMünchen,2025-03-03,10,4\n".encode("cp1252")
    assert ingest_bytes(content, "a.csv", engine=engine).inserted == 1
    assert queries.facilities(engine)["facility"].tolist() == ["München"]


@pytest.mark.parametrize(("week", "monday"), [("1900-01-01", "1900-01-01"), ("0001-01-01", "0001-01-01")])
def test_weeks_before_the_earliest_are_rejected(engine, week, monday):
    error = rejected(engine, f"{HEADER}\nA,{week},10,4\nA,2025-03-03,10,4\n")
    assert error.problems == [
        Problem(
            2,
            "week_start",
            monday,
            f"the week starting {monday} is before 2000-01-03, the earliest week the store accepts",
        )
    ]


def test_earliest_week_is_a_setting(engine, monkeypatch):
    monkeypatch.setenv("CHASM_EARLIEST_WEEK", "2025-01-06")
    error = rejected(engine, f"{HEADER}\nA,2024-12-30,10,4\n")
    assert [p.message for p in error.problems] == [
        "the week starting 2024-12-30 is before 2025-01-06, the earliest week the store accepts"
    ]
    assert ingest_bytes(f"{HEADER}\nA,2025-01-06,10,4\n".encode(), "ok.csv", engine=engine).inserted == 1


def test_names_that_a_spreadsheet_would_run_are_stored_with_a_warning(engine):
    names = ['=HYPERLINK("http://x","y")', "@SUM(A1)", "+1 Plant", "-Plant"]
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerows(
        [HEADER.split(","), *([n, "2025-03-03", 10, 4] for n in names), [names[1], "2025-03-10", 10, 4]]
    )
    report = ingest_bytes(text.getvalue().encode(), "f.csv", engine=engine)
    assert report.inserted == 5
    formula = [w for w in report.warnings if "formula" in w.message]
    assert [(w.row, w.value) for w in formula] == [(2, names[0]), (3, names[1]), (4, names[2]), (5, names[3])]
    assert formula[1].message == (
        "begins with '@', which a spreadsheet may run as a formula: it is stored as written, "
        "and the CSV files Chasm writes escape it"
    )


@pytest.mark.parametrize(
    ("cell", "escaped"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-x", "'-x"),
        ("@a", "'@a"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("North", "North"),
        (-3, -3),
        (2.5, 2.5),
        (None, None),
        ("", ""),
    ],
)
def test_escape_cell(cell, escaped):
    assert escape_cell(cell) == escaped


def test_csv_writers_escape_text_but_not_numbers(tmp_path):
    import pandas as pd

    frame = pd.DataFrame({"facility": ["=cmd", "North"], "delta": [-1, 2], "=col": ["a", "b"]})
    assert csv_text(frame) == "facility,delta,'=col\n'=cmd,-1,a\nNorth,2,b\n"
    write_csv(frame, tmp_path / "out.csv")
    assert (tmp_path / "out.csv").read_text() == csv_text(frame)
    assert frame["facility"].tolist() == ["=cmd", "North"]  # the frame itself is left alone


def test_metrics_csv_escapes_formula_names(engine, store_url, tmp_path):
    from tests.db.test_cli_store import invoke

    ingest_bytes(f"{HEADER}\n@SUM(A1),2025-03-03,10,4\n".encode(), "f.csv", engine=engine)
    out = tmp_path / "out.csv"
    result = invoke("metrics", "--csv", out)
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[1].startswith("'@SUM(A1),2025-03-03,10,4")


def test_accepted_files_are_unchanged_by_the_limits(engine, tmp_path):
    report = ingest_file(write(tmp_path, "week.csv", FACILITY_CSV), engine=engine)
    assert report.inserted == 3
    assert [w.message for w in report.warnings] == ["new facility, created by this upload"] * 2
