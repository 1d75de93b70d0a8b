"""The simulator's input widgets (part of the Simulator page, not a page).

Widget values live in session state under `sim_*` keys so a loaded scenario can set them.
"""

import streamlit as st

from app.services.simulator import ATTITUDES, CALENDAR_COLUMNS, LEVERS, ScenarioForm, form_from_toml
from model.scenario import CHAMPION_STRATEGIES, LEVER_RANGES, TRAINING_MODES

STRATEGY_HELP = {"pilot": "the pilot's volunteers first", "degree": "the best-connected technicians",
                 "trust": "those who trust the AI most", "facility": "spread evenly over facilities",
                 "random": "picked at random"}


def load_into_state(text: str, source: str, *, history_until: int = 0) -> None:
    """Put a scenario's values into the widgets (a button callback: runs before the widgets).

    `history_until`: the recorded weeks of today's organisation (its launches stay as recorded).
    """
    form = form_from_toml(text, history_until=history_until)
    state = st.session_state
    state["sim_history_until"] = history_until
    for key, value in {**form.levers, **form.attitudes}.items():
        state[f"sim_{key}"] = value
    state["sim_onboarding_mode"], state["sim_onboarding_hours"] = form.onboarding["mode"], \
        float(form.onboarding["hours"])
    for key in ("count", "strategy", "week"):
        state[f"sim_champions_{key}"] = form.champions[key]
    state["sim_champions_cost"] = float(form.champions["cost"])
    state["sim_name"], state["sim_weeks"], state["sim_base"] = form.name, form.weeks, form.base
    state["sim_calendar"] = form.calendar
    state["sim_calendar_version"] = state.get("sim_calendar_version", 0) + 1
    state["sim_source"] = source


def _lever(key: str, spec) -> None:
    allowed = LEVER_RANGES.get(key) or (0.01, 0.99)
    if isinstance(allowed[0], str):
        st.selectbox(spec.label, allowed, key=f"sim_{key}", help=spec.why)
    elif key == "training_per_week":
        st.number_input(spec.label, 0, 10_000, step=1, key=f"sim_{key}", help=spec.why)
    elif isinstance(allowed[0], int):
        st.slider(spec.label, int(allowed[0]), int(allowed[1]), step=1, key=f"sim_{key}", help=spec.why)
    else:
        st.slider(spec.label, float(allowed[0]), float(allowed[1]), step=spec.step, key=f"sim_{key}",
                  help=spec.why)
    st.caption(spec.why)


def gather() -> ScenarioForm:
    """Draw every input and return them as a form."""
    state = st.session_state
    st.text_input("Scenario name", key="sim_name")
    st.slider("Weeks to simulate", 4, 156, key="sim_weeks")
    with st.expander("Levers at go-live (each tied to a root cause of the failed rollout)", expanded=True):
        cols = st.columns(2)
        for i, (key, spec) in enumerate(LEVERS.items()):
            with cols[i % 2]:
                _lever(key, spec)
    with st.expander("People and onboarding at go-live"):
        cols = st.columns(2)
        for i, (key, spec) in enumerate(ATTITUDES.items()):
            with cols[i]:
                _lever(key, spec)
        cols[0].selectbox("Go-live training", TRAINING_MODES, key="sim_onboarding_mode",
                          help="The rollout's 45-minute video versus the pilot's 8 h hands-on.")
        cols[1].number_input("Go-live training hours", 0.0, 40.0, step=0.25, key="sim_onboarding_hours")
    with st.expander("Champions", expanded=True):
        champion_cols = st.columns(4)
        champion_cols[0].number_input("Number of champions", 0, 1000, step=1, key="sim_champions_count")
        champion_cols[1].selectbox("Champion strategy", CHAMPION_STRATEGIES, key="sim_champions_strategy",
                                   format_func=lambda s: f"{s}: {STRATEGY_HELP[s]}")
        champion_cols[2].number_input("Launch week (0: none, 1: from go-live)", 0, 156, step=1,
                                      key="sim_champions_week")
        champion_cols[3].number_input("Champion programme cost", 0.0, 1e9, step=1000.0,
                                      key="sim_champions_cost")
    st.markdown("**Intervention calendar**: from its week on, a row sets one lever to a new value "
                "(rows with the same week and label form one intervention).")
    calendar = st.data_editor(
        state["sim_calendar"], num_rows="dynamic", width="stretch", hide_index=True,
        key=f"sim_calendar_{state['sim_calendar_version']}", column_order=CALENDAR_COLUMNS,
        column_config={
            "week": st.column_config.NumberColumn("Week", min_value=1, step=1, required=True),
            "change": st.column_config.SelectboxColumn("Lever", options=list(LEVERS), required=True),
            "value": st.column_config.TextColumn("New value", required=True),
            "label": st.column_config.TextColumn("What is done"),
            "cost": st.column_config.NumberColumn("Cost", min_value=0.0, format="%.0f", default=0.0)})
    return ScenarioForm(
        name=state["sim_name"], weeks=state["sim_weeks"],
        levers={k: state[f"sim_{k}"] for k in LEVERS}, attitudes={k: state[f"sim_{k}"] for k in ATTITUDES},
        onboarding={"mode": state["sim_onboarding_mode"], "hours": state["sim_onboarding_hours"]},
        champions={k: state[f"sim_champions_{k}"] for k in ("count", "strategy", "week", "cost")},
        calendar=calendar, base=state["sim_base"])
