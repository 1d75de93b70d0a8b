"""Cell parsers: each distinct cell of a column -> a typed value, or the reason it is not one.

Each parser gets the column's distinct cells (stripped), a mask of blank ones, the column's spec,
and a list to which it appends `(mask over distinct cells, message)` issues.
"""

from __future__ import annotations

import hmac
import re
from functools import lru_cache

import numpy as np
import pandas as pd

from db.ingest.names import facility_key, facility_name
from db.ingest.weeks import parse_weeks

MISSING_VALUE = "a value is required here"
NOT_A_NUMBER = "not a number"
NOT_WHOLE = "must be a whole number"
NEGATIVE = "must not be negative"
NOT_YES_NO = "not a yes/no value: use yes/no, true/false or 1/0"
TOO_LONG = "longer than {limit} characters"
TOO_LARGE = "more than {limit:,}, the largest number the store keeps"
CONTROL_CHARACTER = "contains the control character {code}, which cannot be stored: remove it"

# PostgreSQL's `integer`; hours beyond it are typing mistakes too (and 1e308 rounds to infinity).
MAX_NUMBER = 2_147_483_647
_CONTROL = r"([\x00-\x08\x0b\x0c\x0e-\x1f\x7f])"
_CONTROL_PATTERN = re.compile(_CONTROL)
# White space that `\s+` -> " " would change: a run of two, or any white space but a plain space.
_SPACES_TO_COLLAPSE = re.compile(r"\s\s|[^\S ]")

_YES = {"1", "true", "yes", "y", "t", "x", "active"}
_NO = {"0", "false", "no", "n", "f", "inactive"}
_MAX_TEXT = {"facility": 200, "text": 100, "technician": 200}


def _parse_numbers(cells, blank, spec, issues, secret) -> dict[str, pd.Series]:  # type: ignore[no-untyped-def]
    if spec.type == "hours":
        cells = cells.str.replace(r"^(\d+),(\d+)$", r"\1.\2", regex=True)
    numbers = pd.to_numeric(cells.where(~blank), errors="coerce").astype("float64")
    finite = np.isfinite(numbers.to_numpy())
    not_number, negative = ~blank & ~finite, (numbers < 0).to_numpy()
    too_large = finite & (numbers > MAX_NUMBER).to_numpy()
    issues += [
        (not_number, NOT_A_NUMBER),
        (negative, NEGATIVE),
        (too_large, TOO_LARGE.format(limit=MAX_NUMBER)),
    ]
    bad = not_number | negative | too_large
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
    # One search over the column's distinct cells joined decides whether any cell needs a regex of
    # its own: 20,000 technician ids a weekly file, two regex calls each, were a third of its checks.
    joined = "|".join(cells.fillna(""))  # (cells are stripped; "|" is neither white space nor control)
    has_control = np.zeros(len(cells), dtype=bool)
    if _CONTROL_PATTERN.search(joined):
        control = cells.str.extract(_CONTROL, expand=False)
        has_control = control.notna().to_numpy()
        messages = [
            CONTROL_CHARACTER.format(code=f"U+{ord(c):04X}") if isinstance(c, str) else None for c in control
        ]
        issues.append((has_control, np.array(messages, dtype=object)))
    limit = _MAX_TEXT[spec.type]
    if spec.type == "facility":
        names = cells.map(facility_name)
        keys = names.map(facility_key)
        too_long = ((names.str.len() > limit) | (keys.str.len() > limit)).to_numpy()
        invisible = ~blank & names.eq("").to_numpy()  # nothing but zero-width characters
        issues += [(too_long, TOO_LONG.format(limit=limit)), (invisible, MISSING_VALUE)]
        usable = ~blank & ~too_long & ~has_control & ~invisible
        return {"facility": names.where(usable, None), "facility_key": keys.where(usable, None)}
    if _SPACES_TO_COLLAPSE.search(joined):  # else collapsing runs of white space changes nothing
        cells = cells.str.replace(r"\s+", " ", regex=True)
    too_long = (cells.str.len() > limit).to_numpy()
    issues.append((too_long, TOO_LONG.format(limit=limit)))
    usable = ~blank & ~too_long & ~has_control
    if spec.type == "technician":
        keys = [_pseudonym(v, secret) if ok else None for v, ok in zip(cells, usable, strict=True)]
        return {"technician": pd.Series(keys, index=cells.index, dtype=object)}
    return {spec.name: cells.where(usable, None)}


def factorize(values: pd.Series | np.ndarray, chunk: int = 1 << 16) -> tuple[np.ndarray, list, np.ndarray]:
    """Like `pd.factorize` (codes in order of first appearance, -1 for missing), in bounded memory.

    `pd.factorize` sizes its hash table for every row: 40 MB for a million cells that hold three
    distinct values. Chunks of 65,536 rows keep that to one chunk's worth.

    Args:
        values: One column.
        chunk: Rows hashed at once.

    Returns:
        An integer code per row, the distinct values (a code is a position in them), and the
        position of each distinct value's first row.
    """
    values = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else values
    if len(values) <= chunk:  # one chunk (a weekly upload, a backfill's piece): no merging to do
        part, uniques = pd.factorize(values)
        return part.astype(np.int32), list(uniques), _first_appearances(part)
    codes = np.empty(len(values), dtype=np.int32)  # uploads stay far below 2**31 rows
    index: dict = {}
    first: list[np.ndarray] = []
    for start in range(0, len(values), chunk):
        part, uniques = pd.factorize(values[start : start + chunk])
        known = len(index)
        mapping = np.array([index.setdefault(u, len(index)) for u in uniques] + [-1], dtype=np.int32)
        codes[start : start + chunk] = mapping[part]
        if len(index) > known:
            first.append(start + _first_appearances(part)[mapping[: len(uniques)] >= known])
    positions = np.concatenate(first) if first else np.empty(0, dtype=np.intp)
    return codes, list(index), positions


def _first_appearances(codes: np.ndarray) -> np.ndarray:
    """Where each code first appears, in order (codes count up from 0 in order of first appearance)."""
    return np.flatnonzero(codes > np.maximum.accumulate(np.concatenate(([-1], codes[:-1]))))


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
    return hmac.digest(secret, message, "sha256")[:16].hex()  # (one C call: the upload's hot loop)


# Each weekly export names the same technicians again: 20,000 HMACs an upload, 4.7 microseconds
# each, are about 0.1 s of its 0.5 s, and a backfill repeats them in every chunk. The cache is keyed
# on the secret too, so a new store key never meets an old key's pseudonyms; it lives in memory
# only, as the upload itself does, and holds the technicians of a large enterprise (about 10 MB).
_pseudonym = lru_cache(maxsize=1 << 15)(pseudonymise)
