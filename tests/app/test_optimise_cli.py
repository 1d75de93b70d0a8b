"""`chasm optimise` from a scenario and from the store's calibration."""

import json

from typer.testing import CliRunner

from app.cli import _register_commands, app
from app.services import calibration
from model.scenario import scenario_from_toml

_register_commands()
runner = CliRunner()


def test_from_a_scenario_as_json():
    out = runner.invoke(app, ["optimise", "--scenario", "rollout", "--from-week", "26", "--budget", "30000",
                              "--target", "0.5", "--by", "52", "--trials", "20", "--runs", "10", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["plan"]["cost"] <= 30_000
    assert doc["request"] == {"budget": 30000.0, "target": 0.5, "by": 52, "from_week": 26, "trials": 30,
                              "runs": 10, "seed": 0}
    scenario_from_toml(doc["plan_toml"])  # a scenario `chasm simulate` runs as is


def test_from_a_scenario_in_words():
    out = runner.invoke(app, ["optimise", "--scenario", "rollout", "--from-week", "26", "--budget", "30000",
                              "--target", "0.5", "--by", "52", "--trials", "20", "--runs", "10"])
    assert out.exit_code == 0, out.output
    assert out.stdout.startswith("Recommended plan: ")
    assert "chance of 50% by week 52 for" in out.stdout
    assert "plans tried; best so far" in out.stderr


def test_from_the_store_uses_its_calibration_and_history(tmp_path, monkeypatch):
    """On a store of its own: the shared one must stay uncalibrated for the pages' tests."""
    from db.demo import prepare_first_start
    from db.engine import get_engine

    monkeypatch.setenv("CHASM_DATABASE_URL", f"sqlite:///{tmp_path / 'own.db'}")
    engine = get_engine()
    prepare_first_start(engine)
    refused = runner.invoke(app, ["optimise", "--from-store", "--budget", "30000", "--target", "0.6",
                                  "--by", "90"])
    assert refused.exit_code == 1
    assert refused.stderr.strip() == ("error: no calibration is stored for the whole organisation: run "
                                      "`chasm calibrate` first")
    calibration.calibrate_store(engine, quick=True)
    out = runner.invoke(app, ["optimise", "--from-store", "--budget", "30000", "--target", "0.6",
                              "--by", "90", "--trials", "12", "--runs", "8", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["request"]["from_week"] > 1  # decisions start after the recorded weeks
    assert all(i["week"] >= doc["request"]["from_week"] for i in doc["plan"]["interventions"])
    engine.dispose()


def test_refusals():
    neither = runner.invoke(app, ["optimise", "--budget", "1", "--target", "0.5", "--by", "52"])
    assert neither.exit_code == 2 and "give --scenario NAME|PATH or --from-store" in neither.output
    early = runner.invoke(app, ["optimise", "--scenario", "rollout", "--from-week", "26", "--budget", "1",
                                "--target", "0.5", "--by", "20"])
    assert early.exit_code == 1
    assert early.stderr.strip() == ("error: the deadline (week 20) must be after the first decision week "
                                    "(26)")
    date = runner.invoke(app, ["optimise", "--scenario", "rollout", "--budget", "1", "--target", "0.5",
                               "--by", "2027-01-01"])
    assert date.exit_code == 1
    assert "--by '2027-01-01': give the deadline as a week number of the scenario" in date.stderr


def test_the_menu_is_copied_to_the_data_folder_once_and_then_read_from_there(tmp_path, monkeypatch):
    from app.services.optimiser import DEFAULT_MENU, ensure_menu, menu, menu_file

    monkeypatch.setenv("CHASM_DATA_DIR", str(tmp_path))
    assert menu_file() == tmp_path / "menu.toml"
    assert ensure_menu() is True
    assert menu_file().read_bytes() == DEFAULT_MENU.read_bytes()
    edited = DEFAULT_MENU.read_text().replace('label = "Pilot technicians become AI champions"',
                                              'label = "Our own champions"', 1)
    assert edited != DEFAULT_MENU.read_text()
    menu_file().write_text(edited)
    assert ensure_menu() is False, "an edited menu is never overwritten"
    assert "Our own champions" in [item.label for item in menu()]
