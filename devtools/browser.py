"""Driving `chasm serve` in Debian's chromium: start and stop the server, and the waits Streamlit needs.

Plain functions and classes (no pytest), shared by the browser tests (tests/browser/conftest.py),
the installed-package test (tests/test_installed.py) and the UI speed benchmark (bench/bench_app.py).
Only ever 127.0.0.1 is contacted.
"""
# Developer tooling, documented like tests/ and bench/ rather than like model/ and db/:
# ruff: noqa: D102, D103, D205

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import seed_data

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOTS = ROOT / "build" / "screenshots"
EXAMPLES = seed_data.path("demo", "examples")
HOST = "127.0.0.1"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ADMIN_PASSWORD = "admin-browser-pass-1"
ACCOUNTS = {"admin": ("admin", ADMIN_PASSWORD), "editor": ("erin", "editor-browser-pass-1"),
            "viewer": ("vic", "viewer-browser-pass-1")}
TIMEOUT_MS = 30_000
VIEWPORT = {"width": 1400, "height": 900}
SERVER_START_S = 120
FORECAST_S = 240

# The forecast page needs a stored forecast, which the nightly job makes; a quick one stands in.
FORECAST_SCRIPT = """
from app.services.forecasts import refresh_forecast
from db.engine import get_engine
print(refresh_forecast(get_engine(), quick=True))
"""


class ServerError(RuntimeError):
    """`chasm serve` did not start, or a helper process failed."""


def chromium_executable() -> str | None:
    return shutil.which("chromium")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def chasm_command() -> list[str]:
    script = Path(sys.executable).parent / "chasm"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from app.cli import main; main()"]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback only)
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def stop_group(process: subprocess.Popen, timeout: float = 15) -> None:
    """Stop a process started with start_new_session=True and everything it started: SIGTERM to its
    process group, SIGKILL after `timeout`.
    """
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # Children (streamlit, scheduler) may outlive the parent by a moment: end the group for sure.
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


