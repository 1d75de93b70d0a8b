import numpy as np
import pytest

from model.behaviour import Behaviour
from model.calibrate import CALIBRATED, CalibrationError, calibrate
from model.ensemble import run_ensemble
from model.parallel import DaskCluster, InProcess, LocalPool


def _simulated(spec, truth, seed, weeks):
    beh = Behaviour(**(Behaviour().as_dict() | truth))
    return run_ensemble(spec, runs=1, seed=seed, behaviour=beh).overall["active_share"][:weeks, 0]


@pytest.mark.slow
def test_posterior_covers_known_parameters(presets):
    """On data simulated from known parameters the 90% interval covers the truth."""
    rng = np.random.default_rng(5)
    covered, narrowed = [], []
    for trial in range(4):
        truth = {k: rng.uniform(lo + (hi - lo) * 0.2, hi - (hi - lo) * 0.2)
                 for k, (lo, hi) in CALIBRATED.items()}
        y = _simulated(presets["turnaround"], truth, 100 + trial, 60)
        cal = calibrate(presets["turnaround"], y, particles=200, generations=4, batch=800,
                        seed=trial, max_simulations=8000)
        interval = cal.posterior.interval(0.9)
        covered += [interval[k][0] <= truth[k] <= interval[k][1] for k in truth]
        lo, hi = CALIBRATED["base_utility"]
        narrowed.append((interval["base_utility"][1] - interval["base_utility"][0]) / (hi - lo))
    assert np.mean(covered) >= 0.75, covered
    assert np.mean(narrowed) < 0.8  # the data taught it something


def test_same_seed_same_posterior(presets):
    y = run_ensemble(presets["rollout"], runs=1, seed=3).overall["active_share"][:20, 0]
    kwargs = {"particles": 60, "generations": 2, "batch": 300, "max_simulations": 2000}
    a = calibrate(presets["rollout"], y, seed=4, **kwargs)
    b = calibrate(presets["rollout"], y, seed=4, **kwargs)
    np.testing.assert_array_equal(a.posterior.samples, b.posterior.samples)
    assert a.posterior.weights.sum() == pytest.approx(1.0)


@pytest.mark.slow
def test_executors_give_identical_results(presets):
    from distributed import Client, LocalCluster

    y = run_ensemble(presets["rollout"], runs=1, seed=3).overall["active_share"][:16, 0]
    kwargs = {"particles": 60, "generations": 2, "batch": 600, "max_simulations": 2400, "seed": 9}
    here = calibrate(presets["rollout"], y, executor=InProcess(), **kwargs)
    pool = LocalPool(2)
    try:
        pooled = calibrate(presets["rollout"], y, executor=pool, **kwargs)
    finally:
        pool.close()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        dasked = calibrate(presets["rollout"], y, executor=DaskCluster(client), **kwargs)
    np.testing.assert_array_equal(here.posterior.samples, pooled.posterior.samples)
    np.testing.assert_array_equal(here.posterior.samples, dasked.posterior.samples)


@pytest.mark.parametrize(("series", "message"), [
    ([0.1, 0.2], "series: 2 weeks of data; calibration needs at least 6"),
    ([0.1, 0.2, np.nan, 0.3, 0.3, 0.4], "series: has missing weeks; fill or drop them first"),
    ([0.1, 0.2, 1.3, 0.3, 0.3, 0.4], "series: shares must be between 0 and 1 (got 0.1..1.3)"),
])
def test_bad_series_are_refused(presets, series, message):
    with pytest.raises(CalibrationError) as info:
        calibrate(presets["rollout"], np.array(series))
    assert str(info.value) == message
