"""Experiments: which of the values we could change matters most for an outcome (`chasm experiment`)."""

import json

import pandas as pd
import streamlit as st

from app.services import charts
from app.services.experiments import (
    FACTORS,
    METHOD_WORDS,
    OUTPUT_WORDS,
    SHARE_OUTPUTS,
    Experiment,
    count_design_points,
    factor_words,
    output_text,
    output_words,
    run_choices,
)
from app.services.simulator import parse, preset_names, preset_toml
from app.services.words import money
from app.web import resources
from app.web.components.chart import show_chart
from app.web.components.text import plain
from db.csvsafe import csv_text
from db.saved_scenarios import ScenarioNotFound, scenario_toml
from model.experiment import experiment_rows
from model.scenario import ScenarioError

PRESET = "Preset: "
DEFAULT_FACTORS = ["levers.friction_minutes", "organisation.distrust_share", "onboarding.hours"]
SOBOL_MEASURES = {"ST": "Total effect (with interactions)", "S1": "Alone (first order)"}


def _words(error: Exception) -> str:
    """An error with the factors' paths in words."""
    message = str(error).removeprefix("the experiment: ")
    for path in FACTORS:
        message = message.replace(f"factors.{path}", factor_words(path)).replace(path, factor_words(path))
    return plain(message)


def _scenario_text(choice: str) -> str:
    if choice.startswith(PRESET):
        return preset_toml(choice.removeprefix(PRESET))
    return scenario_toml(resources.engine(), choice)


def _share(value: float) -> str:
    return "n/a" if pd.isna(value) else f"{value:.0%}"


def _value(metric: str, value: float | None, *, change: bool = False) -> str:
    """An outcome (or, with `change`, a difference in it) as people read it."""
    if value is None or pd.isna(value):
        return "never" if metric == "weeks_to_target" and not change else "n/a"
    if metric in SHARE_OUTPUTS:
        return f"{value * 100:.1f} pts" if change else f"{value:.0%}"
    if metric == "weeks_to_target":
        return f"{value:.1f} weeks"
    if metric == "cost":
        return money(value)
    return f"{value:.3g}"


def _factor_value(path: str, value: object) -> str:
    if isinstance(value, float) and path.startswith("organisation.") and path.endswith("_share"):
        return f"{value:.0%}"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _sensitivity(experiment: Experiment) -> None:
    """Sobol' or Morris indices as a bar chart and a table, in words."""
    result = experiment.result
    metric = result.design.output.metric
    rows = list(result.sensitivity)
    if result.design.method == "sobol":
        rows.sort(key=lambda r: -r["ST"])
        effects = pd.DataFrame([{"factor": factor_words(r["factor"]), "measure": words, "value": r[key],
                                 "low": r[key] - r[f"{key}_conf"], "high": r[key] + r[f"{key}_conf"]}
                                for r in rows for key, words in SOBOL_MEASURES.items()])
        show_chart(charts.sensitivity_chart(
            effects, "Which factors matter: share of the outcome's spread each explains",
            "Sobol' indices; whiskers: 95% confidence intervals", "Share of the outcome's variance (%)"))
        table = pd.DataFrame({
            "Factor": [factor_words(r["factor"]) for r in rows],
            "Total effect": [_share(r["ST"]) for r in rows],
            "Total effect, ± (95%)": [f"± {_share(r['ST_conf'])}" for r in rows],
            "Alone": [_share(r["S1"]) for r in rows],
            "Alone, ± (95%)": [f"± {_share(r['S1_conf'])}" for r in rows]})
        st.caption("Total effect: the share of the outcome's variance the factor explains, with its "
                   "interactions with the others; alone: without them. Small samples give wide intervals.")
    else:
        rows.sort(key=lambda r: -r["mu_star"])
        scale = 100.0 if metric in SHARE_OUTPUTS else 1.0
        unit = "points" if metric in SHARE_OUTPUTS else "weeks" if metric == "weeks_to_target" else "output"
        effects = pd.DataFrame([{"factor": factor_words(r["factor"]), "measure": words,
                                 "value": r[key] * scale, "low": float("nan"), "high": float("nan")}
                                for r in rows for key, words in (("mu_star", "Mean absolute effect"),
                                                                 ("sigma", "Spread of the effect"))])
        show_chart(charts.sensitivity_chart(
            effects, "Which factors matter: how far each moves the outcome",
            "Morris elementary effects over each factor's range", f"Effect on the outcome ({unit})",
            percent=False))
        table = pd.DataFrame({
            "Factor": [factor_words(r["factor"]) for r in rows],
            "Mean absolute effect": [_value(metric, r["mu_star"], change=True) for r in rows],
            "Spread of the effect": [_value(metric, r["sigma"], change=True) for r in rows]})
        st.caption("Mean absolute effect: how far the outcome moves, on average, when the factor moves "
                   "across its range; a large spread means the effect depends on the other factors.")
    st.dataframe(table, hide_index=True, width="stretch")


