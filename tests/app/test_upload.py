"""The upload flow: check first (nothing written), then commit; broken files show every problem."""

from datetime import date

import seed_data
from db.queries import uploads, weekly_metrics
from tests.app.conftest import click, signed_in, texts

EXAMPLES = seed_data.path("demo", "examples")


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
    assert error.startswith("**upload\\_with\\_mistakes.csv cannot be stored:")  # the name as text
    assert "Nothing was written" in error
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
    assert stored.startswith("**Stored upload\\_clean.csv**")
    history = at.dataframe[0].value
    assert history.iloc[0]["file_name"] == "upload_clean.csv" and history.iloc[0]["uploaded_by"] == "erin"
    assert len(uploads(engine)) == uploads_before + 1
    tracker_after = signed_in("editor").dataframe[0].value.set_index("Facility")
    assert not tracker_after["Active share"].equals(tracker_before["Active share"])


def test_the_upload_page_lists_history_and_the_intervention_log():
    at = signed_in("admin", "upload")
    history, log = at.dataframe[0].value, at.dataframe[1].value
    assert "technician_weeks.csv" in set(history["file_name"])
    assert {"week_start", "facility", "kind", "description", "levers"} <= set(log.columns)
    assert not log["facility"].isna().any() and (log["facility"] == "(all facilities)").sum() == 9
    assert (log["levers"] != "").any() and not log["levers"].str.contains("None").any()
    [save] = [b for b in at.button if b.label == "Save the log"]
    assert save.disabled  # nothing edited yet


def test_the_edited_log_round_trips_to_the_store(engine):
    import pandas as pd

    from app.web.components.intervention_form import ALL, editor_frame, log_changes
    from db.interventions import LogChanges, save_intervention_log
    from db.queries import interventions

    log = interventions(engine)
    shown = editor_frame(log)
    edited = shown.copy()
    edited.loc[0, "description"] = "Pilot technicians named as champions"
    edited = pd.concat([edited.drop(index=len(edited) - 1), pd.DataFrame([
        {"id": pd.NA, "week_start": date(2026, 11, 23), "facility": ALL, "kind": "communication",
         "description": " Town hall on the AI assistant "},
        {"id": pd.NA, "week_start": None, "facility": None, "kind": None, "description": None}])],
        ignore_index=True)  # the editor's spare row stays empty
    frame = log_changes(edited)
    assert list(frame.columns) == ["id", "week_start", "facility", "kind", "description"]
    assert frame["facility"].iloc[-1] == "" and len(frame) == len(log)
    done = save_intervention_log(engine, frame, shown_ids=[int(i) for i in log["id"]])
    assert done == LogChanges(added=1, updated=1, deleted=1)
    after = interventions(engine)
    assert after["description"].iloc[0] == "Pilot technicians named as champions"
    assert "Town hall on the AI assistant" in set(after["description"])


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
