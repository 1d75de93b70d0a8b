"""Reading and validating uploads, without a database: exact messages for every rule."""

from __future__ import annotations

import io
import re
from datetime import date
from unittest.mock import patch

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.errors import Problem
from db.ingest import cells as cells_module
from db.ingest.cells import factorize
from db.ingest.columns import COLUMNS
from db.ingest.limits import Limits
from db.ingest.read import UnreadableFile, _csv_rows, _table_from_rows, read_table
from db.ingest.validate import validate_table
from db.ingest.weeks import parse_weeks

TODAY = date(2026, 11, 27)
HEADER = "facility,week_start,technicians,active_users,work_orders,ai_assisted_work_orders"


def check(content: str | bytes, kind: str = "facility-week"):
    raw = content.encode() if isinstance(content, str) else content
    return validate_table(read_table(raw), kind=kind, today=TODAY, secret=b"s")


def problems(content: str | bytes, kind: str = "facility-week") -> list[Problem]:
    return check(content, kind).problems


def test_clean_file_has_no_problems():
    result = check(f"{HEADER}\nA,2025-03-03,10,4,20,5\n")
    assert result.problems == [] and result.warnings == []
    row = result.frame.iloc[0]
    assert (row["facility"], row["week_start"], row["technicians"]) == ("A", date(2025, 3, 3), 10)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_encodings_and_delimiters(encoding, delimiter):
    text = f"Site{delimiter}Week of{delimiter}Headcount{delimiter}Active Users\n"
    text += f"Usine Sévérac{delimiter}2025-03-03{delimiter}10{delimiter}4\n"
    result = check(text.encode(encoding))
    assert result.problems == []
    assert result.frame["facility"].tolist() == ["Usine Sévérac"]


def test_headers_match_case_space_underscore_insensitively():
    result = check("SITE, Week_Of ,head count,ACTIVE-USERS,Work Orders\nA,2025-W10,10,4,2\n")
    assert result.problems == []
    assert result.frame["work_orders"].tolist() == [2]


def test_xlsx_with_real_dates_and_numbers():
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["Plant", "Week", "Technicians", "Active users", "Training hours"])
    sheet.append(["A", date(2025, 3, 5), 12, 6.0, 1.5])
    buffer = io.BytesIO()
    workbook.save(buffer)
    result = check(buffer.getvalue())
    assert result.problems == []
    assert result.frame.loc[0, "week_start"] == date(2025, 3, 3)
    assert result.frame.loc[0, "training_hours"] == 1.5
    assert (
        result.warnings[0].message
        == "not a Monday: counted in the week starting Monday 2025-03-03 (1 row(s))"
    )


def test_every_problem_is_reported_at_once_with_row_column_value():
    text = (
        f"{HEADER}\n"
        "A,2025-03-03,10,12,20,5\n"  # active > technicians
        "B,2025-03-03,abc,-2,20,25\n"  # not a number, negative, AI > total
        "A,2025-03-03,10,4,,\n"  # duplicate of row 2
        "C,2031-01-06,10,4.5,,\n"  # future, not whole
        ",2025-03-03,10,4,,\n"  # facility missing
    )
    assert problems(text) == [
        Problem(2, "active_users", "12", "active_users (12) is more than technicians (10)"),
        Problem(3, "technicians", "abc", "not a number"),
        Problem(3, "active_users", "-2", "must not be negative"),
        Problem(
            3,
            "ai_assisted_work_orders",
            "25",
            "ai_assisted_work_orders (25) is more than work_orders (20)",
        ),
        Problem(4, "facility", "A", "the same facility and week already appear on row 2"),
        Problem(5, "active_users", "4.5", "must be a whole number"),
        Problem(
            5,
            "week_start",
            "2031-01-06",
            "the week starting 2031-01-06 is in the future (today is 2026-11-27)",
        ),
        Problem(6, "facility", "", "a value is required here"),
    ]


