"""The weekly adoption rules, vectorised over technicians (N) and replicates (R) at once.

This is the one implementation of the rules. All state is (R, N) arrays; per-replicate parameters
are (R, 1) columns, so a batch of parameter sets runs as one ensemble. docs/model.md gives every
equation; the comments here name them (E1..E12).
"""

from __future__ import annotations

from dataclasses import replace
from math import comb
from typing import Any, Literal, TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, ndtri

from model.behaviour import Behaviour
from model.population import Population
from model.scenario import KPIS, Champions, Levers, Scenario, ScenarioError, Wave

VOLUNTEER_Z = 1.0  # volunteers come from Rogers' innovators + early adopters: z > 1 (top 16%)
PILOT_TRUST = 0.8  # what the pilot's volunteers ended up trusting, and champions commit to
PILOT_COMPETENCE = 0.8  # 8 h hands-on (E5) then weeks of use
DOWNTIME_REDUCTION_AT_FULL_USE = 0.35  # the pilot's result
FLOAT = np.float32  # state precision: halves memory traffic; shares need no more

FloatArray = NDArray[np.floating[Any]]
BoolArray = NDArray[np.bool_]
Params = dict[str, FloatArray]
"""Behaviour parameters by name, each an (R, 1) column (`Behaviour.as_columns`)."""


class State(TypedDict):
    """The replicates' state: (R, N) per technician, except the (R, 1) norm."""

    z: FloatArray
    threshold: FloatArray
    static_utility: FloatArray
    trust: FloatArray
    fear: FloatArray
    competence: FloatArray
    depth: FloatArray
    last_false_alarms: FloatArray
    norm: FloatArray
    active: BoolArray
    ever: BoolArray
    champion: BoolArray
    wave_trained: BoolArray


def rogers_category(z: ArrayLike) -> NDArray[np.intp]:
    """Adopter category 0..4 (innovator .. laggard) from innovativeness z ~ N(0, 1).

    Cut at +2, +1, 0, -1 standard deviations: 2.5 / 13.5 / 34 / 34 / 16 % (Rogers 2003).
    """
    category: NDArray[np.intp] = np.digitize(-np.asarray(z), [-2.0, -1.0, 0.0, 1.0])
    return category


def training_gain(competence: FloatArray, hours: float, mode: str, p: Params) -> FloatArray:
    """E5: competence after `hours` of training, with diminishing returns."""
    efficacy = 1.0 if mode == "hands_on" else p["video_efficacy"]
    return competence + (1.0 - competence) * (1.0 - np.exp(-p["learn_rate_per_hour"] * efficacy * hours))


def false_alarms(u: FloatArray, alerts: int, precision: float) -> FloatArray:
    """E7: false alarms among `alerts`, Binomial(alerts, 1 - precision), by inverse CDF of u.

    One uniform per technician-week keeps draws common across precisions: higher precision never
    gives more false alarms for the same u.
    """
    q = 1.0 - precision
    pmf = [comb(alerts, k) * q**k * (1.0 - q) ** (alerts - k) for k in range(alerts + 1)]
    n_false = np.zeros(u.shape, dtype=u.dtype)
    for level in np.cumsum(pmf)[:-1]:  # how many CDF levels lie below u
        n_false += u > level
    return n_false


def update_trust(trust: FloatArray, n_false: FloatArray, alerts: int, transparency: float,
                 p: Params, users: BoolArray | float = 1.0) -> FloatArray:
    """E8: hits raise trust toward 1, false alarms (softened by transparency) pull it toward 0.

    Only users see alerts: `users` masks who did (and `n_false` is zero for the others).
    """
    gain = p["trust_gain_hit"] * (users * FLOAT(alerts) - n_false)  # FLOAT: keep float32 state
    loss = p["trust_loss_false_alarm"] * (1.0 - p["transparency_softening"] * transparency) * n_false
    return np.clip(trust + gain * (1.0 - trust) - loss * trust, 0.0, 1.0)


def friction_effort(levers: Levers, p: Params) -> FloatArray:
    """E2: effort in utility units; a tickets-closed KPI makes every minute count more."""
    amplifier = 1.0 + p["kpi_friction_amplifier"] * (KPIS[levers.kpi] < 0)
    return p["w_friction"] * levers.friction_minutes / 5.0 * amplifier


def static_utility(z: FloatArray, threshold: FloatArray, p: Params) -> FloatArray:
    """The time-invariant part of E1: baseline, innovativeness and social threshold."""
    return p["base_utility"] - 0.5 * p["w_trust"] + p["w_innovativeness"] * z - p["w_social"] * threshold


