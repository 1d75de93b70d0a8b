"""The adoption rules again, one technician at a time: the per-agent Mesa oracle of model/engine.py.

The engine runs every rule on (replicates, technicians) arrays. This module states the same rules
the way a Mesa modeller would write them from the rulebook: a ``Technician`` agent with scalar
attributes and methods named for what it does each week, and an ``OracleModel`` that runs ONE
replicate organisation. An ensemble of R replicates is R models with different seeds.

It deliberately shares no code with model/engine.py (constants are copied, not imported), so an
error in the engine's vectorisation (a wrong mask, a stale array, an axis mix-up) shows up as a
disagreement between the two ensembles' means (tests/model/test_oracle_agreement.py).

The week, in the engine's order:

1. waves that are due open; their technicians get the onboarding training (not the pilot's);
2. champions queued by an intervention are picked and commit to the tool;
3. a training wave trains up to ``training_per_week`` untrained live technicians;
4. transparency sessions ease fear and build trust in every live technician;
5. champions coach non-users, own facility first, spare capacity spilling over to other facilities;
6. each technician sees the share of their neighbours who used the tool LAST week;
7. each weighs the week's utility (friction foreseen by non-users, last week's false alarms,
   habit for last week's users) and decides whether to use the tool;
8. users get the week's alerts, some of them false: Binomial(alerts_per_week, 1 - precision);
9. users' trust moves with hits and false alarms;
10. use builds competence and eases fear, disuse lets competence decay;
11. the go/no-go gate counts the weeks the live facilities' mean active share met the next gate.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import replace
from functools import partial
from statistics import NormalDist

import mesa
import numpy as np

from model.behaviour import Behaviour
from model.population import Population, build_population
from model.scenario import KPIS, Champions, Intervention, Levers, Scenario, Wave

# Copied from the rulebook (the engine's module constants), not imported.
VOLUNTEER_Z = 1.0
PILOT_TRUST = 0.8
PILOT_COMPETENCE = 0.8
METRICS = ("active_share", "active_share_live", "lapsed_share", "ever_share", "mean_trust",
           "mean_competence", "depth")
_STANDARD_NORMAL = NormalDist()


def _logistic(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _friction_effort(levers: Levers, p: Behaviour) -> float:
    """Effort of the tool's friction in utility units; a tickets-closed KPI amplifies it."""
    amplifier = 1.0 + p.kpi_friction_amplifier if KPIS[levers.kpi] < 0 else 1.0
    return float(p.w_friction * levers.friction_minutes / 5.0 * amplifier)


def _trained(competence: float, hours: float, mode: str, p: Behaviour) -> float:
    """Competence after `hours` of training: diminishing returns towards 1."""
    efficacy = 1.0 if mode == "hands_on" else p.video_efficacy
    return competence + (1.0 - competence) * (1.0 - math.exp(-p.learn_rate_per_hour * efficacy * hours))


