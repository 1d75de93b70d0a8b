"""Scenarios saved from the simulator: stored as TOML text, overwritten by name, deleted."""

import pytest

from db.saved_scenarios import (
    ScenarioNotFound,
    delete_scenario,
    save_scenario,
    saved_scenarios,
    scenario_toml,
)

TOML = 'name = "plan"\nweeks = 52\n\n[levers]\nfriction_minutes = 0.5\n'


def test_a_saved_scenario_reads_back_exactly(engine):
    save_scenario(engine, name="CMMS first", toml=TOML, saved_by="erin")
    assert scenario_toml(engine, "CMMS first") == TOML
    listed = saved_scenarios(engine)
    assert list(listed["name"]) == ["CMMS first"] and list(listed["saved_by"]) == ["erin"]


def test_saving_under_the_same_name_overwrites(engine):
    save_scenario(engine, name="plan", toml=TOML, saved_by="erin")
    save_scenario(engine, name="plan", toml=TOML.replace("0.5", "2.0"), saved_by="admin")
    assert "friction_minutes = 2.0" in scenario_toml(engine, "plan")
    assert list(saved_scenarios(engine)["saved_by"]) == ["admin"]


def test_names_are_listed_in_order_and_deleted_one_by_one(engine):
    for name in ("b", "a", "c"):
        save_scenario(engine, name=name, toml=TOML, saved_by="erin")
    assert list(saved_scenarios(engine)["name"]) == ["a", "b", "c"]
    delete_scenario(engine, "b")
    assert list(saved_scenarios(engine)["name"]) == ["a", "c"]


def test_missing_scenarios_and_blank_names_are_refused(engine):
    with pytest.raises(ScenarioNotFound, match="no saved scenario is called 'ghost'"):
        scenario_toml(engine, "ghost")
    with pytest.raises(ScenarioNotFound, match="no saved scenario is called 'ghost'"):
        delete_scenario(engine, "ghost")
    with pytest.raises(ValueError, match="give a name"):
        save_scenario(engine, name="  ", toml=TOML, saved_by="erin")
    assert saved_scenarios(engine).empty
