"""One vocabulary of interventions: the kinds the log accepts (db) are the kinds the model replays."""

import pytest

from app.services.recorded import KIND_SETTINGS, describe_replay, replayed_settings
from db.interventions import INTERVENTION_KINDS
from model.scenario import Scenario


def test_every_kind_the_log_accepts_has_lever_settings_and_no_other_kind_does():
    assert list(KIND_SETTINGS) == list(INTERVENTION_KINDS)


@pytest.mark.parametrize("kind", list(INTERVENTION_KINDS))
def test_each_kind_has_a_label_and_settings_the_model_accepts(kind):
    assert INTERVENTION_KINDS[kind].strip()
    Scenario().with_levers(**replayed_settings(kind, None))


def test_kinds_without_levers_change_nothing_in_the_model():
    assert [k for k, levers in KIND_SETTINGS.items() if not levers] == [
        "champions", "communication", "leadership", "other"]
    assert describe_replay("communication", None) == ""
    assert describe_replay("champions", None) == "1 champion per 12 technicians, in every facility"
