"""Adopting plans: a scenario, an optimiser result or a plan file becomes a plan the organisation weighs.

`model/` validates (a plan is the interventions a scenario makes after the recorded weeks, checked
against the recorded organisation); `db/` stores the text; the nightly forecast
(`app.services.forecasts`) weighs every adopted plan against the current one and the leadership page
shows each with its name and description. No streamlit and no typer here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Engine

from app.services.documents import SkippedPlan
from app.services.recorded import observed_series, recorded_scenario
from app.services.settings import get_settings
from db import plans as store
from model.optimise import OptimiseResult, plan_scenario
from model.plan import Costs, Plan, load_plan, plan_from_scenario, plan_from_toml, plan_to_toml
from model.scenario import Scenario, ScenarioError

PlanNameTaken = store.PlanNameTaken
PlanNotFound = store.PlanNotFound


@dataclass(frozen=True)
class Adopted:
    """What adopting stored."""

    plan: Plan
    first_week: int
    """The first week it acts in (the week after the recorded data, or later)."""


def _recorded(engine: Engine) -> tuple[Scenario, int]:
    return recorded_scenario(engine), len(observed_series(engine))


def _store(engine: Engine, plan: Plan, *, source: str, adopted_by: str, replace: bool) -> Adopted:
    base, weeks = _recorded(engine)
    text = plan_to_toml(plan)
    checked = plan_from_toml(text, base, name=plan.name)  # what the forecast will read back
    checked.apply(base, after_week=weeks)
    store.adopt(engine, name=plan.name, description=plan.description, toml=text, source=source,
                adopted_by=adopted_by, replace=replace)
    return Adopted(checked, min(iv.week for iv in checked.interventions))


def adopt_scenario(engine: Engine, scenario: Scenario, *, name: str, description: str = "",
                   adopted_by: str, replace: bool = False, source: str = "simulator") -> Adopted:
    """Adopt what a scenario does after the recorded weeks as a plan.

    Raises:
        ScenarioError: the scenario does nothing after the recorded weeks, or is not a valid plan.
        PlanNameTaken: the name is taken and `replace` is False.
    """
    _, weeks = _recorded(engine)
    plan = plan_from_scenario(scenario, after_week=weeks, name=name, description=description)
    return _store(engine, plan, source=source, adopted_by=adopted_by, replace=replace)


def adopt_optimised(engine: Engine, result: OptimiseResult, *, name: str, description: str = "",
                    adopted_by: str, replace: bool = False) -> Adopted:
    """Adopt the optimiser's recommended plan (searched from the store: it acts after the recorded weeks)."""
    return adopt_scenario(engine, plan_scenario(result, result.best), name=name, description=description,
                          adopted_by=adopted_by, replace=replace, source="optimiser")


def adopt_file(engine: Engine, path: Path, *, name: str | None = None, description: str | None = None,
               adopted_by: str, replace: bool = False) -> Adopted:
    """Adopt a plan file (`[[interventions]]`, weeks counted from the rollout start).

    Raises:
        ScenarioError: naming the file and the first problem in it.
    """
    base, _ = _recorded(engine)
    plan = load_plan(path, base)
    plan = Plan(name or plan.name, plan.interventions, plan.costs,
                plan.description if description is None else description)
    try:
        return _store(engine, plan, source="file", adopted_by=adopted_by, replace=replace)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None


def adopted_plans(engine: Engine, costs: Costs | None = None) -> tuple[tuple[Plan, ...], list[SkippedPlan]]:
    """The adopted plans that can be forecast now, and why the others cannot (e.g. already under way).

    `costs`: the organisation's (default: `Settings`).
    """
    base, weeks = _recorded(engine)
    costs = costs or get_settings().costs()
    plans, skipped = [], []
    for row in store.adopted(engine):
        try:
            plan = plan_from_toml(row.toml, base, costs, name=row.name)
            plan.apply(base, after_week=weeks)
        except ScenarioError as exc:
            skipped.append(SkippedPlan(file=f"adopted plan {row.name!r}", reason=str(exc)))
            continue
        plans.append(Plan(row.name, plan.interventions, plan.costs, row.description))
    return tuple(plans), skipped


def adopted_version(engine: Engine) -> bytes:
    """Bytes that change whenever a plan is adopted, replaced or retired (the nightly job's fingerprint)."""
    return b"".join(f"{p.name}\0{p.description}\0{p.toml}\0".encode() for p in store.adopted(engine))


def retire(engine: Engine, name: str) -> None:
    """Stop weighing an adopted plan.

    Raises:
        PlanNotFound: no adopted plan has that name.
    """
    store.retire(engine, name)
