import json
from dataclasses import replace

import numpy as np
import pytest
from typer.testing import CliRunner

from app import cli
from model.calibrate import calibrate
from model.ensemble import run_ensemble
from model.forecast import forecast_plans, hindcast, rank_plans
from model.plan import load_plan, plan_from_dict
from model.scenario import ScenarioError

from .conftest import REFERENCE


@pytest.fixture(scope="module")
def calibration(presets):
    y = run_ensemble(presets["rollout"], runs=1, seed=11).overall["active_share"][:30, 0]
    return calibrate(presets["rollout"], y, particles=100, generations=3, batch=500, seed=2,
                     max_simulations=4000)


def _plan(presets, doc):
    return plan_from_dict(doc, presets["rollout"])


def test_forecast_bands_probability_and_ranking(presets, calibration):
    champions = _plan(presets, {"name": "12 champions in week 32", "interventions": [
        {"week": 32, "champions": {"count": 12, "strategy": "pilot"}, "cost": 1000}]})
    embed = _plan(presets, {"name": "embed in the CMMS", "interventions": [
        {"week": 32, "friction_minutes": 0.5, "kpi": "downtime_prevented", "cost": 150000}],
        "costs": {"downtime_cost_per_hour": 2000}})
    forecasts = forecast_plans(calibration, horizon=26, plans=(champions, embed), target=0.7,
                               draws=100, seed=1)
    bands = forecasts[0].bands()
    assert list(bands["week"]) == list(range(31, 57))
    assert (bands["p025"] <= bands["p10"]).all() and (bands["p10"] <= bands["p50"]).all()
    assert (bands["p50"] <= bands["p90"]).all() and (bands["p90"] <= bands["p975"]).all()
    for alternative in forecasts[1:]:
        assert alternative.expected_at_horizon > forecasts[0].expected_at_horizon + 0.05
    ranked = rank_plans(forecasts)
    assert ranked["probability_of_target"].is_monotonic_decreasing
    assert ranked.iloc[-1]["plan"] == "current plan"
    by_plan = ranked.set_index("plan")
    assert by_plan.loc["embed in the CMMS", "downtime_saving"] > 0
    assert by_plan.loc["embed in the CMMS", "cost_per_point"] == pytest.approx(
        150000 / by_plan.loc["embed in the CMMS", "points_gained"])
    assert forecasts[1].cost > 1000  # champions' coaching hours are costed too


def test_forecast_is_reproducible(calibration):
    a = forecast_plans(calibration, horizon=8, draws=50, seed=3)[0].bands()
    b = forecast_plans(calibration, horizon=8, draws=50, seed=3)[0].bands()
    assert a.equals(b)


def test_the_forecast_starts_where_adoption_is_today(calibration):
    """An organisation running above what the model can reach (its last four weeks lifted by 25 points):
    the forecast's first week starts from today's level, not below it, and keeps its spread."""
    lifted = calibration.observed.copy()
    lifted[-4:] += 0.25
    today = lifted[-4:].mean()
    for cal in (calibration, replace(calibration, observed=lifted)):
        first = forecast_plans(cal, horizon=4, draws=100, seed=5)[0].bands().iloc[0]
        assert first["p50"] == pytest.approx(cal.observed[-4:].mean(), abs=0.02)
        assert first["p90"] > first["p10"]
    assert first["p50"] == pytest.approx(today, abs=0.02)


def test_the_hindcast_lays_the_fitted_model_over_the_whole_rollout(calibration):
    """One run per posterior draw from week 1: reproducible, as long as asked, and its 90% band holds
    most of the series it was fitted to."""
    result = hindcast(calibration, runs=60, weeks=40, seed=5)
    assert result.runs == 60 and result.overall["active_share"].shape == (40, 60)
    again = hindcast(calibration, runs=60, weeks=40, seed=5)
    assert np.array_equal(result.overall["active_share"], again.overall["active_share"])
    assert hindcast(calibration, runs=10, seed=5).overall["active_share"].shape[0] == 30  # the fitted weeks
    band = result.summary("active_share").loc[1:30]
    y = calibration.observed
    inside = ((y >= band["p05"].to_numpy()) & (y <= band["p95"].to_numpy())).mean()
    assert inside >= 0.8, f"only {inside:.0%} of the fitted weeks inside the hindcast's 90% band"


