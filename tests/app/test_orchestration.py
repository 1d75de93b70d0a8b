"""The app's orchestration modules, without streamlit: tracker numbers, scenario forms, real vs simulated."""

import re
from datetime import date, timedelta

import pandas as pd
import pytest

from app.services import simulator, tracker
from app.services.realvsim import compare_real_simulated, fit, real_shares, recorded_toml
from model.scenario import ScenarioError

MONDAY = date(2026, 1, 5)


def _tech_weeks(pattern: dict[str, str]) -> pd.DataFrame:
    rows = [{"technician_key": key, "facility": "Hull Works", "week_start": MONDAY + timedelta(weeks=w),
             "active": flag == "1"} for key, flags in pattern.items() for w, flag in enumerate(flags)]
    return pd.DataFrame(rows)


def test_lifecycle_classes_each_technician_week():
    weeks = _tech_weeks({"a": "1100", "b": "0101", "c": "1011"})
    counts = tracker.lifecycle(weeks).pivot_table(index="week_start", columns="status",
                                                  values="technicians", fill_value=0)
    by_week = {w: counts.loc[MONDAY + timedelta(weeks=w)].to_dict() for w in range(4)}
    assert by_week[0] == {"lapsed": 0, "new": 2, "reactivated": 0, "retained": 0}
    assert by_week[1] == {"lapsed": 1, "new": 1, "reactivated": 0, "retained": 1}
    assert by_week[2] == {"lapsed": 2, "new": 0, "reactivated": 1, "retained": 0}
    assert by_week[3] == {"lapsed": 0, "new": 0, "reactivated": 1, "retained": 1}


def test_at_risk_means_used_before_and_inactive_for_three_weeks():
    weeks = _tech_weeks({"gone-quiet": "10000", "recent": "11100", "never": "00000", "steady": "11111"})
    risky = tracker.at_risk(weeks, inactive_weeks=3)
    assert list(risky["technician"]) == ["gone-quiet"]
    assert list(risky["weeks_inactive"]) == [4]


def test_an_empty_store_gives_an_empty_view():
    empty = pd.DataFrame(columns=["facility", "week_start", "technicians", "active_users", "work_orders",
                                  "ai_assisted_work_orders"])
    view = tracker.tracker_view(empty, pd.DataFrame(), target=0.7)
    assert view.latest_week is None and view.lifecycle.empty and view.at_risk.empty


@pytest.mark.parametrize("preset", simulator.preset_names())
def test_every_preset_survives_the_form_round_trip(preset):
    text = simulator.preset_toml(preset)
    form = simulator.form_from_toml(text)
    again = simulator.form_from_toml(simulator.form_to_toml(form))
    assert again.levers == form.levers and again.champions == form.champions
    assert again.calendar.equals(form.calendar)
    before, after = simulator.parse(text)[0], simulator.parse(simulator.form_to_toml(form))[0]
    assert (after.levers, after.organisation, after.onboarding, after.waves, after.behaviour) == \
        (before.levers, before.organisation, before.onboarding, before.waves, before.behaviour)
    assert sum(i.cost for i in after.interventions) == sum(i.cost for i in before.interventions)


def test_calendar_rows_with_the_same_week_and_label_are_one_intervention():
    calendar = pd.DataFrame([
        {"week": 26, "change": "transparency", "value": "0.8", "label": "Open up", "cost": 8000.0},
        {"week": 26, "change": "support", "value": "0.5", "label": "Open up", "cost": 0.0},
        {"week": 35, "change": "kpi", "value": "downtime_prevented", "label": "", "cost": None},
    ])
    assert simulator.calendar_interventions(calendar) == [
        {"week": 26, "label": "Open up", "cost": 8000.0, "transparency": 0.8, "support": 0.5},
        {"week": 35, "label": "", "cost": 0.0, "kpi": "downtime_prevented"}]


@pytest.mark.parametrize("row,message", [
    ({"week": 5, "change": "support", "value": "lots"},
     "calendar row 1: Support (0 none, 1 pilot-level) = 'lots' is not a number"),
    ({"week": 5, "change": "kpi", "value": "smiles"},
     "calendar row 1: What technicians are measured on = 'smiles': must be one of Tickets closed, "
     "Balanced: tickets and downtime, Downtime prevented"),
    ({"week": None, "change": "kpi", "value": "balanced"}, "calendar row 1: give a week"),
])
def test_bad_calendar_rows_name_the_row_in_words(row, message):
    with pytest.raises(ScenarioError, match="^" + re.escape(message)):
        simulator.calendar_interventions(pd.DataFrame([row]))


def test_fit_counts_points_inside_the_band():
    sim = pd.DataFrame({"p05": [0.1, 0.1, 0.1], "p50": [0.2, 0.2, 0.2], "p95": [0.3, 0.3, 0.3]},
                       index=pd.Index([1, 2, 3], name="week"))
    real = pd.DataFrame({"week": [1, 2, 3, 4], "active_share": [0.2, 0.35, 0.1, 0.5]})
    stats = fit(real, sim)
    assert stats["points"] == 3
    assert stats["inside90"] == pytest.approx(2 / 3)
    assert stats["mae"] == pytest.approx((0 + 0.15 + 0.1) / 3)


def test_real_vs_simulated_aligns_the_first_stored_week_at_week_one(engine):
    from db.queries import weekly_metrics

    shares = real_shares(weekly_metrics(engine))
    assert shares["week"].min() == 1 and shares["week"].max() == 78
    result = compare_real_simulated(engine, simulator.preset_toml("turnaround"), runs=10)
    assert result["overall"]["fit"]["points"] == 78
    # A preset's "Facility 01"... are not ours: each real facility is read against the whole band.
    assert not result["matched"] and len(result["fits"]) == 15
    recorded = compare_real_simulated(engine, recorded_toml(engine), runs=10)
    assert recorded["matched"], "the recorded rollout has our facilities, by name"


def test_a_chart_is_framed_for_its_plot_height_and_facets_size_themselves():
    from app.services import charts

    assert charts.frame_height(charts.chasm_illustration()) == 150 + charts.FRAME_EXTRA_PX
    facets = pd.DataFrame({"facility": ["A"] * 3, "week": [1, 2, 3], "p05": 0.1, "p25": 0.2, "p50": 0.3,
                           "p75": 0.4, "p95": 0.5})
    assert charts.frame_height(charts.small_multiples(facets, "Per facility")) == "content"
