from pathlib import Path

import pytest

from model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = ROOT / "seed_data" / "scenarios"
REFERENCE = ROOT.parent / "shared" / "reference_data"


def month_end(month: int) -> int:
    """Month m ends at week round(m * 52 / 12)."""
    return round(month * 52 / 12)


@pytest.fixture(scope="session")
def presets():
    return {name: load_scenario(SCENARIOS / f"{name}.toml")
            for name in ("pilot", "rollout", "turnaround", "waves")}
