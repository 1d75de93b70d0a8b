"""Numbers and dates as people read them: 41%, +2.5 pts, €265,000, 3 March 2027.

One place for the formats, so the pages, the PDF brief and the command line say the same thing the
same way. No streamlit here.
"""

from __future__ import annotations

from datetime import date, timedelta


def share(value: float | None, *, digits: int = 0) -> str:
    """A share as a percentage: 0.41 -> '41%' ('n/a' when unknown)."""
    return "n/a" if value is None else f"{value:.{digits}%}"


def points(change: float | None, *, digits: int = 1) -> str:
    """A change in share, in percentage points with its sign: 0.025 -> '+2.5 pts'."""
    if change is None:
        return "n/a"
    value = round(change * 100, digits)
    return f"{value:+.{digits}f} pts".replace("-0.0 pts", "0.0 pts").replace("+0.0 pts", "0.0 pts")


def money(amount: float | None, currency: str = "€") -> str:
    """Money with the organisation's currency and thousands separators: '€265,000' ('-€1,200')."""
    if amount is None:
        return "n/a"
    sign = "-" if amount < 0 else ""
    return f"{sign}{currency}{abs(amount):,.0f}"


def day(when: date | None) -> str:
    """A date as people write it: '3 March 2027'."""
    return "an unknown date" if when is None else f"{when.day} {when:%B %Y}"


def week_date(week: int, first_monday: date | None) -> date | None:
    """The Monday that starts rollout week `week` (week 1 starts on `first_monday`)."""
    return None if first_monday is None else first_monday + timedelta(weeks=week - 1)


def week_words(week: int, first_monday: date | None) -> str:
    """A rollout week as a date when the calendar is known ('the week of 3 March 2027'), else 'week 26'."""
    when = week_date(week, first_monday)
    return f"week {week}" if when is None else f"the week of {day(when)}"
