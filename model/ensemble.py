"""Ensembles: R replicates run together, summarised as mean and percentiles per week."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from model.behaviour import Behaviour
from model.model import OVERALL_METRICS, AdoptionModel
from model.population import Population
from model.scenario import Scenario

PERCENTILES = (5, 25, 50, 75, 95)


@dataclass(frozen=True)
class EnsembleResult:
    """Per-week outcomes of every replicate, and their summaries."""

    scenario: Scenario
    runs: int
    overall: Mapping[str, np.ndarray]
    """metric -> (W, R) array."""
    facilities: Mapping[str, np.ndarray]
    """metric -> (W, R, F) array (computed when first read)."""
    facility_names: tuple[str, ...]
    wave_open_weeks: np.ndarray
    """(R, waves): the week each wave went live, 0 if its gate never opened."""

    @property
    def weeks(self) -> int:
        """Weeks simulated."""
        return int(self.overall["active_share"].shape[0])

    def summary(self, metric: str = "active_share", facility: str | None = None) -> pd.DataFrame:
        """Mean and 5/25/50/75/95th percentiles per week, as a DataFrame indexed by week."""
        if facility is None:
            values = self.overall[metric]
        else:
            values = self.facilities[metric][:, :, self.facility_names.index(facility)]
        frame = pd.DataFrame({"mean": values.mean(axis=1)},
                             index=pd.RangeIndex(1, values.shape[0] + 1, name="week"))
        for q, col in zip(PERCENTILES, np.percentile(values, PERCENTILES, axis=1), strict=True):
            frame[f"p{q:02d}"] = col
        return frame

    def tidy(self) -> pd.DataFrame:
        """Long frame: scope (overall or facility name), metric, week and the summary columns."""
        parts = []
        for metric in OVERALL_METRICS:
            for scope in (None, *self.facility_names):
                frame = self.summary(metric, scope).reset_index()
                frame.insert(0, "metric", metric)
                frame.insert(0, "scope", scope or "overall")
                parts.append(frame)
        return pd.concat(parts, ignore_index=True)

    def gates(self) -> list[dict[str, float]]:
        """When each wave went live: mean and 5/95th percentile week, share of runs it opened."""
        out = []
        for w in range(self.wave_open_weeks.shape[1]):
            weeks = self.wave_open_weeks[:, w]
            opened = weeks > 0
            stats = {"wave": w + 1, "opened_share": float(opened.mean())}
            if opened.any():
                stats |= {"mean_week": float(weeks[opened].mean()),
                          "p05_week": float(np.percentile(weeks[opened], 5)),
                          "p95_week": float(np.percentile(weeks[opened], 95))}
            out.append(stats)
        return out


def run_ensemble(scenario: Scenario, *, runs: int = 100, weeks: int | None = None,
                 seed: int | None = 0, behaviour: Behaviour | None = None,
                 population: Population | None = None,
                 record_facilities: bool = True) -> EnsembleResult:
    """Run `runs` replicates of a scenario together for `weeks` weeks.

    Args:
        scenario: the validated scenario.
        runs: number of replicates (R).
        weeks: weeks to simulate; the scenario's own horizon if None.
        seed: seed of the model's rng; the same seed gives the same result.
        behaviour: parameters to use instead of the scenario's; may hold one value per replicate.
        population: a pre-built network to reuse.
        record_facilities: False skips per-facility outcomes (faster; calibration's batches).

    Returns:
        Every replicate's weekly outcomes.
    """
    weeks = scenario.weeks if weeks is None else weeks
    if weeks < 1:
        raise ValueError(f"weeks = {weeks}: simulate at least one week")
    model = AdoptionModel(scenario, replicates=runs, rng=seed, behaviour=behaviour,
                          population=population, record_facilities=record_facilities)
    model.run_for(weeks)
    return EnsembleResult(scenario, runs, model.outcomes("overall"), model.outcomes("facility"),
                          model.facility_names, model.wave_open_weeks())


JSON_METRICS = OVERALL_METRICS
JSON_STATS = ("mean", "p05", "p25", "p50", "p75", "p95")


def _stats_json(frame: pd.DataFrame) -> dict[str, list[float]]:
    return {col: [round(float(v), 6) for v in frame[col]] for col in JSON_STATS}


def ensemble_to_json(result: EnsembleResult) -> dict[str, Any]:
    """The `chasm simulate --json` document: overall and per-facility summaries per week."""
    return {
        "scenario": result.scenario.name,
        "runs": result.runs,
        "weeks": list(range(1, result.weeks + 1)),
        "overall": {m: _stats_json(result.summary(m)) for m in JSON_METRICS},
        "facilities": {
            name: {m: _stats_json(result.summary(m, name)) for m in JSON_METRICS}
            for name in result.facility_names
        },
        "waves": result.gates(),
    }
