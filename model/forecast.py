"""Posterior-predictive forecasts under plans: bands, the chance of reaching a target, and costs.

Trajectories are simulated from posterior draws over the observed weeks and the horizon in one
batch, then resampled by how closely they track the last observed weeks and shifted by what is left of
their gap to those weeks (so the forecast starts where the organisation actually is), and
summarised as 50/80/95% bands.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from model.calibrate import Calibration
from model.ensemble import EnsembleResult, run_ensemble
from model.model import AdoptionModel
from model.plan import CURRENT, Costs, Plan
from model.scenario import Scenario

BANDS = {"p025": 2.5, "p10": 10, "p25": 25, "p50": 50, "p75": 75, "p90": 90, "p975": 97.5}
TAIL_WEEKS = 4
SUSTAIN_WEEKS = 4
"""Weeks in a row at or above the target that count as reaching it (a month, not one noisy week)."""



def first_sustained(trajectories: np.ndarray, target: float) -> np.ndarray:
    """(draws,) index of the first of SUSTAIN_WEEKS weeks running at or above target; inf if none.

    trajectories is (draws, weeks). A single noisy week above the line is not reaching the target.
    """
    hit = (trajectories >= target).astype(np.int32)
    k = min(SUSTAIN_WEEKS, hit.shape[1])
    sums = np.cumsum(np.pad(hit, ((0, 0), (1, 0))), axis=1)
    held = (sums[:, k:] - sums[:, :-k]) == k  # (draws, weeks - k + 1): a run starts here
    return np.where(held.any(axis=1), np.argmax(held, axis=1).astype(float), np.inf)

@dataclass(frozen=True)
class PlanForecast:
    """One plan's forecast."""

    plan: Plan
    weeks: np.ndarray
    """Future weeks (rollout weeks)."""
    trajectories: np.ndarray
    """(draws, horizon) active share."""
    downtime_reduction: np.ndarray
    """(draws, horizon) share of unplanned downtime avoided."""
    target: float
    target_week: int
    cost: float

    def bands(self) -> pd.DataFrame:
        """Mean and percentiles (50/80/95% bands) per future week."""
        frame = pd.DataFrame({"week": self.weeks, "mean": self.trajectories.mean(axis=0)})
        for name, q in BANDS.items():
            frame[name] = np.percentile(self.trajectories, q, axis=0)
        return frame

    @property
    def expected_at_horizon(self) -> float:
        """Mean active share at the last forecast week."""
        return float(self.trajectories[:, -1].mean())

    @cached_property
    def _first_sustained_week(self) -> np.ndarray:
        """(draws,) first week of the first run of SUSTAIN_WEEKS weeks at or above the target; inf if none.

        A single noisy week above the line is not reaching the target: the run must hold.
        """
        first = first_sustained(self.trajectories, self.target)
        reached = np.isfinite(first)
        return np.where(reached, self.weeks[np.where(reached, first, 0).astype(int)], np.inf)

    @property
    def probability_of_target(self) -> float:
        """Share of trajectories holding the target SUSTAIN_WEEKS weeks running, begun by the target week."""
        return float((self._first_sustained_week <= self.target_week).mean())

    @property
    def expected_week_of_target(self) -> float | None:
        """Mean first week of holding the target, among trajectories that hold it within the horizon."""
        first = self._first_sustained_week
        reached = np.isfinite(first)
        return float(first[reached].mean()) if reached.any() else None

    def downtime_saving(self) -> tuple[float, float]:
        """(hours, money) of unplanned downtime avoided over the horizon, expected."""
        c = self.plan.costs
        hours = float(self.downtime_reduction.mean(axis=0).sum() * c.downtime_hours_per_week)
        return hours, hours * c.downtime_cost_per_hour


def _posterior_runs(calibration: Calibration, scenario: Scenario, runs: int, weeks: int,
                    seed: int, rng: np.random.Generator, *,
                    record_facilities: bool = False) -> EnsembleResult:
    """One replicate per posterior draw (taken from `rng`) of `scenario`, on the network `seed` builds."""
    thetas = calibration.posterior.draw(runs, rng)
    population = AdoptionModel(scenario, rng=seed).population
    return run_ensemble(scenario, runs=runs, weeks=weeks, seed=int(rng.integers(2**31)),
                        behaviour=calibration.behaviour(thetas), population=population,
                        record_facilities=record_facilities)


