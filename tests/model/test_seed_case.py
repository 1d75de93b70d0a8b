"""The simulator must reproduce the seed case (shared/context/why-ai-pilots-fail-to-scale.txt)."""

import pytest

from model.ensemble import run_ensemble

from .conftest import month_end

RUNS = 400


@pytest.fixture(scope="module")
def curves(presets):
    return {name: run_ensemble(presets[name], runs=RUNS, seed=2024).overall["active_share"].mean(axis=1)
            for name in ("pilot", "rollout", "turnaround")}


def at(curve, month):
    return curve[month_end(month) - 1]


def test_pilot_volunteers_adopt(curves):
    assert at(curves["pilot"], 3) >= 0.85


def test_rollout_month_1_is_41_percent(curves):
    assert at(curves["rollout"], 1) == pytest.approx(0.41, abs=0.04)


def test_rollout_month_3_is_38_percent_and_declining(curves):
    assert at(curves["rollout"], 3) == pytest.approx(0.38, abs=0.04)
    assert at(curves["rollout"], 3) < at(curves["rollout"], 1)


def test_rollout_month_6_no_higher_than_month_3(curves):
    assert at(curves["rollout"], 6) <= at(curves["rollout"], 3)


def test_turnaround_reaches_73_percent_by_month_18(curves):
    assert at(curves["turnaround"], 18) == pytest.approx(0.73, abs=0.04)


def test_turnaround_and_rollout_share_the_weeks_before_it_starts(curves):
    before = month_end(6) - 1  # the turnaround's first interventions are in force from week 26
    assert (curves["turnaround"][:before] == curves["rollout"][:before]).all()
    assert curves["turnaround"][-1] > curves["rollout"][-1] + 0.2


def test_decline_comes_from_dis_adoption(presets):
    result = run_ensemble(presets["rollout"], runs=RUNS, weeks=26, seed=7)
    lapsed = result.overall["lapsed_share"].mean(axis=1)
    assert lapsed[month_end(3) - 1] > lapsed[month_end(1) - 1] > 0.05
