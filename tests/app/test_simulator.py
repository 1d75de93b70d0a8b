"""The simulator page: run an ensemble, compare runs, save and reload scenarios, bad input."""

import pandas as pd

from app.services.simulator import CALENDAR_COLUMNS, week_label
from db.saved_scenarios import saved_scenarios, scenario_toml
from tests.app.conftest import click, signed_in, texts


def _simulator(runs: int = 20, preset: str | None = "turnaround"):
    """The simulator, with an example organisation loaded (preset None: as it opens, on today's)."""
    at = signed_in("editor", "simulator")
    if preset is not None:
        at.selectbox(key="sim_library_choice").select(f"Preset: {preset}").run()
        click(at, "Load scenario")
    at.select_slider(key="sim_runs").set_value(runs).run()
    return at


def test_it_opens_on_our_organisation_as_it_stands_and_adopts_champions_as_a_plan(engine):
    from app.services.recorded import observed_series
    from db.plans import adopted, retire

    weeks = len(observed_series(engine))
    at = _simulator(preset=None)
    assert at.selectbox(key="sim_library_choice").value == "Our organisation as it stands"
    assert at.session_state["sim_name"] == "Our organisation as it stands"
    assert at.session_state["sim_weeks"] == weeks + 26
    assert at.session_state["sim_champions_week"] == 0, "the recorded launch stays history"
    at.number_input(key="sim_champions_count").set_value(6).run()
    at.number_input(key="sim_champions_week").set_value(weeks + 2).run()
    click(at, "Run simulation")
    at.text_input(key="sim_adopt_name").input("Six more champions").run()
    at.text_input(key="sim_adopt_description").input("Six more champions in two weeks").run()
    click(at, "Adopt as plan")
    start = week_label(weeks + 2, observed_series(engine)["week_start"].min())
    assert start.startswith(f"week {weeks + 2} (") and start.endswith(")")
    assert texts(at.success) == [f"Adopted 'Six more champions': 1 intervention from {start}. The next "
                                 "forecast weighs it against the current plan."]
    [row] = adopted(engine)
    assert (row.name, row.source, row.adopted_by) == ("Six more champions", "simulator", "erin")
    assert "count = 6" in row.toml and "Go-live" not in row.toml  # only what happens after today
    retire(engine, "Six more champions")


def _charts(at) -> list[str]:
    return [c.proto.spec for c in at.get("vega_lite_chart")]


def test_every_lever_is_explained_by_its_root_cause():
    at = _simulator()
    captions = " ".join(texts(at.caption))
    for cause in ("trust gap", "5-10 min", "tickets-closed", "45-minute", "replacement", "Champions",
                  "augments"):
        assert cause in captions, cause
    assert at.session_state["sim_name"] == "turnaround"
    assert len(at.session_state["sim_calendar"]) == 8


def test_a_run_draws_fans_per_facility_and_the_network():
    at = click(_simulator(), "Run simulation")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Median active share at week 78"].endswith("%")
    assert [c for c in texts(at.caption) if c.startswith("90% of runs between ")
            and c.endswith("%. Cost of the interventions: €265,000.")]
    specs = " ".join(_charts(at))
    assert "Active share of technicians (%)" in specs and "Per facility" in specs
    assert "Facility 01 at week 26" in specs


def test_two_runs_can_be_compared():
    at = click(_simulator(), "Run simulation")
    click(at, "Add to comparison")
    at.slider(key="sim_friction_minutes").set_value(0.5).run()
    assert "The inputs changed since this run" in at.warning[0].value
    click(at, "Run simulation")
    click(at, "Add to comparison")
    assert len(at.session_state["sim_compare"]) == 2
    assert "Scenarios compared" in " ".join(_charts(at))


