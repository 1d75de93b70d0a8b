"""Simulator benchmarks: ensemble vs the per-agent Mesa oracle, a large run, a parameter batch."""

from __future__ import annotations

import resource
from pathlib import Path

import numpy as np

from bench.timing import median_seconds
from model.behaviour import BEHAVIOUR_RANGES, Behaviour
from model.ensemble import run_ensemble
from model.model import AdoptionModel
from model.scenario import load_scenario, scenario_from_dict
from tests.model.oracle import run_oracle_ensemble

SCENARIOS = Path(__file__).resolve().parent.parent / "seed_data" / "scenarios"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run() -> list[dict]:
    spec = load_scenario(SCENARIOS / "turnaround.toml")
    population = AdoptionModel(spec, rng=0).population
    fast = median_seconds(lambda: run_ensemble(spec, runs=100, weeks=78, seed=1,
                                               population=population), repeats=9)
    oracle = median_seconds(lambda: run_oracle_ensemble(spec, runs=100, weeks=78, seed=1,
                                                        population=population),
                            repeats=1, warmup=0)
    rows = [
        {"name": "ensemble: 100 replicates x 280 technicians x 78 weeks (turnaround)",
         "median_s": fast, "target_s": 0.15, "n": 9,
         "note": f"per-agent Mesa oracle, same run: {oracle:.2f} s; speed-up {oracle / fast:.0f}x "
                 "(target >= 50x)"},
    ]
    big = scenario_from_dict({"name": "big", "organisation": {"technicians": 100_000,
                                                              "facilities": 300}})
    rows.append({"name": "one run: 100,000 technicians x 78 weeks (network built inside)",
                 "median_s": median_seconds(lambda: run_ensemble(big, runs=1, weeks=78, seed=2),
                                            repeats=3),
                 "target_s": 1.0, "n": 3, "note": f"peak RSS so far {_peak_rss_mb():.0f} MB"})
    rng = np.random.default_rng(0)
    draws = {k: rng.uniform(*BEHAVIOUR_RANGES[k], 1000)
             for k in ("base_utility", "w_trust", "w_social", "habit", "trust_loss_false_alarm")}
    batch = Behaviour(**(Behaviour().as_dict() | draws))
    rows.append({"name": "1,000 parameter sets x 280 technicians x 78 weeks (one batch)",
                 "median_s": median_seconds(lambda: run_ensemble(spec, runs=1000, seed=3,
                                                                 behaviour=batch,
                                                                 population=population),
                                            repeats=3),
                 "target_s": 2.0, "n": 3, "note": f"peak RSS {_peak_rss_mb():.0f} MB"})
    return rows