class Technician(mesa.Agent):
    """One technician: innovativeness, threshold, trust, fear, competence and use of the tool."""

    def __init__(self, model: OracleModel, index: int, facility: int, pilot: bool, volunteer: bool):
        super().__init__(model)
        p = model.p
        org = model.spec.organisation
        self.index = index
        self.facility = facility
        self.pilot = pilot
        self.neighbours: list[Technician] = []
        # Innovativeness: standard normal, or a volunteer's (innovators and early adopters: z > 1).
        self.z = self._draw_volunteer_z() if volunteer else float(self.rng.standard_normal())
        # Granovetter threshold: the more innovative need fewer using peers.
        self.threshold = min(max(p.threshold_mean - p.threshold_sd * self.z, 0.0), 1.0)
        # Trust and fear are logit-normal: P(trust < 1/2) = distrust_share, P(fear > 1/2) = fear_share.
        trust_centre = -p.trust_sd * _STANDARD_NORMAL.inv_cdf(org.distrust_share)
        fear_centre = p.fear_sd * _STANDARD_NORMAL.inv_cdf(org.fear_share)
        self.trust = _logistic(float(self.rng.normal(trust_centre, p.trust_sd)))
        self.fear = _logistic(float(self.rng.normal(fear_centre, p.fear_sd)))
        self.competence = 0.0
        self.active = False
        if pilot:  # the pilot's volunteers: trained, trusting, already using it
            self.trust = max(self.trust, PILOT_TRUST)
            self.competence = PILOT_COMPETENCE
            self.active = True
        self.ever = self.active
        self.champion = False
        self.wave_trained = False
        self.coached = False
        self.exposure = 0.0
        self.last_false_alarms = 0

    def _draw_volunteer_z(self) -> float:
        """Innovativeness of a volunteer: a standard normal draw above VOLUNTEER_Z (by rejection)."""
        while True:
            z = float(self.rng.standard_normal())
            if z > VOLUNTEER_Z:
                return z

    # ------------------------------------------------------------------ where I stand
    @property
    def live(self) -> bool:
        """Whether my facility has gone live."""
        return bool(self.model.live_facilities[self.facility])

    @property
    def lapsed(self) -> bool:
        """Used the tool once, not this week."""
        return self.ever and not self.active

    def depth(self) -> float:
        """Share of my work orders I do with the tool while I use it."""
        p = self.model.p
        y = (p.depth_base + p.w_competence * (self.competence - 0.5) + p.w_trust * (self.trust - 0.5)
             - self.model.effort)
        return _logistic(y)

    # ------------------------------------------------------------------ things done to me
    def train(self, hours: float, mode: str) -> None:
        """Sit a training (onboarding or a training wave)."""
        self.competence = _trained(self.competence, hours, mode, self.model.p)

    def become_champion(self) -> None:
        """Commit to the tool as a champion: use it, trust it and know it like the pilot did."""
        self.champion = True
        self.active = True
        self.ever = True
        self.trust = max(self.trust, PILOT_TRUST)
        self.competence = max(self.competence, PILOT_COMPETENCE)

    def attend_transparency_session(self) -> None:
        """Seeing how the AI works eases fear and builds trust (live technicians only)."""
        if not self.live:
            return
        p, t = self.model.p, self.model.levers.transparency
        self.fear *= 1.0 - p.transparency_fear_reduction * t
        self.trust += p.transparency_trust_gain * t * (1.0 - self.trust)

    def be_coached(self) -> None:
        """A champion's session: more trust and competence, less fear."""
        p = self.model.p
        self.coached = True
        self.trust += p.coach_trust_gain * (1.0 - self.trust)
        self.competence += p.coach_competence_gain * (1.0 - self.competence)
        self.fear *= 1.0 - p.coach_fear_reduction

    # ------------------------------------------------------------------ my week
    def look_at_peers(self) -> None:
        """Share of my neighbours who used the tool last week (before anyone decides this week)."""
        n = len(self.neighbours)
        self.exposure = sum(peer.active for peer in self.neighbours) / n if n else 0.0

    def utility(self) -> float:
        """How worthwhile using the tool looks this week (logit scale), before habit."""
        p, lv = self.model.p, self.model.levers
        # Non-users only foresee part of the friction; users feel all of it.
        felt = 1.0 if self.active else p.friction_foresight
        return float(p.base_utility
                + p.w_innovativeness * self.z
                + p.w_trust * (self.trust - 0.5)
                + p.w_competence * self.competence
                + p.w_support * lv.support
                - self.model.effort * felt
                - p.false_alarm_shock * self.last_false_alarms
                + p.w_social * (self.exposure - self.threshold)
                + p.w_norm * self.model.norm
                + p.w_incentive * KPIS[lv.kpi]
                - p.w_fear * self.fear
                + p.w_coached * self.coached)

    def decide(self) -> None:
        """Use the tool this week? Champions always do; last week's users add habit."""
        if not self.live:
            self.active = False
            return
        if self.champion:
            self.active = True
        else:
            x = self.utility() + (self.model.p.habit if self.active else 0.0)
            self.active = self.random.random() < _logistic(x)
        self.ever = self.ever or self.active

    def experience_alerts(self) -> None:
        """Users get the week's alerts; hits build trust, false alarms (softened by transparency) cost it."""
        if not self.active:
            self.last_false_alarms = 0
            return
        p, lv = self.model.p, self.model.levers
        alerts = lv.alerts_per_week
        n_false = int(self.rng.binomial(alerts, 1.0 - lv.alert_precision)) if alerts else 0
        self.last_false_alarms = n_false
        loss = p.trust_loss_false_alarm * (1.0 - p.transparency_softening * lv.transparency)
        trust = (self.trust + p.trust_gain_hit * (alerts - n_false) * (1.0 - self.trust)
                 - loss * n_false * self.trust)
        self.trust = min(max(trust, 0.0), 1.0)

    def practise(self) -> None:
        """Use builds competence and eases fear; a live non-user's competence decays."""
        p = self.model.p
        if self.active:
            self.competence += p.competence_gain_use * (1.0 - self.competence)
            self.fear *= 1.0 - p.fear_reduction_use
        elif self.live:
            self.competence -= p.competence_decay * self.competence


