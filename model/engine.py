"""The weekly adoption rules, vectorised over technicians (N) and replicates (R) at once.

This is the one implementation of the rules. All state is (R, N) arrays; per-replicate parameters
are (R, 1) columns, so a batch of parameter sets runs as one ensemble. docs/model.md gives every
equation; the comments here and in model/kernel.py name them (E1..E16). This module does what
happens now and then (waves, training, champions, gates) and draws every random number; the
per-technician arithmetic of each week is one compiled pass in model/kernel.py.

Each technician is in one adoption status (E13): never used, trying, regular user, lapsed or
rejected. Weekly use follows from the status: users keep going with a probability that rises with
habit, a trial can fail (low competence, no help) and turn into rejection, and a rejecter tries
again only for a reason (coaching, training, a lever that changed).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from functools import lru_cache
from math import comb
from typing import Any, TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import expit, ndtri

from model import kernel
from model.behaviour import Behaviour
from model.population import Population
from model.scenario import KPIS, Champions, Scenario, ScenarioError, Wave

VOLUNTEER_Z = 1.0  # volunteers come from Rogers' innovators + early adopters: z > 1 (top 16%)
PILOT_COMPETENCE = 0.8  # 8 h hands-on (E5) then weeks of use
PILOT_WEEKS = 12  # the pilot ran about three months before the rollout (the seed case)
DOWNTIME_REDUCTION_AT_FULL_USE = 0.35  # the pilot's result
SUPPORT_HOURS_AT_FULL = 40.0  # support = 1: the pilot's daily stand-ups + 24 h response, one person's week
SUPPORT_NEED_HOURS = 2.0  # hours of help a week a technician still learning the tool needs
LAUNCH_WEEKS = 2  # the go-live weeks in which every live technician is asked to use the tool
LAUNCH_HALF_LIFE = 6.0  # weeks: management's go-live push halves every six weeks
PUSH_FLOOR = 0.01  # a push faded below this share is over (about 40 weeks after go-live)
REGULAR_HABIT = 0.75  # habit strength from which a user counts as a regular (about a month of use)
FLOAT = np.float32  # state precision: halves memory traffic; shares need no more

# Adoption statuses (E13), stored as int8
NEVER, TRYING, REGULAR, LAPSED, REJECTED = 0, 1, 2, 3, 4
_TRYING, _LAPSED, _REJECTED = np.int8(TRYING), np.int8(LAPSED), np.int8(REJECTED)

FloatArray = NDArray[np.floating[Any]]
BoolArray = NDArray[np.bool_]
Params = dict[str, FloatArray]
"""Behaviour parameters by name, each an (R, 1) column (`Behaviour.as_columns`)."""


class State(TypedDict):
    """The replicates' state: (R, N) per technician, except the (R, 1) norm."""

    z: FloatArray
    threshold: FloatArray
    static_utility: FloatArray
    disposition: FloatArray
    hits: FloatArray
    alarms: FloatArray
    trust: FloatArray
    fear: FloatArray
    competence: FloatArray
    habit: FloatArray
    depth: FloatArray
    last_false_alarms: FloatArray
    norm: FloatArray
    status: NDArray[np.int8]
    history: NDArray[np.uint8]
    active: BoolArray
    was_active: BoolArray
    ever: BoolArray
    reason: BoolArray
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


def trust_of(disposition: FloatArray, hits: FloatArray, alarms: FloatArray, transparency: float,
             p: Params) -> FloatArray:
    """E8: trust as the expected reliability, the disposition weighing as one alert's evidence.

    T = (D + H) / (1 + H + (1 - softening * transparency) * A), where H and A are the weighted
    hits and false alarms experienced so far (each hit weighs `trust_gain_hit`, each false alarm
    `trust_loss_false_alarm`). Transparency changes how the false alarms already seen are read.
    """
    alarm_weight = 1.0 - p["transparency_softening"] * transparency
    return (disposition + hits) / (1.0 + hits + alarm_weight * alarms)


def update_trust(trust: FloatArray, n_false: FloatArray, alerts: int, transparency: float,
                 p: Params, users: BoolArray | float = 1.0) -> FloatArray:
    """E8 for one week's alerts from a given trust (the evidence so far taken as one alert's worth).

    A convenience for reasoning about one week: the engine keeps the evidence itself (`trust_of`).
    """
    hits = p["trust_gain_hit"] * (users * FLOAT(alerts) - n_false)
    alarms = p["trust_loss_false_alarm"] * n_false
    return trust_of(trust, hits, alarms, transparency, p)


