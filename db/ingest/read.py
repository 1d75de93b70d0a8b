"""File bytes -> a table of text cells, with the row numbers the user sees in the file."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import islice

import numpy as np
import pandas as pd

from db.errors import Problem
from db.ingest.columns import COLUMNS, header_key
from db.ingest.limits import LINE_TOO_LONG, TOO_MANY_COLUMNS, TOO_MANY_ROWS, Limits, human_size
from db.ingest.problems import ProblemLog, shown
from db.ingest.xlsx import NOT_SPREADSHEET as _NOT_SPREADSHEET
from db.ingest.xlsx import UnreadableFile, xlsx_rows

__all__ = ["TextTable", "UnreadableFile", "header_index", "read_table"]

MIXED_ENCODING = (
    "this line is not UTF-8 (byte {byte}) but the rest of the file is: save the whole file as UTF-8"
)

_HEADER_SEARCH_ROWS = 10
_KNOWN_HEADERS = {h for specs in COLUMNS.values() for spec in specs for h in spec.headers}
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b", b"7z\xbc\xaf")
# Control characters in the first 64 KB mean a binary file; later ones are reported per cell.
_CONTROL_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A well-formed multi-byte UTF-8 character: Windows-1252 text almost never contains one.
_UTF8_CHARACTER = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")


@dataclass
class TextTable:
    """An upload's cells as text: header names, one column per header, file row numbers."""

    headers: list[str]
    cells: pd.DataFrame
    rows: pd.Series
    header_row: int = 1
    # Problems found while reading (rows wider than the header); validation adds to them.
    problems: ProblemLog | None = None


def read_table(content: bytes, limits: Limits | None = None) -> TextTable:
    """Read CSV (UTF-8, UTF-8 with BOM, Windows-1252; `,` `;` or tab) or XLSX bytes.

    Args:
        content: The whole file.
        limits: Rows, columns, line length and unpacked size allowed; default `Limits()`.

    Returns:
        The header and data rows; blank rows are skipped but keep their place in the numbering.

    Raises:
        UnreadableFile: The file is empty, not a spreadsheet, mixes encodings or is over a limit.
    """
    limits = limits or Limits()
    if not content or content.isspace():
        raise UnreadableFile(Problem(0, "", "", "the file is empty"))
    if content.startswith(b"PK\x03\x04"):
        return _table_from_rows(xlsx_rows(content, limits), limits)
    if content.startswith(b"\xd0\xcf\x11\xe0"):
        message = "old Excel .xls workbooks are not supported: save it as .xlsx or CSV"
        raise UnreadableFile(Problem(0, "", "", message))
    if content.startswith(_BINARY_MAGIC) or _CONTROL_BYTES.search(content[:65536]):
        raise UnreadableFile(Problem(0, "", "", _NOT_SPREADSHEET))
    _check_lines(content, limits)
    return _csv_table(content, _encoding(content), limits)


def _encoding(content: bytes) -> str:
    """UTF-8 (with or without BOM) or, failing that, Windows-1252; never a mix of the two."""
    try:
        content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if _UTF8_CHARACTER.search(content):
            # Part UTF-8, part something else: reading it all as Windows-1252 garbles the UTF-8 part.
            line = content.count(b"\n", 0, error.start) + 1
            message = MIXED_ENCODING.format(byte=f"0x{content[error.start]:02X}")
            raise UnreadableFile(Problem(line, "", "", message)) from None
        try:
            content.decode("cp1252")
        except UnicodeDecodeError:
            raise UnreadableFile(Problem(0, "", "", _NOT_SPREADSHEET)) from None
        return "cp1252"
    return "utf-8-sig"


def _check_lines(content: bytes, limits: Limits) -> None:
    """Refuse too many rows or too long a line from the raw bytes, before decoding or parsing."""
    newline = 10 if b"\n" in content else 13  # old Macs end lines with CR alone
    ends = np.flatnonzero(np.frombuffer(content, dtype=np.uint8) == newline)
    if len(ends) - (content[-1] == newline) > limits.max_rows:  # the header and max_rows data rows
        raise UnreadableFile(
            Problem(limits.max_rows + 2, "", "", TOO_MANY_ROWS.format(limit=limits.max_rows))
        )
    lengths = np.diff(ends, prepend=-1, append=len(content)) - 1
    longest = int(np.argmax(lengths))
    if lengths[longest] > limits.max_line_bytes:
        message = LINE_TOO_LONG.format(
            length=human_size(int(lengths[longest])), limit=human_size(limits.max_line_bytes)
        )
        raise UnreadableFile(Problem(longest + 1, "", "", message))


def _lines(text: str) -> Iterator[str]:
    """The lines of `text` with their endings, without copying it whole (as `io.StringIO` would)."""
    newline = "\n" if "\n" in text else "\r"
    start = 0
    while start < len(text):
        end = text.find(newline, start)
        end = len(text) if end < 0 else end + 1
        yield text[start:end]
        start = end


