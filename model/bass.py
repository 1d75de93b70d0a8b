"""The statistical baseline: Bass diffusion with discontinuance, fitted by non-linear least squares.

Never-adopters u, active users a (shares of the population), launch at t0:

    du/dt = -(p + q a) u,    da/dt = (p + q a) u - delta a,    u(t0) = m, a(t0) = 0

p is innovation, q imitation (Bass 1969), m the market potential and delta the weekly (per
period) discontinuance rate. The launch offset t0 is free, so a series that starts mid-diffusion
fits. Forecast bands come from the residual spread, widening with the square root of the horizon.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import least_squares
from scipy.stats import norm

SUBSTEPS = 4  # Runge-Kutta steps per period


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
            half = norm.ppf(0.5 + level / 2) * max(self.sigma, 1e-3) * steps
            out[f"lo_{round(level * 100)}"] = np.clip(mean - half, 0, 1)
            out[f"hi_{round(level * 100)}"] = np.clip(mean + half, 0, 1)
        return out


def bass_curve(theta: np.ndarray, periods: np.ndarray) -> np.ndarray:
    """Integrate the model (RK4) and read the active share at the given periods."""
    p, q, m, delta, t0 = theta
    periods = np.asarray(periods, dtype=float)
    end = float(periods.max()) if periods.size else t0
    h = 1.0 / SUBSTEPS
    n = max(int(np.ceil((end - t0) / h)) + 1, 1)
    times = t0 + h * np.arange(n + 1)
    u, a = m, 0.0
    values = np.empty(n + 1)
    values[0] = 0.0

    def f(u: float, a: float) -> tuple[float, float]:
        flow = (p + q * a) * u
        return -flow, flow - delta * a

    for i in range(n):
        k1 = f(u, a)
        k2 = f(u + h / 2 * k1[0], a + h / 2 * k1[1])
        k3 = f(u + h / 2 * k2[0], a + h / 2 * k2[1])
        k4 = f(u + h * k3[0], a + h * k3[1])
        u += h / 6 * (k1[0] + 2 * k2[0] + 2 * k3[0] + k4[0])
        a += h / 6 * (k1[1] + 2 * k2[1] + 2 * k3[1] + k4[1])
        values[i + 1] = a
    return np.where(periods < t0, 0.0, np.interp(periods, times, values))


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
    lower = [1e-6, 0.0, max(y.max() * 0.5, 1e-3), 0.0, -1.0 * n]
    upper = [1.0, 5.0, 1.0, 1.0 if discontinuance else 1e-9, 1.0]
    best = None
    for p0, q0, m_mult, t0 in ((0.03, 0.38, 1.2, 0.0), (0.01, 0.8, 1.5, 0.0), (0.1, 0.2, 1.05, 0.5),
                               (0.005, 0.5, 2.0, -n / 2)):
        x0 = np.clip([p0, q0, min(max(y.max() * m_mult, lower[2]), 1.0), 0.01 * discontinuance, t0],
                     np.array(lower) + 1e-9, np.array(upper) - 1e-9)
        res = least_squares(lambda th: bass_curve(th, periods) - y, x0, bounds=(lower, upper))
        if best is None or res.cost < best.cost:
            best = res
    sigma = float(np.sqrt(np.mean(best.fun ** 2)))
    p, q, m, delta, t0 = (float(v) for v in best.x)
    return BassFit(p, q, m, delta, t0, sigma, n)
