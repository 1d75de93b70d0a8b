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
from db.ingest.cells import CELL_PARSERS, MISSING_VALUE, factorize
from db.ingest.columns import COLUMNS, KEYS, LIMITS, ColumnSpec, header_key
from db.ingest.limits import Limits
from db.ingest.problems import ProblemLog, shown
from db.ingest.read import TextTable

MISSING_COLUMN = "required column is missing (headers accepted for it: {accepted})"
REPEATED_COLUMN = "this column means the same as '{other}'"
UNKNOWN_COLUMN = "column not recognised, so it was ignored"
NO_ROWS = "the file has a header but no data rows"
EXCEEDS = "{part} ({a}) is more than {whole} ({b})"
FUTURE = "the week starting {monday} is in the future (today is {today})"
DUPLICATE = "the same {what} and week already appear on row {first}"
MOVED = "not a Monday: counted in the week starting Monday {monday} ({n} row(s))"
EARLY = "the week starting {monday} is before {earliest}, the earliest week the store accepts"
FORMULA = (
    "begins with '{char}', which a spreadsheet may run as a formula: it is stored as written, "
    "and the CSV files Chasm writes escape it"
)

# OWASP's CSV-injection starters; leading tabs and returns are already stripped from cells.
_FORMULA_START = frozenset("=+-@\t\r")

_EMPTY_DTYPES: dict[str, str | type[object]] = {
    "count": "Int64", "hours": "Float64", "flag": "boolean", "text": object
}


@dataclass
class ValidatedUpload:
    """The typed rows of an upload (stored column names plus `row`) and what was found."""

    kind: str
    frame: pd.DataFrame
    problems: list[Problem]
    warnings: list[Problem]
    # Stored columns the file actually has; absent optional columns leave stored values alone.
    present: frozenset[str] = frozenset()
    # Every problem found; `problems` lists the first ones of each column and counts the rest.
    total: int = 0


class _Report:
    def __init__(self, rows: pd.Series, limits: Limits, found: ProblemLog | None) -> None:
        self.rows = rows.to_numpy()
        self.problems = found if found is not None else ProblemLog(limits.problems_per_column)
        self.warnings = ProblemLog(limits.problems_per_column, "warning")

    def add(self, mask, header, values, message, codes=None) -> None:  # type: ignore[no-untyped-def]
        """Report `message` (one string, or one per distinct cell via `codes`) where `mask`."""
        mask = mask.fillna(False).to_numpy(dtype=bool) if isinstance(mask, pd.Series) else mask
        cells = values.to_numpy()

        def problem(i: int) -> Problem:
            text = message if isinstance(message, str) else message[codes[i]]
            return Problem(int(self.rows[i]), header, shown(cells[i]), text)

        self.problems.add_each(header, np.flatnonzero(mask), problem)


def validate_table(
    table: TextTable, *, kind: str, today: date, secret: bytes, limits: Limits | None = None
) -> ValidatedUpload:
    """Check every cell and row of an upload of `kind`.

    Args:
        table: The file's text cells, consumed: each column leaves `table.cells` once parsed, so
            a million-row upload is never held as text and as values at once.
        kind: `facility-week` or `technician-week`.
        today: Weeks starting after this day are in the future.
        secret: HMAC key that turns technician ids into pseudonymous keys.
        limits: The earliest week and how many problems per column a report keeps; default `Limits()`.

    Returns:
        The typed frame and every problem and warning, in file order.
    """
    limits = limits or Limits()
    report = _Report(table.rows, limits, table.problems)
    headers = _map_headers(table, kind, report)
    if table.cells.empty:
        report.problems.add(Problem(0, "", "", NO_ROWS))
    frame = table.rows.rename("row").to_frame()  # not DataFrame({...}), which copies
    for spec in COLUMNS[kind]:
        if spec.name in headers:
            position, header = headers[spec.name]
            text = table.cells.pop(position)  # type: ignore[arg-type]  # columns are numbered
            _parse_column(frame, spec, text, header, report, secret)
            del text
    for part, whole in LIMITS[kind]:
        _check_limit(frame, part, whole, headers, report)
    if "week_start" in headers:
        _check_weeks(frame, headers["week_start"][1], today, limits.earliest_week, report)
    _check_duplicates(frame, kind, headers, report)
    _check_formulas(frame, headers, report)
    if not len(report.problems):  # a rejected file is never stored: spare it the empty columns
        for spec in (s for s in COLUMNS[kind] if s.name not in headers):
            frame[spec.name] = pd.Series(pd.NA, index=frame.index, dtype=_EMPTY_DTYPES.get(spec.type, object))
    problems, warnings = report.problems.listing(), report.warnings.listing(by_row=False)
    return ValidatedUpload(kind, frame, problems, warnings, frozenset(headers), len(report.problems))


