"""What each kind of user does in a real browser, against `chasm serve` (see conftest.py).

The tests share one server and run in file order: the editor's upload changes the store, so every
assertion about a change compares before and after within one test.
"""

from __future__ import annotations

import io
import re
import time

import pytest
from playwright.sync_api import expect

from devtools.browser import EXAMPLES, SCREENSHOTS, App

pytestmark = pytest.mark.browser

MENUS = {
    "viewer": ["Tracker", "Forecast"],
    "editor": ["Tracker", "Upload", "Simulator", "Experiments", "Real vs simulated", "Plan", "Forecast"],
    "admin": ["Tracker", "Upload", "Simulator", "Experiments", "Real vs simulated", "Plan", "Forecast",
              "Admin"],
}
PERCENT = re.compile(r"^\d{1,3}%$")


def test_sign_in_page_refuses_a_wrong_password(app: App) -> None:
    page = app.page
    page.goto("/")
    page.get_by_role("heading", name="Sign in to Chasm").wait_for()
    app.shoot("sign-in")
    page.get_by_label("User name", exact=True).fill("nobody")
    page.get_by_label("Password", exact=True).fill("not-the-password")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_text("Not signed in").wait_for()
    app.wait_idle()
    app.shoot("sign-in-refused")
    assert app.sidebar.get_by_text("Signed in as").count() == 0
    assert page.get_by_role("heading", name="Adoption tracker").count() == 0


def check_tracker(app: App, role: str) -> None:
    """Signed in as `role`: the tracker is the landing page, the menu is the role's, numbers read
    as percentages and the three charts are drawn."""
    app.main.get_by_role("heading", name="Adoption tracker").wait_for()
    assert app.menu() == MENUS[role]
    breadth = app.metric("Active technicians (breadth)")
    assert PERCENT.match(breadth), f"the active share should read like 41%, not {breadth!r}"
    assert PERCENT.match(app.metric("AI-assisted work orders (depth)"))
    assert app.charts_drawn(3) >= 3, "trend, facility bars and lifecycle charts"


def test_every_tracker_chart_draws_its_data(app: App) -> None:
    app.sign_in("viewer")
    app.charts_drawn(3)
    assert app.blank_charts() == [], "charts with axes but no visible bars, lines or areas"


def test_viewer_cannot_reach_the_upload_page_by_url(app: App) -> None:
    app.sign_in("viewer", path="/upload")
    main = app.main
    main.get_by_text("Access refused").wait_for()
    assert main.get_by_test_id("stFileUploader").count() == 0
    assert "Upload" not in app.menu()
    app.shoot("upload-refused-to-viewer")


def test_editor_cannot_reach_the_admin_page_by_url(app: App) -> None:
    app.sign_in("editor", path="/admin")
    app.main.get_by_text("Access refused").wait_for()
    assert app.main.get_by_role("heading", name="Users and roles").count() == 0


def _tracker_reading(app: App) -> tuple[str, str]:
    app.open("Tracker", "Adoption tracker")
    metric = app.main.get_by_test_id("stMetric").filter(has_text="Active technicians (breadth)").first
    delta = metric.get_by_test_id("stMetricDelta")
    return app.metric("Active technicians (breadth)"), delta.inner_text().strip() if delta.count() else ""


