"""UI speed benchmarks (run by `make bench`): the app in Debian's chromium against `chasm serve`.

- the tracker's first paint with the demo data: from the click on "Sign in" until the tracker's
  metrics are shown and its three charts are drawn (target <= 2 s), on a warm server and, once, on a
  server that has just started (nothing cached yet);
- a 100-replicate what-if rerun: on the Simulator, with a new random seed, from the click on
  "Run simulation" until the fan chart shows the new run (target <= 1 s); the same computation in
  process (no browser, no Streamlit) is given in the note to tell the model's share from the page's.

Skipped (no rows) when chromium or Playwright is missing; `make browser` installs chromium.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.timing import median_seconds

TRACKER_REPEATS = 5
WHATIF_REPEATS = 5

FAN_CHANGED_JS = """(old) => {
    const chart = document.querySelector('[data-testid="stMain"] [data-testid="stVegaLiteChart"] svg');
    const box = chart && chart.closest('[data-stale]');
    return chart !== null && chart.innerHTML !== old && !(box && box.dataset.stale === "true");
}"""


def _tracker_paint(app, role: str = "viewer") -> float:
    """Seconds from the click on Sign in to the tracker painted (metrics shown, charts drawn)."""
    from devtools.browser import ACCOUNTS

    name, password = ACCOUNTS[role]
    page = app.page
    page.goto("/")
    page.get_by_role("heading", name="Sign in to Chasm").wait_for()
    app.wait_idle()  # the sign-in page has drawn; nobody types a password faster than it does
    page.get_by_label("User name", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(password)
    button = page.get_by_role("button", name="Sign in", exact=True)
    start = time.perf_counter()
    button.click()
    app.main.get_by_role("heading", name="Adoption tracker").wait_for()
    app.main.get_by_test_id("stMetricValue").first.wait_for()
    app.charts_drawn(3)
    return time.perf_counter() - start


def _tracker_from_menu(app) -> float:
    """Seconds from a click on Tracker in the menu (coming from Forecast) to the tracker painted."""
    app.open("Forecast", "Adoption forecast")
    link = app.sidebar.get_by_test_id("stPageLink-NavLink").filter(has_text="Tracker")
    start = time.perf_counter()
    link.click()
    app.main.get_by_role("heading", name="Adoption tracker").wait_for()
    app.main.get_by_test_id("stMetricValue").first.wait_for()
    app.charts_drawn(3)
    return time.perf_counter() - start


def _fan_svg(app) -> str:
    return app.page.evaluate("""() => {
        const chart = document.querySelector('[data-testid="stMain"] [data-testid="stVegaLiteChart"] svg');
        return chart ? chart.innerHTML : '';
    }""")


def _whatif_rerun(app, seed: int) -> tuple[float, float]:
    """Seconds from the click on Run simulation (new seed, 100 replicates) to the new fan chart, and
    to the whole page settled."""
    seed_box = app.main.get_by_label("Random seed", exact=True)
    seed_box.fill(str(seed))
    seed_box.press("Enter")
    app.wait_idle()
    old = _fan_svg(app)
    button = app.main.get_by_role("button", name="Run simulation")
    start = time.perf_counter()
    button.click()
    app.page.wait_for_function(FAN_CHANGED_JS, arg=old, timeout=120_000, polling=20)
    chart = time.perf_counter() - start
    app.wait_idle(timeout=120_000)
    settled = time.perf_counter() - start - 0.6  # wait_idle waits for 0.6 s of quiet
    return chart, settled


def _in_process_seconds() -> tuple[float, float]:
    """The what-if's computations without browser or Streamlit: the ensemble and the network picture."""
    from app.services.simulator import network_snapshot, preset_toml, simulate

    text = preset_toml("turnaround")
    seeds = iter(range(100, 200))
    ensemble = median_seconds(lambda: simulate(text, runs=100, seed=next(seeds)), repeats=5)
    network = median_seconds(lambda: network_snapshot(text, facility=0, week=26, seed=next(seeds)), repeats=3)
    return ensemble, network


def run() -> list[dict]:
    from devtools.browser import CHROMIUM_ARGS, App, chromium_executable, new_page, start_server

    executable = chromium_executable()
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        executable = None
    if executable is None:
        print("bench_app: skipped (Debian's chromium or Playwright missing: make browser)", file=sys.stderr)
        return []
    rows = []
    with tempfile.TemporaryDirectory(prefix="chasm-bench-app-") as tmp:
        server = start_server(Path(tmp))
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)

                def fresh_app() -> App:
                    return App(new_page(browser, server), server)

                app = fresh_app()
                cold = _tracker_paint(app)
                app.page.context.close()
                warm, menu = [], []
                for _ in range(TRACKER_REPEATS):
                    app = fresh_app()
                    warm.append(_tracker_paint(app))
                    app.wait_idle()
                    menu.append(_tracker_from_menu(app))
                    app.page.context.close()
                rows.append({"name": "app: tracker first paint, demo data (sign-in click to charts drawn)",
                             "median_s": statistics.median(warm), "target_s": 2.0, "n": TRACKER_REPEATS,
                             "n_counts": "sign-ins, each in a new browser session on a warm server",
                             "note": f"chromium headless, new session each time; right after server "
                                     f"start (nothing cached): {cold:.2f} s"})
                rows.append({"name": "app: tracker repaint from the menu (Forecast -> Tracker, signed in)",
                             "median_s": statistics.median(menu), "target_s": 2.0, "n": TRACKER_REPEATS,
                             "n_counts": "menu clicks, one in each of those sessions",
                             "note": "click on Tracker in the sidebar to metrics shown and charts drawn"})

                app = fresh_app()
                app.sign_in("editor")
                app.open("Simulator", "What-if simulator")
                first, _ = _whatif_rerun(app, seed=1)
                timings = [_whatif_rerun(app, seed=2 + i) for i in range(WHATIF_REPEATS)]
                app.page.context.close()
                browser.close()
        finally:
            server.stop()
    ensemble, network = _in_process_seconds()
    charts = [t[0] for t in timings]
    settled = [t[1] for t in timings]
    rows.append({"name": "app: 100-replicate what-if rerun, click to fan chart (Simulator, new seed)",
                 "median_s": statistics.median(charts), "target_s": 1.0, "n": WHATIF_REPEATS,
                 "n_counts": "reruns with a new seed, in one session after its first run",
                 "note": f"whole page settled: {statistics.median(settled):.2f} s; first run of the "
                         f"session {first:.2f} s; in process, no browser: ensemble {ensemble:.2f} s, "
                         f"network picture {network:.2f} s (turnaround preset, 78 weeks)"})
    return rows


if __name__ == "__main__":
    for row in run():
        print(row)
