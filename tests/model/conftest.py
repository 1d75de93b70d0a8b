import pytest

import seed_data
from model.scenario import load_scenario

SCENARIOS = seed_data.path("scenarios")
REFERENCE = seed_data.path("reference")


def month_end(month: int) -> int:
    """Month m ends at week round(m * 52 / 12)."""
    return round(month * 52 / 12)


@pytest.fixture(scope="session")
def presets():
    return {name: load_scenario(SCENARIOS / f"{name}.toml")
            for name in ("pilot", "rollout", "turnaround", "waves")}
