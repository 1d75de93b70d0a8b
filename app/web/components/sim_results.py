"""The simulator's results: fans, small multiples, comparison, network (part of the Simulator page)."""

import streamlit as st

from app.services import charts
from app.services.simulator import week_label
from app.services.words import money, share
from app.web import resources
from app.web.components.chart import show_chart
from app.web.components.text import plain

MAX_COMPARED = 4


def headline(run: tuple[str, int, int]) -> None:
    """The run's numbers and its fan chart (beside the inputs); dated when today's organisation ran."""
    sim = resources.simulate(*run)
    first = st.session_state.get("sim_run_first_monday")
    final = sim.overall.iloc[-1]
    st.metric(f"Median active share at {week_label(len(sim.overall), first)}", share(final["p50"]))
    st.caption(f"90% of runs between {share(final['p05'])} and {share(final['p95'])}. Cost of the "
               f"interventions: {money(sim.cost, resources.settings().currency)}.")
    show_chart(charts.sim_fan_chart(sim.overall, f"{sim.name}: active share, {sim.runs} runs",
                                    first_monday=first, target=resources.settings().target_share,
                                    height=200))


def results(run: tuple[str, int, int]) -> None:
    """Below the inputs: per facility, the comparison and one facility's network."""
    sim = resources.simulate(*run)
    target = resources.settings().target_share
    show_chart(charts.small_multiples(sim.facilities, "Per facility"))
    compare(sim.name, run, target)
    network(run, list(sim.facilities["facility"].unique()), len(sim.overall))


def compare(name: str, run: tuple[str, int, int], target: float) -> None:
    st.subheader("Compare scenarios")
    compared = st.session_state.setdefault("sim_compare", {})
    cols = st.columns([1, 1, 3])
    label = name if name not in compared or compared[name] == run else f"{name} ({len(compared) + 1})"
    full = len(compared) >= MAX_COMPARED or run in compared.values()
    if cols[0].button("Add to comparison", disabled=full):
        compared[label] = run
    if cols[1].button("Clear comparison", disabled=not compared):
        compared.clear()
    if not compared:
        st.info(f"Add up to {MAX_COMPARED} runs to compare them: run a scenario, press Add to comparison, "
                "change levers or load another scenario, run and add again.")
        return
    cols[2].caption(f"{len(compared)} of {MAX_COMPARED}: " + ", ".join(map(plain, compared)))
    summaries = {n: resources.simulate(*r).overall for n, r in compared.items()}
    show_chart(charts.compare_chart(summaries, target))


def network(run: tuple[str, int, int], facilities: list[str], weeks: int) -> None:
    st.subheader("One facility's network")
    cols = st.columns(2)
    facility = cols[0].selectbox("Facility", facilities, key="sim_network_facility")
    week = cols[1].slider("Week", 1, weeks, min(weeks, 26), key="sim_network_week")
    when = week_label(week, st.session_state.get("sim_run_first_monday"))
    nodes, edges = resources.network_picture(run[0], facilities.index(facility), week, run[2])
    show_chart(charts.network_chart(nodes, edges, f"{facility} at {when}: who uses the tool "
                                    "(one simulated run)"))
