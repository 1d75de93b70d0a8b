"""CSV that a spreadsheet opens as data: cells that would start a formula are escaped (OWASP).

Excel, LibreOffice and Google Sheets run a cell beginning with `=`, `+`, `-`, `@`, a tab or a
carriage return as a formula, so a facility named `=HYPERLINK(...)` in a download becomes a link
or a command. Every CSV Chasm writes goes through `write_csv`.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(value: object) -> object:
    """A text cell that would start a formula, prefixed with a single quote; anything else as is.

    Args:
        value: One cell. Numbers are left alone (-3 is a number, not a formula); text such as
            "-3" or "=1+1" is escaped.

    Returns:
        `'=1+1` for `=1+1`; the value itself otherwise.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def escape_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of `frame` with every text cell (and column name) passed through `escape_cell`."""
    escaped = frame.rename(columns=escape_cell)
    for column in escaped.columns:
        if not (
            pd.api.types.is_numeric_dtype(escaped[column]) or pd.api.types.is_bool_dtype(escaped[column])
        ):
            escaped[column] = escaped[column].map(escape_cell)
    return escaped


def write_csv(frame: pd.DataFrame, path: Path | str) -> None:
    """Write `frame` to `path` as CSV (no index), its formula-like cells escaped."""
    escape_frame(frame).to_csv(path, index=False)


def csv_text(frame: pd.DataFrame) -> str:
    """`frame` as CSV text (no index), its formula-like cells escaped: for a download button."""
    return escape_frame(frame).to_csv(index=False)
