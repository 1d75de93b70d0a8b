"""Named facilities of given sizes (organisation.facility_names, facility_sizes): a real organisation."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from model.ensemble import run_ensemble
from model.population import build_population, generate_population
from model.scenario import (
    Organisation,
    Scenario,
    ScenarioError,
    scenario_from_dict,
    scenario_from_toml,
    scenario_to_toml,
)

NAMED = Organisation(technicians=10, facilities=3, facility_names=("Cork", "Hull", "Oulu"),
                     facility_sizes=(2, 3, 5))


def test_without_names_or_sizes_the_population_is_as_before():
    even = generate_population(Organisation(), np.random.default_rng(7))
    explicit = generate_population(replace(Organisation(), facility_sizes=(19,) * 10 + (18,) * 5),
                                   np.random.default_rng(7))
    assert even.facility_names == tuple(f"Facility {i:02d}" for i in range(1, 16))
    assert even.facility_sizes.tolist() == [19] * 10 + [18] * 5
    assert (even.facility == explicit.facility).all() and (even.team == explicit.team).all()
    assert (even.adjacency != explicit.adjacency).nnz == 0


def test_facilities_take_their_names_and_sizes():
    pop = generate_population(NAMED, np.random.default_rng(0))
    assert pop.facility_names == ("Cork", "Hull", "Oulu")
    assert pop.facility_sizes.tolist() == [2, 3, 5]
    assert pop.facility.tolist() == [0, 0, 1, 1, 1, 2, 2, 2, 2, 2]


def test_an_ensemble_reports_each_facility_by_its_name():
    result = run_ensemble(Scenario(weeks=4, organisation=NAMED), runs=3, weeks=4)
    assert result.facility_names == ("Cork", "Hull", "Oulu")
    assert len(result.summary("active_share", "Hull")) == 4


def test_names_and_sizes_round_trip_through_toml():
    scenario = Scenario(name="ours", organisation=NAMED)
    text = scenario_to_toml(scenario)
    assert 'facility_names = [\n    "Cork",' in text
    assert scenario_from_toml(text).organisation == NAMED
    assert "facility_names" not in scenario_to_toml(Scenario()), "the defaults are left out"


@pytest.mark.parametrize(("organisation", "message"), [
    ({"facilities": 2, "technicians": 5, "facility_names": ["Cork"]},
     "organisation.facility_names = ['Cork']: 1 entry for organisation.facilities = 2; "
     "give one per facility"),
    ({"facilities": 2, "technicians": 5, "facility_sizes": [5]},
     "organisation.facility_sizes = [5]: 1 entry for organisation.facilities = 2; give one per facility"),
    ({"facilities": 2, "technicians": 5, "facility_names": ["Cork", "Cork"]},
     "organisation.facility_names = ['Cork', 'Cork']: 'Cork' appears more than once; names must be unique"),
    ({"facilities": 2, "technicians": 5, "facility_names": ["Cork", " "]},
     "organisation.facility_names = ['Cork', ' ']: ' ' is not a name; each must be non-empty text"),
    ({"facilities": 2, "technicians": 5, "facility_sizes": [5, 0]},
     "organisation.facility_sizes = [5, 0]: 0 is not a size; each must be a whole number of at least 1"),
    ({"facilities": 2, "technicians": 5, "facility_sizes": [2, 2.5]},
     "organisation.facility_sizes = [2, 2.5]: 2.5 is not a size; each must be a whole number of at least 1"),
    ({"facilities": 2, "technicians": 5, "facility_sizes": [2, 2]},
     "organisation.facility_sizes = [2, 2]: they add up to 4, but organisation.technicians = 5; "
     "they must be equal"),
    ({"facilities": 2, "technicians": 5, "facility_names": "Cork"},
     "organisation.facility_names = 'Cork': must be a list, one entry per facility"),
    ({"network": "ties.csv", "facility_names": ["Cork"], "facilities": 1},
     "organisation.facility_names: only for a generated network; with an edge list "
     "(organisation.network = 'ties.csv') the file's facilities rule"),
])
def test_bad_names_or_sizes_are_refused_naming_the_key_and_value(organisation, message):
    with pytest.raises(ScenarioError) as error:
        scenario_from_dict({"organisation": organisation})
    assert str(error.value) == message


def test_a_scenario_built_in_code_is_checked_too(tmp_path):
    with pytest.raises(ScenarioError, match=r"they add up to 9, but organisation.technicians = 10"):
        generate_population(replace(NAMED, facility_sizes=(2, 2, 5)), np.random.default_rng(0))
    edges = tmp_path / "ties.csv"
    edges.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"only for a generated network; with an edge list"):
        build_population(replace(NAMED, network=str(edges)), np.random.default_rng(0))