def trust_competence(state: State, p: Params) -> FloatArray:
    """w_trust T + w_comp C: shared by the usage decision (E1) and the depth of use (E11)."""
    return p["w_trust"] * state["trust"] + p["w_competence"] * state["competence"]


def utility(state: State, exposure: FloatArray, coached: BoolArray, levers: Levers, p: Params,
            tc: FloatArray | None = None) -> FloatArray:
    """E1: the weekly usage utility (logit of the probability of using the tool).

    U = base + w_innov z + w_trust (T - 0.5) + w_comp C + w_support support - felt effort
        - shock * last week's false alarms + w_social (exposure - threshold)
        + w_norm * (share of live technicians using it) + w_incentive K
        - w_fear F + w_coached coached,
    where the felt effort is the full friction for last week's users and `friction_foresight`
    of it for the others. Arranged so that each (R, 1) column is computed once.
    """
    effort = friction_effort(levers, p)
    columns = (p["w_support"] * levers.support + p["w_incentive"] * KPIS[levers.kpi]
               - effort * p["friction_foresight"] + p["w_norm"] * state["norm"])
    user_extra = -effort * (1.0 - p["friction_foresight"])
    tc = trust_competence(state, p) if tc is None else tc
    u: FloatArray = (state["static_utility"] + columns + tc + user_extra * state["active"]
         + p["w_social"] * exposure - p["w_fear"] * state["fear"])
    if state["last_false_alarms"].any():
        u -= p["false_alarm_shock"] * state["last_false_alarms"]
    if coached.any():
        u += p["w_coached"] * coached
    return u


def depth_per_user(state: State, levers: Levers, p: Params, tc: FloatArray | None = None) -> FloatArray:
    """E11: share of a user's work orders done with the tool, from the week's trust and competence.

    depth = logistic(depth_base + w_comp (C - 0.5) + w_trust (T - 0.5) - effort)
    """
    tc = trust_competence(state, p) if tc is None else tc
    column = (p["depth_base"] - 0.5 * (p["w_competence"] + p["w_trust"])
              - friction_effort(levers, p))
    return 1.0 / (1.0 + np.exp(-(column + tc)))


