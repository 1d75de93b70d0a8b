"""Loading, saving and deleting simulator scenarios (part of the Simulator page, not a page)."""

import streamlit as st

from app.services.simulator import preset_names, preset_toml
from app.web import resources
from app.web.components.sim_inputs import load_into_state
from app.web.components.text import plain
from db.saved_scenarios import ScenarioNotFound, delete_scenario, save_scenario, scenario_toml
from model.scenario import ScenarioError

PRESET = "Preset: "


def _load(choice: str) -> None:
    try:
        if choice.startswith(PRESET):
            name = choice.removeprefix(PRESET)
            load_into_state(preset_toml(name), f"preset {name}")
        else:
            load_into_state(scenario_toml(resources.engine(), choice), f"saved scenario {choice}")
    except (ScenarioNotFound, ScenarioError) as error:
        st.session_state["sim_notice"] = ("error", f"Could not load {choice}: {error}.")
    else:
        st.session_state["sim_notice"] = ("success", f"Loaded {choice.removeprefix(PRESET)}.")


def load_section() -> None:
    saved = resources.saved_scenarios()
    options = [PRESET + n for n in preset_names()] + list(saved["name"])
    source = st.session_state.get("sim_source", "")
    current = (PRESET + source.removeprefix("preset ") if source.startswith("preset ")
               else source.removeprefix("saved scenario "))
    if st.session_state.get("sim_library_choice") not in options:  # show what is being edited
        st.session_state["sim_library_choice"] = current if current in options else options[0]
    cols = st.columns([3, 1])
    choice = cols[0].selectbox("Start from a preset or a saved scenario", options, key="sim_library_choice")
    cols[1].button("Load scenario", on_click=_load, args=(choice,), width="stretch")
    if notice := st.session_state.pop("sim_notice", None):
        getattr(st, notice[0])(plain(notice[1]))
    st.caption(f"Now editing: {plain(st.session_state.get('sim_source', 'a new scenario'))}")


def save_section(text: str | None, user: str) -> None:
    st.subheader("Save or delete scenarios")
    cols = st.columns(2)
    name = cols[0].text_input("Save as", value=st.session_state.get("sim_name", ""), key="sim_save_name")
    if cols[0].button("Save scenario", disabled=text is None) and text is not None:
        try:
            save_scenario(resources.engine(), name=name.strip(), toml=text, saved_by=user)
        except ValueError as error:
            cols[0].error(f"Not saved: {plain(error)}.")
        else:
            resources.clear_reads()
            st.session_state["sim_notice"] = ("success", f"Saved scenario {name.strip()!r}.")
            st.rerun()
    saved = resources.saved_scenarios()
    if saved.empty:
        cols[1].info("No saved scenarios yet: name the current one and press Save scenario.")
        return
    names: list[str] = saved["name"].tolist()
    doomed = cols[1].selectbox("Saved scenario to delete", names, key="sim_delete_choice")
    # The confirmation belongs to the scenario named in it: choosing another one starts unticked.
    sure = cols[1].checkbox(f"Yes, delete {plain(doomed)}", key=f"sim_delete_sure_{doomed}")
    if cols[1].button("Delete scenario", disabled=not sure, help="Tick the box above first."):
        try:
            delete_scenario(resources.engine(), doomed)
        except ScenarioNotFound as error:
            cols[1].error(f"{plain(error)}; someone else may have deleted it.")
        resources.clear_reads()
        st.session_state["sim_notice"] = ("success", f"Deleted scenario {doomed!r}.")
        st.rerun()
