"""The patterns the behaviour is calibrated to and tested against (pattern-oriented modelling).

Grimm et al. (2005): a model is credible when one parameter set reproduces several patterns at
different levels at once. These are the seed case's (shared context: "why AI pilots fail to
scale") at the organisation level (P1-P5, P7) and at the technician level (P6: how sticky use is,
how many ever tried). Each pattern is a set of scenario variants built from the presets, run as
one batched ensemble per variant, and a set of named checks on their outcomes.

`pattern_outcomes` runs every variant for K parameter sets (one behaviour with arrays of K
values, or a single set) with `reps` replicates each and returns, per set, the numbers the checks
read; `checks` turns them into pass/fail with the margin; `loss` is what `bench/calibrate_seed.py`
minimises.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

import seed_data
from model.behaviour import Behaviour
from model.ensemble import run_ensemble
from model.population import Population, build_population
from model.scenario import Champions, Intervention, Onboarding, Scenario, load_scenario

CHAMPION_STRATEGIES = ("pilot", "degree", "trust", "facility", "random")
TURNAROUND_WEEK = 26


def month_end(month: int) -> int:
    """Month m ends at week round(m * 52 / 12)."""
    return round(month * 52 / 12)


def presets() -> dict[str, Scenario]:
    """The four shipped scenarios."""
    return {name: load_scenario(seed_data.path("scenarios", f"{name}.toml"))
            for name in ("pilot", "rollout", "turnaround", "waves")}


def _element_name(iv: Intervention) -> str:
    if iv.champions is not None:
        return "champions"
    if "training_per_week" in iv.levers:
        return "training"
    if "kpi" in iv.levers:
        return "kpi"
    if "friction_minutes" in iv.levers:
        return "cmms"
    return "transparency"


def variants(base: dict[str, Scenario] | None = None) -> dict[str, Scenario]:
    """Every scenario the patterns read, by a short name."""
    s = base or presets()
    rollout, turnaround, waves = s["rollout"], s["turnaround"], s["waves"]
    out: dict[str, Scenario] = {"pilot": s["pilot"], "rollout": rollout, "turnaround": turnaround}
    # P2: one root cause fixed at go-live
    out["fix_cmms"] = rollout.with_levers(friction_minutes=0.5)
    out["fix_training"] = replace(rollout, onboarding=Onboarding(mode="hands_on", hours=8.0))
    out["fix_kpi"] = rollout.with_levers(kpi="downtime_prevented")
    out["fix_transparency"] = rollout.with_levers(transparency=0.8, support=0.5)
    out["fix_distrust"] = replace(rollout, organisation=replace(rollout.organisation, distrust_share=0.33))
    out["fix_fear"] = replace(rollout, organisation=replace(rollout.organisation, fear_share=0.15))
    # P3: one element alone from month 6; the turnaround without one element
    for iv in turnaround.interventions:
        name = _element_name(iv)
        out[f"only_{name}"] = replace(rollout, interventions=(replace(iv, week=TURNAROUND_WEEK),))
        out[f"without_{name}"] = replace(turnaround, interventions=tuple(
            x for x in turnaround.interventions if x is not iv))
    # P4: everything from day 1
    day1_levers: dict[str, Any] = {}
    champions = None
    for iv in turnaround.interventions:
        day1_levers |= iv.levers
        champions = iv.champions or champions
    out["day1"] = replace(turnaround.with_levers(**day1_levers), interventions=(), champions=champions)
    # P5: the waves' levers, everyone live at once
    out["waves"] = waves
    out["big_bang"] = replace(waves, waves=())
    # P7: the turnaround's champions picked by each strategy
    for strategy in CHAMPION_STRATEGIES[1:]:
        out[f"champions_{strategy}"] = replace(turnaround, interventions=tuple(
            replace(iv, champions=Champions(iv.champions.count, strategy)) if iv.champions else iv
            for iv in turnaround.interventions))
    return out


ELEMENTS = ("champions", "transparency", "training", "kpi", "cmms")
P2_LIFTS = {"fix_cmms": 0.06, "fix_training": 0.05, "fix_kpi": 0.04, "fix_transparency": 0.04,
            "fix_distrust": 0.05, "fix_fear": 0.03}
"""P2: what fixing one root cause at go-live must add to the rollout's month 6 at least."""
P2_LABELS = {"fix_cmms": "CMMS embedding (0.5 min)", "fix_training": "8 h hands-on onboarding",
             "fix_kpi": "the downtime KPI", "fix_transparency": "transparency with more support",
             "fix_distrust": "distrust 0.33 instead of 0.67", "fix_fear": "fear 0.15 instead of 0.5"}


