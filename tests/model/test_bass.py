import numpy as np
import pytest

from model.bass import bass_cumulative, fit_bass


def test_recovers_a_known_curve():
    periods = np.arange(1, 31)
    fit = fit_bass(bass_cumulative(0.02, 0.4, 0.8, periods))
    assert fit.p == pytest.approx(0.02, rel=0.05)
    assert fit.q == pytest.approx(0.4, rel=0.05)
    assert fit.m == pytest.approx(0.8, rel=0.02)
    assert fit.sigma < 1e-4


def test_closed_form_is_the_textbook_curve():
    t = np.arange(1, 6)
    p, q, m = 0.03, 0.38, 0.9
    expected = m * (1 - np.exp(-(p + q) * t)) / (1 + q / p * np.exp(-(p + q) * t))
    assert np.allclose(bass_cumulative(p, q, m, t), expected)
    assert bass_cumulative(p, q, m, np.array([0.0]))[0] == 0.0


def test_bootstrap_bands_hold_the_mean_and_reflect_the_noise():
    y = bass_cumulative(0.03, 0.4, 0.7, np.arange(1, 15)) + np.random.default_rng(0).normal(0, 0.01, 14)
    out = fit_bass(np.clip(y, 0, 1)).forecast(10)
    assert np.all((out["lo_80"] <= out["mean"]) & (out["mean"] <= out["hi_80"]))
    assert 0.005 < float(np.mean(out["hi_80"] - out["lo_80"])) < 0.2
    assert np.array_equal(out["period"], np.arange(15, 25))


def test_three_points_fit_exactly_and_the_bootstrap_band_has_no_width():
    """The baseline as forecasters meet it: three parameters, three points, no residuals to resample."""
    fit = fit_bass(bass_cumulative(0.05, 0.5, 0.6, np.arange(1, 4)))
    assert fit.sigma < 1e-5
    out = fit.forecast(3)
    assert np.all(out["hi_80"] - out["lo_80"] < 1e-3)


def test_refuses_too_short_or_non_shares():
    with pytest.raises(ValueError, match="at least 3 periods"):
        fit_bass(np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="between 0 and 1"):
        fit_bass(np.array([0.1, 2.0, 0.3]))