def _map_headers(table: TextTable, kind: str, report: _Report) -> dict[str, tuple[int, str]]:
    by_header = {h: spec.name for spec in COLUMNS[kind] for h in spec.headers}
    found: dict[str, tuple[int, str]] = {}
    for position, header in enumerate(table.headers):
        name = by_header.get(header_key(header))
        if name is None:
            report.warnings.add(Problem(table.header_row, shown(header), "", UNKNOWN_COLUMN))
        elif name in found:
            message = REPEATED_COLUMN.format(other=found[name][1])
            report.problems.add(Problem(table.header_row, shown(header), "", message))
        else:
            found[name] = (position, header)
    for spec in COLUMNS[kind]:
        if spec.required and spec.name not in found:
            accepted = ", ".join((spec.name, *spec.synonyms))
            message = MISSING_COLUMN.format(accepted=accepted)
            report.problems.add(Problem(table.header_row, spec.name, "", message))
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
    codes, uniques, first_rows = factorize(text)
    cells = pd.Series(uniques, dtype=object).str.strip()
    blank = cells.eq("").to_numpy()
    issues: list[tuple[np.ndarray, str | np.ndarray]] = []
    if spec.required:
        issues.append((blank, MISSING_VALUE))
    columns = CELL_PARSERS[spec.type](cells, blank, spec, issues, secret)
    # Raw technician ids must not reach the audit log, even in an error report.
    visible = text.where(text.eq(""), "(hidden)") if spec.type == "technician" else text
    for mask, message in issues:
        report.add(mask[codes], header, visible, message, codes)
    if spec.type == "week":
        originals = columns.pop("original")
        _report_moved_weeks(cells, columns["week_start"], originals, codes, first_rows, header, report)
    for name, values in columns.items():
        frame[name] = values.take(codes).reset_index(drop=True)


def _report_moved_weeks(cells, mondays, originals, codes, first_index, header, report) -> None:  # type: ignore[no-untyped-def]
    counts = np.bincount(codes, minlength=len(cells))
    moved = [
        i
        for i, (monday, original) in enumerate(zip(mondays, originals, strict=True))
        if monday is not None and original is not None and original != monday
    ]
    moved.sort(key=lambda i: first_index[i])

    def warning(i: int) -> Problem:
        message = MOVED.format(monday=mondays.iat[i], n=int(counts[i]))
        return Problem(int(report.rows[first_index[i]]), header, shown(cells.iat[i]), message)

    report.warnings.add_each(header, moved, warning)


def _check_limit(frame, part, whole, headers, report) -> None:  # type: ignore[no-untyped-def]
    if part not in headers or whole not in headers:
        return
    over = (frame[part] > frame[whole]).fillna(False).to_numpy(dtype=bool)

    def problem(i: int) -> Problem:
        a, b = frame[part].iat[i], frame[whole].iat[i]
        message = EXCEEDS.format(part=part, a=a, whole=whole, b=b)
        return Problem(int(report.rows[i]), headers[part][1], str(a), message)

    report.problems.add_each(headers[part][1], np.flatnonzero(over), problem)


def _check_weeks(frame: pd.DataFrame, header: str, today: date, earliest: date, report: _Report) -> None:
    """Weeks in the future, or before the earliest plausible one, are typing mistakes."""
    codes, mondays, _ = factorize(frame["week_start"])
    messages = np.array(
        [
            FUTURE.format(monday=m, today=today)
            if m > today
            else EARLY.format(monday=m, earliest=earliest)
            if m < earliest
            else None
            for m in mondays
        ],
        dtype=object,
    )
    flagged = np.append(messages != None, False)  # noqa: E711  (element-wise; code -1, blank, is last)
    wrong = flagged[codes]
    report.add(wrong, header, frame["week_start"], messages, codes)


def _check_duplicates(frame, kind, headers, report) -> None:  # type: ignore[no-untyped-def]
    who = "facility" if kind == "facility-week" else "technician"
    key = ["facility_key" if who == "facility" else "technician", "week_start"]
    if any(k not in headers for k in KEYS[kind]):
        return
    # One integer per (who, week) instead of hashing a million pairs of Python objects.
    who_codes, _, _ = factorize(frame[key[0]])
    week_codes, weeks, _ = factorize(frame[key[1]])
    pair = who_codes.astype(np.int64) * (len(weeks) + 1) + week_codes
    pair[(who_codes < 0) | (week_codes < 0)] = -1  # a missing name or week is never a duplicate
    del who_codes, week_codes
    pair_codes, _, first_of_pair = factorize(pair)
    is_first = np.zeros(len(pair), dtype=bool)
    is_first[first_of_pair] = True
    repeated = np.flatnonzero(~is_first & (pair >= 0))
    column = headers["facility" if who == "facility" else "week_start"][1]
    cells = frame["facility" if who == "facility" else "week_start"]

    def problem(i: int) -> Problem:
        earlier = first_of_pair[pair_codes[i]]
        message = DUPLICATE.format(what=who, first=int(report.rows[earlier]))
        return Problem(int(report.rows[i]), column, shown(cells.iat[i]), message)

    report.problems.add_each(column, repeated, problem)


def _check_formulas(frame: pd.DataFrame, headers: dict[str, tuple[int, str]], report: _Report) -> None:
    """Warn, once per distinct name, of text a spreadsheet would run as a formula."""
    for name in ("facility", "training_type"):
        if name not in headers:
            continue
        _, uniques, first = factorize(frame[name])
        risky = np.array([str(v)[:1] in _FORMULA_START for v in uniques], dtype=bool)
        indices = first[risky]  # already in file order
        values, header = frame[name], headers[name][1]

        def warning(i: int, values: pd.Series = values, header: str = header) -> Problem:
            value = str(values.iat[i])
            message = FORMULA.format(char=shown(value[0]))
            return Problem(int(report.rows[i]), header, shown(value), message)

        report.warnings.add_each(header, indices, warning)
