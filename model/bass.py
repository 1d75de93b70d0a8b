"""The statistical baseline: the textbook Bass model, fitted by non-linear least squares.

The cumulative share who have adopted by period t (Bass 1969; Srinivasan & Mason 1986 for fitting
the closed form by non-linear least squares):

    F(t) = m (1 - exp(-(p + q) t)) / (1 + (q / p) exp(-(p + q) t)),   t = 1, 2, ... (launch at t = 0)

p is innovation, q imitation, m the market potential (the share that eventually adopts, here at
most 1). The fit is the best of several starts. Forecast bands come from a residual bootstrap
(Efron & Tibshirani 1993, ch. 9): the curve is refitted to the fitted values plus resampled
residuals, and each refit's forecast gets a resampled residual of its own. With three points the
three parameters fit exactly, the residuals are zero and so is the band: the baseline as forecasters
meet it, not improved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares

BOOTSTRAP_DRAWS = 200
STARTS = tuple((p, q) for p in (0.001, 0.01, 0.03, 0.1) for q in (0.1, 0.3, 0.6, 1.2))
"""Starting (p, q) pairs; each is tried with three starting potentials."""
UPPER_Q = 5.0


def bass_cumulative(p: np.ndarray | float, q: np.ndarray | float, m: np.ndarray | float,
                    t: np.ndarray) -> np.ndarray:
    """M F(t), broadcast over the parameters (give them shape (K, 1) for K curves)."""
    p, q, m = (np.asarray(v, dtype=float) for v in (p, q, m))
    decay = np.exp(-(p + q) * np.asarray(t, dtype=float))
    out: np.ndarray = m * (1.0 - decay) / (1.0 + (q / p) * decay)
    return out


@dataclass(frozen=True)
class BassFit:
    """A fitted textbook Bass curve."""

    p: float
    q: float
    m: float
    sigma: float
    """Root-mean-square residual on the training periods."""
    n_train: int
    residuals: tuple[float, ...] = ()

    def curve(self, periods: np.ndarray) -> np.ndarray:
        """Cumulative share at each period (1-based period numbers)."""
        return bass_cumulative(self.p, self.q, self.m, periods)

    def bootstrap(self, horizon: int, draws: int = BOOTSTRAP_DRAWS, seed: int = 0) -> np.ndarray:
        """(draws, horizon) sample paths for the periods after training, by residual bootstrap."""
        rng = np.random.default_rng(seed)
        periods = np.arange(1, self.n_train + 1)
        future = np.arange(self.n_train + 1, self.n_train + horizon + 1)
        fitted = self.curve(periods)
        residuals = np.asarray(self.residuals) - np.mean(self.residuals)
        paths = np.empty((draws, horizon))
        for k in range(draws):
            y = np.clip(fitted + rng.choice(residuals, size=periods.size), 0.0, 1.0)
            refit = _fit(y, starts=((self.p, self.q, self.m),))
            paths[k] = refit.curve(future) + rng.choice(residuals, size=horizon)
        return np.clip(paths, 0.0, 1.0)

    def forecast(self, horizon: int, levels: tuple[float, ...] = (0.8,), seed: int = 0,
                 draws: int = BOOTSTRAP_DRAWS) -> dict[str, np.ndarray]:
        """Mean (the fitted curve) and bootstrap central bands for the `horizon` periods after training.

        Returns:
            period, mean, and lo_XX / hi_XX arrays for each band level (e.g. lo_80, hi_80).
        """
        periods = np.arange(self.n_train + 1, self.n_train + horizon + 1)
        out = {"period": periods, "mean": self.curve(periods)}
        paths = self.bootstrap(horizon, draws=draws, seed=seed)
        for level in levels:
            lo, hi = np.percentile(paths, [50 * (1 - level), 50 * (1 + level)], axis=0)
            out[f"lo_{round(level * 100)}"] = np.minimum(lo, out["mean"])
            out[f"hi_{round(level * 100)}"] = np.maximum(hi, out["mean"])
        return out


def _fit(y: np.ndarray, starts: tuple[tuple[float, float, float], ...]) -> BassFit:
    t = np.arange(1, y.size + 1, dtype=float)
    lower = np.array([1e-6, 0.0, max(float(y.max()), 1e-6)])
    upper = np.array([1.0, UPPER_Q, 1.0])
    if lower[2] >= upper[2]:
        lower[2] = upper[2] - 1e-9

    def fun(theta: np.ndarray) -> np.ndarray:
        residuals: np.ndarray = bass_cumulative(theta[0], theta[1], theta[2], t) - y
        return residuals

    best = None
    for start in starts:
        x0 = np.clip(np.asarray(start, dtype=float), lower + 1e-9, upper - 1e-9)
        fit = least_squares(fun, x0, bounds=(lower, upper), max_nfev=400)
        if best is None or fit.cost < best.cost - 1e-15:
            best = fit
    assert best is not None
    p, q, m = (float(v) for v in best.x)
    return BassFit(p, q, m, float(np.sqrt(np.mean(best.fun ** 2))), int(y.size),
                   tuple(float(r) for r in -best.fun))


def fit_bass(shares: np.ndarray) -> BassFit:
    """Fit the textbook Bass curve to observed shares at periods 1..n by least squares, multi-start.

    Raises:
        ValueError: fewer than 3 periods, or shares outside [0, 1].
    """
    y = np.asarray(shares, dtype=float)
    if y.size < 3:
        raise ValueError(f"Bass fit needs at least 3 periods, got {y.size}")
    if np.any(~np.isfinite(y)) or y.min() < 0 or y.max() > 1:
        raise ValueError("Bass fit needs shares between 0 and 1")
    top = float(y.max())
    potentials = (min(top * 1.05 + 1e-3, 1.0), (top + 1.0) / 2, 1.0)
    return _fit(y, tuple((p, q, m) for p, q in STARTS for m in potentials))
