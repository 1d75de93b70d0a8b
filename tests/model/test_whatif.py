"""What-ifs over a posterior: the seed case's posterior, lever effects, and which lever beats which."""

from dataclasses import replace

import numpy as np
import pytest

import seed_data
from model.abc import abc_smc
from model.scenario import Intervention, load_scenario
from model.seedcase import REPORTED, SAMPLING_NOISE, seed_posterior, simulated
from model.whatif import posterior_whatif, without


@pytest.fixture(scope="module")
def turnaround():
    return load_scenario(seed_data.path("scenarios", "turnaround.toml"))


@pytest.fixture(scope="module")
def posterior():
    return seed_posterior()


def worlds(posterior, scenario, n, seed=0):
    return scenario.behaviour.with_draws(posterior.names, posterior.draw(n, np.random.default_rng(seed)))


def test_the_shipped_seed_posterior_reproduces_the_three_reported_numbers(posterior):
    assert posterior.samples.shape == (300, 7)
    assert posterior.epsilons[-1] <= SAMPLING_NOISE + 1e-12
    draws = posterior.draw(200, np.random.default_rng(3))
    values = simulated(draws, posterior.names, seed=11)  # a fresh seed: not the one it was fitted with
    for i, reported in enumerate(REPORTED):
        assert abs(values[:, i].mean() - reported.share) < 0.04, reported.words
    # Wide on purpose: three numbers cannot pin seven parameters down.
    low, high = posterior.interval(0.9)["reconsider_rate"]
    assert high - low > 0.3


def test_abc_stops_at_the_tolerance_floor():
    def distance(thetas, seed):
        return np.abs(thetas[:, 0] - 0.5)

    post = abc_smc(distance, {"x": (0.0, 1.0)}, particles=50, generations=20, batch=200,
                   rng=np.random.default_rng(0), tolerance=0.05)
    assert post.epsilons[-1] == 0.05 and len(post.epsilons) < 20
    assert np.all(post.distances <= 0.05)


def test_abc_reports_its_progress_against_the_budget():
    def distance(thetas, seed):
        return np.abs(thetas[:, 0] - 0.5)

    told: list[tuple[int, int]] = []
    post = abc_smc(distance, {"x": (0.0, 1.0)}, particles=50, generations=5, batch=200,
                   rng=np.random.default_rng(0), max_simulations=3000,
                   progress=lambda d, t: told.append((d, t)))
    assert told[0] == (200, 3000) and all(t == 3000 for _, t in told)
    done = [d for d, _ in told]
    assert done == sorted(done) and done[-1] == min(post.simulations, 3000)


def test_an_intervention_that_changes_nothing_has_no_effect_in_any_world(turnaround, posterior):
    """Paired runs (common random numbers): leaving out a no-op changes not one replicate."""
    noop = Intervention(week=40, levers={"support": 0.5}, label="Support as it already is")
    scenario = replace(turnaround, interventions=(*turnaround.interventions, noop))
    result = posterior_whatif(scenario, worlds(posterior, scenario, 40), 40, source="the seed case")
    by_label = {e.label: e for e in result.effects}
    assert np.all(by_label["Support as it already is"].draws == 0.0)
    assert by_label["Support as it already is"].stats()["helps_share"] == 0.0


def test_each_root_cause_helps_in_most_plausible_worlds_and_comparisons_are_consistent(turnaround, posterior):
    result = posterior_whatif(turnaround, worlds(posterior, turnaround, 120), 120, source="the seed case")
    stats = {e.label: e.stats() for e in result.effects}
    assert len(stats) == 5
    assert stats["AI embedded in the existing CMMS"]["helps_share"] >= 0.9
    assert stats["KPIs reward downtime prevented, not tickets closed"]["helps_share"] >= 0.9
    assert stats["Pilot technicians become AI champions"]["p05"] > 0
    for e in stats.values():
        assert e["p05"] <= e["p50"] <= e["p95"]
    for a in range(5):
        for b in range(5):
            if a != b:
                assert result.beats(a, b) + result.beats(b, a) == pytest.approx(1.0)
    assert all(p >= 0.5 for _, _, p in result.comparisons())
    doc = result.to_json()
    assert doc["schema_version"] == 1 and doc["worlds"] == 120 and doc["week"] == 78
    assert {c["a"] for c in doc["comparisons"]} <= set(stats)


def test_the_effect_is_the_full_calendar_minus_the_calendar_without_it(turnaround, posterior):
    from model.ensemble import run_ensemble

    beh = worlds(posterior, turnaround, 30)
    result = posterior_whatif(turnaround, beh, 30, source="the seed case", weeks=60)
    last = len(turnaround.interventions) - 1  # the CMMS, week 44
    alone = run_ensemble(without(turnaround, last), runs=30, weeks=60, seed=0, behaviour=beh)
    full = run_ensemble(turnaround, runs=30, weeks=60, seed=0, behaviour=beh)
    expected = full.overall["active_share"][59] - alone.overall["active_share"][59]
    assert np.array_equal(result.effects[last].draws, expected)


def test_interventions_after_the_outcome_week_are_left_out(turnaround, posterior):
    result = posterior_whatif(turnaround, worlds(posterior, turnaround, 10), 10, source="s", weeks=32)
    assert [e.week for e in result.effects] == [26, 26, 30]
