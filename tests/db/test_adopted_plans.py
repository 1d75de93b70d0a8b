"""Adopted plans: stored as text, names unique unless replaced, retired by name (SQLite and PostgreSQL)."""

import pytest

from db.plans import PlanNameTaken, PlanNotFound, adopt, adopted, retire

TOML = 'name = "Champions now"\n\n[[interventions]]\nweek = 80\nchampions = { count = 12 }\n'


def test_an_adopted_plan_reads_back_exactly(engine):
    adopt(engine, name="Champions now", description="12 champions", toml=TOML, source="simulator",
          adopted_by="erin")
    [row] = adopted(engine)
    assert (row.name, row.description, row.toml, row.source, row.adopted_by) == (
        "Champions now", "12 champions", TOML, "simulator", "erin")
    assert row.adopted_at.tzinfo is not None


def test_a_taken_name_is_refused_unless_replaced_and_nothing_changes(engine):
    adopt(engine, name="A", description="first", toml=TOML, source="file", adopted_by="erin")
    with pytest.raises(PlanNameTaken, match="a plan called 'A' is already adopted; choose another name "
                                            "or replace it"):
        adopt(engine, name="A", description="second", toml=TOML, source="file", adopted_by="admin")
    assert [r.description for r in adopted(engine)] == ["first"]
    adopt(engine, name="A", description="second", toml=TOML, source="optimiser", adopted_by="admin",
          replace=True)
    assert [(r.description, r.source) for r in adopted(engine)] == [("second", "optimiser")]


def test_oldest_first_and_retired_by_name(engine):
    for name in ("b", "a", "c"):
        adopt(engine, name=name, description="", toml=TOML, source="file", adopted_by="erin")
    assert [r.name for r in adopted(engine)] == ["b", "a", "c"]
    retire(engine, "a")
    assert [r.name for r in adopted(engine)] == ["b", "c"]
    with pytest.raises(PlanNotFound, match="no adopted plan is called 'a'"):
        retire(engine, "a")


def test_blank_names_and_unknown_sources_are_refused(engine):
    with pytest.raises(ValueError, match="plan name: give the plan a name"):
        adopt(engine, name="  ", description="", toml=TOML, source="file", adopted_by="erin")
    with pytest.raises(ValueError, match="plan source 'web': one of simulator, optimiser, file"):
        adopt(engine, name="x", description="", toml=TOML, source="web", adopted_by="erin")
    assert adopted(engine) == []
