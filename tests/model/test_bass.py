import numpy as np
import pytest

from model.bass import bass_curve, fit_bass


def test_recovers_a_known_curve():
    periods = np.arange(1, 31)
    truth = np.array([0.02, 0.4, 0.8, 0.0, 0.0])
    fit = fit_bass(bass_curve(truth, periods))
    assert fit.p == pytest.approx(0.02, rel=0.1)
    assert fit.q == pytest.approx(0.4, rel=0.1)
    assert fit.m == pytest.approx(0.8, rel=0.05)
    assert fit.sigma < 1e-3


def test_discontinuance_makes_the_curve_fall_back():
    periods = np.arange(1, 80)
    curve = bass_curve(np.array([0.05, 0.6, 0.9, 0.05, 0.0]), periods)
    assert curve.argmax() < 70 and curve[-1] < curve.max() - 0.1


def test_launch_offset_shifts_the_curve():
    periods = np.arange(1, 20)
    late = bass_curve(np.array([0.03, 0.5, 1.0, 0.0, 5.0]), periods)
    assert late[:4].max() == 0.0 and late[-1] > 0.2
    y = late[5:]
    fit = fit_bass(y)
    assert fit.t0 < 1.0  # a series that starts mid-diffusion fits with an earlier launch


def test_forecast_bands_widen_and_hold_the_mean():
    fit = fit_bass(bass_curve(np.array([0.03, 0.4, 0.7, 0.01, 0.0]), np.arange(1, 15))
                   + np.random.default_rng(0).normal(0, 0.01, 14))
    out = fit.forecast(10)
    widths = out["hi_80"] - out["lo_80"]
    assert np.all(np.diff(widths) >= -1e-12)
    assert np.all((out["lo_80"] <= out["mean"]) & (out["mean"] <= out["hi_80"]))


def test_refuses_too_short_or_non_shares():
    with pytest.raises(ValueError, match="at least 3 periods"):
        fit_bass(np.array([0.1, 0.2]))
    with pytest.raises(ValueError, match="between 0 and 1"):
        fit_bass(np.array([0.1, 2.0, 0.3]))