def test_missing_required_column():
    assert problems("facility,week,active_users\nA,2025-03-03,1\n") == [
        Problem(
            1,
            "technicians",
            "",
            "required column is missing (headers accepted for it: "
            "technicians, headcount, technician_count, techs, head_count)",
        ),
    ]


def test_unknown_column_is_a_warning_not_an_error():
    result = check("facility,week,technicians,active_users,notes\nA,2025-03-03,3,1,hello\n")
    assert result.problems == []
    assert result.warnings == [Problem(1, "notes", "", "column not recognised, so it was ignored")]


def test_header_only_file():
    assert problems(f"{HEADER}\n") == [Problem(0, "", "", "the file has a header but no data rows")]


@pytest.mark.parametrize("content", [b"", b"  \n\n"])
def test_empty_file(content):
    with pytest.raises(UnreadableFile) as raised:
        read_table(content)
    assert raised.value.problem == Problem(0, "", "", "the file is empty")


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.4\x00\x01",
        b"\x89PNG\r\n\x1a\n",
        b"\x00\x01\x02\x03binary",
        b"PK\x03\x04not really a zip",
    ],
)
def test_not_a_spreadsheet(content):
    with pytest.raises(UnreadableFile) as raised:
        read_table(content)
    assert raised.value.problem.message == "not a spreadsheet: upload a CSV file or an Excel .xlsx workbook"


def test_row_numbers_count_blank_lines_as_the_user_sees_them():
    text = f"{HEADER}\nA,2025-03-03,10,4,,\n\nB,2025-03-03,x,4,,\n"
    assert problems(text) == [Problem(4, "technicians", "x", "not a number")]


def test_too_many_values_on_a_row():
    text = "facility,week,technicians,active_users\nA,2025-03-03,10,4,oops\n"
    assert problems(text) == [Problem(2, "", "oops", "this row has 5 values but the header has 4 columns")]


def test_technician_week_rules():
    text = (
        "technician,facility,week,active,eligible_work_orders,ai_assisted_work_orders,champion\n"
        "T1,A,2025-03-03,maybe,4,5,no\n"
        "T1,A,2025-03-03,yes,4,1,y\n"
    )
    assert problems(text, "technician-week") == [
        Problem(2, "active", "maybe", "not a yes/no value: use yes/no, true/false or 1/0"),
        Problem(
            2,
            "ai_assisted_work_orders",
            "5",
            "ai_assisted_work_orders (5) is more than eligible_work_orders (4)",
        ),
        Problem(3, "week", "2025-03-03", "the same technician and week already appear on row 2"),
    ]


@pytest.mark.parametrize(
    ("value", "monday"),
    [
        ("2025-03-03", date(2025, 3, 3)),
        ("2025-03-06", date(2025, 3, 3)),
        ("2025-W10", date(2025, 3, 3)),
        ("2025w10", date(2025, 3, 3)),
        ("2025-W10-4", date(2025, 3, 3)),
        ("45719", date(2025, 3, 3)),  # Excel serial
        ("2025/03/03", date(2025, 3, 3)),
    ],
)
def test_week_formats(value, monday):
    assert parse_weeks([value])[value].monday == monday


def test_day_month_order_settled_by_a_day_over_12():
    parsed = parse_weeks(["03/02/2025", "17/02/2025"])
    assert parsed["03/02/2025"].monday == date(2025, 2, 3)


def test_day_month_order_settled_by_mondays():
    # Day-first both are Mondays in March; month-first 2025-10-03 is a Friday.
    parsed = parse_weeks(["03/03/2025", "10/03/2025"])
    assert parsed["10/03/2025"].monday == date(2025, 3, 10)


def test_ambiguous_day_month_order_is_an_error():
    parsed = parse_weeks(["04/03/2025"])
    assert parsed["04/03/2025"].error == (
        "ambiguous day/month order (could be 2025-03-04 or 2025-04-03): write it as YYYY-MM-DD, "
        "or use a day over 12 somewhere in the file to settle the order"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "next week",
            "not a date: write it as YYYY-MM-DD, an ISO week like 2025-W10, or an Excel date",
        ),
        ("2025-02-30", "not a real calendar date"),
        ("2025-W54", "there is no ISO week 54 in 2025"),
    ],
)
def test_bad_weeks(value, message):
    assert parse_weeks([value])[value].error == message


