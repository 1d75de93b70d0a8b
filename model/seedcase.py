"""The seed case's posterior: the technicians behind "41% in month 1, 38% in month 3, 73% by month 18".

An organisation with its own tracked history has its own calibration (`model.calibrate`). Before it
has one, a what-if can still be run over what we do not know about the technicians by using the seed
case's: the behaviour parameters that `model.calibrate` fits (`CALIBRATED`, same priors), fitted by
ABC-SMC to the three numbers the case reports, each a share of 280 technicians:

- the rollout preset in month 1 (week 4): 41%, and in month 3 (week 13): 38%;
- the turnaround preset in month 18 (week 78): 73%.

The distance is the root-mean-square gap over the three numbers, one replicate per parameter set
(the two presets share the random numbers: the same seed). Three numbers cannot pin down seven
parameters; the posterior is wide on purpose, and that is what a what-if over it reports. The
tolerance stops at SAMPLING_NOISE, the standard error of a 40% share among 280 technicians
(sqrt(0.4 * 0.6 / 280) = 2.9 points): fitting closer than the data's own noise would fit the noise.

The fitted sample ships as `seed_data/posteriors/seed_case.json`, written by
`python -m model.seedcase --write seed_data/posteriors/seed_case.json` (about a minute).
"""

from __future__ import annotations

import functools
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

import seed_data
from model import early
from model.abc import Posterior, abc_smc
from model.calibrate import CALIBRATED
from model.ensemble import run_ensemble
from model.model import AdoptionModel
from model.scenario import Scenario, load_scenario

SCHEMA_VERSION = 1
POSTERIOR_FILE = seed_data.path("posteriors", "seed_case.json")


@dataclass(frozen=True)
class Reported:
    """One number the seed case reports: a preset's active share at a week."""

    preset: str
    week: int
    share: float
    words: str


REPORTED = (
    Reported("rollout", 4, 0.41, "41% in month 1 of the rollout"),
    Reported("rollout", 13, 0.38, "38% in month 3 of the rollout"),
    Reported("turnaround", 78, 0.73, "73% by month 18, after the turnaround"),
)
SAMPLING_NOISE = float(np.sqrt(0.4 * 0.6 / 280))


def _presets() -> dict[str, Scenario]:
    return {name: load_scenario(seed_data.path("scenarios", f"{name}.toml"))
            for name in sorted({r.preset for r in REPORTED})}


def simulated(thetas: np.ndarray, names: tuple[str, ...], seed: int,
              presets: dict[str, Scenario] | None = None) -> np.ndarray:
    """(K, len(REPORTED)): each parameter set's simulated value of each reported number."""
    presets = presets or _presets()
    out = np.empty((len(thetas), len(REPORTED)))
    for name, scenario in presets.items():
        wanted = [(i, r) for i, r in enumerate(REPORTED) if r.preset == name]
        weeks = max(r.week for _, r in wanted)
        population = AdoptionModel(scenario, rng=seed).population
        result = run_ensemble(scenario, runs=len(thetas), weeks=weeks, seed=seed,
                              behaviour=scenario.behaviour.with_draws(names, thetas),
                              population=population, record_facilities=False)
        for i, r in wanted:
            out[:, i] = result.overall["active_share"][r.week - 1]
    return out


def fit(*, particles: int = 300, batch: int = 1000, seed: int = 0,
        max_simulations: int = 30_000) -> Posterior:
    """ABC-SMC of CALIBRATED to REPORTED, down to SAMPLING_NOISE."""
    names = tuple(CALIBRATED)
    presets = _presets()
    target = np.array([r.share for r in REPORTED])

    def distance(thetas: np.ndarray, sim_seed: int) -> np.ndarray:
        gap = simulated(thetas, names, sim_seed, presets) - target
        return np.sqrt(np.mean(gap**2, axis=1))

    return abc_smc(distance, CALIBRATED, particles=particles, generations=12, batch=batch,
                   rng=np.random.default_rng(seed), max_simulations=max_simulations,
                   tolerance=SAMPLING_NOISE)


def to_json(posterior: Posterior, *, seed: int) -> dict[str, Any]:
    """The shipped file's content."""
    return {"schema_version": SCHEMA_VERSION, "seed": seed,
            "reported": [r.words for r in REPORTED], "tolerance": SAMPLING_NOISE,
            "command": "python -m model.seedcase --write seed_data/posteriors/seed_case.json",
            "posterior": posterior.to_dict()}


def seed_posterior(path: Path = POSTERIOR_FILE) -> Posterior:
    """The shipped seed-case posterior.

    Raises:
        ValueError: the file is of another schema version.
    """
    doc = json.loads(path.read_text())
    if doc.get("schema_version") != SCHEMA_VERSION:
        raise ValueError(f"{path}: schema version {doc.get('schema_version')}; this Chasm reads "
                         f"{SCHEMA_VERSION} (write it again with {doc.get('command', 'model.seedcase')})")
    return Posterior.from_dict(doc["posterior"])


@functools.cache
def seed_case_prior(draws: int = 12, weeks: int = 52, seed: int = 0) -> early.Prior:
    """The early-warning prior of a weekly rollout: the seed case's behaviour, as diffusion curves.

    `draws` parameter sets from the seed-case posterior run the rollout preset for `weeks` weeks; the
    diffusion curve is fitted to each run's active share (from the published prior) and the fits are
    pooled (`early.pooled_prior`). What a facility leans on before the organisation has history of its
    own. Cached per process.
    """
    posterior = seed_posterior()
    rng = np.random.default_rng(seed)
    scenario = _presets()["rollout"]
    thetas = posterior.draw(draws, rng)
    result = run_ensemble(scenario, runs=draws, weeks=weeks, seed=seed,
                          behaviour=scenario.behaviour.with_draws(posterior.names, thetas),
                          population=AdoptionModel(scenario, rng=seed).population, record_facilities=False)
    fits = [early.fit(result.overall["active_share"][:, k], cumulative=False, seed=seed, particles=3000)
            for k in range(draws)]
    return early.pooled_prior(fits, source="the seed case (a rollout of 280 technicians like ours)")


if __name__ == "__main__":  # python -m model.seedcase --write FILE
    if len(sys.argv) != 3 or sys.argv[1] != "--write":
        sys.exit("usage: python -m model.seedcase --write FILE")
    fitted = fit()
    Path(sys.argv[2]).write_text(json.dumps(to_json(fitted, seed=0), indent=1) + "\n")
    print(f"{len(fitted.samples)} particles after {fitted.simulations:,} simulations; tolerances "
          + ", ".join(f"{e:.3f}" for e in fitted.epsilons))
