"""The simulator's "include what we don't know about the technicians": the run over a posterior, with
each intervention's effect as an interval and which one beats which (part of the Simulator page)."""

from collections.abc import Callable

import pandas as pd
import streamlit as st

from app.services.simulator import parse
from app.services.whatif import (
    AUTO,
    comparison_sentences,
    effect_table,
    posterior_source,
    simulate_over_posterior,
)
from app.web import resources
from app.web.components.text import plain
from model.whatif import PosteriorWhatIf

LABEL = "Include what we don't know about the technicians"
HELP = ("Runs every replicate with its own plausible set of behaviour parameters, drawn from the model "
        "fitted to our data (or to the seed case while our data has no fit), instead of one set, and "
        "weighs each intervention by leaving it out: its effect then comes with a range.")


@st.cache_data(max_entries=8, show_spinner=False)
def _over_posterior(text: str, runs: int, seed: int, effects_from: int, version: str) -> PosteriorWhatIf:
    """The run over the posterior (cached per scenario, runs, seed and stored data version)."""
    scenario = parse(text)[0]
    source = posterior_source(AUTO, resources.engine())
    return simulate_over_posterior(scenario, source, worlds=runs, seed=seed, effects_from=effects_from)


def unknowns(run: tuple[str, int, int], when: Callable[[int], str]) -> None:
    """Draw the interventions' effects across plausible worlds for the run (`when` writes a week)."""
    text, runs, seed = run
    effects_from = st.session_state.get("sim_history_until", 0) + 1
    with st.spinner(f"Running the scenario, and each intervention left out, over {runs} plausible worlds..."):
        result = _over_posterior(text, runs, seed, effects_from, resources.data_version())
    st.subheader("What each intervention is worth, with what we do not know")
    st.caption(plain(f"Over {runs} plausible worlds from {result.source}: each intervention's effect on "
                     f"the active share by {when(result.week)}, the rest of the calendar kept."))
    if not result.effects:
        st.info("The calendar has no intervention to weigh: add one (from next week, for our organisation "
                "as it stands) and run again.")
        return
    st.dataframe(pd.DataFrame(effect_table(result, when)), hide_index=True, width="stretch")
    for sentence in comparison_sentences(result):
        st.markdown(f"- {plain(sentence)}")
