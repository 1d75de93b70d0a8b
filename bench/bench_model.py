"""Simulator and forecasting benchmarks (run by `make bench`).

Ensembles against the per-agent Mesa oracle in the same process, a 100,000-technician run, a
1,000-parameter-set batch, calibrating a 78-week series and forecasting from a stored posterior.
"""

from __future__ import annotations

import resource
import time

import numpy as np

import seed_data
from app.services.experiments import Experiment, run_design
from bench.timing import median_seconds, timed_runs
from model.behaviour import BEHAVIOUR_RANGES, Behaviour
from model.calibrate import calibrate
from model.ensemble import run_ensemble
from model.forecast import forecast_plans
from model.model import AdoptionModel
from model.reference.oracle import run_oracle_ensemble
from model.scenario import load_scenario, scenario_from_dict

SCENARIOS = seed_data.path("scenarios")


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _ensemble_vs_oracle(name: str) -> dict:
    spec = load_scenario(SCENARIOS / f"{name}.toml")
    population = AdoptionModel(spec, rng=0).population
    fast = median_seconds(lambda: run_ensemble(spec, runs=100, weeks=78, seed=1, population=population),
                          repeats=15)
    start = time.perf_counter()
    run_oracle_ensemble(spec, runs=100, weeks=78, seed=1, population=population)
    oracle = time.perf_counter() - start
    return {"name": f"ensemble: 100 replicates x 280 technicians x 78 weeks ({name})",
            "median_s": fast, "target_s": 0.15, "n": 15, "n_counts": timed_runs(),
            "note": f"per-agent Mesa oracle, same run, same process: {oracle:.1f} s (one run); "
                    f"speed-up {oracle / fast:.0f}x (target >= 50x)"}


def _sobol_experiment() -> dict:
    """The issue's design: 3 factors x 256 base samples x 20 replicates, 280 technicians, 78 weeks."""
    design_file = seed_data.path("experiments") / "rollout_drivers.toml"
    done: list[Experiment] = []
    seconds = median_seconds(lambda: done.append(run_design(design_file)), repeats=1, warmup=0)
    result = done[-1].result
    st = ", ".join(f"{row['factor']} ST {row['ST']:.2f}" for row in result.sensitivity)
    return {"name": "experiment: Sobol, 3 factors x 256 base samples x 20 replicates (rollout, 78 weeks)",
            "median_s": seconds, "target_s": 60.0, "n": 1, "n_counts": timed_runs(warmup=0),
            "note": f"{len(result.points):,} points, common random numbers; {st}"}


def _optimiser_from_store() -> dict:
    """200 trials from the demo store's calibration (posterior draws, one replicate each)."""
    import tempfile
    from pathlib import Path

    from app.services.calibration import calibrate_store
    from app.services.optimiser import optimise_store
    from db.demo import prepare_first_start
    from db.engine import create_store_engine

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'chasm.db'}"
        engine = create_store_engine(url)
        try:
            prepare_first_start(engine, url)
            calibrate_store(engine, seed=0)
            done = []
            seconds = median_seconds(lambda: done.append(optimise_store(
                engine, budget=265_000, target=0.7, by=104, trials=200)), repeats=1, warmup=0)
        finally:
            engine.dispose()
    best = done[-1].best
    return {"name": "optimise a plan from the store's calibration: 200 trials (+100 for the front), 40 draws each",
            "median_s": seconds, "target_s": 120.0, "n": 1, "n_counts": timed_runs(warmup=0),
            "note": f"demo organisation, budget 265,000, 70% by week 104: {best.probability:.0%} chance for "
                    f"{best.cost:,.0f} ({len(best.choices)} interventions)"}


def run() -> list[dict]:
    rows = [_ensemble_vs_oracle("rollout"), _ensemble_vs_oracle("turnaround")]
    big = scenario_from_dict({"name": "big", "organisation": {"technicians": 100_000, "facilities": 300}})
    rows.append({"name": "one run: 100,000 technicians x 78 weeks (network built inside)",
                 "median_s": median_seconds(lambda: run_ensemble(big, runs=1, weeks=78, seed=2), repeats=5),
                 "target_s": 1.0, "n": 5, "n_counts": timed_runs(), "note": f"peak RSS so far {_peak_rss_mb():.0f} MB"})
    spec = load_scenario(SCENARIOS / "turnaround.toml")
    population = AdoptionModel(spec, rng=0).population
    rng = np.random.default_rng(0)
    draws = {k: rng.uniform(*BEHAVIOUR_RANGES[k], 1000)
             for k in ("base_utility", "w_trust", "w_social", "habit", "trust_loss_false_alarm")}
    batch = Behaviour().with_draws(draws, np.column_stack(list(draws.values())))
    rows.append({"name": "1,000 parameter sets x 280 technicians x 78 weeks (one batch, turnaround)",
                 "median_s": median_seconds(lambda: run_ensemble(spec, runs=1000, seed=3, behaviour=batch,
                                                                 population=population,
                                                                 record_facilities=False), repeats=5),
                 "target_s": 2.0, "n": 5, "n_counts": timed_runs(), "note": f"overall outcomes only (what calibration reads); "
                                                  f"peak RSS {_peak_rss_mb():.0f} MB"})
    observed = run_ensemble(spec, runs=1, seed=11).overall["active_share"][:, 0]
    calibrations = []
    seconds = median_seconds(lambda: calibrations.append(calibrate(spec, observed, seed=len(calibrations))),
                             repeats=3, warmup=0)
    cal = calibrations[-1]
    rows.append({"name": "calibrate one 78-week series (ABC-SMC, default settings)",
                 "median_s": seconds, "target_s": 30.0, "n": 3, "n_counts": timed_runs(warmup=0),
                 "note": f"{cal.posterior.simulations} simulations, {len(cal.posterior.epsilons)} generations"})
    rows.append(_sobol_experiment())
    rows.append(_optimiser_from_store())
    rows.append({"name": "forecast 26 weeks from a stored calibration (200 trajectories)",
                 "median_s": median_seconds(lambda: forecast_plans(cal, horizon=26), repeats=5),
                 "target_s": 1.0, "n": 5, "n_counts": timed_runs(), "note": "current plan; bands, target probability, costs"})
    rows.append(_standalone_forecast())
    return rows


def _standalone_forecast() -> dict:
    """`chasm forecast --series` on a 10-point curve: fit, band calibration, Bass baseline (issue #13)."""
    from model.series import forecast_series

    curve = np.loadtxt(seed_data.path("reference", "ckm_medical_innovation_monthly_curve.csv"), delimiter=",",
                       skiprows=1, usecols=3)[:10]
    seconds = median_seconds(lambda: forecast_series(curve, train=10, horizon=6), repeats=5)
    return {"name": "standalone forecast of a 10-point series (early warning, 6 periods ahead)",
            "median_s": seconds, "target_s": 5.0, "n": 5, "n_counts": timed_runs(),
            "note": "physicians' curve, months 1-10; includes the conformal band and the textbook Bass"}