def static_utility(z: FloatArray, threshold: FloatArray, p: Params) -> FloatArray:
    """The time-invariant part of E1: baseline, innovativeness and social threshold."""
    return p["base_utility"] - 0.5 * p["w_trust"] + p["w_innovativeness"] * z - p["w_social"] * threshold


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
        self.work_orders = float(scenario.organisation.work_orders_per_week)
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
        self.fac_open_week = np.zeros((self.R, population.n_facilities), dtype=np.int32)
        self.launching = False
        self.pushing = True
        self.gate_streak = np.zeros(self.R, dtype=int)
        self.fixed = np.zeros((self.R, 1), dtype=FLOAT)  # E15: share of the friction fixed so far
        self.live_fac = np.zeros((self.R, population.n_facilities), dtype=bool)
        self.live = np.zeros((self.R, self.N), dtype=bool)
        self.everyone_live = False
        self.home = np.full((self.R, self.N), -1, dtype=np.int32)  # champion's coaching facility
        self.seconded = np.zeros((self.R, self.N), dtype=bool)  # pilot champions, moved to live sites
        self.state = self._initial_state()
        self.uses_norm = bool(np.any(self.p["w_norm"] != 0))
        self.coached = np.zeros((self.R, self.N), dtype=bool)
        self.support = np.zeros((self.R, 1), dtype=FLOAT)
        self.pending_champions: list[Champions] = []
        self._coaches: np.ndarray | None = None  # champions per facility they coach (E10), cached
        self.week = 0
        # for the compiled weekly loop (model/kernel.py)
        self._param_matrix = np.ascontiguousarray(
            np.column_stack([self.p[k][:, 0] for k in kernel.PARAMS]), dtype=FLOAT)
        self.fac32 = np.ascontiguousarray(population.facility, dtype=np.int32)
        F = population.n_facilities
        self.active_per_facility = np.zeros((self.R, F))
        self._no_push = np.zeros((self.R, F), dtype=FLOAT)
        self._sums = np.zeros((self.R, kernel.SUM_ROWS, F))  # the last step's observation
        self._sums_week = -1

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
        # E6: logit-normal so that P(D < 0.5) = distrust_share, P(fear > 0.5) = fear_share.
        disposition = expit(-p["trust_sd"] * ndtri(org.distrust_share) + p["trust_sd"] * eps_t)
        fear = expit(p["fear_sd"] * ndtri(org.fear_share) + p["fear_sd"] * eps_f)
        # The pilot's volunteers come with the pilot's weeks of alerts (E8) and of use (E14).
        alerts = PILOT_WEEKS * self.levers.alerts_per_week
        hits = np.where(pilot, p["trust_gain_hit"] * alerts * self.levers.alert_precision, 0.0)
        misses = alerts * (1 - self.levers.alert_precision)
        alarms = np.where(pilot, p["trust_loss_false_alarm"] * misses, 0.0)
        competence = np.where(pilot, PILOT_COMPETENCE, 0.0)
        habit = np.where(pilot, 1.0 - (1.0 - p["habit_gain"]) ** PILOT_WEEKS, 0.0)
        active = pilot.copy()

        def f(a: ArrayLike) -> NDArray[np.float32]:
            return np.ascontiguousarray(a, dtype=FLOAT)

        z, threshold = f(z), f(threshold)
        state: State = {
            "last_false_alarms": np.zeros((R, N), dtype=FLOAT), "z": z, "threshold": threshold,
            "static_utility": static_utility(z, threshold, p).astype(FLOAT),
            "disposition": f(disposition), "hits": f(hits), "alarms": f(alarms),
            "trust": np.zeros((R, N), dtype=FLOAT), "fear": f(fear), "competence": f(competence),
            "habit": f(habit), "status": np.where(pilot, REGULAR, NEVER).astype(np.int8),
            "history": np.where(pilot, 0b1111, 0).astype(np.uint8),
            "active": active, "was_active": active.copy(), "ever": active.copy(),
            "reason": np.zeros((R, N), dtype=bool), "champion": np.zeros((R, N), dtype=bool),
            "wave_trained": np.zeros((R, N), dtype=bool), "depth": np.zeros((R, N), dtype=FLOAT),
            "norm": np.zeros((R, 1), dtype=FLOAT)}
        state["trust"] = trust_of(state["disposition"], state["hits"], state["alarms"],
                                  self.levers.transparency, p).astype(FLOAT)
        return state

    # ------------------------------------------------------------------ levers
    def set_levers(self, **changes: Any) -> None:
        """Change levers from this week on (an intervention): rejecters hear of it (E13)."""
        before = self.levers
        self.levers = replace(self.levers, **changes)
        if self.levers != before:
            s = self.state
            s["reason"] |= s["status"] == REJECTED

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
        eligible = (self.live_fac[:, self.fac] | self.pop.pilot) if champions.strategy == "pilot" \
            else self.live_fac[:, self.fac]
        score = np.where(eligible & ~s["champion"], score, -np.inf)
        k = min(champions.count, N)
        top = np.argpartition(-score, k - 1, axis=1)[:, :k]
        picked = np.zeros((R, N), dtype=bool)
        np.put_along_axis(picked, top, True, axis=1)
        picked &= np.isfinite(score)
        s["champion"] |= picked
        self._coaches = None
        self.home = np.where(picked, self.fac, self.home).astype(np.int32)
        if champions.strategy == "pilot":  # the pilot's volunteers are seconded to the live sites
            self.seconded |= picked & self.pop.pilot
            self._second_champions()
        self._commit(picked)

    def _commit(self, picked: BoolArray) -> None:
        """Champions use the tool and are competent with it (E10)."""
        s = self.state
        self._sums_week = -1  # the week's observation changes
        s["active"] |= picked
        s["ever"] |= picked
        s["status"] = np.where(picked, REGULAR, s["status"]).astype(np.int8)
        s["habit"] = np.where(picked, np.maximum(s["habit"], REGULAR_HABIT), s["habit"])
        s["competence"] = np.where(picked, np.maximum(s["competence"], PILOT_COMPETENCE),
                                   s["competence"])

    def _second_champions(self) -> None:
        """E10: seconded champions are spread round-robin over the live facilities."""
        if not self.seconded.any():
            return
        self._coaches = None
        for r in range(self.R):
            idx = np.flatnonzero(self.seconded[r])
            sites = np.flatnonzero(self.live_fac[r])
            if idx.size and sites.size:
                self.home[r, idx] = sites[np.arange(idx.size) % sites.size]

    # ------------------------------------------------------------------ weekly step
    def step(self) -> None:
        """Advance every replicate by one week (E1-E16 in docs/model.md's order).

        What happens now and then (waves, training, champions, gates) and every random draw are
        here; the per-technician arithmetic of the week is one compiled pass (model/kernel.py).
        """
        self.week += 1
        s, lv, shape = self.state, self.levers, (self.R, self.N)
        # one 64-bit draw per technician, split into the week's decision and alert uniforms
        bits_a = self.rng.bit_generator.random_raw(shape)
        trained = self._open_waves()
        self.launching = bool((self.fac_open_week > self.week - LAUNCH_WEEKS).any())
        while self.pending_champions:
            self.launch_champions(self.pending_champions.pop(0))
        live = self.live
        if lv.training_per_week > 0:
            trained = trained | self._train_wave(live)
        coach_cap, coaching = self._coaching(live)
        bits_b = self.rng.bit_generator.random_raw(shape)  # trial, reconsidering and coaching uniforms
        push = self._push()
        prev = s["active"]
        active = np.empty(shape, dtype=bool)
        # E1: the share of each one's network neighbours who used it last week
        exposure = np.ascontiguousarray((self.adj_t @ prev.T.astype(FLOAT)).T * self.inv_degree, dtype=FLOAT)
        floats = ("static_utility", "disposition", "hits", "alarms", "trust", "fear", "competence",
                  "habit", "depth", "last_false_alarms")
        for name in floats:  # the compiled loop takes one dtype and layout: a no-op unless changed
            s[name] = np.ascontiguousarray(s[name], dtype=FLOAT)  # type: ignore[literal-required]
        s["status"] = np.ascontiguousarray(s["status"], dtype=np.int8)
        norm = np.empty(self.R, dtype=FLOAT)
        support = np.empty(self.R, dtype=FLOAT)
        kernel.run_week(
            (s["static_utility"], s["disposition"], s["hits"], s["alarms"], s["trust"], s["fear"],
             s["competence"], s["habit"], s["depth"], s["last_false_alarms"], s["status"], s["history"],
             prev, active, s["ever"], s["reason"], np.ascontiguousarray(s["champion"]), self.coached,
             np.ascontiguousarray(trained), np.ascontiguousarray(live), bits_a, bits_b, exposure,
             self._param_matrix, self.fixed[:, 0].copy(), coach_cap, push, self.fac_open_week, support, norm,
             self.active_per_facility, self._sums),
            (self.week, self.fac32, self.launching, coaching, float(lv.transparency),
             float(lv.friction_minutes), self.work_orders, float(KPIS[lv.kpi]), float(KPIS[lv.kpi] < 0),
             float(lv.support * SUPPORT_HOURS_AT_FULL + lv.support_hours), SUPPORT_NEED_HOURS,
             float(lv.alerts_per_week), _alarm_levels(lv.alerts_per_week, lv.alert_precision), LAUNCH_WEEKS,
             REGULAR_HABIT))
        self._sums_week = self.week
        self.support = support[:, None]
        s["norm"] = norm[:, None]
        s["was_active"] = prev
        s["active"] = active
        self._update_gates()

    def _push(self) -> np.ndarray:
        """E13c: each live facility's go-live push, fading with a half-life of LAUNCH_HALF_LIFE weeks."""
        if not self.pushing:
            return self._no_push
        age = np.maximum(self.week - self.fac_open_week, 0)
        push = 0.5 ** (age / LAUNCH_HALF_LIFE)
        push = np.where(self.live_fac & (push > PUSH_FLOOR), push, 0.0).astype(FLOAT)
        self.pushing = bool(push.any()) or not self.everyone_live
        return push

    def _coaching(self, live: np.ndarray) -> tuple[np.ndarray, bool]:
        """E10: coaching capacity per (replicate, facility coached), and whether anyone coaches.

        Champions coach `champion_capacity` non-users a week each, in the facility they coach: their
        own, or for seconded pilot champions the live facility assigned to them. Each eligible
        non-user of a facility is coached with probability capacity / targets (at most 1), so the
        capacity holds in expectation; a facility without a champion gets none.
        """
        champs = self.state["champion"] & live
        if self.levers.champion_capacity <= 0 or not champs.any():
            return self._no_push, False
        if self._coaches is None:  # champions per (replicate, coached facility); kept until they move
            F = self.pop.n_facilities
            cell = (np.arange(self.R)[:, None] * F + self.home)[champs]
            self._coaches = np.bincount(cell, minlength=self.R * F).reshape(self.R, F)
        cap = (self._coaches * float(self.levers.champion_capacity)).astype(FLOAT)
        return cap, True

    def _open_waves(self) -> BoolArray:
        """Open the waves that are due; returns who got this week's onboarding (E5, E15)."""
        trained = np.zeros((self.R, self.N), dtype=bool)
        for w, wave in enumerate(self.waves):
            due = (self.wave_open_week[:, w] == 0) & (self.week >= wave.week)
            if wave.gate is not None and w > 0:
                due &= self.gate_streak >= wave.gate.weeks
            if not due.any():
                continue
            self.wave_open_week[due, w] = self.week
            self.gate_streak[due] = 0
            if w > 0:  # E15: what the earlier waves taught is fixed before the next goes live
                learned = 1.0 - (1.0 - self.fixed) * (1.0 - self.p["wave_learning"])
                self.fixed = np.where(due[:, None], learned, self.fixed).astype(FLOAT)
            newly = np.zeros_like(self.live_fac)
            newly[np.ix_(due, list(wave.facilities))] = True
            newly &= ~self.live_fac
            self.live_fac |= newly
            self._coaches = None
            self.fac_open_week[newly] = self.week
            self.live = self.live_fac[:, self.fac]
            self.everyone_live = bool(self.live_fac.all())
            techs = newly[:, self.fac] & ~self.pop.pilot
            ob = self.scenario.onboarding
            s = self.state
            s["competence"] = np.where(techs, training_gain(s["competence"], ob.hours, ob.mode, self.p),
                                       s["competence"])
            trained |= techs
            self._second_champions()
        return trained

    def _update_gates(self) -> None:
        """Count the weeks the live facilities' mean active share meets the next wave's gate."""
        if len(self.waves) < 2:
            return
        share = self.active_per_facility / np.maximum(self.fac_size, 1)
        live_count = self.live_fac.sum(axis=1)
        mean_live = (share * self.live_fac).sum(axis=1) / np.maximum(live_count, 1)
        unopened = self.wave_open_week[:, 1:] == 0
        nxt = np.argmax(unopened, axis=1) + 1
        need = np.array([w.gate.min_active_share if w.gate else 0.0 for w in self.waves])[nxt]
        met = unopened.any(axis=1) & (mean_live >= need)
        self.gate_streak = np.where(met, self.gate_streak + 1, 0)

    def _train_wave(self, live: np.ndarray) -> BoolArray:
        """E5: a wave trains up to `training_per_week` live technicians not yet trained, at random."""
        lv, s = self.levers, self.state
        eligible = live & ~s["wave_trained"]
        if not eligible.any():
            return eligible  # everyone has been through the programme
        keys = np.where(eligible, self.rng.random(eligible.shape, dtype=FLOAT), 2.0)
        k = min(lv.training_per_week, self.N)
        kth = np.partition(keys, k - 1, axis=1)[:, k - 1:k] if k < self.N else 2.0
        chosen = eligible & (keys <= kth)
        s["wave_trained"] |= chosen
        s["competence"] = np.where(chosen, training_gain(s["competence"], lv.training_hours,
                                                         lv.training_mode, self.p),
                                   s["competence"])
        return chosen

    # ------------------------------------------------------------------ observations
    def observe(self) -> np.ndarray:
        """This week's per-facility sums (len(SUMS), R, F), in SUMS' order.

        Cheap to record each week; `outcome_shares` turns a stack of them into shares. Live counts
        come from the facilities' status: no pass over N for them.
        """
        s = self.state
        if self._sums_week == self.week:  # the weekly step summed them as it went
            sums = self._sums
        else:
            sums = kernel.facility_sums(s["active"], s["depth"], s["ever"], s["trust"], s["competence"],
                                        s["was_active"], s["history"], s["status"], self.fac32,
                                        self.pop.n_facilities)
        cells = np.moveaxis(sums, 1, 0).astype(FLOAT)
        live = self.live_fac * self.fac_size.astype(FLOAT)
        if not self.record_facilities:  # calibration batches need the overall sums only
            cells = cells.sum(axis=2, keepdims=True)
            live = live.sum(axis=1, keepdims=True)
        return np.concatenate([cells[:1], live[None], cells[1:]])


