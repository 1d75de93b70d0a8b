"""What-ifs over what we do not know: whose posterior a simulation runs over, and running it.

`chasm simulate SCENARIO --posterior [FACILITY|all|seed]` and the simulator's switch "include what
we don't know about the technicians" both come here. The posterior is the stored organisation's
latest calibration (all facilities, or one facility's own), or the seed case's (`model.seedcase`)
when the organisation has none. No streamlit and no typer here.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import Engine

from app.services.calibration import stored_calibration
from app.services.settings import get_settings
from app.services.words import points, share
from db import forecasts as store
from db.queries import facilities
from model.abc import Posterior
from model.population import Population
from model.scenario import Scenario
from model.seedcase import seed_posterior
from model.whatif import PosteriorWhatIf, posterior_whatif

AUTO = "auto"
"""The stored organisation's posterior when it has one, else the seed case's."""
ALL = "all"
SEED = "seed"
SEED_WORDS = "the seed case (41% in month 1, 38% in month 3, 73% by month 18)"


class WhatIfError(ValueError):
    """A posterior that cannot be had: no calibration stored for that scope, an unknown facility."""


@dataclass(frozen=True)
class Source:
    """A posterior and whose it is, in words."""

    posterior: Posterior
    words: str


def _stored(engine: Engine, facility: str | None) -> Source | None:
    row = store.latest_calibration(engine, facility)
    if row is None:
        return None
    scope = f"facility {facility}" if facility else "all facilities"
    return Source(stored_calibration(row).posterior,
                  f"the stored organisation's calibration ({scope}, {len(row['observed'])} weeks of data)")


def store_exists() -> bool:
    """Whether there is a store to look in, without creating one (a fresh SQLite file would be)."""
    settings = get_settings().store
    return settings.database_url is not None or Path(settings.data_dir / "chasm.db").exists()


def needs_store(which: str) -> bool:
    """Whether `posterior_source(which, ...)` reads the store (AUTO only when there is one)."""
    return which != SEED and (which != AUTO or store_exists())


def posterior_source(which: str, engine: Engine | None) -> Source:
    """The posterior `--posterior` names: AUTO, ALL, SEED or a stored facility's name.

    `engine`: the store's, or None when `needs_store(which)` is False.

    Raises:
        WhatIfError: no calibration is stored for that scope, or no facility has that name.
    """
    if which == SEED:
        return Source(seed_posterior(), SEED_WORDS)
    if which == AUTO:
        found = _stored(engine, None) if engine is not None else None
        return found or Source(seed_posterior(), SEED_WORDS)
    if engine is None:
        raise WhatIfError(f"--posterior {which}: there is no store to read a calibration from")
    if which == ALL:
        found = _stored(engine, None)
        if found is None:
            raise WhatIfError("--posterior all: no calibration is stored for the whole organisation; run "
                              "`chasm calibrate` first, or use --posterior seed for the seed case's")
        return found
    names = sorted(facilities(engine)["facility"])
    if which not in names:
        shown = ", ".join(names[:20]) + (", ..." if len(names) > 20 else "")
        raise WhatIfError(f"--posterior {shlex.quote(which)}: no stored facility has that name"
                          + (f" (the store has {shown})" if names else " (the store has none)")
                          + "; or give all, or seed")
    found = _stored(engine, which)
    if found is None:
        raise WhatIfError(f"--posterior {shlex.quote(which)}: no calibration is stored for facility {which}; "
                          f"run `chasm calibrate --facility {shlex.quote(which)}` first")
    return found


def simulate_over_posterior(scenario: Scenario, source: Source, *, worlds: int, weeks: int | None = None,
                            seed: int = 0, population: Population | None = None,
                            effects_from: int = 1) -> PosteriorWhatIf:
    """The scenario over `worlds` parameter sets drawn from the posterior by weight (seeded);
    the effects of the interventions from week `effects_from` on (today's organisation: the new ones)."""
    thetas = source.posterior.draw(worlds, np.random.default_rng(seed))
    behaviour = scenario.behaviour.with_draws(source.posterior.names, thetas)
    return posterior_whatif(scenario, behaviour, worlds, source=source.words, weeks=weeks, seed=seed,
                            population=population, effects_from=effects_from)


def effect_table(result: PosteriorWhatIf, when: Callable[[int], str]) -> list[dict[str, str]]:
    """One row per intervention, the largest effect first, as people read it: what, from when, its
    effect on the active share at the outcome week (mean and 90% interval, in points) and how often
    it helps. `when` writes a week (a date for today's organisation, "week 26" for an example)."""
    rows = []
    for effect in sorted(result.effects, key=lambda e: -e.stats()["mean"]):
        s = effect.stats()
        rows.append({"Intervention": effect.label, "From": when(effect.week),
                     f"Effect by {when(result.week)}": points(s["mean"]),
                     "Plausible range (90%)": f"{points(s['p05'])} to {points(s['p95'])}",
                     "Helps in": f"{share(s['helps_share'])} of plausible worlds"})
    return rows


def comparison_sentences(result: PosteriorWhatIf, *, limit: int = 3) -> list[str]:
    """The likeliest "A beats B" pairs in words: "Champions beat CMMS embedding in 81% of plausible
    worlds" (at most `limit`)."""
    return [f"{result.effects[a].label} beats {result.effects[b].label} in {share(p)} of plausible worlds"
            for a, b, p in result.comparisons()[:limit]]