@dataclass
class Server:
    """A running `chasm serve` with its throwaway store, and the helper processes beside it."""

    url: str
    env: dict[str, str]
    base: Path
    process: subprocess.Popen
    helpers: list[subprocess.Popen] = field(default_factory=list)
    forecast: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.base / "serve.log"

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def chasm(self, *args: str) -> str:
        done = subprocess.run([*chasm_command(), *args], env=self.env, cwd=ROOT, capture_output=True,
                              text=True, timeout=120)
        if done.returncode != 0:
            raise ServerError(f"chasm {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start_forecast(self) -> subprocess.Popen:
        """Compute and store a (quick) forecast in the background; returns its process."""
        with (self.base / "forecast.log").open("wb") as out:
            self.forecast = subprocess.Popen(
                [sys.executable, "-c", FORECAST_SCRIPT], env=self.env, cwd=ROOT, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        self.helpers.append(self.forecast)
        return self.forecast

    def wait_for_forecast(self, timeout: float = FORECAST_S) -> None:
        forecast = self.forecast if self.forecast is not None else self.start_forecast()
        try:
            code = forecast.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ServerError(f"the background forecast took over {timeout:.0f} s") from None
        if code != 0:
            log = (self.base / "forecast.log").read_text(errors="replace")
            raise ServerError(f"the background forecast failed (exit {code}):\n{log[-3000:]}")

    def stop(self) -> None:
        for helper in self.helpers:
            stop_group(helper)
        stop_group(self.process)


def start_server(base: Path, *, with_accounts: bool = True, database_url: str | None = None,
                 secret: str = "browser-test-secret") -> Server:
    """Start `chasm serve` on a free loopback port with a new SQLite store under `base` (the first
    start loads the demo and creates `admin`), wait until it answers, and add the other accounts.

    `database_url` serves an existing store instead (one with facilities keeps its data), whose
    pseudonym key is `secret`.
    """
    base.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "CHASM_DATABASE_URL": database_url or f"sqlite:///{base / 'chasm.db'}",
           "CHASM_DATA_DIR": str(base / "data"), "CHASM_ADMIN_PASSWORD": ADMIN_PASSWORD,
           "CHASM_PSEUDONYM_SECRET": secret, "PYTHONUNBUFFERED": "1"}
    with (base / "serve.log").open("wb") as out:
        process = subprocess.Popen(
            [*chasm_command(), "serve", "--port", str(port), "--address", HOST], env=env, cwd=ROOT,
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    server = Server(url=f"http://{HOST}:{port}", env=env, base=base, process=process)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while not _answers(f"{server.url}/_stcore/health"):
            if process.poll() is not None:
                raise ServerError(f"chasm serve exited with {process.returncode}:\n{server.log_tail()}")
            if time.monotonic() > deadline:
                raise ServerError(f"chasm serve did not answer within {SERVER_START_S} s:\n"
                                  f"{server.log_tail()}")
            time.sleep(0.3)
        if with_accounts:
            for role, (name, password) in ACCOUNTS.items():
                if name != "admin":
                    server.chasm("users", "add", name, "--role", role, "--password", password)
    except BaseException:
        server.stop()
        raise
    return server


def new_page(browser, server: Server):
    """A page in a fresh browser context (so a fresh Streamlit session) that reaches only the app."""
    context = browser.new_context(base_url=server.url, viewport=dict(VIEWPORT), accept_downloads=True)
    context.set_default_timeout(TIMEOUT_MS)
    context.route("**/*", lambda route: route.continue_() if route.request.url.startswith(server.url)
                  or route.request.url.startswith(("data:", "blob:")) else route.abort())
    return context.new_page()


IDLE_JS = """() => {
    const widget = document.querySelector('[data-testid="stStatusWidget"]');
    const running = widget !== null && /stop|running|connecting/i.test(widget.innerText);
    return !running && document.querySelectorAll('[data-stale="true"]').length === 0
        && document.querySelectorAll('[data-testid="stSpinner"]').length === 0;
}"""


class App:
    """A signed-in (or not yet) browser tab on the app, with the waits Streamlit needs."""

    def __init__(self, page, server: Server) -> None:
        self.page, self.server = page, server

    def wait_idle(self, timeout: int = TIMEOUT_MS) -> None:
        """Wait until the script run has finished and the page has settled (no stale elements)."""
        deadline = time.monotonic() + timeout / 1000
        quiet_since = None
        while time.monotonic() < deadline:
            if self.page.evaluate(IDLE_JS):
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= 0.6:
                    return
            else:
                quiet_since = None
            self.page.wait_for_timeout(100)
        raise AssertionError(f"the page did not settle within {timeout / 1000:.0f} s")

    def next_frames(self, frames: int = 2, pause_ms: int = 100) -> None:
        """Let the page render `frames` animation frames and then pause `pause_ms`: the shortest gap
        between two keystrokes of a person, which React components rely on to catch up.
        """
        self.page.evaluate("""(n) => new Promise(done => {
            const step = (left) => left ? requestAnimationFrame(() => step(left - 1)) : done();
            step(n);
        })""", frames)
        self.page.wait_for_timeout(pause_ms)

    def sign_in(self, role: str, path: str = "/") -> None:
        name, password = ACCOUNTS[role]
        self.page.goto(path)
        self.page.get_by_role("heading", name="Sign in to Chasm").wait_for()
        self.page.get_by_label("User name", exact=True).fill(name)
        self.page.get_by_label("Password", exact=True).fill(password)
        self.page.get_by_role("button", name="Sign in", exact=True).click()
        self.sidebar.get_by_text(f"Signed in as {name} ({role})").wait_for()
        self.wait_idle()

    @property
    def sidebar(self):
        return self.page.get_by_test_id("stSidebar")

    @property
    def main(self):
        return self.page.get_by_test_id("stMain")

    def menu(self) -> list[str]:
        """The page links in the sidebar menu, in order."""
        links = self.sidebar.get_by_test_id("stPageLink-NavLink")
        links.first.wait_for()  # every role has at least the tracker; the sidebar may still be drawing
        return [text.split("\n")[-1].strip() for text in links.all_inner_texts()]

    def open(self, title: str, heading: str) -> None:
        """Go to a page through the sidebar menu (same session) and wait for its heading."""
        self.sidebar.get_by_test_id("stPageLink-NavLink").filter(has_text=title).click()
        self.main.get_by_role("heading", name=heading, exact=True).wait_for()
        self.wait_idle()

    def metric(self, label: str) -> str:
        """The shown value of the st.metric whose label starts with `label`."""
        metric = self.main.get_by_test_id("stMetric").filter(
            has=self.page.get_by_test_id("stMetricLabel").filter(has_text=label)).first
        return metric.get_by_test_id("stMetricValue").inner_text().strip()

    def charts_drawn(self, at_least: int = 0, timeout: int = TIMEOUT_MS) -> int:
        """Wait until at least `at_least` Vega-Lite charts of this script run are on the page (stale
        ones, left over from the page before, do not count) and every one has drawn (a canvas or svg);
        return how many there are.
        """
        self.page.wait_for_function("""(n) => {
            const charts = [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
                .filter(c => c.closest('[data-stale="true"]') === null);
            return charts.length >= n && charts.every(c => c.querySelector('canvas, svg'));
        }""", arg=at_least, timeout=timeout)
        return self.main.get_by_test_id("stVegaLiteChart").count()

    def blank_charts(self) -> list[str]:
        """The charts that drew axes but no visible mark (no bar, line, area or point with a size),
        named by their aria-label or position.
        """
        return self.page.evaluate("""() => [...document.querySelectorAll(
                '[data-testid="stMain"] [data-testid="stVegaLiteChart"] svg')]
            .map((svg, i) => {
                const marks = [...svg.querySelectorAll('g.role-mark path')];
                const drawn = marks.some(m => {
                    const box = m.getBBox();
                    return box.width > 0.5 && box.height > 0.5;
                });
                return drawn ? null : `chart ${i + 1} (${svg.getAttribute('aria-label') || 'no label'}): `
                    + `${marks.length} marks, none visible`;
            }).filter(x => x !== null)""")

    def shoot(self, name: str) -> Path:
        """A full-page screenshot under build/screenshots/ (the main pane scrolls, so the viewport is
        grown to its whole height first).
        """
        self.wait_idle()
        self.charts_drawn()
        size = self.page.viewport_size
        height = self.page.evaluate("""() => {
            const main = document.querySelector('[data-testid="stMain"]');
            const side = document.querySelector('[data-testid="stSidebarContent"]');
            return Math.max(main ? main.scrollHeight : 0, side ? side.scrollHeight : 0,
                            document.documentElement.scrollHeight);
        }""")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        try:
            tall = min(max(height, size["height"]), 12_000)
            self.page.set_viewport_size({"width": size["width"], "height": tall})
            self.page.wait_for_timeout(400)
            self.charts_drawn()
            self.page.screenshot(path=str(path), full_page=True, animations="disabled")
        finally:
            self.page.set_viewport_size(size)
        return path
