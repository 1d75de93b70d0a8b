"""File bytes -> a table of text cells, with the row numbers the user sees in the file."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime

import pandas as pd

from db.errors import Problem
from db.ingest.columns import COLUMNS, header_key

_HEADER_SEARCH_ROWS = 10
_KNOWN_HEADERS = {h for specs in COLUMNS.values() for spec in specs for h in spec.headers}
_NOT_SPREADSHEET = "not a spreadsheet: upload a CSV file or an Excel .xlsx workbook"
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b", b"7z\xbc\xaf")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


@dataclass
class TextTable:
    """An upload's cells as text: header names, one column per header, file row numbers."""

    headers: list[str]
    cells: pd.DataFrame
    rows: pd.Series
    header_row: int = 1
    problems: list[Problem] = field(default_factory=list)


class UnreadableFile(Exception):
    """The bytes cannot be read as a table at all; carries the one file-level problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def read_table(content: bytes) -> TextTable:
    """Read CSV (UTF-8, UTF-8 with BOM, Windows-1252; `,` `;` or tab) or XLSX bytes.

    Args:
        content: The whole file.

    Returns:
        The header and data rows; blank rows are skipped but keep their place in the numbering.

    Raises:
        UnreadableFile: The file is empty or not a spreadsheet.
    """
    if not content.strip():
        raise UnreadableFile(Problem(0, "", "", "the file is empty"))
    if content.startswith(b"PK\x03\x04"):
        return _table_from_rows(_xlsx_rows(content))
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        message = "old Excel .xls workbooks are not supported: save it as .xlsx or CSV"
        raise UnreadableFile(Problem(0, "", "", message))
    return _csv_table(_decode(content))


def _decode(content: bytes) -> str:
    if content.startswith(_BINARY_MAGIC):
        raise UnreadableFile(Problem(0, "", "", _NOT_SPREADSHEET))
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            text = content.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not _CONTROL.search(text[:65536]):
            return text
    raise UnreadableFile(Problem(0, "", "", _NOT_SPREADSHEET))


def _csv_table(text: str) -> TextTable:
    sample = [line for line in text.splitlines()[:50] if line.strip()][:_HEADER_SEARCH_ROWS]
    delimiter = max(",;\t", key=lambda d: max(line.count(d) for line in sample))
    # Without quotes every record is one line, so pandas' C parser keeps the row numbers.
    fast = None if '"' in text else _fast_csv_table(text, delimiter)
    return fast or _table_from_rows(_csv_rows(text, delimiter))


def _fast_csv_table(text: str, delimiter: str) -> TextTable | None:
    try:
        frame = pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            header=None,
            dtype=object,
            na_filter=False,
            skip_blank_lines=False,
            quoting=csv.QUOTE_NONE,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError):
        return None  # ragged rows: the careful path reports where
    frame = frame.fillna("")
    filled = frame.ne("").any(axis=1).to_numpy()
    lines = frame.index.to_numpy()[filled] + 1
    frame = frame[filled]
    if frame.empty:
        return None
    start = header_index(frame.head(_HEADER_SEARCH_ROWS).to_numpy().tolist())
    headers = [str(h).strip() for h in frame.iloc[start]]
    while headers and not headers[-1]:
        headers.pop()
    data = frame.iloc[start + 1 :]
    if frame.shape[1] > len(headers) and data.iloc[:, len(headers) :].ne("").any(axis=None):
        return None
    cells = data.iloc[:, : len(headers)].reset_index(drop=True)
    cells.columns = range(len(headers))
    rows = pd.Series(lines[start + 1 :], dtype="int64")
    return TextTable(headers, cells, rows, int(lines[start]))


def header_index(first_rows: list[list[str]]) -> int:
    """Which of the first non-blank rows is the header: the first naming two known columns.

    Exports often put a title or a date range above the table; when no row looks like a
    header, the first one is taken and the missing columns are reported against it.
    """
    for index, row in enumerate(first_rows):
        if sum(header_key(str(cell)) in _KNOWN_HEADERS for cell in row) >= 2:
            return index
    return 0


def _csv_rows(text: str, delimiter: str) -> list[tuple[int, list[str]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    numbered, start = [], 1
    try:
        for row in reader:
            # A quoted cell may span lines; the row is where its record starts.
            numbered.append((start, row))
            start = reader.line_num + 1
    except csv.Error as error:
        problem = Problem(reader.line_num, "", "", f"the CSV cannot be read here: {error}")
        raise UnreadableFile(problem) from error
    return numbered


def _xlsx_rows(content: bytes) -> list[tuple[int, list[str]]]:
    import openpyxl  # imported here: only Excel uploads pay for it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise UnreadableFile(Problem(0, "", "", _NOT_SPREADSHEET)) from error
    sheet = workbook.worksheets[0]
    rows = [
        (number, [_cell_text(v) for v in values])
        for number, values in enumerate(sheet.iter_rows(values_only=True), start=1)
    ]
    workbook.close()
    return rows


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _table_from_rows(numbered: list[tuple[int, list[str]]]) -> TextTable:
    numbered = [(n, row) for n, row in numbered if "".join(row).strip()]
    if not numbered:
        raise UnreadableFile(Problem(0, "", "", "the file is empty"))
    start = header_index([row for _, row in numbered[:_HEADER_SEARCH_ROWS]])
    numbered = numbered[start:]
    header_row, headers = numbered[0]
    while headers and not headers[-1].strip():
        headers = headers[:-1]
    width, problems, data = len(headers), [], []
    padding = [""] * width
    for number, row in numbered[1:]:
        if len(row) > width and "".join(row[width:]).strip():
            extra = next(cell for cell in row[width:] if cell.strip())
            message = f"this row has {len(row)} values but the header has {width} columns"
            problems.append(Problem(number, "", extra.strip(), message))
        data.append([cell.strip() for cell in row[:width]] + padding[len(row) :])
    columns = list(zip(*data, strict=True)) if data else [()] * width
    cells = pd.DataFrame({i: pd.Series(c, dtype=object) for i, c in enumerate(columns)})
    rows = pd.Series([n for n, _ in numbered[1:]], dtype="int64")
    return TextTable([h.strip() for h in headers], cells, rows, header_row, problems)
