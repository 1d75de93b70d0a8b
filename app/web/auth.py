"""Who is signed in, what their role may use, and the sign-in form.

Local accounts sign in through `db.accounts.sign_in` (argon2id, rate-limited, logged). When
`[auth]` is configured in Streamlit's secrets, single sign-on through `st.login` is offered too;
roles always come from the database. A session ends after `CHASM_SESSION_IDLE_MINUTES` idle. The
browser remembers a signed-in session in a signed cookie (`app.services.sessions`), so refreshing the
page keeps people signed in; signing out forgets it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import streamlit as st

from app.web import resources
from app.web.components.text import code, plain
from db.accounts import ROLES


@dataclass(frozen=True)
class PageSpec:
    """A page of the app and the least role that may use it."""

    file: str
    title: str
    url_path: str
    role: str
    icon: str


PAGES = (
    PageSpec("views/tracker.py", "Tracker", "tracker", "viewer", ":material/monitoring:"),
    PageSpec("views/upload.py", "Upload", "upload", "editor", ":material/upload_file:"),
    PageSpec("views/simulator.py", "Simulator", "simulator", "editor", ":material/tune:"),
    PageSpec("views/experiments.py", "Experiments", "experiments", "editor", ":material/science:"),
    PageSpec("views/real_vs_simulated.py", "Real vs simulated", "real-vs-simulated", "editor",
             ":material/compare_arrows:"),
    PageSpec("views/plan.py", "Plan", "plan", "editor", ":material/route:"),
    PageSpec("views/forecast.py", "Forecast", "forecast", "viewer", ":material/trending_up:"),
    PageSpec("views/admin.py", "Admin", "admin", "admin", ":material/admin_panel_settings:"),
)


@dataclass(frozen=True)
class Account:
    name: str
    role: str


def may_use(role: str, needed: str) -> bool:
    """Whether `role` is at least `needed` (viewer < editor < admin)."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


def current_account() -> Account | None:
    """The signed-in account, or None (also when the session has been idle too long)."""
    state = st.session_state
    name, role = state.get("user"), state.get("role")
    if name is None or role is None:  # signed in sets both; signing out clears both
        return _remembered() or _sso_account()
    idle_limit = resources.settings().session_idle_minutes * 60
    now = time.time()
    if now - state.get("last_seen", now) > idle_limit:
        sign_out(notice=f"Your session ended after {idle_limit // 60} minutes without activity. "
                        "Sign in again.")
        if sso_configured() and getattr(st.user, "is_logged_in", False):
            st.logout()  # else single sign-on would sign the idle session straight back in
        return None
    state["last_seen"] = now
    return Account(name, role)


def sign_out(notice: str | None = None) -> None:
    for key in ("user", "role", "last_seen", "must_change_password", "cookie_issued", "cookie"):
        st.session_state.pop(key, None)
    st.session_state["signed_out"] = True  # the cookie is forgotten on the sign-in page, not read
    if notice:
        st.session_state["auth_notice"] = notice


def _start_session(name: str, role: str) -> None:
    st.session_state.update(user=name, role=role, last_seen=time.time())
    st.session_state.pop("auth_notice", None)
    st.session_state.pop("signed_out", None)


def _remembered() -> Account | None:
    """The account this browser's session cookie signs in, if it is valid (a refreshed page)."""
    from app.services import sessions

    if st.session_state.get("signed_out"):
        return None
    try:
        token = st.context.cookies.get(sessions.COOKIE)
    except Exception:  # no browser connection (bare mode)
        return None
    found = sessions.verify(resources.engine(), token if isinstance(token, str) else None)
    if found is None:
        return None
    name, role, issued = found
    _start_session(name, role)
    st.session_state["cookie_issued"] = issued
    return Account(name, role)


def _set_cookie(value: str, max_age: int) -> None:
    """Set (or, with max_age 0, delete) the session cookie in the browser: Streamlit has no API for it,
    so a zero-height component writes it on the app's own origin."""
    from streamlit.components.v1 import html

    from app.services import sessions

    html(f"<script>window.parent.document.cookie = '{sessions.COOKIE}={value}; Max-Age={max_age}; "
         "Path=/; SameSite=Strict';</script>", height=0)


