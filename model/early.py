"""Early-warning forecasts: a Bayesian diffusion curve that can forecast from three points.

With a handful of points no curve is identified by the data alone, so the forecast leans on what is
known before the first point: a prior over the curve's shape. By default the prior is the
published one (the Bass parameters of comparable innovations); for a facility of an organisation it
is the organisation's own earlier facilities (partial pooling, `pooled_prior`). Each new point
narrows the posterior; with few points the band is wide, and `Forecast.why` says why.

The curve (the mean-field of the agent-based model's innovation and imitation, Bass 1969) is
written in three unconstrained numbers z = (log s, log r, logit m): s = p + q the speed per period,
r = q / p the imitation-to-innovation ratio (free of the period's length) and m the share that
eventually adopts. A curve that falls (active use) has a fourth, log delta, the share of users who
stop each period.

Observation model: the period-to-period changes d_t = y_t - y_{t-1} (y_0 = 0 at launch) are the
curve's changes c_t plus errors sqrt(|c_t| + FLOOR) e_t, Poisson-like (more adopters in a period,
more noise in their number), with AR(1) errors e_t = rho e_{t-1} + sigma eta_t: a curve that runs
behind the data keeps running behind it for a while. rho (a uniform grid over [0, 1]) and sigma (a
log-uniform grid) are integrated out. Forecast paths start from the last observed value and add the
curve's changes and the errors carried on, so a band opens from today's level and widens as errors
accumulate.

The posterior is sampled by population Monte Carlo importance sampling (Cappé et al. 2004): a
first batch from the prior, then rounds whose proposal is a Student-t fitted to the weighted
particles, mixed with the prior, with weights prior x likelihood / proposal.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.special import expit, logsumexp

SCHEMA_VERSION = 1
SIGMA_GRID = np.exp(np.linspace(np.log(2e-3), np.log(2.0), 40))
"""Error scales (share points per period) the likelihood integrates over, log-uniformly."""
FLOOR = 1e-3
"""The error's scale floor: a change of 0.1 point a period counts as at least that noisy."""
RHO_GRID = np.array([0.0, 0.25, 0.5, 0.75, 0.9, 1.0])
"""How much of one period's misfit carries into the next (AR(1) errors), uniform over the grid."""
PARTICLES = 6000
ROUNDS = 4
DEFENSIVE = 0.2
"""Share of each round's proposal drawn from the prior (so no region of the prior is lost)."""


@dataclass(frozen=True)
class Prior:
    """A normal prior over z = (log s, log r, logit m[, log delta]), with where it comes from."""

    mean: tuple[float, ...]
    sd: tuple[float, ...]
    source: str
    correlation: tuple[tuple[float, ...], ...] | None = None
    schema_version: int = SCHEMA_VERSION

    @property
    def cov(self) -> np.ndarray:
        """The covariance matrix."""
        sd = np.asarray(self.sd)
        corr = np.eye(sd.size) if self.correlation is None else np.asarray(self.correlation)
        cov: np.ndarray = corr * np.outer(sd, sd)
        return cov

    def for_active(self) -> Prior:
        """The same prior with the discontinuance dimension (log delta) added if missing."""
        if len(self.mean) == 4:
            return self
        corr = None if self.correlation is None else tuple(
            (*row, 0.0) for row in self.correlation) + ((0.0, 0.0, 0.0, 1.0),)
        return Prior((*self.mean, DELTA_PRIOR[0]), (*self.sd, DELTA_PRIOR[1]), self.source, corr)

    def for_cumulative(self) -> Prior:
        """The same prior without the discontinuance dimension (a curve that never falls)."""
        if len(self.mean) == 3:
            return self
        corr = None if self.correlation is None else tuple(row[:3] for row in self.correlation[:3])
        return Prior(self.mean[:3], self.sd[:3], self.source, corr)


DELTA_PRIOR = (float(np.log(0.02)), 1.5)
"""log delta: about 2% of users stop each period, within a factor of 4.5 either way (1 sd)."""

