"""Simulator: set levers, champions and an intervention calendar; run an ensemble; compare; save."""

import streamlit as st

from app.services.simulator import check_simulation, form_to_toml, preset_toml
from app.web import resources
from app.web.components.sim_inputs import gather, load_into_state
from app.web.components.sim_library import adopt_section, load_section, load_today, save_section
from app.web.components.sim_results import results
from app.web.components.text import plain
from model.scenario import ScenarioError

account = st.session_state["account"]
st.title("What-if simulator")
st.caption("Agent-based model of the technicians: change what the organisation controls and see the "
           "range of outcomes across many simulated runs.")
if "sim_source" not in st.session_state:
    if resources.weekly_metrics().empty:
        load_into_state(preset_toml("turnaround"), "preset turnaround")
    else:
        load_today()
elif "sim_name" not in st.session_state and "sim_text" in st.session_state:
    # Streamlit forgets widget values when another page was shown: restore the last inputs.
    load_into_state(st.session_state["sim_text"], st.session_state["sim_source"],
                    history_until=st.session_state.get("sim_history_until", 0))

load_section()
form = gather()
try:
    text: str | None = form_to_toml(form)
except ScenarioError as error:
    text = None
    st.error(f"This scenario cannot run: {plain(error)}. Correct it above, then run again.")
else:
    st.session_state["sim_text"] = text

cols = st.columns([2, 1, 1])
runs = cols[0].select_slider("Replicates (runs)", [20, 50, 100, 200, 500, 1000], value=100, key="sim_runs")
seed = cols[1].number_input("Random seed", 0, 1_000_000, value=0, step=1, key="sim_seed")
runnable = text is not None
if text is not None:
    try:  # the budget is counted, not run: refuse before the button can start it
        check_simulation(text, runs=runs)
    except ScenarioError as error:
        runnable = False
        st.error(f"This simulation cannot run: {plain(error)}.")
if cols[2].button("Run simulation", type="primary", disabled=not runnable, width="stretch") \
        and runnable and text is not None:
    with st.status(f"Running {runs} replicates of {form.weeks} weeks...", expanded=False) as status:
        resources.simulate(text, runs, int(seed))
        status.update(label=f"Ran {runs} replicates.", state="complete")
    st.session_state["sim_run"] = (text, runs, int(seed))

run = st.session_state.get("sim_run")
if run is None:
    st.info("Set the levers, champions and calendar, then press **Run simulation**.")
else:
    if run[0] != text:
        st.warning("The inputs changed since this run: press Run simulation to see their effect.")
    results(run)
save_section(text, account.name)
adopt_section(text, account.name)
