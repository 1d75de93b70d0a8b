"""The tracker's aggregates in SQL equal the pandas reference computation (issue #14), on the demo and on
randomised histories, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services import tracker
from db import queries
from db.demo import load_demo
from db.ingest import ingest_bytes
from tests.db.helpers import clear

FIRST_MONDAY = date(2025, 1, 6)
HEADER = ("technician_id,facility,week_start,active,eligible_work_orders,ai_assisted_work_orders,"
          "alerts_received,alerts_actioned,training_type,training_hours,champion")


def _sql_and_reference(engine) -> tuple[tuple[pd.DataFrame, pd.DataFrame], tuple[pd.DataFrame, pd.DataFrame]]:
    weeks = queries.technician_weeks(engine)
    reference = (tracker.lifecycle(weeks).sort_values(["week_start", "status"]).reset_index(drop=True),
                 tracker._inactive(weeks).sort_values("technician_key").reset_index(drop=True)
                 if not weeks.empty else pd.DataFrame())
    last = queries.last_active(engine)
    sql = (queries.lifecycle_counts(engine),
           tracker.inactive_from(last).reset_index(drop=True) if not last.empty else pd.DataFrame())
    return sql, reference


def _same(sql: pd.DataFrame, reference: pd.DataFrame) -> None:
    if reference.empty:
        assert sql.empty
        return

    def plain(frame: pd.DataFrame) -> pd.DataFrame:  # dates and names as text, counts as numbers
        counts = ("technicians", "weeks_inactive")
        return frame.astype({c: str for c in frame.columns if c not in counts})[sorted(frame.columns)]

    pd.testing.assert_frame_equal(plain(sql), plain(reference), check_dtype=False)


def test_the_demo_lifecycle_and_at_risk_in_sql_equal_the_reference(engine):
    load_demo(engine)
    (counts, inactive), (ref_counts, ref_inactive) = _sql_and_reference(engine)
    assert len(counts) > 100 and len(inactive) > 100
    _same(counts, ref_counts)
    _same(inactive, ref_inactive)
    view = tracker.tracker_view(queries.weekly_metrics(engine), lifecycle_counts=counts,
                                last_active=queries.last_active(engine))
    reference = tracker.tracker_view(queries.weekly_metrics(engine), queries.technician_weeks(engine))
    pd.testing.assert_frame_equal(view.at_risk, reference.at_risk, check_dtype=False)
    assert view.overall == reference.overall


@st.composite
def histories(draw) -> str:
    """A technician-week CSV: a few technicians over up to 12 weeks, each with gaps and moves."""
    lines = [HEADER]
    for t in range(draw(st.integers(1, 6))):
        weeks = draw(st.lists(st.integers(0, 11), min_size=1, max_size=12, unique=True))
        for week in sorted(weeks):
            facility = draw(st.sampled_from(["Hull Works", "Oulu Mill"]))
            active = draw(st.booleans())
            monday = FIRST_MONDAY + timedelta(weeks=week)
            lines.append(f"T{t:03d},{facility},{monday.isoformat()},{'yes' if active else 'no'},4,"
                         f"{2 if active else 0},1,1,,0,no")
    return "\n".join(lines) + "\n"


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories())
def test_randomised_histories_in_sql_equal_the_reference(engine, history):
    clear(engine)
    ingest_bytes(history.encode(), "history.csv", engine=engine)
    (counts, inactive), (ref_counts, ref_inactive) = _sql_and_reference(engine)
    _same(counts, ref_counts)
    _same(inactive, ref_inactive)
