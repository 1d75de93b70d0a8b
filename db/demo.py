"""The demo organisation in `seed_data/demo/`, loaded through the same path as a user's upload."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import Engine, func, select

import seed_data
from db.config import get_settings
from db.ingest import FACILITY_WEEK, TECHNICIAN_WEEK, IngestReport, ingest_file
from db.interventions import read_interventions, record_interventions
from db.migrate import upgrade
from db.models import Facility

DEMO_DIR = seed_data.path("demo")
DEMO_FILES = (("facility_weeks.csv", FACILITY_WEEK), ("technician_weeks.csv", TECHNICIAN_WEEK))


@dataclass
class DemoLoad:
    """What loading the demo did: one report per file, the new interventions and plan files."""

    reports: list[IngestReport]
    new_interventions: int
    new_plans: list[str] = field(default_factory=list)


def load_demo(engine: Engine, directory: Path = DEMO_DIR) -> DemoLoad:
    """Load the demo metrics and intervention log; loading it again changes nothing.

    Args:
        engine: The store's engine.
        directory: Where the demo CSV files are.

    Returns:
        The ingest reports, the number of interventions added and the plan files copied into the
        plans folder (`CHASM_PLANS_DIR`, default `<data dir>/plans`).

    Raises:
        IngestError: A demo file failed validation (a bug in the demo data).
    """
    reports = [
        ingest_file(directory / name, engine=engine, kind=kind, uploaded_by="chasm demo")
        for name, kind in DEMO_FILES
    ]
    interventions = read_interventions(directory / "interventions.csv")
    return DemoLoad(reports, record_interventions(engine, interventions), _copy_plans(directory / "plans"))


def _copy_plans(source: Path) -> list[str]:
    """Put the demo's alternative plans in the plans folder, never over a file already there."""
    target = get_settings().resolved_plans_dir
    copied = []
    for plan in sorted(source.glob("*.toml")):
        if not (target / plan.name).exists():
            target.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(plan, target / plan.name)
            copied.append(plan.name)
    return copied


def prepare_first_start(engine: Engine, url: str | None = None) -> DemoLoad | None:
    """Bring the schema up to date and, on an empty store, load the demo (for `make run`).

    Args:
        engine: The store's engine.
        url: Its URL, for the migration (default: the configured database).

    Returns:
        The demo load, or None when the store already had facilities.
    """
    upgrade(url or engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        if conn.execute(select(func.count()).select_from(Facility)).scalar():
            return None
    return load_demo(engine)
