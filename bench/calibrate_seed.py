"""How the default behaviour was calibrated to the seed case (run: python -m bench.calibrate_seed).

Searches the behavioural parameters, many sets per batched ensemble, for the ones that reproduce:
pilot >= 85% at month 3; rollout 41% at month 1, 38% at month 3 (below month 1), month 6 no
higher; turnaround 73% at month 18. Prints the best set; model/behaviour.py holds the result.
"""

from __future__ import annotations

import sys

import numpy as np

import seed_data
from model.behaviour import Behaviour
from model.ensemble import run_ensemble
from model.scenario import load_scenario

SEARCH = {
    "base_utility": (-6.0, 3.0), "friction_foresight": (0.0, 1.0), "false_alarm_shock": (0.0, 3.0),
    "w_innovativeness": (0.3, 1.5), "w_trust": (1.0, 8.0),
    "w_competence": (0.5, 4.0), "w_support": (0.5, 3.0), "w_friction": (0.1, 1.0),
    "kpi_friction_amplifier": (0.0, 1.5), "w_incentive": (0.2, 1.5), "w_social": (0.5, 5.0),
    "w_fear": (0.3, 3.0), "w_coached": (0.5, 3.0), "habit": (0.0, 6.0),
    "transparency_trust_gain": (0.0, 0.05), "transparency_softening": (0.0, 1.0),
    "coach_trust_gain": (0.0, 0.3), "learn_rate_per_hour": (0.02, 0.4),
    "competence_gain_use": (0.0, 0.1), "competence_decay": (0.0, 0.1), "trust_loss_false_alarm": (0.05, 0.5),
    "trust_gain_hit": (0.01, 0.08),
}


def month_end(m: int) -> int:
    return round(m * 52 / 12)


def evaluate(sets: dict[str, np.ndarray], reps: int, seed: int) -> np.ndarray:
    k = len(next(iter(sets.values())))
    beh = Behaviour().with_draws(sets, np.column_stack([np.repeat(v, reps) for v in sets.values()]))
    out = {}
    for name in ("pilot", "rollout", "turnaround"):
        sc = load_scenario(seed_data.path("scenarios", f"{name}.toml"))
        res = run_ensemble(sc, runs=k * reps, seed=seed, behaviour=beh)
        out[name] = res.overall["active_share"].reshape(sc.weeks, k, reps).mean(axis=2)
    p3 = out["pilot"][month_end(3) - 1]
    r1, r3, r6 = (out["rollout"][month_end(m) - 1] for m in (1, 3, 6))
    t18 = out["turnaround"][month_end(18) - 1]
    relu = lambda x: np.maximum(x, 0)  # noqa: E731
    return ((r1 - 0.41) ** 2 + (r3 - 0.38) ** 2 + relu(r3 - r1 + 0.025) ** 2 * 40
            + relu(r6 - r3 + 0.01) ** 2 * 40 + (t18 - 0.73) ** 2 + relu(0.9 - p3) ** 2 * 2,
            np.c_[p3, r1, r3, r6, t18])


def main(n: int = 400, rounds: int = 6, seed: int = 0, refine: int = 0) -> None:
    """Global search (refine=0) or a local one around the current defaults with more replicates."""
    rng = np.random.default_rng(seed)
    names = list(SEARCH)
    lo = np.array([SEARCH[k][0] for k in names])
    hi = np.array([SEARCH[k][1] for k in names])
    x = lo + (hi - lo) * rng.random((n, len(names)))
    reps, spread = 10, 0.15
    if refine:
        center = np.array([getattr(Behaviour(), k) for k in names], dtype=float)
        x = np.clip(center + rng.normal(0, 1, x.shape) * (hi - lo) * 0.03, lo, hi)
        x[0] = center
        reps, spread = 40, 0.03
    best, best_loss = None, np.inf
    for r in range(rounds):
        loss, stats = evaluate({k: x[:, i] for i, k in enumerate(names)}, reps=reps, seed=r)
        order = np.argsort(loss)
        if loss[order[0]] < best_loss:
            best, best_loss = x[order[0]].copy(), loss[order[0]]
        print(f"round {r}: best {loss[order[0]]:.5f} stats {np.round(stats[order[0]], 3)}", flush=True)
        elite = x[order[: n // 10]]
        scale = (hi - lo) * spread * (0.7 ** r)
        x = elite[rng.integers(0, len(elite), n)] + rng.normal(0, 1, (n, len(names))) * scale
        x = np.clip(x, lo, hi)
        x[0] = best
    loss, stats = evaluate({k: np.array([best[i]]) for i, k in enumerate(names)}, reps=400, seed=99)
    print("check with 400 replicates:", np.round(stats[0], 3), "loss", loss[0])
    for k, v in zip(names, best, strict=True):
        print(f"    {k}: Any = {v:.3g}")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:]))
