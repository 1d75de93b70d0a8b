"""Chasm's web app: the entry file. It signs people in, routes with st.navigation, and refuses pages
a role may not use (they are not in its menu, and reaching one by URL says so)."""

from __future__ import annotations

import logging
import secrets

import streamlit as st
from streamlit.errors import FragmentHandledException
from streamlit.navigation.page import StreamlitPage
from streamlit.runtime.scriptrunner_utils.exceptions import ScriptControlException

from app.web import auth
from app.web.components.text import plain

log = logging.getLogger("chasm.web")
INCIDENT = ("Something went wrong on this page. Incident {incident}: an admin can find the details in "
            "the server log.")


def run_page(page: StreamlitPage, title: str) -> None:
    """Run a page; an unexpected error shows a short message with an incident id, never a traceback.

    The log gets the traceback under the same id. Streamlit's own control flow (st.stop, st.rerun,
    st.switch_page) passes through, and so does an error a fragment raised: Streamlit has already shown
    it (without details, see `chasm serve`).
    """
    try:
        page.run()
    except (ScriptControlException, FragmentHandledException):
        raise
    except Exception:
        incident = secrets.token_hex(3).upper()
        log.exception("incident %s on the %s page", incident, title)
        st.error(INCIDENT.format(incident=incident), icon=":material/error:")


def main() -> None:
    st.set_page_config(page_title="Chasm", page_icon=":material/trending_up:", layout="wide")
    pages = {spec.url_path: st.Page(spec.file, title=spec.title, url_path=spec.url_path, icon=spec.icon,
                                    default=spec.url_path == "tracker") for spec in auth.PAGES}
    page = st.navigation(list(pages.values()), position="hidden")

    account = auth.current_account()
    if account is None:
        auth.sign_in_form()
        st.stop()

    with st.sidebar:
        st.markdown("### Chasm")
        for spec in auth.PAGES:
            if auth.may_use(account.role, spec.role):
                st.page_link(pages[spec.url_path])
        st.divider()
        st.caption(f"Signed in as **{plain(account.name)}** ({account.role})")
        if not (auth.sso_configured() and getattr(st.user, "is_logged_in", False)):
            auth.change_password_form(account)
        auth.remember(account)
        if st.button("Sign out"):
            auth.sign_out()
            if auth.sso_configured() and getattr(st.user, "is_logged_in", False):
                st.logout()
            st.rerun()

    spec = next(s for s in auth.PAGES if s.title == page.title)
    if not auth.may_use(account.role, spec.role):
        st.title(spec.title)
        st.error(f"Access refused: the {spec.title} page needs the {spec.role} role and you are signed in "
                 f"as {plain(account.name)} ({account.role}). Ask an admin to change your role.")
        st.stop()

    st.session_state["account"] = account
    if st.session_state.get("must_change_password"):
        st.warning(auth.ONE_TIME_WARNING, icon=":material/key:")
    run_page(page, spec.title)


# Streamlit runs this file as __main__; a multiprocessing child re-importing it (as __mp_main__)
# must not draw the app.
if __name__ == "__main__":
    main()
