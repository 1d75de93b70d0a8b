import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import seed_data
from app import cli

ROLLOUT = seed_data.path("scenarios", "rollout.toml")
runner = CliRunner()


@pytest.fixture(scope="module")
def chasm():
    cli._register_commands()
    return cli.app


def test_simulate_json_contract(chasm):
    result = runner.invoke(chasm, ["simulate", str(ROLLOUT), "--runs", "20", "--weeks", "12",
                                   "--seed", "3", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["scenario"] == "rollout" and doc["runs"] == 20
    assert doc["weeks"] == list(range(1, 13))
    for metric in ("active_share", "depth", "lapsed_share", "mean_trust"):
        for stat in ("mean", "p05", "p50", "p95"):
            values = doc["overall"][metric][stat]
            assert len(values) == 12 and all(0 <= v <= 1 for v in values)
    assert len(doc["facilities"]) == 15
    for fac in doc["facilities"].values():
        assert len(fac["active_share"]["mean"]) == 12


def test_simulate_reports_churn_regular_and_rejected_overall_and_per_facility(chasm, tmp_path):
    """The second-generation outputs reach the JSON and the CSV, overall and for every facility."""
    new = ("weekly_churn", "regular_share", "rejected_share", "ever_share", "active_share_live")
    result = runner.invoke(chasm, ["simulate", str(ROLLOUT), "--runs", "20", "--weeks", "12", "--seed", "3",
                                   "--json"])
    doc = json.loads(result.stdout)
    for scope in (doc["overall"], *doc["facilities"].values()):
        for metric in new:
            assert len(scope[metric]["mean"]) == 12 and all(0 <= v <= 1 for v in scope[metric]["mean"])
    overall = doc["overall"]
    assert 0 < overall["weekly_churn"]["mean"][6] < 0.5  # some of last week's users stopped
    assert overall["rejected_share"]["mean"][11] > overall["rejected_share"]["mean"][1]  # failed trials
    assert all(r <= e + 1e-9 for r, e in zip(overall["regular_share"]["mean"], overall["ever_share"]["mean"],
                                             strict=True))
    out = tmp_path / "r.csv"
    runner.invoke(chasm, ["simulate", str(ROLLOUT), "--runs", "5", "--weeks", "6", "--csv", str(out)])
    rows = out.read_text().splitlines()[1:]
    found = {(r.split(",")[0], r.split(",")[1]) for r in rows}
    for metric in new:
        assert ("overall", metric) in found and ("Facility 15", metric) in found


def test_simulate_same_seed_same_json(chasm):
    args = ["simulate", str(ROLLOUT), "--runs", "10", "--weeks", "8", "--seed", "5", "--json"]
    assert runner.invoke(chasm, args).stdout == runner.invoke(chasm, args).stdout


def test_simulate_csv(chasm, tmp_path):
    out = tmp_path / "r.csv"
    result = runner.invoke(chasm, ["simulate", str(ROLLOUT), "--runs", "5", "--weeks", "6",
                                   "--csv", str(out)])
    assert result.exit_code == 0
    header = out.read_text().splitlines()[0]
    assert header == "scope,metric,week,mean,p05,p25,p50,p75,p95"


def test_bad_scenario_exits_1_with_error_on_stderr(chasm, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[levers]\nfriction_minutes = -3\n")
    result = runner.invoke(chasm, ["simulate", str(bad)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        f"error: {bad}: levers.friction_minutes = -3: out of range, "
        "must be a number from 0.0 to 60.0")
    assert result.stdout == ""


@pytest.mark.parametrize("args", [["simulate"], ["simulate", "x.toml", "--runs", "0"],
                                  ["simulate", "x.toml", "--json", "--csv", "y.csv"]])
def test_bad_usage_exits_2(chasm, args):
    assert runner.invoke(chasm, args).exit_code == 2


def test_console_script_runs():
    exe = Path(sys.executable).with_name("chasm")
    out = subprocess.run([str(exe), "simulate", str(ROLLOUT), "--runs", "5", "--weeks", "4",
                          "--json"], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout)["weeks"] == [1, 2, 3, 4]


def test_simulate_takes_a_preset_by_name(chasm):
    by_name = runner.invoke(chasm, ["simulate", "rollout", "--runs", "5", "--weeks", "4", "--json"])
    by_path = runner.invoke(chasm, ["simulate", str(ROLLOUT), "--runs", "5", "--weeks", "4", "--json"])
    assert by_name.exit_code == 0, by_name.output
    assert by_name.stdout == by_path.stdout


# ---------------------------------------------------------------- hostile and careless input (issue 10)

def _refused(chasm, *args: str) -> str:
    result = runner.invoke(chasm, ["simulate", *args])
    assert result.exit_code == 1, result.output
    assert result.stdout == "" and "Traceback" not in result.stderr
    return result.stderr.strip()


def test_over_the_budget_is_refused_before_it_runs(chasm, tmp_path, monkeypatch):
    big = tmp_path / "big.toml"
    big.write_text("weeks = 1040\n[organisation]\ntechnicians = 1000000\nfacilities = 300\n")
    monkeypatch.setattr("model.ensemble.run_ensemble", lambda *a, **k: pytest.fail("ran"))
    assert _refused(chasm, str(big)) == (
        "error: this scenario is 104,000,000,000 technician-weeks (1,000,000 technicians x 1,040 weeks x "
        "100 runs), over the budget of 5,000,000,000 technician-weeks: run at most 4 runs, or fewer "
        "technicians or weeks")


def test_the_memory_budget_is_a_setting(chasm, monkeypatch):
    monkeypatch.setenv("CHASM_SIMULATION_MAX_BYTES", "10000000")
    assert _refused(chasm, "rollout") == (
        "error: this scenario needs about 38 MB (280 technicians x 78 weeks x 100 runs), over the 10 MB "
        "budget: run at most 26 runs, or fewer technicians or weeks")
    assert runner.invoke(chasm, ["simulate", "rollout", "--runs", "38", "--weeks", "2"]).exit_code == 0
    monkeypatch.setenv("CHASM_SIMULATION_MAX_TECHNICIAN_WEEKS", "5600")
    assert _refused(chasm, "rollout", "--runs", "38", "--weeks", "2") == (
        "error: this scenario is 21,280 technician-weeks (280 technicians x 2 weeks x 38 runs), over the "
        "budget of 5,600 technician-weeks: run at most 10 runs, or fewer technicians or weeks")


def _network_scenario(folder: Path, network: str) -> Path:
    path = folder / "s.toml"
    path.write_text(f'[organisation]\nnetwork = "{network}"\n')
    return path


def _allowed(*folders: Path) -> str:
    return ", ".join(str(f.resolve()) for f in (*folders, seed_data.path()))


def test_a_network_outside_the_allowed_folders_is_refused(chasm, tmp_path):
    path = _network_scenario(tmp_path, "/etc/passwd")
    assert _refused(chasm, str(path)) == (
        f"error: {path}: organisation.network = '/etc/passwd': outside the folders an edge list may come "
        f"from ({_allowed(tmp_path)}); put the file next to the scenario")


def test_a_symlink_cannot_lead_outside(chasm, tmp_path):
    (tmp_path / "ties.csv").symlink_to("/etc/passwd")
    path = _network_scenario(tmp_path, "ties.csv")
    assert _refused(chasm, str(path)) == (
        f"error: {path}: organisation.network = 'ties.csv' (that is /etc/passwd): outside the folders an "
        f"edge list may come from ({_allowed(tmp_path)}); put the file next to the scenario")


def test_the_settings_can_allow_another_folder(chasm, tmp_path, monkeypatch):
    shared = tmp_path / "networks"
    shared.mkdir()
    (shared / "ties.csv").write_text("from,to\na,b\nb,c\nc,a\n")
    scenarios = tmp_path / "scenarios"
    scenarios.mkdir()
    path = _network_scenario(scenarios, str(shared / "ties.csv"))
    assert "outside the folders" in _refused(chasm, str(path), "--runs", "2", "--weeks", "2")
    monkeypatch.setenv("CHASM_NETWORK_DIRS", f"/nonexistent:{shared}")
    result = runner.invoke(chasm, ["simulate", str(path), "--runs", "2", "--weeks", "2", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["runs"] == 2


def test_a_file_that_is_not_an_edge_list_is_refused(chasm, tmp_path):
    (tmp_path / "passwd").write_text("root:x:0:0:root:/root:/bin/bash\nbin:x:1:1:bin:/bin:/usr/bin/nologin\n"
                                     "alice:x:1000:1000:Alice,Room 1,555,556:/home/alice:/bin/bash\n")
    path = _network_scenario(tmp_path, "passwd")
    assert _refused(chasm, str(path)) == (
        f"error: {tmp_path / 'passwd'}: not an edge list (line 3 has 4 fields, the lines before it 1)")


def test_a_deeply_nested_scenario_is_refused(chasm, tmp_path):
    path = tmp_path / "deep.toml"
    path.write_text("name = " + "[" * 50_000 + "]" * 50_000 + "\n")
    assert _refused(chasm, str(path)) == f"error: {path}: not valid TOML (nested too deeply)"


def test_a_scenario_that_is_not_utf8_is_refused(chasm, tmp_path):
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "Zürich"\n'.encode("latin-1"))
    assert _refused(chasm, str(path)) == f"error: {path}: is not UTF-8 text (byte 0xfc at position 9)"


def test_the_csv_escapes_cells_that_would_start_a_formula(chasm, tmp_path, monkeypatch):
    from model.ensemble import EnsembleResult

    tidy = EnsembleResult.tidy
    monkeypatch.setattr(EnsembleResult, "tidy", lambda self: tidy(self).replace(
        {"scope": {"overall": '=HYPERLINK("http://x")'}}))
    out = tmp_path / "r.csv"
    result = runner.invoke(chasm, ["simulate", "rollout", "--runs", "2", "--weeks", "2", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    rows = out.read_text().splitlines()
    assert rows[0] == "scope,metric,week,mean,p05,p25,p50,p75,p95"
    assert rows[1].startswith("\"'=HYPERLINK(\"\"http://x\"\")\",active_share,1,")
    assert not any(row.startswith("=") for row in rows)