class OracleModel(mesa.Model):
    """One replicate organisation of technicians adopting the tool, one agent per technician.

    Args:
        scenario: the validated scenario (organisation, levers, calendar, behaviour).
        rng: seed or generator; all randomness goes through `self.rng` / `self.random`.
        population: the network, facilities and pilot flags (built from the scenario if None).
        behaviour: overrides the scenario's behaviour (scalar values only).
    """

    def __init__(self, scenario: Scenario, *, rng: int | np.random.Generator | None = None,
                 population: Population | None = None, behaviour: Behaviour | None = None):
        super().__init__(rng=rng)
        self.spec = scenario  # Mesa's `self.scenario` is its own rng bookkeeping
        self.p = behaviour or scenario.behaviour
        self.levers = scenario.levers
        self.population = population or build_population(scenario.organisation, self.rng)
        pop = self.population
        self.n_facilities = pop.n_facilities
        self.live_facilities = [False] * pop.n_facilities
        self.waves = scenario.waves or (Wave(facilities=tuple(range(pop.n_facilities))),)
        self.wave_open_week = [0] * len(self.waves)
        self.gate_streak = 0
        self.pending_champions: list[Champions] = []
        self.week = 0
        self.effort = _friction_effort(self.levers, self.p)

        volunteers = scenario.organisation.volunteers
        self.technicians = [
            Technician(self, i, int(pop.facility[i]), bool(pop.pilot[i]), volunteers or bool(pop.pilot[i]))
            for i in range(pop.size)
        ]
        adjacency = pop.adjacency.tocsr()
        for tech in self.technicians:
            row = adjacency.indices[adjacency.indptr[tech.index]:adjacency.indptr[tech.index + 1]]
            tech.neighbours = [self.technicians[j] for j in row]
        self.facilities: list[list[Technician]] = [[] for _ in range(pop.n_facilities)]
        for tech in self.technicians:
            self.facilities[tech.facility].append(tech)

        self._calendar: list[partial[None]] = []  # strong references: Mesa's events hold weak ones
        if scenario.champions is not None:
            self._schedule(Intervention(week=1, champions=scenario.champions, label="champions"))
        for intervention in scenario.interventions:
            self._schedule(intervention)

        self.datacollector = mesa.DataCollector(model_reporters={
            "active_share": self.active_share,
            "active_share_live": self.active_share_live,
            "lapsed_share": self.lapsed_share,
            "ever_share": self.ever_share,
            "mean_trust": self.mean_trust,
            "mean_competence": self.mean_competence,
            "depth": self.depth,
        })

    # ------------------------------------------------------------------ calendar
    def _schedule(self, intervention: Intervention) -> None:
        action = partial(self.apply_intervention, intervention)
        self._calendar.append(action)
        self.schedule_event(action, at=intervention.week - 0.5)  # in force for its whole week

    def apply_intervention(self, intervention: Intervention) -> None:
        """Put an intervention's levers in force; its champions start at the next step."""
        if intervention.levers:
            self.levers = replace(self.levers, **intervention.levers)
        if intervention.champions is not None:
            self.pending_champions.append(intervention.champions)

    # ------------------------------------------------------------------ the week
    def step(self) -> None:
        """One week of the rollout, in the rulebook's order, then collect."""
        self.week += 1
        self.effort = _friction_effort(self.levers, self.p)  # this week's levers
        self.open_waves()
        while self.pending_champions:
            self.launch_champions(self.pending_champions.pop(0))
        if self.levers.training_per_week > 0:
            self.run_training_wave()
        if self.levers.transparency > 0:
            self.agents.do("attend_transparency_session")
        for tech in self.technicians:
            tech.coached = False
        self.coach_peers()
        live = [t for t in self.technicians if t.live]
        self.norm = sum(t.active for t in self.technicians) / max(len(live), 1)
        self.agents.do("look_at_peers")  # everyone looks before anyone decides
        self.agents.do("decide")
        self.agents.do("experience_alerts")
        self.agents.do("practise")
        self.count_gate_weeks()
        self.datacollector.collect(self)

    def open_waves(self) -> None:
        """Open every wave that is due (and whose gate has held long enough); onboard its people."""
        onboarding = self.spec.onboarding
        for w, wave in enumerate(self.waves):
            if self.wave_open_week[w] or self.week < wave.week:
                continue
            if w > 0 and wave.gate is not None and self.gate_streak < wave.gate.weeks:
                continue
            self.wave_open_week[w] = self.week
            self.gate_streak = 0
            for f in wave.facilities:
                if self.live_facilities[f]:
                    continue
                self.live_facilities[f] = True
                for tech in self.facilities[f]:
                    if not tech.pilot:
                        tech.train(onboarding.hours, onboarding.mode)

    def launch_champions(self, champions: Champions) -> None:
        """Pick `count` live non-champions by the strategy's ranking; ties broken at random.

        pilot: the pilot's volunteers, then the best connected; degree: the best connected; trust:
        the most trusting now; facility: each facility's best connected first, then its second...;
        random: anyone. (The engine breaks ties with a U(0, 1e-3) jitter added to the score, which
        for `trust` also reorders technicians whose trust differs by less than 1e-3.)
        """
        candidates = [t for t in self.technicians if t.live and not t.champion]
        if champions.count == 0 or not candidates:
            return
        degree = {t: len(t.neighbours) for t in self.technicians}
        rank = {}  # 0 for each facility's best-connected technician (ties: lower index first)
        for members in self.facilities:
            for r, t in enumerate(sorted(members, key=lambda t: (-degree[t], t.index))):
                rank[t] = r
        key = {
            "pilot": lambda t: (t.pilot, degree[t]),
            "degree": lambda t: (degree[t],),
            "trust": lambda t: (t.trust,),
            "random": lambda t: (),
            "facility": lambda t: (-rank[t], degree[t]),
        }[champions.strategy]
        self.random.shuffle(candidates)  # random tie-break: the sort below is stable
        candidates.sort(key=key, reverse=True)
        for tech in candidates[:champions.count]:
            tech.become_champion()

    def run_training_wave(self) -> None:
        """Train `training_per_week` live technicians not yet trained by a wave, picked at random."""
        lv = self.levers
        eligible = [t for t in self.technicians if t.live and not t.wave_trained]
        for tech in self.random.sample(eligible, min(lv.training_per_week, len(eligible))):
            tech.wave_trained = True
            tech.train(lv.training_hours, lv.training_mode)

    def coach_peers(self) -> None:
        """Each live champion coaches `champion_capacity` non-users a week, own facility first.

        A facility's coaching capacity first covers its own non-users; the capacity left over is
        shared among the other facilities' uncovered non-users in proportion to how many they have.
        Each non-user is coached with probability (capacity allotted to the facility) / (non-users).
        """
        capacity_each = self.levers.champion_capacity
        champions = [sum(t.champion and t.live for t in members) for members in self.facilities]
        if capacity_each <= 0 or not any(champions):
            return
        targets = [[t for t in members if t.live and not t.active and not t.champion]
                   for members in self.facilities]
        capacity = [c * capacity_each for c in champions]
        own = [min(c, len(tg)) for c, tg in zip(capacity, targets, strict=True)]
        spare = sum(c - o for c, o in zip(capacity, own, strict=True))
        uncovered = [len(tg) - o for tg, o in zip(targets, own, strict=True)]
        total = sum(uncovered)
        for f, facility_targets in enumerate(targets):
            if not facility_targets:
                continue
            extra = min(uncovered[f], spare * uncovered[f] / total) if total > 0 else 0.0
            chance = (own[f] + extra) / len(facility_targets)
            for tech in facility_targets:
                if self.random.random() < chance:
                    tech.be_coached()

    def count_gate_weeks(self) -> None:
        """Count the consecutive weeks the live facilities' mean active share met the next gate."""
        if len(self.waves) < 2:
            return
        unopened = [w for w in range(1, len(self.waves)) if not self.wave_open_week[w]]
        if not unopened:
            self.gate_streak = 0
            return
        gate = self.waves[unopened[0]].gate
        need = gate.min_active_share if gate is not None else 0.0
        shares = [sum(t.active for t in members) / max(len(members), 1)
                  for f, members in enumerate(self.facilities) if self.live_facilities[f]]
        mean_live = sum(shares) / len(shares) if shares else 0.0
        self.gate_streak = self.gate_streak + 1 if mean_live >= need else 0

    # ------------------------------------------------------------------ observations
    def active_share(self) -> float:
        """Share of all technicians using the tool this week."""
        return sum(t.active for t in self.technicians) / len(self.technicians)

    def active_share_live(self) -> float:
        """Share of live technicians using the tool this week."""
        live = sum(t.live for t in self.technicians)
        return sum(t.active for t in self.technicians) / live if live else 0.0

    def lapsed_share(self) -> float:
        """Share of all technicians who used the tool once but not this week."""
        return sum(t.lapsed for t in self.technicians) / len(self.technicians)

    def ever_share(self) -> float:
        """Share of all technicians who have used the tool at least once."""
        return sum(t.ever for t in self.technicians) / len(self.technicians)

    def mean_trust(self) -> float:
        """Mean trust over all technicians."""
        return sum(t.trust for t in self.technicians) / len(self.technicians)

    def mean_competence(self) -> float:
        """Mean competence over all technicians."""
        return sum(t.competence for t in self.technicians) / len(self.technicians)

    def depth(self) -> float:
        """Mean share of work orders done with the tool, over live technicians (non-users: 0)."""
        live = sum(t.live for t in self.technicians)
        return sum(t.depth() for t in self.technicians if t.active) / live if live else 0.0


