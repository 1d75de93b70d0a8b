"""The weekly rules' inner loop, compiled: one pass over replicates x technicians per week.

`model/engine.py` keeps everything that happens now and then (waves opening, training waves,
champions launched, gates) and all the randomness (every uniform is drawn there, from the model's
`rng`, in the same order as before); this module does the per-technician arithmetic of one week
(E1, E2, E7-E14, E16) in a single fused loop, compiled by numba. numpy's whole-array version of the
same rules made about seventy passes over the (R, N) arrays a week; this makes one, plus a short
pre-pass per replicate for the counts the week needs (learners for support, last week's users for
the norm, coaching targets per facility).

The equations are in docs/model.md; the comments name them. Per-replicate behaviour parameters
come in as the columns of one (R, K) matrix, in `PARAMS`' order.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from numba import njit

PARAMS = (
    "transparency_fear_reduction", "transparency_trust_gain", "coach_trust_gain", "coach_competence_gain",
    "coach_fear_reduction", "transparency_softening", "w_friction", "kpi_friction_amplifier",
    "competence_speedup", "w_trust", "w_competence", "w_support", "w_incentive", "w_norm", "w_social",
    "w_fear", "habit", "friction_foresight", "inertia", "launch_push", "false_alarm_shock", "w_coached",
    "reconsider_rate", "trial_failure", "habit_gain", "habit_decay", "rejection_trust_loss", "depth_base",
    "trust_gain_hit", "trust_loss_false_alarm", "competence_gain_use", "competence_decay",
    "fear_reduction_use")
"""Behaviour parameters the weekly loop reads, in the column order of its parameter matrix."""

(_T_FEAR, _T_GAIN, _C_TRUST, _C_COMP, _C_FEAR, _SOFTEN, _W_FRICTION, _KPI_AMP, _SPEEDUP, _W_TRUST,
 _W_COMP, _W_SUPPORT, _W_INCENTIVE, _W_NORM, _W_SOCIAL, _W_FEAR, _HABIT, _FORESIGHT, _INERTIA, _PUSH,
 _SHOCK, _W_COACHED, _RECONSIDER, _TRIAL_FAILURE, _HABIT_GAIN, _HABIT_DECAY, _REJ_LOSS, _DEPTH_BASE,
 _GAIN_HIT, _LOSS_FA, _COMP_GAIN, _COMP_DECAY, _FEAR_USE) = range(len(PARAMS))

# Adoption statuses (E13), as in model/engine.py
_NEVER, _TRYING, _REGULAR, _LAPSED, _REJECTED = 0, 1, 2, 3, 4

SUM_ROWS = 9
"""Rows of `facility_sums`: active, depth, ever, trust, competence, was_active, churned, regular, rejected."""


_SCALE = np.float32(2.0**-24)
_SHIFT_HIGH, _SHIFT_LOW, _MASK = np.uint64(40), np.uint64(8), np.uint64(0xFFFFFF)


@njit(cache=True, inline="always")
def _high(bits):  # pragma: no cover - compiled
    """A uniform in [0, 1) from the top 24 bits of a 64-bit draw (float32's precision)."""
    return np.float32(bits >> _SHIFT_HIGH) * _SCALE


@njit(cache=True, inline="always")
def _low(bits):  # pragma: no cover - compiled
    """A second, independent uniform from bits 8-31 of the same draw."""
    return np.float32((bits >> _SHIFT_LOW) & _MASK) * _SCALE


@njit(cache=True, inline="always")
def _observe(sums, r, f, act, wa, depth, ever, trust, competence, history, status):  # pragma: no cover
    """Add one technician to the week's per-facility sums (rows as in `facility_sums`)."""
    sums[r, 0, f] += act
    sums[r, 1, f] += depth
    sums[r, 2, f] += ever
    sums[r, 3, f] += trust
    sums[r, 4, f] += competence
    sums[r, 5, f] += wa
    sums[r, 6, f] += wa and not act
    bits = np.int64(history) & 0b1111
    sums[r, 7, f] += ((bits & 1) + ((bits >> 1) & 1) + ((bits >> 2) & 1) + (bits >> 3)) >= 3
    sums[r, 8, f] += status == _REJECTED


@njit(cache=True, nogil=True)
def weekly_step(static_u, disposition, hits, alarms, trust, fear, competence, habit, depth, last_false,
                status, history, prev_active, active, ever, reason, champion, coached, trained, live, bits_a,
                bits_b, exposure, P, fixed, coach_cap, push, fac_open_week, support, norm,
                active_per_facility, sums,
                week, fac, launching, coaching, transparency, minutes, work_orders, kpi_value, tickets_kpi,
                help_hours, need_hours, alerts, alarm_levels, launch_weeks,
                regular_habit):  # pragma: no cover - compiled
    """Advance every replicate one week, in place. `active` receives this week's use.

    prev_active is last week's use; exposure (E1) the share of each one's network neighbours among
    them, a sparse product done before the loop (scipy's is many times faster than one here).
    bits_a and bits_b are one 64-bit draw per technician each, split into four uniforms: the week's
    decision and alerts (bits_a), trial / reconsidering and coaching (bits_b). support, norm,
    active_per_facility and sums (the week's observation, (R, SUM_ROWS, F), see `facility_sums`) are
    outputs. Every argument up to `sums` has replicates on its first axis, and replicates are
    independent: a block of rows can run on its own (`run_week` runs blocks on threads).
    """
    R, N = static_u.shape
    F = coach_cap.shape[1]
    q = np.zeros(F)
    for r in range(R):
        # pre-pass: learners (E16), last week's users among the live (E1b), coaching targets (E10)
        learners = 0
        users = 0
        n_live = 0
        q[:] = 0.0
        for i in range(N):
            if live[r, i]:
                n_live += 1
                if status[r, i] != _REGULAR:
                    learners += 1
                if coaching and not prev_active[r, i] and not champion[r, i]:
                    q[fac[i]] += 1.0
            if prev_active[r, i]:
                users += 1
        for f in range(F):  # E10: each target is coached with probability capacity / targets
            m = q[f]
            q[f] = min(coach_cap[r, f], m) / m if m > 0 else 0.0
        sup = min(1.0, help_hours / (need_hours * max(learners, 1)))
        support[r] = sup
        nrm = users / max(n_live, 1)
        norm[r] = nrm
        p = P[r]
        fear_cut = p[_T_FEAR] * transparency
        transparency_gain = p[_T_GAIN] * transparency
        alarm_weight = 1.0 - p[_SOFTEN] * transparency
        kpi_w = 1.0 + p[_KPI_AMP] * tickets_kpi
        effort_full = p[_W_FRICTION] * kpi_w * minutes * (1.0 - fixed[r]) * work_orders / 60.0  # E2
        column = p[_W_SUPPORT] * sup + p[_W_INCENTIVE] * kpi_value + p[_W_NORM] * nrm
        depth_shift = p[_DEPTH_BASE] - 0.5 * (p[_W_COMP] + p[_W_TRUST])
        for f in range(F):
            active_per_facility[r, f] = 0.0
            for k in range(SUM_ROWS):
                sums[r, k, f] = 0.0
        # the parameters as locals: the loop stores into float32 arrays, so reads of P would repeat
        c_trust, c_comp, c_fear_keep = p[_C_TRUST], p[_C_COMP], 1.0 - p[_C_FEAR]
        speedup, w_trust, w_comp = p[_SPEEDUP], p[_W_TRUST], p[_W_COMP]
        w_social, w_fear, w_habit, inertia, foresight = (p[_W_SOCIAL], p[_W_FEAR], p[_HABIT], p[_INERTIA],
                                                         p[_FORESIGHT])
        w_push, shock, w_coached, reconsider = p[_PUSH], p[_SHOCK], p[_W_COACHED], p[_RECONSIDER]
        fail_rate = p[_TRIAL_FAILURE] * (1.0 - sup)
        habit_gain, habit_keep, rej_loss = p[_HABIT_GAIN], 1.0 - p[_HABIT_DECAY], p[_REJ_LOSS]
        gain_hit, loss_fa, comp_gain, comp_decay = p[_GAIN_HIT], p[_LOSS_FA], p[_COMP_GAIN], p[_COMP_DECAY]
        fear_keep_use = 1.0 - p[_FEAR_USE]
        transparent = transparency > 0
        for i in range(N):
            f = fac[i]
            lv = live[r, i]
            wa = prev_active[r, i]
            champ = champion[r, i]
            fe = fear[r, i]
            hi = hits[r, i]
            al = alarms[r, i]
            c = competence[r, i]
            if lv and transparent:  # E9: sessions ease fear and add evidence the AI can be read
                fe *= 1.0 - fear_cut
                hi += transparency_gain
            co = False
            if coaching and lv and not wa and not champ and _low(bits_b[r, i]) < q[f]:  # E10
                co = True
                hi += c_trust
                c += c_comp * (1.0 - c)
                fe *= c_fear_keep
            coached[r, i] = co
            tr = (disposition[r, i] + hi) / (1.0 + hi + alarm_weight * al)  # E8
            trust[r, i] = tr
            effort = effort_full * (1.0 - speedup * c)  # E2, less what skill saves
            tc = w_trust * tr + w_comp * c
            h = habit[r, i]
            st = status[r, i]
            rejected = st == _REJECTED
            uf = _high(bits_b[r, i])
            # E13: who may use it this week
            may = (wa or co or trained[r, i] or (rejected and reason[r, i])
                   or (not rejected and uf < reconsider)
                   or (launching and fac_open_week[r, f] > week - launch_weeks))
            failed = st == _TRYING and uf < fail_rate * (1.0 - c)  # E13b
            act = champ and lv
            if may and lv and not failed and not champ:  # the utility matters only to who may use it
                x = (static_u[r, i] + tc + column + w_social * exposure[r, i] - w_fear * fe
                     + w_habit * h)  # E1 (+ habit, E14)
                # users feel all of the effort and keep to what they did (inertia); others foresee
                # part of it
                if wa:
                    x -= effort - inertia
                else:
                    x -= effort * foresight
                x += w_push * push[r, f] - shock * last_false[r, i]  # E13c: the go-live push
                if co:
                    x += w_coached
                act = _high(bits_a[r, i]) * (1.0 + np.exp(np.float32(-x))) < 1.0  # E12: logistic(x)
            if rejected and may and lv:  # a reason is used up by reconsidering once
                reason[r, i] = False
            # E14: habit grows with use and fades without (Lally et al. 2010)
            h = h + habit_gain * (1.0 - h) if act else h * habit_keep
            habit[r, i] = h
            if wa:
                st = _LAPSED
            if failed:
                st = _REJECTED
                al += rej_loss
            if act:
                st = _REGULAR if h >= regular_habit else _TRYING
            status[r, i] = st
            active[r, i] = act
            history[r, i] = ((np.int64(history[r, i]) << 1) | (1 if act else 0)) & 0xFF
            n_false = 0.0
            if act:
                ever[r, i] = True
                active_per_facility[r, f] += 1.0
                # E11: depth of use, at the week's trust, competence and full effort
                depth[r, i] = 1.0 / (1.0 + np.exp(np.float32(-(tc - effort + depth_shift))))
                # E7, E8: the week's alerts, hits and false alarms, for those who used it
                u = _low(bits_a[r, i])
                for level in alarm_levels:
                    if u > level:
                        n_false += 1.0
                hi += gain_hit * (alerts - n_false)
                al += loss_fa * n_false
                c += comp_gain * (1.0 - c)  # E5b: competence grows with use
                fe *= fear_keep_use  # E9b: use eases fear
            else:
                depth[r, i] = 0.0
                if lv:
                    c -= comp_decay * c  # and decays without it while live
            last_false[r, i] = n_false
            _observe(sums, r, f, act, wa, depth[r, i], ever[r, i], tr, c, history[r, i], status[r, i])
            hits[r, i] = hi
            alarms[r, i] = al
            competence[r, i] = c
            fear[r, i] = fe


@njit(cache=True, nogil=True)
def facility_sums(active, depth, ever, trust, competence, was_active, history, status, fac,
                  n_facilities):  # pragma: no cover - compiled
    """Per-facility sums (R, SUM_ROWS, F) of the week's outcomes, in one pass.

    Regular: used in at least 3 of the last 4 weeks (the 4 low bits of the use history).
    """
    R, N = active.shape
    out = np.zeros((R, SUM_ROWS, n_facilities))
    for r in range(R):
        for i in range(N):
            _observe(out, r, fac[i], active[r, i], was_active[r, i], depth[r, i], ever[r, i], trust[r, i],
                     competence[r, i], history[r, i], status[r, i])
    return out


THREAD_MIN_CELLS = 16_384
"""Below this many technician-replicates a week runs on one thread (a hand-off costs ~50 us)."""
_CORES = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
_POOL: ThreadPoolExecutor | None = None



def run_week(per_replicate: tuple[Any, ...], shared: tuple[Any, ...]) -> None:
    """Run `weekly_step`, split by blocks of replicates over this machine's cores.

    The compiled loop releases the GIL, and each block writes only its own rows, so the result is
    the same however it is split.
    """
    global _POOL
    R, N = per_replicate[0].shape
    blocks = min(_CORES, R) if R * N >= THREAD_MIN_CELLS else 1
    if blocks <= 1:
        weekly_step(*per_replicate, *shared)
        return
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=_CORES, thread_name_prefix="chasm-week")
    edges = np.linspace(0, R, blocks + 1).astype(int)
    futures = [_POOL.submit(weekly_step, *(a[lo:hi] for a in per_replicate), *shared)
               for lo, hi in zip(edges[:-1], edges[1:], strict=True)]
    for future in futures:
        future.result()
