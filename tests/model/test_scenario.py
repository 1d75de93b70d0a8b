import os

import pytest

import seed_data
from model.scenario import ScenarioError, load_scenario, scenario_from_dict

SCENARIOS = seed_data.path("scenarios")


@pytest.mark.parametrize("name", ["pilot", "rollout", "turnaround", "waves"])
def test_presets_load(name):
    spec = load_scenario(SCENARIOS / f"{name}.toml")
    assert spec.name == name


def test_turnaround_calendar_is_data():
    spec = load_scenario(SCENARIOS / "turnaround.toml")
    weeks = [iv.week for iv in spec.interventions]
    assert weeks == sorted(weeks) and min(weeks) == 26
    assert any(iv.champions and iv.champions.strategy == "pilot" for iv in spec.interventions)
    assert any(iv.levers.get("friction_minutes") == 0.5 for iv in spec.interventions)


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ({"speed": 1}, "speed: unknown key (allowed: behaviour, champions, description, "
                       "interventions, levers, name, onboarding, organisation, waves, weeks)"),
        ({"levers": {"friction_minutes": 90}},
         "levers.friction_minutes = 90: out of range, must be a number from 0.0 to 60.0"),
        ({"levers": {"friction_minutes": "ten"}},
         "levers.friction_minutes = 'ten': must be a number from 0.0 to 60.0"),
        ({"levers": {"kpi": "speed"}},
         "levers.kpi = 'speed': must be one of tickets_closed, balanced, downtime_prevented"),
        ({"levers": {"alerts_per_week": 2.5}},
         "levers.alerts_per_week = 2.5: must be a whole number from 0 to 20"),
        ({"organisation": {"technicians": 0}},
         "organisation.technicians = 0: out of range, must be a number from 1 to 1000000"),
        ({"organisation": {"colour": "red"}}, "organisation.colour: unknown key"),
        ({"behaviour": {"w_trust": -1}},
         "behaviour.w_trust = -1: out of range, must be a number from 0.0 to 10.0"),
        ({"interventions": [{"week": 5, "magic": 1}]}, "interventions[1].magic: unknown lever"),
        ({"interventions": [{"friction_minutes": 1}]},
         "interventions[1].week: missing; say from which week the change applies"),
        ({"interventions": [{"week": 5}]},
         "interventions[1]: changes nothing; give at least one lever or champions"),
        ({"interventions": [{"week": 5, "champions": {"count": 3, "strategy": "loudest"}}]},
         "interventions[1].champions.strategy = 'loudest': must be one of pilot, degree, trust, "
         "facility, random"),
        ({"organisation": {"facilities": 3}, "waves": [{"facilities": [1, 2]}]},
         "waves: facilities [3] are in no wave; every facility needs one"),
        ({"organisation": {"facilities": 3},
          "waves": [{"facilities": [1, 2, 3]}, {"facilities": [2]}]},
         "waves[2].facilities = 2: facility already in an earlier wave"),
        ({"organisation": {"facilities": 2},
          "waves": [{"facilities": [1], "gate": {"min_active_share": 0.5}}, {"facilities": [2]}]},
         "waves[1].gate: the first wave cannot wait for a gate (nothing is live yet)"),
        ({"organisation": {"facilities": 2},
          "waves": [{"facilities": [1], "week": 5}, {"facilities": [2], "week": 3}]},
         "waves[2].week = 3: waves must be listed in week order (the previous wave starts at week 5)"),
        ({"weeks": 10, "interventions": [{"week": 11, "kpi": "balanced"}]},
         "interventions[1].week = 11: out of range, must be a number from 1 to 10"),
    ],
)
def test_bad_scenarios_name_key_value_and_range(doc, message):
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(doc)
    assert str(info.value).startswith(message)


def test_load_names_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[levers]\nsupport = 2\n")
    with pytest.raises(ScenarioError, match=r"bad.toml: levers.support = 2: out of range"):
        load_scenario(path)
    path.write_text("[levers\n")
    with pytest.raises(ScenarioError, match=r"bad.toml: not valid TOML"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match=r"nope.toml: no such scenario file"):
        load_scenario(tmp_path / "nope.toml")