@dataclass(frozen=True)
class Check:
    """One assertion of a pattern: passes when `margin` >= 0."""

    pattern: str
    name: str
    margin: np.ndarray
    """Per parameter set: how far inside (>= 0) or outside (< 0) the pattern."""
    value: np.ndarray
    """Per parameter set: the quantity the check reads (for reports)."""


def pattern_outcomes(behaviour: Behaviour, sets: int, reps: int, seed: int = 0,
                     only: tuple[str, ...] | None = None,
                     populations: dict[str, Population] | None = None) -> dict[str, dict[str, np.ndarray]]:
    """Run every variant for `sets` parameter sets x `reps` replicates.

    Returns:
        variant -> metric -> (weeks, sets) mean over each set's replicates.
    """
    beh = behaviour
    if sets > 1 or reps > 1:
        beh = Behaviour(**{k: np.repeat(np.broadcast_to(np.asarray(v, dtype=float), (sets,)), reps)
                           for k, v in behaviour.as_dict().items()})
    out = {}
    for name, scenario in variants().items():
        if only is not None and name not in only:
            continue
        population = (populations or {}).get(name)
        if population is None:
            population = build_population(scenario.organisation, np.random.default_rng(seed))
        result = run_ensemble(scenario, runs=sets * reps, seed=seed + 1, behaviour=beh, population=population,
                              record_facilities=False)
        out[name] = {m: v.reshape(v.shape[0], sets, reps).mean(axis=2) for m, v in result.overall.items()}
    return out


