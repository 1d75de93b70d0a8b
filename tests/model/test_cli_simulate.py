import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app import cli

ROOT = Path(__file__).resolve().parents[2]
ROLLOUT = ROOT / "seed_data" / "scenarios" / "rollout.toml"
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
