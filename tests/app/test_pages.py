"""What each page shows, for each role that may use it."""

import re

import pytest
from sqlalchemy import delete
from streamlit.testing.v1 import AppTest

from app.services import calibration
from app.services import snapshots as forecast_documents
from app.services.documents import SkippedPlan
from db import forecasts
from db.models import Calibration
from tests.app.conftest import click, signed_in, texts
from tests.app.helpers import forecast_doc

ALLOWED = {"viewer": ["tracker", "forecast"],
           "editor": ["tracker", "upload", "simulator", "experiments", "real_vs_simulated", "plan",
                      "forecast"],
           "admin": ["tracker", "upload", "simulator", "experiments", "real_vs_simulated", "plan",
                     "forecast", "admin"]}
TITLES = {"tracker": "Adoption tracker", "upload": "Upload weekly metrics", "simulator": "What-if simulator",
          "experiments": "Experiments", "real_vs_simulated": "Real vs simulated", "plan": "Plan",
          "forecast": "Adoption forecast", "admin": "Admin"}


@pytest.mark.parametrize("role,page", [(r, p) for r, pages in ALLOWED.items() for p in pages])
def test_every_page_opens_for_every_role_that_may_use_it(role, page):
    at = signed_in(role, page)
    assert texts(at.title) == [TITLES[page]]
    assert not at.error


def test_the_tracker_shows_the_latest_week_against_the_target():
    at = signed_in("viewer")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Active technicians (breadth)"].endswith("%")
    assert metrics["Facilities below target"].endswith("of 15")
    facilities = at.dataframe[0].value
    assert len(facilities) == 15
    assert {"Facility", "Active share", "Change vs last week", "On target"} <= set(facilities.columns)
    assert "week of" in at.caption[0].value.lower()
    at_risk = at.dataframe[1].value
    assert list(at_risk.columns) == ["technician", "facility", "last_active", "weeks_inactive"]
    assert (at_risk["weeks_inactive"] >= 3).all()


def test_the_tracker_trend_can_show_one_facility():
    at = signed_in("viewer")
    at.selectbox[0].select("Cork Refinery").run()
    assert not at.exception
    assert at.selectbox[0].value == "Cork Refinery"


def test_open_alerts_are_shown_at_the_top_of_the_tracker(engine):
    forecasts.add_alert(engine, kind="deviation", facility="Hull Works",
                        message="Active share 41% is below the forecast's 80% band (52%-66%).")
    viewer = signed_in("viewer")
    assert any("Hull Works" in w and "below the forecast" in w for w in texts(viewer.warning))
    assert not [b for b in viewer.button if b.label == "Acknowledge"]
    editor = signed_in("editor")
    [ack] = [b for b in editor.button if b.label == "Acknowledge"]
    ack.click().run()
    assert not any("Hull Works" in w for w in texts(editor.warning))
    assert forecasts.open_alerts(engine).empty


def test_the_forecast_says_what_to_do_when_there_is_none(monkeypatch):
    monkeypatch.setattr(forecast_documents, "latest_forecast", lambda engine, facility=None: None)
    viewer = signed_in("viewer", "forecast")
    assert "No forecast for all facilities yet" in viewer.info[0].value
    assert not [b for b in viewer.button if b.label == "Compute the forecast now"]
    editor = signed_in("editor", "forecast")
    assert [b for b in editor.button if b.label == "Compute the forecast now"]


def test_the_forecast_shows_plans_accuracy_and_downloads(monkeypatch):
    monkeypatch.setattr(forecast_documents, "latest_forecast", lambda engine, facility=None: forecast_doc())
    at = signed_in("viewer", "forecast")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Active technicians now"] == "59%"
    assert metrics["Chance of 70% by 13 July 2026 (current plan)"] == "31%"
    assert metrics["Recommended: champions"] == "58%"
    lines = [m.value for m in at.markdown if "We recommend" in m.value]
    assert lines and "Why: 12 champions matters most (+6.1 pts of adoption by 13 July 2026)" in lines[0]
    assert "off by 3 points" in at.info[0].value
    plans = at.dataframe[0].value
    assert list(plans["Plan"]) == ["current plan", "champions"]
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download the one-page brief (PDF)", "Download the chart (PNG)"]
    assert not [c for c in texts(at.caption) if c.startswith("Plans left out")]
    assert "Forecast made 23 November 2026 at 06:00 UTC." in texts(at.caption)


