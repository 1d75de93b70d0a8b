"""The simulator's input widgets (part of the Simulator page, not a page).

Widget values live in session state under `sim_*` keys so a loaded scenario can set them.
"""

from datetime import date

import pandas as pd
import streamlit as st

from app.services.simulator import (
    ATTITUDES,
    CALENDAR_COLUMNS,
    CHOICE_WORDS,
    LEVERS,
    ScenarioForm,
    calendar_dates,
    form_from_toml,
    lever_words,
)
from model.scenario import CHAMPION_STRATEGIES, LEVER_RANGES, TRAINING_MODES

STRATEGY_HELP = {"pilot": "the pilot's volunteers first", "degree": "the best-connected technicians",
                 "trust": "those who trust the AI most", "facility": "spread evenly over facilities",
                 "random": "picked at random"}



def _choice(value: str) -> str:
    return CHOICE_WORDS.get(value, value)


def load_into_state(text: str, source: str, *, history_until: int = 0,
                    first_monday: date | None = None) -> None:
    """Put a scenario's values into the widgets (a button callback: runs before the widgets).

    `history_until`: the recorded weeks of today's organisation (its launches stay as recorded);
    `first_monday`: the date week 1 starts on (today's organisation: weeks are shown as dates).
    """
    form = form_from_toml(text, history_until=history_until)
    state = st.session_state
    state["sim_history_until"] = history_until
    state["sim_first_monday"] = first_monday
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
        st.selectbox(spec.label, allowed, key=f"sim_{key}", help=spec.why, format_func=_choice)
    elif key == "training_per_week":
        st.number_input(spec.label, 0, 10_000, step=1, key=f"sim_{key}", help=spec.why)
    elif isinstance(allowed[0], int):
        st.slider(spec.label, int(allowed[0]), int(allowed[1]), step=1, key=f"sim_{key}", help=spec.why)
    else:
        st.slider(spec.label, float(allowed[0]), float(allowed[1]), step=spec.step, key=f"sim_{key}",
                  help=spec.why)
    st.caption(spec.why)


def _shown_calendar(calendar: pd.DataFrame) -> pd.DataFrame:
    """The calendar as the editor shows it: each lever by its label, a choice by its words."""
    return calendar.assign(change=calendar["change"].map(lambda k: k if pd.isna(k) else lever_words(k)),
                           value=calendar["value"].map(lambda v: CHOICE_WORDS.get(v, v)))


def _stored_calendar(shown: pd.DataFrame) -> pd.DataFrame:
    """The editor's rows back with lever keys and choice values (what the scenario reads); a choice may
    be typed in words ('Hands-on') or as the scenario file spells it."""
    keys = {spec.label: key for key, spec in LEVERS.items()}
    choices = {words.lower(): value for value, words in CHOICE_WORDS.items()}
    return shown.assign(change=shown["change"].map(lambda label: keys.get(label, label)),
                        value=shown["value"].map(
                            lambda v: choices.get(v.strip().lower(), v) if isinstance(v, str) else v))


def calendar_editor() -> pd.DataFrame:
    """The intervention calendar; each row's week with its date when today's organisation is loaded.

    No cell is `required`: the editor would hold back a new row with an empty required cell and the
    run would go without it; `calendar_interventions` refuses such rows, naming them, instead.
    """
    state = st.session_state
    first = state.get("sim_first_monday")
    st.markdown("**Intervention calendar**: from its week on, a row sets one lever to a new value; rows "
                "with the same week and label are one intervention.")
    shown = _shown_calendar(state["sim_calendar"])
    options = list(dict.fromkeys([spec.label for spec in LEVERS.values()]
                                 + [c for c in shown["change"] if isinstance(c, str)]))
    week_help = "Rollout week the change starts in" + (
        f" (week 1 starts on {first.day} {first:%b %Y})" if first is not None else "")
    edited = st.data_editor(
        shown, num_rows="dynamic", width="stretch", hide_index=True,
        key=f"sim_calendar_{state['sim_calendar_version']}", column_order=CALENDAR_COLUMNS,
        column_config={
            "week": st.column_config.NumberColumn("Week", min_value=1, step=1, help=week_help),
            "change": st.column_config.SelectboxColumn("Lever", options=options, width="medium"),
            "value": st.column_config.TextColumn("New value"),
            "label": st.column_config.TextColumn("What is done"),
            "cost": st.column_config.NumberColumn("Cost", min_value=0.0, format="%.0f", default=0.0)})
    calendar = _stored_calendar(edited)
    if dates := calendar_dates(calendar, first):
        st.caption("The calendar's weeks as dates:  \n" + "  \n".join(dates))
    return calendar


def gather() -> ScenarioForm:
    """Draw every input and return them as a form (one column: it sits beside the results)."""
    state = st.session_state
    st.text_input("Scenario name", key="sim_name")
    st.slider("Weeks to simulate", 4, 156, key="sim_weeks")
    with st.expander("Levers at go-live (each tied to a root cause of the failed rollout)", expanded=True):
        for key, spec in LEVERS.items():
            _lever(key, spec)
    with st.expander("People and onboarding at go-live"):
        for key, spec in ATTITUDES.items():
            _lever(key, spec)
        st.selectbox("Go-live training", TRAINING_MODES, key="sim_onboarding_mode", format_func=_choice,
                     help="The rollout's 45-minute video versus the pilot's 8 h hands-on.")
        st.number_input("Go-live training hours", 0.0, 40.0, step=0.25, key="sim_onboarding_hours")
    with st.expander("Champions", expanded=True):
        st.number_input("Number of champions", 0, 1000, step=1, key="sim_champions_count")
        st.selectbox("Champion strategy", CHAMPION_STRATEGIES, key="sim_champions_strategy",
                     format_func=lambda s: f"{s.capitalize()}: {STRATEGY_HELP[s]}")
        st.number_input("Launch week (0: none, 1: from go-live)", 0, 156, step=1, key="sim_champions_week")
        st.number_input("Champion programme cost", 0.0, 1e9, step=1000.0, key="sim_champions_cost")
    calendar = calendar_editor()
    return ScenarioForm(
        name=state["sim_name"], weeks=state["sim_weeks"],
        levers={k: state[f"sim_{k}"] for k in LEVERS}, attitudes={k: state[f"sim_{k}"] for k in ATTITUDES},
        onboarding={"mode": state["sim_onboarding_mode"], "hours": state["sim_onboarding_hours"]},
        champions={k: state[f"sim_champions_{k}"] for k in ("count", "strategy", "week", "cost")},
        calendar=calendar, base=state["sim_base"])
