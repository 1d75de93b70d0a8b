"""Layout on a small screen: the simulator's Run button and its result stay in view at 1024x768."""

from __future__ import annotations

import re

import pytest

from devtools.browser import SCREENSHOTS, App

pytestmark = pytest.mark.browser

SMALL = {"width": 1024, "height": 768}
MONTH = re.compile(r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}")
SCROLLED_JS = """() => {
    const main = document.querySelector('[data-testid="stMain"]');
    return Math.max(main ? main.scrollTop : 0, window.scrollY, document.documentElement.scrollTop);
}"""


def _inside(box: dict | None, what: str) -> None:
    assert box is not None, f"{what} is not drawn"
    assert box["x"] >= 0 and box["x"] + box["width"] <= SMALL["width"], f"{what} is off the side: {box}"
    assert box["y"] >= 0 and box["y"] + box["height"] <= SMALL["height"], f"{what} is out of view: {box}"


def test_the_simulator_keeps_run_and_result_in_view_at_1024x768(app: App) -> None:
    app.page.set_viewport_size(SMALL)
    app.sign_in("editor")
    app.open("Simulator", "What-if simulator")
    run = app.main.get_by_role("button", name="Run simulation")
    run.wait_for()
    app.wait_idle()
    assert app.page.evaluate(SCROLLED_JS) == 0, "the page opened scrolled"
    _inside(run.bounding_box(), "the Run simulation button")
    assert run.is_enabled()

    run.click()
    app.main.get_by_test_id("stMetric").filter(has_text="Median active share at week").first.wait_for(
        timeout=120_000)
    app.wait_idle(timeout=120_000)
    app.charts_drawn(1)
    assert app.page.evaluate(SCROLLED_JS) == 0, "running scrolled the page away from the button"
    _inside(run.bounding_box(), "the Run simulation button after the run")
    fan = app.main.get_by_test_id("stVegaLiteChart").first
    box = fan.bounding_box()
    assert box is not None and 0 <= box["y"] < SMALL["height"] - 150, f"the fan starts out of view: {box}"
    _inside(app.main.get_by_test_id("stMetric").first.bounding_box(), "the median's metric")
    labels = [t or "" for t in fan.locator("svg text").all_text_contents()]
    assert [t for t in labels if MONTH.fullmatch(t.strip())], f"the fan's axis shows no dates: {labels}"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    app.page.screenshot(path=str(SCREENSHOTS / "simulator-1024x768.png"), animations="disabled")


def test_an_experiment_runs_from_the_app_and_draws_which_factor_matters(app: App) -> None:
    app.page.set_viewport_size(SMALL)
    app.sign_in("editor")
    app.open("Experiments", "Experiments")
    # the first scenario is the smallest example organisation (the pilot's 12 technicians): a quick run
    app.main.get_by_role("button", name="Run the experiment").click()
    app.main.get_by_role("heading", name="Results").wait_for(timeout=120_000)
    app.wait_idle(timeout=120_000)
    assert app.charts_drawn(1) == 1
    assert app.blank_charts() == []
    table = app.main.get_by_test_id("stDataFrame").first
    table.wait_for()
    assert app.main.get_by_role("button", name="Download the results (JSON)").is_visible()
    app.shoot("experiments-1024x768")
