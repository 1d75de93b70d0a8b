"""Fit the model's unobservable behaviour to an organisation's own adoption history.

The levers the organisation set (friction, training, KPI, champions, as logged) stay as recorded
in the scenario; ABC-SMC fits the behavioural parameters nobody can observe. Each particle is one
replicate of the batched engine, so a whole generation is one vectorised ensemble.

What is fitted (`CALIBRATED`) is the few parameters that carry the level and the shape of a
rollout's history, each read off a different part of it, so that one organisation's own series can
tell them apart; every other parameter stays at its `Behaviour()` default:

- base_utility: the level everything else moves around. It also absorbs a shift in any fixed
  weight, so the fit does not depend on the other defaults being exactly right;
- launch_push: the go-live push (E13c): how far the first weeks sit above where use settles as the
  push fades, i.e. the decline after go-live;
- inertia and habit: how sticky use is (E1, E14), read off the week-to-week lapse rate and how it
  falls as users become regulars;
- reconsider_rate: how often a non-user thinks about it again (E13); with the stickiness it sets
  how many technicians come and go and how fast the share moves to a new level;
- w_friction: what the CMMS and KPI changes do (E2), i.e. how high use climbs once the friction is
  gone;
- w_coached: how much a champion's coaching wins people back (E10), i.e. how the turnaround starts
  before the friction is fixed.

Left out on purpose: trial_failure and rejection_trust_loss (the go-live push's fading already
carries the decline after go-live; the extra decline from failed trials cannot be told from it in
one organisation's series) and the trust, fear and social weights (they shift every week's level
alike, which base_utility carries, or need variants an organisation never runs). Each prior is a
wide support around the default (always containing it), inside BEHAVIOUR_RANGES.

The distance is the root-mean-square gap of the weekly active share; when the organisation's
technician-weeks give the weekly lapse rate (churn: the share of last week's users who did not use
it this week), its means over blocks of CHURN_BLOCK weeks are matched too, on the same scale. The
shares alone cannot tell "few sticky users" from "many who come and go"; the lapse rate can, and
the two read differently into what champions or a fix will do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from model.abc import Posterior, abc_smc
from model.behaviour import BEHAVIOUR_RANGES, Behaviour
from model.ensemble import EnsembleResult, run_ensemble
from model.minimums import MIN_WEEKS as MIN_WEEKS  # (re-exported)
from model.model import AdoptionModel
from model.parallel import Executor, chunked_map
from model.population import Population
from model.scenario import Scenario

_SUPPORT: dict[str, tuple[float, float]] = {
    "base_utility": (-5.0, 3.0),
    "launch_push": (0.0, 6.0),
    "inertia": (0.5, 8.0),
    "habit": (0.0, 8.0),
    "reconsider_rate": (0.02, 1.0),
    "w_friction": (0.0, 0.6),
    "w_coached": (0.0, 3.0),
}


def _around_defaults(support: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Each support widened to hold the parameter's current default, clipped to its allowed range."""
    defaults = Behaviour()
    out = {}
    for name, (lo, hi) in support.items():
        value = float(getattr(defaults, name))
        low, high = BEHAVIOUR_RANGES[name]
        out[name] = (max(low, min(lo, value)), min(high, max(hi, value)))
    return out


# What calibration fits, with the prior's support (see the module docstring for why these).
CALIBRATED: dict[str, tuple[float, float]] = _around_defaults(_SUPPORT)
CHURN_BLOCK = 6
"""Weeks per block of the weekly lapse rate the fit matches (one week's rate is too noisy)."""
CHURN_WEIGHT = 1.0
"""How much a point of lapse rate counts against a point of active share in the distance."""


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
    churn: np.ndarray | None = None
    """Observed weekly lapse rate the fit also matched (NaN where unknown), if any."""

    def behaviour(self, thetas: np.ndarray) -> Behaviour:
        """Behaviour with one replicate per parameter set (others at the scenario's values)."""
        return self.scenario.behaviour.with_draws(self.posterior.names, thetas)


def check_series(observed: np.ndarray, *, what: str = "series", unit: str = "week",
                 minimum: int = MIN_WEEKS, needs: str = "calibration") -> np.ndarray:
    """Validate an observed share series of `unit`s (weeks for the store; a series' own periods).

    Raises:
        CalibrationError: fewer than `minimum` points, missing values or shares outside [0, 1].
    """
    y = np.asarray(observed, dtype=float)
    if y.ndim != 1 or y.size < minimum:
        raise CalibrationError(
            f"{what}: {y.size} {unit}{'' if y.size == 1 else 's'} of data; {needs} needs at least {minimum}")
    if not np.all(np.isfinite(y)):
        raise CalibrationError(f"{what}: has missing {unit}s; fill or drop them first")
    if y.min() < 0 or y.max() > 1:
        raise CalibrationError(f"{what}: shares must be between 0 and 1 (got {y.min():.3g}..{y.max():.3g})")
    return y