def test_the_forecast_shows_each_facilitys_early_warning(monkeypatch):
    from tests.app.helpers import facility_forecast

    doc = forecast_doc().model_copy(update={"facilities": [
        facility_forecast("Aberdeen Works", now=0.62, chance=0.55),
        facility_forecast("Hull Works", now=0.31, weeks_live=3, chance=0.04)]})
    monkeypatch.setattr(forecast_documents, "latest_forecast",
                        lambda engine, facility=None: doc if facility is None else None)
    at = signed_in("viewer", "forecast")
    assert "By facility" in [h.value for h in at.subheader]
    table = at.dataframe[1].value
    assert list(table.columns) == ["Facility", "Weeks live", "Now", "Expected on 11 January 2027", "80% band",
                                   "Chance of 70% by 13 July 2026"]
    assert list(table["Facility"]) == ["Hull Works", "Aberdeen Works"]  # furthest from the target first
    assert list(table["80% band"]) == ["23% to 55%", "54% to 86%"]
    at.selectbox(key="forecast_scope").select("Hull Works").run()
    assert not at.exception
    early = at.info[0].value
    assert early.startswith("**Early warning for Hull Works** (pooled with the other facilities): Hull Works "
                            "is at 31% after 3 weeks; by 11 January 2027 it is expected at 39% (80% band "
                            "23% to 55%), with a 4% chance of holding 70% by 13 July 2026.")


def test_the_forecast_says_which_plans_it_left_out_and_why(monkeypatch):
    doc = forecast_doc().model_copy(update={"skipped_plans": [SkippedPlan(
        file="late.toml", reason="plan 'late': interventions[1].week = 60 is in the past")]})
    monkeypatch.setattr(forecast_documents, "latest_forecast", lambda engine, facility=None: doc)
    at = signed_in("viewer", "forecast")
    assert (r"Plans left out of this forecast: `late.toml`: plan 'late': interventions\[1\].week = 60 is in "
            "the past") in texts(at.caption)  # the reason quotes a plan file: shown as text


@pytest.mark.parametrize("stored", [forecast_doc().model_dump(mode="json") | {"schema_version": 2},
                                    {k: v for k, v in forecast_doc().model_dump(mode="json").items()
                                     if k != "observed"}], ids=["unknown version", "missing field"])
def test_a_stored_forecast_this_version_cannot_read_counts_as_none_yet(monkeypatch, caplog, stored):
    snapshot = {"id": 7, "facility": None, "data_version": "test", "document": stored}
    monkeypatch.setattr(forecasts, "latest_snapshot", lambda engine, facility=None: snapshot)
    editor = signed_in("editor", "forecast")
    assert "No forecast for all facilities yet" in editor.info[0].value
    assert [b for b in editor.button if b.label == "Compute the forecast now"]
    assert any("forecast snapshot 7 (all facilities)" in r.getMessage() and "recomputes it" in r.getMessage()
               for r in caplog.records)


def test_the_forecast_brief_is_a_one_page_pdf_with_the_title():
    from app.services.brief import TITLE, brief_pdf, chart_png

    pdf = brief_pdf(forecast_doc())
    assert pdf.startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1
    assert TITLE.encode() in pdf
    assert chart_png(forecast_doc()).startswith(b"\x89PNG")
    assert len(pdf) < 500_000


