"""The plan optimiser: optuna over the menu, within the budget, against the seed's hand-made turnaround."""

import itertools
from dataclasses import replace

import numpy as np
import pytest

import seed_data
from model.ensemble import run_ensemble
from model.optimise import (
    OptimiseError,
    Request,
    load_menu,
    menu_from_dict,
    optimise,
    optimise_to_json,
    plan_scenario,
)
from model.scenario import load_scenario, scenario_from_toml

MENU = load_menu(seed_data.path("plans", "menu.toml"))
ROLLOUT = load_scenario(seed_data.path("scenarios", "rollout.toml"))
TURNAROUND = load_scenario(seed_data.path("scenarios", "turnaround.toml"))


def _month18(spec) -> float:
    """Mean active share at week 78 over 200 replicates, on a seed the optimiser never saw."""
    return float(run_ensemble(spec, runs=200, weeks=78, seed=99).overall["active_share"][77].mean())


@pytest.fixture(scope="module")
def full_budget():
    return optimise(Request(ROLLOUT, budget=265_000, target=0.7, by=78, from_week=26), MENU)


def test_the_default_menu_prices_the_turnaround_as_the_preset_does():
    assert sum(iv.cost for iv in TURNAROUND.interventions) == 265_000
    full = {"champions": 12, "transparency": 1.0, "training": 40}
    total = sum(item.cost(week=26, size=full.get(item.key), technicians=280, horizon=78) for item in MENU)
    assert total == 265_000


def test_with_the_turnarounds_budget_it_does_at_least_as_well_as_the_turnaround(full_budget):
    """Deciding from month 6 of the failed rollout, with 265,000."""
    assert full_budget.best.cost <= 265_000
    assert full_budget.best.probability >= full_budget.baseline.probability
    assert _month18(plan_scenario(full_budget, full_budget.best)) >= _month18(TURNAROUND)


def test_with_30000_it_keeps_to_the_budget_and_beats_every_affordable_part_of_the_turnaround():
    result = optimise(Request(ROLLOUT, budget=30_000, target=0.7, by=78, from_week=26), MENU)
    assert result.best.cost <= 30_000
    assert all(plan.cost <= 30_000 for plan in result.front)
    affordable = [sub for k in range(1, 6) for sub in itertools.combinations(TURNAROUND.interventions, k)
                  if sum(iv.cost for iv in sub) <= 30_000]
    best_subset = max(_month18(replace(TURNAROUND, interventions=sub)) for sub in affordable)
    assert _month18(plan_scenario(result, result.best)) >= best_subset


def test_a_budget_too_small_for_anything_recommends_nothing():
    result = optimise(Request(ROLLOUT, budget=3_000, target=0.7, by=78, from_week=26, trials=30), MENU)
    assert result.best.choices == () and result.best.cost == 0
    assert result.best.probability == result.baseline.probability


def test_the_front_trades_money_for_chance(full_budget):
    front = full_budget.front
    assert len(front) >= 2
    assert all(a.cost < b.cost and a.probability < b.probability for a, b in itertools.pairwise(front))


def test_the_json_document_and_its_plan_toml_runs_as_is(full_budget):
    doc = optimise_to_json(full_budget)
    assert set(doc) >= {"plan", "plan_toml", "pareto", "baseline"}
    plan = doc["plan"]
    assert set(plan) == {"interventions", "cost", "probability_of_target", "expected_week", "active_share"}
    assert set(plan["active_share"]) == {"mean", "p10", "p90"}
    assert len(plan["active_share"]["mean"]) == 78 + 3  # to the deadline and the weeks that hold it
    assert all(set(p) == {"cost", "probability_of_target", "plan_toml"} for p in doc["pareto"])
    spec = scenario_from_toml(doc["plan_toml"])
    assert sum(iv.cost for iv in spec.interventions) == plan["cost"]
    assert [iv.week for iv in spec.interventions] == sorted(i["week"] for i in plan["interventions"])
    assert doc["baseline"]["interventions"] == [] and doc["baseline"]["cost"] == 0


def test_lead_times_and_the_fixed_past_are_respected(full_budget):
    weeks = {c.item.key: c.week for c in full_budget.best.choices}
    assert all(w >= 26 for w in weeks.values())
    if "cmms" in weeks:
        assert weeks["cmms"] >= 26 + 12


def test_progress_and_cancel_return_the_best_so_far():
    seen = []

    def stop() -> bool:
        return len(seen) >= 10

    result = optimise(Request(ROLLOUT, budget=265_000, target=0.7, by=52, from_week=26, trials=50),
                      MENU, progress=lambda done, total, best: seen.append((done, total, best)),
                      cancelled=stop)
    assert result.trials == 10 and seen[-1][:2] == (10, 75)
    assert result.best.cost <= 265_000


def test_the_same_seed_gives_the_same_plan():
    a = optimise(Request(ROLLOUT, budget=30_000, target=0.5, by=52, from_week=26, trials=25), MENU)
    b = optimise(Request(ROLLOUT, budget=30_000, target=0.5, by=52, from_week=26, trials=25), MENU)
    assert [c.as_dict() for c in a.best.choices] == [c.as_dict() for c in b.best.choices]
    np.testing.assert_array_equal(a.best.share, b.best.share)


@pytest.mark.parametrize(("doc", "message"), [
    ({}, "menu.toml: items: the menu needs at least one [[items]] entry"),
    ({"items": [{"key": "x", "label": "X", "levers": {"friction": 1}}]},
     "menu.toml: items[1]: levers.friction: no such lever"),
    ({"items": [{"key": "x", "label": "X", "levers": {"kpi": "smiles"}}]},
     "menu.toml: items[1]: levers.kpi = 'smiles': must be one of tickets_closed, balanced, "
     "downtime_prevented"),
    ({"items": [{"key": "x", "label": "X", "size": "training_per_week", "size_range": [5]}]},
     "menu.toml: items[1]: size_range = [5]: give [low, high] inside [0, 100000]"),
    ({"items": [{"key": "x", "label": "X", "fixed_cost": -5}]},
     "menu.toml: items[1]: fixed_cost = -5: must be an amount, 0 or more"),
    ({"items": [{"key": "x", "label": "X", "colour": "red"}]}, "menu.toml: items[1]: colour: unknown key"),
])
def test_bad_menus_say_which_item_and_why(doc, message):
    with pytest.raises(OptimiseError) as err:
        menu_from_dict(doc, "menu.toml")
    assert str(err.value).startswith(message)


def test_a_deadline_before_the_first_decision_is_refused():
    with pytest.raises(OptimiseError,
                       match=r"the deadline \(week 20\) must be after the first decision week \(26\)"):
        optimise(Request(ROLLOUT, budget=1000, target=0.7, by=20, from_week=26), MENU)
