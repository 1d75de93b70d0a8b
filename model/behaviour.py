"""Behavioural parameters: how technicians respond, which the organisation cannot observe.

These are what calibration fits. Defaults are calibrated to the seed case (see docs/model.md for
each one's source). A field may hold one value or an array of values, one per replicate, which is
how a batch of parameter sets runs in one vectorised ensemble.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

# Allowed range of each parameter: validation bounds and the calibration prior's support.
BEHAVIOUR_RANGES: dict[str, tuple[float, float]] = {
    "base_utility": (-8.0, 4.0),
    "w_innovativeness": (0.0, 3.0),
    "w_trust": (0.0, 10.0),
    "w_competence": (0.0, 6.0),
    "w_support": (0.0, 4.0),
    "w_friction": (0.0, 5.0),
    "kpi_friction_amplifier": (0.0, 3.0),
    "friction_foresight": (0.0, 1.0),
    "false_alarm_shock": (0.0, 4.0),
    "w_incentive": (0.0, 3.0),
    "w_social": (0.0, 10.0),
    "w_norm": (0.0, 10.0),
    "w_fear": (0.0, 6.0),
    "w_coached": (0.0, 6.0),
    "habit": (0.0, 8.0),
    "threshold_mean": (0.0, 1.0),
    "threshold_sd": (0.0, 0.5),
    "trust_sd": (0.1, 3.0),
    "fear_sd": (0.1, 3.0),
    "trust_gain_hit": (0.0, 0.2),
    "trust_loss_false_alarm": (0.0, 0.5),
    "transparency_softening": (0.0, 1.0),
    "transparency_trust_gain": (0.0, 0.2),
    "transparency_fear_reduction": (0.0, 0.3),
    "learn_rate_per_hour": (0.01, 1.0),
    "video_efficacy": (0.0, 1.0),
    "competence_gain_use": (0.0, 0.3),
    "competence_decay": (0.0, 0.2),
    "fear_reduction_use": (0.0, 0.3),
    "coach_trust_gain": (0.0, 0.5),
    "coach_competence_gain": (0.0, 0.5),
    "coach_fear_reduction": (0.0, 0.5),
    "depth_base": (-4.0, 4.0),
    "inertia": (0.0, 8.0),
    "reconsider_rate": (0.0, 1.0),
    "launch_push": (0.0, 6.0),
    "habit_gain": (0.0, 1.0),
    "habit_decay": (0.0, 1.0),
    "trial_failure": (0.0, 1.0),
    "rejection_trust_loss": (0.0, 5.0),
    "competence_speedup": (0.0, 1.0),
    "wave_learning": (0.0, 1.0),
}


@dataclass(frozen=True)
class Behaviour:
    """Weights and rates of the usage decision, trust, competence and fear dynamics.

    Utility weights are on the logit scale of the weekly probability of (continuing to) use the
    tool; rates are per week. Values may be floats or arrays of shape (R,) for R replicates.
    """

    base_utility: Any = -1.32
    w_innovativeness: Any = 1.46
    w_trust: Any = 3.67
    w_competence: Any = 0.4
    w_support: Any = 0.273
    w_friction: Any = 0.127
    kpi_friction_amplifier: Any = 0.504
    friction_foresight: Any = 0.948
    false_alarm_shock: Any = 2.38
    w_incentive: Any = 0.122
    w_social: Any = 0.339
    w_norm: Any = 0.0
    w_fear: Any = 1.4
    w_coached: Any = 0.0668
    habit: Any = 0.38
    threshold_mean: Any = 0.35
    threshold_sd: Any = 0.15
    trust_sd: Any = 1.25
    fear_sd: Any = 0.828
    trust_gain_hit: Any = 0.0495
    trust_loss_false_alarm: Any = 0.214
    transparency_softening: Any = 0.263
    transparency_trust_gain: Any = 0.00269
    transparency_fear_reduction: Any = 0.05
    learn_rate_per_hour: Any = 0.21
    video_efficacy: Any = 0.35
    competence_gain_use: Any = 0.00696
    competence_decay: Any = 0.0233
    fear_reduction_use: Any = 0.02
    coach_trust_gain: Any = 0.0204
    coach_competence_gain: Any = 0.2
    coach_fear_reduction: Any = 0.15
    depth_base: Any = 0.5
    inertia: Any = 4.93
    launch_push: Any = 2.2
    reconsider_rate: Any = 0.313
    habit_gain: Any = 0.3
    habit_decay: Any = 0.2
    trial_failure: Any = 0.05
    rejection_trust_loss: Any = 0.955
    competence_speedup: Any = 0.5
    wave_learning: Any = 0.517

    @classmethod
    def from_dict(cls, table: Any, *, error: type[Exception] = ValueError) -> Behaviour:
        """Build from a `[behaviour]` TOML table, checking names and ranges.

        Raises:
            error: an unknown name, a non-number or a value outside its range.
        """
        if not isinstance(table, dict):
            raise error(f"behaviour = {table!r}: must be a table")
        for key, value in table.items():
            if key not in BEHAVIOUR_RANGES:
                raise error(f"behaviour.{key}: unknown key (allowed: {', '.join(BEHAVIOUR_RANGES)})")
            lo, hi = BEHAVIOUR_RANGES[key]
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise error(f"behaviour.{key} = {value!r}: must be a number from {lo} to {hi}")
            if not lo <= value <= hi:
                raise error(f"behaviour.{key} = {value!r}: out of range, must be a number from {lo} to {hi}")
        return cls(**{k: float(v) for k, v in table.items()})

    def as_columns(self, replicates: int) -> dict[str, np.ndarray]:
        """Every parameter as a (R, 1) array, ready to broadcast over (R, N) state."""
        out = {}
        for f in fields(self):
            value = np.asarray(getattr(self, f.name), dtype=float)
            if value.ndim == 0:
                value = np.full(replicates, float(value))
            if value.shape != (replicates,):
                raise ValueError(
                    f"behaviour.{f.name} has {value.shape[0]} values for {replicates} replicates; "
                    "give one value or one per replicate")
            out[f.name] = value[:, None]
        return out

    def with_draws(self, names: Iterable[str], draws: Any, *, ignore: Collection[str] = ()) -> Behaviour:
        """This behaviour with the named parameters set from draws, the others kept.

        The one way a parameter set, or a batch of them, becomes a Behaviour (calibration,
        forecasting, benchmarks).

        Args:
            names: The parameter of each column of `draws`.
            draws: A (K, P) array of K parameter sets (one replicate each: every named field
                becomes an array of K values), or P single values (every named field a float).
            ignore: Names in `names` that are not behaviour parameters (e.g. a series' time scale),
                skipped with their column.

        Returns:
            A new Behaviour.

        Raises:
            ValueError: a name that is not a behaviour parameter, or draws that do not have one
                column per name.
        """
        names = list(names)
        values = np.asarray(draws, dtype=float)
        if values.ndim not in (1, 2) or values.shape[-1] != len(names):
            raise ValueError(f"draws of shape {values.shape}: need one column per name ({len(names)})")
        known = {f.name for f in fields(self)}
        changes: dict[str, Any] = {}
        for i, name in enumerate(names):
            if name in ignore:
                continue
            if name not in known:
                raise ValueError(f"behaviour.{name}: unknown parameter (allowed: {', '.join(sorted(known))})")
            changes[name] = float(values[i]) if values.ndim == 1 else values[:, i]
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        """The parameters by name (floats or arrays)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}
