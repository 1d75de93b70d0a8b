"""The demo organisation in `seed_data/demo/`, loaded through the same path as a user's upload."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine, func, select

from db.ingest import FACILITY_WEEK, TECHNICIAN_WEEK, IngestReport, ingest_file
from db.interventions import read_interventions, record_interventions
from db.migrate import upgrade
from db.models import Facility

DEMO_DIR = Path(__file__).resolve().parents[1] / "seed_data" / "demo"
DEMO_FILES = (("facility_weeks.csv", FACILITY_WEEK), ("technician_weeks.csv", TECHNICIAN_WEEK))


@dataclass
class DemoLoad:
    """What loading the demo did: one report per file and the new interventions."""

    reports: list[IngestReport]
    new_interventions: int


def load_demo(engine: Engine, directory: Path = DEMO_DIR) -> DemoLoad:
    """Load the demo metrics and intervention log; loading it again changes nothing.

    Args:
        engine: The store's engine.
        directory: Where the demo CSV files are.

    Returns:
        The ingest reports and the number of interventions added.

    Raises:
        IngestError: A demo file failed validation (a bug in the demo data).
    """
    reports = [
        ingest_file(directory / name, engine=engine, kind=kind, uploaded_by="chasm demo")
        for name, kind in DEMO_FILES
    ]
    interventions = read_interventions(directory / "interventions.csv")
    return DemoLoad(reports, record_interventions(engine, interventions))


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
