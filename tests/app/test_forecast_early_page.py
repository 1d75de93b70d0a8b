"""The Forecast page gives the early warning while fewer weeks are stored than the full forecast needs
(issue #13: leadership asks "are we heading for failure?" in the first weeks)."""

from __future__ import annotations

import subprocess
import sys
from datetime import date, timedelta

import pytest

from app.services import brief
from app.services.snapshots import early_warning_now
from db.engine import create_store_engine
from db.ingest import ingest_bytes
from db.migrate import upgrade

MONDAY = date(2026, 10, 5)


def _store(tmp_path, weeks: int):
    url = f"sqlite:///{tmp_path / f'early-{weeks}.db'}"
    upgrade(url)
    engine = create_store_engine(url)
    lines = ["facility,week_start,technicians,active_users"]
    for w in range(weeks):
        monday = (MONDAY + timedelta(weeks=w)).isoformat()
        lines += [f"Hull Works,{monday},20,{4 + 2 * w}", f"Oulu Mill,{monday},20,{3 + w}"]
    ingest_bytes(("\n".join(lines) + "\n").encode(), "weeks.csv", engine=engine, today=date(2026, 12, 1))
    return engine


@pytest.mark.parametrize("weeks", [2, 6])
def test_no_early_warning_before_three_weeks_or_once_the_full_forecast_can_be_made(tmp_path, weeks):
    assert early_warning_now(_store(tmp_path, weeks)) is None


def test_the_forecast_page_shows_the_early_warning_from_four_stored_weeks(tmp_path, monkeypatch):
    from app.web import resources
    from tests.app.conftest import signed_in

    warning = early_warning_now(_store(tmp_path, 4), target=0.7)
    assert warning is not None and warning.weeks_live == 4 and warning.now == pytest.approx(0.4)
    monkeypatch.setattr(resources, "latest_forecast", lambda facility=None: None)
    monkeypatch.setattr(resources, "early_warning", lambda facility=None: warning)
    at = signed_in("viewer", "forecast")
    sentence = brief.early_sentence(warning, 0.7)
    assert sentence.startswith("After 4 weeks, 40% of technicians use the tool; by ")
    assert warning.why in sentence
    early = at.info[0].value
    assert early.startswith("**Early warning for all facilities** (4 weeks stored; the full forecast with "
                            "plans needs 6): After 4 weeks, 40% of technicians use the tool; by ")
    assert "80% band" in early and "chance of holding 70%" in early
    table = at.dataframe[0].value
    assert list(table.columns) == ["Week of", "Expected", "80% band"]
    assert table["Expected"].str.endswith("%").all() and table["Week of"].str.contains("2027").any()
    assert at.info[1].value.startswith("No forecast for all facilities yet.")


def test_the_forecast_and_tracker_pages_read_without_loading_the_model():
    """The web app's Forecast page shows what the refresh stored: reading it loads neither the
    simulator (numba, Mesa), the calibration's optimiser nor matplotlib (the PNG loads it when drawn),
    so the app server stays small (#14)."""
    probe = ("import sys; import app.services.snapshots, app.services.brief, app.services.tracker, "
             "app.services.charts, app.web.resources; "
             "print(sorted(m for m in ('numba', 'mesa', 'model.engine', 'scipy.optimize', 'matplotlib') "
             "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout == "[]\n"
