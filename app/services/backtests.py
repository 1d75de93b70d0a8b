"""Rolling-origin backtests of the model and of Bass on the stored series."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import Engine

from app.services.documents import BacktestResult, MethodScore
from app.services.recorded import observed_series, recorded_scenario
from model.bass import fit_bass
from model.calibrate import calibrate
from model.forecast import forecast_plans


def backtest(engine: Engine, *, facility: str | None = None, horizon: int = 8, step: int = 8,
             first: int = 16, seed: int = 0,
             progress: Callable[[int, int], None] | None = None) -> BacktestResult:
    """Rolling-origin backtest of the model and of Bass on the stored series: MAE and 80% coverage.

    `progress` is called with (origins tested, origins) after each one."""
    y = observed_series(engine, facility)["active_share"].to_numpy()
    scenario = recorded_scenario(engine, facility)
    errors: dict[str, list[NDArray[np.floating[Any]]]] = {"model": [], "bass": []}
    inside: dict[str, list[NDArray[np.bool_]]] = {"model": [], "bass": []}
    origins = list(range(first, len(y) - 1, step))
    for done, origin in enumerate(origins, start=1):
        h = min(horizon, len(y) - origin)
        held = y[origin:origin + h]
        cal = calibrate(scenario, y[:origin], seed=seed, particles=100, generations=3,
                        max_simulations=4000)
        bands = forecast_plans(cal, horizon=h, draws=150, seed=seed)[0].bands()
        errors["model"].append(np.abs(bands["mean"].to_numpy() - held))
        inside["model"].append((held >= bands["p10"].to_numpy()) & (held <= bands["p90"].to_numpy()))
        bass = fit_bass(y[:origin]).forecast(h)
        errors["bass"].append(np.abs(bass["mean"] - held))
        inside["bass"].append((held >= bass["lo_80"]) & (held <= bass["hi_80"]))
        if progress is not None:
            progress(done, len(origins))
    scores = {method: MethodScore(
        mae=float(np.concatenate(errors[method]).mean()) if origins else None,
        coverage80=float(np.concatenate(inside[method]).mean()) if origins else None,
        origins=len(origins), horizon=horizon) for method in ("model", "bass")}
    return BacktestResult(**scores)


def backtest_sentence(result: BacktestResult | None) -> str:
    """One plain sentence on how far to trust the forecast (None: not backtested yet)."""
    if result is None:
        return ("Not yet backtested on this data: the nightly refresh does it "
                "(or run `chasm backtest`).")
    model, bass = result.model, result.bass
    if not model.origins or model.mae is None or model.coverage80 is None:
        return "Not enough history yet to test the forecast against what happened."
    return (f"Tested on {model.origins} past points in time, the model's {model.horizon}-week "
            f"forecasts were off by {model.mae * 100:.0f} points on average and "
            f"{model.coverage80:.0%} of outcomes fell inside its 80% band (a simple Bass curve: "
            f"{(bass.mae or 0) * 100:.0f} points, {bass.coverage80 or 0:.0%}).")