PUBLISHED = Prior(
    mean=(float(np.log(0.41)), float(np.log(0.38 / 0.03)), 0.0),
    sd=(1.5, 1.0, 1.5),
    source="the published Bass parameters of comparable innovations (Sultan, Farley & Lehmann 1990)",
)
"""Sultan, Farley & Lehmann's (1990) meta-analysis of 213 Bass fits: mean p = 0.03, q = 0.38 a year,
so r = q/p about 12.7 and s = p + q = 0.41 a year. The period of a series is not known, so the
speed's sd of 1.5 (a factor of 4.5) lets a monthly or weekly series be as fast as it is; r is free
of the period's length and keeps sd 1 (the spread of published q/p ratios, Van den Bulte &
Stremersch 2004, spans about a factor of e either way of the centre); m is centred on half the
population with sd 1.5 on the logit scale (5% to 95% within two sd)."""


def curve_changes(z: np.ndarray, periods: int) -> np.ndarray:
    """(N, periods) change of the share in each period 1..periods for N parameter rows z."""
    s = np.exp(z[:, 0:1])
    r = np.exp(z[:, 1:2])
    m = expit(z[:, 2:3])
    p = s / (1.0 + r)
    q = s - p
    if z.shape[1] == 3:  # cumulative: the closed form
        t = np.arange(0, periods + 1, dtype=float)[None, :]
        decay = np.exp(-s * t)
        level = m * (1.0 - decay) / (1.0 + r * decay)
        changes: np.ndarray = np.diff(level, axis=1)
        return changes
    delta = np.minimum(np.exp(z[:, 3:4]), 1.0)
    u, a = m[:, 0].copy(), np.zeros(len(z))
    out = np.empty((len(z), periods))
    for i in range(periods):  # discrete time with discontinuance: a falls as users stop
        new = np.minimum((p[:, 0] + q[:, 0] * a) * u, u)
        u = u - new
        change = new - delta[:, 0] * a
        a = a + change
        out[:, i] = change
    return out


def _log_prior(z: np.ndarray, prior: Prior) -> np.ndarray:
    diff = z - np.asarray(prior.mean)
    inv = np.linalg.inv(prior.cov)
    out: np.ndarray = -0.5 * np.einsum("ni,ij,nj->n", diff, inv, diff)
    return out


def _residuals(z: np.ndarray, changes: np.ndarray) -> np.ndarray:
    residuals: np.ndarray = changes[None, :] - curve_changes(z, changes.size)
    return residuals


def _scale(z: np.ndarray, periods: int) -> np.ndarray:
    """(N, periods) relative error scale: the square root of the curve's change, floored at FLOOR.

    Poisson-like: more adopters in a period, more noise in their number.
    """
    out: np.ndarray = np.sqrt(np.abs(curve_changes(z, periods)) + FLOOR)
    return out


