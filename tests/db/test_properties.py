"""Hypothesis: valid frames round-trip exactly; any one corrupted cell is caught where it is."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from db import queries
from db.errors import IngestError
from db.ingest import ingest_bytes
from tests.db.helpers import clear, snapshot

FIRST_MONDAY = date(2024, 1, 1)
COLUMNS = [
    "facility",
    "week_start",
    "technicians",
    "active_users",
    "work_orders",
    "ai_assisted_work_orders",
    "training_hours",
]
SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

names = st.from_regex(r"[A-Z][a-z]{2,8}( [A-Z][a-z]{1,6})?", fullmatch=True)


@st.composite
def facility_weeks(draw) -> pd.DataFrame:
    facilities = draw(st.lists(names, min_size=1, max_size=3, unique_by=str.casefold))
    weeks = draw(st.lists(st.integers(0, 120), min_size=1, max_size=4, unique=True))
    rows = []
    for facility in facilities:
        for week in weeks:
            technicians = draw(st.integers(0, 400))
            work_orders = draw(st.none() | st.integers(0, 5000))
            rows.append(
                {
                    "facility": facility,
                    "week_start": FIRST_MONDAY + timedelta(weeks=week),
                    "technicians": technicians,
                    "active_users": draw(st.integers(0, technicians)),
                    "work_orders": work_orders,
                    "ai_assisted_work_orders": None
                    if work_orders is None
                    else draw(st.integers(0, work_orders)),
                    "training_hours": draw(st.none() | st.integers(0, 100_000).map(lambda h: h / 100)),
                }
            )
    return pd.DataFrame(rows, columns=COLUMNS)


def to_csv(frame: pd.DataFrame) -> bytes:
    return frame.to_csv(index=False).encode()


def normalised(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame[COLUMNS].sort_values(["facility", "week_start"]).reset_index(drop=True)
    counts = {c: "Int64" for c in COLUMNS[2:6]}
    return frame.astype({**counts, "training_hours": "Float64"})


@SETTINGS
@given(frame=facility_weeks())
def test_valid_frame_round_trips(engine, frame):
    clear(engine)
    report = ingest_bytes(to_csv(frame), "f.csv", engine=engine)
    assert report.inserted == len(frame)
    stored = queries.weekly_metrics(engine)
    pd.testing.assert_frame_equal(normalised(stored), normalised(frame))


CORRUPTIONS = {
    "facility": [""],
    "week_start": ["", "2025-13-45", "soon"],
    "technicians": ["", "many", "-3", "2.5"],
    "active_users": ["", "x", "-1", "0.5"],
    "work_orders": ["lots", "-7"],
    "training_hours": ["two", "-1.5"],
}


@SETTINGS
@given(frame=facility_weeks(), data=st.data())
def test_any_corrupted_cell_is_reported_and_changes_nothing(engine, frame, data):
    clear(engine)
    ingest_bytes(to_csv(frame), "base.csv", engine=engine)
    before = snapshot(engine)
    column = data.draw(st.sampled_from(sorted(CORRUPTIONS)))
    value = data.draw(st.sampled_from(CORRUPTIONS[column]))
    index = data.draw(st.integers(0, len(frame) - 1))
    corrupted = frame.astype(object)
    corrupted.loc[index, column] = value
    with pytest.raises(IngestError) as raised:
        ingest_bytes(to_csv(corrupted), "bad.csv", engine=engine)
    locations = {(p.row, p.column) for p in raised.value.problems}
    assert (index + 2, column) in locations
    assert {row for row, _ in locations} == {index + 2}
    assert snapshot(engine) == before
