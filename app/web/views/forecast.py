"""Forecast: the leadership view of where adoption is heading, with a one-page brief to download."""

from datetime import datetime

import streamlit as st

from app.services import brief, charts
from app.services.settings import get_settings
from app.services.tracker import OVERALL
from app.services.words import day
from app.web import auth, resources
from app.web.components.chart import show_chart
from app.web.components.text import code, plain

account = st.session_state["account"]
st.title("Adoption forecast")

facilities = sorted(resources.weekly_metrics()["facility"].unique())
scope = st.selectbox("Forecast for", [OVERALL, *facilities], key="forecast_scope")
facility = None if scope == OVERALL else scope
doc = resources.latest_forecast(facility)
overall = resources.latest_forecast(None) if facility is not None else doc
early_words = brief.facility_sentence(overall, facility) if facility and overall else None
if doc is None and early_words is not None:
    st.info(f"**Early warning for {plain(scope)}** (pooled with the other facilities): {plain(early_words)}")
    st.caption("The full forecast with plans is organisation-wide; an editor can also fit this facility "
               "on its own below.")
warning = resources.early_warning(facility) if doc is None and early_words is None else None
if warning is not None:
    target = get_settings().target_share
    st.info(f"**Early warning for {scope.lower() if facility is None else plain(scope)}** "
            f"({warning.weeks_live} weeks stored; the full forecast with plans needs 6): "
            f"{plain(brief.early_sentence(warning, target))}")
    st.dataframe(brief.early_table(warning), hide_index=True)
if doc is None:
    where = scope.lower() if facility is None else plain(scope)
    st.info(f"No forecast for {where} yet. The scheduler makes one "
            "every night once metrics are stored; an editor can make one now below.")
    if auth.may_use(account.role, "editor") and st.button("Compute the forecast now", type="primary"):
        from app.services.forecasts import refresh_forecast

        bar = st.progress(0.0, text=f"Starting (a minute or more{' per facility' if facility else ''})...")
        st.button("Cancel", key="forecast_cancel", help="Stops the computation; a fit already finished is "
                  "kept, nothing else is.")
        def told(what: str, done: float) -> None:
            bar.progress(min(done, 1.0), text=f"{what}: {done:.0%}")

        refresh_forecast(resources.engine(), facilities=facility is not None, progress=told)
        resources.clear_reads()
        st.rerun()
    st.stop()

share, week_start = brief.current_share(doc)
plans = doc.plans
cols = st.columns(3)
cols[0].metric("Active technicians now", f"{share:.0%}", help=f"Week of {week_start}")
by = brief.when(doc, doc.target_week)
reach = (f"Share of forecast runs that hold {doc.target:.0%} or more for four weeks in a row, "
         f"starting by {by}")
cols[1].metric(f"Chance of {doc.target:.0%} by {by} (current plan)",
               f"{plans[0].probability_of_target:.0%}" if plans else "n/a", help=reach)
recommended = doc.recommendation()
if recommended is not None:
    gain = recommended.probability_of_target - plans[0].probability_of_target
    cols[2].metric(f"Recommended: {plain(recommended.plan)}", f"{recommended.probability_of_target:.0%}",
                   delta=f"{gain * 100:+.0f} pts of chance", help=reach)
elif len(plans) > 1:
    best = max(plans[1:], key=lambda p: p.probability_of_target)
    cols[2].metric(f"Best alternative: {plain(best.plan)}", f"{best.probability_of_target:.0%}", help=reach)
else:
    cols[2].metric("Alternative plans", "none yet", help="The nightly forecast weighs every plan TOML "
                   "file in the plans folder (CHASM_PLANS_DIR) against the current plan.")
st.markdown("\n".join(f"- {plain(line)}" for line in brief.headline(doc, currency=get_settings().currency)))
show_chart(charts.forecast_chart(doc))

table = brief.plan_table(doc)
shares = list(table.columns[2:4])
st.dataframe(table.assign(**{c: table[c] * 100 for c in shares}), hide_index=True, width="stretch",
             column_order=[c for c in table.columns if c != "What it does"] + ["What it does"],
             column_config={c: st.column_config.NumberColumn(format="%.0f%%") for c in shares} | {
    "What it does": st.column_config.TextColumn(width="medium"),
    "Cost": st.column_config.NumberColumn(format=f"{get_settings().currency}%,.0f"),
    "Downtime hours saved": st.column_config.NumberColumn(format="%,.0f"),
    "Downtime saving": st.column_config.NumberColumn(format="%,.0f")})
if doc.skipped_plans:
    st.caption("Plans left out of this forecast: " + "; ".join(f"{code(s.file)}: {plain(s.reason)}"
                                                              for s in doc.skipped_plans))
st.info(f"**How accurate has this been?** {doc.sentence or 'Not tested yet.'}")
if facility is None and doc.facilities:
    st.subheader("By facility")
    st.caption("Each facility's early warning: its own weeks, pooled with the other facilities' curves "
               "(a facility just live borrows from those live for months), furthest from the target first.")
    facility_rows = brief.facility_table(doc)
    percent = [c for c in facility_rows.columns if c not in ("Facility", "Weeks live", "80% band")]
    shown = facility_rows.sort_values(percent[-1])
    st.dataframe(shown.assign(**{c: shown[c] * 100 for c in percent}),
                 hide_index=True, width="stretch", height=min(36 * (len(facility_rows) + 1) + 2, 800),
                 column_config={c: st.column_config.NumberColumn(format="%.0f%%") for c in percent})
elif early_words is not None:
    st.info(f"**Early warning for {plain(scope)}** (pooled with the other facilities): {plain(early_words)}")
if doc.data_version != resources.data_version():
    st.warning("New metrics arrived after this forecast was made; tonight's run will include them.")
made = datetime.fromisoformat(doc.created_at)
st.caption(f"Forecast made {day(made.date())} at {made:%H:%M} UTC.")

key = f"{doc.facility}|{doc.data_version}|{doc.created_at}"
downloads = st.columns(2)
downloads[0].download_button("Download the one-page brief (PDF)", resources.forecast_pdf(key, doc),
                             file_name="chasm-forecast-brief.pdf", mime="application/pdf")
downloads[1].download_button("Download the chart (PNG)", resources.forecast_png(key, doc),
                             file_name="chasm-forecast.png", mime="image/png")