def oracle_replicates(scenario: Scenario, runs: int, weeks: int | None = None, seed: int = 0,
                      population: Population | None = None,
                      behaviour: Behaviour | None = None) -> Iterator[OracleModel]:
    """Run `runs` independent OracleModel replicates for `weeks` weeks, yielding each when done.

    Replicate r is seeded with the r-th integer of ``SeedSequence(seed)``. All replicates share
    `population` (built once from the scenario with ``default_rng(seed)`` if None).
    """
    weeks = scenario.weeks if weeks is None else weeks
    if population is None:
        population = build_population(scenario.organisation, np.random.default_rng(seed))
    for s in np.random.SeedSequence(seed).generate_state(runs):
        model = OracleModel(scenario, rng=int(s), population=population, behaviour=behaviour)
        model.run_for(weeks)
        yield model


def run_oracle_ensemble(scenario: Scenario, runs: int, weeks: int | None = None, seed: int = 0,
                        population: Population | None = None,
                        behaviour: Behaviour | None = None) -> dict[str, np.ndarray]:
    """An ensemble of `runs` oracle replicates (see `oracle_replicates`).

    Returns:
        metric -> (weeks, runs) array of the weekly collected values (METRICS).
    """
    columns = [model.datacollector.model_vars
               for model in oracle_replicates(scenario, runs, weeks, seed, population, behaviour)]
    return {m: np.column_stack([np.asarray(c[m], dtype=float) for c in columns]) for m in METRICS}
