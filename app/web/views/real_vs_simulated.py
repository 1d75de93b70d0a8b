"""Real vs simulated: stored adoption over a simulated ensemble, with how well they agree."""

import streamlit as st

from app.services import charts
from app.services.optimiser import has_calibration
from app.services.realvsim import FIT_SHARE, fits_table, recorded_toml, verdict_words
from app.services.simulator import preset_names, preset_toml
from app.services.tracker import OVERALL
from app.services.words import day, share
from app.web import resources
from app.web.components.chart import show_chart
from db.saved_scenarios import scenario_toml

st.title("Real vs simulated")
st.caption("The stored weekly active share (dots) over a simulated ensemble (bands), aligned so that "
           "week 1 is the first stored week. Each facility is read against the simulated facility of its "
           "own name, size and go-live week where the scenario has one.")
if resources.weekly_metrics().empty:
    st.info("No metrics yet: upload a file on the Upload page, or load the demo with `chasm demo load`.")
    st.stop()

RECORDED = "The recorded rollout (our facilities, their go-live weeks and the intervention log)"
CALIBRATED = "The calibrated model (fitted to our data, one run per posterior draw)"
LAST_RUN = "The simulator's last run"
calibrated = has_calibration(resources.engine())
options: list[str] = [CALIBRATED, RECORDED] + [f"Preset: {n}" for n in preset_names()] + \
    list(resources.saved_scenarios()["name"])
if st.session_state.get("sim_run"):
    options.insert(0, LAST_RUN)
cols = st.columns([3, 1, 1])
choice = cols[0].selectbox("Simulated scenario", options, key="rvs_scenario",
                           index=options.index(CALIBRATED if calibrated else RECORDED))
runs = cols[1].select_slider("Runs", [20, 50, 100, 200, 500], value=100, key="rvs_runs")
if not cols[2].button("Compare", type="primary", width="stretch") and "rvs_inputs" not in st.session_state:
    st.info("Choose what to compare our facilities with and press **Compare**.")
    st.stop()
if choice == CALIBRATED:
    text = None
elif choice == RECORDED:
    text = recorded_toml(resources.engine())
elif choice == LAST_RUN:
    text = st.session_state["sim_run"][0]
elif choice.startswith("Preset: "):
    text = preset_toml(choice.removeprefix("Preset: "))
else:
    text = scenario_toml(resources.engine(), choice)
st.session_state["rvs_inputs"] = (text, runs)

if text is None and not calibrated:
    st.info("The model has not been fitted to our data yet, so there is no calibrated model to compare "
            "with. Fitting it takes a minute or two.", icon=":material/info:")
    if st.button("Fit the model to our data now", type="primary"):
        from app.services.calibration import calibrate_store

        with st.status("Fitting the model to the stored metrics...") as status:
            bar = st.progress(0.0, text="Starting...")

            def tick(done: int, total: int) -> None:
                bar.progress(min(done / max(total, 1), 1.0), text=f"{done:,} of about {total:,} simulations")

            calibrate_store(resources.engine(), progress=tick)
            status.update(label="Fitted.", state="complete")
        resources.clear_reads()
        st.rerun()
    st.stop()

with st.spinner(f"Simulating {runs} runs and comparing with the stored metrics..."):
    try:
        result = (resources.calibrated_vs_real(runs, 0) if text is None
                  else resources.real_vs_simulated(text, runs, 0))
    except LookupError as error:
        st.warning(f"Nothing to compare with: {error}.", icon=":material/info:")
        st.stop()

verdict = result["verdict"]
sentence = verdict_words(verdict)
overall = result["overall"]
fit = overall["fit"]
good = (verdict["by_name"] and verdict["fits"] == verdict["facilities"]
        and fit["inside90"] is not None and fit["inside90"] >= FIT_SHARE)
(st.success if good else st.warning)(sentence)
tiles = st.columns(3)
mae, inside90 = fit["mae"], fit["inside90"]  # None only when no week overlaps
tiles[0].metric("Average error (real vs simulated median)", "n/a" if mae is None else f"{mae * 100:.1f} pts")
tiles[1].metric("Real weeks inside the 90% band", share(inside90))
tiles[2].metric("Weeks compared", f"{fit['points']}")
show_chart(charts.fan_chart(overall["simulated"], f"{OVERALL}: real vs {result['scenario']} "
                            f"({result['runs']} runs)", real=overall["real"],
                            target=resources.settings().target_share))
st.caption(f"Week 1 is the week of {day(result['first_week'])}. A facility fits the model when at least "
           f"{share(FIT_SHARE)} of its real weeks fall inside its 90% band.")
if "fitted_weeks" in result:
    own = len(result["own_fits"])
    fitted, stored = result["fitted_weeks"], result["weeks"]["real"]
    st.caption(f"The calibration was fitted on weeks 1-{fitted}; weeks {fitted + 1}-{stored} are an "
               "out-of-sample check." if fitted < stored else
               f"The calibration was fitted on all {stored} stored weeks: this shows how closely the fitted "
               "model reproduces them, not how well it predicts (the Forecast page's backtest does).")
    if own:
        st.caption(f"{own} of {len(result['fits'])} facilities are drawn from their own calibration.")
if result["matched"]:
    note = ("Each facility is read against the simulated facility of its own name, with its headcount "
            "and go-live week. Intervention-log entries for a single facility are left out of the "
            "organisation-wide scenario: the model's levers apply to every facility at once.")
elif text is None:
    note = ("This calibration was fitted before the model knew our facilities by name, so each facility "
            "is read against the whole organisation's band; fitting the model again pairs them.")
else:
    note = ("This scenario's facilities are not ours (it names them Facility 01, 02 and so on), so each "
            "facility is read against the whole organisation's band.")
show_chart(charts.small_multiples(result["facilities"], "Per facility", real=result["real_facilities"]))
st.caption(note)
st.dataframe(fits_table(result), hide_index=True, width="stretch")