def test_the_organisations_costs_price_every_plan_unless_a_plan_says_otherwise(presets, calibration):
    from model.plan import Costs

    org = Costs(downtime_cost_per_hour=200.0, wage_per_hour=50.0)
    doc = {"interventions": [{"week": 32, "support": 0.8}]}
    assert plan_from_dict(doc, presets["rollout"], costs=org).costs == org
    own = plan_from_dict(doc | {"costs": {"wage_per_hour": 60}}, presets["rollout"], costs=org).costs
    assert (own.wage_per_hour, own.downtime_cost_per_hour) == (60.0, 200.0)
    assert plan_from_dict(doc, presets["rollout"]).costs == Costs()

    current = forecast_plans(calibration, horizon=8, draws=50, seed=3, costs=org)[0]
    assert current.plan.name == "current plan" and current.plan.costs == org
    hours, money = current.downtime_saving()
    assert hours > 0 and money == pytest.approx(200.0 * hours)


def test_plan_in_the_past_or_with_unknown_lever_is_refused(presets, calibration, tmp_path):
    past = _plan(presets, {"interventions": [{"week": 10, "kpi": "balanced"}]})
    with pytest.raises(ScenarioError, match=r"interventions\[1\].week = 10 is in the past "
                                            r"\(the data runs to week 30\); plan from week 31"):
        forecast_plans(calibration, horizon=4, plans=(past,))
    path = tmp_path / "p.toml"
    path.write_text("[[interventions]]\nweek = 40\nbudget = 3\n")
    with pytest.raises(ScenarioError, match=r"p.toml: interventions\[1\].budget: unknown lever"):
        load_plan(path, presets["rollout"])


