"""The plan optimiser: which interventions, when and how big, to reach a target by a week within a budget.

The menu (`seed_data/plans/menu.toml`) lists what the organisation could do, each item with its
levers (or champions), a cost model (fixed + per technician + per week in force + per unit of
size), the range of its size and timing, and a lead time (CMMS embedding takes months to build).
A candidate plan says, for each item, whether it is used, from which week, and how big. Its value
is the probability of reaching the target by the deadline (held SUSTAIN_WEEKS weeks, as the
forecast defines it), estimated over the same replicates for every candidate: the same seed, and
when a posterior is given the same parameter draws (common random numbers, so candidates are
compared on the same plausible worlds). Candidates over budget are never simulated and never
returned.

The search is optuna's: TPE (constrained to the budget) for the recommended plan, and NSGA-II on
(cost, probability) for the front of plans that trade money for chance. Nothing here is a
hand-written search.
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from model.behaviour import Behaviour
from model.ensemble import run_ensemble
from model.forecast import SUSTAIN_WEEKS, first_sustained
from model.population import Population
from model.scenario import (
    LEVER_RANGES,
    Champions,
    Intervention,
    Scenario,
    ScenarioError,
    scenario_to_toml,
)

SCHEMA_VERSION = 1
TIE_WEIGHT = 0.05
"""How much the mean active share at the deadline counts next to the probability (breaks ties
among plans that all reach the target, or none do)."""
SIZED = {"champions": (1, 200), **{k: v for k, v in LEVER_RANGES.items() if not isinstance(v[0], str)}}


def _whole(size: str) -> bool:
    """Whether a size counts whole things (champions, technicians a week, alerts)."""
    return size == "champions" or isinstance(SIZED[size][0], int)


class OptimiseError(ScenarioError):
    """A menu or a request the optimiser cannot work with."""


@dataclass(frozen=True)
class MenuItem:
    """One intervention the organisation could choose, and what it costs."""

    key: str
    label: str
    levers: dict[str, Any] = field(default_factory=dict)
    champions: str | None = None
    """A champion strategy (pilot, degree, ...) when the item appoints champions; its size is the count."""
    size: str | None = None
    """What the size sets: a lever's name, or 'champions' (the count)."""
    size_range: tuple[float, float] | None = None
    fixed_cost: float = 0.0
    cost_per_technician: float = 0.0
    cost_per_week: float = 0.0
    cost_per_unit: float = 0.0
    lead_time: int = 0
    """Weeks from the first decision week before it can be in force."""
    latest_week: int | None = None

    def cost(self, *, week: int, size: float | None, technicians: int, horizon: int) -> float:
        """Money spent on this item up to the horizon week."""
        weeks = max(horizon - week + 1, 0)
        return (self.fixed_cost + self.cost_per_technician * technicians + self.cost_per_week * weeks
                + self.cost_per_unit * (size or 0.0))

    def intervention(self, week: int, size: float | None) -> Intervention:
        """The scenario intervention this item becomes at `week` with `size`."""
        levers = dict(self.levers)
        champions = None
        if self.size is not None and self.size != "champions" and size is not None:
            levers[self.size] = int(size) if _whole(self.size) else size
        if self.champions is not None:
            champions = Champions(count=int(size) if self.size == "champions" and size else 12,
                                  strategy=self.champions)
        return Intervention(week=week, levers=levers, champions=champions, label=self.label,
                            cost=0.0)


@dataclass(frozen=True)
class Choice:
    """One chosen item: from which week and how big, and what it costs."""

    item: MenuItem
    week: int
    size: float | None
    cost: float

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of a chosen intervention."""
        return {"key": self.item.key, "label": self.item.label, "week": self.week,
                "size": self.size, "size_of": self.item.size, "cost": self.cost}


@dataclass(frozen=True)
class Evaluated:
    """A plan and how it does across the replicates."""

    choices: tuple[Choice, ...]
    cost: float
    probability: float
    expected_week: int | None
    share: np.ndarray
    """(weeks, replicates) active share."""

    @property
    def score(self) -> float:
        """Probability of the target, ties broken by the mean share at the deadline."""
        return self.probability + TIE_WEIGHT * float(self.share[-SUSTAIN_WEEKS].mean())


@dataclass(frozen=True)
class Request:
    """What to optimise: the scenario whose future is decided, and the goal."""

    scenario: Scenario
    budget: float
    target: float
    by: int
    from_week: int = 1
    trials: int = 200
    runs: int = 40
    seed: int = 0
    behaviour: Behaviour | None = None
    """Per-replicate behaviour (posterior draws, one replicate each) or None for the scenario's."""
    population: Population | None = None


