"""Intervention plans: what the organisation could do next, in the scenarios' vocabulary, with costs.

A plan is a TOML file of `[[interventions]]` (weeks counted from the rollout start, like the
data) and an optional `[costs]` table. Costs are an intervention's own `cost` plus the hours it
consumes: champions' coaching hours and training hours, at a wage per hour.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w

from model.scenario import (
    Intervention,
    Scenario,
    ScenarioError,
    _build_interventions,
    _build_table,
    _without_none,
    intervention_to_dict,
    parse_toml,
)


@dataclass(frozen=True)
class Costs:
    """Money per unit of what interventions consume, and what downtime costs."""

    wage_per_hour: float = 45.0
    """Loaded hourly cost of a technician (training hours, champions' coaching hours)."""
    champion_hours_per_week: float = 4.0
    """Hours a week each champion spends coaching instead of working orders."""
    downtime_hours_per_week: float = 60.0
    """Unplanned downtime hours a week across the organisation before the tool."""
    downtime_cost_per_hour: float = 0.0
    """What an hour of unplanned downtime costs (0: report hours only)."""


COST_RANGES = {"wage_per_hour": (0.0, 10_000.0), "champion_hours_per_week": (0.0, 40.0),
               "downtime_hours_per_week": (0.0, 1e7), "downtime_cost_per_hour": (0.0, 1e9)}


@dataclass(frozen=True)
class Plan:
    """A named set of future interventions."""

    name: str
    interventions: tuple[Intervention, ...] = ()
    costs: Costs = field(default_factory=Costs)
    description: str = ""

    def apply(self, scenario: Scenario, *, after_week: int) -> Scenario:
        """The scenario with this plan's interventions added to the recorded ones.

        Raises:
            ScenarioError: an intervention falls on or before `after_week` (already past).
        """
        for i, iv in enumerate(self.interventions, start=1):
            if iv.week <= after_week:
                raise ScenarioError(
                    f"plan {self.name!r}: interventions[{i}].week = {iv.week} is in the past "
                    f"(the data runs to week {after_week}); plan from week {after_week + 1}")
        merged = tuple(sorted(scenario.interventions + self.interventions, key=lambda x: x.week))
        return replace(scenario, interventions=merged)

    def cost(self, *, horizon_week: int, technicians: int) -> float:
        """Money the plan spends up to `horizon_week`."""
        c, total = self.costs, 0.0
        for iv in self.interventions:
            total += iv.cost
            weeks_left = max(horizon_week - iv.week + 1, 0)
            if iv.champions is not None:
                total += iv.champions.count * c.champion_hours_per_week * c.wage_per_hour * weeks_left
            per_week = iv.levers.get("training_per_week", 0)
            if per_week:
                hours = iv.levers.get("training_hours", 8.0)
                trained = min(per_week * weeks_left, technicians)
                total += trained * hours * c.wage_per_hour
        return total


CURRENT = Plan("current plan", description="what is recorded, and nothing more")


def plan_from_dict(data: dict[str, Any], scenario: Scenario, *, name: str = "plan",
                   costs: Costs | None = None) -> Plan:
    """Build and validate a plan against the scenario it will extend.

    Args:
        data: the parsed TOML.
        scenario: the recorded scenario the plan extends.
        name: the plan's name when the TOML gives none.
        costs: the organisation's costs, which the plan's own `[costs]` entries override.

    Raises:
        ScenarioError: an unknown key or lever, a bad value, a plan that changes nothing.
    """
    allowed = {"name", "description", "interventions", "costs"}
    for key in data:
        if key not in allowed:
            raise ScenarioError(f"{key}: unknown key (allowed: {', '.join(sorted(allowed))})")
    if not data.get("interventions"):
        raise ScenarioError("interventions: a plan needs at least one [[interventions]] entry")
    interventions = _build_interventions(data["interventions"], scenario.organisation, 10_000)
    own = _build_table(Costs, data.get("costs", {}), "costs", COST_RANGES)
    merged = replace(costs or Costs(), **{k: getattr(own, k) for k in data.get("costs", {})})
    return Plan(str(data.get("name", name)), interventions, merged, str(data.get("description", "")))


def load_plan(path: str | Path, scenario: Scenario, costs: Costs | None = None) -> Plan:
    """Load a plan TOML file (`costs`: the organisation's, which the file's `[costs]` overrides).

    Raises:
        ScenarioError: naming the file and the first problem in it.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        return plan_from_dict(data, scenario, name=path.stem, costs=costs)
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such plan file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from None
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None


def plan_to_toml(plan: Plan) -> str:
    """The plan as the TOML `plan_from_toml` and the plans folder read (its costs are the organisation's)."""
    doc: dict[str, Any] = {"name": plan.name, "description": plan.description,
                           "interventions": [intervention_to_dict(iv) for iv in plan.interventions]}
    return tomli_w.dumps(_without_none(doc))


def plan_from_toml(text: str, scenario: Scenario, costs: Costs | None = None, *, name: str = "plan") -> Plan:
    """Parse and validate plan TOML text (e.g. an adopted plan read back from the store).

    Raises:
        ScenarioError: not TOML, or not a valid plan for `scenario`.
    """
    return plan_from_dict(parse_toml(text), scenario, name=name, costs=costs)


def plan_from_scenario(scenario: Scenario, *, after_week: int, name: str, description: str = "",
                       costs: Costs | None = None) -> Plan:
    """The plan a scenario makes for the organisation: its interventions after `after_week`.

    What happened up to `after_week` is recorded, so only what the scenario does later is a decision.

    Raises:
        ScenarioError: the scenario does nothing after `after_week`.
    """
    future = tuple(iv for iv in scenario.interventions if iv.week > after_week)
    if not future:
        raise ScenarioError(f"{scenario.name}: no intervention after week {after_week} (the data runs to "
                            f"week {after_week}), so there is no plan to adopt; add one from week "
                            f"{after_week + 1}")
    return Plan(name, future, costs or Costs(), description)
