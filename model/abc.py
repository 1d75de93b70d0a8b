"""Likelihood-free Bayesian calibration: ABC-SMC with adaptive tolerances.

Population Monte Carlo ABC (Beaumont et al. 2009; Toni et al. 2009; adaptive tolerance as in
Del Moral et al. 2012): each generation resamples the previous particles by weight, perturbs them
with a Gaussian kernel of twice their weighted covariance, simulates every proposal in ONE batched
call, and keeps those closer to the data than the generation's tolerance (a quantile of the last
generation's distances). Weights correct for the proposal: w = prior / sum_j w_j K(theta | theta_j).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

Simulator = Callable[[np.ndarray, int], np.ndarray]
"""(K, P) parameter sets and a seed -> (K,) distances to the data."""


@dataclass(frozen=True)
class Posterior:
    """A weighted sample from the approximate posterior."""

    names: tuple[str, ...]
    samples: np.ndarray
    """(n, P) parameter sets."""
    weights: np.ndarray
    """(n,) normalised importance weights."""
    distances: np.ndarray
    epsilons: tuple[float, ...]
    """The tolerance of each generation."""
    simulations: int

    def mean(self) -> dict[str, float]:
        """Posterior mean of each parameter."""
        return dict(zip(self.names, (self.weights @ self.samples).tolist(), strict=True))

    def interval(self, level: float = 0.9) -> dict[str, tuple[float, float]]:
        """Central credible interval of each parameter (weighted quantiles)."""
        lo, hi = (1 - level) / 2, (1 + level) / 2
        out = {}
        for i, name in enumerate(self.names):
            order = np.argsort(self.samples[:, i])
            cdf = np.cumsum(self.weights[order])
            values = self.samples[order, i]
            out[name] = (float(values[np.searchsorted(cdf, lo)]),
                         float(values[min(np.searchsorted(cdf, hi), len(values) - 1)]))
        return out

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """N parameter sets resampled by weight."""
        return self.samples[rng.choice(len(self.weights), size=n, p=self.weights)]

    def to_dict(self) -> dict[str, Any]:
        """Plain values, for storing."""
        return {"names": list(self.names), "samples": self.samples.tolist(),
                "weights": self.weights.tolist(), "distances": self.distances.tolist(),
                "epsilons": list(self.epsilons), "simulations": self.simulations}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Posterior:
        """Rebuild from `to_dict`'s output."""
        return cls(tuple(data["names"]), np.asarray(data["samples"], dtype=float),
                   np.asarray(data["weights"], dtype=float), np.asarray(data["distances"], dtype=float),
                   tuple(data["epsilons"]), int(data["simulations"]))


def abc_smc(distance: Simulator, priors: dict[str, tuple[float, float]], *, particles: int = 300,
            generations: int = 6, batch: int = 1000, quantile: float = 0.5,
            rng: np.random.Generator, max_simulations: int = 40_000, tolerance: float = 0.0,
            progress: Callable[[int, int], None] | None = None) -> Posterior:
    """Run ABC-SMC with uniform priors.

    Args:
        distance: simulates a batch of parameter sets and returns each one's distance to the data.
        priors: name -> (low, high) of a uniform prior.
        particles: posterior sample size.
        generations: SMC generations after the prior one.
        batch: parameter sets simulated per call.
        quantile: each tolerance is this quantile of the previous generation's distances.
        rng: the random generator.
        max_simulations: stop early rather than exceed this many simulations.
        tolerance: the smallest tolerance worth reaching (e.g. the data's own sampling noise): once a
            generation reaches it, the sample is final; closer fits would fit the noise.
        progress: called after every simulated batch with the simulations run so far and the
            budget (`max_simulations`, an upper bound: a fit often stops before it).

    Returns:
        The final generation's weighted particles.
    """
    names = tuple(priors)
    lo = np.array([priors[k][0] for k in names])
    hi = np.array([priors[k][1] for k in names])
    theta = lo + (hi - lo) * rng.random((max(batch, particles), len(names)))
    dist = distance(theta, int(rng.integers(2**31)))
    keep = np.argsort(dist)[:particles]
    theta, dist = theta[keep], dist[keep]
    weights = np.full(particles, 1.0 / particles)
    epsilons, sims = [float(dist.max())], max(batch, particles)
    if progress is not None:
        progress(sims, max_simulations)
    for _ in range(generations):
        if epsilons[-1] <= tolerance:
            break
        eps = max(float(np.quantile(dist, quantile)), tolerance)
        cov = 2.0 * np.atleast_2d(np.cov(theta.T, aweights=weights)) + 1e-12 * np.eye(len(names))
        acc_t: list[np.ndarray] = []
        acc_d: list[np.ndarray] = []
        while sum(len(a) for a in acc_t) < particles and sims < max_simulations:
            parents = theta[rng.choice(particles, size=batch, p=weights)]
            proposal = parents + rng.multivariate_normal(np.zeros(len(names)), cov, size=batch)
            inside = np.all((proposal >= lo) & (proposal <= hi), axis=1)
            proposal = proposal[inside]
            if len(proposal) == 0:
                continue
            d = distance(proposal, int(rng.integers(2**31)))
            sims += len(proposal)
            if progress is not None:
                progress(min(sims, max_simulations), max_simulations)
            ok = d <= eps
            acc_t.append(proposal[ok])
            acc_d.append(d[ok])
        new_theta = np.concatenate(acc_t)[:particles] if acc_t else theta[:0]
        if len(new_theta) < max(10, particles // 5):
            break  # the budget ran out: keep the last complete generation
        new_dist = np.concatenate(acc_d)[: len(new_theta)]
        dens = _kernel_mixture(new_theta, theta, weights, cov)
        new_w = 1.0 / np.maximum(dens, 1e-300)
        theta, dist, weights = new_theta, new_dist, new_w / new_w.sum()
        particles = len(theta)
        epsilons.append(eps)
    return Posterior(names, theta, weights, dist, tuple(epsilons), sims)


def _kernel_mixture(points: np.ndarray, centres: np.ndarray, weights: np.ndarray,
                    cov: np.ndarray) -> np.ndarray:
    """sum_j weights_j N(points_i; centres_j, cov), up to the constant shared by every i."""
    inv_chol = np.linalg.inv(np.linalg.cholesky(cov))
    a, b = points @ inv_chol.T, centres @ inv_chol.T
    sq = (a**2).sum(axis=1)[:, None] + (b**2).sum(axis=1)[None, :] - 2.0 * a @ b.T
    density: np.ndarray = np.exp(-0.5 * np.maximum(sq, 0.0)) @ weights
    return density
