"""Admin: accounts and roles, the sign-in log, and the settings in force."""

import streamlit as st

from app.web import resources
from db import accounts
from db.accounts import ROLES, AccountError
from db.config import get_settings

account = st.session_state["account"]
st.title("Admin")


def _do(action, done: str, **kwargs) -> None:
    try:
        action(resources.engine(), **kwargs)
    except AccountError as error:
        st.error(f"Not done: {error}.")
    else:
        resources.clear_reads()
        st.session_state["admin_notice"] = done
        st.rerun()


if notice := st.session_state.pop("admin_notice", None):
    st.success(notice)
st.subheader("Users and roles")
people = resources.users()
st.dataframe(people, hide_index=True, width="stretch", column_config={
    "name": "User", "role": "Role",
    "created_at": st.column_config.DatetimeColumn("Created", format="D MMM YYYY")})

add, change = st.columns(2)
with add.form("add_user", clear_on_submit=True):
    st.markdown("**Add a user**")
    name = st.text_input("New user name")
    role = st.selectbox("Role", ROLES, key="add_user_role")
    password = st.text_input("Initial password (8+ characters)", type="password")
    if st.form_submit_button("Add user"):
        _do(accounts.add_user, f"Added {name.strip()} as {role}.", name=name.strip(), role=role,
            password=password)
with change.container(border=True):
    st.markdown("**Change a user**")
    who = st.selectbox("User", people["name"], key="admin_user")
    new_role = st.selectbox("New role", ROLES, key="admin_role")
    if st.button("Change role"):
        _do(accounts.set_role, f"{who} is now {new_role}.", name=who, role=new_role)
    new_password = st.text_input("New password (8+ characters)", type="password", key="admin_password")
    if st.button("Set password"):
        _do(accounts.set_password, f"Set a new password for {who}.", name=who, password=new_password)
    if st.button("Remove user", disabled=who == account.name, help="You cannot remove yourself."):
        _do(accounts.remove_user, f"Removed {who}.", name=who)

st.subheader("Recent sign-ins")
attempts = accounts.sign_ins(resources.engine(), limit=50)
st.dataframe(attempts, hide_index=True, width="stretch", column_config={
    "name": "User name typed", "success": st.column_config.CheckboxColumn("Signed in"), "method": "How",
    "at": st.column_config.DatetimeColumn("When (UTC)", format="D MMM YYYY, HH:mm:ss")})

st.subheader("Settings")
store, app_settings = get_settings(), resources.settings()
costs = app_settings.costs()
st.table({"Setting": ["Database", "Data folder", "Inbox ingest schedule (cron)", "Session ends after idle",
                      "Adoption target", "At risk after", "Forecast schedule (cron)",
                      "Alternative plans folder", "Downtime before the tool", "Cost of an hour of downtime",
                      "Technician wage"],
          "Value": [resources.engine().url.render_as_string(hide_password=True), str(store.data_dir),
                    store.ingest_cron, f"{app_settings.session_idle_minutes} minutes",
                    f"{app_settings.target_share:.0%}", f"{app_settings.inactive_weeks} weeks inactive",
                    store.forecast_cron, str(store.resolved_plans_dir),
                    f"{costs.downtime_hours_per_week:,.0f} hours a week",
                    f"{costs.downtime_cost_per_hour:,.0f} (0: savings in hours only)",
                    f"{costs.wage_per_hour:,.0f} an hour"]})
st.caption("Settings come from CHASM_* environment variables (e.g. CHASM_SESSION_IDLE_MINUTES, "
           "CHASM_TARGET_SHARE, CHASM_DOWNTIME_COST_PER_HOUR, CHASM_PLANS_DIR); change them and restart "
           "`chasm serve`.")
