"""Loading, saving and deleting simulator scenarios (part of the Simulator page, not a page)."""

import streamlit as st

from app.services.simulator import TODAY, first_monday, preset_names, preset_toml, today_toml, week_label
from app.web import resources
from app.web.components.sim_inputs import load_into_state
from app.web.components.text import plain
from db.saved_scenarios import ScenarioNotFound, delete_scenario, save_scenario, scenario_toml
from model.scenario import ScenarioError

PRESET = "Preset: "


def load_today() -> None:
    """Load today's organisation (the stored one: headcount, intervention log, 26 weeks ahead), its
    weeks dated from the first stored week."""
    text, weeks = today_toml(resources.engine())
    load_into_state(text, TODAY, history_until=weeks, first_monday=first_monday(resources.engine()))


def _load(choice: str) -> None:
    try:
        if choice == TODAY:
            load_today()
        elif choice.startswith(PRESET):
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
    today = [TODAY] if not resources.weekly_metrics().empty else []
    options = today + [PRESET + n for n in preset_names()] + list(saved["name"])
    source = st.session_state.get("sim_source", "")
    current = (PRESET + source.removeprefix("preset ") if source.startswith("preset ")
               else source.removeprefix("saved scenario "))
    if "sim_save_name" in st.session_state and st.session_state.get("sim_save_for") != source:
        del st.session_state["sim_save_name"]  # "Save as" follows the scenario loaded
    if st.session_state.get("sim_library_choice") not in options:  # show what is being edited
        st.session_state["sim_library_choice"] = current if current in options else options[0]
    cols = st.columns([3, 1])
    choice = cols[0].selectbox("Start from", options, key="sim_library_choice",
                               help="Our organisation as it stands: the stored facilities' headcount and "
                                    "the intervention log, 26 weeks beyond the last stored week. Presets "
                                    "are example organisations.")
    cols[1].button("Load scenario", on_click=_load, args=(choice,), width="stretch")
    if notice := st.session_state.pop("sim_notice", None):
        getattr(st, notice[0])(plain(notice[1]))


def editing_caption() -> None:
    """What the inputs below hold (at the top of the inputs)."""
    st.caption(f"Now editing: {plain(st.session_state.get('sim_source', 'a new scenario'))}")


def save_section(text: str | None, user: str) -> None:
    st.subheader("Save or delete scenarios")
    cols = st.columns(2)
    st.session_state["sim_save_for"] = st.session_state.get("sim_source")
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


def adopt_section(text: str | None, user: str) -> None:
    """Adopt what this scenario does after the recorded weeks as a plan the forecast weighs."""
    from app.services.plans import PlanNameTaken, adopt_scenario
    from app.services.simulator import parse

    st.subheader("Adopt as plan")
    recorded = st.session_state.get("sim_history_until", 0)
    if st.session_state.get("sim_source") != TODAY and not recorded:
        st.caption("Adopting turns what this scenario does after the recorded weeks into a plan for our "
                   "organisation. Start from \"Our organisation as it stands\" to plan from today.")
    cols = st.columns([2, 3, 1])
    name = cols[0].text_input("Plan name", key="sim_adopt_name")
    description = cols[1].text_input("What it does, in a sentence", key="sim_adopt_description")
    if cols[2].button("Adopt as plan", disabled=text is None or not name.strip(), width="stretch",
                      help="The nightly forecast weighs it against the current plan; leadership sees it "
                           "on the Forecast page.") and text is not None:
        try:
            adopted = adopt_scenario(resources.engine(), parse(text)[0], name=name.strip(),
                                     description=description.strip(), adopted_by=user)
        except (ScenarioError, PlanNameTaken, ValueError) as error:
            st.error(f"Not adopted: {plain(error)}.")
        else:
            count = len(adopted.plan.interventions)
            start = week_label(adopted.first_week, st.session_state.get("sim_first_monday"))
            st.success(plain(f"Adopted {adopted.plan.name!r}: {count} intervention{'s' * (count != 1)} from "
                             f"{start}. The next forecast weighs it against the current plan."))