def remember(account: Account) -> None:
    """Keep the signed-in session across a refresh: the cookie, issued afresh every few minutes of use
    (drawn on every run, so a quick rerun cannot lose it)."""
    from app.services import sessions

    state = st.session_state
    if time.time() - state.get("cookie_issued", 0) >= sessions.REISSUE_SECONDS or "cookie" not in state:
        try:
            state["cookie"] = sessions.issue(resources.engine(), account.name)
        except LookupError:  # a single sign-on name without a local account: st.login remembers it
            return
        state["cookie_issued"] = time.time()
    _set_cookie(state["cookie"], resources.settings().session_idle_minutes * 60)


def forget() -> None:
    """Delete the session cookie after signing out (drawn on the sign-in page)."""
    if st.session_state.get("signed_out"):
        _set_cookie("", 0)


def sso_configured() -> bool:
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _sso_account() -> Account | None:
    if not sso_configured() or not getattr(st.user, "is_logged_in", False):
        return None
    from db.accounts import role_of

    claim = st.user.get("email") or st.user.get("name")
    name = claim if isinstance(claim, str) else None
    role = role_of(resources.engine(), name) if name else None
    if name is None or role is None:
        st.session_state["auth_notice"] = (
            f"{plain(name)} signed in with single sign-on but has no Chasm account. Ask an admin to run "
            f"{code(f'chasm users add {name} --role viewer')}.")
        return None
    _start_session(name, role)
    return Account(name, role)


ONE_TIME_WARNING = ("**Choose your own password now.** You signed in with the one-time password printed "
                    "at first start, which anyone who saw that output can use. Set a new one under "
                    "*Change my password* in the sidebar.")


def change_password_form(account: Account) -> None:
    """Let the signed-in person replace their password; open, with a warning, while it is one-time."""
    from db.accounts import AccountError, set_password

    one_time = st.session_state.get("must_change_password", False)
    expander = st.expander("Change my password", expanded=one_time)
    with expander, st.form("change_password", clear_on_submit=True):
        new = st.text_input("New password (8+ characters)", type="password")
        again = st.text_input("New password again", type="password")
        if not st.form_submit_button("Change password"):
            return
        if new != again:
            st.error("The two passwords differ: type the same password twice.")
            return
        try:
            set_password(resources.engine(), name=account.name, password=new)
        except AccountError as error:
            st.error(f"Not changed: {plain(error)}.")
        else:
            st.session_state["must_change_password"] = False
            st.session_state.pop("cookie", None)  # the old cookie ended with the old password
            st.success("Password changed.")


def _submit_sign_in() -> None:
    """The Sign in button's callback: it runs before the script, so a success draws the page at once."""
    from db.accounts import SignInError, must_change_password, sign_in

    state = st.session_state
    name, password = state.get("sign_in_name", "").strip(), state.get("sign_in_password", "")
    state["sign_in_password"] = ""  # never kept in the session
    try:
        role = sign_in(resources.engine(), name=name, password=password, client=_client_address())
    except SignInError as error:
        state["sign_in_error"] = f"Not signed in: {error}."
    else:
        _start_session(name, role)
        state["must_change_password"] = must_change_password(resources.engine(), name)


def _client_address() -> str:
    """The address sign-in failures are counted against ("unknown" on localhost and in AppTest)."""
    try:
        address = st.context.ip_address
    except Exception:  # no browser connection at all
        return "unknown"
    return address if isinstance(address, str) and address else "unknown"  # AppTest gives a mock


def sign_in_form() -> None:
    """The sign-in page: local accounts, and single sign-on when configured."""
    st.title("Sign in to Chasm")
    forget()
    if notice := st.session_state.get("auth_notice"):
        st.info(notice)
    with st.form("sign_in"):
        st.text_input("User name", key="sign_in_name")
        st.text_input("Password", type="password", key="sign_in_password")
        st.form_submit_button("Sign in", type="primary", on_click=_submit_sign_in)
    if error := st.session_state.pop("sign_in_error", None):
        st.error(plain(error))
    if sso_configured():
        st.button("Sign in with single sign-on", on_click=st.login)
    st.caption("No account? Ask an admin (`chasm users add NAME --role viewer`).")
    # The picture also loads the chart library while people type, so the tracker draws at once.
    from app.services.charts import chasm_illustration
    from app.web.components.chart import show_chart

    show_chart(chasm_illustration())