def test_a_saved_scenario_reloads_with_its_levers(engine):
    at = _simulator()
    assert at.selectbox(key="sim_library_choice").value == "Preset: turnaround"  # what is being edited
    assert "Now editing: preset turnaround" in texts(at.caption)
    at.slider(key="sim_alert_precision").set_value(0.97).run()
    at.text_input(key="sim_save_name").input("High precision").run()
    click(at, "Save scenario")
    assert "Saved scenario 'High precision'." in texts(at.success)
    assert "alert_precision = 0.97" in scenario_toml(engine, "High precision")
    at.selectbox(key="sim_library_choice").select("Preset: rollout").run()
    click(at, "Load scenario")
    assert at.session_state["sim_alert_precision"] == 0.89 and at.session_state["sim_name"] == "rollout"
    at.selectbox(key="sim_library_choice").select("High precision").run()
    click(at, "Load scenario")
    assert at.session_state["sim_alert_precision"] == 0.97
    assert len(at.session_state["sim_calendar"]) == 8
    at.selectbox(key="sim_delete_choice").select("High precision").run()
    at.checkbox(key="sim_delete_sure_High precision").check().run()
    click(at, "Delete scenario")
    assert "High precision" not in set(saved_scenarios(engine)["name"])


def test_a_bad_calendar_value_says_which_row_and_how_to_fix_it():
    at = _simulator()
    at.session_state["sim_calendar"] = pd.DataFrame(
        [{"week": 10, "change": "support", "value": "1.5", "label": "More support", "cost": 0.0}])
    at.session_state["sim_calendar_version"] = 99
    at.run()
    [error] = texts(at.error)
    assert error.startswith("This scenario cannot run: calendar row 1: Support (0 none, 1 pilot-level) = "
                            "1.5: out of range")
    assert [b for b in at.button if b.label == "Run simulation"][0].disabled


def test_a_run_over_the_budget_is_refused_with_what_fits(monkeypatch):
    monkeypatch.setenv("CHASM_SIMULATION_MAX_BYTES", "10000000")
    at = _simulator(runs=100)
    [error] = texts(at.error)
    assert error == ("This simulation cannot run: this scenario needs about 38 MB (280 technicians x 78 "
                     "weeks x 100 runs), over the 10 MB budget: run at most 26 runs, or fewer technicians "
                     "or weeks.")
    assert [b for b in at.button if b.label == "Run simulation"][0].disabled
    assert not at.exception
    at.select_slider(key="sim_runs").set_value(20).run()
    assert not texts(at.error)
    click(at, "Run simulation")
    assert at.session_state["sim_run"][1] == 20


def test_a_network_outside_the_allowed_folders_is_an_error_not_a_traceback():
    at = _simulator()
    at.session_state["sim_base"] = {"organisation": {"network": "/etc/passwd"}}
    at.run()
    [error] = texts(at.error)
    assert error.startswith("This scenario cannot run: organisation.network = '/etc/passwd': outside the "
                            "folders an edge list may come from (")
    assert not at.exception


def test_our_organisation_runs_against_dates_and_its_calendar_shows_them(engine):
    from app.services.recorded import observed_series
    from app.services.simulator import week_label

    series = observed_series(engine)
    first = series["week_start"].iloc[0]
    at = _simulator(preset=None)
    weeks = at.session_state["sim_weeks"]
    calendar = at.session_state["sim_calendar"]
    assert len(calendar), "the intervention log is today's calendar"
    week = int(calendar["week"].iloc[0])
    when = first + pd.Timedelta(weeks=week - 1)
    assert week_label(week, first) == f"week {week} ({when.day} {when:%b %Y})"
    [dates] = [c for c in texts(at.caption) if c.startswith("The calendar's weeks as dates:")]
    line = dates.splitlines()[1].strip()
    assert line.startswith(("Row 1: ", "Rows 1, "))
    assert line.endswith(f": week {week} ({when.day} {when:%b %Y})")
    click(at, "Run simulation")
    end = first + pd.Timedelta(weeks=weeks - 1)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[f"Median active share at week {weeks} ({end.day} {end:%b %Y})"].endswith("%")
    fan = _charts(at)[0]
    assert '"format": "%b %Y"' in fan or '"format":"%b %Y"' in fan
    assert "Week since rollout start" not in fan


