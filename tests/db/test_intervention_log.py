"""Editing the intervention log: updates, additions and deletions in one checked transaction."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from db.errors import IngestError
from db.ingest import ingest_file
from db.interventions import LogChanges, record_interventions, save_intervention_log
from db.queries import interventions
from tests.db.helpers import FACILITY_CSV, snapshot, write


@pytest.fixture
def logged(engine, tmp_path):
    """A store with two facilities and two log entries, one organisation-wide with lever settings."""
    ingest_file(write(tmp_path, "facility.csv", FACILITY_CSV), engine=engine)
    record_interventions(engine, pd.DataFrame([
        {"week_start": date(2025, 3, 3), "facility": "", "kind": "kpi_change", "description": "New KPI"},
        {"week_start": date(2025, 3, 10), "facility": "North Plant", "kind": "champions",
         "description": "Two champions"}]))
    from sqlalchemy import update

    from db.models import Intervention
    with engine.begin() as conn:
        conn.execute(update(Intervention).where(Intervention.kind == "kpi_change")
                     .values(settings={"kpi": "balanced"}))
    return engine


def _edited(engine) -> pd.DataFrame:
    columns = ["id", "week_start", "facility", "kind", "description"]
    return interventions(engine)[columns].fillna({"facility": ""})


def test_edits_additions_and_deletions_are_saved_together(logged):
    log = interventions(logged)
    ids = [int(i) for i in log["id"]]
    edited = _edited(logged)
    edited.loc[0, "description"] = "New KPI: prevented downtime"
    edited = edited.drop(index=1)
    edited.loc[2] = [None, date(2025, 3, 17), "South Works", "training_wave", "Hands-on, 20 a week"]
    done = save_intervention_log(logged, edited, shown_ids=ids)
    assert done == LogChanges(added=1, updated=1, deleted=1)
    after = interventions(logged)
    assert list(after["description"]) == ["New KPI: prevented downtime", "Hands-on, 20 a week"]
    assert list(after["facility"].fillna("")) == ["", "South Works"]
    assert after["settings"].iloc[0] == {"kpi": "balanced"}  # editing the text keeps the levers
    again = save_intervention_log(logged, _edited(logged), shown_ids=[int(i) for i in after["id"]])
    assert again == LogChanges(0, 0, 0)


def test_entries_added_meanwhile_by_someone_else_are_not_deleted(logged):
    shown = [int(i) for i in interventions(logged)["id"]]
    edited = _edited(logged)
    record_interventions(logged, pd.DataFrame([{"week_start": date(2025, 3, 24), "facility": "",
                                                "kind": "communication", "description": "Town hall"}]))
    assert save_intervention_log(logged, edited, shown_ids=shown) == LogChanges(0, 0, 0)
    assert "Town hall" in set(interventions(logged)["description"])


def test_a_bad_row_rejects_the_whole_edit_with_exact_messages(logged):
    before = snapshot(logged)
    ids = [int(i) for i in interventions(logged)["id"]]
    edited = _edited(logged)
    edited.loc[0, "description"] = "Changed, but must not be stored"
    edited.loc[1, ["kind", "facility"]] = ["magic", "Atlantis"]
    edited.loc[2] = [None, None, "", "other", "  "]
    with pytest.raises(IngestError) as caught:
        save_intervention_log(logged, edited, shown_ids=ids)
    assert [str(p) for p in caught.value.problems] == [
        "Row 2, column 'kind', value 'magic': unknown kind: use one of champions, cmms_integration, "
        "kpi_change, training_wave, communication, leadership, other",
        "Row 3, column 'week_start': a week is required (YYYY-MM-DD)",
        "Row 3, column 'description': a description is required",
        "Row 2, column 'facility', value 'Atlantis': unknown facility: choose one with stored metrics, "
        "or leave it empty for the whole organisation",
    ]
    assert str(caught.value).startswith("intervention log was rejected (4 problem(s)):")
    assert snapshot(logged) == before


def test_an_entry_deleted_meanwhile_cannot_be_edited(logged):
    ids = [int(i) for i in interventions(logged)["id"]]
    edited = _edited(logged)
    save_intervention_log(logged, edited.drop(index=0), shown_ids=ids)
    before = snapshot(logged)
    with pytest.raises(IngestError, match=f"Row 1, column 'id', value '{ids[0]}': this entry no longer "
                                          r"exists \(deleted meanwhile\): reload the page"):
        save_intervention_log(logged, edited, shown_ids=ids)
    assert snapshot(logged) == before
