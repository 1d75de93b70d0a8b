"""Fit the model's unobservable behaviour to an organisation's own adoption history.

The levers the organisation set (friction, training, KPI, champions, as logged) stay as recorded
in the scenario; ABC-SMC fits the behavioural parameters nobody can observe. Each particle is one
replicate of the batched engine, so a whole generation is one vectorised ensemble.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from model.abc import Posterior, abc_smc
from model.behaviour import Behaviour
from model.ensemble import run_ensemble
from model.model import AdoptionModel
from model.parallel import Executor, chunked_map
from model.population import Population
from model.scenario import Scenario

# What calibration fits, with the prior's support: the levers of E1 nobody can observe.
CALIBRATED: dict[str, tuple[float, float]] = {
    "base_utility": (-3.0, 3.0),
    "w_social": (0.0, 6.0),
    "habit": (0.0, 4.0),
    "w_trust": (0.3, 5.0),
    "trust_loss_false_alarm": (0.05, 0.6),
}
MIN_WEEKS = 6


class CalibrationError(ValueError):
    """Data that cannot be calibrated to: too few weeks, no technicians, shares out of range."""


@dataclass(frozen=True)
class Calibration:
    """A posterior over behaviour, fitted to one observed series under one recorded scenario."""

    scenario: Scenario
    observed: np.ndarray
    """Observed weekly active share, week 1 = rollout start."""
    observable: str
    """'active' (active share) or 'ever' (cumulative share who ever used it)."""
    posterior: Posterior

    def behaviour(self, thetas: np.ndarray) -> Behaviour:
        """Behaviour with one replicate per parameter set (others at the scenario's values)."""
        return self.scenario.behaviour.with_draws(self.posterior.names, thetas)


def check_series(observed: np.ndarray, *, what: str = "series") -> np.ndarray:
    """Validate an observed share series.

    Raises:
        CalibrationError: fewer than MIN_WEEKS points, missing values or shares outside [0, 1].
    """
    y = np.asarray(observed, dtype=float)
    if y.ndim != 1 or y.size < MIN_WEEKS:
        raise CalibrationError(
            f"{what}: {y.size} weeks of data; calibration needs at least {MIN_WEEKS}")
    if not np.all(np.isfinite(y)):
        raise CalibrationError(f"{what}: has missing weeks; fill or drop them first")
    if y.min() < 0 or y.max() > 1:
        raise CalibrationError(f"{what}: shares must be between 0 and 1 (got {y.min():.3g}..{y.max():.3g})")
    return y


def simulate_batch(scenario: Scenario, thetas: np.ndarray, names: tuple[str, ...], weeks: int,
                   seed: int, population: Population, observable: str = "active") -> np.ndarray:
    """Trajectories (K, weeks) of one replicate per parameter set."""
    beh = scenario.behaviour.with_draws(names, thetas)
    result = run_ensemble(scenario, runs=len(thetas), weeks=weeks, seed=seed, behaviour=beh,
                          population=population, record_facilities=False)
    key = "active_share" if observable == "active" else "ever_share"
    return result.overall[key].T


def batch_distances(scenario: Scenario, observed: np.ndarray, names: tuple[str, ...],
                    observable: str, population: Population, thetas: np.ndarray,
                    seed: int) -> np.ndarray:
    """Root-mean-square distance of each parameter set's trajectory to the observed series."""
    sims = simulate_batch(scenario, thetas, names, observed.size, seed, population, observable)
    return np.sqrt(np.mean((sims - observed) ** 2, axis=1))


def calibrate(scenario: Scenario, observed: np.ndarray, *, observable: str = "active",
              priors: dict[str, tuple[float, float]] | None = None, particles: int = 300,
              generations: int = 5, batch: int = 1000, seed: int = 0,
              max_simulations: int = 30_000, executor: Executor | None = None) -> Calibration:
    """Fit the behavioural parameters to an observed weekly series with ABC-SMC.

    Args:
        scenario: the organisation and its levers as recorded (interventions from the log).
        observed: weekly share, week 1 = rollout start.
        observable: 'active' to match the active share, 'ever' the cumulative share.
        priors: parameter -> uniform prior support; CALIBRATED if None.
        particles: posterior sample size.
        generations: SMC generations.
        batch: parameter sets per vectorised simulation.
        seed: seed; the same seed gives the same posterior.
        max_simulations: the simulation budget.
        executor: where batches run (this process, a local pool, Dask); same result for a seed.

    Returns:
        The calibration, with its weighted posterior sample.

    Raises:
        CalibrationError: the series is too short or not shares.
    """
    y = check_series(observed)
    priors = priors or CALIBRATED
    names = tuple(priors)
    rng = np.random.default_rng(seed)
    population = AdoptionModel(scenario, rng=seed).population

    work = partial(batch_distances, scenario, y, names, observable, population)

    def distance(thetas: np.ndarray, sim_seed: int) -> np.ndarray:
        return chunked_map(work, thetas, sim_seed, executor)

    posterior = abc_smc(distance, priors, particles=particles, generations=generations,
                        batch=batch, rng=rng, max_simulations=max_simulations)
    return Calibration(scenario, y, observable, posterior)
