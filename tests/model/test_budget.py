"""The simulation budget: refused before anything is allocated, with a message that says what fits."""

import tracemalloc
from pathlib import Path

import pytest

import seed_data
from model.budget import BudgetError, check_budget, estimate_bytes, scenario_size
from model.ensemble import run_ensemble
from model.scenario import ScenarioError, load_scenario, scenario_from_dict

DOC = Path(__file__).resolve().parents[2] / "docs" / "model.md"


def _org(technicians: int, facilities: int = 15, weeks: int = 78, **org):
    return scenario_from_dict({"weeks": weeks, "organisation": {"technicians": technicians,
                                                                 "facilities": facilities, **org}})


@pytest.mark.parametrize(("scenario", "runs"), [
    (_org(100_000, 300), 1),  # bench: one run of 100,000 technicians x 78 weeks
    (load_scenario(seed_data.path("scenarios", "turnaround.toml")), 100),  # the presets' ensembles
    (load_scenario(seed_data.path("scenarios", "turnaround.toml")), 1000),  # a calibration batch
])
def test_the_benchmarks_fit_the_default_budget(scenario, runs):
    assert check_budget(scenario, runs) is None


def test_over_the_memory_budget_says_how_many_runs_fit():
    with pytest.raises(BudgetError) as info:
        check_budget(_org(100_000), 200)
    message = ("this scenario needs about 3.4 GB (100,000 technicians x 78 weeks x 200 runs), over the "
               "2.0 GB budget: run at most 116 runs, or fewer technicians or weeks")
    assert str(info.value) == message
    assert isinstance(info.value, ScenarioError), "every caller that shows scenario errors shows this one"
    assert " ".join(DOC.read_text().split()).count(message) == 1, "docs/model.md quotes it"
    check_budget(_org(100_000), 116)


def test_over_the_work_budget_says_how_many_runs_fit():
    with pytest.raises(BudgetError) as info:
        check_budget(_org(1_000_000, 300, weeks=1040), 100)
    assert str(info.value) == (
        "this scenario is 104,000,000,000 technician-weeks (1,000,000 technicians x 1,040 weeks x 100 "
        "runs), over the budget of 5,000,000,000 technician-weeks: run at most 4 runs, or fewer "
        "technicians or weeks")


def test_when_not_even_one_run_fits_it_says_so():
    with pytest.raises(BudgetError) as info:
        check_budget(_org(280, weeks=1), 1, max_bytes=50_000)
    assert str(info.value) == ("this scenario needs about 145 kB (280 technicians x 1 week x 1 run), over "
                               "the 50 kB budget: even 1 run does not fit; simulate fewer technicians or "
                               "weeks")


def test_the_runs_that_fit_are_exactly_the_limit():
    spec = _org(5_000, 40, weeks=52, neighbours=10)
    limit = estimate_bytes(spec, 37)
    check_budget(spec, 37, max_bytes=limit)
    with pytest.raises(BudgetError, match="run at most 37 runs"):
        check_budget(spec, 38, max_bytes=limit)
    with pytest.raises(BudgetError, match=r"x 52 weeks x 38 runs"):
        check_budget(spec, 38, 52, max_bytes=limit)


def test_refusing_allocates_nothing(monkeypatch):
    def no_engine(*args, **kwargs):
        raise AssertionError("the budget check built an engine")

    monkeypatch.setattr("model.engine.Engine.__init__", no_engine)
    monkeypatch.setattr("model.population.generate_population", no_engine)
    spec = _org(1_000_000, 10_000, weeks=1040, neighbours=100)
    tracemalloc.start()
    try:
        with pytest.raises(BudgetError):
            check_budget(spec, 100_000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000


@pytest.mark.parametrize(("technicians", "facilities", "weeks", "runs", "neighbours"), [
    (20_000, 15, 10, 40, 6),  # the state dominates
    (2_000, 500, 60, 20, 6),  # the weekly per-facility outcomes dominate
    (50_000, 15, 5, 1, 60),  # the network dominates
])
def test_the_estimate_is_honest(technicians, facilities, weeks, runs, neighbours):
    """Within 1.6 times the measured peak, and never under it by more than a tenth."""
    spec = _org(technicians, facilities, weeks, neighbours=neighbours)
    tracemalloc.start()
    try:
        result = run_ensemble(spec, runs=runs, seed=0)
        result.summary(facility=result.facility_names[0])  # per-facility shares are made when read
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert 0.9 * peak <= estimate_bytes(spec, runs) <= 1.6 * peak


def test_a_loaded_network_is_sized_by_its_technicians_and_reused(tmp_path):
    edges = seed_data.path("reference", "ckm_medical_innovation_edges.csv")
    path = tmp_path / "ckm.toml"
    path.write_text(f'[organisation]\nnetwork = "{edges}"\ntechnicians = 1000000\n')
    spec = load_scenario(path)
    population = check_budget(spec, 100)
    assert population is not None and 100 < population.size < 300
    size = scenario_size(spec, 100, population=population)
    assert (size.technicians, size.facilities) == (population.size, 4)
    with pytest.raises(BudgetError, match=rf"\({population.size} technicians x 78 weeks x 100 runs\)"):
        check_budget(spec, 100, max_technician_weeks=1_000)
