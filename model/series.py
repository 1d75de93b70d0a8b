"""Standalone forecasting of any published adoption curve (`chasm forecast --series`).

By default (`method="early"`) the curve is forecast by the Bayesian diffusion curve of
`model.early`, from the published prior, from three periods on: an early warning. The 80% band is
then calibrated on the series' own past (split conformal, `early_band_scale`).

`method="abm"` fits the agent-based model by ABC-SMC to the first `train` periods (a generic
organisation of 300 people; how many weekly model steps make one period is fitted too, between a
quarter and four) and forecasts the next `horizon` periods. A non-decreasing curve is read as
cumulative adoption: it is matched to the share who ever adopted, adoption is kept once made (the
habit prior starts at 4), and every forecast path continues from the last observed value. Any
other curve is read as the share actively using, with the wider habit prior and no anchoring.

The textbook Bass baseline (`model.bass`) is fitted to the same periods either way.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, TypedDict, Unpack

import numpy as np
import pandas as pd

from model import early
from model.abc import Posterior, abc_smc
from model.bass import fit_bass
from model.calibrate import CalibrationError, check_series
from model.ensemble import run_ensemble
from model.minimums import MIN_PERIODS as MIN_PERIODS  # (re-exported)
from model.model import AdoptionModel
from model.population import Population
from model.scenario import Levers, Onboarding, Organisation, Scenario

SERIES_PRIORS: dict[str, tuple[float, float]] = {
    "base_utility": (-9.0, 2.0),
    "w_innovativeness": (0.0, 3.0),
    "w_social": (0.0, 10.0),
    "w_norm": (0.0, 10.0),
    "threshold_mean": (0.0, 1.0),
    "habit": (0.0, 8.0),
    "trust_loss_false_alarm": (0.0, 0.5),
    "steps_per_period": (0.25, 4.0),
}
CUMULATIVE_PRIORS: dict[str, tuple[float, float]] = SERIES_PRIORS | {
    "base_utility": (-12.0, 0.0),
    "w_norm": (0.0, 15.0),
    "habit": (4.0, 12.0),
}
"""For a curve that never falls: adoption is kept, and the scale of a generic curve is unknown."""


class FitSettings(TypedDict):
    """The ABC-SMC settings of one observable."""

    priors: dict[str, tuple[float, float]]
    generations: int
    max_simulations: int


SETTINGS: dict[str, FitSettings] = {
    "cumulative": {"priors": CUMULATIVE_PRIORS, "generations": 6, "max_simulations": 20_000},
    "active": {"priors": SERIES_PRIORS, "generations": 4, "max_simulations": 12_000},
}
MAX_STEPS_PER_PERIOD = 4.0
GENERIC = Scenario(
    name="generic diffusion",
    organisation=Organisation(technicians=300, facilities=3, distrust_share=0.5, fear_share=0.3),
    levers=Levers(friction_minutes=0.0, kpi="balanced", alerts_per_week=3, support=0.0),
    onboarding=Onboarding(mode="video", hours=0.0),
)


def read_series(path: str | Path) -> np.ndarray:
    """Read a `period,adoption_share` CSV (periods 1, 2, 3...; shares in [0, 1]).

    Raises:
        CalibrationError: a missing column, or the first bad cell by its row (the header is row 1),
            column and value: a period out of order, a share missing, not a number or outside [0, 1].
    """
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise CalibrationError(f"{path}: no such file") from None
    cols = [c.strip().lower() for c in frame.columns]
    if "period" not in cols or "adoption_share" not in cols:
        raise CalibrationError(f"{path}: needs columns period,adoption_share (found {','.join(cols)})")
    frame.columns = cols
    shares = np.empty(len(frame))
    for index, (period, share) in enumerate(zip(frame["period"], frame["adoption_share"], strict=True)):
        shares[index] = _series_cell(path, index, period.strip(), share.strip())
    return check_series(shares, what=str(path), unit="period", minimum=MIN_PERIODS, needs="a forecast")


def _number(text: str) -> float | None:
    """The cell as a number, None if it is not one."""
    try:
        return float(text)
    except ValueError:
        return None


def _series_cell(path: Path, index: int, period: str, share: str) -> float:
    """One row's share, after checking its period is the next one and its share is a share."""
    where = f"{path}, row {index + 2}, column"
    if _number(period) != index + 1:  # (1.0 is 1: a spreadsheet's export)
        raise CalibrationError(f"{where} period: {period!r} should be {index + 1} "
                               "(periods are numbered 1, 2, 3... in order, without gaps)")
    if not share:
        raise CalibrationError(f"{where} adoption_share: empty; every period needs a share between 0 and 1")
    value = _number(share)
    if value is None:
        raise CalibrationError(f"{where} adoption_share: {share!r} is not a number; "
                               "a share is between 0 and 1 (41% as 0.41)")
    if not 0 <= value <= 1:  # (NaN too)
        raise CalibrationError(f"{where} adoption_share: {share} is outside 0 to 1 (41% is 0.41)")
    return value