@dataclass(frozen=True)
class OptimiseResult:
    """The recommended plan, the front, the baseline, and how to run the plan as a scenario."""

    best: Evaluated
    baseline: Evaluated
    front: tuple[Evaluated, ...]
    request: Request
    trials: int
    schema_version: int = SCHEMA_VERSION


# ------------------------------------------------------------------------------------------ menu
def load_menu(path: str | Path) -> tuple[MenuItem, ...]:
    """Read and check a menu TOML file.

    Raises:
        OptimiseError: naming the file, the item and what is wrong.
    """
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise OptimiseError(f"{path.name}: cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise OptimiseError(f"{path.name}: not valid TOML ({exc})") from None
    return menu_from_dict(doc, path.name)


def menu_from_dict(doc: dict[str, Any], source: str = "menu") -> tuple[MenuItem, ...]:
    """Check a parsed menu: `[[items]]` with key, label, levers or champions, costs, size and timing."""
    items = doc.get("items")
    if not isinstance(items, list) or not items:
        raise OptimiseError(f"{source}: items: the menu needs at least one [[items]] entry")
    out: list[MenuItem] = []
    allowed = {"key", "label", "levers", "champions", "size", "size_range", "fixed_cost",
               "cost_per_technician", "cost_per_week", "cost_per_unit", "lead_time", "latest_week"}
    for n, raw in enumerate(items, start=1):
        where = f"{source}: items[{n}]"
        for k in raw:
            if k not in allowed:
                raise OptimiseError(f"{where}: {k}: unknown key (allowed: {', '.join(sorted(allowed))})")
        key, label = raw.get("key"), raw.get("label")
        if not isinstance(key, str) or not key or not isinstance(label, str) or not label:
            raise OptimiseError(f"{where}: give a key and a label")
        levers = raw.get("levers", {})
        for lever, value in levers.items():
            if lever not in LEVER_RANGES:
                raise OptimiseError(f"{where}: levers.{lever}: no such lever")
            allowed_values = LEVER_RANGES[lever]
            if isinstance(allowed_values[0], str):
                if value not in allowed_values:
                    raise OptimiseError(f"{where}: levers.{lever} = {value!r}: must be one of "
                                        f"{', '.join(map(str, allowed_values))}")
            elif not allowed_values[0] <= value <= allowed_values[1]:
                raise OptimiseError(f"{where}: levers.{lever} = {value!r}: out of range "
                                    f"[{allowed_values[0]}, {allowed_values[1]}]")
        size = raw.get("size")
        size_range = raw.get("size_range")
        if size is not None:
            if size not in SIZED:
                raise OptimiseError(f"{where}: size = {size!r}: must be 'champions' or a numeric lever")
            if (not isinstance(size_range, list) or len(size_range) != 2
                    or not SIZED[size][0] <= size_range[0] < size_range[1] <= SIZED[size][1]):
                raise OptimiseError(f"{where}: size_range = {size_range!r}: give [low, high] inside "
                                    f"[{SIZED[size][0]}, {SIZED[size][1]}]")
        costs = {k: raw.get(k, 0.0) for k in ("fixed_cost", "cost_per_technician", "cost_per_week",
                                               "cost_per_unit")}
        for k, v in costs.items():
            if not isinstance(v, int | float) or isinstance(v, bool) or v < 0:
                raise OptimiseError(f"{where}: {k} = {v!r}: must be an amount, 0 or more")
        lead = raw.get("lead_time", 0)
        if not isinstance(lead, int) or isinstance(lead, bool) or not 0 <= lead <= 520:
            raise OptimiseError(f"{where}: lead_time = {lead!r}: must be whole weeks from 0 to 520")
        champions = raw.get("champions")
        if champions is not None and champions not in ("pilot", "degree", "trust", "facility", "random"):
            raise OptimiseError(f"{where}: champions = {champions!r}: must be a champion strategy "
                                "(pilot, degree, trust, facility, random)")
        out.append(MenuItem(key, label, dict(levers), champions, size,
                            tuple(float(v) for v in size_range) if size else None,  # type: ignore[arg-type]
                            float(costs["fixed_cost"]), float(costs["cost_per_technician"]),
                            float(costs["cost_per_week"]), float(costs["cost_per_unit"]), lead,
                            raw.get("latest_week")))
    keys = [i.key for i in out]
    if len(set(keys)) != len(keys):
        raise OptimiseError(f"{source}: item keys must differ")
    return tuple(out)


# -------------------------------------------------------------------------------------- evaluating
def past_of(scenario: Scenario, from_week: int) -> Scenario:
    """The scenario with only the interventions before `from_week`: the past that is fixed."""
    return replace(scenario, interventions=tuple(iv for iv in scenario.interventions if iv.week < from_week))


def apply_choices(scenario: Scenario, choices: tuple[Choice, ...]) -> Scenario:
    """The scenario with the chosen interventions on its calendar (costs carried on each)."""
    added = tuple(replace(c.item.intervention(c.week, c.size), cost=c.cost) for c in choices)
    calendar = tuple(sorted(scenario.interventions + added, key=lambda i: i.week))
    return replace(scenario, interventions=calendar)


def evaluate(request: Request, base: Scenario, choices: tuple[Choice, ...]) -> Evaluated:
    """Simulate a plan over the request's replicates (same seed and draws for every plan)."""
    spec = apply_choices(base, choices)
    weeks = request.by + SUSTAIN_WEEKS - 1
    result = run_ensemble(spec, runs=request.runs, weeks=weeks, seed=request.seed,
                          behaviour=request.behaviour, population=request.population, record_facilities=False)
    share = np.asarray(result.overall["active_share"])
    first = first_sustained(share.T, request.target) + 1  # weeks count from 1
    reached = first <= request.by
    expected = int(round(float(first[reached].mean()))) if reached.any() else None
    cost = float(sum(c.cost for c in choices))
    return Evaluated(choices, cost, float(reached.mean()), expected, share)


def _choices(trial: Any, menu: tuple[MenuItem, ...], request: Request) -> tuple[Choice, ...]:
    out = []
    technicians = request.scenario.organisation.technicians
    for item in menu:
        earliest = request.from_week + item.lead_time
        latest = min(item.latest_week or request.by, request.by)
        if earliest > latest or not trial.suggest_categorical(f"{item.key}:use", [False, True]):
            continue
        week = trial.suggest_int(f"{item.key}:week", earliest, latest)
        size: float | None = None
        if item.size is not None and item.size_range is not None:
            lo, hi = item.size_range
            size = (float(trial.suggest_int(f"{item.key}:size", int(lo), int(hi))) if _whole(item.size)
                    else round(trial.suggest_float(f"{item.key}:size", lo, hi), 2))
        cost = item.cost(week=week, size=size, technicians=technicians, horizon=request.by)
        out.append(Choice(item, week, size, cost))
    return tuple(out)


def optimise(request: Request, menu: tuple[MenuItem, ...], *,
             progress: Callable[[int, int, float], None] | None = None,
             cancelled: Callable[[], bool] | None = None) -> OptimiseResult:
    """Search the menu for the plan most likely to reach the target by the deadline within the budget.

    Args:
        request: the scenario, budget, target, deadline, first decision week, trials and replicates.
        menu: what can be chosen.
        progress: called with (trials done, trials in all, best probability so far).
        cancelled: checked between trials; True stops the search and returns the best so far.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if request.by <= request.from_week:
        raise OptimiseError(f"the deadline (week {request.by}) must be after the first decision week "
                            f"({request.from_week})")
    if request.by + SUSTAIN_WEEKS - 1 > 1040:
        raise OptimiseError(f"the deadline (week {request.by}) is too far: at most week "
                            f"{1041 - SUSTAIN_WEEKS}")
    base = past_of(request.scenario, request.from_week)
    cache: dict[tuple[Any, ...], Evaluated] = {}
    total = request.trials + request.trials // 2
    done = [0]
    baseline = evaluate(request, base, ())
    best_so_far = [baseline]

    def run(choices: tuple[Choice, ...]) -> Evaluated:
        key = tuple((c.item.key, c.week, c.size) for c in choices)
        if key not in cache:
            cache[key] = evaluate(request, base, choices)
        return cache[key]

    def tick() -> None:
        done[0] += 1
        if progress is not None:
            progress(done[0], total, best_so_far[0].probability)
        if cancelled is not None and cancelled():
            raise _Stop

    def single(trial: Any) -> float:
        choices = _choices(trial, menu, request)
        cost = float(sum(c.cost for c in choices))
        trial.set_constraint("over_budget", cost - request.budget)
        if cost > request.budget:  # never simulated, never returned
            tick()
            return -1.0 + cost / max(request.budget, 1.0) * 1e-6
        value = run(choices)
        if value.score > best_so_far[0].score:
            best_so_far[0] = value
        tick()
        return value.score

    def double(trial: Any) -> tuple[float, float]:
        choices = _choices(trial, menu, request)
        cost = float(sum(c.cost for c in choices))
        trial.set_constraint("over_budget", cost - request.budget)
        if cost > request.budget:
            tick()
            return cost, -1.0
        value = run(choices)
        tick()
        return cost, value.probability

    seed = request.seed
    tpe = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=min(20, max(request.trials // 5, 1))))
    nsga = optuna.create_study(directions=["minimize", "maximize"], sampler=optuna.samplers.NSGAIISampler(
        seed=seed + 1, population_size=max(min(request.trials // 8, 50), 4)))
    for start in _warm_starts(menu, request):  # the obvious plans first: all-in, each alone
        tpe.enqueue_trial(start)
        nsga.enqueue_trial(start)
    try:
        tpe.optimize(single, n_trials=request.trials)
        nsga.optimize(double, n_trials=request.trials // 2)
    except _Stop:
        pass
    feasible = [e for e in cache.values() if e.cost <= request.budget] + [baseline]
    best = max(feasible, key=lambda e: (e.score, -e.cost))
    return OptimiseResult(best, baseline, _front(feasible), request, done[0])


def _warm_starts(menu: tuple[MenuItem, ...], request: Request) -> list[dict[str, Any]]:
    """Plans a person would try first, each item as early and as big as it can be.

    Everything the budget allows, cheapest first; and each item alone. The search starts from
    them, so it never recommends less than the obvious.
    """
    technicians = request.scenario.organisation.technicians

    def params(items: list[MenuItem]) -> dict[str, Any] | None:
        out: dict[str, Any] = {}
        for item in menu:
            earliest = request.from_week + item.lead_time
            latest = min(item.latest_week or request.by, request.by)
            if earliest > latest:
                continue
            use = item in items
            out[f"{item.key}:use"] = use
            if use:
                out[f"{item.key}:week"] = earliest
                if item.size is not None and item.size_range is not None:
                    hi = item.size_range[1]
                    out[f"{item.key}:size"] = int(hi) if _whole(item.size) else hi
        return out

    def cost(item: MenuItem) -> float:
        size = item.size_range[1] if item.size_range else None
        return item.cost(week=request.from_week + item.lead_time, size=size, technicians=technicians,
                         horizon=request.by)

    chosen, spent = [], 0.0
    for item in sorted(menu, key=cost):
        if spent + cost(item) <= request.budget:
            chosen.append(item)
            spent += cost(item)
    starts = [params(chosen)] + [params([item]) for item in menu if cost(item) <= request.budget]
    return [s for s in starts if s]


class _Stop(Exception):
    """Raised inside optuna's loop when the caller cancels."""


def _front(plans: list[Evaluated]) -> tuple[Evaluated, ...]:
    """Plans no other plan beats on both cost and probability, cheapest first."""
    ordered = sorted(plans, key=lambda e: (e.cost, -e.probability))
    front: list[Evaluated] = []
    for plan in ordered:
        if not front or plan.probability > front[-1].probability:
            front.append(plan)
    return tuple(front)


# ------------------------------------------------------------------------------------------ output
def plan_scenario(result: OptimiseResult, plan: Evaluated) -> Scenario:
    """The plan as a whole scenario (the fixed past plus the chosen interventions)."""
    base = past_of(result.request.scenario, result.request.from_week)
    spec = apply_choices(base, plan.choices)
    return replace(spec, name=f"{result.request.scenario.name} + optimised plan")


def _plan_json(result: OptimiseResult, plan: Evaluated) -> dict[str, Any]:
    mean = plan.share.mean(axis=1)
    p10, p90 = np.percentile(plan.share, [10, 90], axis=1)
    return {"interventions": [c.as_dict() for c in plan.choices], "cost": plan.cost,
            "probability_of_target": plan.probability, "expected_week": plan.expected_week,
            "active_share": {"mean": [round(float(v), 6) for v in mean],
                             "p10": [round(float(v), 6) for v in p10],
                             "p90": [round(float(v), 6) for v in p90]}}


def optimise_to_json(result: OptimiseResult) -> dict[str, Any]:
    """The `chasm optimise --json` document."""
    req = result.request
    return {"plan": _plan_json(result, result.best),
            "plan_toml": scenario_to_toml(plan_scenario(result, result.best)),
            "pareto": [{"cost": p.cost, "probability_of_target": p.probability,
                        "plan_toml": scenario_to_toml(plan_scenario(result, p))} for p in result.front],
            "baseline": _plan_json(result, result.baseline),
            "request": {"budget": req.budget, "target": req.target, "by": req.by, "from_week": req.from_week,
                        "trials": result.trials, "runs": req.runs, "seed": req.seed},
            "schema_version": result.schema_version}
