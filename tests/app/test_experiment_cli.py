"""`chasm experiment DESIGN.toml [--json | --csv FILE] [--seed S]` on real files."""

import csv
import hashlib
import json

import pytest
from typer.testing import CliRunner

import seed_data
from app.cli import _register_commands, app
from app.services.experiments import run_design

_register_commands()
runner = CliRunner()

SCENARIO = """
name = "small"
weeks = 26
[organisation]
technicians = 60
facilities = 3
[levers]
friction_minutes = 7.5
"""


def _files(tmp_path, design: str):
    (tmp_path / "small.toml").write_text(SCENARIO, encoding="utf-8")
    path = tmp_path / "design.toml"
    path.write_text(design, encoding="utf-8")
    return path


MORRIS = """
scenario = "small.toml"
method = "morris"
samples = 4
runs = 3
output = "active_share@week20"
[factors]
"levers.friction_minutes" = [0.5, 20.0]
"organisation.distrust_share" = [0.2, 0.9]
"""


def test_json_document_with_manifest(tmp_path):
    path = _files(tmp_path, MORRIS)
    out = runner.invoke(app, ["experiment", str(path), "--json", "--seed", "5"])
    assert out.exit_code == 0, out.output
    doc = json.loads(out.stdout)
    assert doc["design"]["method"] == "morris" and doc["design"]["seed"] == 5
    assert len(doc["points"]) == 4 * 3
    assert {row["factor"] for row in doc["sensitivity"]} == {"levers.friction_minutes",
                                                              "organisation.distrust_share"}
    manifest = doc["manifest"]
    assert manifest["seed"] == 5 and manifest["chasm_version"]
    assert manifest["scenario_sha256"] == hashlib.sha256((tmp_path / "small.toml").read_bytes()).hexdigest()
    again = json.loads(runner.invoke(app, ["experiment", str(path), "--json", "--seed", "5"]).stdout)
    assert again["points"] == doc["points"]  # same seed, same result


def test_csv_has_one_row_per_point_and_replicate(tmp_path):
    path = _files(tmp_path, MORRIS)
    target = tmp_path / "out.csv"
    out = runner.invoke(app, ["experiment", str(path), "--csv", str(target)])
    assert out.exit_code == 0, out.output
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert len(rows) == 12 * 3
    assert list(rows[0]) == ["point", "replicate", "levers.friction_minutes", "organisation.distrust_share",
                             "active_share@week20"]


def test_text_report_names_the_levers_in_words(tmp_path):
    path = _files(tmp_path, MORRIS)
    out = runner.invoke(app, ["experiment", str(path)])
    assert out.exit_code == 0, out.output
    assert "12 points x 3 runs of small.toml, morris design, output active_share@week20." in out.stdout
    assert "Extra minutes per work order (levers.friction_minutes):" in out.stdout
    assert "Share who distrust the AI (organisation.distrust_share):" in out.stdout


def test_the_preset_design_shipped_runs_by_preset_name():
    design = seed_data.path("experiments", "rollout_drivers.toml")
    assert "scenario = \"rollout\"" in design.read_text(encoding="utf-8")


@pytest.mark.parametrize(("design", "message"), [
    ("scenario = 'nowhere'\n[factors]\n'levers.support' = [0, 1]\n",
     "error: design.toml: scenario = 'nowhere': no such preset or file"),
    ("scenario = 'small.toml'\nmethod = 'sobol'\nfactors = 3\n",
     "error: design.toml: factors = 3: give at least one factor"),
    ("scenario = 'small.toml'\nmethod = 'sobol'\nsamples = 100000\nruns = 10000\n"
     "[factors]\n'levers.support' = [0, 1]\n",
     "error: design.toml: 300,000 points x 10,000 runs x 60 technicians x 26 weeks is "
     "4,680,000,000,000 technician-weeks, over the budget of 5,000,000,000: at most 320 points fit "
     "(fewer samples, factors or runs)"),
    ("scenario = 'small.toml'\nmethod = [\n", "error: design.toml: not valid TOML"),
])
def test_bad_designs_fail_before_anything_runs(tmp_path, design, message):
    path = _files(tmp_path, design)
    out = runner.invoke(app, ["experiment", str(path)])
    assert out.exit_code == 1
    assert out.stderr.strip().startswith(message), out.stderr


def test_json_and_csv_together_is_refused(tmp_path):
    path = _files(tmp_path, MORRIS)
    out = runner.invoke(app, ["experiment", str(path), "--json", "--csv", str(tmp_path / "x.csv")])
    assert out.exit_code == 2 and "give --json or --csv, not both" in out.output


def test_progress_and_cancel(tmp_path):
    path = _files(tmp_path, MORRIS)
    seen = []
    run_design(path, progress=lambda done, total: seen.append((done, total)))
    assert seen[0] == (1, 12) and seen[-1] == (12, 12)
    from model.experiment import DesignError

    with pytest.raises(DesignError, match="stopped after 3 of 12 points"):
        run_design(path, cancelled=lambda: len(seen) >= 15, progress=lambda d, t: seen.append(d))
