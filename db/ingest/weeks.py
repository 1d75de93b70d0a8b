"""Week cells -> the Monday of their ISO week, resolving day/month order from the whole column."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

_ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T].*)?$")
_ISO_WEEK = re.compile(r"^(\d{4})-?W(\d{1,2})(?:-?([1-7]))?$", re.IGNORECASE)
_EXCEL_SERIAL = re.compile(r"^(\d{5})(?:\.0+)?$")
_DAY_MONTH = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
_EXCEL_EPOCH = date(1899, 12, 30)

NOT_A_DATE = "not a date: write it as YYYY-MM-DD, an ISO week like 2025-W10, or an Excel date"
AMBIGUOUS = (
    "ambiguous day/month order (could be {a} or {b}): write it as YYYY-MM-DD, "
    "or use a day over 12 somewhere in the file to settle the order"
)


@dataclass(frozen=True)
class ParsedWeek:
    """One distinct week cell, parsed: a Monday, or the reason it cannot be one."""

    monday: date | None = None
    original: date | None = None
    error: str | None = None


def monday_of(day: date) -> date:
    """The Monday that starts `day`'s ISO week."""
    return day - timedelta(days=day.weekday())


def parse_weeks(values: list[str]) -> dict[str, ParsedWeek]:
    """Parse the distinct, non-empty cells of one week column.

    Day/month order for dates like 03/04/2025 is settled by the column: a first number over
    12 anywhere means day-first, a second number over 12 means month-first; failing that, the
    order under which every date is a Monday wins. Otherwise such a date is an error.

    Args:
        values: Distinct cell texts, already stripped.

    Returns:
        Each value's parse.
    """
    parsed = {value: _parse_unambiguous(value) for value in values}
    pending: dict[str, tuple[str, str, str]] = {
        v: (m[1], m[2], m[3]) for v in values if parsed[v] is None and (m := _DAY_MONTH.match(v))
    }
    order = _column_order(list(pending.values()))
    for value, (first, second, year) in pending.items():
        parsed[value] = _parse_day_month(int(first), int(second), int(year), order)
    return {v: p if p is not None else ParsedWeek(error=NOT_A_DATE) for v, p in parsed.items()}


def _parse_unambiguous(value: str) -> ParsedWeek | None:
    if m := _ISO_DATE.match(value):
        return _checked_date(int(m[1]), int(m[2]), int(m[3]))
    if m := _ISO_WEEK.match(value):
        try:
            monday = date.fromisocalendar(int(m[1]), int(m[2]), 1)
        except ValueError:
            return ParsedWeek(error=f"there is no ISO week {m[2]} in {m[1]}")
        return ParsedWeek(monday, monday)
    if (m := _EXCEL_SERIAL.match(value)) and 20_000 <= int(m[1]) <= 80_000:
        day = _EXCEL_EPOCH + timedelta(days=int(m[1]))
        return ParsedWeek(monday_of(day), day)
    return None


def _checked_date(year: int, month: int, day: int) -> ParsedWeek:
    try:
        original = date(year, month, day)
    except ValueError:
        return ParsedWeek(error="not a real calendar date")
    return ParsedWeek(monday_of(original), original)


def _column_order(triples: list[tuple[str, str, str]]) -> str | None:
    numbers = [(int(a), int(b), int(y)) for a, b, y in triples]
    day_first = any(a > 12 for a, _, _ in numbers)
    month_first = any(b > 12 for _, b, _ in numbers)
    if day_first != month_first:
        return "dmy" if day_first else "mdy"
    if day_first:
        return None
    mondays = {order: _all_mondays(numbers, order) for order in ("dmy", "mdy")}
    if mondays["dmy"] != mondays["mdy"]:
        return "dmy" if mondays["dmy"] else "mdy"
    return None


def _all_mondays(numbers: list[tuple[int, int, int]], order: str) -> bool:
    try:
        return all(_as_date(a, b, y, order).weekday() == 0 for a, b, y in numbers)
    except ValueError:
        return False


def _as_date(first: int, second: int, year: int, order: str) -> date:
    return date(year, second, first) if order == "dmy" else date(year, first, second)


def _parse_day_month(first: int, second: int, year: int, order: str | None) -> ParsedWeek:
    if order is None:
        if first == second or first > 12:
            order = "dmy"
        elif second > 12:
            order = "mdy"
        else:
            readings = [_as_date(first, second, year, o).isoformat() for o in ("dmy", "mdy")]
            return ParsedWeek(error=AMBIGUOUS.format(a=readings[0], b=readings[1]))
    day, month = (first, second) if order == "dmy" else (second, first)
    return _checked_date(year, month, day)
