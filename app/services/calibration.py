"""Calibration of the model to the stored series, and where its batches run."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypedDict

import numpy as np
from sqlalchemy import Engine

from app.services.recorded import observed_churn, observed_series, recorded_scenario
from app.services.settings import get_settings
from db import forecasts as store
from model.abc import Posterior
from model.calibrate import Calibration, calibrate
from model.parallel import DaskCluster, Executor, LocalPool
from model.scenario import (
    scenario_from_toml,
    scenario_to_toml,
)

_EXECUTORS: dict[str, Executor] = {}


class _Budget(TypedDict, total=False):
    """The ABC-SMC budget passed to model.calibrate.calibrate (left out: its defaults)."""

    particles: int
    generations: int
    max_simulations: int


def executor_from_env() -> Executor:
    """Where calibration batches run: the Dask cluster at CHASM_DASK_ADDRESS, else a local pool.

    Built once per process (and per address); the same seed gives the same result on either.
    """
    address = get_settings().dask_address
    if address not in _EXECUTORS:
        _EXECUTORS[address] = DaskCluster(address) if address else LocalPool()
    return _EXECUTORS[address]


def calibrate_store(engine: Engine, *, facility: str | None = None, until: int | None = None,
                    seed: int = 0, quick: bool = False,
                    progress: Callable[[int, int], None] | None = None) -> tuple[int, Calibration]:
    """Fit the model to the stored series (up to week `until`) and store the posterior.

    The fit matches the weekly active share and, where technician-weeks are stored, the weekly
    lapse rate too (`observed_churn`); `quick` is a small budget for tests and previews; `progress` is
    called with (simulations so far, the budget) as the fit goes (a page's progress bar).

    Returns:
        The stored calibration's id and the calibration.
    """
    series = observed_series(engine, facility)
    y = series["active_share"].to_numpy()[: until or None]
    churn = observed_churn(engine, facility)
    scenario = recorded_scenario(engine, facility)
    start = time.perf_counter()
    settings: _Budget = {"particles": 120, "generations": 3, "max_simulations": 5000} if quick else {}
    cal = calibrate(scenario, y, seed=seed, executor=executor_from_env(),
                    churn=None if churn is None else churn[: y.size], progress=progress, **settings)
    cal_id = store.store_calibration(
        engine, facility=facility, data_version=store.data_version(engine), observed=y.tolist(),
        posterior=cal.posterior.to_dict(), scenario_toml=scenario_to_toml(scenario),
        seconds=time.perf_counter() - start)
    return cal_id, cal


def stored_calibration(row: dict[str, Any]) -> Calibration:
    """Rebuild a calibration from its stored row."""
    scenario = scenario_from_toml(row["scenario_toml"], name="recorded")
    return Calibration(scenario, np.asarray(row["observed"], dtype=float), "active",
                       Posterior.from_dict(row["posterior"]))