def test_the_brief_speaks_in_dates_and_money_and_has_no_debug_footer():
    import io

    from pypdf import PdfReader

    from app.services.brief import brief_pdf, headline

    doc = forecast_doc()  # week 1 starts on Monday 5 January 2026; the target week is 28
    lines = headline(doc, currency="£")
    assert lines[0] == ("Today 59% of technicians use the tool (week of 18 May 2026); the target is 70% "
                        "by 13 July 2026, held for at least a month.")
    assert lines[2] == ("We recommend champions: a 58% chance of reaching 70% by 13 July 2026 (against 31% "
                        "on the current plan), costing £12,000 and saving 410 hours of unplanned downtime.")
    assert lines[3] == ("Why: 12 champions matters most (+6.1 pts of adoption by 13 July 2026), then "
                        "Hands-on refresher (+2.4 pts).")
    text = PdfReader(io.BytesIO(brief_pdf(doc, currency="£"))).pages[0].extract_text()
    assert "Data version" not in text and "rows=" not in text
    assert "Forecast from 20 weeks of tracked data up to the week of 18 May 2026. Made by Chasm." in text
    assert "£12,000" in text and "By 13 July 2026" in text
    flat = " ".join(text.split())
    assert "We recommend champions: a 58% chance of reaching 70% by 13 July 2026" in flat
    assert "Why: 12 champions matters most" in flat and "then Hands-on refresher (+2.4 pts)" in flat


def test_words_format_numbers_as_people_read_them():
    from datetime import date

    from app.services.words import day, money, points, share, week_words

    assert (share(0.41), share(None), points(0.025), points(-0.004), points(0.0)) == (
        "41%", "n/a", "+2.5 pts", "-0.4 pts", "0.0 pts")
    assert (money(265000), money(-1200, "$"), day(date(2027, 3, 3))) == (
        "€265,000", "-$1,200", "3 March 2027")
    assert week_words(3, date(2026, 1, 5)) == "the week of 19 January 2026"
    assert week_words(3, None) == "week 3"


def test_real_vs_simulated_compares_with_fit_statistics():
    at = signed_in("editor", "real_vs_simulated")
    assert "press **Compare**" in at.info[0].value
    assert at.selectbox(key="rvs_scenario").value.startswith("The recorded rollout")  # uncalibrated store
    at.select_slider[0].set_value(20).run()
    click(at, "Compare")
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Weeks compared"] == "78"
    assert metrics["Real weeks inside the 90% band"].endswith("%")
    assert [v for v in texts(at.warning) + texts(at.success) if v.startswith("The model fits ")]
    fits = at.dataframe[0].value
    assert len(fits) == 15 and fits["Real weeks inside the 90% band"].str.endswith("%").all()
    assert all("_" not in c for c in fits.columns)


def test_admin_adds_a_user_and_changes_a_role(engine):
    from db.accounts import role_of

    at = signed_in("admin", "admin")
    [name, password] = [t for t in at.text_input if t.label in ("New user name",
                                                                 "Initial password (8+ characters)")]
    name.input("nadia")
    password.input("nadia-pass-1")
    [b for b in at.button if b.label == "Add user"][0].click().run()
    assert "Added nadia as viewer." in texts(at.success)
    assert role_of(engine, "nadia") == "viewer"
    at.selectbox(key="admin_user").select("nadia")
    at.selectbox(key="admin_role").select("editor")
    click(at, "Change role")
    assert role_of(engine, "nadia") == "editor"


def test_admin_shows_the_settings_in_force(monkeypatch):
    monkeypatch.setenv("CHASM_DOWNTIME_COST_PER_HOUR", "250")
    at = signed_in("admin", "admin")
    [table] = at.table
    settings = dict(zip(table.value["Setting"], table.value["Value"], strict=True))
    assert settings["Adoption target"] == "70%"
    assert settings["Cost of an hour of downtime"] == "€250 (0: savings in hours only)"
    assert settings["Remembered sessions signed with"] == "a key in the data folder (session.key)"
    assert settings["Alternative plans folder"].endswith("plans")
    assert settings["Calibration runs on"] == "this machine"
    assert settings["Deviation alerts by e-mail"] == "off (set CHASM_SMTP_HOST and CHASM_ALERT_TO)"