@pytest.mark.parametrize(
    "title", ["Weekly adoption report\n", "Weekly adoption report,,,\nExported 2025-03-10,,,\n\n"]
)
def test_title_rows_above_the_header_are_skipped(title):
    delimiter = ";" if ";" in title else ","
    table = "facility,week,technicians,active_users\nA,2025-03-03,10,x\n".replace(",", delimiter)
    result = check(title + table)
    row = 3 if title.count("\n") == 1 else 5
    assert result.problems == [Problem(row, "active_users", "x", "not a number")]


@given(st.lists(st.one_of(st.none(), st.sampled_from(["a", "b", " b", "c", "d"])), max_size=40),
       st.integers(1, 50))
def test_factorizing_in_chunks_gives_what_pandas_gives_for_the_whole_column(values, chunk):
    """Codes in order of first appearance, -1 for missing, and where each value first appears,
    whether the column fits one chunk (a weekly upload) or spans several (a long file)."""
    column = np.array(values, dtype=object)
    codes, uniques, first = factorize(column, chunk=chunk)
    expected_codes, expected_uniques = pd.factorize(column)
    assert codes.tolist() == expected_codes.tolist()
    assert uniques == list(expected_uniques)
    assert first.tolist() == [values.index(u) for u in uniques]


_CSV_LINE = st.lists(st.sampled_from(["", "a", "7", "b c"]), max_size=3).map(",".join)


@given(st.lists(st.one_of(st.just(""), _CSV_LINE), max_size=12))
def test_the_quick_csv_reader_skips_and_numbers_blank_rows_as_the_careful_one_does(lines):
    """Files without quotes are read by pandas' C parser; a row is blank when every cell is empty,
    looked for only where the first cell is. The careful reader (the csv module, row by row) is
    the reference: the same header, cells and file row numbers."""
    content = "\n".join(["facility,week_start,technicians", *lines]) + "\n"
    quick = read_table(content.encode())
    careful = _table_from_rows(_csv_rows(content, ",", Limits()), Limits())
    assert (quick.headers, quick.header_row) == (careful.headers, careful.header_row)
    assert quick.cells.to_numpy().tolist() == careful.cells.to_numpy().tolist()
    assert quick.rows.tolist() == careful.rows.tolist()


_CELL_TEXT = st.text(st.sampled_from(["a", "B", "|", "é", " ", "\t", "\n", "\u00a0", "\u2003", "\u200b",
                                      "\x00", "\x1f", "\x7f"]), max_size=6)


@pytest.mark.parametrize("kind", ["technician", "facility", "text"])
@given(values=st.lists(_CELL_TEXT, max_size=8, unique_by=str.strip))
def test_text_cells_checked_by_one_search_over_the_column_are_checked_as_cell_by_cell(kind, values):
    """A column's distinct cells are searched once, joined, for control characters and for white
    space to collapse; only when one is found does each cell get its own regex. With both searches
    made to always find one (the cell-by-cell path) the values and the problems are the same."""
    spec = next(s for specs in COLUMNS.values() for s in specs if s.type == kind)
    cells = pd.Series([v.strip() for v in values], dtype=object)

    def parsed() -> tuple[dict, list]:
        issues: list = []
        columns = cells_module._parse_text(cells, cells.eq("").to_numpy(), spec, issues, b"key")
        found = [(mask.tolist(), message if isinstance(message, str) else message[mask].tolist())
                 for mask, message in issues if mask.any()]
        return {name: column.tolist() for name, column in columns.items()}, found

    quick = parsed()
    always = re.compile("")
    with patch.object(cells_module, "_CONTROL_PATTERN", always), \
            patch.object(cells_module, "_SPACES_TO_COLLAPSE", always):
        assert quick == parsed()
