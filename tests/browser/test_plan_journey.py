"""From today's data to a chosen plan, in a real browser: the editor adopts a plan from the Simulator
and one from the optimiser; after the nightly forecast the viewer sees both on the Forecast page and in
the PDF brief (see conftest.py; the server is shared, so the adopted plans are retired at the end)."""

from __future__ import annotations

import io

import pytest
from playwright.sync_api import expect

from devtools.browser import SCREENSHOTS, App, new_page

pytestmark = pytest.mark.browser

SIMULATED = "Champions in two weeks"
OPTIMISED = "Optimised within 30,000"


def _fill(app: App, label: str, value: str) -> None:
    box = app.main.get_by_label(label, exact=True)
    box.fill(value)
    box.press("Enter")
    app.wait_idle()


def _adopt(app: App, name: str) -> None:
    _fill(app, "Plan name", name)
    app.main.get_by_role("button", name="Adopt as plan").click()
    app.main.get_by_text(f"Adopted '{name}'").wait_for(timeout=60_000)
    app.wait_idle()


def test_editor_adopts_two_plans_and_the_viewer_sees_them_in_the_forecast(app: App, browser) -> None:
    server = app.server
    server.wait_for_forecast()  # the first forecast fitted the model: the optimiser plans from it
    app.sign_in("editor")

    app.open("Simulator", "What-if simulator")
    name = app.main.get_by_label("Scenario name", exact=True)
    assert name.input_value() == "Our organisation as it stands"
    add_champions_in_two_weeks(app)
    app.main.get_by_role("button", name="Run simulation").click()
    app.main.get_by_test_id("stMetric").filter(has_text="Median active share").first.wait_for(timeout=180_000)
    app.wait_idle(timeout=180_000)
    app.shoot("journey-simulator-champions")
    _adopt(app, SIMULATED)
    assert app.main.get_by_text(f"Adopted '{SIMULATED}'").inner_text().count("intervention") == 1
    app.shoot("journey-simulator-adopted")

    app.open("Plan", "Plan")
    _fill(app, "Budget (€)", "30000")
    app.main.get_by_role("button", name="Find the best plan").click()
    app.main.get_by_text("Recommended:").first.wait_for(timeout=300_000)
    app.wait_idle(timeout=120_000)
    assert app.charts_drawn(2) >= 2 and app.blank_charts() == []
    app.shoot("journey-plan-recommended")
    _adopt(app, OPTIMISED)

    server.start_forecast()  # what the scheduler does tonight
    server.wait_for_forecast()

    viewer = App(new_page(browser, server), server)
    try:
        viewer.sign_in("viewer")
        viewer.open("Forecast", "Adoption forecast")
        plans = viewer.main.get_by_test_id("stDataFrame").first
        expect(plans).to_contain_text(SIMULATED)
        expect(plans).to_contain_text(OPTIMISED)
        viewer.main.get_by_text("We recommend").or_(viewer.main.get_by_text("No alternative beats")).first \
            .wait_for()
        viewer.shoot("journey-forecast-both-plans")
        with viewer.page.expect_download() as download:
            viewer.main.get_by_role("button", name="Download the one-page brief (PDF)").click()
        data = download.value.path().read_bytes()
        (SCREENSHOTS / "journey-forecast-brief.pdf").write_bytes(data)
        from pypdf import PdfReader

        text = " ".join(PdfReader(io.BytesIO(data)).pages[0].extract_text().split())
        assert SIMULATED in text and OPTIMISED in text, text[:1500]
        assert "We recommend" in text or "No alternative beats the current plan" in text, text[:1500]
        assert "Data version" not in text
    finally:
        viewer.page.context.close()
        for plan in (SIMULATED, OPTIMISED):
            server.chasm("plan", "retire", plan)


def add_champions_in_two_weeks(app: App) -> None:
    """24 champions launched two weeks after the last week with data (this week is the one after it)."""
    from db.engine import create_store_engine
    from db.queries import weekly_metrics

    engine = create_store_engine(app.server.env["CHASM_DATABASE_URL"])
    try:
        recorded = int(weekly_metrics(engine)["week_start"].nunique())
    finally:
        engine.dispose()
    _fill(app, "Number of champions", "24")
    _fill(app, "Launch week (0: none, 1: from go-live)", str(recorded + 2))
