"""A refresh keeps the session (a signed cookie); signing out forgets it, in a real browser."""

from __future__ import annotations

import pytest

from app.services.sessions import COOKIE
from devtools.browser import App

pytestmark = pytest.mark.browser


def _cookie(app: App) -> dict | None:
    return next((c for c in app.page.context.cookies() if c["name"] == COOKIE), None)


def test_a_refresh_keeps_the_session_and_signing_out_forgets_it(app: App) -> None:
    app.sign_in("editor")
    app.open("Simulator", "What-if simulator")
    app.page.wait_for_function(f"() => document.cookie.includes('{COOKIE}=')")
    cookie = _cookie(app)
    assert cookie is not None and cookie["sameSite"] == "Strict" and cookie["value"].count(".") == 2

    app.page.reload()
    app.sidebar.get_by_text("Signed in as erin (editor)").wait_for()
    app.main.get_by_role("heading", name="What-if simulator").wait_for()
    app.sidebar.get_by_role("button", name="Sign out").wait_for()
    app.wait_idle()
    app.next_frames(4, 500)
    assert app.page.get_by_role("heading", name="Sign in to Chasm").count() == 0
    app.shoot("refreshed-still-signed-in")

    app.sidebar.get_by_role("button", name="Sign out").click()
    app.page.get_by_role("heading", name="Sign in to Chasm").wait_for()
    app.page.wait_for_function(f"() => !document.cookie.includes('{COOKIE}=')")
    app.page.reload()
    app.page.get_by_role("heading", name="Sign in to Chasm").wait_for()
    app.wait_idle()
    assert app.sidebar.get_by_text("Signed in as").count() == 0


def test_a_forged_cookie_signs_no_one_in(app: App) -> None:
    app.page.goto("/")
    app.page.get_by_role("heading", name="Sign in to Chasm").wait_for()
    forged = {"name": COOKIE, "value": "YWRtaW4.9999999999.0123", "url": app.server.url}
    app.page.context.add_cookies([forged])
    app.page.reload()
    app.page.get_by_role("heading", name="Sign in to Chasm").wait_for()
    app.wait_idle()
    assert app.sidebar.get_by_text("Signed in as").count() == 0
