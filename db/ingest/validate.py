"""A text table -> typed, stored-name columns, with every problem found at once.

Columns are parsed vectorised, one per pass, so a bad cell in one column never hides a check on
another; a cell that failed its own parse is left out of the cross-column checks.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from db.errors import Problem
from db.ingest.cells import CELL_PARSERS, MISSING_VALUE
from db.ingest.columns import COLUMNS, KEYS, LIMITS, ColumnSpec, header_key
from db.ingest.read import TextTable

MISSING_COLUMN = "required column is missing (headers accepted for it: {accepted})"
REPEATED_COLUMN = "this column means the same as '{other}'"
UNKNOWN_COLUMN = "column not recognised, so it was ignored"
NO_ROWS = "the file has a header but no data rows"
EXCEEDS = "{part} ({a}) is more than {whole} ({b})"
FUTURE = "the week starting {monday} is in the future (today is {today})"
DUPLICATE = "the same {what} and week already appear on row {first}"
MOVED = "not a Monday: counted in the week starting Monday {monday} ({n} row(s))"

_EMPTY_DTYPES = {"count": "Int64", "hours": "Float64", "flag": "boolean", "text": object}


@dataclass
class ValidatedUpload:
    """The typed rows of an upload (stored column names plus `row`) and what was found."""

    kind: str
    frame: pd.DataFrame
    problems: list[Problem]
    warnings: list[Problem]
    # Stored columns the file actually has; absent optional columns leave stored values alone.
    present: frozenset[str] = frozenset()


class _Report:
    def __init__(self, rows: pd.Series) -> None:
        self.rows = rows.to_numpy()
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def add(self, mask, header, values, message, codes=None) -> None:  # type: ignore[no-untyped-def]
        """Report `message` (one string, or one per distinct cell via `codes`) where `mask`."""
        mask = mask.fillna(False).to_numpy(dtype=bool) if isinstance(mask, pd.Series) else mask
        cells = values.to_numpy()
        for i in np.flatnonzero(mask):
            text = message if isinstance(message, str) else message[codes[i]]
            self.problems.append(Problem(int(self.rows[i]), header, str(cells[i]), text))


def validate_table(table: TextTable, *, kind: str, today: date, secret: bytes) -> ValidatedUpload:
    """Check every cell and row of an upload of `kind`.

    Args:
        table: The file's text cells.
        kind: `facility-week` or `technician-week`.
        today: Weeks starting after this day are in the future.
        secret: HMAC key that turns technician ids into pseudonymous keys.

    Returns:
        The typed frame and every problem and warning, in file order.
    """
    report = _Report(table.rows)
    report.problems.extend(table.problems)
    headers = _map_headers(table, kind, report)
    if table.cells.empty:
        report.problems.append(Problem(0, "", "", NO_ROWS))
    frame = pd.DataFrame({"row": table.rows})
    for spec in COLUMNS[kind]:
        if spec.name in headers:
            position, header = headers[spec.name]
            text = table.cells[position]
            _parse_column(frame, spec, text, header, report, secret)
        else:
            frame[spec.name] = pd.Series(pd.NA, index=frame.index, dtype=_EMPTY_DTYPES.get(spec.type, object))
    for part, whole in LIMITS[kind]:
        _check_limit(frame, part, whole, headers, report)
    if "week_start" in headers:
        _check_future(frame, headers["week_start"][1], today, report)
    _check_duplicates(frame, kind, headers, report)
    report.problems.sort(key=lambda p: p.row)
    present = frozenset(headers)
    return ValidatedUpload(kind, frame, report.problems, report.warnings, present)


def _map_headers(table: TextTable, kind: str, report: _Report) -> dict[str, tuple[int, str]]:
    by_header = {h: spec.name for spec in COLUMNS[kind] for h in spec.headers}
    found: dict[str, tuple[int, str]] = {}
    for position, header in enumerate(table.headers):
        name = by_header.get(header_key(header))
        if name is None:
            report.warnings.append(Problem(table.header_row, header, "", UNKNOWN_COLUMN))
        elif name in found:
            message = REPEATED_COLUMN.format(other=found[name][1])
            report.problems.append(Problem(table.header_row, header, "", message))
        else:
            found[name] = (position, header)
    for spec in COLUMNS[kind]:
        if spec.required and spec.name not in found:
            accepted = ", ".join((spec.name, *spec.synonyms))
            message = MISSING_COLUMN.format(accepted=accepted)
            report.problems.append(Problem(table.header_row, spec.name, "", message))
    return found


def _parse_column(
    frame: pd.DataFrame,
    spec: ColumnSpec,
    text: pd.Series,
    header: str,
    report: _Report,
    secret: bytes,
) -> None:
    # Parse each distinct cell once: uploads repeat the same few values thousands of times.
    codes, uniques = pd.factorize(text.to_numpy(dtype=object))
    cells = pd.Series(uniques, dtype=object).str.strip()
    blank = cells.eq("").to_numpy()
    issues: list[tuple[np.ndarray, str | np.ndarray]] = []
    if spec.required:
        issues.append((blank, MISSING_VALUE))
    columns = CELL_PARSERS[spec.type](cells, blank, spec, issues, secret)
    # Raw technician ids must not reach the audit log, even in an error report.
    shown = text.where(text.eq(""), "(hidden)") if spec.type == "technician" else text
    for mask, message in issues:
        report.add(mask[codes], header, shown, message, codes)
    if spec.type == "week":
        originals = columns.pop("original")
        _report_moved_weeks(cells, columns["week_start"], originals, codes, header, report)
    for name, values in columns.items():
        frame[name] = values.take(codes).reset_index(drop=True)


def _report_moved_weeks(cells, mondays, originals, codes, header, report) -> None:  # type: ignore[no-untyped-def]
    counts = np.bincount(codes, minlength=len(cells))
    _, first_index = np.unique(codes, return_index=True)
    for i, (value, monday, original) in enumerate(zip(cells, mondays, originals, strict=True)):
        if monday is not None and original is not None and original != monday:
            message = MOVED.format(monday=monday, n=int(counts[i]))
            report.warnings.append(Problem(int(report.rows[first_index[i]]), header, value, message))


def _check_limit(frame, part, whole, headers, report) -> None:  # type: ignore[no-untyped-def]
    if part not in headers or whole not in headers:
        return
    over = frame[part] > frame[whole]
    message_of = EXCEEDS.format
    for i in np.flatnonzero(over.fillna(False).to_numpy(dtype=bool)):
        a, b = frame[part].iat[i], frame[whole].iat[i]
        message = message_of(part=part, a=a, whole=whole, b=b)
        report.problems.append(Problem(int(report.rows[i]), headers[part][1], str(a), message))


def _check_future(frame: pd.DataFrame, header: str, today: date, report: _Report) -> None:
    for monday in sorted(m for m in frame["week_start"].dropna().unique() if m > today):
        message = FUTURE.format(monday=monday, today=today)
        report.add(frame["week_start"].eq(monday), header, frame["week_start"], message)


def _check_duplicates(frame, kind, headers, report) -> None:  # type: ignore[no-untyped-def]
    who = "facility" if kind == "facility-week" else "technician"
    key = ["facility_key" if who == "facility" else "technician", "week_start"]
    if any(k not in headers for k in KEYS[kind]):
        return
    complete = frame[key].notna().all(axis=1)
    keyed = frame.loc[complete, key + ["row"]]
    repeated = keyed.duplicated(key, keep="first")
    first_row = keyed.groupby(key, sort=False)["row"].transform("first")
    column = headers["facility" if who == "facility" else "week_start"][1]
    shown = frame.loc[complete, "facility" if who == "facility" else "week_start"]
    for i in np.flatnonzero(repeated.to_numpy()):
        message = DUPLICATE.format(what=who, first=int(first_row.iat[i]))
        row = int(keyed["row"].iat[i])
        report.problems.append(Problem(row, column, str(shown.iat[i]), message))
