"""`chasm simulate SCENARIO --posterior [FACILITY|all|seed]`: what-ifs over what we do not know."""

import json

from typer.testing import CliRunner

from app.cli import _register_commands, app, with_optional_values
from app.services.whatif import SEED_WORDS
from tests.app.helpers import store_seed_calibration

_register_commands()
runner = CliRunner()


def test_the_value_of_posterior_may_be_left_out():
    assert with_optional_values(["simulate", "turnaround", "--posterior"]) == [
        "simulate", "turnaround", "--posterior", "auto"]
    assert with_optional_values(["simulate", "turnaround", "--posterior", "--json"]) == [
        "simulate", "turnaround", "--posterior", "auto", "--json"]
    given = ["simulate", "x", "--posterior", "Hull"]
    assert with_optional_values(given) == given


def test_seed_case_posterior_as_json():
    out = runner.invoke(app, ["simulate", "turnaround", "--runs", "30", "--posterior", "seed", "--json"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["runs"] == 30 and len(doc["overall"]["active_share"]["mean"]) == 78  # the usual document
    post = doc["posterior"]
    assert post["source"] == SEED_WORDS and post["worlds"] == 30 and post["week"] == 78
    assert [e["lever"] for e in post["lever_effects"]] == [
        "Pilot technicians become AI champions",
        "Show how the AI works; position it as technician augmentation",
        "Role-based hands-on training, 20 technicians a week",
        "KPIs reward downtime prevented, not tickets closed", "AI embedded in the existing CMMS"]
    assert set(post["lever_effects"][0]) == {"lever", "week", "mean", "p05", "p50", "p95", "helps_share"}
    assert len(post["comparisons"]) == 10
    assert all(0.5 <= c["probability_a_beats_b"] <= 1 for c in post["comparisons"])


def test_in_words(tmp_path, monkeypatch):
    monkeypatch.setenv("CHASM_DATA_DIR", str(tmp_path))  # no store there: the seed case's posterior
    out = runner.invoke(app, with_optional_values(["simulate", "turnaround", "--runs", "20", "--posterior"]))
    assert out.exit_code == 0, out.output
    assert f"Over 20 plausible worlds from {SEED_WORDS}:" in out.stdout
    assert "  Effect of each intervention on week 78 (with it minus without it; 90% of worlds):" in out.stdout
    assert " pts (" in out.stdout and " of plausible worlds" in out.stdout
    assert "_" not in out.stdout.split("Over 20")[1]  # no internal names
    assert not (tmp_path / "chasm.db").exists(), "looking for a store does not create one"
    plain = runner.invoke(app, ["simulate", "rollout", "--runs", "10", "--posterior", "seed"])
    assert "no interventions on the calendar by then, so no effects to compare" in plain.stdout




def test_refusals_name_what_is_missing(demo_store):
    def error(*args):
        out = runner.invoke(app, ["simulate", "turnaround", "--runs", "5", *args])
        assert out.exit_code == 1 and out.stdout == ""
        return out.stderr.strip()

    assert error("--posterior", "all") == (
        "error: --posterior all: no calibration is stored for the whole organisation; run `chasm calibrate` "
        "first, or use --posterior seed for the seed case's")
    assert error("--posterior", "Aberdeen Works") == (
        "error: --posterior 'Aberdeen Works': no calibration is stored for facility Aberdeen Works; run "
        "`chasm calibrate --facility 'Aberdeen Works'` first")
    nowhere = error("--posterior", "Nowhere")
    assert nowhere.startswith("error: --posterior Nowhere: no stored facility has that name (the store has "
                              "Aberdeen Works, Bilbao Plant, ")
    assert nowhere.endswith("; or give all, or seed")


def test_over_the_stored_calibration(demo_store):
    store_seed_calibration(demo_store, observed_weeks=20)  # a stored posterior, read back from the store
    for args in (["--posterior", "all"], ["--posterior"]):
        args = with_optional_values(["simulate", "turnaround", "--runs", "10", *args, "--json"])
        out = runner.invoke(app, args)
        assert out.exit_code == 0, out.output
        assert json.loads(out.stdout)["posterior"]["source"] == (
            "the stored organisation's calibration (all facilities, 20 weeks of data)")
