"""The tracker tells the truth about who reported (issue #14): the latest complete week, changes over
the same facilities, freshness per facility, the most recent lapses first."""

from datetime import date, timedelta

import pandas as pd
import pytest

from app.services import tracker

MONDAY = date(2026, 11, 2)


def _metrics(reports: dict[str, list[tuple[int, int]]]) -> pd.DataFrame:
    """facility -> [(technicians, active users) per week from MONDAY]; None skips a week."""
    rows = []
    for name, weeks in reports.items():
        for w, counts in enumerate(weeks):
            if counts is None:
                continue
            technicians, active = counts
            rows.append({"facility": name, "week_start": MONDAY + timedelta(weeks=w),
                         "technicians": technicians, "active_users": active, "work_orders": 100,
                         "ai_assisted_work_orders": active})
    return pd.DataFrame(rows)


def test_a_facility_reporting_early_does_not_move_the_headline():
    metrics = _metrics({"Aberdeen Works": [(100, 40), (100, 42), (100, 92)],  # only it sent week 3
                        "Hull Works": [(100, 40), (100, 40), None],
                        "Oulu Mill": [(80, 20), (80, 24), None]})
    view = tracker.tracker_view(metrics, pd.DataFrame())
    o = view.overall
    assert view.partial and o["week"] == MONDAY + timedelta(weeks=1)
    assert o["latest_week"] == MONDAY + timedelta(weeks=2) and (o["reported"], o["expected"]) == (1, 3)
    assert o["active_share"] == (42 + 40 + 24) / 280 and o["facilities"] == 3 and o["technicians"] == 280
    assert o["change"] == (42 + 40 + 24) / 280 - (40 + 40 + 20) / 280
    overall = view.trend[view.trend["scope"] == tracker.OVERALL]
    assert overall["week_start"].max() == o["week"], "the overall line stops at the complete week"
    table = view.facilities.set_index("Facility")
    assert table.loc["Hull Works", "Weeks missing"] == 1 and table.loc["Aberdeen Works", "Weeks missing"] == 0


def test_a_change_counts_only_the_facilities_that_reported_both_weeks():
    # Oulu Mill goes live in week 2: the organisation's change is Aberdeen's and Hull's, not a jump.
    metrics = _metrics({"Aberdeen Works": [(100, 40), (100, 50)], "Hull Works": [(100, 40), (100, 50)],
                        "Oulu Mill": [None, (80, 0)]})
    view = tracker.tracker_view(metrics, pd.DataFrame())
    o = view.overall
    assert o["week"] == MONDAY + timedelta(weeks=1) and not view.partial
    assert o["change"] == pytest.approx(0.1)  # 40% to 50% over the same two facilities
    assert o["active_share"] == 100 / 280  # the headline itself is everyone who reported


def test_at_risk_ranks_recent_lapses_first_and_counts_the_long_gone_apart():
    weeks = 60

    def row(key, last_active):
        return [{"technician_key": key, "facility": "Hull Works", "week_start": MONDAY + timedelta(weeks=w),
                 "active": w == last_active} for w in range(weeks)]

    tech = pd.DataFrame(row("eight", weeks - 9) + row("three", weeks - 4) + row("year", 2)
                        + row("now", weeks - 1))
    risky = tracker.at_risk(tech, inactive_weeks=3)
    assert list(risky["technician"]) == ["three", "eight"] and list(risky["weeks_inactive"]) == [3, 8]
    assert tracker.lapsed_count(tech) == 1


def test_the_tracker_page_says_who_reported_and_who_is_behind(engine, monkeypatch):
    """One facility uploads next week before the others: the headline stays on the complete week.

    The shared demo store stays as it is: the page is given the view with Hull Works' extra week."""
    from app.web import resources
    from db import queries
    from tests.app.conftest import signed_in

    metrics = queries.weekly_metrics(engine)
    hull = metrics[metrics["facility"] == "Hull Works"].tail(1)
    early = hull.assign(week_start=hull["week_start"] + timedelta(weeks=1), active_users=hull["technicians"])
    view = tracker.tracker_view(
        pd.concat([metrics, early], ignore_index=True), target=0.7, inactive_weeks=3,
        lifecycle_counts=queries.lifecycle_counts(engine), last_active=queries.last_active(engine),
        last_uploads=queries.last_uploads(engine), interventions=queries.interventions(engine))
    monkeypatch.setattr(resources, "tracker_view", lambda target, inactive_weeks: view)
    at = signed_in("viewer")
    assert at.info[0].value == ("1 of 15 facilities reported for 23 November 2026; overall uses the last "
                                "complete week, 16 November 2026.")
    behind = [w.value for w in at.warning if w.value.startswith("Not up to date")]
    assert len(behind) == 1 and "Cork Refinery (1 week behind)" in behind[0]
    assert "Hull Works" not in behind[0]
    table = at.dataframe[0].value
    assert list(table.columns)[-2:] == ["Weeks missing", "Last upload"]
    assert (table.set_index("Facility")["Weeks missing"].drop("Hull Works") == 1).all()
    assert table["Last upload"].notna().all()  # the demo arrives as uploads, audited like any other
    risk = next(c.value for c in at.caption if "the most recent lapses first" in c.value)
    assert risk.endswith("Technicians are pseudonyms: only someone holding the store's pseudonym key and the "
                         "staff list can map them back to people.")
    weeks = at.dataframe[1].value["weeks_inactive"]
    assert weeks.is_monotonic_increasing and weeks.between(3, 51).all()


def test_the_trend_marks_the_intervention_log_and_dates_carry_their_year():
    from app.services import charts

    metrics = _metrics({"Aberdeen Works": [(100, 40), (100, 50), (100, 60)],
                        "Hull Works": [(100, 40), (100, 45), (100, 50)]})
    log = pd.DataFrame({"week_start": [MONDAY + timedelta(weeks=1), MONDAY + timedelta(weeks=2),
                                       MONDAY - timedelta(weeks=10)],
                        "facility": [None, "Hull Works", None],
                        "kind": ["training_wave", "champions", "comms"],
                        "description": ["Hands-on training", "", "Before the data"]})
    view = tracker.tracker_view(metrics, pd.DataFrame(), interventions=log)
    assert list(view.interventions["label"]) == ["Hands-on training", "Champions", "Before the data"]

    def marks(scope):
        spec = charts.trend_chart(view.trend, 0.7, scope, view.interventions).to_dict()
        rules = [layer for layer in spec["layer"] if layer.get("mark", {}).get("strokeDash") == [3, 3]]
        assert spec["layer"][0]["encoding"]["x"]["axis"]["format"] == "%b %Y"
        return [] if not rules else [r["label"] for r in spec["datasets"][rules[0]["data"]["name"]]]

    assert marks(tracker.OVERALL) == ["Hands-on training", "Champions"]  # none before the data
    assert marks("Aberdeen Works") == ["Hands-on training"]  # organisation-wide, not Hull's own
    assert marks("Hull Works") == ["Hands-on training", "Champions"]
