"""The tracker's aggregates in SQL equal the pandas reference computation (issue #14), on the demo and on
randomised histories, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.services import tracker
from db import queries, summary
from db.demo import load_demo
from db.errors import IngestError
from db.ingest import ingest_bytes
from db.models import LifecycleWeek, table_of
from tests.db.helpers import clear
from tests.db.test_cli_store import invoke

FIRST_MONDAY = date(2025, 1, 6)
HEADER = ("technician_id,facility,week_start,active,eligible_work_orders,ai_assisted_work_orders,"
          "alerts_received,alerts_actioned,training_type,training_hours,champion")


def _summary_is_full(engine) -> None:
    """The summary the ingest keeps equals the lifecycle computed from every technician-week."""
    kept, full = queries.lifecycle_counts(engine), queries.lifecycle_counts(engine, full=True)
    pd.testing.assert_frame_equal(kept, full, check_dtype=False)


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
    _summary_is_full(engine)
    (counts, inactive), (ref_counts, ref_inactive) = _sql_and_reference(engine)
    assert len(counts) > 100 and len(inactive) > 100
    _same(counts, ref_counts)
    _same(inactive, ref_inactive)
    view = tracker.tracker_view(queries.weekly_metrics(engine), lifecycle_counts=counts,
                                last_active=queries.last_active(engine))
    reference = tracker.tracker_view(queries.weekly_metrics(engine), queries.technician_weeks(engine))
    pd.testing.assert_frame_equal(view.at_risk, reference.at_risk, check_dtype=False)
    assert view.overall == reference.overall


def _line(t: int, week: int, facility: str, active: bool) -> str:
    monday = FIRST_MONDAY + timedelta(weeks=week)
    return (f"T{t:03d},{facility},{monday.isoformat()},{'yes' if active else 'no'},4,"
            f"{2 if active else 0},1,1,,0,no")


def _history_rows(draw) -> list[tuple[int, int, str, bool]]:
    rows = []
    for t in range(draw(st.integers(1, 6))):
        weeks = draw(st.lists(st.integers(0, 11), min_size=1, max_size=12, unique=True))
        for week in sorted(weeks):
            rows.append((t, week, draw(st.sampled_from(["Hull Works", "Oulu Mill"])), draw(st.booleans())))
    return rows


@st.composite
def histories(draw) -> str:
    """A technician-week CSV: a few technicians over up to 12 weeks, each with gaps and moves."""
    return "\n".join([HEADER, *(_line(*row) for row in _history_rows(draw))]) + "\n"


@st.composite
def upload_sequences(draw) -> list[str]:
    """The same kind of history sent as several files in any order (weeks filled in behind later
    ones), some weeks sent again with `active` flipped or another facility (corrections)."""
    rows = _history_rows(draw)
    files: dict[int, list[str]] = {}
    for row in rows:
        files.setdefault(draw(st.integers(0, 3)), []).append(_line(*row))
    for t, week, _, active in draw(st.lists(st.sampled_from(rows), max_size=3)):
        moved = draw(st.sampled_from(["Hull Works", "Oulu Mill"]))
        files.setdefault(draw(st.integers(0, 4)), []).append(_line(t, week, moved, not active))
    order = draw(st.permutations(sorted(files)))
    return ["\n".join([HEADER, *files[i]]) + "\n" for i in order]


@st.composite
def weekly_uploads(draw) -> list[str]:
    """The history sent a week a file, in week order (each technician once a file: the summary is
    extended from the stored state alone), now and then a week sent again as a correction."""
    rows = _history_rows(draw)
    weeks = sorted({week for _, week, _, _ in rows})
    files = ["\n".join([HEADER, *(_line(*r) for r in rows if r[1] == week)]) + "\n" for week in weeks]
    if draw(st.booleans()):
        files.insert(draw(st.integers(1, len(files))), files[draw(st.integers(0, len(files) - 1))])
    return files


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(histories())
def test_randomised_histories_in_sql_equal_the_reference(engine, history):
    clear(engine)
    ingest_bytes(history.encode(), "history.csv", engine=engine)
    (counts, inactive), (ref_counts, ref_inactive) = _sql_and_reference(engine)
    _same(counts, ref_counts)
    _same(inactive, ref_inactive)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(upload_sequences())
def test_the_summary_kept_by_uploads_in_any_order_equals_the_full_computation(engine, files):
    clear(engine)
    for number, content in enumerate(files):
        try:
            ingest_bytes(content.encode(), f"part-{number}.csv", engine=engine)
        except IngestError:  # a file naming one technician-week twice is refused whole
            continue
        _summary_is_full(engine)
    (counts, inactive), (ref_counts, ref_inactive) = _sql_and_reference(engine)
    _same(counts, ref_counts)
    _same(inactive, ref_inactive)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(weekly_uploads())
def test_the_summary_kept_by_weekly_uploads_equals_the_full_computation(engine, files):
    clear(engine)
    for number, content in enumerate(files):
        ingest_bytes(content.encode(), f"week-{number}.csv", engine=engine)
        _summary_is_full(engine)
    (counts, inactive), (ref_counts, ref_inactive) = _sql_and_reference(engine)
    _same(counts, ref_counts)
    _same(inactive, ref_inactive)


def test_weekly_appends_extend_the_summary_without_a_rebuild(engine, monkeypatch):
    clear(engine)
    first = [_line(1, 0, "Hull Works", True), _line(2, 0, "Hull Works", False)]
    ingest_bytes(("\n".join([HEADER, *first]) + "\n").encode(), "week-0.csv", engine=engine)
    rebuilt = []
    monkeypatch.setattr(summary, "rebuild", lambda conn: rebuilt.append(conn))
    rows = [_line(1, 1, "Hull Works", False), _line(2, 1, "Oulu Mill", True), _line(3, 1, "Oulu Mill", True)]
    ingest_bytes(("\n".join([HEADER, *rows]) + "\n").encode(), "week-1.csv", engine=engine)
    assert rebuilt == []
    counts = queries.lifecycle_counts(engine)
    assert [tuple(r) for r in counts[counts.week_start == FIRST_MONDAY + timedelta(weeks=1)]
            .itertuples(index=False)] == [(FIRST_MONDAY + timedelta(weeks=1), "lapsed", 1),
                                          (FIRST_MONDAY + timedelta(weeks=1), "new", 2)]
    monkeypatch.undo()
    _summary_is_full(engine)
    last = queries.last_active(engine).set_index("technician_key")
    assert sorted(last.facility) == ["Hull Works", "Oulu Mill", "Oulu Mill"]


def test_rebuild_summaries_restores_a_damaged_summary(engine):
    load_demo(engine)
    expected = queries.lifecycle_counts(engine)
    with engine.begin() as conn:
        conn.execute(table_of(LifecycleWeek).delete())
    assert queries.lifecycle_counts(engine).empty
    result = invoke("db", "rebuild-summaries")
    assert result.exit_code == 0
    assert result.stdout == "Rebuilt the lifecycle summary: 280 technicians over 78 weeks.\n"
    pd.testing.assert_frame_equal(queries.lifecycle_counts(engine), expected)