def _log_likelihood(z: np.ndarray, changes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,) marginal log-likelihood over the (rho, sigma) grid, and (N, R*G) the log-posterior over it.

    The errors are AR(1): e_t = rho e_{t-1} + sigma eta_t (e_0 = 0), so a curve that runs behind
    the data keeps running behind it for a while, and the forecast's band widens accordingly.
    """
    e = _residuals(z, changes) / _scale(z, changes.size)
    lagged = np.concatenate([np.zeros((len(z), 1)), e[:, :-1]], axis=1)
    rss = np.stack([np.sum((e - rho * lagged) ** 2, axis=1) for rho in RHO_GRID], axis=1)  # (N, R)
    n = changes.size
    per = (-n * np.log(SIGMA_GRID)[None, None, :] - np.sum(np.log(_scale(z, n)), axis=1)[:, None, None]
           - 0.5 * rss[:, :, None] / SIGMA_GRID[None, None, :] ** 2).reshape(len(z), -1)
    marginal = logsumexp(per, axis=1) - np.log(per.shape[1])
    return marginal, per - marginal[:, None]


def _t_sample(rng: np.random.Generator, mean: np.ndarray, cov: np.ndarray, n: int,
              df: float = 5.0) -> np.ndarray:
    normal = rng.multivariate_normal(np.zeros(mean.size), cov, size=n)
    scale = np.sqrt(df / rng.chisquare(df, size=n))
    out: np.ndarray = mean + normal * scale[:, None]
    return out


def _t_logpdf(z: np.ndarray, mean: np.ndarray, cov: np.ndarray, df: float = 5.0) -> np.ndarray:
    d = mean.size
    diff = z - mean
    inv = np.linalg.inv(cov)
    maha = np.einsum("ni,ij,nj->n", diff, inv, diff)
    _, logdet = np.linalg.slogdet(cov)
    out: np.ndarray = -0.5 * (df + d) * np.log1p(maha / df) - 0.5 * logdet
    return out


def _normal_logpdf(z: np.ndarray, prior: Prior) -> np.ndarray:
    _, logdet = np.linalg.slogdet(prior.cov)
    out: np.ndarray = _log_prior(z, prior) - 0.5 * logdet
    return out


@dataclass(frozen=True)
class Posterior:
    """Weighted particles over z, and each one's posterior over the error scale."""

    z: np.ndarray
    weights: np.ndarray
    sigma_log_post: np.ndarray
    prior: Prior
    observed: np.ndarray
    cumulative: bool

    @property
    def ess(self) -> float:
        """Effective sample size of the weighted particles."""
        return float(1.0 / np.sum(self.weights ** 2))

    def moments(self) -> tuple[np.ndarray, np.ndarray]:
        """Weighted mean and covariance of z (for pooling)."""
        mean = self.weights @ self.z
        diff = self.z - mean
        cov: np.ndarray = (self.weights[:, None] * diff).T @ diff
        return mean, cov

    def summary(self) -> dict[str, float]:
        """Posterior means of p, q (per period), m and, for a falling curve, delta."""
        s, r, m = np.exp(self.z[:, 0]), np.exp(self.z[:, 1]), expit(self.z[:, 2])
        p = s / (1 + r)
        out = {"p": float(self.weights @ p), "q": float(self.weights @ (s - p)),
               "m": float(self.weights @ m)}
        if self.z.shape[1] == 4:
            out["delta"] = float(self.weights @ np.exp(self.z[:, 3]))
        return out


def fit(observed: np.ndarray, prior: Prior | None = None, *, cumulative: bool | None = None,
        seed: int = 0, particles: int = PARTICLES, rounds: int = ROUNDS) -> Posterior:
    """The posterior of the curve given shares observed at periods 1..K (K >= 3)."""
    y = np.asarray(observed, dtype=float)
    if cumulative is None:
        cumulative = bool(np.all(np.diff(y) >= -1e-9))
    prior = prior or PUBLISHED
    prior = prior.for_cumulative() if cumulative else prior.for_active()
    changes = np.diff(np.concatenate([[0.0], y]))
    rng = np.random.default_rng(seed)
    mean0, cov0 = np.asarray(prior.mean), prior.cov
    z = rng.multivariate_normal(mean0, cov0, size=particles)
    log_q = _normal_logpdf(z, prior)
    pool_z, pool_w, pool_s = [], [], []
    for round_ in range(rounds + 1):
        lik, sigma_post = _log_likelihood(z, changes)
        log_w = _log_prior(z, prior) - 0.5 * np.linalg.slogdet(cov0)[1] + lik - log_q
        w = np.exp(log_w - log_w.max())
        w /= w.sum()
        if round_ >= rounds - 1:  # the last two rounds make the sample
            pool_z.append(z)
            pool_w.append(log_w)
            pool_s.append(sigma_post)
        if round_ == rounds:
            break
        mean = w @ z
        diff = z - mean
        cov = (w[:, None] * diff).T @ diff + 1e-6 * np.eye(z.shape[1])
        cov = cov * 1.5
        n_prior = int(round(DEFENSIVE * particles))
        z = np.vstack([_t_sample(rng, mean, cov, particles - n_prior),
                       rng.multivariate_normal(mean0, cov0, size=n_prior)])
        log_q = np.logaddexp(np.log1p(-DEFENSIVE) + _t_logpdf(z, mean, cov),
                             np.log(DEFENSIVE) + _normal_logpdf(z, prior))
    z_all = np.vstack(pool_z)
    log_w = np.concatenate(pool_w)
    weights = np.exp(log_w - log_w.max())
    return Posterior(z_all, weights / weights.sum(), np.vstack(pool_s), prior, y, cumulative)