CELL_SUMS = ("active", "depth", "ever", "trust", "competence", "was_active", "churned", "regular",
             "rejected")
SUMS = ("active", "live", *CELL_SUMS[1:])


@lru_cache(maxsize=64)
def _alarm_levels(alerts: int, precision: float) -> np.ndarray:
    """E7: the CDF levels of Binomial(alerts, 1 - precision) below 1.

    The number of levels a technician's uniform exceeds is the week's false alarms (inverse CDF):
    one uniform per technician-week keeps draws common across precisions.
    """
    q = 1.0 - precision
    pmf = [comb(alerts, k) * q**k * (1.0 - q) ** (alerts - k) for k in range(alerts + 1)]
    return np.ascontiguousarray(np.cumsum(pmf)[:-1], dtype=np.float64)


def outcome_shares(sums: np.ndarray, facility_sizes: np.ndarray,
                   scope: str = "overall") -> dict[str, np.ndarray]:
    """Shares from stacked weekly sums (W, len(SUMS), R, F): overall (W, R) or per facility (W, R, F)."""
    if scope == "overall":
        return _shares(sums.sum(axis=3, dtype=np.float64), float(facility_sizes.sum()))
    return _shares(sums.astype(np.float64), np.maximum(facility_sizes, 1).astype(np.float64))


class LazyShares(Mapping[str, np.ndarray]):
    """`outcome_shares` computed when first read: many callers never look at every facility."""

    def __init__(self, sums: np.ndarray, facility_sizes: np.ndarray, scope: str):
        self._args = (sums, facility_sizes, scope)
        self._shares: dict[str, np.ndarray] | None = None

    def _all(self) -> dict[str, np.ndarray]:
        if self._shares is None:
            self._shares = outcome_shares(*self._args)
        return self._shares

    def __getitem__(self, metric: str) -> np.ndarray:
        return self._all()[metric]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def _shares(sums: np.ndarray, n: float | np.ndarray) -> dict[str, np.ndarray]:
    active, live, depth, ever, trust, competence, was_active, churned, regular, rejected = (
        np.moveaxis(sums, 1, 0))
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
        "weekly_churn": np.where(was_active > 0, churned / np.maximum(was_active, 1.0), 0.0),
        "regular_share": regular / n,
        "rejected_share": rejected / n,
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
