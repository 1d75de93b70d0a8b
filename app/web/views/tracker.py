"""Tracker: where adoption stands this week, overall and per facility."""

import streamlit as st

from app.services import charts
from app.services.tracker import OVERALL
from app.services.words import day
from app.web import auth, resources
from app.web.components.chart import show_chart
from app.web.components.text import plain
from db.forecasts import acknowledge_alert

settings = resources.settings()
st.title("Adoption tracker")

account = st.session_state["account"]
for alert in resources.open_alerts().to_dict("records"):
    where = f" ({plain(alert['facility'])})" if alert["facility"] else ""
    st.warning(f"**Alert{where}:** {plain(alert['message'])}", icon=":material/warning:")
    alert_id = int(alert["id"])
    if auth.may_use(account.role, "editor") and st.button("Acknowledge", key=f"ack_{alert_id}"):
        acknowledge_alert(resources.engine(), alert_id)
        resources.clear_reads()
        st.rerun()

view = resources.tracker_view(settings.target_share, settings.inactive_weeks)
if view.latest_week is None:
    st.info("No metrics yet: upload a file on the Upload page, or load the demo with "
            "`chasm demo load`.", icon=":material/info:")
    st.stop()

o = view.overall
st.caption(f"Week of {day(o['week'])} · {o['technicians']:,} technicians in {o['facilities']} facilities · "
           f"target {view.target:.0%}")
if view.partial:
    st.info(f"{o['reported']} of {o['expected']} facilities reported for {day(o['latest_week'])}; "
            f"overall uses the last complete week, {day(o['week'])}.", icon=":material/schedule:")
stale = view.facilities[view.facilities["Weeks missing"] > 0]
if not stale.empty:
    names = ", ".join(
        f"{plain(r['Facility'])} ({r['Weeks missing']} week{'s' if r['Weeks missing'] > 1 else ''} behind)"
        for r in stale.sort_values("Weeks missing", ascending=False).to_dict("records"))
    st.warning(f"Not up to date: {names}.", icon=":material/warning:")
cols = st.columns(3)
cols[0].metric("Active technicians (breadth)", f"{o['active_share']:.0%}",
               None if o["change"] is None else f"{o['change'] * 100:+.1f} pts vs last week")
cols[1].metric("AI-assisted work orders (depth)", f"{o['depth']:.0%}",
               None if o["depth_change"] is None else f"{o['depth_change'] * 100:+.1f} pts vs last week")
cols[2].metric("Facilities below target", f"{o['facilities_below_target']} of {o['facilities']}")

left, right = st.columns([3, 2])
scopes = [OVERALL, *view.facilities["Facility"].sort_values()]
scope = left.selectbox("Show trend for", scopes)
show_chart(charts.trend_chart(view.trend, view.target, scope, view.interventions), left)
show_chart(charts.facility_bars(view.facilities, view.target), right)

st.subheader("Facilities")
shares = ("Active share", "Change vs last week", "AI-assisted work orders")
st.dataframe(view.facilities.assign(**{c: view.facilities[c] * 100 for c in shares}), hide_index=True,
             width="stretch", height=36 * (len(view.facilities) + 1) + 2, column_config={
    "Active share": st.column_config.NumberColumn(format="%.0f%%"),
    "Change vs last week": st.column_config.NumberColumn("Change vs last week (pts)", format="%+.1f"),
    "AI-assisted work orders": st.column_config.NumberColumn(format="%.0f%%"),
    "Week of": st.column_config.DateColumn("Latest week", format="D MMM YYYY"),
    "Weeks missing": st.column_config.NumberColumn(help="Weeks since its latest week, up to the newest "
                                                        "week any facility reported"),
    "Last upload": st.column_config.DateColumn(format="D MMM YYYY")})

st.subheader("Users over time")
if view.lifecycle.empty:
    st.info("No technician-week data yet: upload a technician-week file to see new, retained, "
            "lapsed and reactivated users and who is at risk.")
    st.stop()
show_chart(charts.lifecycle_chart(view.lifecycle))
st.subheader(f"At risk: used the tool before, inactive for {settings.inactive_weeks}+ weeks")
lapsed = (f" {o['lapsed']:,} more have not used it for a year or longer (lapsed; not listed)."
          if o.get("lapsed") else "")
if view.at_risk.empty:
    st.success(f"Nobody is at risk this week.{lapsed}")
else:
    st.caption(f"{len(view.at_risk):,} technicians, the most recent lapses first (the ones a call can still "
               f"win back).{lapsed} Technicians are pseudonyms: only someone holding the store's pseudonym "
               "key and the staff list can map them back to people.")
    st.dataframe(view.at_risk, hide_index=True, width="stretch", column_config={
        "technician": "Technician (pseudonym)", "facility": "Facility",
        "last_active": st.column_config.DateColumn("Last active", format="D MMM YYYY"),
        "weeks_inactive": "Weeks inactive"})
