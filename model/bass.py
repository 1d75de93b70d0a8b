"""The statistical baseline: Bass diffusion with discontinuance, fitted by non-linear least squares.

Never-adopters u, active users a (shares of the population), launch at t0:

    new_t = (p + q a_t) u_t,   u_{t+1} = u_t - new_t,   a_{t+1} = a_t + new_t - delta a_t,
    u = m and a = 0 at the launch t0

p is innovation, q imitation (Bass 1969), m the market potential and delta the weekly (per
period) discontinuance rate. The launch offset t0 is free, so a series that starts mid-diffusion
fits. It is solved in discrete time, one step per period (the form Bass fitted in 1969).
Forecast bands come from the residual spread, widening with the square root of the horizon.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.optimize import OptimizeResult, least_squares
from scipy.special import ndtri


@dataclass(frozen=True)
class BassFit:
    """A fitted Bass-with-discontinuance curve."""

    p: float
    q: float
    m: float
    delta: float
    t0: float
    sigma: float
    """Root-mean-square residual on the training periods."""
    n_train: int

    def curve(self, periods: np.ndarray) -> np.ndarray:
        """Active share at each period (1-based period numbers)."""
        return bass_curve(np.array([self.p, self.q, self.m, self.delta, self.t0]), periods)

    def forecast(self, horizon: int, levels: tuple[float, ...] = (0.8,)) -> dict[str, np.ndarray]:
        """Mean and central bands for the `horizon` periods after training.

        Returns:
            period, mean, and lo_XX / hi_XX arrays for each band level (e.g. lo_80, hi_80).
        """
        periods = np.arange(self.n_train + 1, self.n_train + horizon + 1)
        mean = self.curve(periods)
        out = {"period": periods, "mean": mean}
        steps = np.sqrt(np.arange(1, horizon + 1))
        for level in levels:
            half = ndtri(0.5 + level / 2) * max(self.sigma, 1e-3) * steps
            out[f"lo_{round(level * 100)}"] = np.clip(mean - half, 0, 1)
            out[f"hi_{round(level * 100)}"] = np.clip(mean + half, 0, 1)
        return out


def bass_curve(theta: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """Integrate the model (RK4) and read the active share at the given periods."""
    curve: np.ndarray = bass_curves(np.asarray(theta, dtype=float)[None, :], periods)[0]
    return curve


def bass_curves(thetas: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """Curves (K, len(periods)) for K parameter sets (p, q, m, delta, t0), stepped together.

    Discrete-time Bass (one step per period): new = min((p + q a) u, u); u -= new;
    a += new - delta a. Each curve runs on its own clock from its launch t0; between whole
    periods the curve is interpolated, so the fit is smooth in t0.
    """
    p, q, m, delta, t0 = (thetas[:, i] for i in range(5))
    periods = np.asarray(periods, dtype=float)
    n = max(int(np.ceil(periods.max() - t0.min())) + 1, 1)
    u, a = m.copy(), np.zeros_like(m)
    values = np.zeros((n + 1, len(thetas)))
    for i in range(n):
        new = np.minimum((p + q * a) * u, u)
        u = u - new
        a = a + new - delta * a
        values[i + 1] = a
    grid = np.arange(n + 1, dtype=float)
    out = np.stack([np.interp(periods - t0[k], grid, values[:, k]) for k in range(len(thetas))])
    return np.where(periods[None, :] < t0[:, None], 0.0, out)


ArrayFunction = Callable[[np.ndarray], np.ndarray]


def _residuals_and_jacobian(y: np.ndarray, periods: np.ndarray) -> tuple[ArrayFunction, ArrayFunction]:
    """Residual function and its forward-difference Jacobian, all evaluated in one batch."""
    cache: dict[bytes, tuple[np.ndarray, np.ndarray]] = {}

    def curves(theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        key = theta.tobytes()
        if key not in cache:
            steps = np.maximum(np.abs(theta) * 1e-5, 1e-7)
            batch = np.vstack([theta, theta + np.diag(steps)])
            cache.clear()
            cache[key] = (bass_curves(batch, periods), steps)
        return cache[key]

    def fun(theta: np.ndarray) -> np.ndarray:
        residuals: np.ndarray = curves(theta)[0][0] - y
        return residuals

    def jac(theta: np.ndarray) -> np.ndarray:
        values, steps = curves(theta)
        jacobian: np.ndarray = ((values[1:] - values[0]) / steps[:, None]).T
        return jacobian

    return fun, jac


def fit_bass(shares: np.ndarray, *, discontinuance: bool = True) -> BassFit:
    """Fit the curve to observed active shares at periods 1..n by least squares.

    Args:
        shares: active share per period, in [0, 1].
        discontinuance: fit delta; False fixes it at 0 (a cumulative adoption curve).

    Returns:
        The best of several starts.

    Raises:
        ValueError: fewer than 3 periods, or shares outside [0, 1].
    """
    y = np.asarray(shares, dtype=float)
    if y.size < 3:
        raise ValueError(f"Bass fit needs at least 3 periods, got {y.size}")
    if np.any(~np.isfinite(y)) or y.min() < 0 or y.max() > 1:
        raise ValueError("Bass fit needs shares between 0 and 1")
    periods = np.arange(1, y.size + 1)
    n = y.size
    lower = [1e-6, 0.0, max(y.max() * 0.5, 1e-3), 0.0, -max(5.0, n / 4)]
    upper = [1.0, 5.0, 1.0, 1.0 if discontinuance else 1e-9, 1.0]
    fits: list[OptimizeResult] = []
    for p0, q0, m_mult, t0 in ((0.03, 0.38, 1.2, 0.0), (0.01, 0.8, 1.5, 0.0), (0.1, 0.2, 1.05, 0.5),
                               (0.005, 0.5, 2.0, -max(5.0, n / 4) + 1)):
        x0 = np.clip([p0, q0, min(max(y.max() * m_mult, lower[2]), 1.0), 0.01 * discontinuance, t0],
                     np.array(lower) + 1e-9, np.array(upper) - 1e-9)
        fun, jac = _residuals_and_jacobian(y, periods)
        fits.append(least_squares(fun, x0, jac=jac, bounds=(lower, upper), max_nfev=300))
    best = min(fits, key=lambda fit: fit.cost)  # the first of the lowest, as the starts are listed
    sigma = float(np.sqrt(np.mean(best.fun ** 2)))
    p, q, m, delta, t0 = (float(v) for v in best.x)
    return BassFit(p, q, m, delta, t0, sigma, n)
