"""Adopting plans: `chasm plan adopt|list|retire`, `chasm optimise --adopt`, the forecast weighing them."""

import json

from typer.testing import CliRunner

import seed_data
from app.cli import _register_commands, app
from tests.app.helpers import store_seed_calibration

_register_commands()
runner = CliRunner()


def weeks_recorded(engine) -> int:
    from app.services.recorded import observed_series

    return len(observed_series(engine))


def champions_scenario(engine, path, week):
    """Today's organisation with 12 champions from `week`: what the simulator saves."""
    from dataclasses import replace

    from app.services.recorded import recorded_scenario
    from model.scenario import Champions, Intervention, scenario_to_toml

    base = recorded_scenario(engine)
    champions = Intervention(week=week, champions=Champions(count=12), label="Twelve champions")
    scenario = replace(base, name="Champions in two weeks", weeks=week + 20,
                       interventions=(*base.interventions, champions))
    path.write_text(scenario_to_toml(scenario))
    return path


def test_adopt_a_scenario_list_it_and_the_forecast_weighs_it(demo_store, tmp_path):
    from app.services import forecasts
    from app.services.settings import get_settings

    weeks = weeks_recorded(demo_store)
    settings = get_settings()
    before = forecasts._inputs_version(demo_store, settings.store.resolved_plans_dir, settings)
    file = champions_scenario(demo_store, tmp_path / "champions.toml", weeks + 2)
    out = runner.invoke(app, ["plan", "adopt", str(file), "--description", "Twelve champions in two weeks",
                              "--by", "erin"])
    assert out.exit_code == 0, out.output
    assert out.stdout.strip() == (f"Adopted 'Champions in two weeks': 1 intervention from week {weeks + 2}. "
                                  "The next forecast weighs it against the current plan.")
    [row] = json.loads(runner.invoke(app, ["plan", "list", "--json"]).stdout)
    assert (row["name"], row["description"], row["source"], row["adopted_by"]) == (
        "Champions in two weeks", "Twelve champions in two weeks", "file", "erin")
    assert "interventions" in row["plan_toml"] and "organisation" not in row["plan_toml"]
    plans, skipped = forecasts.alternative_plans(demo_store)
    assert plans[0].name == "Champions in two weeks"
    assert plans[0].description == "Twelve champions in two weeks"
    assert [iv.week for iv in plans[0].interventions] == [weeks + 2]
    assert forecasts._inputs_version(demo_store, settings.store.resolved_plans_dir, settings) != before
    listed = runner.invoke(app, ["plan", "list"]).stdout
    assert listed.startswith("Champions in two weeks: Twelve champions in two weeks (from the file, "
                             "adopted by erin on ")

    taken = runner.invoke(app, ["plan", "adopt", str(file)])
    assert taken.exit_code == 1
    assert taken.stderr.strip() == ("error: a plan called 'Champions in two weeks' is already adopted; "
                                    "choose another name or replace it")
    assert runner.invoke(app, ["plan", "adopt", str(file), "--replace"]).exit_code == 0
    assert runner.invoke(app, ["plan", "retire", "Champions in two weeks"]).stdout.strip() == (
        "Retired 'Champions in two weeks': the next forecast no longer weighs it.")
    gone = runner.invoke(app, ["plan", "retire", "Champions in two weeks"])
    assert gone.exit_code == 1
    assert gone.stderr.strip() == "error: no adopted plan is called 'Champions in two weeks'"


def test_refusals_name_the_file_and_what_is_wrong(demo_store, tmp_path):
    weeks = weeks_recorded(demo_store)
    past = tmp_path / "late.toml"
    past.write_text('name = "Too late"\n\n[[interventions]]\nweek = 3\nfriction_minutes = 0.5\n')
    out = runner.invoke(app, ["plan", "adopt", str(past)])
    assert out.exit_code == 1 and out.stdout == ""
    assert out.stderr.strip() == (f"error: {past}: plan 'Too late': interventions[1].week = 3 is in the past "
                                  f"(the data runs to week {weeks}); plan from week {weeks + 1}")
    nothing = runner.invoke(app, ["plan", "adopt", str(seed_data.path("scenarios", "rollout.toml"))])
    assert nothing.exit_code == 1
    assert nothing.stderr.strip() == (f"error: rollout: no intervention after week {weeks} (the data runs "
                                      f"to week {weeks}), so there is no plan to adopt; add one from week "
                                      f"{weeks + 1}")
    broken = tmp_path / "broken.toml"
    broken.write_text("[[interventions]\n")
    bad = runner.invoke(app, ["plan", "adopt", str(broken)])
    assert bad.exit_code == 1 and bad.stderr.startswith(f"error: {broken}: ")
    assert json.loads(runner.invoke(app, ["plan", "list", "--json"]).stdout) == []  # nothing stored


def test_optimise_from_the_store_adopts_its_recommendation(demo_store):
    weeks = store_seed_calibration(demo_store)
    refused = runner.invoke(app, ["optimise", "--scenario", "rollout", "--budget", "1", "--target", "0.5",
                                  "--by", "52", "--adopt", "x"])
    assert refused.exit_code == 2 and "--adopt needs --from-store" in refused.output
    out = runner.invoke(app, ["optimise", "--from-store", "--budget", "30000", "--target", "0.6",
                              "--by", str(weeks + 30), "--trials", "12", "--runs", "8", "--json",
                              "--adopt", "Optimised"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    [row] = json.loads(runner.invoke(app, ["plan", "list", "--json"]).stdout)
    assert row["name"] == "Optimised" and row["source"] == "optimiser"
    assert row["description"].startswith(
        f"Recommended by the optimiser: {doc['plan']['probability_of_target']:.0%} chance of 60% by week ")
    assert row["description"].endswith(f"for €{doc['plan']['cost']:,.0f}")
    assert "Adopted 'Optimised'" in out.stderr
