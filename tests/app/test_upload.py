"""The upload flow: check first (nothing written), then commit; broken files show every problem."""

from datetime import date
from pathlib import Path

from db.queries import uploads, weekly_metrics
from tests.app.conftest import click, signed_in, texts

EXAMPLES = Path(__file__).resolve().parents[2] / "seed_data" / "demo" / "examples"


def _upload(at, name: str):
    content = (EXAMPLES / name).read_bytes()
    at.file_uploader[0].set_value((name, content, "text/csv")).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _store_state(engine):
    return len(uploads(engine)), weekly_metrics(engine).to_csv()


def test_a_broken_file_shows_every_problem_and_writes_nothing(engine):
    before = _store_state(engine)
    at = _upload(signed_in("editor", "upload"), "upload_with_mistakes.csv")
    [error] = texts(at.error)
    assert error.startswith("**upload_with_mistakes.csv cannot be stored:") and "Nothing was written" in error
    problems = at.dataframe[0].value
    assert list(problems.columns) == ["row", "column", "value", "message"]
    assert len(problems) >= 4
    assert {"Active users", "Work orders"} <= set(problems["column"])
    assert [b.label for b in at.get("download_button")] == ["Download the problems as CSV"]
    assert not [b for b in at.button if b.label == "Commit upload"]
    assert _store_state(engine) == before


def test_a_clean_file_is_checked_then_committed_and_the_tracker_changes(engine):
    tracker_before = signed_in("editor").dataframe[0].value.set_index("Facility")
    uploads_before = len(uploads(engine))
    at = _upload(signed_in("editor", "upload"), "upload_clean.csv")
    [checked] = texts(at.success)
    assert "is valid" in checked and "Nothing is stored yet" in checked
    assert len(uploads(engine)) == uploads_before  # the check wrote nothing, not even the audit log
    click(at, "Commit upload")
    [stored] = texts(at.success)
    assert stored.startswith("**Stored upload_clean.csv**")
    history = at.dataframe[0].value
    assert history.iloc[0]["file_name"] == "upload_clean.csv" and history.iloc[0]["uploaded_by"] == "erin"
    assert len(uploads(engine)) == uploads_before + 1
    tracker_after = signed_in("editor").dataframe[0].value.set_index("Facility")
    assert not tracker_after["Active share"].equals(tracker_before["Active share"])


def test_the_upload_page_lists_history_and_the_intervention_log():
    at = signed_in("admin", "upload")
    history, log = at.dataframe[0].value, at.dataframe[1].value
    assert "technician_weeks.csv" in set(history["file_name"])
    assert {"week_start", "facility", "kind", "description"} <= set(log.columns)
    assert [b.label for b in at.button if b.label.startswith("Add to")] == ["Add to the intervention log"]


def test_new_intervention_log_entries_are_checked_then_recorded_once(engine):
    import pandas as pd
    import pytest

    from app.views._intervention_form import ALL, log_entries
    from db.interventions import record_interventions
    from db.queries import interventions

    rows = pd.DataFrame([
        {"week_start": pd.Timestamp("2026-11-23"), "facility": ALL, "kind": "communication",
         "description": " Town hall on the AI assistant "},
        {"week_start": pd.Timestamp("2026-11-23"), "facility": "Hull Works", "kind": "champions",
         "description": "Two more champions"},
    ])
    frame = log_entries(rows)
    assert list(frame["facility"]) == ["", "Hull Works"]
    assert [type(d) for d in frame["week_start"]] == [date, date]
    assert frame["description"][0] == "Town hall on the AI assistant"
    before = len(interventions(engine))
    assert record_interventions(engine, frame) == 2
    assert record_interventions(engine, frame) == 0
    assert len(interventions(engine)) == before + 2
    with pytest.raises(ValueError, match="^1 row\\(s\\) miss a week, a kind or a description"):
        log_entries(rows.assign(description=["ok", "  "]))


def test_an_xlsx_file_is_checked_like_a_csv(tmp_path):
    import pandas as pd

    frame = pd.read_csv(EXAMPLES / "upload_clean.csv", sep=";")
    path = tmp_path / "week.xlsx"
    frame.to_excel(path, index=False)
    at = signed_in("editor", "upload")
    at.file_uploader[0].set_value(("week.xlsx", path.read_bytes(),
                                   "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")).run()
    assert not at.exception and not at.error
    assert "**week.xlsx** (facility-week) is valid" in at.success[0].value
