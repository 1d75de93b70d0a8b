"""The plan optimiser's orchestration: the menu, the starting point (a scenario or the store), the search.

No streamlit and no typer here: the command line and the app both call `optimise_plan`.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

import seed_data
from app.services.calibration import stored_calibration
from app.services.recorded import observed_series, recorded_scenario
from app.services.settings import get_settings
from db import forecasts as store
from model.optimise import (
    MenuItem,
    OptimiseError,
    OptimiseResult,
    Request,
    load_menu,
    optimise,
    plan_scenario,
)
from model.scenario import Scenario
from model.whatif import PosteriorWhatIf

DEFAULT_MENU = seed_data.path("plans", "menu.toml")


def menu_file() -> Path:
    """The organisation's intervention menu: `<data dir>/menu.toml` (the Plan page edits it)."""
    return get_settings().store.data_dir / "menu.toml"


def ensure_menu() -> bool:
    """Copy the default menu into the data folder on the first start; never over an edited one.

    Returns:
        Whether it copied the file.
    """
    target = menu_file()
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEFAULT_MENU, target)
    return True


def menu(path: Path | None = None) -> tuple[MenuItem, ...]:
    """The menu at `path`; else the organisation's (the data folder's), else the default shipped one."""
    organisation = menu_file()
    return load_menu(path or (organisation if organisation.exists() else DEFAULT_MENU))


def optimise_scenario(scenario: Scenario, *, budget: float, target: float, by: int, from_week: int = 1,
                      trials: int = 200, runs: int = 40, seed: int = 0, menu_path: Path | None = None,
                      progress: Callable[[int, int, float], None] | None = None,
                      cancelled: Callable[[], bool] | None = None) -> OptimiseResult:
    """Optimise the future of a scenario from `from_week` on (its past fixed)."""
    if by > scenario.weeks + 520:
        raise OptimiseError(f"--by {by}: more than ten years after the scenario's {scenario.weeks} weeks")
    request = Request(scenario, budget, target, by, from_week, trials, runs, seed)
    return optimise(request, menu(menu_path), progress=progress, cancelled=cancelled)


def optimise_store(engine: Engine, *, budget: float, target: float, by: int, facility: str | None = None,
                   trials: int = 200, runs: int = 40, seed: int = 0, menu_path: Path | None = None,
                   progress: Callable[[int, int, float], None] | None = None,
                   cancelled: Callable[[], bool] | None = None) -> OptimiseResult:
    """Optimise from today's organisation: its recorded history and its calibrated posterior.

    Decisions start the week after the last stored week; every candidate runs over the same
    posterior draws (one replicate each), so the plan is robust across what we do not know.
    """
    row = store.latest_calibration(engine, facility)
    if row is None:
        scope = f"facility {facility}" if facility else "the whole organisation"
        raise OptimiseError(f"no calibration is stored for {scope}: run `chasm calibrate` first")
    calibration = stored_calibration(row)
    scenario = recorded_scenario(engine, facility)
    weeks_recorded = len(observed_series(engine, facility))
    thetas = calibration.posterior.draw(runs, np.random.default_rng(seed))
    request = Request(scenario, budget, target, by, weeks_recorded + 1, trials, runs, seed,
                      behaviour=calibration.behaviour(thetas))
    return optimise(request, menu(menu_path), progress=progress, cancelled=cancelled)


def has_calibration(engine: Engine, facility: str | None = None) -> bool:
    """Whether the optimiser can plan from the store (a calibration is stored for the scope)."""
    return store.latest_calibration(engine, facility) is not None


def plan_drivers(engine: Engine, result: OptimiseResult, *, worlds: int = 40, seed: int = 0,
                 facility: str | None = None) -> PosteriorWhatIf:
    """Which of the recommended plan's interventions matter: each one's effect at the deadline,
    left out in turn, over the stored calibration's posterior (the Plan page's tornado)."""
    row = store.latest_calibration(engine, facility)
    if row is None:
        raise OptimiseError("no calibration is stored: calibrate first")
    from app.services.whatif import Source, simulate_over_posterior

    source = Source(stored_calibration(row).posterior, "the stored organisation's calibration")
    return simulate_over_posterior(plan_scenario(result, result.best), source, worlds=worlds,
                                   weeks=result.request.by, seed=seed, effects_from=result.request.from_week)
