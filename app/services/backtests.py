"""Rolling-origin backtests of the model and of the textbook Bass curve on the stored series.

The question leadership asks is "how far off have your forecasts been lately?", so the backtest
replays the forecast as it would have been made `horizon` weeks before each of the last `window`
weeks, and scores only that `horizon`-week-ahead point against what happened: its error, and
whether it fell inside the 80% band.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sqlalchemy import Engine

from app.services.documents import BacktestResult, MethodScore
from app.services.recorded import observed_series, recorded_scenario
from model.bass import fit_bass
from model.calibrate import MIN_WEEKS, calibrate
from model.forecast import forecast_plans

WINDOW_WEEKS = 12
"""The weeks whose outcomes the backtest scores: the most recent ones."""
AHEAD_WEEKS = 4
"""How far ahead the scored forecasts were made (a month: what leadership plans on)."""


def backtest_origins(weeks: int, *, horizon: int = AHEAD_WEEKS, window: int = WINDOW_WEEKS,
                     step: int = 1) -> list[int]:
    """Origins (weeks of data the forecast had) whose `horizon`-ahead week is among the last `window`.

    Each origin has at least MIN_WEEKS weeks, as a calibration needs; with `step` > 1 every
    step-th target week counting back from the newest one."""
    targets = range(weeks, max(weeks - window, 0), -step)
    return sorted(t - horizon for t in targets if t - horizon >= MIN_WEEKS)


def backtest(engine: Engine, *, facility: str | None = None, horizon: int = AHEAD_WEEKS,
             window: int = WINDOW_WEEKS, step: int = 1, seed: int = 0,
             progress: Callable[[int, int], None] | None = None) -> BacktestResult:
    """Rolling-origin backtest of the model and of the textbook Bass curve over the last `window` weeks.

    At each origin both are fitted to the weeks before it only and forecast `horizon` weeks ahead;
    the forecast for that week is scored (absolute error of the mean, inside the 80% band or not).
    `progress` is called with (origins tested, origins) after each one."""
    y = observed_series(engine, facility)["active_share"].to_numpy()
    scenario = recorded_scenario(engine, facility)
    origins = backtest_origins(len(y), horizon=horizon, window=window, step=step)
    errors: dict[str, list[float]] = {"model": [], "bass": []}
    inside: dict[str, list[bool]] = {"model": [], "bass": []}
    for done, origin in enumerate(origins, start=1):
        held = float(y[origin + horizon - 1])
        cal = calibrate(scenario, y[:origin], seed=seed, particles=100, generations=3,
                        max_simulations=4000)
        last = forecast_plans(cal, horizon=horizon, draws=150, seed=seed)[0].bands().iloc[-1]
        errors["model"].append(abs(float(last["mean"]) - held))
        inside["model"].append(bool(last["p10"] <= held <= last["p90"]))
        bass = fit_bass(y[:origin]).forecast(horizon, seed=seed)
        errors["bass"].append(abs(float(bass["mean"][-1]) - held))
        inside["bass"].append(bool(bass["lo_80"][-1] <= held <= bass["hi_80"][-1]))
        if progress is not None:
            progress(done, len(origins))
    span = len(y) - (origins[0] + horizon) + 1 if origins else 0  # from the first scored week to today
    scores = {method: MethodScore(
        mae=float(np.mean(errors[method])) if origins else None,
        coverage80=float(np.mean(inside[method])) if origins else None,
        origins=len(origins), horizon=horizon, inside=int(sum(inside[method])),
        scored=len(origins), window_weeks=span) for method in ("model", "bass")}
    return BacktestResult(**scores)


def _points(mae: float) -> str:
    points = round(mae * 100)
    return "less than 1 point" if points < 1 else f"{points} point{'s' if points != 1 else ''}"


def backtest_sentence(result: BacktestResult | None) -> str:
    """One plain sentence on how far to trust the forecast (None: not backtested yet)."""
    if result is None:
        return ("Not yet backtested on this data: the nightly refresh does it "
                "(or run `chasm backtest`).")
    model, bass = result.model, result.bass
    if not model.origins or model.mae is None or model.coverage80 is None:
        return "Not enough history yet to test the forecast against what happened."
    if not model.scored:  # stored before the backtest counted its forecasts
        return (f"Tested on {model.origins} past points in time, the model's {model.horizon}-week "
                f"forecasts were off by {_points(model.mae)} on average and "
                f"{model.coverage80:.0%} of outcomes fell inside its 80% band.")
    return (f"Over the last {model.window_weeks} weeks, our {model.horizon}-week-ahead forecasts were "
            f"off by {_points(model.mae)} on average, and {model.inside} of {model.scored} fell "
            f"inside the 80% band (a textbook Bass curve: {_points(bass.mae or 0)}, "
            f"{bass.inside} of {bass.scored}).")
