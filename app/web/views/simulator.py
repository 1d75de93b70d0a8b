"""Simulator: set levers, champions and an intervention calendar; run an ensemble; compare; save.

The inputs sit in a scrolling column beside the run's headline and fan chart, with the Run button
above them, so both stay on a 1024x768 screen while the levers change.
"""

import streamlit as st

from app.services.simulator import check_simulation, form_to_toml, preset_toml, week_label
from app.web import resources
from app.web.components.sim_inputs import gather, load_into_state
from app.web.components.sim_library import (
    adopt_section,
    editing_caption,
    load_section,
    load_today,
    save_section,
)
from app.web.components.sim_results import headline, results
from app.web.components.sim_unknowns import HELP as UNKNOWNS_HELP
from app.web.components.sim_unknowns import LABEL as UNKNOWNS_LABEL
from app.web.components.sim_unknowns import unknowns
from app.web.components.text import plain
from model.scenario import ScenarioError

FORM_HEIGHT = 360  # px: the inputs' scrolling box, with the title and the Run row above it, fits 768 px

account = st.session_state["account"]
st.title("What-if simulator")
st.caption("Change what the organisation controls and see the range of outcomes over many runs.")
if "sim_source" not in st.session_state:
    if resources.weekly_metrics().empty:
        load_into_state(preset_toml("turnaround"), "preset turnaround")
    else:
        load_today()
elif "sim_name" not in st.session_state and "sim_text" in st.session_state:
    # Streamlit forgets widget values when another page was shown: restore the last inputs.
    load_into_state(st.session_state["sim_text"], st.session_state["sim_source"],
                    history_until=st.session_state.get("sim_history_until", 0),
                    first_monday=st.session_state.get("sim_first_monday"))

load_section()
inputs, outputs = st.columns([1, 1], gap="small")
run_row, problems = inputs.container(), inputs.container()
with inputs.container(height=FORM_HEIGHT, border=True):
    editing_caption()
    form = gather()
    seed = st.number_input("Random seed", 0, 1_000_000, value=0, step=1, key="sim_seed",
                           help="The same seed and inputs give the same runs.")
try:
    text: str | None = form_to_toml(form)
except ScenarioError as error:
    text = None
    problems.error(f"This scenario cannot run: {plain(error)}. Correct it below, then run again.")
else:
    st.session_state["sim_text"] = text

cols = run_row.columns(2, vertical_alignment="bottom")
runs = cols[0].select_slider("Runs", [20, 50, 100, 200, 500, 1000], value=100, key="sim_runs",
                             help="How many simulated runs (replicates) make the range of outcomes.")
run_row.toggle(UNKNOWNS_LABEL, key="sim_unknowns", help=UNKNOWNS_HELP)
runnable = text is not None
if text is not None:
    try:  # the budget is counted, not run: refuse before the button can start it
        check_simulation(text, runs=runs)
    except ScenarioError as error:
        runnable = False
        problems.error(f"This simulation cannot run: {plain(error)}.")
if cols[1].button("Run simulation", type="primary", disabled=not runnable, width="stretch") \
        and runnable and text is not None:
    with outputs, st.spinner(f"Running {runs} replicates of {form.weeks} weeks..."):
        resources.simulate(text, runs, int(seed))
    st.session_state["sim_run"] = (text, runs, int(seed))
    st.session_state["sim_run_first_monday"] = st.session_state.get("sim_first_monday")

run = st.session_state.get("sim_run")
with outputs:
    if run is None:
        st.info("Set the levers, champions and calendar, then press **Run simulation**.")
    else:
        if run[0] != text:
            st.warning("The inputs changed since this run: press Run simulation to see their effect.")
        headline(run)
if run is not None:
    if st.session_state.get("sim_unknowns"):
        first = st.session_state.get("sim_run_first_monday")
        unknowns(run, lambda week: week_label(week, first))
    results(run)
save_section(text, account.name)
adopt_section(text, account.name)
