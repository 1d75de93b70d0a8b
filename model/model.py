"""The Mesa model: rng, weekly step, the intervention calendar as scheduled events, DataCollector."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

import mesa
import numpy as np

from model.agents import Technician
from model.behaviour import Behaviour
from model.engine import Engine, LazyShares, outcome_shares
from model.population import Population, build_population
from model.scenario import Intervention, Scenario

OVERALL_METRICS = ("active_share", "active_share_live", "depth", "lapsed_share", "mean_trust",
                   "mean_competence", "downtime_reduction", "ever_share", "weekly_churn", "regular_share",
                   "rejected_share")


class AdoptionModel(mesa.Model):
    """Technicians of one organisation adopting a tool, as R replicates run side by side.

    Args:
        scenario: the validated scenario (organisation, levers, calendar, behaviour).
        replicates: how many replicate organisations to run at once (an ensemble).
        rng: seed or generator; all randomness goes through `self.rng`.
        behaviour: overrides the scenario's behaviour; fields may hold one value per replicate.
        population: a pre-built population (network) to reuse; built from the scenario if None.
        record_facilities: collect per-facility outcomes (False: overall only, for calibration).
    """

    def __init__(self, scenario: Scenario, *, replicates: int = 1,
                 rng: int | np.random.Generator | None = None, behaviour: Behaviour | None = None,
                 population: Population | None = None, record_facilities: bool = True):
        super().__init__(rng=rng)
        if replicates < 1:
            raise ValueError(f"replicates = {replicates}: run at least one replicate")
        self.spec = scenario  # Mesa's own `self.scenario` holds its rng bookkeeping
        self.population = population or build_population(scenario.organisation, self.rng)
        self.engine = Engine(self.population, scenario, replicates, self.rng, behaviour,
                             record_facilities)
        self._calendar: list[Callable[[], None]] = []  # strong references: Mesa's events hold weak ones
        if scenario.champions is not None:
            self._schedule(Intervention(week=1, champions=scenario.champions, label="champions"))
        for intervention in scenario.interventions:
            self._schedule(intervention)
        self.datacollector = mesa.DataCollector(model_reporters={"facility_sums": self.engine.observe})

    def _schedule(self, intervention: Intervention) -> None:
        action = partial(self.apply_intervention, intervention)
        self._calendar.append(action)
        # Half a week before its week's step: the change is in force for that whole week.
        self.schedule_event(action, at=intervention.week - 0.5)

    def apply_intervention(self, intervention: Intervention) -> None:
        """Put an intervention's levers in force and launch its champions."""
        if intervention.levers:
            self.engine.set_levers(**intervention.levers)
        if intervention.champions is not None:
            self.engine.queue_champions(intervention.champions)

    def step(self) -> None:
        """One week: open waves, train, coach, decide, experience; then collect."""
        self.engine.step()
        self.datacollector.collect(self)

    def outcomes(self, scope: str = "overall") -> Mapping[str, np.ndarray]:
        """Collected outcomes stacked over weeks: (W, R) overall or (W, R, F) per facility.

        Per facility they are computed when first read (LazyShares).
        """
        sums = np.stack(self.datacollector.model_vars["facility_sums"])
        sizes = self.population.facility_sizes
        if not self.engine.record_facilities:
            sizes = np.array([sizes.sum()])
        return outcome_shares(sums, sizes, scope) if scope == "overall" else LazyShares(sums, sizes, scope)

    @property
    def facility_names(self) -> tuple[str, ...]:
        """Names of the facilities outcomes are recorded for."""
        return self.population.facility_names if self.engine.record_facilities else ("all",)

    def wave_open_weeks(self) -> np.ndarray:
        """Week each wave went live, per replicate (R, waves); 0 if it never opened."""
        return self.engine.wave_open_week.copy()

    def technicians(self, replicate: int = 0) -> list[Technician]:
        """Mesa agents viewing one replicate's technicians (created on demand)."""
        if not hasattr(self, "_agents_cache"):
            self._agents_cache: dict[int, list[Technician]] = {}
        if replicate not in self._agents_cache:
            self._agents_cache[replicate] = [Technician(self, i, replicate)
                                             for i in range(self.population.size)]
        return self._agents_cache[replicate]
