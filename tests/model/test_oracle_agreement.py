"""The vectorised engine agrees with the per-agent Mesa oracle (model/reference/oracle.py).

Both run the same population (network, facilities, pilot flags); their ensembles' means must agree
within sampling error at months 1, 3, 6, 12 and 18. No test here depends on a parameter's value.
"""

from dataclasses import replace
from functools import cache
from math import sqrt

import numpy as np
import pytest

import seed_data
from model.behaviour import BEHAVIOUR_RANGES
from model.ensemble import run_ensemble
from model.population import build_population
from model.reference.oracle import METRICS, OracleModel, Technician, oracle_replicates, run_oracle_ensemble
from model.scenario import load_scenario

SCENARIOS = seed_data.path("scenarios")
ENGINE_RUNS = 400
# name -> (weeks simulated, oracle replicates). The oracle costs ~3 ms per 280-technician week:
# 78 weeks only where something still happens after month 12 (the turnaround's calendar).
CASES = {"pilot": (26, 200), "rollout": (52, 80), "turnaround": (78, 80), "waves": (52, 80)}
MONTHS = (1, 3, 6, 12, 18)
COMPARED = ("active_share", "lapsed_share", "mean_trust", "mean_competence", "depth")


def checkpoints(weeks: int) -> list[int]:
    """Weeks of months 1, 3, 6, 12 and 18 within the horizon."""
    return [w for w in (round(m * 52 / 12) for m in MONTHS) if w <= weeks]


def disagreement(a: np.ndarray, b: np.ndarray, slack: float = 0.01) -> float:
    """|mean difference| beyond 4 standard errors + slack (> 0: the means disagree)."""
    se = sqrt(a.var(ddof=1) / a.size + b.var(ddof=1) / b.size)
    return abs(a.mean() - b.mean()) - (4.0 * se + slack)


def disagreements(engine: dict[str, np.ndarray], oracle: dict[str, np.ndarray], weeks: int,
                  metrics=COMPARED) -> list[str]:
    """Every (metric, week) at which the two ensembles' means disagree, described."""
    out = []
    for metric in metrics:
        for week in checkpoints(weeks):
            e, o = engine[metric][week - 1], oracle[metric][week - 1]
            if disagreement(e, o) > 0:
                out.append(f"{metric} week {week}: engine {e.mean():.4f} vs oracle {o.mean():.4f}")
    return out


@cache
def case(name: str):
    """Scenario, population and the oracle's ensemble (metrics and wave open weeks), run once."""
    spec = load_scenario(SCENARIOS / f"{name}.toml")
    weeks, runs = CASES[name]
    population = build_population(spec.organisation, np.random.default_rng(2026))
    models = list(oracle_replicates(spec, runs, weeks, seed=11, population=population))
    oracle = {m: np.column_stack([model.datacollector.model_vars[m] for model in models])
              for m in METRICS}
    opened = np.array([model.wave_open_week for model in models])
    return spec, population, weeks, oracle, opened


def engine_run(name: str, behaviour=None):
    spec, population, weeks, _, _ = case(name)
    return run_ensemble(spec, runs=ENGINE_RUNS, weeks=weeks, seed=12, population=population,
                        behaviour=behaviour)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(CASES))
def test_engine_agrees_with_per_agent_oracle(name):
    _, _, weeks, oracle, opened = case(name)
    engine = engine_run(name)
    assert not disagreements(engine.overall, oracle, weeks)
    # The go/no-go gates open at the same time (never opened counts as the horizon + 1).
    for w in range(opened.shape[1]):
        e = np.where(engine.wave_open_weeks[:, w] > 0, engine.wave_open_weeks[:, w], weeks + 1)
        o = np.where(opened[:, w] > 0, opened[:, w], weeks + 1)
        assert disagreement(e.astype(float), o.astype(float), slack=0.5) <= 0, (
            f"wave {w + 1} opens at week {e.mean():.2f} (engine) vs {o.mean():.2f} (oracle)")


@pytest.mark.slow
def test_agreement_check_detects_a_changed_rule():
    """The engine with a noticeably different trust weight disagrees with the default oracle."""
    spec, _, weeks, oracle, _ = case("turnaround")
    w = float(spec.behaviour.w_trust)
    changed = w + 3 if w + 3 <= BEHAVIOUR_RANGES["w_trust"][1] else w / 2
    engine = engine_run("turnaround", replace(spec.behaviour, w_trust=changed))
    assert disagreements(engine.overall, oracle, weeks)


def test_oracle_is_one_agent_per_technician():
    spec = load_scenario(SCENARIOS / "rollout.toml")
    population = build_population(spec.organisation, np.random.default_rng(1))
    model = OracleModel(spec, rng=3, population=population)
    assert len(model.agents) == population.size
    assert all(isinstance(a, Technician) for a in model.agents)
    assert sorted(a.index for a in model.agents) == list(range(population.size))
    for tech in model.agents:
        assert sorted(n.index for n in tech.neighbours) == sorted(population.adjacency[tech.index].indices)
        assert tech.facility == population.facility[tech.index]
        assert tech.active == tech.pilot == bool(population.pilot[tech.index])
        assert isinstance(tech.trust, float) and isinstance(tech.z, float)
    model.run_for(3)
    assert model.week == 3 and len(model.datacollector.model_vars["active_share"]) == 3


def test_oracle_calendar_fires_before_its_week():
    spec = load_scenario(SCENARIOS / "turnaround.toml")
    population = build_population(spec.organisation, np.random.default_rng(1))
    model = OracleModel(spec, rng=4, population=population)
    model.run_for(25)
    assert not any(t.champion for t in model.agents) and model.levers.transparency == 0
    model.run_for(1)  # week 26: champions launched, transparency in force
    champions = [t for t in model.agents if t.champion]
    assert len(champions) == 12 and all(t.pilot and t.active for t in champions)
    assert model.levers.transparency == 0.8


def test_oracle_is_reproducible():
    spec = load_scenario(SCENARIOS / "pilot.toml")
    population = build_population(spec.organisation, np.random.default_rng(1))
    a = run_oracle_ensemble(spec, runs=4, weeks=10, seed=5, population=population)
    b = run_oracle_ensemble(spec, runs=4, weeks=10, seed=5, population=population)
    assert set(a) == set(METRICS) and a["active_share"].shape == (10, 4)
    for metric in METRICS:
        np.testing.assert_array_equal(a[metric], b[metric])