def test_admin_lists_every_setting_from_the_one_settings_object(monkeypatch):
    for name, value in {"CHASM_DASK_ADDRESS": "tcp://scheduler:8786", "CHASM_SMTP_HOST": "mail.example.org",
                        "CHASM_SMTP_PORT": "587", "CHASM_ALERT_TO": "lead@example.org",
                        "CHASM_ADMIN_PASSWORD": "first-start-pass", "CHASM_SESSION_IDLE_MINUTES": "45",
                        "CHASM_CHAMPION_HOURS_PER_WEEK": "6"}.items():
        monkeypatch.setenv(name, value)
    at = signed_in("admin", "admin")
    settings = dict(zip(at.table[0].value["Setting"], at.table[0].value["Value"], strict=True))
    assert settings["Calibration runs on"] == "tcp://scheduler:8786"
    assert settings["Deviation alerts by e-mail"] == ("to lead@example.org via mail.example.org:587, "
                                                      "from chasm@localhost")
    assert settings["Admin password at first start"] == "set (hidden)"
    assert settings["Session ends after idle"] == "45 minutes"
    assert settings["Champion coaching time"] == "6 hours a week each"
    assert "first-start-pass" not in " ".join(settings.values())


def test_admin_cannot_demote_the_last_admin():
    at = signed_in("admin", "admin")
    at.selectbox(key="admin_user").select("admin")
    at.selectbox(key="admin_role").select("viewer")
    click(at, "Change role")
    assert "last admin" in at.error[0].value


def _compare_against(choice_starts: str) -> AppTest:
    at = signed_in("editor", "real_vs_simulated")
    picker = at.selectbox(key="rvs_scenario")
    [choice] = [o for o in picker.options if o.startswith(choice_starts)]
    picker.select(choice).run()
    at.select_slider[0].set_value(20).run()
    return click(at, "Compare")


def test_real_vs_simulated_can_use_the_recorded_rollout():
    at = _compare_against("The recorded rollout")
    assert {m.label: m.value for m in at.metric}["Weeks compared"] == "78"
    assert "recorded" in " ".join(c.proto.spec for c in at.get("vega_lite_chart"))


def test_real_vs_simulated_can_use_the_calibrated_model(engine):
    assert forecasts.latest_calibration(engine) is None, "only this test calibrates the shared store"
    at = _compare_against("The calibrated model")
    assert not at.warning
    assert "has not been fitted to our data yet" in at.info[0].value
    assert [b for b in at.button if b.label == "Fit the model to our data now"]
    assert not at.get("vega_lite_chart")

    calibration.calibrate_store(engine, until=70, quick=True)
    try:
        click(at, "Compare")
        assert not [w for w in texts(at.warning) if w.startswith("Nothing to compare with")]
        assert [t for t in texts(at.warning) + texts(at.success) if t.startswith("The model fits ")]
        assert {m.label: m.value for m in at.metric}["Weeks compared"] == "78"
        captions = " ".join(texts(at.caption))
        assert "fitted on weeks 1-70; weeks 71-78 are an out-of-sample check" in captions
        assert "Each facility is read against the simulated facility of its own name" in captions
        specs = " ".join(c.proto.spec for c in at.get("vega_lite_chart"))
        assert "real vs the calibrated model (20 runs)" in specs
    finally:  # the other pages' tests (the Plan page's among them) need the shared store uncalibrated
        with engine.begin() as conn:
            conn.execute(delete(Calibration))


def test_empty_states_say_what_to_do_next(monkeypatch, engine):
    import pandas as pd

    from db import queries

    no_metrics, no_uploads = queries.weekly_metrics(engine).head(0), queries.uploads(engine).head(0)
    monkeypatch.setattr(queries, "weekly_metrics", lambda engine, facility=None: no_metrics)
    monkeypatch.setattr(queries, "technician_weeks", lambda engine, facility=None: pd.DataFrame())
    monkeypatch.setattr(queries, "uploads", lambda engine: no_uploads)
    tracker = signed_in("viewer")
    assert tracker.info[0].value.startswith("No metrics yet: upload a file on the Upload page")
    rvs = signed_in("editor", "real_vs_simulated")
    assert rvs.info[0].value.startswith("No metrics yet")
    upload = signed_in("editor", "upload")
    assert any(i.startswith("No uploads yet: choose a file above") for i in texts(upload.info))