def test_editor_uploads_the_clean_file_then_the_broken_one(app: App) -> None:
    app.sign_in("editor")
    check_tracker(app, "editor")
    before = _tracker_reading(app)

    app.open("Upload", "Upload weekly metrics")
    app.shoot("upload")
    uploader = app.main.get_by_test_id("stFileUploaderDropzoneInput")
    uploader.set_input_files(str(EXAMPLES / "upload_clean.csv"))
    app.main.get_by_text("upload_clean.csv").first.wait_for()
    app.main.get_by_text(re.compile(r"is valid: .*Nothing is stored yet")).wait_for()
    app.wait_idle()
    app.shoot("upload-checked")
    app.main.get_by_role("button", name="Commit upload").click()
    app.main.get_by_text(re.compile(r"Stored upload_clean\.csv.*updated")).wait_for()
    app.wait_idle()
    app.shoot("upload-stored")

    after = _tracker_reading(app)
    assert after != before, f"the tracker should change after the clean upload (still {after})"
    app.shoot("tracker-after-upload")

    app.open("Upload", "Upload weekly metrics")
    uploader = app.main.get_by_test_id("stFileUploaderDropzoneInput")
    uploader.set_input_files(str(EXAMPLES / "upload_with_mistakes.csv"))
    app.main.get_by_text(re.compile(r"upload_with_mistakes\.csv cannot be stored: \d+ problem")).wait_for()
    app.wait_idle()
    assert app.main.get_by_text("Nothing was written").count() >= 1
    assert app.main.get_by_test_id("stDataFrame").count() >= 1, "the problems are listed in a table"
    button = app.main.get_by_role("button", name="Download the problems as CSV")
    with app.page.expect_download() as download:
        button.click()
    problems = download.value.path().read_text()
    assert problems.count("\n") >= 5, f"several problems expected, got:\n{problems}"
    assert app.main.get_by_role("button", name="Commit upload").count() == 0
    app.shoot("upload-errors")

    assert _tracker_reading(app) == after, "a rejected file must change nothing"


def _choose(app: App, label: str, option: str) -> None:
    box = app.main.get_by_test_id("stSelectbox").filter(has_text=label).first
    wanted = app.page.get_by_role("option", name=option, exact=True)
    for _ in range(3):  # a click on the input does not always open the list; the arrow button does
        box.get_by_role("button", name="Open").click()
        try:
            wanted.wait_for(timeout=3000)
            break
        except Exception:
            app.page.keyboard.press("Escape")
    wanted.click()
    app.wait_idle()


def _run_simulation(app: App) -> float:
    started = time.monotonic()
    app.main.get_by_role("button", name="Run simulation").click()
    app.main.get_by_test_id("stMetric").filter(has_text="Median active share at week").first.wait_for(
        timeout=120_000)
    app.wait_idle(timeout=120_000)
    app.charts_drawn(2)
    return time.monotonic() - started


def test_editor_runs_a_simulation_and_compares_two_scenarios(app: App) -> None:
    app.sign_in("editor")
    app.open("Simulator", "What-if simulator")
    app.main.get_by_text("press Run simulation").first.wait_for()
    app.shoot("simulator-inputs")

    seconds = _run_simulation(app)
    print(f"\nfirst 100-replicate run: {seconds:.1f} s from click to chart")
    median = app.metric("Median active share at week")
    assert PERCENT.match(median), f"the median should read like 41%, not {median!r}"
    app.main.get_by_role("button", name="Add to comparison").click()
    app.main.get_by_text("1 of 4:").wait_for()
    app.wait_idle()

    _choose(app, "Start from", "Preset: pilot")
    app.main.get_by_role("button", name="Load scenario").click()
    app.main.get_by_text("Loaded pilot").wait_for()
    app.wait_idle()
    _run_simulation(app)
    app.main.get_by_role("button", name="Add to comparison").click()
    caption = app.main.get_by_text("2 of 4:")
    caption.wait_for()
    app.wait_idle()
    assert "Our organisation as it stands" in caption.inner_text() and "pilot" in caption.inner_text()
    assert app.charts_drawn(4) >= 4, "fan, small multiples, comparison and network charts"
    assert app.blank_charts() == []
    app.shoot("simulator")


def test_simulator_keeps_its_inputs_after_visiting_another_page(app: App) -> None:
    app.sign_in("editor")
    app.open("Simulator", "What-if simulator")
    name = app.main.get_by_label("Scenario name", exact=True)
    assert name.input_value() == "Our organisation as it stands", "the simulator starts from today"
    app.open("Tracker", "Adoption tracker")
    app.open("Simulator", "What-if simulator")
    assert name.input_value() == "Our organisation as it stands", (
        "the simulator's inputs were reset after visiting another page (widget state dropped)")
    assert app.main.get_by_role("button", name="Run simulation").is_enabled()