class Engine:
    """State and weekly update of R replicate organisations of N technicians."""

    def __init__(self, population: Population, scenario: Scenario, replicates: int,
                 rng: np.random.Generator, behaviour: Behaviour | None = None,
                 record_facilities: bool = True):
        self.pop = population
        self.record_facilities = record_facilities
        self.scenario = scenario
        self.R, self.N = replicates, population.size
        self.rng = rng
        params = (behaviour or scenario.behaviour).as_columns(replicates)
        self.p = {k: v.astype(FLOAT) for k, v in params.items()}
        self.levers = scenario.levers
        self.fac = population.facility
        self.starts = population.facility_starts
        self.fac_size = population.facility_sizes
        deg = population.degree
        self.inv_degree = np.where(deg > 0, 1.0 / np.maximum(deg, 1), 0.0).astype(FLOAT)
        self.adj_t = population.adjacency.T.tocsr().astype(FLOAT)
        self.waves = scenario.waves or (Wave(facilities=tuple(range(population.n_facilities))),)
        named = max((f for w in self.waves for f in w.facilities), default=0)
        if named >= population.n_facilities:
            raise ScenarioError(f"waves: facility {named + 1} is named but the network has only "
                                f"{population.n_facilities} facilities")
        self.wave_open_week = np.zeros((self.R, len(self.waves)), dtype=int)
        self.gate_streak = np.zeros(self.R, dtype=int)
        self.live_fac = np.zeros((self.R, population.n_facilities), dtype=bool)
        self.live = np.zeros((self.R, self.N), dtype=bool)
        self.everyone_live = False
        self.state = self._initial_state()
        self.uses_norm = bool(np.any(self.p["w_norm"] != 0))
        self.coached = np.zeros((self.R, self.N), dtype=bool)
        self.pending_champions: list[Champions] = []
        self.week = 0

    # ------------------------------------------------------------------ set-up
    def _initial_state(self) -> State:
        org, p, R, N = self.scenario.organisation, self.p, self.R, self.N
        u = self.rng.random((3, R, N))
        u0 = np.clip(u[0], 1e-12, 1 - 1e-12)
        z_volunteer = ndtri(1.0 - (1.0 - _phi(VOLUNTEER_Z)) * (1.0 - u0))  # E3: z > 1
        pilot = np.broadcast_to(self.pop.pilot, (R, N))
        z = z_volunteer if org.volunteers else np.where(pilot, z_volunteer, ndtri(u0))
        threshold = np.clip(p["threshold_mean"] - p["threshold_sd"] * z, 0.0, 1.0)  # E4
        eps_t = ndtri(np.clip(u[1], 1e-12, 1 - 1e-12))
        eps_f = ndtri(np.clip(u[2], 1e-12, 1 - 1e-12))
        # E6: logit-normal so that P(trust < 0.5) = distrust_share, P(fear > 0.5) = fear_share.
        trust = expit(-p["trust_sd"] * ndtri(org.distrust_share) + p["trust_sd"] * eps_t)
        fear = expit(p["fear_sd"] * ndtri(org.fear_share) + p["fear_sd"] * eps_f)
        trust = np.where(pilot, np.maximum(trust, PILOT_TRUST), trust)
        competence = np.where(pilot, PILOT_COMPETENCE, 0.0)
        active = pilot.copy()

        def f(a: ArrayLike) -> NDArray[np.float32]:
            return np.ascontiguousarray(a, dtype=FLOAT)

        z, threshold = f(z), f(threshold)
        return {"last_false_alarms": np.zeros((R, N), dtype=FLOAT), "z": z, "threshold": threshold,
                "static_utility": static_utility(z, threshold, p).astype(FLOAT),
                "trust": f(trust), "fear": f(fear), "competence": f(competence),
                "active": active, "ever": active.copy(), "champion": np.zeros((R, N), dtype=bool),
                "wave_trained": np.zeros((R, N), dtype=bool), "depth": np.zeros((R, N), dtype=FLOAT),
                "norm": np.zeros((R, 1), dtype=FLOAT)}

    # ------------------------------------------------------------------ levers
    def set_levers(self, **changes: Any) -> None:
        """Change levers from this week on (an intervention)."""
        self.levers = replace(self.levers, **changes)

    def queue_champions(self, champions: Champions) -> None:
        """Launch champions at the start of the next step, once that week's waves are live."""
        self.pending_champions.append(champions)

    def launch_champions(self, champions: Champions) -> None:
        """E10: pick champions by strategy among live technicians; they commit to using the tool."""
        s, R, N = self.state, self.R, self.N
        if champions.count == 0:
            return
        jitter = self.rng.random((R, N)) * 1e-3
        deg = np.broadcast_to(self.pop.degree.astype(float), (R, N))
        score = {
            "pilot": self.pop.pilot * 1e6 + deg + jitter,
            "degree": deg + jitter,
            "trust": s["trust"] + jitter,
            "random": jitter,
            "facility": -_rank_in_facility(self.pop) * 1e6 + deg + jitter,
        }[champions.strategy]
        live = self.live_fac[:, self.fac]
        score = np.where(live & ~s["champion"], score, -np.inf)
        k = min(champions.count, N)
        top = np.argpartition(-score, k - 1, axis=1)[:, :k]
        picked = np.zeros((R, N), dtype=bool)
        np.put_along_axis(picked, top, True, axis=1)
        picked &= np.isfinite(score)
        s["champion"] |= picked
        s["active"] |= picked
        s["ever"] |= picked
        s["trust"] = np.where(picked, np.maximum(s["trust"], PILOT_TRUST), s["trust"])
        s["competence"] = np.where(picked, np.maximum(s["competence"], PILOT_COMPETENCE),
                                   s["competence"])

    # ------------------------------------------------------------------ weekly step
    def step(self) -> None:
        """Advance every replicate by one week (E1-E12 in docs/model.md's order)."""
        self.week += 1
        s, p, lv, shape = self.state, self.p, self.levers, (self.R, self.N)
        u_decide = self.rng.random(shape, dtype=FLOAT)
        u_alert = self.rng.random(shape, dtype=FLOAT)
        self._open_waves()
        while self.pending_champions:
            self.launch_champions(self.pending_champions.pop(0))
        live = self.live
        if lv.training_per_week > 0:
            self._train_wave(live)
        # Once every facility is live the live masks change nothing: skip them (a hot loop).
        everyone = self.everyone_live
        if lv.transparency > 0:  # E9
            fear_cut = p["transparency_fear_reduction"] * lv.transparency
            trust_gain = p["transparency_trust_gain"] * lv.transparency
            s["fear"] *= 1.0 - (fear_cut if everyone else fear_cut * live)
            s["trust"] += (trust_gain if everyone else trust_gain * live) * (1.0 - s["trust"])
        self.coached = self._coach(live, shape)
        exposure = (self.adj_t @ s["active"].T.astype(FLOAT)).T * self.inv_degree
        if self.uses_norm:  # E1b: the share of live technicians who used it last week
            s["norm"] = (s["active"].sum(axis=1, keepdims=True)
                         / np.maximum(live.sum(axis=1, keepdims=True), 1)).astype(FLOAT)
        # E12: use with probability logistic(U), or logistic(U + habit) for last week's users;
        # u < 1 / (1 + exp(-x)) is tested as u * (1 + exp(-x)) < 1 (one exp, no division).
        tc = trust_competence(s, p)
        x = utility(s, exposure, self.coached, lv, p, tc) + p["habit"] * s["active"]
        active = (u_decide * (1.0 + np.exp(-x)) < 1.0) | s["champion"]
        if not everyone:
            active &= live
        s["active"] = active
        s["ever"] |= active
        s["depth"] = active * depth_per_user(s, lv, p, tc)  # E11, at the week's trust and competence
        # E7, E8: the week's alerts, hits and false alarms, for those who used it
        n_false = false_alarms(u_alert, lv.alerts_per_week, lv.alert_precision) * active
        s["last_false_alarms"] = n_false
        s["trust"] = update_trust(s["trust"], n_false, lv.alerts_per_week, lv.transparency, p,
                                  users=active)
        # E5b: competence grows with use and decays without; E9b: use eases fear
        c = s["competence"]
        s["competence"] = (c + active * p["competence_gain_use"] * (1.0 - c)
                           - (~active if everyone else live & ~active) * p["competence_decay"] * c)
        s["fear"] *= 1.0 - active * p["fear_reduction_use"]
        self._update_gates()

    def _open_waves(self) -> None:
        for w, wave in enumerate(self.waves):
            due = (self.wave_open_week[:, w] == 0) & (self.week >= wave.week)
            if wave.gate is not None and w > 0:
                due &= self.gate_streak >= wave.gate.weeks
            if not due.any():
                continue
            self.wave_open_week[due, w] = self.week
            self.gate_streak[due] = 0
            newly = np.zeros_like(self.live_fac)
            newly[np.ix_(due, list(wave.facilities))] = True
            newly &= ~self.live_fac
            self.live_fac |= newly
            self.live = self.live_fac[:, self.fac]
            self.everyone_live = bool(self.live_fac.all())
            techs = newly[:, self.fac]
            ob = self.scenario.onboarding
            s = self.state
            s["competence"] = np.where(techs & ~self.pop.pilot,
                                       training_gain(s["competence"], ob.hours, ob.mode, self.p),
                                       s["competence"])

    def _update_gates(self) -> None:
        """Count the weeks the live facilities' mean active share meets the next wave's gate."""
        if len(self.waves) < 2:
            return
        share = self.facility_share(self.state["active"]) / np.maximum(self.fac_size, 1)
        live_count = self.live_fac.sum(axis=1)
        mean_live = (share * self.live_fac).sum(axis=1) / np.maximum(live_count, 1)
        unopened = self.wave_open_week[:, 1:] == 0
        nxt = np.argmax(unopened, axis=1) + 1
        need = np.array([w.gate.min_active_share if w.gate else 0.0 for w in self.waves])[nxt]
        met = unopened.any(axis=1) & (mean_live >= need)
        self.gate_streak = np.where(met, self.gate_streak + 1, 0)

    def _train_wave(self, live: np.ndarray) -> None:
        """E5: a wave trains up to `training_per_week` live technicians not yet trained, at random."""
        lv, s = self.levers, self.state
        eligible = live & ~s["wave_trained"]
        if not eligible.any():
            return  # everyone has been through the programme
        keys = np.where(eligible, self.rng.random(eligible.shape, dtype=FLOAT), 2.0)
        k = min(lv.training_per_week, self.N)
        kth = np.partition(keys, k - 1, axis=1)[:, k - 1:k] if k < self.N else 2.0
        chosen = eligible & (keys <= kth)
        s["wave_trained"] |= chosen
        s["competence"] = np.where(chosen, training_gain(s["competence"], lv.training_hours,
                                                         lv.training_mode, self.p),
                                   s["competence"])

    def _coach(self, live: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
        """E10: champions coach `champion_capacity` non-users a week each, own facility first.

        Each eligible non-user is coached with probability q = capacity / targets (with spare
        capacity spilling over to facilities that have too little), so the capacity holds in
        expectation, not as a hard cap in every week.
        """
        s, p = self.state, self.p
        champs = s["champion"] & live
        if self.levers.champion_capacity <= 0 or not champs.any():
            return np.zeros(shape, dtype=bool)
        u = self.rng.random(shape, dtype=FLOAT)
        targets = live & ~s["active"] & ~s["champion"]
        cap = self.facility_share(champs) * float(self.levers.champion_capacity)
        m = self.facility_share(targets)
        own = np.minimum(cap, m)
        spare = (cap - own).sum(axis=1, keepdims=True)
        uncovered = m - own
        total = uncovered.sum(axis=1, keepdims=True)
        extra = np.where(total > 0, np.minimum(uncovered, spare * uncovered / np.maximum(total, 1)), 0)
        q = np.where(m > 0, (own + extra) / np.maximum(m, 1), 0.0)
        coached = targets & (u < q[:, self.fac])
        s["trust"] += coached * p["coach_trust_gain"] * (1.0 - s["trust"])
        s["competence"] += coached * p["coach_competence_gain"] * (1.0 - s["competence"])
        s["fear"] *= 1.0 - coached * p["coach_fear_reduction"]
        return coached

    # ------------------------------------------------------------------ observations
    def facility_share(self, values: np.ndarray) -> np.ndarray:
        """Sum of (R, N) values per facility: (R, F)."""
        return np.add.reduceat(values.astype(FLOAT), self.starts, axis=1)

    def observe(self) -> np.ndarray:
        """This week's per-facility sums (6, R, F): active, live, depth, ever, trust, competence.

        Cheap to record each week; `outcome_shares` turns a stack of them into shares. Live counts
        come from the facilities' status, lapsed ones as ever - active: no pass over N for them.
        """
        s = self.state
        x = np.empty((len(CELL_SUMS), self.R, self.N), dtype=FLOAT)
        for i, name in enumerate(CELL_SUMS):
            x[i] = s[name]
        if self.record_facilities:
            cells = np.add.reduceat(x, self.starts, axis=2)
            live = self.live_fac * self.fac_size.astype(FLOAT)
        else:  # calibration batches need the overall sums only
            cells = x.sum(axis=2, keepdims=True)
            live = (self.live_fac * self.fac_size.astype(FLOAT)).sum(axis=1, keepdims=True)
        return np.concatenate([cells[:1], live[None], cells[1:]])


CELL_SUMS: tuple[Literal["active", "depth", "ever", "trust", "competence"], ...] = (
    "active", "depth", "ever", "trust", "competence")
SUMS = ("active", "live", "depth", "ever", "trust", "competence")


def outcome_shares(sums: np.ndarray, facility_sizes: np.ndarray,
                   scope: str = "overall") -> dict[str, np.ndarray]:
    """Shares from stacked weekly sums (W, 6, R, F): overall (W, R) or per facility (W, R, F)."""
    if scope == "overall":
        return _shares(sums.sum(axis=3, dtype=np.float64), float(facility_sizes.sum()))
    return _shares(sums.astype(np.float64), np.maximum(facility_sizes, 1).astype(np.float64))


def _shares(sums: np.ndarray, n: float | np.ndarray) -> dict[str, np.ndarray]:
    active, live, depth, ever, trust, competence = np.moveaxis(sums, 1, 0)
    lapsed = ever - active
    n_live = np.maximum(live, 1.0)
    return {
        "active_share": active / n,
        "active_share_live": np.where(live > 0, active / n_live, 0.0),
        "depth": np.where(live > 0, depth / n_live, 0.0),
        "lapsed_share": lapsed / n,
        "mean_trust": trust / n,
        "mean_competence": competence / n,
        "downtime_reduction": DOWNTIME_REDUCTION_AT_FULL_USE * depth / n,
        "ever_share": ever / n,
    }


def _phi(x: float) -> float:
    from scipy.special import ndtr

    return float(ndtr(x))


def _rank_in_facility(pop: Population) -> np.ndarray:
    """0 for the best-connected technician of each facility, 1 for the next..."""
    order = np.lexsort((-pop.degree, pop.facility))
    rank = np.empty(pop.size, dtype=float)
    rank[order] = np.arange(pop.size) - pop.facility_starts[pop.facility[order]]
    return rank