def _points(experiment: Experiment) -> None:
    """Every variant's outcome, best first (grid and Latin hypercube designs)."""
    result = experiment.result
    metric = result.design.output.metric
    ranked = sorted(result.points, key=lambda p: -(p.stats()["mean"] or float("-inf")))
    if metric in ("weeks_to_target", "cost"):  # fewer weeks and less money are better
        ranked.reverse()
    table = pd.DataFrame([{**{factor_words(k): _factor_value(k, v) for k, v in p.factors.items()},
                           "Mean": _value(metric, p.stats()["mean"]),
                           "5th percentile": _value(metric, p.stats()["p05"]),
                           "95th percentile": _value(metric, p.stats()["p95"])} for p in ranked])
    st.caption("Every variant's outcome over its runs, best first. Morris and Sobol' designs also say "
               "which factor matters.")
    st.dataframe(table, hide_index=True, width="stretch")


def show(experiment: Experiment) -> None:
    result = experiment.result
    design = result.design
    st.subheader("Results")
    st.markdown(plain(f"{len(result.points):,} variants x {design.runs} runs of {design.scenario}; "
                      f"outcome: {output_words(design.output.text).lower()}."))
    if design.method in ("sobol", "morris"):
        _sensitivity(experiment)
    else:
        _points(experiment)
    cols = st.columns(2)
    cols[0].download_button("Download the results (JSON)", json.dumps(experiment.as_json(), indent=2),
                            file_name="chasm-experiment.json", mime="application/json",
                            help="The same document as chasm experiment --json.")
    cols[1].download_button("Download every run (CSV)", csv_text(pd.DataFrame(experiment_rows(result))),
                            file_name="chasm-experiment.csv", mime="text/csv",
                            help="One row per variant and run, as chasm experiment --csv writes.")


st.title("Experiments")
st.caption("Which of the values we could change matters most? Vary a few of them over ranges, run every "
           "variant of a scenario many times, and see how much of the outcome each one explains.")
saved = list(resources.saved_scenarios()["name"])
options = [PRESET + name for name in preset_names()] + saved
top = st.columns(2)
choice: str = top[0].selectbox("Scenario", options, key="exp_scenario",
                               help="An example organisation, or a scenario saved on the Simulator page.") \
    or options[0]
method: str = top[1].selectbox("Method", list(METHOD_WORDS), index=list(METHOD_WORDS).index("sobol"),
                               key="exp_method", format_func=METHOD_WORDS.__getitem__) or "sobol"
try:
    text = _scenario_text(choice)
    scenario, _ = parse(text)
except (ScenarioError, ScenarioNotFound) as error:
    st.error(f"This scenario cannot be used: {_words(error)}.")
    st.stop()

sizes = st.columns(3)
samples = sizes[0].number_input("Values of each factor" if method == "grid" else "Samples", 1, 4096,
                               value=3 if method == "grid" else 8, step=1, key=f"exp_samples_{method}",
                               help="More samples give surer answers and take longer.")
runs = sizes[1].number_input("Runs of each variant", 1, 1000, value=10, step=1, key="exp_runs")
seed = sizes[2].number_input("Random seed", 0, 1_000_000, value=0, step=1, key="exp_seed")

outcome = st.columns([2, 1])
metric: str = outcome[0].selectbox("Outcome", list(OUTPUT_WORDS), key="exp_output",
                                   format_func=OUTPUT_WORDS.__getitem__) or "active_share"
timed = metric not in ("weeks_to_target", "cost")
week = outcome[1].number_input("At week", 1, scenario.weeks, value=min(52, scenario.weeks), step=1,
                            key=f"exp_week_{scenario.weeks}", disabled=not timed,
                            help=f"The scenario runs {scenario.weeks} weeks.")

chosen = st.multiselect("Factors to vary", list(FACTORS), default=DEFAULT_FACTORS, key="exp_factors",
                        format_func=factor_words)
ranges: dict[str, tuple[float, float]] = {}
if chosen:
    heading = st.columns([3, 1, 1])
    heading[0].caption("Each factor varies over its range")
    heading[1].caption("From")
    heading[2].caption("To")
for path in chosen:
    spec = FACTORS[path]
    row = st.columns([3, 1, 1], vertical_alignment="bottom")
    row[0].markdown(factor_words(path))
    low = row[1].number_input(f"{spec.words}: from", value=spec.low, step=spec.step, key=f"exp_low_{path}",
                               label_visibility="collapsed", help="From")
    high = row[2].number_input(f"{spec.words}: to", value=spec.high, step=spec.step, key=f"exp_high_{path}",
                                label_visibility="collapsed", help="To")
    ranges[path] = (float(low), float(high))

variants = count_design_points(method, int(samples), len(chosen)) if chosen else 0
st.caption(f"{variants:,} variants x {int(runs):,} runs = {variants * int(runs):,} simulated rollouts of "
           f"{scenario.organisation.technicians:,} technicians over {scenario.weeks} weeks.")
if st.button("Run the experiment", type="primary", disabled=not chosen,
             help="Choose at least one factor first." if not chosen else None):
    bar = st.progress(0.0, text="Starting...")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total, text=f"{done:,} of {total:,} variants run")

    try:
        experiment = run_choices(scenario=choice.removeprefix(PRESET), scenario_text=text, method=method,
                                 samples=int(samples), runs=int(runs), output=output_text(metric, int(week)),
                                 factors=ranges, seed=int(seed), progress=progress)
    except ScenarioError as error:
        bar.empty()
        st.error(f"This experiment cannot run: {_words(error)}.")
    else:
        bar.empty()
        st.session_state["exp_result"] = experiment

if (done := st.session_state.get("exp_result")) is not None:
    show(done)
