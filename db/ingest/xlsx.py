"""XLSX bytes -> numbered rows of text, streamed, never trusting what the workbook says of itself.

A workbook is a zip of XML: its declared sizes are checked before anything is unpacked, and its
first sheet is read row by row, ignoring the sheet's claimed dimension (a 4.8 KB file may claim
A1:XFD1048576, 17 billion cells, and openpyxl would pad every row to it).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime

from db.errors import Problem
from db.ingest.limits import (
    RATIO_FLOOR_BYTES,
    TOO_COMPRESSED,
    TOO_MANY_COLUMNS,
    TOO_MANY_ROWS,
    UNPACKED_TOO_BIG,
    Limits,
    human_size,
)

NOT_SPREADSHEET = "not a spreadsheet: upload a CSV file or an Excel .xlsx workbook"


class UnreadableFile(Exception):
    """The bytes cannot be read as a table at all; carries the one file-level problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def xlsx_rows(content: bytes, limits: Limits) -> list[tuple[int, list[str]]]:
    """The first sheet's rows as text cells, numbered as in Excel.

    Args:
        content: The whole .xlsx file.
        limits: Rows, columns and unpacked size allowed.

    Returns:
        (row number, cells) for every row with a value, trailing empty cells left out.

    Raises:
        UnreadableFile: Not a workbook, or over a limit (the problem names it).
    """
    _check_archive(content, limits)
    import openpyxl  # imported here: only Excel uploads pay for it

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as error:
        raise UnreadableFile(Problem(0, "", "", NOT_SPREADSHEET)) from error
    try:
        sheet = workbook.worksheets[0]
        sheet.reset_dimensions()  # type: ignore[union-attr]  # read-only sheets have it
        return list(_bounded(enumerate(sheet.iter_rows(values_only=True), start=1), limits))
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError, SyntaxError) as error:
        raise UnreadableFile(Problem(0, "", "", NOT_SPREADSHEET)) from error
    finally:
        workbook.close()


def _check_archive(content: bytes, limits: Limits) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise UnreadableFile(Problem(0, "", "", NOT_SPREADSHEET)) from error
    # zipfile stops each member at its declared size, so declared sizes bound the unpacking.
    unpacked = sum(m.file_size for m in members)
    packed = max(1, sum(m.compress_size for m in members))
    if unpacked > limits.max_unpacked_bytes:
        limit = human_size(limits.max_unpacked_bytes)
        message = UNPACKED_TOO_BIG.format(size=human_size(unpacked), limit=limit)
        raise UnreadableFile(Problem(0, "", f"{unpacked} bytes", message))
    ratio = unpacked // packed
    if unpacked > RATIO_FLOOR_BYTES and ratio > limits.max_compression_ratio:
        message = TOO_COMPRESSED.format(ratio=ratio, limit=limits.max_compression_ratio)
        raise UnreadableFile(Problem(0, "", f"{unpacked} bytes", message))


def _bounded(rows: Iterator[tuple[int, tuple]], limits: Limits) -> Iterator[tuple[int, list[str]]]:
    for number, values in rows:
        width = len(values)
        while width and values[width - 1] in (None, ""):
            width -= 1
        if width and number > limits.max_rows + 1:  # the header and max_rows data rows, as for CSV
            raise UnreadableFile(Problem(number, "", "", TOO_MANY_ROWS.format(limit=limits.max_rows)))
        if width > limits.max_columns:
            message = TOO_MANY_COLUMNS.format(count=width, limit=limits.max_columns)
            raise UnreadableFile(Problem(number, "", "", message))
        if width:  # blank rows keep their number but take no memory
            yield number, [_cell_text(v) for v in values[:width]]


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