def _paths(thetas: np.ndarray, periods: int, seed: int, population: Population,
           observable: str) -> np.ndarray:
    """(K, periods) shares: each particle runs `steps_per_period` model steps per period."""
    steps = int(np.ceil(MAX_STEPS_PER_PERIOD * periods)) + 1
    names = tuple(SERIES_PRIORS)
    beh = GENERIC.behaviour.with_draws(names, thetas, ignore=("steps_per_period",))
    result = run_ensemble(replace(GENERIC, weeks=steps), runs=len(thetas), seed=seed, behaviour=beh,
                          population=population, record_facilities=False)
    key = "active_share" if observable == "active" else "ever_share"
    full = np.concatenate([np.zeros((len(thetas), 1)), result.overall[key].T], axis=1)
    at = thetas[:, names.index("steps_per_period")][:, None] * np.arange(1, periods + 1)[None, :]
    lo = np.clip(np.floor(at).astype(int), 0, steps - 1)
    frac = at - lo
    rows = np.arange(len(thetas))[:, None]
    paths: np.ndarray = full[rows, lo] * (1.0 - frac) + full[rows, lo + 1] * frac
    return paths


class _FitOptions(TypedDict):
    """`_draws`'s keyword arguments, shared by the forecast and its band calibration."""

    cumulative: bool
    rng: np.random.Generator
    population: Population
    particles: int
    generations: int | None
    draws: int


def _draws(observed: np.ndarray, horizon: int, *, cumulative: bool, rng: np.random.Generator,
           population: Population, particles: int, generations: int | None,
           draws: int) -> tuple[np.ndarray, Posterior]:
    """Fit to `observed` by ABC-SMC; (draws, horizon) forecast paths and the posterior."""
    train = len(observed)
    observable = "ever" if cumulative else "active"
    settings = SETTINGS["cumulative" if cumulative else "active"]

    def distance(thetas: np.ndarray, sim_seed: int) -> np.ndarray:
        paths = _paths(thetas, train, sim_seed, population, observable)
        return np.sqrt(np.mean((paths - observed) ** 2, axis=1))

    posterior = abc_smc(distance, settings["priors"], particles=particles,
                        generations=settings["generations"] if generations is None else generations,
                        batch=800, rng=rng, max_simulations=settings["max_simulations"])
    paths = _paths(posterior.draw(3 * draws, rng), train + horizon, int(rng.integers(2**31)),
                   population, observable)
    tail = slice(max(train - 4, 0), train)
    gap = np.sqrt(np.mean((paths[:, tail] - observed[tail]) ** 2, axis=1))
    weights = np.exp(-0.5 * (gap / max(float(np.median(gap)), 1e-3)) ** 2)
    chosen = paths[rng.choice(len(paths), size=draws, p=weights / weights.sum())]
    if cumulative:  # continue every path from the last observed stock
        chosen = np.clip(chosen + (observed[-1] - chosen[:, train - 1:train]), 0.0, 1.0)
    return chosen[:, train:], posterior


def band_scale(observed: np.ndarray, **fit: Unpack[_FitOptions]) -> float:
    """How much wider the 80% band must be to hold the model's own errors on the training history.

    Fit on the first 60% of the training periods and forecast the rest; the scale is the 80th
    percentile of |held-out - median| / (the band's half-width on that side), at least 1: the band,
    so widened, would have covered 80% of those points (a split-conformal calibration).
    """
    inner = int(round(0.6 * len(observed)))
    if inner < 4 or len(observed) - inner < 2:
        return 1.0
    future, _ = _draws(observed[:inner], len(observed) - inner, **fit)
    return conformal_scale(future, observed[inner:])


def conformal_scale(future: np.ndarray, held: np.ndarray, level: float = 0.8) -> float:
    """The factor (>= 1) that widens `future`'s central band enough to hold a `level` share of `held`.

    `future` is (draws, periods); the band is widened about its median, each side by the same factor.
    """
    median = np.median(future, axis=0)
    lo, hi = np.percentile(future, [50 * (1 - level), 50 * (1 + level)], axis=0)
    half = np.where(held >= median, hi - median, median - lo)
    return float(max(1.0, np.quantile(np.abs(held - median) / np.maximum(half, 1e-3), level)))


INNER_ORIGINS = 12
"""At most this many of the latest origins inside the training periods calibrate the band."""


def _period_check(y: np.ndarray, train: int, minimum: int, needs: str) -> np.ndarray:
    if train > len(y):
        raise CalibrationError(f"--train {train}: the series has only {len(y)} periods")
    return check_series(y[:train], what="training periods", unit="period", minimum=minimum, needs=needs)