def hindcast(calibration: Calibration, *, runs: int = 100, weeks: int | None = None,
             seed: int = 0, record_facilities: bool = False) -> EnsembleResult:
    """The fitted model's rollout from week 1, unconditioned: one run per posterior draw.

    What the calibrated behaviour says the whole rollout should look like under what was recorded,
    to lay the real series over (weeks past the fitted ones are an out-of-sample check).

    Args:
        calibration: the posterior and the recorded scenario it was fitted under.
        runs: replicates (posterior draws).
        weeks: weeks to simulate; the fitted weeks if None.
        seed: the same seed gives the same runs.
        record_facilities: also keep each facility's outcomes (the same runs; Real vs simulated).
    """
    weeks = calibration.observed.size if weeks is None else weeks
    return _posterior_runs(calibration, calibration.scenario, runs, weeks, seed, np.random.default_rng(seed),
                           record_facilities=record_facilities)


def predictive(calibration: Calibration, plan: Plan, horizon: int, *, draws: int = 200,
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Trajectories (draws, observed + horizon) of active share and downtime reduction."""
    rng = np.random.default_rng(seed)
    observed = calibration.observed
    scenario = plan.apply(calibration.scenario, after_week=observed.size)
    result = _posterior_runs(calibration, scenario, 2 * draws, observed.size + horizon, seed, rng)
    key = "active_share" if calibration.observable == "active" else "ever_share"
    paths = result.overall[key].T
    tail = slice(max(observed.size - TAIL_WEEKS, 0), observed.size)
    gap = np.sqrt(np.mean((paths[:, tail] - observed[tail]) ** 2, axis=1))
    bandwidth = max(float(np.quantile(gap, 0.1)), 5e-3)  # keep the paths that end where the data ends
    weights = np.exp(-0.5 * (gap / bandwidth) ** 2)
    pick = rng.choice(len(paths), size=draws, p=weights / weights.sum())
    # What is left of each path's gap to the last weeks is the organisation's own level, which the
    # model does not see (a facility that counts differently, a week the simulation ran behind):
    # carry it forward, so the forecast starts where adoption is today instead of restarting below.
    level = (observed[tail] - paths[pick][:, tail]).mean(axis=1, keepdims=True)
    return np.clip(paths[pick] + level, 0.0, 1.0), result.overall["downtime_reduction"].T[pick]


def forecast_plans(calibration: Calibration, *, horizon: int, plans: tuple[Plan, ...] = (),
                   target: float = 0.7, target_week: int | None = None, draws: int = 200,
                   seed: int = 0, costs: Costs | None = None) -> list[PlanForecast]:
    """Forecast the current plan and each alternative over `horizon` weeks.

    Args:
        calibration: the posterior to forecast from.
        horizon: weeks after the last observed week.
        plans: alternative plans (interventions after the observed weeks).
        target: the active share leadership wants.
        target_week: by when (rollout week); the horizon's end if None.
        draws: trajectories per plan.
        seed: the same seed gives the same forecast.
        costs: the organisation's costs, which price the current plan's downtime saving (the
            alternatives carry their own).

    Returns:
        The current plan first, then the alternatives in the order given.
    """
    if horizon < 1:
        raise ValueError(f"horizon = {horizon}: forecast at least one week ahead")
    t = calibration.observed.size
    target_week = target_week or t + horizon
    weeks = np.arange(t + 1, t + horizon + 1)
    out = []
    current = CURRENT if costs is None else replace(CURRENT, costs=costs)
    for plan in (current, *plans):
        paths, downtime = predictive(calibration, plan, horizon, draws=draws, seed=seed)
        cost = plan.cost(horizon_week=t + horizon, technicians=calibration.scenario.organisation.technicians)
        out.append(PlanForecast(plan, weeks, paths[:, t:], downtime[:, t:], target, target_week, cost))
    return out


def rank_plans(forecasts: list[PlanForecast]) -> pd.DataFrame:
    """Plans ranked by probability of reaching the target, with cost per point of adoption.

    Cost per point compares each plan's expected adoption at the horizon with the current plan's.
    """
    base = forecasts[0].expected_at_horizon
    rows = []
    for f in forecasts:
        gain = (f.expected_at_horizon - base) * 100
        hours, money = f.downtime_saving()
        rows.append({"plan": f.plan.name, "probability_of_target": f.probability_of_target,
                     "expected_at_horizon": f.expected_at_horizon,
                     "expected_week_of_target": f.expected_week_of_target, "cost": f.cost,
                     "points_gained": gain,
                     "cost_per_point": f.cost / gain if gain > 0.05 else None,
                     "downtime_hours_saved": hours, "downtime_saving": money})
    frame = pd.DataFrame(rows)
    return frame.sort_values(["probability_of_target", "expected_at_horizon"],
                             ascending=False, kind="stable").reset_index(drop=True)


__all__ = ["PlanForecast", "forecast_plans", "predictive", "rank_plans"]