def test_an_example_organisation_keeps_its_weeks():
    at = click(_simulator(), "Run simulation")
    assert "Median active share at week 78" in {m.label for m in at.metric}
    assert "Week since rollout start" in _charts(at)[0]
    assert not [c for c in texts(at.caption) if c.startswith("The calendar's weeks as dates")]


def _calendar(at, rows: list[dict]) -> None:
    at.session_state["sim_calendar"] = pd.DataFrame(rows, columns=list(CALENDAR_COLUMNS))
    at.session_state["sim_calendar_version"] = 100 + len(rows)
    at.run()


CMMS = {"week": 20, "change": "friction_minutes", "value": "0.5", "label": "CMMS wk20", "cost": 0.0}


def test_an_incomplete_calendar_row_is_refused_naming_it():
    at = _simulator()
    for row, message in [
        ({"week": 20, "change": None, "value": None, "label": "CMMS wk20", "cost": 0.0},
         "calendar row 2: choose what changes in week 20"),
        ({"week": None, "change": "friction_minutes", "value": "0.5", "label": "CMMS", "cost": 0.0},
         "calendar row 2: give a week from which extra minutes per work order changes"),
        ({"week": 20, "change": "friction_minutes", "value": None, "label": "CMMS", "cost": 0.0},
         "calendar row 2: give the new value of extra minutes per work order in week 20"),
        ({"week": None, "change": None, "value": None, "label": "CMMS", "cost": 5000.0},
         "calendar row 2: give a week and choose what changes"),
    ]:
        _calendar(at, [{**CMMS, "week": 10, "label": "Support"}, row])
        assert texts(at.error) == [f"This scenario cannot run: {message}. Correct it below, then run again."]
        assert [b for b in at.button if b.label == "Run simulation"][0].disabled, message
    _calendar(at, [CMMS, {"week": None, "change": None, "value": None, "label": None, "cost": None}])
    assert not at.error, "a wholly empty row is nothing to run"
    assert "[[interventions]]" in at.session_state["sim_text"] and "friction_minutes = 0.5" in \
        at.session_state["sim_text"]


def test_the_calendar_shows_levers_and_choices_in_words():
    at = _simulator()
    [editor] = at.dataframe  # the intervention calendar (a data editor)
    levers = set(editor.value["change"])
    assert "Extra minutes per work order" in levers and not [c for c in levers if "_" in c]
    assert at.selectbox(key="sim_kpi").options == ["Tickets closed", "Balanced: tickets and downtime",
                                                   "Downtime prevented"]
    assert at.selectbox(key="sim_onboarding_mode").options == ["Video", "Hands-on"]


def test_a_choice_in_the_calendar_reads_in_words_and_runs_as_the_scenario_spells_it():
    at = _simulator()
    _calendar(at, [{"week": 12, "change": "kpi", "value": "downtime_prevented", "label": "New KPI",
                    "cost": 0.0}])
    [editor] = at.dataframe
    assert editor.value["value"].tolist() == ["Downtime prevented"]
    assert not at.error and 'kpi = "downtime_prevented"' in at.session_state["sim_text"]


def test_what_we_do_not_know_gives_each_intervention_a_range_and_who_beats_whom():
    at = click(_simulator(runs=20), "Run simulation")
    at.toggle(key="sim_unknowns").set_value(True).run()
    [caption] = [c for c in texts(at.caption) if c.startswith("Over 20 plausible worlds from ")]
    assert "the seed case (41% in month 1, 38% in month 3, 73% by month 18)" in caption  # no fit stored
    table = next(d.value for d in at.dataframe if "Plausible range (90%)" in d.value.columns)
    assert list(table.columns) == ["Intervention", "From", "Effect by week 78", "Plausible range (90%)",
                                   "Helps in"]
    assert table["Effect by week 78"].str.endswith(" pts").all()
    assert table["From"].str.startswith("week ").all()  # an example organisation: weeks, not dates
    assert table["Helps in"].str.endswith("% of plausible worlds").all()
    beats = [m.value for m in at.markdown if " beats " in m.value and "plausible worlds" in m.value]
    assert len(beats) == 3, "the three likeliest comparisons, in words"