def early_band_scale(observed: np.ndarray, horizon: int, *, seed: int = 0,
                     prior: early.Prior | None = None) -> float:
    """How much wider the 80% band must be to have held the forecast's errors inside the training periods.

    From each of the latest INNER_ORIGINS origins k = 3..K-1 the curve is refitted to periods 1..k and
    forecasts up to `horizon` periods, never past K; the scale is the 80th percentile of
    |held-out - median| / (the band's half-width on that side), at least 1 (split-conformal,
    Vovk et al. 2005, on the series' own past). With fewer than two inner origins it is 1.
    """
    size = observed.size
    origins = list(range(MIN_PERIODS, size))[-INNER_ORIGINS:]
    if len(origins) < 2:
        return 1.0
    ratios = []
    for k in origins:
        h = min(horizon, size - k)
        paths = early.forecast(early.fit(observed[:k], prior, seed=seed, particles=3000), h,
                               draws=800, seed=seed).paths
        lo, median, hi = np.quantile(paths, [0.1, 0.5, 0.9], axis=0)
        held = observed[k:k + h]
        half = np.where(held >= median, hi - median, median - lo)
        ratios.append(np.abs(held - median) / np.maximum(half, 1e-3))
    return float(max(1.0, np.quantile(np.concatenate(ratios), 0.8)))


def widen(paths: np.ndarray, scale: float) -> np.ndarray:
    """Sample paths spread `scale` times as far about their per-period median, clipped to shares."""
    median = np.median(paths, axis=0)
    out: np.ndarray = np.clip(median + scale * (paths - median), 0.0, 1.0)
    return out


def early_forecast(y: np.ndarray, *, train: int, horizon: int, seed: int = 0,
                   prior: early.Prior | None = None,
                   draws: int = 2000) -> tuple[np.ndarray, early.Forecast, float]:
    """The early-warning forecast of periods train+1..train+horizon: (calibrated paths, forecast, scale)."""
    observed = _period_check(y, train, MIN_PERIODS, "a forecast")
    fitted = early.forecast(early.fit(observed, prior, seed=seed), horizon, draws=draws, seed=seed)
    scale = early_band_scale(observed, horizon, seed=seed, prior=prior)
    return widen(fitted.paths, scale), fitted, scale


def _rows(periods: range, paths: np.ndarray) -> list[dict[str, Any]]:
    lo, median, hi = np.quantile(paths, [0.1, 0.5, 0.9], axis=0)
    return [{"period": p, "mean": round(float(m), 6), "p10": round(float(a), 6), "p50": round(float(b), 6),
             "p90": round(float(c), 6)}
            for p, m, a, b, c in zip(periods, paths.mean(axis=0), lo, median, hi, strict=True)]


def forecast_series(y: np.ndarray, *, train: int, horizon: int, seed: int = 0, method: str = "early",
                    particles: int = 200, generations: int | None = None,
                    draws: int = 300) -> dict[str, Any]:
    """Fit on periods 1..train, forecast train+1..train+horizon; the JSON contract of the CLI.

    `method` "early" (the default) is the Bayesian diffusion curve of `model.early` from the published
    prior, from three periods; "abm" is the agent-based model fitted by ABC-SMC, from six (`particles`,
    `generations` and `draws` are its settings). Either way the 80% band is widened by a
    split-conformal scale on the training periods (reported as `band_scale`).

    Raises:
        CalibrationError: too few training periods or a bad series.
    """
    periods = range(train + 1, train + horizon + 1)
    if method == "early":
        paths, fitted, scale = early_forecast(y, train=train, horizon=horizon, seed=seed)
        observed = fitted.posterior.observed
        cumulative, why = fitted.posterior.cumulative, fitted.why
        doc: dict[str, Any] = {"method": "bayes-diffusion", "prior": fitted.posterior.prior.source,
                               "posterior_mean": fitted.posterior.summary()}
    elif method == "abm":
        observed = _period_check(y, train, 6, "the agent-based fit")
        cumulative = bool(np.all(np.diff(observed) >= -1e-9))
        rng = np.random.default_rng(seed)
        fit = _FitOptions(cumulative=cumulative, rng=rng,
                          population=AdoptionModel(GENERIC, rng=seed).population,
                          particles=particles, generations=generations, draws=draws)
        future, posterior = _draws(observed, horizon, **fit)
        scale = band_scale(observed, **fit)
        paths, why = widen(future, scale), ""
        doc = {"method": "abm-abc-smc", "posterior_mean": posterior.mean()}
    else:
        raise CalibrationError(f"--method {method}: must be early or abm")
    bass = fit_bass(observed).forecast(horizon, seed=seed)
    return {
        "method": doc["method"],
        "observable": "cumulative" if cumulative else "active",
        "forecast": _rows(periods, paths),
        "baseline": {"method": "bass",
                     "forecast": [{"period": p, "mean": round(float(m), 6), "p10": round(float(lo), 6),
                                   "p90": round(float(hi), 6)}
                                  for p, m, lo, hi in zip(periods, bass["mean"], bass["lo_80"], bass["hi_80"],
                                                          strict=True)]},
        "band_scale": round(scale, 3),
        "why": why,
        **{k: v for k, v in doc.items() if k != "method"},
    }