def checks(o: dict[str, dict[str, np.ndarray]]) -> list[Check]:
    """Every pattern's checks on `pattern_outcomes`' numbers."""
    def at(name: str, month: int, metric: str = "active_share") -> np.ndarray:
        values: np.ndarray = o[name][metric][month_end(month) - 1]
        return values

    out: list[Check] = []

    def add(pattern: str, name: str, margin: np.ndarray, value: np.ndarray) -> None:
        out.append(Check(pattern, name, np.asarray(margin, dtype=float), np.asarray(value, dtype=float)))

    r1, r3, r6 = at("rollout", 1), at("rollout", 3), at("rollout", 6)
    t18 = at("turnaround", 18)
    add("P1", "pilot at month 3 >= 85%", at("pilot", 3) - 0.85, at("pilot", 3))
    add("P1", "rollout month 1 = 41% +- 4", 0.04 - abs(r1 - 0.41), r1)
    add("P1", "rollout month 3 = 38% +- 4", 0.04 - abs(r3 - 0.38), r3)
    add("P1", "rollout month 3 below month 1", r1 - r3, r1 - r3)
    add("P1", "rollout month 6 no higher than month 3", r3 - r6, r3 - r6)
    add("P1", "turnaround month 18 = 73% +- 4", 0.04 - abs(t18 - 0.73), t18)
    for name, lift in P2_LIFTS.items():
        gain = at(name, 6) - r6
        add("P2", f"{P2_LABELS[name]} at go-live lifts month 6 by >= {lift * 100:.0f} pts", gain - lift, gain)
    for element in ELEMENTS:
        alone = at(f"only_{element}", 18)
        add("P3", f"{element} alone stays below 68% at month 18", 0.68 - alone, alone)
        cost = t18 - at(f"without_{element}", 18)
        add("P3", f"leaving out {element} costs >= 2 pts at month 18", cost - 0.02, cost)
    d6 = at("day1", 6)
    add("P4", "everything from day 1 >= 60% at month 6", d6 - 0.60, d6)
    gap12 = at("day1", 12) - at("turnaround", 12)
    add("P4", "day 1 beats the turnaround by >= 8 pts at month 12", gap12 - 0.08, gap12)
    gap18 = at("day1", 18) - t18
    add("P4", "day 1 beats the turnaround by >= 2 pts at month 18", gap18 - 0.02, gap18)
    live6 = at("waves", 6, "active_share_live") - at("big_bang", 6, "active_share_live")
    add("P5", "waves beat big bang by >= 5 pts (live) at month 6", live6 - 0.05, live6)
    end = at("waves", 18) - at("big_bang", 18)
    add("P5", "waves end no lower than big bang at month 18", end, end)
    churn_r = o["rollout"]["weekly_churn"][4:26]
    add("P6", "rollout churn weeks 5-26 >= 5%", churn_r.min(axis=0) - 0.05, churn_r.min(axis=0))
    add("P6", "rollout churn weeks 5-26 <= 20%", 0.20 - churn_r.max(axis=0), churn_r.max(axis=0))
    churn_t = o["turnaround"]["weekly_churn"][51:78].max(axis=0)
    add("P6", "turnaround churn weeks 52-78 <= 10%", 0.10 - churn_t, churn_t)
    ever6 = at("rollout", 6, "ever_share")
    add("P6", "rollout ever used by month 6 <= 75%", 0.75 - ever6, ever6)
    m12 = np.stack([at("turnaround" if s == "pilot" else f"champions_{s}", 12) for s in CHAMPION_STRATEGIES])
    spread = m12.max(axis=0) - m12.min(axis=0)
    add("P7", "champion strategies differ by >= 2 pts at month 12", spread - 0.02, spread)
    return out


def direction_holds(c: Check) -> np.ndarray:
    """P8: whether a check's direction holds (the sign, not the size), per parameter set."""
    if c.pattern == "P2" or "costs" in c.name or "beats" in c.name or "waves beat" in c.name:
        return c.value > 0
    if "no lower" in c.name:
        return c.value >= -0.005
    return c.margin >= 0


def perturbed(names: list[str], draws: int, spread: float, seed: int) -> Behaviour:
    """P8: `draws` parameter sets, each named parameter times U(1 - spread, 1 + spread), jointly."""
    rng = np.random.default_rng(seed)
    base = Behaviour()
    factors = rng.uniform(1 - spread, 1 + spread, (draws, len(names)))
    values = np.array([float(getattr(base, n)) for n in names]) * factors
    return base.with_draws(names, values)


def robustness(names: list[str], draws: int = 100, reps: int = 6, spread: float = 0.2,
               seed: int = 8) -> dict[str, float]:
    """P8: the share of perturbed draws in which each P2-P5 check's direction holds."""
    o = pattern_outcomes(perturbed(names, draws, spread, seed), draws, reps, seed=seed * 11)
    return {c.name: float(direction_holds(c).mean()) for c in checks(o)
            if c.pattern in ("P2", "P3", "P4", "P5") and "stays below" not in c.name}


def loss(cs: list[Check], safety: float = 0.0) -> np.ndarray:
    """Sum of squared shortfalls (in points) over every check, per parameter set.

    `safety` (a share, e.g. 0.005 for half a point) asks each check to hold with that much to spare,
    so that a fit found with few replicates still holds with many.
    """
    total = np.zeros_like(cs[0].margin)
    for c in cs:
        total += np.minimum((c.margin - safety) * 100.0, 0.0) ** 2
    return total
