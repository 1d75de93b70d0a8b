"""The simulator page's orchestration: form <-> scenario TOML, ensembles, one facility's network.

No streamlit here: every function takes and returns plain values, so a notebook can do the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
import tomli_w
from sqlalchemy import Engine

import seed_data
from app.services.settings import Settings, get_settings
from app.services.words import week_date
from model.budget import check_budget
from model.population import Population
from model.scenario import (
    LEVER_RANGES,
    Scenario,
    ScenarioError,
    check_network,
    intervention_to_dict,
    parse_toml,
    scenario_from_dict,
    scenario_to_toml,
)

PRESETS = seed_data.path("scenarios")
CALENDAR_COLUMNS = ("week", "change", "value", "label", "cost")


@dataclass(frozen=True)
class Lever:
    """How a lever is shown: its label and the root cause it stands for."""

    label: str
    why: str
    step: float = 1.0


LEVERS: dict[str, Lever] = {
    "friction_minutes": Lever("Extra minutes per work order", "Friction: the separate log-in and double "
                              "entry cost 5-10 min per work order; embedding the AI in the CMMS removes "
                              "them.",
                              0.5),
    "kpi": Lever("What technicians are measured on", "The tickets-closed KPI punishes time spent on AI "
                 "alerts; rewarding downtime prevented makes the tool pay off for the technician."),
    "alert_precision": Lever("Alert precision", "The trust gap: every false alarm confirms the doubts of "
                             "the 67% who distrust the AI; 0.89 in the pilot.", 0.01),
    "alerts_per_week": Lever("Alerts per user per week", "Chances to see the AI be right (or wrong) each "
                             "week: evidence for or against trust."),
    "support": Lever("Support (0 none, 1 pilot-level)", "Facilitating conditions: the pilot had daily "
                     "stand-ups and 24 h answers; the rollout left technicians alone.", 0.05),
    "transparency": Lever("Transparency about the AI", "Showing how alerts are made and that the AI "
                          "augments technicians narrows the trust gap and eases fear of replacement.", 0.05),
    "training_per_week": Lever("Technicians trained per week", "Training waves: the rollout's 45-minute "
                               "video left people unable to use the tool; waves rebuild competence."),
    "training_hours": Lever("Hours of each wave's training", "8 h hands-on made the pilot competent; 45 "
                            "minutes of video did not.", 0.5),
    "training_mode": Lever("How waves train", "Hands-on practice on real work orders versus a video."),
    "champion_capacity": Lever("Peers each champion coaches per week", "Champions: technicians trust a "
                               "colleague who uses the tool more than a manager who mandates it."),
}
ATTITUDES: dict[str, Lever] = {
    "distrust_share": Lever("Share who distrust the AI at go-live", "The trust gap at the start (67% in "
                            "the seed case).", 0.01),
    "fear_share": Lever("Share who fear being replaced", "Fear of replacement at the start: people avoid "
                        "a tool they think is training their successor.", 0.01),
}


TODAY = "Our organisation as it stands"


def today_toml(engine: Engine, *, ahead: int = 26) -> tuple[str, int]:
    """Today's organisation as a scenario: the stored headcount, the calibrated behaviour's defaults,
    the intervention log as recorded, and `ahead` weeks beyond the last stored week.

    Returns:
        The scenario TOML and the number of recorded weeks (what is history).

    Raises:
        CalibrationError: nothing is stored yet.
    """
    from app.services.recorded import observed_series, recorded_scenario

    weeks = len(observed_series(engine))
    scenario = replace(recorded_scenario(engine), name=TODAY, weeks=weeks + ahead)
    return scenario_to_toml(scenario), weeks


def first_monday(engine: Engine) -> date | None:
    """The Monday of rollout week 1 (the first stored week), or None when nothing is stored."""
    from app.services.recorded import observed_series
    from model.calibrate import CalibrationError

    try:
        first = observed_series(engine)["week_start"].iloc[0]
    except CalibrationError:
        return None
    return pd.Timestamp(first).date()


def preset_names() -> list[str]:
    return sorted(p.stem for p in PRESETS.glob("*.toml"))


def preset_toml(name: str) -> str:
    return (PRESETS / f"{name}.toml").read_text(encoding="utf-8")


def parse(text: str, *, network_dirs: Sequence[Path] | None = None) -> tuple[Scenario, dict[str, Any]]:
    """Validate scenario TOML; returns the scenario and the parsed document.

    An edge-list network must lie in the shipped data or `network_dirs` (the settings' if None).

    Raises:
        ScenarioError: not TOML, a bad key or value, or an edge list elsewhere (the message names it).
    """
    doc = parse_toml(text)
    scenario = scenario_from_dict(doc)
    if scenario.organisation.network != "generated":
        dirs = get_settings().network_dirs if network_dirs is None else network_dirs
        scenario = check_network(scenario, network_dirs=dirs)
    return scenario, doc


def check_simulation(text: str, *, runs: int, weeks: int | None = None,
                     settings: Settings | None = None) -> tuple[Scenario, Population | None]:
    """The scenario of `text` and its loaded network (None if generated), if the run fits the budget.

    Nothing is simulated: the check counts, before any state exists.

    Raises:
        ScenarioError: the scenario is invalid, or (`BudgetError`) over the settings' budget, saying
            how many runs would fit.
    """
    settings = get_settings() if settings is None else settings
    scenario, _ = parse(text, network_dirs=settings.network_dirs)
    population = check_budget(scenario, runs, weeks, max_bytes=settings.simulation_max_bytes,
                              max_technician_weeks=settings.simulation_max_technician_weeks)
    return scenario, population


@dataclass
class ScenarioForm:
    """The simulator's inputs, as the page's widgets hold them."""

    name: str
    weeks: int
    levers: dict[str, Any]
    attitudes: dict[str, float]
    onboarding: dict[str, Any]
    champions: dict[str, Any]
    """count, strategy, week (0: none), cost."""
    calendar: pd.DataFrame
    base: dict[str, Any] = field(default_factory=dict)
    """The rest of the document (organisation, waves, behaviour), kept as loaded."""


def form_from_toml(text: str, *, history_until: int = 0) -> ScenarioForm:
    """Split a scenario into the simulator's inputs (its edge-list path is checked on the way back).

    Champions launched up to `history_until` (what is recorded: today's organisation) and any after
    the one the champions inputs show are kept as they are, so editing the champions never rewrites
    history or drops a launch.
    """
    doc = parse_toml(text)
    scenario = scenario_from_dict(doc)
    kept: list[dict[str, Any]] = []
    levers = {k: getattr(scenario.levers, k) for k in LEVERS}
    attitudes = {k: getattr(scenario.organisation, k) for k in ATTITUDES}
    onboarding = {"mode": scenario.onboarding.mode, "hours": scenario.onboarding.hours}
    champions = {"count": 0, "strategy": "pilot", "week": 0, "cost": 0.0}
    if scenario.champions is not None:
        champions |= {"count": scenario.champions.count, "strategy": scenario.champions.strategy, "week": 1}
    rows = []
    for item in scenario.interventions:
        cost = item.cost
        if item.champions is not None and champions["week"] == 0 and item.week > history_until:
            champions = {"count": item.champions.count, "strategy": item.champions.strategy,
                         "week": item.week, "cost": cost if not item.levers else 0.0}
            cost = cost if item.levers else 0.0
        elif item.champions is not None:
            kept.append(intervention_to_dict(replace(item, levers={}, cost=0.0 if item.levers else cost)))
            cost = cost if item.levers else 0.0
        for key, value in item.levers.items():
            rows.append({"week": item.week, "change": key, "value": str(value), "label": item.label,
                         "cost": float(cost)})
            cost = 0.0
    calendar = pd.DataFrame(rows, columns=list(CALENDAR_COLUMNS)).astype(
        {"week": "int64", "cost": "float64"})
    base = {k: v for k, v in doc.items() if k in ("organisation", "waves", "behaviour", "description")}
    if kept:
        base["kept_interventions"] = kept
    return ScenarioForm(scenario.name, scenario.weeks, levers, attitudes, onboarding, champions,
                        calendar, base)


def _value(change: str, text: Any) -> Any:
    allowed = LEVER_RANGES[change]
    if isinstance(allowed[0], str):
        return str(text).strip()
    number = float(str(text).strip())
    is_int = isinstance(allowed[0], int) and isinstance(allowed[1], int)
    return int(number) if is_int and number.is_integer() else number


def _blank(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and bool(pd.isna(value))) or str(value).strip() == ""


CHOICE_WORDS: dict[str, str] = {
    "tickets_closed": "Tickets closed", "balanced": "Balanced: tickets and downtime",
    "downtime_prevented": "Downtime prevented", "video": "Video", "hands_on": "Hands-on"}
"""Each lever choice in words, as the simulator shows it and its messages say it."""


def _in_words(message: str) -> str:
    """A lever's validation message with its choices in words ("must be one of Tickets closed, ...")."""
    head, sep, allowed = message.partition("must be one of ")
    if not sep:
        return message
    return head + sep + ", ".join(CHOICE_WORDS.get(v, v) for v in allowed.split(", "))


def lever_words(change: str) -> str:
    """A lever in words ('Extra minutes per work order'); the key itself when it has no label."""
    return LEVERS[change].label if change in LEVERS else change


def week_label(week: int, first: date | None) -> str:
    """A rollout week with its date when the calendar is known: 'week 84 (15 Jun 2026)', else 'week 84'."""
    when = week_date(int(week), first)
    return f"week {int(week)}" if when is None else f"week {int(week)} ({when.day} {when:%b %Y})"


def calendar_dates(calendar: pd.DataFrame, first: date | None) -> list[str]:
    """The calendar's weeks with their dates, one line per week in row order:
    'Rows 4, 5, 6: week 28 (1 Dec 2025)'; rows without a week say so. Nothing when the dates are unknown.
    """
    if first is None:
        return []
    rows: dict[str, list[int]] = {}
    for number, row in enumerate(calendar.to_dict("records"), start=1):
        week: Any = row.get("week")
        try:
            when = week_label(int(float(week)), first) if not _blank(week) else "no week yet"
        except (TypeError, ValueError):
            when = "no week yet"
        rows.setdefault(when, []).append(number)
    return [f"{'Row' if len(numbers) == 1 else 'Rows'} {', '.join(map(str, numbers))}: {when}"
            for when, numbers in rows.items()]


def calendar_interventions(calendar: pd.DataFrame) -> list[dict[str, Any]]:
    """Calendar rows -> scenario interventions (rows with the same week and label merge).

    Every row with anything in it counts: one without a week, a lever or a value is refused, never
    left out (a wholly empty row, the editor's spare one, is nothing and is skipped).

    Raises:
        ScenarioError: naming the calendar row (as numbered in the editor) and what to fix.
    """
    merged: dict[tuple[int, str], dict[str, Any]] = {}
    for number, row in enumerate(calendar.to_dict("records"), start=1):
        where = f"calendar row {number}"
        week: Any = row.get("week")  # a number, or text, or nothing, from the editor
        text = row.get("value")
        change = "" if _blank(row.get("change")) else str(row["change"])
        if all(_blank(row.get(column)) or (column == "cost" and row.get(column) == 0)
               for column in CALENDAR_COLUMNS):
            continue
        if not _blank(change) and change not in LEVER_RANGES:
            raise ScenarioError(f"{where}: {change!r} is not something the simulator can change")
        if _blank(week):
            what = f" from which {lever_words(change).lower()} changes" if not _blank(change) else \
                " and choose what changes"
            raise ScenarioError(f"{where}: give a week{what}")
        try:
            whole = float(week)
        except (TypeError, ValueError):
            raise ScenarioError(f"{where}: the week {week!r} is not a whole number") from None
        if not whole.is_integer() or whole < 1:
            raise ScenarioError(f"{where}: the week must be a whole number, 1 or later, not {week}")
        if _blank(change):
            raise ScenarioError(f"{where}: choose what changes in week {int(whole)}")
        if _blank(text):
            raise ScenarioError(f"{where}: give the new value of {lever_words(change).lower()} in week "
                                f"{int(whole)}")
        try:
            value = _value(change, text)
        except ValueError:
            raise ScenarioError(f"{where}: {lever_words(change)} = {text!r} is not a number") from None
        try:
            Scenario().with_levers(**{change: value})
        except ScenarioError as exc:
            problem = str(exc).removeprefix(f"levers.{change} = ")
            shown = CHOICE_WORDS.get(value, value) if isinstance(value, str) else value
            problem = problem.removeprefix(f"{value!r}").removeprefix(f"{value}")
            raise ScenarioError(f"{where}: {lever_words(change)} = {shown!r}{_in_words(problem)}") from None
        label = "" if _blank(row.get("label")) else str(row["label"])
        item = merged.setdefault((int(whole), label), {"week": int(whole), "label": label, "cost": 0.0})
        item[change] = value
        item["cost"] += 0.0 if _blank(row.get("cost")) else float(row["cost"])
    return list(merged.values())


def form_to_toml(form: ScenarioForm) -> str:
    """The scenario TOML of the form's inputs, validated.

    Raises:
        ScenarioError: what is wrong and where.
    """
    doc: dict[str, Any] = {"name": form.name.strip() or "scenario", "weeks": int(form.weeks)}
    if "description" in form.base:
        doc["description"] = form.base["description"]
    doc["organisation"] = {**form.base.get("organisation", {}), **form.attitudes}
    doc["levers"] = dict(form.levers)
    doc["onboarding"] = dict(form.onboarding)
    if "waves" in form.base:
        doc["waves"] = form.base["waves"]
    interventions = calendar_interventions(form.calendar) + list(form.base.get("kept_interventions", []))
    champ = form.champions
    if champ["count"] > 0 and champ["week"] == 1:
        doc["champions"] = {"count": int(champ["count"]), "strategy": champ["strategy"]}
    elif champ["count"] > 0 and champ["week"] > 1:
        interventions.append({"week": int(champ["week"]), "label": "Champions launched",
                              "champions": {"count": int(champ["count"]), "strategy": champ["strategy"]},
                              "cost": float(champ.get("cost", 0.0))})
    doc["interventions"] = sorted(interventions, key=lambda i: i["week"])
    if "behaviour" in form.base:
        doc["behaviour"] = form.base["behaviour"]
    text = tomli_w.dumps(doc)
    parse(text)
    return text


@dataclass(frozen=True)
class Simulation:
    """An ensemble's summaries of the active share: overall and per facility."""

    name: str
    runs: int
    overall: pd.DataFrame
    """Indexed by week: mean, p05, p25, p50, p75, p95."""
    facilities: pd.DataFrame
    """Long: facility, week and the same columns."""
    cost: float


def simulate(text: str, *, runs: int = 100, seed: int = 0) -> Simulation:
    """Run an ensemble of a scenario (TOML text) and summarise its active share.

    Raises:
        ScenarioError: the scenario is invalid or over the budget (`check_simulation`).
    """
    from model.ensemble import run_ensemble

    scenario, population = check_simulation(text, runs=runs)
    result = run_ensemble(scenario, runs=runs, seed=seed, population=population)
    facilities = pd.concat([result.summary("active_share", name).reset_index().assign(facility=name)
                            for name in result.facility_names], ignore_index=True)
    cost = sum(i.cost for i in scenario.interventions)
    return Simulation(scenario.name, runs, result.summary("active_share"), facilities, cost)


def network_snapshot(text: str, *, facility: int = 0, week: int = 26,
                     seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One replicate's network of one facility (0-based) at `week`: nodes (x, y, state) and edges."""
    from model.model import AdoptionModel

    scenario, _ = parse(text)
    weeks = max(1, min(week, scenario.weeks))
    scenario, population = check_simulation(text, runs=1, weeks=weeks)
    model = AdoptionModel(scenario, replicates=1, rng=seed, population=population)
    model.run_for(weeks)
    population = model.population
    members: list[int] = np.flatnonzero(population.facility == facility).tolist()
    inside = set(members)
    edges = [(int(a), int(b)) for a, b in population.edges() if a in inside and b in inside]
    graph: nx.Graph[int] = nx.Graph()
    graph.add_nodes_from(members)
    graph.add_edges_from(edges)
    layout = nx.spring_layout(graph, seed=seed)
    agents = model.technicians(0)
    nodes = pd.DataFrame([{
        "technician": f"T{i + 1:04d}", "x": layout[i][0], "y": layout[i][1],
        "state": "champion" if agents[i].champion else agents[i].state.value,
        "trust": agents[i].trust, "degree": graph.degree[i]} for i in members])
    edge_frame = pd.DataFrame([{"x": layout[a][0], "y": layout[a][1], "x2": layout[b][0],
                                "y2": layout[b][1]} for a, b in edges], columns=["x", "y", "x2", "y2"])
    return nodes, edge_frame
