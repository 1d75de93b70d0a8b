"""The early-warning forecast: from three points, narrowing with data, pooled across facilities."""

import numpy as np
import pytest

from model import early
from model.bass import bass_cumulative
from model.series import early_band_scale, early_forecast, widen


def _curve(p=0.02, q=0.35, m=0.8, periods=30, noise=0.004, seed=0):
    y = bass_cumulative(p, q, m, np.arange(1, periods + 1))
    y = y + np.random.default_rng(seed).normal(0, noise, periods)
    return np.clip(np.maximum.accumulate(y), 0, 1)


def test_forecasts_from_three_points_and_says_why_the_band_is_wide():
    y = _curve()
    fc = early.forecast(early.fit(y[:3]), 6)
    assert fc.paths.shape == (2000, 6)
    assert "Only 3 periods so far" in fc.why
    assert "Sultan, Farley & Lehmann 1990" in fc.why
    assert np.all(np.diff(fc.paths, axis=1) >= 0)  # a cumulative curve never falls


def test_the_band_narrows_as_data_arrives():
    y = _curve()
    widths = []
    for k in (3, 6, 12, 20):
        paths = early.forecast(early.fit(y[:k]), 5).paths
        lo, hi = np.quantile(paths[:, -1], [0.1, 0.9])
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2] > widths[3]
    assert widths[-1] < widths[0] / 3


def test_recovers_the_curve_from_a_long_series():
    y = _curve(periods=40)
    summary = early.fit(y).summary()
    assert summary["m"] == pytest.approx(0.8, abs=0.03)
    assert summary["q"] == pytest.approx(0.35, rel=0.25)


def test_the_forecast_starts_from_todays_level():
    y = _curve()
    paths = early.forecast(early.fit(y[:10]), 4).paths
    assert np.all(paths[:, 0] >= y[9])  # cumulative: never below today's level
    assert np.median(paths[:, 0]) - y[9] < 0.1


def test_a_falling_curve_is_forecast_to_fall():
    t = np.arange(1, 41)
    u, a, active = 0.9, 0.0, []
    for _ in t:
        new = (0.02 + 0.4 * a) * u
        u, a = u - new, a + new - 0.06 * a
        active.append(a)
    y = np.array(active)
    fitted = early.fit(y[:30])
    assert not fitted.cumulative and "delta" in fitted.summary()
    median = np.median(early.forecast(fitted, 10).paths, axis=0)
    assert median[-1] < y[29]
    assert np.abs(median - y[30:]).mean() < 0.05


def test_a_new_facility_borrows_from_the_earlier_ones():
    """Partial pooling: three weeks after its go-live, a facility forecast from its neighbours' curves is
    closer to what happens than one from the published prior alone."""
    earlier = [early.fit(_curve(q=0.3 + 0.02 * i, m=0.75 + 0.02 * i, seed=i), seed=i) for i in range(5)]
    pooled = early.pooled_prior(earlier, source="the organisation's earlier facilities")
    assert pooled.source == "the organisation's earlier facilities"
    assert np.all(np.asarray(pooled.sd) < np.asarray(early.PUBLISHED.sd))
    new = _curve(q=0.34, m=0.79, seed=9)
    errors = {}
    for name, prior in (("published", None), ("pooled", pooled)):
        median = np.median(early.forecast(early.fit(new[:3], prior), 10).paths, axis=0)
        errors[name] = np.abs(median - new[3:13]).mean()
    assert errors["pooled"] < errors["published"] / 2
    assert early.pooled_prior(earlier[:1], source="x") is early.PUBLISHED


def test_the_band_is_calibrated_on_the_series_own_past():
    y = _curve(noise=0.0)
    assert early_band_scale(y[:4], 5) == 1.0  # one inner origin: nothing to calibrate on
    scale = early_band_scale(y[:12], 5)
    assert scale >= 1.0
    paths = np.random.default_rng(0).normal(0.5, 0.01, (1000, 3))
    wide = widen(paths, 2.0)
    assert np.allclose(np.median(wide, axis=0), np.median(paths, axis=0))
    assert np.std(wide) == pytest.approx(2 * np.std(paths), rel=0.02)


def test_same_seed_same_forecast():
    y = _curve()
    first, _, _ = early_forecast(y, train=8, horizon=4, seed=3)
    again, _, _ = early_forecast(y, train=8, horizon=4, seed=3)
    assert np.array_equal(first, again)