@dataclass(frozen=True)
class Forecast:
    """Sample paths for the periods after the last observed one, and why the band is as wide as it is."""

    paths: np.ndarray
    """(draws, horizon) share."""
    posterior: Posterior
    why: str = ""
    extra: dict[str, float] = field(default_factory=dict)

    def quantiles(self, q: float | list[float]) -> np.ndarray:
        """Per-period quantiles of the paths."""
        out: np.ndarray = np.quantile(self.paths, q, axis=0)
        return out


def forecast(posterior: Posterior, horizon: int, *, draws: int = 2000, seed: int = 0,
             unit: str = "period") -> Forecast:
    """Posterior-predictive paths from the last observed value: the curve's changes plus fresh errors."""
    rng = np.random.default_rng(seed + 1)
    y = posterior.observed
    k = y.size
    pick = rng.choice(posterior.z.shape[0], size=draws, p=posterior.weights)
    z = posterior.z[pick]
    grid = np.exp(posterior.sigma_log_post[pick])
    grid /= grid.sum(axis=1, keepdims=True)
    cell = np.minimum((np.cumsum(grid, axis=1) < rng.random(draws)[:, None]).sum(axis=1), grid.shape[1] - 1)
    rho, sigma = RHO_GRID[cell // SIGMA_GRID.size], SIGMA_GRID[cell % SIGMA_GRID.size]
    observed = np.diff(np.concatenate([[0.0], y]))
    error = (_residuals(z, observed) / _scale(z, k))[:, -1]
    curve = curve_changes(z, k + horizon)[:, k:]
    scale = _scale(z, k + horizon)[:, k:]
    changes = np.empty((draws, horizon))
    for j in range(horizon):  # the misfit carries on, fading at rate rho, with fresh errors
        error = rho * error + sigma * rng.standard_normal(draws)
        changes[:, j] = curve[:, j] + scale[:, j] * error
    if posterior.cumulative:
        changes = np.maximum(changes, 0.0)
    paths = np.clip(y[-1] + np.cumsum(changes, axis=1), 0.0, 1.0)
    return Forecast(paths, posterior, why=_why(posterior, paths, unit))


def _why(posterior: Posterior, paths: np.ndarray, unit: str) -> str:
    k = posterior.observed.size
    lo, hi = np.quantile(paths[:, -1], [0.1, 0.9])
    width = (hi - lo) * 100
    source = posterior.prior.source
    if k <= 5:
        return (f"Only {k} {unit}s so far: the curve's ceiling is not yet visible in the data, so the "
                f"forecast leans on {source}; its 80% band at the horizon spans {width:.0f} points "
                "and narrows as data arrives.")
    return (f"Fitted on {k} {unit}s, starting from {source}; the 80% band at the horizon spans "
            f"{width:.0f} points.")


def pooled_prior(posteriors: list[Posterior], base: Prior = PUBLISHED, *, source: str) -> Prior:
    """Partial pooling by empirical Bayes: the normal prior that the facilities' posteriors describe.

    The mean is the average of the facilities' posterior means; the covariance is their spread
    (between facilities) plus the average posterior covariance (within), floored at a tenth of the
    base prior's variance so one facility's curve never fixes another's. With fewer than two
    facilities the base prior is returned.
    """
    if len(posteriors) < 2:
        return base
    dim = min(p.z.shape[1] for p in posteriors)
    moments = [p.moments() for p in posteriors]
    means = np.array([m[:dim] for m, _ in moments])
    within = np.mean([c[:dim, :dim] for _, c in moments], axis=0)
    between = np.cov(means.T) if len(posteriors) > 2 else np.diag(np.var(means, axis=0))
    cov = within + between
    base_sd = np.asarray((base.for_active() if dim == 4 else base.for_cumulative()).sd)
    sd = np.sqrt(np.maximum(np.diag(cov), 0.1 * base_sd ** 2))
    corr = cov / np.sqrt(np.outer(np.diag(cov), np.diag(cov)))
    return Prior(tuple(float(v) for v in means.mean(axis=0)), tuple(float(v) for v in sd), source,
                 tuple(tuple(float(v) for v in row) for row in corr))
