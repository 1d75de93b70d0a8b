from __future__ import annotations

import importlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import app.cli
from db.ingest import ingest_file
from tests.db.helpers import FACILITY_CSV, count, write

ROOT = Path(__file__).resolve().parents[2]
CHASM = ROOT / ".venv" / "bin" / "chasm"


def invoke(*args):
    try:
        app.cli._register_commands()
    except ImportError as error:
        # The simulator's commands (app/cli_model.py) are built alongside; ours still register.
        if "cli_model" not in str(error):
            raise
        importlib.import_module("app.cli.store")
    return CliRunner().invoke(app.cli.app, [str(a) for a in args])


@pytest.fixture
def cli():
    return invoke


def test_ingest_accepts_and_prints_counts(cli, store_url, tmp_path):
    result = cli("ingest", write(tmp_path, "week.csv", FACILITY_CSV))
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == (
        "Accepted week.csv (facility-week): 3 inserted, 0 updated, 0 unchanged."
    )
    again = cli("ingest", tmp_path / "week.csv")
    assert "0 inserted, 0 updated, 3 unchanged. Nothing changed." in again.stdout


def test_ingest_json_shape_accepted_and_rejected(cli, store_url, tmp_path):
    result = cli("ingest", write(tmp_path, "week.csv", FACILITY_CSV), "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout) == {
        "outcome": "accepted",
        "inserted": 3,
        "updated": 0,
        "unchanged": 0,
        "errors": [],
        "warnings": [
            {
                "row": 0,
                "column": "facility",
                "value": "North Plant",
                "message": "new facility, created by this upload",
            },
            {
                "row": 0,
                "column": "facility",
                "value": "South Works",
                "message": "new facility, created by this upload",
            },
        ],
    }
    bad = cli("ingest", write(tmp_path, "bad.csv", FACILITY_CSV + "X,2025-03-03,1,2,,\n"), "--json")
    assert bad.exit_code == 1
    assert json.loads(bad.stdout) == {
        "outcome": "rejected",
        "inserted": 0,
        "updated": 0,
        "unchanged": 0,
        "errors": [
            {
                "row": 5,
                "column": "active_users",
                "value": "2",
                "message": "active_users (2) is more than technicians (1)",
            }
        ],
        "warnings": [],
    }


def test_ingest_rejection_goes_to_stderr_with_exit_1(cli, store_url, tmp_path):
    result = cli(
        "ingest",
        write(tmp_path, "bad.csv", "facility,week,technicians,active_users\nA,2025-03-03,x,1\n"),
    )
    assert result.exit_code == 1
    assert result.stderr == (
        "error: bad.csv was rejected (1 problem(s)):\n"
        "  Row 2, column 'technicians', value 'x': not a number\n"
    )
    assert result.stdout == ""


def test_ingest_dry_run(cli, engine, tmp_path):
    result = cli("ingest", write(tmp_path, "week.csv", FACILITY_CSV), "--dry-run")
    assert result.exit_code == 0
    assert result.stdout.startswith(
        "Dry run: week.csv (facility-week) would be accepted: 3 inserted, 0 updated, 0 unchanged."
    )
    assert count(engine, "weekly_metric") == 0


@pytest.mark.parametrize(
    "args",
    [
        ["ingest", "missing.csv"],
        ["ingest", "x.csv", "--kind", "monthly"],
        ["metrics", "--json", "--csv", "x.csv"],
    ],
)
def test_usage_errors_exit_2(cli, store_url, tmp_path, monkeypatch, args):
    write(tmp_path, "x.csv", FACILITY_CSV)
    monkeypatch.chdir(tmp_path)
    assert cli(*args).exit_code == 2


