"""The simulator's results: fans, small multiples, comparison, network (part of the Simulator page)."""

import streamlit as st

from app.services import charts
from app.web import resources
from app.web.components.chart import show_chart
from app.web.components.text import plain

MAX_COMPARED = 4


def results(run: tuple[str, int, int]) -> None:
    sim = resources.simulate(*run)
    final = sim.overall.iloc[-1]
    cols = st.columns(3)
    cols[0].metric(f"Median active share at week {len(sim.overall)}", f"{final['p50']:.0%}")
    cols[1].metric("90% of runs between", f"{final['p05']:.0%} - {final['p95']:.0%}")
    cols[2].metric("Cost of the interventions", f"{sim.cost:,.0f}")
    target = resources.settings().target_share
    show_chart(charts.fan_chart(sim.overall, f"{sim.name}: active share of technicians, {sim.runs} runs",
                                target=target))
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
    nodes, edges = resources.network_picture(run[0], facilities.index(facility), week, run[2])
    show_chart(charts.network_chart(nodes, edges, f"{facility} at week {week}: who uses the tool "
                                    "(one simulated run)"))