def _csv_table(content: bytes, encoding: str, limits: Limits) -> TextTable:
    first = list(islice(_lines(_head(content, 50).decode(encoding)), 50))
    sample = [line for line in first if line.strip()][:_HEADER_SEARCH_ROWS]
    delimiter = max(",;\t", key=lambda d: max(line.count(d) for line in sample))
    for number, line in enumerate(first, start=1):
        _check_width(number, next(csv.reader([line], delimiter=delimiter), []), limits)
    # Without quotes every record is one line, so pandas' C parser keeps the row numbers; its
    # width is the first line's (padding included), and a wider line later sends the file down
    # the careful path, which checks every row.
    too_wide = first[0].count(delimiter) >= limits.max_columns  # even if the rest is empty padding
    fast = None if b'"' in content or too_wide else _fast_csv_table(content, encoding, delimiter)
    return fast or _table_from_rows(_csv_rows(content.decode(encoding), delimiter, limits), limits)


def _head(content: bytes, lines: int) -> bytes:
    """The first `lines` lines (cut at a line end, so the bytes still decode)."""
    end = -1
    for _ in range(lines):
        end = content.find(b"\n", end + 1)
        if end < 0:
            return content
    return content[: end + 1]


def _check_width(number: int, row: list[str], limits: Limits) -> list[str]:
    row = _trimmed(row)
    if len(row) > limits.max_columns:
        message = TOO_MANY_COLUMNS.format(count=len(row), limit=limits.max_columns)
        raise UnreadableFile(Problem(number, "", "", message))
    return row


def _trimmed(row: list[str]) -> list[str]:
    """A row without its trailing empty cells (exports often pad rows with delimiters)."""
    end = len(row)
    while end and not row[end - 1].strip():
        end -= 1
    return row if end == len(row) else row[:end]


def _fast_csv_table(content: bytes, encoding: str, delimiter: str) -> TextTable | None:
    try:
        frame = pd.read_csv(
            io.BytesIO(content),  # the bytes, not a StringIO of the text: 1 byte a character, not 4
            encoding=encoding,
            sep=delimiter,
            header=None,
            dtype=object,
            na_filter=False,
            skip_blank_lines=False,
            quoting=csv.QUOTE_NONE,
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError):
        return None  # ragged rows: the careful path reports where
    # Without NA filtering a missing cell is already "". A row is blank when every cell is empty:
    # only rows whose first cell is empty need looking at (comparing every cell cost 10 ms a file).
    filled = np.ones(len(frame), dtype=bool)
    maybe_blank = np.flatnonzero(frame[0].to_numpy(dtype=object) == "")
    if len(maybe_blank):
        filled[maybe_blank] = (frame.iloc[maybe_blank] != "").any(axis=1).to_numpy()
        frame = frame[filled]
    lines = np.flatnonzero(filled) + 1
    if frame.empty:
        return None
    start = header_index(frame.head(_HEADER_SEARCH_ROWS).to_numpy().tolist())
    headers = [str(h).strip() for h in frame.iloc[start]]
    while headers and not headers[-1]:
        headers.pop()
    data = frame.iloc[start + 1 :]
    if frame.shape[1] > len(headers) and (data.iloc[:, len(headers) :] != "").any(axis=None):
        return None
    cells = data.iloc[:, : len(headers)].reset_index(drop=True)
    cells.columns = pd.RangeIndex(len(headers))
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


def _csv_rows(text: str, delimiter: str, limits: Limits) -> list[tuple[int, list[str]]]:
    reader = csv.reader(_lines(text), delimiter=delimiter)
    numbered, start = [], 1
    try:
        for row in reader:
            # A quoted cell may span lines; the row is where its record starts.
            numbered.append((start, _check_width(start, row, limits)))
            start = reader.line_num + 1
    except csv.Error as error:
        problem = Problem(reader.line_num, "", "", f"the CSV cannot be read here: {error}")
        raise UnreadableFile(problem) from error
    return numbered


def _table_from_rows(numbered: list[tuple[int, list[str]]], limits: Limits) -> TextTable:
    numbered = [(n, row) for n, row in numbered if "".join(row).strip()]
    if not numbered:
        raise UnreadableFile(Problem(0, "", "", "the file is empty"))
    start = header_index([row for _, row in numbered[:_HEADER_SEARCH_ROWS]])
    numbered = numbered[start:]
    header_row, headers = numbered[0]
    while headers and not headers[-1].strip():
        headers = headers[:-1]
    width, data = len(headers), []
    problems = ProblemLog(limits.problems_per_column)
    padding = [""] * width
    for number, row in numbered[1:]:
        if len(row) > width and "".join(row[width:]).strip():
            extra = next(cell for cell in row[width:] if cell.strip())
            message = f"this row has {len(row)} values but the header has {width} columns"
            problems.add(Problem(number, "", shown(extra.strip()), message))
        data.append([cell.strip() for cell in row[:width]] + padding[len(row) :])
    columns = list(zip(*data, strict=True)) if data else [()] * width
    cells = pd.DataFrame({i: pd.Series(c, dtype=object) for i, c in enumerate(columns)})
    rows = pd.Series([n for n, _ in numbered[1:]], dtype="int64")
    return TextTable([h.strip() for h in headers], cells, rows, header_row, problems)
