"""Real vs simulated: stored adoption over a simulated ensemble, with how well they agree."""

import streamlit as st

from app.services import charts
from app.services.realvsim import recorded_toml
from app.services.simulator import preset_names, preset_toml
from app.services.tracker import OVERALL
from app.web import resources
from app.web.components.chart import show_chart
from db.saved_scenarios import scenario_toml

st.title("Real vs simulated")
st.caption("The stored weekly active share (dots) over a simulated ensemble (bands), aligned so that "
           "week 1 is the first stored week.")
if resources.weekly_metrics().empty:
    st.info("No metrics yet: upload a file on the Upload page, or load the demo with `chasm demo load`.")
    st.stop()

RECORDED = "The recorded rollout (stored headcounts and intervention log)"
CALIBRATED = "The calibrated model (latest calibration, one run per posterior draw)"
options: list[str] = [CALIBRATED, RECORDED] + [f"Preset: {n}" for n in preset_names()] + \
    list(resources.saved_scenarios()["name"])
if st.session_state.get("sim_run"):
    options.insert(0, "The simulator's last run")
cols = st.columns([3, 1, 1])
choice = cols[0].selectbox("Simulated scenario", options, key="rvs_scenario",
                           index=options.index("Preset: turnaround"))
runs = cols[1].select_slider("Runs", [20, 50, 100, 200, 500], value=100, key="rvs_runs")
if not cols[2].button("Compare", type="primary", width="stretch") and "rvs_inputs" not in st.session_state:
    st.info("Choose a scenario (the turnaround preset reproduces the seed case) and press **Compare**.")
    st.stop()
if choice == CALIBRATED:
    text = None
elif choice == RECORDED:
    text = recorded_toml(resources.engine())
elif choice == "The simulator's last run":
    text = st.session_state["sim_run"][0]
elif choice.startswith("Preset: "):
    text = preset_toml(choice.removeprefix("Preset: "))
else:
    text = scenario_toml(resources.engine(), choice)
st.session_state["rvs_inputs"] = (text, runs)
with st.spinner(f"Simulating {runs} runs and comparing with the stored metrics..."):
    try:
        result = (resources.calibrated_vs_real(runs, 0) if text is None
                  else resources.real_vs_simulated(text, runs, 0))
    except LookupError as error:
        st.warning(f"Nothing to compare with: {error}.", icon=":material/info:")
        st.stop()

overall = result["overall"]
fit = overall["fit"]
tiles = st.columns(3)
mae, inside90 = fit["mae"], fit["inside90"]  # None only when no week overlaps
tiles[0].metric("Average error (real vs simulated median)", "n/a" if mae is None else f"{mae * 100:.1f} pts")
tiles[1].metric("Real weeks inside the 90% band", "n/a" if inside90 is None else f"{inside90:.0%}")
tiles[2].metric("Weeks compared", f"{fit['points']}")
show_chart(charts.fan_chart(overall["simulated"], f"{OVERALL}: real vs {result['scenario']} "
                            f"({result['runs']} runs)", real=overall["real"],
                            target=resources.settings().target_share))
if "fitted_weeks" in result:
    own = len(result["own_fits"])
    fitted, stored = result["fitted_weeks"], result["weeks"]["real"]
    st.caption(f"The calibration was fitted on weeks 1-{fitted}; weeks {fitted + 1}-{stored} are an "
               "out-of-sample check." if fitted < stored else
               f"The calibration was fitted on all {stored} stored weeks: this shows how closely the fitted "
               "model reproduces them, not how well it predicts (the Forecast page's backtest does).")
    note = (f"{own} of {len(result['fits'])} facilities are drawn from their own calibration; the others "
            "are read against the whole organisation's band." if own else
            "No facility has a calibration of its own yet, so each is read against the whole "
            "organisation's band (`chasm calibrate --facility F` fits one).")
elif result["matched"]:
    note = "Simulated facility i is matched with the i-th real facility alphabetically."
else:
    note = "Facility counts differ, so each facility is read against the whole organisation's band."
show_chart(charts.small_multiples(result["facilities"], "Per facility", real=result["real_facilities"]))
st.caption(note)
fits = result["fits"].assign(mae=result["fits"]["mae"] * 100, inside90=result["fits"]["inside90"] * 100)
st.dataframe(fits, hide_index=True, width="stretch", column_config={
    "facility": "Facility", "mae": st.column_config.NumberColumn("Average error (pts)", format="%.1f"),
    "inside90": st.column_config.NumberColumn("Inside 90% band", format="%.0f%%"), "points": "Weeks"})