def _compare(app: App) -> str:
    """Press Compare; the share of real weeks inside the 90% band, once both charts are drawn."""
    app.main.get_by_role("button", name="Compare").click()
    app.main.get_by_test_id("stMetric").filter(has_text="Real weeks inside the 90% band").first.wait_for(
        timeout=120_000)
    app.wait_idle(timeout=120_000)
    assert app.charts_drawn(2) >= 2
    assert app.blank_charts() == []
    return app.metric("Real weeks inside the 90% band")


def test_editor_compares_real_with_simulated(app: App) -> None:
    app.sign_in("editor")
    app.open("Real vs simulated", "Real vs simulated")
    inside = _compare(app)
    assert PERCENT.match(inside), inside
    app.shoot("real-vs-simulated")

    app.server.wait_for_forecast()  # it calibrates the model to the demo's history
    _choose(app, "Simulated scenario",
            "The calibrated model (fitted to our data, one run per posterior draw)")
    assert PERCENT.match(_compare(app))
    app.main.get_by_text(re.compile(r"fitted on (weeks 1-\d+|all \d+ stored weeks)")).wait_for()
    app.main.get_by_text(re.compile(r"(Read against the whole organisation's band, t|T)he model fits "
                                    r"(\d+ of \d+|all \d+) facilities")).first.wait_for()
    app.shoot("real-vs-calibrated")


def test_admin_manages_users(app: App) -> None:
    app.sign_in("admin")
    check_tracker(app, "admin")
    app.open("Admin", "Admin")
    app.main.get_by_role("heading", name="Users and roles").wait_for()
    app.main.get_by_role("heading", name="Recent sign-ins").wait_for()
    assert app.main.get_by_text("70%").count() >= 1, "the adoption target reads as a percentage"
    app.shoot("admin")


def test_viewer_reads_the_forecast_and_downloads_the_pdf(app: App) -> None:
    app.server.wait_for_forecast()
    app.sign_in("viewer")
    check_tracker(app, "viewer")
    app.shoot("tracker")
    app.open("Forecast", "Adoption forecast")
    now = app.metric("Active technicians now")
    assert PERCENT.match(now), f"current adoption should read like 41%, not {now!r}"
    chance = app.main.get_by_test_id("stMetric").filter(has_text="Chance of").first
    assert PERCENT.match(chance.get_by_test_id("stMetricValue").inner_text().strip())
    best = app.main.get_by_test_id("stMetric").filter(
        has_text=re.compile("Recommended:|Best alternative:")).first
    assert PERCENT.match(best.get_by_test_id("stMetricValue").inner_text().strip()), (
        "the demo's three plans (seed_data/demo/plans) should be weighed against the current plan")
    expect(app.main.get_by_test_id("stDataFrame").first).to_contain_text("second champion cohort")
    app.main.get_by_text("How accurate has this been?").wait_for()
    assert app.charts_drawn(1) >= 1
    assert app.blank_charts() == []
    app.shoot("forecast")

    with app.page.expect_download() as download:
        app.main.get_by_role("button", name="Download the one-page brief (PDF)").click()
    assert download.value.suggested_filename.endswith(".pdf")
    data = download.value.path().read_bytes()
    (SCREENSHOTS / "forecast-brief.pdf").write_bytes(data)
    assert data.startswith(b"%PDF"), data[:20]
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1, "a one-page brief"
    text = reader.pages[0].extract_text()
    assert "Chasm adoption forecast" in text, text[:500]
    assert (reader.metadata or {}).get("/Title") == "Chasm adoption forecast"
    with app.page.expect_download() as download:
        app.main.get_by_role("button", name="Download the chart (PNG)").click()
    png = download.value.path().read_bytes()
    (SCREENSHOTS / "forecast-chart-download.png").write_bytes(png)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
