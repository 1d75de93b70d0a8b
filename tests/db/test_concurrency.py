"""Two processes ingesting different files at the same time both succeed."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from db import queries
from tests.db.helpers import write

ROOT = Path(__file__).resolve().parents[2]
WORKER = """
import sys, time
from pathlib import Path
from db.engine import create_store_engine
from db.ingest import ingest_file
url, path, go = sys.argv[1:]
engine = create_store_engine(url)
while not Path(go).exists():
    time.sleep(0.005)
report = ingest_file(path, engine=engine)
print(report.inserted)
"""


def facility_file(tmp_path: Path, prefix: str, facilities: int = 20, weeks: int = 60) -> Path:
    lines = ["facility,week_start,technicians,active_users"]
    for f in range(facilities):
        for w in range(weeks):
            monday = date(2024, 1, 1) + timedelta(weeks=w)
            lines.append(f"{prefix} {f},{monday},30,{(f + w) % 30}")
    return write(tmp_path, f"{prefix}.csv", "\n".join(lines) + "\n")


def test_two_processes_ingest_at_once(store_url, tmp_path, engine):
    go = tmp_path / "go"
    files = [facility_file(tmp_path, "Alpha"), facility_file(tmp_path, "Beta")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, store_url, str(path), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for path in files
    ]
    time.sleep(1.5)  # both have imported and connected
    go.touch()
    results = [worker.communicate(timeout=120) for worker in workers]
    assert [w.returncode for w in workers] == [0, 0], results
    assert [out.strip() for out, _ in results] == ["1200", "1200"]
    assert len(queries.weekly_metrics(engine)) == 2400
    assert len(queries.facilities(engine)) == 40