def test_relative_edge_list_resolves_against_the_scenario(tmp_path):
    (tmp_path / "net.csv").write_text("a,b\n1,2\n")
    (tmp_path / "s.toml").write_text('[organisation]\nnetwork = "net.csv"\n')
    spec = load_scenario(tmp_path / "s.toml")
    assert spec.organisation.network == str(tmp_path / "net.csv")


@pytest.mark.parametrize("name", ["pilot", "rollout", "turnaround", "waves"])
def test_scenarios_round_trip_through_toml(name):
    from model.scenario import scenario_from_toml, scenario_to_toml

    spec = load_scenario(SCENARIOS / f"{name}.toml")
    assert scenario_from_toml(scenario_to_toml(spec), name=name) == spec


def test_an_edge_list_may_come_from_the_scenarios_folder_the_shipped_data_or_an_allowed_one(tmp_path):
    from model.scenario import check_network, network_folders

    edges = seed_data.path("reference", "ckm_medical_innovation_edges.csv")
    shipped = scenario_from_dict({"organisation": {"network": str(edges)}})
    assert check_network(shipped).organisation.network == str(edges.resolve())
    elsewhere = scenario_from_dict({"organisation": {"network": str(tmp_path / "net.csv")}})
    with pytest.raises(ScenarioError, match=r"outside the folders an edge list may come from"):
        check_network(elsewhere)
    assert check_network(elsewhere, folder=tmp_path) == check_network(elsewhere, network_dirs=[tmp_path])
    up = scenario_from_dict({"organisation": {"network": f"{os.pardir}/net.csv"}})  # a hostile path
    with pytest.raises(ScenarioError, match=r"'../net.csv' \(that is .*net.csv\): outside"):
        check_network(up, folder=tmp_path / "scenarios")
    assert network_folders(tmp_path, [tmp_path]) == [tmp_path.resolve(), seed_data.path().resolve()]
    assert check_network(scenario_from_dict({})) == scenario_from_dict({})


@pytest.mark.parametrize(("content", "message"), [
    (b"", "an edge list needs rows and two columns (from, to)"),
    (b"from,to\n", "an edge list needs rows and two columns (from, to)"),
    (b"from;to\na;b\n", "an edge list needs rows and two columns (from, to)"),
    (b"from,to\na,b\nc,\n", "not an edge list (line 3: a tie needs both ends, from and to)"),
    (b"from,to\na,b\na,b,c,d\n", "not an edge list (line 3 has 4 fields, the lines before it 2)"),
    (b"from,to\nZ\xfcrich,b\n", "not an edge list (not UTF-8 text: byte 0xfc)"),
])
def test_a_file_that_is_not_an_edge_list_names_the_file_and_what_is_wrong(tmp_path, content, message):
    from model.population import load_population
    from model.scenario import Organisation

    path = tmp_path / "net.csv"
    path.write_bytes(content)
    with pytest.raises(ScenarioError) as info:
        load_population(path, Organisation())
    assert str(info.value) == f"{path}: {message}"
    with pytest.raises(ScenarioError, match=r"cannot be read \(Is a directory\)"):
        load_population(tmp_path, Organisation())


def test_deep_or_undecodable_toml_is_a_scenario_error(tmp_path):
    from model.scenario import parse_toml, scenario_from_toml

    deep = "a = " + "[" * 50_000 + "]" * 50_000
    for parse in (parse_toml, scenario_from_toml):
        with pytest.raises(ScenarioError, match=r"^not valid TOML \(nested too deeply\)$"):
            parse(deep)
    path = tmp_path / "s.toml"
    path.write_bytes(b"name = 'ok'\n\xff\n")
    with pytest.raises(ScenarioError, match=r"s.toml: is not UTF-8 text \(byte 0xff at position 12\)$"):
        load_scenario(path)
