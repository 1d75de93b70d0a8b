"""Cell parsers: each distinct cell of a column -> a typed value, or the reason it is not one.

Each parser gets the column's distinct cells (stripped), a mask of blank ones, the column's spec,
and a list to which it appends `(mask over distinct cells, message)` issues.
"""

from __future__ import annotations

import hashlib
import hmac

import numpy as np
import pandas as pd

from db.ingest.weeks import parse_weeks

MISSING_VALUE = "a value is required here"
NOT_A_NUMBER = "not a number"
NOT_WHOLE = "must be a whole number"
NEGATIVE = "must not be negative"
NOT_YES_NO = "not a yes/no value: use yes/no, true/false or 1/0"
TOO_LONG = "longer than {limit} characters"

_YES = {"1", "true", "yes", "y", "t", "x", "active"}
_NO = {"0", "false", "no", "n", "f", "inactive"}
_MAX_TEXT = {"facility": 200, "text": 100, "technician": 200}


def _parse_numbers(cells, blank, spec, issues, secret) -> dict[str, pd.Series]:  # type: ignore[no-untyped-def]
    if spec.type == "hours":
        cells = cells.str.replace(r"^(\d+),(\d+)$", r"\1.\2", regex=True)
    numbers = pd.to_numeric(cells.where(~blank), errors="coerce").astype("float64")
    finite = np.isfinite(numbers.to_numpy())
    not_number, negative = ~blank & ~finite, (numbers < 0).to_numpy()
    issues += [(not_number, NOT_A_NUMBER), (negative, NEGATIVE)]
    bad = not_number | negative
    if spec.type == "count":
        fractional = ~bad & finite & (numbers % 1 != 0).to_numpy()
        issues.append((fractional, NOT_WHOLE))
        return {spec.name: numbers.where(~(bad | fractional)).round().astype("Int64")}
    return {spec.name: numbers.where(~bad).round(4).astype("Float64")}


def _parse_flags(cells, blank, spec, issues, secret) -> dict[str, pd.Series]:  # type: ignore[no-untyped-def]
    lowered = cells.str.lower()
    yes, no = lowered.isin(_YES).to_numpy(), lowered.isin(_NO).to_numpy()
    issues.append((~blank & ~yes & ~no, NOT_YES_NO))
    flags = pd.Series(pd.NA, index=cells.index, dtype="boolean").mask(yes, True).mask(no, False)
    return {spec.name: flags}


def _parse_weeks(cells, blank, spec, issues, secret) -> dict[str, pd.Series]:  # type: ignore[no-untyped-def]
    parsed = parse_weeks([v for v in cells if v])
    errors = np.array([parsed[v].error if v else None for v in cells], dtype=object)
    issues.append((errors != None, errors))  # noqa: E711  (element-wise)
    mondays = [parsed[v].monday if v else None for v in cells]
    originals = [parsed[v].original if v else None for v in cells]
    return {
        spec.name: pd.Series(mondays, index=cells.index, dtype=object),
        "original": pd.Series(originals, index=cells.index, dtype=object),
    }


def _parse_text(cells, blank, spec, issues, secret) -> dict[str, pd.Series]:  # type: ignore[no-untyped-def]
    cells = cells.str.replace(r"\s+", " ", regex=True)
    limit = _MAX_TEXT[spec.type]
    too_long = (cells.str.len() > limit).to_numpy()
    issues.append((too_long, TOO_LONG.format(limit=limit)))
    usable = ~blank & ~too_long
    if spec.type == "facility":
        return {
            "facility": cells.where(usable, None),
            "facility_key": cells.str.casefold().where(usable, None),
        }
    if spec.type == "technician":
        keys = [pseudonymise(v, secret) if ok else None for v, ok in zip(cells, usable, strict=True)]
        return {"technician": pd.Series(keys, index=cells.index, dtype=object)}
    return {spec.name: cells.where(usable, None)}


CELL_PARSERS = {
    "count": _parse_numbers,
    "hours": _parse_numbers,
    "flag": _parse_flags,
    "week": _parse_weeks,
    "facility": _parse_text,
    "technician": _parse_text,
    "text": _parse_text,
}


def pseudonymise(technician_id: str, secret: bytes) -> str:
    """The stored key of a technician: an HMAC of the trimmed, case-folded id.

    Args:
        technician_id: The id as written in the upload.
        secret: The store's HMAC key.

    Returns:
        32 hex characters; the same id and secret always give the same key.
    """
    message = " ".join(technician_id.split()).casefold().encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]
