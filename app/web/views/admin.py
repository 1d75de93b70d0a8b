"""Admin: accounts and roles, the sign-in log, and the settings in force."""

import streamlit as st

from app.services.words import money
from app.web import resources
from app.web.components.text import plain
from db import accounts
from db.accounts import ROLES, AccountError

account = st.session_state["account"]
st.title("Admin")


def _do(action, done: str, **kwargs) -> None:
    try:
        action(resources.engine(), **kwargs)
    except AccountError as error:
        st.error(f"Not done: {plain(error)}.")
    else:
        resources.clear_reads()
        st.session_state["admin_notice"] = done
        st.rerun()


if notice := st.session_state.pop("admin_notice", None):
    st.success(plain(notice))
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
    who: str | None = st.selectbox("User", people["name"], key="admin_user")
    new_role = st.selectbox("New role", ROLES, key="admin_role")
    if st.button("Change role"):
        _do(accounts.set_role, f"{who} is now {new_role}.", name=who, role=new_role)
    new_password = st.text_input("New password (8+ characters)", type="password", key="admin_password")
    if st.button("Set password"):
        _do(accounts.set_password, f"Set a new password for {who}.", name=who, password=new_password)
    # The confirmation belongs to the user named in it: choosing another one starts unticked.
    sure = st.checkbox(f"Yes, remove {plain(who)}", key=f"admin_remove_sure_{who}",
                       disabled=who == account.name)
    if st.button("Remove user", disabled=who == account.name or not sure,
                 help="You cannot remove yourself." if who == account.name else "Tick the box above first."):
        _do(accounts.remove_user, f"Removed {who}.", name=who)

st.subheader("Sign-in locks")
locks = accounts.sign_in_locks(resources.engine())
if locks.empty:
    st.caption("No one is locked out: five failed sign-ins within 15 minutes lock a name from that address.")
else:
    st.dataframe(locks, hide_index=True, width="stretch", column_config={
        "name": "User name", "client": "From address", "lockouts": "Locks in a row",
        "locked_until": st.column_config.DatetimeColumn("Locked until (UTC)", format="D MMM YYYY, HH:mm")})
    lockable = sorted(set(locks["name"]) & set(people["name"]))  # locks on unknown names just expire
    if lockable:
        locked = st.selectbox("Locked account", lockable, key="admin_unlock_user")
        if st.button("Unlock"):
            _do(accounts.unlock, f"Unlocked {locked}.", name=locked)

st.subheader("Recent sign-ins")
attempts = accounts.sign_ins(resources.engine(), limit=50)
st.dataframe(attempts, hide_index=True, width="stretch", column_config={
    "name": "User name typed", "success": st.column_config.CheckboxColumn("Signed in"), "method": "How",
    "client": "From address",
    "at": st.column_config.DatetimeColumn("When (UTC)", format="D MMM YYYY, HH:mm:ss")})

st.subheader("Settings")
settings = resources.settings()
store, costs = settings.store, settings.costs()
mail = (f"to {settings.alert_to} via {settings.smtp_host}:{settings.smtp_port}, from {settings.smtp_from}"
        if settings.smtp_host and settings.alert_to else "off (set CHASM_SMTP_HOST and CHASM_ALERT_TO)")
rows = {
    "Database": resources.engine().url.render_as_string(hide_password=True),
    "Data folder": str(store.data_dir),
    "Inbox ingest schedule (cron)": store.ingest_cron,
    "Session ends after idle": f"{settings.session_idle_minutes} minutes",
    "Remembered sessions signed with": ("the configured secret (hidden)" if settings.session_secret
                                        else "a key in the data folder (session.key)"),
    "Adoption target": f"{settings.target_share:.0%}",
    "At risk after": f"{settings.inactive_weeks} weeks inactive",
    "Forecast schedule (cron)": store.forecast_cron,
    "Alternative plans folder": str(store.resolved_plans_dir),
    "Downtime before the tool": f"{costs.downtime_hours_per_week:,.0f} hours a week",
    "Cost of an hour of downtime": f"{money(costs.downtime_cost_per_hour, settings.currency)} "
                                   "(0: savings in hours only)",
    "Technician wage": f"{money(costs.wage_per_hour, settings.currency)} an hour",
    "Champion coaching time": f"{costs.champion_hours_per_week:,.0f} hours a week each",
    "Calibration runs on": settings.dask_address or "this machine",
    "Deviation alerts by e-mail": mail,
    "Admin password at first start": ("set (hidden)" if settings.admin_password
                                      else "not set (a one-time password is printed)"),
}
st.table({"Setting": list(rows), "Value": list(rows.values())})
st.caption("Settings come from CHASM_* environment variables (e.g. CHASM_SESSION_IDLE_MINUTES, "
           "CHASM_TARGET_SHARE, CHASM_DOWNTIME_COST_PER_HOUR, CHASM_PLANS_DIR); change them and restart "
           "`chasm serve`.")