def check_churn(churn: np.ndarray, weeks: int) -> np.ndarray:
    """Validate an observed weekly lapse rate, one value per observed week (NaN: unknown).

    Raises:
        CalibrationError: not one value per week, or rates outside [0, 1].
    """
    c = np.asarray(churn, dtype=float)
    if c.shape != (weeks,):
        raise CalibrationError(f"churn: {c.size} weeks for a series of {weeks}; give one rate per week")
    known = c[np.isfinite(c)]
    if known.size and (known.min() < 0 or known.max() > 1):
        raise CalibrationError(
            f"churn: rates must be between 0 and 1 (got {known.min():.3g}..{known.max():.3g})")
    return c


def churn_blocks(churn: np.ndarray) -> np.ndarray:
    """(W, B) averaging matrix: block b's mean of the known weekly rates in its CHURN_BLOCK weeks.

    Week 1 has no week before it and is left out; blocks without a known week are dropped.
    """
    known = np.isfinite(churn)
    known[0] = False
    starts = range(1, churn.size, CHURN_BLOCK)
    columns = []
    for s in starts:
        member = np.zeros(churn.size)
        member[s:s + CHURN_BLOCK] = known[s:s + CHURN_BLOCK]
        if member.any():
            columns.append(member / member.sum())
    return np.stack(columns, axis=1) if columns else np.zeros((churn.size, 0))


def _run_batch(scenario: Scenario, thetas: np.ndarray, names: tuple[str, ...], weeks: int, seed: int,
               population: Population) -> EnsembleResult:
    """One replicate per parameter set, overall outcomes only."""
    beh = scenario.behaviour.with_draws(names, thetas)
    return run_ensemble(scenario, runs=len(thetas), weeks=weeks, seed=seed, behaviour=beh,
                        population=population, record_facilities=False)


def simulate_batch(scenario: Scenario, thetas: np.ndarray, names: tuple[str, ...], weeks: int,
                   seed: int, population: Population, observable: str = "active") -> np.ndarray:
    """Trajectories (K, weeks) of one replicate per parameter set."""
    key = "active_share" if observable == "active" else "ever_share"
    return _run_batch(scenario, thetas, names, weeks, seed, population).overall[key].T


def batch_distances(scenario: Scenario, observed: np.ndarray, names: tuple[str, ...],
                    observable: str, population: Population, thetas: np.ndarray,
                    seed: int, churn: np.ndarray | None = None) -> np.ndarray:
    """Distance of each parameter set's trajectory to the observed series.

    Root-mean-square gap of the weekly share; with `churn` (the observed weekly lapse rate), the
    squared gaps of its CHURN_BLOCK-week means are averaged in too.
    """
    result = _run_batch(scenario, thetas, names, observed.size, seed, population)
    key = "active_share" if observable == "active" else "ever_share"
    squared = np.mean((result.overall[key].T - observed) ** 2, axis=1)
    if churn is not None:
        blocks = churn_blocks(churn)
        if blocks.shape[1]:
            simulated = result.overall["weekly_churn"].T @ blocks
            gap = simulated - np.nan_to_num(churn) @ blocks
            squared = squared + CHURN_WEIGHT**2 * np.mean(gap**2, axis=1)
    return np.sqrt(squared)


def calibrate(scenario: Scenario, observed: np.ndarray, *, observable: str = "active",
              priors: dict[str, tuple[float, float]] | None = None, particles: int = 200,
              generations: int = 10, batch: int = 1000, seed: int = 0,
              max_simulations: int = 16_000, executor: Executor | None = None,
              churn: np.ndarray | None = None,
              progress: Callable[[int, int], None] | None = None) -> Calibration:
    """Fit the behavioural parameters to an observed weekly series with ABC-SMC.

    Args:
        scenario: the organisation and its levers as recorded (interventions from the log).
        observed: weekly share, week 1 = rollout start.
        observable: 'active' to match the active share, 'ever' the cumulative share.
        priors: parameter -> uniform prior support; CALIBRATED if None.
        particles: posterior sample size.
        generations: SMC generations (the default budget takes about 20,000 simulations: the
            tolerance keeps falling that long on a real history, e.g. the demo's).
        batch: parameter sets per vectorised simulation.
        seed: seed; the same seed gives the same posterior.
        max_simulations: the simulation budget.
        executor: where batches run (this process, a local pool, Dask); same result for a seed.
        churn: the observed weekly lapse rate (share of last week's users who did not use it),
            one per week of `observed`, NaN where unknown; matched too when given.
        progress: called with (simulations so far, the budget) after every batch (`abc_smc`).

    Returns:
        The calibration, with its weighted posterior sample.

    Raises:
        CalibrationError: the series is too short or not shares, or the churn does not fit it.
    """
    y = check_series(observed)
    c = None if churn is None else check_churn(churn, y.size)
    priors = priors or CALIBRATED
    names = tuple(priors)
    rng = np.random.default_rng(seed)
    population = AdoptionModel(scenario, rng=seed).population

    work = partial(batch_distances, scenario, y, names, observable, population, churn=c)

    def distance(thetas: np.ndarray, sim_seed: int) -> np.ndarray:
        return chunked_map(work, thetas, sim_seed, executor)

    posterior = abc_smc(distance, priors, particles=particles, generations=generations,
                        batch=batch, rng=rng, max_simulations=max_simulations, progress=progress)
    return Calibration(scenario, y, observable, posterior, c)
