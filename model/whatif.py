"""What-ifs over what we do not know: each intervention's effect across a posterior, and which one wins.

One parameter set answers "what happens if" with random noise only. Over a posterior (a calibration's
weighted sample: the stored organisation's or the seed case's, `model.seedcase`) each replicate is
one plausible world: one parameter set drawn by weight, with its own chance. Then each intervention
of the scenario gets an effect per world, by leaving it out:

    effect_i(k) = A_full(k, t) - A_without_i(k, t)

the active share at the outcome week t with the whole calendar minus the share with intervention i
left out, in world k, the rest of the calendar kept (its contribution given everything else planned).
Every variant runs the same worlds with the same seed, so the difference is paired (common random
numbers): most of the chance cancels and what remains is what we do not know. Reported per
intervention: the mean and the 90% interval of effect_i over the worlds, and the share of worlds where
it helps; per pair, the share of worlds where one's effect is larger than the other's
(P(A beats B)).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from itertools import combinations
from typing import Any

import numpy as np

from model.behaviour import Behaviour
from model.ensemble import EnsembleResult, run_ensemble
from model.population import Population
from model.scenario import Intervention, Scenario

SCHEMA_VERSION = 1


def describe_intervention(iv: Intervention) -> str:
    """An intervention in words: its label, else what it changes."""
    if iv.label:
        return iv.label
    if iv.champions is not None:
        return f"{iv.champions.count} champions"
    return "Change of " + ", ".join(k.replace("_", " ") for k in iv.levers) if iv.levers else "Intervention"


@dataclass(frozen=True)
class LeverEffect:
    """One intervention's effect on the active share at the outcome week, in each plausible world."""

    label: str
    week: int
    """The week the intervention starts."""
    draws: np.ndarray
    """(K,) share with it minus share without it."""

    def stats(self) -> dict[str, float]:
        """Mean, median and 90% interval (shares), and the share of worlds where it helps."""
        p05, p50, p95 = np.percentile(self.draws, [5, 50, 95])
        return {"mean": float(self.draws.mean()), "p05": float(p05), "p50": float(p50), "p95": float(p95),
                "helps_share": float(np.mean(self.draws > 0))}


@dataclass(frozen=True)
class PosteriorWhatIf:
    """A scenario run over a posterior, with each intervention's effect."""

    result: EnsembleResult
    """The whole scenario, one replicate per plausible world."""
    week: int
    """The outcome week the effects are read at."""
    effects: tuple[LeverEffect, ...]
    source: str
    """Whose posterior, in words ('the seed case', 'the stored organisation (all facilities)')."""

    def beats(self, a: int, b: int) -> float:
        """The share of worlds where effect a is larger than effect b (ties count half)."""
        da, db = self.effects[a].draws, self.effects[b].draws
        return float(np.mean(da > db) + 0.5 * np.mean(da == db))

    def comparisons(self) -> list[tuple[int, int, float]]:
        """Every pair, oriented so that the first wins in at least half the worlds, likeliest first."""
        pairs = []
        for a, b in combinations(range(len(self.effects)), 2):
            p = self.beats(a, b)
            pairs.append((a, b, p) if p >= 0.5 else (b, a, 1.0 - p))
        return sorted(pairs, key=lambda t: -t[2])

    def to_json(self) -> dict[str, Any]:
        """The `posterior` part of `chasm simulate --posterior --json`."""
        share = self.result.overall["active_share"][self.week - 1]
        p05, p50, p95 = np.percentile(share, [5, 50, 95])
        return {
            "schema_version": SCHEMA_VERSION, "source": self.source, "worlds": self.result.runs,
            "week": self.week,
            "active_share": {"mean": float(share.mean()), "p05": float(p05), "p50": float(p50),
                             "p95": float(p95)},
            "lever_effects": [{"lever": e.label, "week": e.week, **e.stats()} for e in self.effects],
            "comparisons": [{"a": self.effects[a].label, "b": self.effects[b].label,
                             "probability_a_beats_b": p} for a, b, p in self.comparisons()],
        }


def without(scenario: Scenario, index: int) -> Scenario:
    """The scenario with its `index`-th intervention left out."""
    ivs = scenario.interventions
    return replace(scenario, interventions=ivs[:index] + ivs[index + 1:])


def posterior_whatif(scenario: Scenario, behaviour: Behaviour, worlds: int, *, source: str,
                     weeks: int | None = None, seed: int = 0,
                     population: Population | None = None, effects_from: int = 1) -> PosteriorWhatIf:
    """Run the scenario, and once per intervention without it, over the same plausible worlds.

    Args:
        scenario: the validated scenario.
        behaviour: one value per world for each posterior parameter (`Behaviour.with_draws`).
        worlds: how many worlds (replicates); `behaviour`'s arrays have this length.
        source: whose posterior, in words.
        weeks: weeks to simulate (the outcome week is the last); the scenario's own if None.
        seed: the shared seed of every variant.
        population: a network to reuse (an edge list).
        effects_from: read the effects of the interventions from this week on only (e.g. a plan's,
            not the recorded history's).
    """
    weeks = scenario.weeks if weeks is None else weeks

    def run(s: Scenario) -> EnsembleResult:
        return run_ensemble(s, runs=worlds, weeks=weeks, seed=seed, behaviour=behaviour,
                            population=population)

    full = run(scenario)
    at = full.overall["active_share"][weeks - 1]
    effects = []
    for i, iv in enumerate(scenario.interventions):
        if iv.week > weeks or iv.week < effects_from:
            continue  # starts after the outcome week (no effect to read), or not asked for
        rest = run_ensemble(without(scenario, i), runs=worlds, weeks=weeks, seed=seed, behaviour=behaviour,
                            population=population, record_facilities=False)
        effects.append(LeverEffect(describe_intervention(iv), iv.week,
                                   at - rest.overall["active_share"][weeks - 1]))
    return PosteriorWhatIf(full, weeks, tuple(effects), source)