def test_standalone_series_forecast_contract(tmp_path):
    curve = np.loadtxt(REFERENCE / "korean_family_planning_yearly_curve.csv", delimiter=",",
                       skiprows=1, usecols=3)
    path = tmp_path / "kfamily.csv"
    path.write_text("period,adoption_share\n" + "".join(
        f"{i},{v}\n" for i, v in enumerate(curve, start=1)))
    cli._register_commands()
    result = CliRunner().invoke(cli.app, ["forecast", "--series", str(path), "--train", "6",
                                          "--horizon", "4", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["method"] and doc["baseline"]["method"] == "bass"
    assert [f["period"] for f in doc["forecast"]] == [7, 8, 9, 10]
    for row in doc["forecast"]:
        assert set(row) == {"period", "mean", "p10", "p50", "p90"}
        assert 0 <= row["p10"] <= row["p50"] <= row["p90"] <= 1
    assert [f["period"] for f in doc["baseline"]["forecast"]] == [7, 8, 9, 10]
    errors = np.abs(np.array([f["mean"] for f in doc["forecast"]]) - curve[6:])
    assert errors.mean() < 0.1


def test_standalone_series_bad_input(tmp_path):
    cli._register_commands()
    path = tmp_path / "s.csv"
    path.write_text("period,share\n1,0.1\n")
    result = CliRunner().invoke(cli.app, ["forecast", "--series", str(path), "--train", "6", "--json"])
    assert result.exit_code == 1
    assert "needs columns period,adoption_share (found period,share)" in result.stderr
    path.write_text("period,adoption_share\n1,0.1\n2,0.2\n")
    result = CliRunner().invoke(cli.app, ["forecast", "--series", str(path), "--train", "2"])
    assert result.exit_code == 1
    assert f"{path}: 2 periods of data; a forecast needs at least 3" in result.stderr
    path.write_text("period,adoption_share\n1,0.1\n2,0.2\n3,0.25\n")
    result = CliRunner().invoke(cli.app, ["forecast", "--series", str(path), "--train", "3",
                                          "--method", "abm"])
    assert result.exit_code == 1
    assert "training periods: 3 periods of data; the agent-based fit needs at least 6" in result.stderr
    result = CliRunner().invoke(cli.app, ["forecast", "--series", str(path), "--train", "4"])
    assert result.exit_code == 1
    assert "--train 4: the series has only 3 periods" in result.stderr


@pytest.mark.parametrize(("body", "message"), [
    ("2024-01,0.05\n2024-02,0.09\n", "row 2, column period: '2024-01' should be 1 "
     "(periods are numbered 1, 2, 3... in order, without gaps)"),
    ("1,0.05\n3,0.09\n", "row 3, column period: '3' should be 2 "
     "(periods are numbered 1, 2, 3... in order, without gaps)"),
    ("1,0.05\n2,\n3,0.2\n",
     "row 3, column adoption_share: empty; every period needs a share between 0 and 1"),
    ("1,0.05\n2,9%\n", "row 3, column adoption_share: '9%' is not a number; a share is between 0 and 1 "
     "(41% as 0.41)"),
    ("1,0.05\n2,41\n", "row 3, column adoption_share: 41 is outside 0 to 1 (41% is 0.41)"),
    ("1,0.05\n2,nan\n", "row 3, column adoption_share: nan is outside 0 to 1 (41% is 0.41)"),
])
def test_a_bad_series_cell_is_named_by_file_row_column_and_value(tmp_path, body, message):
    cli._register_commands()
    path = tmp_path / "s.csv"
    path.write_text("period,adoption_share\n" + body)
    result = CliRunner().invoke(cli.app, ["forecast", "--series", str(path), "--train", "3"])
    assert result.exit_code == 1
    assert result.stderr.strip() == f"error: {path}, {message}"


def test_a_series_numbers_its_periods_as_a_spreadsheet_may_write_them(tmp_path):
    cli._register_commands()
    path = tmp_path / "s.csv"
    path.write_text("Period , Adoption_Share\n1.0, 0.05\n2.0,0.09 \n3,0.16\n\n")
    result = CliRunner().invoke(cli.app, ["forecast", "--series", str(path), "--train", "3", "--json"])
    assert result.exit_code == 0, result.output
    assert [row["period"] for row in json.loads(result.stdout)["forecast"]][0] == 4


def test_standalone_series_forecast_from_three_periods(tmp_path):
    """An early warning: three periods are enough, the band is wide and the output says why."""
    cli._register_commands()
    path = tmp_path / "early.csv"
    path.write_text("period,adoption_share\n1,0.05\n2,0.09\n3,0.16\n")
    result = CliRunner().invoke(cli.app, ["forecast", "--series", str(path), "--train", "3",
                                          "--horizon", "5"])
    assert result.exit_code == 0, result.output
    assert f"{path}: fitted on periods 1-3 (cumulative share who have adopted)." in result.stdout
    assert "Only 3 periods so far: the curve's ceiling is not yet visible in the data" in result.stdout
    assert "week" not in result.stdout
    doc = json.loads(CliRunner().invoke(cli.app, ["forecast", "--series", str(path), "--train", "3",
                                                  "--horizon", "5", "--json"]).stdout)
    assert doc["method"] == "bayes-diffusion" and doc["prior"].startswith("the published Bass parameters")
    assert doc["forecast"][0]["p10"] >= 0.16 - 1e-9  # starts from today's level, never below it
    widths = [row["p90"] - row["p10"] for row in doc["forecast"]]
    assert widths == sorted(widths) and widths[-1] > 0.2
    assert set(doc["baseline"]["forecast"][0]) == {"period", "mean", "p10", "p90"}


def test_reaching_the_target_means_holding_it_for_four_weeks():
    import numpy as np

    from model.forecast import PlanForecast
    from model.plan import CURRENT

    weeks = np.arange(80, 90)
    blip = [0.6, 0.71, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6, 0.6]  # one noisy week above the line
    held = [0.6, 0.6, 0.7, 0.72, 0.71, 0.73, 0.74, 0.75, 0.75, 0.75]  # holds from week 82
    late = [0.6] * 6 + [0.7] * 4  # holds from week 86
    f = PlanForecast(plan=CURRENT, weeks=weeks, trajectories=np.array([blip, held, late]),
                     downtime_reduction=np.zeros((3, 10)), target=0.7, target_week=85, cost=0.0)
    assert f.probability_of_target == pytest.approx(1 / 3)
    assert f.expected_week_of_target == pytest.approx((82 + 86) / 2)


def test_the_conformal_scale_widens_bands_only_as_far_as_the_misses_need():
    from model.series import conformal_scale

    rng = np.random.default_rng(0)
    future = rng.normal(0.5, 0.05, size=(4000, 10))  # 80% band: about 0.5 +- 0.064
    assert conformal_scale(future, np.full(10, 0.52)) == 1.0  # every point inside: never narrowed
    held = np.array([0.5 + 0.128] * 8 + [0.5] * 2)  # eight of ten at twice the half-width
    assert conformal_scale(future, held) == pytest.approx(2.0, rel=0.05)