def test_out_of_date_schema_is_refused(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("CHASM_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = cli("metrics")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: The database schema is out of date (empty, this version of Chasm needs 0008). "
        "Run `chasm db upgrade` first.\n"
    )
    upgraded = cli("db", "upgrade")
    assert upgraded.exit_code == 0 and "is at schema revision 0008" in upgraded.stdout
    assert cli("metrics").exit_code == 0


def test_metrics_json_csv_and_facility_filter(cli, engine, tmp_path):
    ingest_file(write(tmp_path, "week.csv", FACILITY_CSV), engine=engine)
    rows = json.loads(cli("metrics", "--json", "--facility", "north plant").stdout)
    assert [r["week_start"] for r in rows] == ["2025-03-03", "2025-03-10"]
    assert rows[0] == {
        "facility": "North Plant",
        "week_start": "2025-03-03",
        "technicians": 20,
        "active_users": 8,
        "work_orders": 100,
        "ai_assisted_work_orders": 30,
        "alerts": None,
        "alerts_actioned": None,
        "training_hours": None,
        "champions": None,
        "unplanned_downtime_hours": None,
    }
    result = cli("metrics", "--csv", tmp_path / "out.csv")
    assert result.stdout == f"Wrote 3 rows to {tmp_path / 'out.csv'}.\n"
    assert (tmp_path / "out.csv").read_text().splitlines()[0].startswith("facility,week_start,technicians")
    assert "North Plant" in cli("metrics").stdout


def test_uploads_lists_audit(cli, engine, tmp_path):
    assert cli("uploads").stdout == "No uploads yet.\n"
    ingest_file(write(tmp_path, "week.csv", FACILITY_CSV), engine=engine, uploaded_by="ana")
    rows = json.loads(cli("uploads", "--json").stdout)
    assert [(r["file_name"], r["uploaded_by"], r["outcome"], r["inserted"]) for r in rows] == [
        ("week.csv", "ana", "accepted", 3)
    ]
    assert "week.csv" in cli("uploads").stdout


def test_real_chasm_process_ingests(migrated_sqlite_template, tmp_path):
    """`.venv/bin/chasm` itself, the console script `make test` installs, on SQLite."""
    assert CHASM.exists(), f"{CHASM} is not installed: run `make test`, which installs it"
    database = tmp_path / "chasm.db"
    shutil.copy(migrated_sqlite_template, database)
    store_url = f"sqlite:///{database}"
    path = write(tmp_path, "week.csv", FACILITY_CSV)
    env = {**os.environ, "CHASM_DATABASE_URL": store_url}
    result = subprocess.run(
        [str(CHASM), "ingest", str(path), "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["inserted"] == 3
    bad = subprocess.run(
        [str(CHASM), "ingest", str(write(tmp_path, "b.csv", "x"))],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 1 and "b.csv was rejected" in bad.stderr


def test_module_process_ingests(store_url, tmp_path):
    """The same path in a real process even before `chasm` itself can start."""
    path = write(tmp_path, "week.csv", FACILITY_CSV)
    code = "import importlib; importlib.import_module('app.cli.store'); from app.cli import app; app()"
    env = {**os.environ, "CHASM_DATABASE_URL": store_url}
    result = subprocess.run(
        [sys.executable, "-c", code, "ingest", str(path)],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "3 inserted" in result.stdout


def test_demo_load_twice(cli, store_url):
    first = cli("demo", "load")
    assert first.exit_code == 0, first.output
    assert first.stdout.splitlines() == [
        "Accepted facility_weeks.csv (facility-week): 1170 inserted, 0 updated, 0 unchanged.",
        "Accepted technician_weeks.csv (technician-week): 21840 inserted, 0 updated, 0 unchanged.",
        "Intervention log: 10 new entries.",
    ]
    again = cli("demo", "load").stdout.splitlines()
    assert again[0].endswith("0 inserted, 0 updated, 1170 unchanged. Nothing changed.")
    assert again[2] == "Intervention log: 0 new entries."


def test_xlsx_upload(cli, engine, tmp_path):
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.active.append(["Plant", "Week", "Headcount", "Active"])
    workbook.active.append(["North", 45719, 10, 4])  # an Excel serial date: Monday 2025-03-03
    workbook.save(tmp_path / "week.xlsx")
    result = cli("ingest", tmp_path / "week.xlsx")
    assert result.exit_code == 0, result.output
    rows = json.loads(cli("metrics", "--json").stdout)
    assert [(r["facility"], r["week_start"], r["active_users"]) for r in rows] == [("North", "2025-03-03", 4)]


def test_second_scheduler_is_refused(cli, engine):
    from db.locks import scheduler_lock

    with scheduler_lock(engine):
        result = cli("scheduler")
    assert result.exit_code == 1
    assert "another Chasm scheduler already runs against this database" in result.stderr
