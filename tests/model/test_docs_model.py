"""docs/model.md cannot drift from the code: its parameter tables must match the dataclasses.

The tables sit between HTML comment markers (``<!-- table:NAME -->`` ... ``<!-- end:NAME -->``);
the first column holds the field name in backticks, the next columns its default and range.
"""

import math
import re
from dataclasses import fields
from pathlib import Path

import pytest

from model.behaviour import BEHAVIOUR_RANGES, Behaviour
from model.scenario import LEVER_RANGES, Levers, Organisation

DOC = Path(__file__).resolve().parents[2] / "docs" / "model.md"
NAME = re.compile(r"^`([A-Za-z_][A-Za-z0-9_]*)`$")


def _table(name: str) -> list[list[str]]:
    """The data rows of the marked table, as lists of stripped cells."""
    text = DOC.read_text(encoding="utf-8")
    start, end = f"<!-- table:{name} -->", f"<!-- end:{name} -->"
    assert text.count(start) == 1 and text.count(end) == 1, f"docs/model.md needs one {start} ... {end}"
    body = text[text.index(start) + len(start): text.index(end)]
    lines = [ln.strip() for ln in body.strip().splitlines()]
    assert lines and all(ln.startswith("|") for ln in lines), f"{name}: only a table between the markers"
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]
    assert re.fullmatch(r"[-:| ]+", lines[1]), f"{name}: second line must be the header rule"
    return rows[2:]


def _by_name(name: str) -> dict[str, list[str]]:
    """Rows keyed by the field name of their first cell; a name may appear only once."""
    out: dict[str, list[str]] = {}
    for row in _table(name):
        match = NAME.match(row[0])
        assert match, f"{name} table: first cell {row[0]!r} is not a `field_name`"
        assert match.group(1) not in out, f"{name} table: {match.group(1)} appears twice"
        out[match.group(1)] = row
    return out


def _assert_same_names(rows: dict[str, list[str]], cls: type) -> list[str]:
    names = [f.name for f in fields(cls)]
    missing, extra = sorted(set(names) - set(rows)), sorted(set(rows) - set(names))
    assert not missing and not extra, f"missing from docs: {missing}; not in {cls.__name__}: {extra}"
    return names


def _number(cell: str) -> float:
    return float(cell.strip("` ").replace("−", "-"))


def _range(cell: str) -> tuple[float, float]:
    match = re.fullmatch(r"\[\s*([-−0-9.e+]+)\s*,\s*([-−0-9.e+]+)\s*\]", cell.strip())
    assert match, f"range {cell!r} is not written as [lo, hi]"
    return _number(match.group(1)), _number(match.group(2))


def _same(documented: str, default) -> bool:
    if isinstance(default, tuple):  # an empty list by default (facility_names, facility_sizes)
        return documented.strip("` ") in ("()", "[]") and default == ()
    if isinstance(default, bool):
        return documented.strip("` ").lower() == str(default).lower()
    if isinstance(default, str):
        return documented.strip("` \"'") == default
    return math.isclose(_number(documented), float(default), rel_tol=0.0, abs_tol=1e-9)


def test_every_behaviour_field_appears_once_with_its_default():
    rows = _by_name("behaviour")
    names = _assert_same_names(rows, Behaviour)
    defaults = Behaviour()
    for name in names:
        value = getattr(defaults, name)
        assert _same(rows[name][2], value), f"{name}: docs say {rows[name][2]}, code says {value}"


def test_behaviour_ranges_match_the_code():
    rows = _by_name("behaviour")
    for name, (lo, hi) in BEHAVIOUR_RANGES.items():
        doc_lo, doc_hi = _range(rows[name][3])
        assert math.isclose(doc_lo, lo, abs_tol=1e-9) and math.isclose(doc_hi, hi, abs_tol=1e-9), (
            f"{name}: docs say [{doc_lo}, {doc_hi}], code says [{lo}, {hi}]")


def test_every_lever_appears_in_the_levers_table_with_its_default():
    rows = _by_name("levers")
    names = _assert_same_names(rows, Levers)
    defaults = Levers()
    for name in names:
        assert _same(rows[name][1], getattr(defaults, name)), (
            f"{name}: docs say {rows[name][1]}, code says {getattr(defaults, name)}")
        allowed = LEVER_RANGES[name]
        if isinstance(allowed[0], str):
            documented = {v.strip(" `") for v in rows[name][2].split(",")}
            assert documented == set(allowed), f"{name}: docs allow {documented}, code {set(allowed)}"
        else:
            assert _range(rows[name][2]) == pytest.approx(allowed), f"{name}: range differs"


def test_every_organisation_field_appears_with_its_default():
    rows = _by_name("organisation")
    names = _assert_same_names(rows, Organisation)
    defaults = Organisation()
    for name in names:
        assert _same(rows[name][1], getattr(defaults, name)), (
            f"{name}: docs say {rows[name][1]}, code says {getattr(defaults, name)}")


def test_parser_catches_a_drifted_default():
    """The comparison is real: a changed value would not pass."""
    assert not _same("0.347", 0.348)
    assert _same("1", 1.0)
    assert _same("tickets_closed", "tickets_closed")
    assert not _same("false", True)
