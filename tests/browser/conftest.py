"""Browser tests: Debian's chromium (through Playwright) against a real `chasm serve`.

One server per session on a free loopback port, with a throwaway SQLite store (the demo is loaded by
the server's first start), one account per role, and a quick forecast computed in the background
so the leadership page has something to show. Every test gets a fresh browser context, so a fresh
Streamlit session that has to sign in.

Under CI (CI=true) a missing chromium or Playwright fails the tests; elsewhere they are skipped.
Never `playwright install`: the browser is Debian's (`.ci/install-browser`, `make browser`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from devtools.browser import (
    CHROMIUM_ARGS,
    SCREENSHOTS,
    TIMEOUT_MS,
    App,
    Server,
    ServerError,
    chromium_executable,
    new_page,
    start_server,
)


def _unavailable(reason: str) -> None:
    """Fail under CI (a missing browser there is a broken setup), skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run; see .ci/install-browser)",
                    pytrace=False)
    pytest.skip(reason)


def chromium_path() -> str:
    path = chromium_executable()
    if path is None:
        _unavailable("Debian's chromium is not installed: run .ci/install-browser (make browser)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("the playwright package is missing: pip install -e '.[dev]'")
    return path


@pytest.fixture(scope="session")
def server(tmp_path_factory) -> Iterator[Server]:
    chromium_path()  # no server without a browser to drive it
    try:
        server = start_server(tmp_path_factory.mktemp("chasm-serve"))
    except ServerError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        server.start_forecast()
        yield server
    finally:
        server.stop()
        print(f"\nchasm serve log ({server.log}):\n{server.log_tail(10)}")


@pytest.fixture(scope="session")
def browser() -> Iterator:
    executable = chromium_path()
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)  # assertions wait as long as locators do (a busy 2-core CI)

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def app(browser, server) -> Iterator[App]:
    page = new_page(browser, server)
    yield App(page, server)
    page.context.close()


@pytest.fixture(scope="session", autouse=True)
def screenshots_dir() -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
