"""The adoption rules again, one technician at a time: the per-agent Mesa oracle of model/engine.py.

The engine runs every rule on (replicates, technicians) arrays. This module states the same rules
the way a Mesa modeller would write them from the rulebook: a ``Technician`` agent with scalar
attributes (adoption status, habit, the evidence behind trust, fear, competence, the last four
weeks of use...) and methods named for what it does each week, and an ``OracleModel`` that runs ONE
replicate organisation with its own ``rng``, the intervention calendar as scheduled Mesa events and
a ``mesa.DataCollector``. An ensemble of R replicates is R models with different seeds.

It deliberately shares no code with model/engine.py: constants are copied, not imported; the
network is read from ``Population.edges()`` into neighbour lists; parameters are read as floats by
attribute; every draw is a scalar draw of the model's own ``random``. So an error in the engine's
vectorisation (a wrong mask, a stale array, an axis mix-up) shows up as a disagreement between the
two ensembles' means (tests/model/test_oracle_agreement.py). The draws are not the engine's, so the
agreement is statistical.

The week, in the engine's order (E-labels as in the engine's comments):

1. waves that are due open (their gate held long enough); what the earlier waves taught removes a
   share of the friction (E15); the new facilities' technicians get the onboarding training (E5),
   except the pilot's; seconded champions are spread again over the live facilities (E10);
2. champions queued by an intervention are picked by their strategy and commit to the tool (E10);
3. a training wave trains up to ``training_per_week`` live technicians not yet wave-trained (E5);
4. transparency sessions ease fear and add evidence the AI can be read, in live technicians (E9);
5. champions coach the non-users of the facility they coach: there, ``champions x capacity``
   sessions are shared at random among the non-users (E10);
6. the support hours are shared by the live technicians still learning (not regular users) (E16);
7. each technician's trust is read from the evidence so far (E8), and each looks at the share of
   their neighbours who used the tool LAST week;
8. each weighs the week (utility E1, friction as lost hours under the KPI E2, inertia and habit
   E14, management's go-live push fading with a half-life of LAUNCH_HALF_LIFE weeks E13c) and, if
   they may decide this week (E13: last week's users; the coached and the trained; a rejecter only
   for a reason; anyone else now and then; everyone in the LAUNCH_WEEKS go-live weeks), decides; a
   trial can fail and turn into rejection (E13b); champions always use it; depth is set (E11);
9. users get the week's alerts, some false (E7), which add to the evidence (E8);
10. use builds competence and eases fear, disuse in a live facility lets competence decay (E5b, E9b);
11. the go/no-go gate counts the weeks the live facilities' mean active share met the next gate.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import fields, replace
from enum import Enum
from functools import partial
from statistics import NormalDist

import mesa
import numpy as np

from model.behaviour import Behaviour
from model.population import Population, build_population
from model.scenario import KPIS, Champions, Intervention, Levers, Scenario, Wave

# Copied from the rulebook (the engine's module constants), not imported.
VOLUNTEER_Z = 1.0  # volunteers: Rogers' innovators and early adopters, z > 1
PILOT_COMPETENCE = 0.8  # the pilot's volunteers, and what a champion commits to
PILOT_WEEKS = 12  # weeks of alerts and use the pilot's volunteers bring along
SUPPORT_HOURS_AT_FULL = 40.0  # hours a week the support lever gives at 1
SUPPORT_NEED_HOURS = 2.0  # hours a week a technician still learning needs
LAUNCH_WEEKS = 2  # go-live weeks in which every live technician is asked to use the tool
LAUNCH_HALF_LIFE = 6.0  # weeks: management's go-live push halves every six weeks
PUSH_FLOOR = 0.01  # the push stops once it has faded below this share everywhere
REGULAR_HABIT = 0.75  # habit from which a user counts as a regular user
REGULAR_WEEKS = 3  # a regular (in the outputs): used it in at least 3 of the last 4 weeks

METRICS = ("active_share", "active_share_live", "lapsed_share", "ever_share", "mean_trust",
           "mean_competence", "depth", "weekly_churn", "regular_share", "rejected_share")
"""What the DataCollector records each week, overall and per facility (as the engine's outputs)."""
FACILITY_SUFFIX = " by facility"
"""DataCollector column of a metric's per-facility values: f"{metric}{FACILITY_SUFFIX}"."""

_STANDARD_NORMAL = NormalDist()


class Status(Enum):
    """Where a technician stands with the tool (E13)."""

    NEVER_USED = "never used"
    TRYING = "trying it"
    REGULAR = "regular user"
    LAPSED = "lapsed"
    REJECTED = "rejected"


def _logistic(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def _trained(competence: float, hours: float, mode: str, p: Behaviour) -> float:
    """Competence after `hours` of training: diminishing returns towards 1 (E5)."""
    efficacy = 1.0 if mode == "hands_on" else p.video_efficacy
    return competence + (1.0 - competence) * (1.0 - math.exp(-p.learn_rate_per_hour * efficacy * hours))


def _scalar_behaviour(behaviour: Behaviour) -> Behaviour:
    """The behaviour with every field a Python float (the oracle runs one parameter set)."""
    values = {}
    for f in fields(behaviour):
        value = np.asarray(getattr(behaviour, f.name), dtype=float)
        if value.size != 1:
            raise ValueError(f"behaviour.{f.name}: the oracle runs one parameter set, "
                             f"got {value.size} values")
        values[f.name] = float(value.reshape(()))
    return replace(behaviour, **values)


class Technician(mesa.Agent):
    """One technician: who they are, where they stand with the tool, and their week."""

    def __init__(self, model: OracleModel, index: int, facility: int, pilot: bool, volunteer: bool):
        super().__init__(model)
        p, org, levers = model.p, model.spec.organisation, model.levers
        self.index = index
        self.facility = facility
        self.pilot = pilot
        self.neighbours: list[Technician] = []
        # E3: innovativeness, standard normal, or a volunteer's (innovators and early adopters: z > 1)
        self.z = self._draw_volunteer_z() if volunteer else self.random.gauss(0.0, 1.0)
        # E4: Granovetter threshold, lower for the more innovative
        self.threshold = min(max(p.threshold_mean - p.threshold_sd * self.z, 0.0), 1.0)
        # E6: disposition to trust and fear are logit-normal, P(D < 1/2) = distrust_share and
        # P(fear > 1/2) = fear_share
        trust_centre = -p.trust_sd * _STANDARD_NORMAL.inv_cdf(org.distrust_share)
        fear_centre = p.fear_sd * _STANDARD_NORMAL.inv_cdf(org.fear_share)
        self.disposition = _logistic(self.random.gauss(trust_centre, p.trust_sd))
        self.fear = _logistic(self.random.gauss(fear_centre, p.fear_sd))
        self.hits = 0.0  # E8: weighted correct alerts experienced (and other good evidence)
        self.alarms = 0.0  # E8: weighted false alarms experienced (and failed trials)
        self.competence = 0.0
        self.habit = 0.0
        self.status = Status.NEVER_USED
        self.using = False  # this week's use (until the decision: last week's)
        self.used_last_week = False
        self.history: deque[bool] = deque([False] * 4, maxlen=4)  # use in the last four weeks
        if pilot:  # the pilot's volunteers come with its weeks of alerts, training and use
            alerts = PILOT_WEEKS * levers.alerts_per_week
            self.hits = p.trust_gain_hit * alerts * levers.alert_precision
            self.alarms = p.trust_loss_false_alarm * alerts * (1.0 - levers.alert_precision)
            self.competence = PILOT_COMPETENCE
            self.habit = 1.0 - (1.0 - p.habit_gain) ** PILOT_WEEKS
            self.status = Status.REGULAR
            self.using = self.used_last_week = True
            self.history.extend([True] * 4)
        self.ever = self.using
        self.live = False  # has my facility gone live?
        self.live_since = 0  # the week it did
        self.trust = 0.0
        self.weigh_evidence()
        self.reason = False  # a rejecter's reason to think again: a lever changed (E13)
        self.champion = False
        self.home = facility  # the facility a champion coaches
        self.seconded = False  # a pilot champion moved to the live sites
        self.wave_trained = False
        self.coached = False  # this week
        self.trained = False  # this week (onboarding or a training wave)
        self.exposure = 0.0
        self.last_false_alarms = 0
        self.depth = 0.0

    def _draw_volunteer_z(self) -> float:
        """Innovativeness of a volunteer: a standard normal draw above VOLUNTEER_Z (by rejection)."""
        while True:
            z = self.random.gauss(0.0, 1.0)
            if z > VOLUNTEER_Z:
                return float(z)

    # ------------------------------------------------------------------ where I stand
    @property
    def launching(self) -> bool:
        """Whether my facility is in its go-live weeks (everyone is asked to use the tool)."""
        return self.live and self.model.week - self.live_since < LAUNCH_WEEKS

    @property
    def lapsed(self) -> bool:
        """Used the tool once, not this week."""
        return self.ever and not self.using

    @property
    def regular(self) -> bool:
        """Used the tool in at least 3 of the last 4 weeks (the outputs' regular user)."""
        return sum(self.history) >= REGULAR_WEEKS

    @property
    def churned(self) -> bool:
        """Used the tool last week, not this week."""
        return self.used_last_week and not self.using

    @property
    def degree(self) -> int:
        """How many colleagues I am tied to."""
        return len(self.neighbours)

    def lost_hours(self) -> float:
        """E2: hours a week the tool costs me: its minutes per work order, less what my skill saves."""
        model, p = self.model, self.model.p
        minutes = model.levers.friction_minutes * (1.0 - model.fixed)
        return float(minutes * model.work_orders / 60.0 * (1.0 - p.competence_speedup * self.competence))

    def effort(self) -> float:
        """E2: the lost hours in utility, weighing more when I am measured on tickets closed."""
        p, kpi = self.model.p, self.model.levers.kpi
        weight = 1.0 + p.kpi_friction_amplifier if KPIS[kpi] < 0 else 1.0
        return float(p.w_friction * weight * self.lost_hours())

    # ------------------------------------------------------------------ things done to me
    def go_live(self) -> None:
        """My facility goes live this week."""
        self.live = True
        self.live_since = self.model.week

    def onboard(self, hours: float, mode: str) -> None:
        """The onboarding training when my facility goes live (E5)."""
        self.competence = _trained(self.competence, hours, mode, self.model.p)
        self.trained = True

    def attend_training_wave(self, hours: float, mode: str) -> None:
        """A place in the training wave (E5)."""
        self.competence = _trained(self.competence, hours, mode, self.model.p)
        self.wave_trained = True
        self.trained = True

    def become_champion(self) -> None:
        """Commit to the tool as a champion (E10): I use it, as a regular, and know it well.

        As in the engine, a new champion counts as having used it last week (their commitment is
        what their neighbours see this week).
        """
        self.champion = True
        self.home = self.facility
        self.using = True
        self.ever = True
        self.status = Status.REGULAR
        self.habit = max(self.habit, REGULAR_HABIT)
        self.competence = max(self.competence, PILOT_COMPETENCE)

    def hear_of_a_change(self) -> None:
        """A lever changed: a rejecter now has a reason to think again (E13)."""
        if self.status is Status.REJECTED:
            self.reason = True

    def attend_transparency_session(self) -> None:
        """E9: seeing how the AI works eases fear and is evidence it can be read (live only)."""
        if not self.live:
            return
        p, t = self.model.p, self.model.levers.transparency
        self.fear *= 1.0 - p.transparency_fear_reduction * t
        self.hits += p.transparency_trust_gain * t

    def be_coached(self) -> None:
        """E10: a champion's session: good evidence, competence, less fear."""
        p = self.model.p
        self.coached = True
        self.hits += p.coach_trust_gain
        self.competence += p.coach_competence_gain * (1.0 - self.competence)
        self.fear *= 1.0 - p.coach_fear_reduction

    # ------------------------------------------------------------------ my week
    def get_ready(self) -> None:
        """Before deciding: this week's trust, and what my colleagues did last week."""
        self.weigh_evidence()
        self.look_at_peers()

    def live_the_week(self) -> None:
        """Decide, get the alerts and practise (or not); then this week's coaching and training are past."""
        self.decide()
        self.experience_alerts()
        self.practise()
        self.coached = False
        self.trained = False

    def weigh_evidence(self) -> None:
        """E8: trust = (disposition + hits) / (1 + hits + alarm weight x false alarms).

        The disposition counts as one alert's worth of evidence; transparency changes how much
        the false alarms seen so far weigh.
        """
        p = self.model.p
        alarm_weight = 1.0 - p.transparency_softening * self.model.levers.transparency
        self.trust = (self.disposition + self.hits) / (1.0 + self.hits + alarm_weight * self.alarms)

    def look_at_peers(self) -> None:
        """Share of my neighbours who used the tool last week (before anyone decides this week)."""
        n = len(self.neighbours)
        self.exposure = sum([peer.using for peer in self.neighbours]) / n if n else 0.0

    def utility(self, effort: float) -> float:
        """E1: how worthwhile using the tool looks this week (logit scale), habit included (E14).

        Last week's users feel the whole effort and keep to what they did (inertia); others
        foresee part of the effort.
        """
        model, p = self.model, self.model.p
        felt = effort - p.inertia if self.used_last_week else effort * p.friction_foresight
        return float(p.base_utility
                + p.w_innovativeness * self.z
                + p.w_trust * (self.trust - 0.5)
                + p.w_competence * self.competence
                + p.w_support * model.support
                + p.w_incentive * KPIS[model.levers.kpi]
                + p.w_norm * model.norm
                + p.w_social * (self.exposure - self.threshold)
                - p.w_fear * self.fear
                - felt
                + p.habit * self.habit
                - p.false_alarm_shock * self.last_false_alarms
                + (p.w_coached if self.coached else 0.0))

    def may_decide(self) -> bool:
        """E13: whether I think about using it this week.

        Last week's users do; so do the coached and the trained, and everyone in the launch weeks.
        A rejecter thinks again only for a reason (a changed lever); anyone else now and then.
        """
        if self.used_last_week or self.coached or self.trained or self.launching:
            return True
        if self.status is Status.REJECTED:
            return self.reason
        return bool(self.random.random() < self.model.p.reconsider_rate)

    def trial_fails(self) -> bool:
        """E13b: a trial goes wrong, more likely with little competence and little help."""
        if self.status is not Status.TRYING:
            return False
        p = self.model.p
        risk = p.trial_failure * (1.0 - self.competence) * (1.0 - self.model.support)
        return bool(self.random.random() < risk)

    def decide(self) -> None:
        """Use the tool this week? Then update habit, status and depth of use (E11-E14).

        Champions use it whenever their facility is live, nobody uses it before; the others use it
        if they may decide this week, want to, and their trial does not fail.
        """
        p = self.model.p
        self.used_last_week = self.using
        effort = self.effort()
        failed = False
        if not self.live:
            self.using = False
        elif self.champion:
            self.using = True
        else:
            # E13c: management's go-live push, fading since my facility went live
            x = self.utility(effort) + p.launch_push * self.model.push[self.facility]
            wants = self.random.random() < _logistic(x)
            rejecter = self.status is Status.REJECTED
            may = self.may_decide()
            failed = self.trial_fails()
            self.using = wants and may and not failed
            if rejecter and may:
                self.reason = False  # used up by thinking again once
        # E14: habit grows with use and fades without
        if self.using:
            self.habit += p.habit_gain * (1.0 - self.habit)
            self.status = Status.REGULAR if self.habit >= REGULAR_HABIT else Status.TRYING
        else:
            self.habit *= 1.0 - p.habit_decay
            if failed:
                self.status = Status.REJECTED
                self.alarms += p.rejection_trust_loss  # a failed first contact costs trust
            elif self.used_last_week:
                self.status = Status.LAPSED
        self.ever = self.ever or self.using
        self.history.append(self.using)
        # E11: depth of use, from this week's trust and competence and the full effort
        self.depth = (_logistic(p.depth_base + p.w_competence * (self.competence - 0.5)
                                + p.w_trust * (self.trust - 0.5) - effort) if self.using else 0.0)

    def experience_alerts(self) -> None:
        """E7, E8: users get the week's alerts; each correct one and each false one is evidence."""
        if not self.using:
            self.last_false_alarms = 0
            return
        p, lv = self.model.p, self.model.levers
        alerts = lv.alerts_per_week
        n_false = self.random.binomialvariate(alerts, 1.0 - lv.alert_precision) if alerts else 0
        self.last_false_alarms = n_false
        self.hits += p.trust_gain_hit * (alerts - n_false)
        self.alarms += p.trust_loss_false_alarm * n_false

    def practise(self) -> None:
        """E5b, E9b: use builds competence and eases fear; a live non-user's competence decays."""
        p = self.model.p
        if self.using:
            self.competence += p.competence_gain_use * (1.0 - self.competence)
            self.fear *= 1.0 - p.fear_reduction_use
        elif self.live:
            self.competence -= p.competence_decay * self.competence


class OracleModel(mesa.Model):
    """One replicate organisation of technicians adopting the tool, one agent per technician.

    Args:
        scenario: the validated scenario (organisation, levers, calendar, behaviour).
        rng: seed or generator; all randomness goes through `self.random` (seeded from it).
        population: the network, facilities and pilot flags (built from the scenario if None).
        behaviour: overrides the scenario's behaviour (one value per parameter).
    """

    def __init__(self, scenario: Scenario, *, rng: int | np.random.Generator | None = None,
                 population: Population | None = None, behaviour: Behaviour | None = None):
        super().__init__(rng=rng)
        self.spec = scenario  # Mesa's `self.scenario` is its own rng bookkeeping
        self.p = _scalar_behaviour(behaviour or scenario.behaviour)
        self.levers: Levers = scenario.levers
        self.work_orders = float(scenario.organisation.work_orders_per_week)
        self.population = population or build_population(scenario.organisation, self.rng)
        pop = self.population
        self.n_facilities = pop.n_facilities
        self.week = 0
        self.open_week = [0] * pop.n_facilities  # the week each facility went live, 0: not yet
        self.waves = scenario.waves or (Wave(facilities=tuple(range(pop.n_facilities))),)
        self.wave_open_week = [0] * len(self.waves)
        self.gate_streak = 0
        self.fixed = 0.0  # E15: share of the friction fixed by what earlier waves taught
        self.support = 0.0  # E16: share of a learner's need for help that is met this week
        self.norm = 0.0  # E1b: share of live technicians who used it last week
        self.pushing = True  # E13c: is management still pushing the tool somewhere?
        self.push: list[float] = [0.0] * pop.n_facilities  # this week's push per facility, 0..1
        self.pending_champions: list[Champions] = []

        volunteers = scenario.organisation.volunteers
        self.technicians = [
            Technician(self, i, int(pop.facility[i]), bool(pop.pilot[i]), volunteers or bool(pop.pilot[i]))
            for i in range(pop.size)
        ]
        for i, j in pop.edges():
            self.technicians[i].neighbours.append(self.technicians[j])
            self.technicians[j].neighbours.append(self.technicians[i])
        self.facilities: list[list[Technician]] = [[] for _ in range(pop.n_facilities)]
        for tech in self.technicians:
            self.facilities[tech.facility].append(tech)

        self._calendar: list[Callable[[], None]] = []  # strong references: Mesa's events hold weak ones
        if scenario.champions is not None:
            self._schedule(Intervention(week=1, champions=scenario.champions, label="champions"))
        for intervention in scenario.interventions:
            self._schedule(intervention)

        self._overall: dict[str, float] = {}
        self._by_facility: dict[str, np.ndarray] = {}
        reporters: dict[str, Callable[[OracleModel], object]] = {}
        for metric in METRICS:
            reporters[metric] = partial(OracleModel.overall_share, metric=metric)
            reporters[metric + FACILITY_SUFFIX] = partial(OracleModel.facility_shares, metric=metric)
        self.datacollector = mesa.DataCollector(model_reporters=reporters)

    # ------------------------------------------------------------------ calendar
    def _schedule(self, intervention: Intervention) -> None:
        action = partial(self.apply_intervention, intervention)
        self._calendar.append(action)
        self.schedule_event(action, at=intervention.week - 0.5)  # in force for its whole week

    def apply_intervention(self, intervention: Intervention) -> None:
        """Put an intervention's levers in force (rejecters hear of a change); queue its champions."""
        if intervention.levers:
            before = self.levers
            self.levers = replace(self.levers, **intervention.levers)
            if self.levers != before:
                for tech in self.technicians:
                    tech.hear_of_a_change()
        if intervention.champions is not None:
            self.pending_champions.append(intervention.champions)

    # ------------------------------------------------------------------ the week
    def step(self) -> None:
        """One week of the rollout, in the rulebook's order, then collect.

        The technicians' passes are plain loops over `technicians` (the model's agents in index
        order): ``AgentSet.do``'s weak references would cost a fifth of the run time.
        """
        self.week += 1
        self.open_waves()
        while self.pending_champions:
            self.launch_champions(self.pending_champions.pop(0))
        if self.levers.training_per_week > 0:
            self.run_training_wave()
        if self.levers.transparency > 0:
            for tech in self.technicians:
                tech.attend_transparency_session()
        self.coach_peers()
        self.share_support()
        for tech in self.technicians:  # everyone weighs the evidence and looks before anyone decides
            tech.get_ready()
        live = sum(len(members) for f, members in enumerate(self.facilities) if self.open_week[f])
        self.norm = sum(t.using for t in self.technicians) / max(live, 1)
        self.fade_the_push()
        for tech in self.technicians:
            tech.live_the_week()
        self.count_gate_weeks()
        self.observe()
        self.datacollector.collect(self)

    def open_waves(self) -> None:
        """Open every wave that is due (and whose gate held long enough); onboard its people."""
        onboarding = self.spec.onboarding
        for w, wave in enumerate(self.waves):
            if self.wave_open_week[w] or self.week < wave.week:
                continue
            if w > 0 and wave.gate is not None and self.gate_streak < wave.gate.weeks:
                continue
            self.wave_open_week[w] = self.week
            self.gate_streak = 0
            if w > 0:  # E15: fixes learned in the earlier waves
                self.fixed = 1.0 - (1.0 - self.fixed) * (1.0 - self.p.wave_learning)
            for f in wave.facilities:
                if self.open_week[f]:
                    continue
                self.open_week[f] = self.week
                for tech in self.facilities[f]:
                    tech.go_live()
                    if not tech.pilot:
                        tech.onboard(onboarding.hours, onboarding.mode)
            self.second_champions()

    def launch_champions(self, champions: Champions) -> None:
        """E10: pick `count` live non-champions by the strategy's ranking; ties broken at random.

        pilot: the pilot's volunteers (live or not), then the best connected; degree: the best
        connected; trust: the most trusting now; facility: each facility's best connected first,
        then its second...; random: anyone. The pilot's volunteers picked are seconded to the live
        facilities. (The engine breaks ties with a U(0, 1e-3) jitter added to the score, which for
        `trust` also reorders technicians whose trust differs by less than 1e-3.)
        """
        if champions.count == 0:
            return
        pilot = champions.strategy == "pilot"
        candidates = [t for t in self.technicians if (t.live or (pilot and t.pilot)) and not t.champion]
        rank = {}  # 0 for each facility's best-connected technician (ties: lower index first)
        for members in self.facilities:
            for r, t in enumerate(sorted(members, key=lambda t: (-t.degree, t.index))):
                rank[t] = r
        key = {
            "pilot": lambda t: (t.pilot, t.degree),
            "degree": lambda t: (t.degree,),
            "trust": lambda t: (t.trust,),
            "random": lambda t: (),
            "facility": lambda t: (-rank[t], t.degree),
        }[champions.strategy]
        self.random.shuffle(candidates)  # random tie-break: the sort below is stable
        candidates.sort(key=key, reverse=True)
        for tech in candidates[:champions.count]:
            tech.become_champion()
            if pilot and tech.pilot:
                tech.seconded = True
        if pilot:
            self.second_champions()

    def second_champions(self) -> None:
        """E10: seconded champions are spread round-robin over the live facilities (in order)."""
        sites = [f for f in range(self.n_facilities) if self.open_week[f]]
        seconded = [t for t in self.technicians if t.seconded]
        if not sites:
            return
        for k, tech in enumerate(seconded):
            tech.home = sites[k % len(sites)]

    def run_training_wave(self) -> None:
        """E5: train `training_per_week` live technicians not yet trained by a wave, at random."""
        lv = self.levers
        eligible = [t for t in self.technicians if t.live and not t.wave_trained]
        for tech in self.random.sample(eligible, min(lv.training_per_week, len(eligible))):
            tech.attend_training_wave(lv.training_hours, lv.training_mode)

    def coach_peers(self) -> None:
        """E10: champions coach `champion_capacity` non-users a week each, in the facility they coach.

        A facility's sessions (its champions x capacity) are shared among its live non-users who
        are not champions: each is coached with probability sessions / non-users (at most 1). No
        session goes to another facility.
        """
        capacity_each = self.levers.champion_capacity
        if capacity_each <= 0:
            return
        sessions = [0] * self.n_facilities
        for tech in self.technicians:
            if tech.champion and tech.live:
                sessions[tech.home] += capacity_each
        for f, members in enumerate(self.facilities):
            if not sessions[f]:
                continue
            targets = [t for t in members if t.live and not t.using and not t.champion]
            if not targets:
                continue
            chance = min(sessions[f], len(targets)) / len(targets)
            for tech in targets:
                if self.random.random() < chance:
                    tech.be_coached()

    def share_support(self) -> None:
        """E16: the support hours, shared by the live technicians still learning (not regular)."""
        learners = sum(t.live and t.status is not Status.REGULAR for t in self.technicians)
        hours = self.levers.support * SUPPORT_HOURS_AT_FULL + self.levers.support_hours
        self.support = min(1.0, hours / (SUPPORT_NEED_HOURS * max(learners, 1)))

    def fade_the_push(self) -> None:
        """E13c: the go-live push in each live facility halves every LAUNCH_HALF_LIFE weeks.

        It is 1 in the week a facility goes live; a push faded below PUSH_FLOOR is over (0).
        """
        if not self.pushing:
            self.push = [0.0] * self.n_facilities
            return
        faded = [0.5 ** ((self.week - opened) / LAUNCH_HALF_LIFE) if opened else 0.0
                 for opened in self.open_week]
        self.push = [push if push > PUSH_FLOOR else 0.0 for push in faded]
        self.pushing = any(self.push) or not all(self.open_week)

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
        shares = [sum(t.using for t in members) / max(len(members), 1)
                  for f, members in enumerate(self.facilities) if self.open_week[f]]
        mean_live = sum(shares) / len(shares) if shares else 0.0
        self.gate_streak = self.gate_streak + 1 if mean_live >= need else 0

    # ------------------------------------------------------------------ observations
    def observe(self) -> None:
        """This week's outputs, overall and per facility (what the DataCollector records)."""
        counts = [self._count(members) for members in self.facilities]
        total = [sum(column) for column in zip(*counts, strict=True)]
        self._overall = self._shares(total)
        by_facility = [self._shares(c) for c in counts]
        self._by_facility = {m: np.array([shares[m] for shares in by_facility]) for m in METRICS}

    @staticmethod
    def _count(members: list[Technician]) -> list[float]:
        """Counts and sums over a group of technicians, in _COUNTED's order."""
        using = ever = lapsed = used_last_week = churned = regular = rejected = 0
        trust = competence = depth = 0.0
        for t in members:
            using += t.using
            ever += t.ever
            lapsed += t.lapsed
            trust += t.trust
            competence += t.competence
            depth += t.depth
            used_last_week += t.used_last_week
            churned += t.churned
            regular += t.regular
            rejected += t.status is Status.REJECTED
        live = len(members) if members and members[0].live else 0
        return [len(members), live, using, ever, lapsed, trust, competence, depth, used_last_week, churned,
                regular, rejected]

    @staticmethod
    def _shares(counts: list[float]) -> dict[str, float]:
        """The outputs from a group's counts (as the engine defines them)."""
        c = dict(zip(_COUNTED, counts, strict=True))
        n, live = max(c["n"], 1), c["live"]
        return {
            "active_share": c["using"] / n,
            "active_share_live": c["using"] / live if live else 0.0,
            "lapsed_share": c["lapsed"] / n,
            "ever_share": c["ever"] / n,
            "mean_trust": c["trust"] / n,
            "mean_competence": c["competence"] / n,
            "depth": c["depth"] / live if live else 0.0,
            "weekly_churn": c["churned"] / c["used_last_week"] if c["used_last_week"] else 0.0,
            "regular_share": c["regular"] / n,
            "rejected_share": c["rejected"] / n,
        }

    def overall_share(self, metric: str) -> float:
        """This week's `metric` over the whole organisation."""
        return self._overall[metric]

    def facility_shares(self, metric: str) -> np.ndarray:
        """This week's `metric` in each facility."""
        return self._by_facility[metric]


_COUNTED = ("n", "live", "using", "ever", "lapsed", "trust", "competence", "depth", "used_last_week",
            "churned", "regular", "rejected")


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


def oracle_outcomes(models: Iterable[OracleModel], scope: str = "overall") -> dict[str, np.ndarray]:
    """The models' collected outcomes, metric -> (weeks, runs), or (weeks, runs, facilities) per facility."""
    columns = [model.datacollector.model_vars for model in models]
    suffix = "" if scope == "overall" else FACILITY_SUFFIX
    return {m: np.stack([np.asarray(c[m + suffix], dtype=float) for c in columns], axis=1) for m in METRICS}


def run_oracle_ensemble(scenario: Scenario, runs: int, weeks: int | None = None, seed: int = 0,
                        population: Population | None = None, behaviour: Behaviour | None = None,
                        scope: str = "overall") -> dict[str, np.ndarray]:
    """An ensemble of `runs` oracle replicates (see `oracle_replicates`).

    Returns:
        metric -> (weeks, runs) array of the weekly collected values (METRICS), or with
        scope="facility" (weeks, runs, facilities).
    """
    return oracle_outcomes(oracle_replicates(scenario, runs, weeks, seed, population, behaviour), scope)
