"""Experiment designs: SALib's sampling and indices over scenario variants, common random numbers."""

import numpy as np
import pytest

from model.experiment import (
    DesignError,
    count_points,
    experiment_rows,
    experiment_to_json,
    parse_design,
    run_experiment,
)
from model.scenario import scenario_from_dict, scenario_to_dict

SMALL = {"weeks": 26, "organisation": {"technicians": 60, "facilities": 3},
         "levers": {"friction_minutes": 7.5, "kpi": "tickets_closed", "support": 0.2}}


def _design(**doc):
    base = scenario_to_dict(scenario_from_dict(SMALL, name="small"))
    doc = {"scenario": "small", "runs": 4, "output": "active_share@week20", **doc, "scenario_doc": base}
    return parse_design(doc, "design.toml")


def test_sobol_ranks_friction_above_an_inert_factor():
    """Training hours do nothing while no training wave runs: its indices are near zero."""
    design, doc = _design(method="sobol", samples=32, factors={
        "levers.friction_minutes": [0.5, 30.0], "levers.training_hours": [1.0, 20.0]})
    result = run_experiment(design, doc)
    assert len(result.points) == count_points(design) == 32 * 4
    by = {row["factor"]: row for row in result.sensitivity}
    assert by["levers.friction_minutes"]["ST"] > 0.5
    assert abs(by["levers.training_hours"]["ST"]) < 0.05
    assert by["levers.friction_minutes"]["S1_conf"] > 0


def test_morris_gives_mu_star_and_sigma():
    design, doc = _design(method="morris", samples=6, factors={
        "levers.friction_minutes": [0.5, 30.0], "levers.training_hours": [1.0, 20.0]})
    result = run_experiment(design, doc)
    by = {row["factor"]: row for row in result.sensitivity}
    assert set(by["levers.friction_minutes"]) == {"factor", "mu_star", "sigma"}
    assert by["levers.friction_minutes"]["mu_star"] > 10 * by["levers.training_hours"]["mu_star"]


def test_grid_takes_lists_and_identical_points_share_their_random_numbers():
    design, doc = _design(method="grid", factors={"levers.friction_minutes": [7.5, 7.5, 0.5],
                                                   "levers.kpi": ["tickets_closed", "downtime_prevented"]})
    result = run_experiment(design, doc)
    assert [p.factors for p in result.points[:2]] == [
        {"levers.friction_minutes": 7.5, "levers.kpi": "tickets_closed"},
        {"levers.friction_minutes": 7.5, "levers.kpi": "downtime_prevented"}]
    np.testing.assert_array_equal(result.points[0].values, result.points[2].values)  # same point, same luck
    low, high = result.points[0].stats()["mean"], result.points[4].stats()["mean"]
    assert high > low  # 0.5 minutes beats 7.5 under the same KPI and the same draws
    assert result.sensitivity == ()


def test_lhs_samples_whole_numbers_whole_and_reports_weeks_to_target_and_cost():
    design, doc = _design(method="lhs", samples=5, output="weeks_to_target", target=0.3,
                          factors={"levers.alerts_per_week": [1, 9]})
    result = run_experiment(design, doc)
    assert all(isinstance(p.factors["levers.alerts_per_week"], int) for p in result.points)
    assert all(1 <= v <= 26 for p in result.points for v in p.values if np.isfinite(v))
    costed = {**SMALL, "interventions": [{"week": 10, "kpi": "balanced", "cost": 5000},
                                         {"week": 20, "support": 0.5, "cost": 2500}]}
    base = scenario_to_dict(scenario_from_dict(costed, name="costed"))
    with pytest.raises(DesignError) as err:
        parse_design({"method": "grid", "runs": 2, "output": "cost", "scenario_doc": base,
                      "factors": {"interventions.2.week": [15, 30]}}, "design.toml")
    assert str(err.value).startswith("design.toml: factors.interventions.2.week: ")
    design, doc = parse_design({"method": "grid", "runs": 2, "output": "cost", "scenario_doc": base,
                                "factors": {"interventions.2.week": [15, 25]}}, "design.toml")
    costs = [p.stats()["mean"] for p in run_experiment(design, doc).points]
    assert costs == [7500.0, 7500.0]


def test_the_json_document_and_the_tidy_rows():
    design, doc = _design(method="sobol", samples=4, factors={"levers.friction_minutes": [0.5, 12.0],
                                                               "behaviour.habit": [0.5, 2.0]})
    result = run_experiment(design, doc)
    out = experiment_to_json(result, {"seed": 0})
    assert set(out) == {"design", "points", "sensitivity", "manifest"}
    point = out["points"][0]
    assert set(point) == {"factors", "outputs"}
    assert set(point["outputs"]["active_share@week20"]) == {"mean", "p05", "p50", "p95"}
    assert set(out["sensitivity"][0]) == {"factor", "S1", "S1_conf", "ST", "ST_conf"}
    rows = experiment_rows(result)
    assert len(rows) == len(result.points) * 4
    assert set(rows[0]) == {"point", "replicate", "levers.friction_minutes", "behaviour.habit",
                            "active_share@week20"}


@pytest.mark.parametrize(("doc", "message"), [
    ({"method": "anova", "factors": {"levers.support": [0, 1]}},
     "design.toml: method = 'anova': must be one of grid, lhs, morris, sobol"),
    ({"method": "sobol", "factors": {"levers.friction": [0, 1]}},
     "design.toml: factors.levers.friction = 'levers.friction': levers has no value 'friction' (it has: "
     "alert_precision, alerts_per_week, champion_capacity, friction_minutes, kpi, support, support_hours, "
     "training_hours, training_mode, training_per_week, transparency)"),
    ({"method": "sobol", "factors": {"levers.friction_minutes": [0.5, 90]}},
     "design.toml: factors.levers.friction_minutes: levers.friction_minutes = 90.0: out of range"),
    ({"method": "sobol", "factors": {"levers.friction_minutes": [5, 1]}},
     "design.toml: factors.levers.friction_minutes = [5, 1]: the range must be [low, high] with low "
     "below high"),
    ({"method": "sobol", "factors": {"interventions.1.week": [1, 5]}},
     "design.toml: factors.interventions.1.week = 'interventions.1.week': interventions has 0 entries"),
    ({"method": "sobol", "factors": {"behaviour.courage": [0, 1]}},
     "design.toml: factors.behaviour.courage = 'behaviour.courage': no such behaviour parameter"),
    ({"method": "grid", "factors": {"levers.support": [0.1, 0.9]}, "output": "active_share@week99"},
     "design.toml: output = 'active_share@week99': week 99 is after the scenario's 26 weeks"),
    ({"method": "lhs", "factors": {"levers.support": [0.1, 0.9]}, "output": "happiness@week9"},
     "design.toml: output = 'happiness@week9': must be weeks_to_target, cost, or a measure"),
    ({"method": "lhs", "factors": {}}, "design.toml: factors = {}: give at least one factor"),
    ({"method": "lhs", "runs": 0, "factors": {"levers.support": [0.1, 0.9]}},
     "design.toml: runs = 0: must be a whole number from 1 to 10,000"),
])
def test_bad_designs_say_which_key_and_why(doc, message):
    with pytest.raises(DesignError) as err:
        _design(**doc)
    assert str(err.value).startswith(message)
