"""Signing in, menus by role, refused pages, expiring sessions."""

import time

import pytest
from streamlit.testing.v1 import AppTest

from tests.app.conftest import MAIN, PASSWORDS, signed_in, texts

ALL_PAGES = ["tracker", "upload", "simulator", "real_vs_simulated", "plan", "forecast", "admin"]
MENUS = {
    "viewer": ["Tracker", "Forecast"],
    "editor": ["Tracker", "Upload", "Simulator", "Experiments", "Real vs simulated", "Plan", "Forecast"],
    "admin": ["Tracker", "Upload", "Simulator", "Experiments", "Real vs simulated", "Plan", "Forecast",
              "Admin"],
}
REFUSED = {"viewer": ["upload", "simulator", "experiments", "real_vs_simulated", "plan", "admin"],
           "editor": ["admin"], "admin": []}


def _sign_in(name: str, password: str) -> AppTest:
    at = AppTest.from_file(str(MAIN), default_timeout=30).run()
    [user, secret] = at.text_input
    user.input(name)
    secret.input(password)
    at.button[0].click().run()
    return at


def test_nothing_is_reachable_without_signing_in():
    at = AppTest.from_file(str(MAIN), default_timeout=30).run()
    assert texts(at.title) == ["Sign in to Chasm"]
    assert not at.page_link
    for page in ALL_PAGES:
        at.switch_page(f"views/{page}.py").run()
        assert texts(at.title) == ["Sign in to Chasm"], page
        assert not at.dataframe and not at.metric


def test_sign_in_with_the_right_password_opens_the_tracker():
    at = _sign_in("vic", PASSWORDS["vic"])
    assert texts(at.title) == ["Adoption tracker"]
    assert at.session_state["role"] == "viewer"


def test_a_wrong_password_is_refused_with_a_message():
    at = _sign_in("vic", "not-the-password")
    assert texts(at.title) == ["Sign in to Chasm"]
    assert texts(at.error) == ["Not signed in: wrong user name or password."]
    assert "user" not in at.session_state


def test_repeated_failures_lock_the_account_for_a_while():
    for _ in range(5):
        _sign_in("locked-out-user", "wrong-password")
    at = _sign_in("locked-out-user", "wrong-password")
    assert "too many failed sign-ins" in at.error[0].value


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_the_menu_lists_only_what_the_role_may_use(role):
    at = signed_in(role)
    assert [link.label for link in at.sidebar.get("page_link")] == MENUS[role]
    assert f"({role})" in at.sidebar.caption[0].value


@pytest.mark.parametrize("role,page", [(r, p) for r, pages in REFUSED.items() for p in pages])
def test_pages_outside_the_role_are_refused_by_url(role, page):
    at = signed_in(role, page)
    [error] = texts(at.error)
    assert error.startswith("Access refused: the ") and f"({role})" in error
    assert not at.dataframe and not at.file_uploader and not at.metric
    assert not at.main.button


def test_an_idle_session_expires(monkeypatch):
    at = signed_in("editor")
    at.session_state["last_seen"] = time.time() - 31 * 60
    at.run()
    assert texts(at.title) == ["Sign in to Chasm"]
    assert "30 minutes without activity" in at.info[0].value


def test_the_idle_limit_is_configurable(monkeypatch):
    monkeypatch.setenv("CHASM_SESSION_IDLE_MINUTES", "120")
    at = signed_in("editor")
    at.session_state["last_seen"] = time.time() - 31 * 60
    at.run()
    assert texts(at.title) == ["Adoption tracker"]


def test_signing_out_returns_to_the_sign_in_page():
    at = signed_in("viewer")
    [b for b in at.sidebar.button if b.label == "Sign out"][0].click().run()
    assert texts(at.title) == ["Sign in to Chasm"]


SSO_SECRETS = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                        "client_id": "chasm", "client_secret": "s",
                        "server_metadata_url": "https://idp.example/.well-known/openid-configuration"}}


def _sso(user: dict) -> AppTest:
    at = AppTest.from_file(str(MAIN), default_timeout=30)
    at.secrets.update(SSO_SECRETS)
    at.user = user
    return at.run()


def test_single_sign_on_is_offered_when_configured():
    at = _sso({"is_logged_in": False})
    assert "Sign in with single sign-on" in [b.label for b in at.button]


def test_single_sign_on_takes_the_role_from_the_database():
    at = _sso({"is_logged_in": True, "email": "vic", "name": "Vic"})
    assert texts(at.title) == ["Adoption tracker"]
    assert at.session_state["role"] == "viewer"


def test_single_sign_on_without_an_account_is_refused_with_what_to_do():
    at = _sso({"is_logged_in": True, "email": "stranger@example.com"})
    assert texts(at.title) == ["Sign in to Chasm"]
    assert "chasm users add stranger@example.com --role viewer" in at.info[0].value


def test_a_signed_in_user_changes_their_own_password(engine):
    from db.accounts import add_user, sign_in

    add_user(engine, name="pat", role="viewer", password="first-pass")
    at = AppTest.from_file(str(MAIN), default_timeout=30)
    at.session_state["user"], at.session_state["role"] = "pat", "viewer"
    at.run()
    new, again = at.sidebar.text_input
    new.input("second-pass")
    again.input("second-pass")
    [b for b in at.sidebar.button if b.label == "Change password"][0].click().run()
    assert "Password changed." in texts(at.sidebar.success)
    assert sign_in(engine, name="pat", password="second-pass") == "viewer"


def test_an_idle_single_sign_on_session_is_signed_out_of_the_provider_too():
    at = _sso({"is_logged_in": True, "email": "vic"})
    assert texts(at.title) == ["Adoption tracker"]
    at.session_state["last_seen"] = time.time() - 31 * 60
    at.run()
    assert texts(at.title) == ["Sign in to Chasm"]
    assert "user" not in at.session_state


def test_a_one_time_password_is_flagged_until_it_is_changed(engine):
    from sqlalchemy import update

    from app.web.auth import ONE_TIME_WARNING
    from db.accounts import add_user, must_change_password
    from db.models import User

    add_user(engine, name="otto", role="viewer", password="one-time-pass")  # not a 2nd admin
    with engine.begin() as conn:
        conn.execute(update(User).where(User.name == "otto").values(must_change_password=True))
    at = _sign_in("otto", "one-time-pass")
    assert texts(at.title)[0] == "Adoption tracker"
    assert ONE_TIME_WARNING in texts(at.warning)
    new, again = at.sidebar.text_input
    new.input("my-own-pass-1")
    again.input("my-own-pass-1")
    [b for b in at.sidebar.button if b.label == "Change password"][0].click().run()
    assert "Password changed." in texts(at.sidebar.success)
    assert not must_change_password(engine, "otto")
    at.run()
    assert ONE_TIME_WARNING not in texts(at.warning)
    assert ONE_TIME_WARNING not in texts(_sign_in("otto", "my-own-pass-1").warning)
