import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import kernel
from model.agents import AdopterState, Technician
from model.engine import rogers_category, training_gain, update_trust
from model.ensemble import run_ensemble
from model.model import AdoptionModel
from model.population import generate_population
from model.scenario import LEVER_RANGES, Organisation, scenario_from_dict

from .conftest import month_end


def test_same_seed_same_result(presets):
    a = run_ensemble(presets["turnaround"], runs=20, seed=7)
    b = run_ensemble(presets["turnaround"], runs=20, seed=7)
    c = run_ensemble(presets["turnaround"], runs=20, seed=8)
    for metric in a.overall:
        np.testing.assert_array_equal(a.overall[metric], b.overall[metric])
    assert not np.array_equal(a.overall["active_share"], c.overall["active_share"])


@pytest.mark.parametrize("preset", ["turnaround", "waves"])
def test_splitting_the_week_over_threads_changes_nothing(presets, monkeypatch, preset):
    """The compiled week runs blocks of replicates on threads; one block gives the same numbers."""
    split = run_ensemble(presets[preset], runs=64, weeks=40, seed=3)
    monkeypatch.setattr(kernel, "THREAD_MIN_CELLS", 10**12)
    whole = run_ensemble(presets[preset], runs=64, weeks=40, seed=3)
    for metric in split.overall:
        np.testing.assert_array_equal(split.overall[metric], whole.overall[metric])
    np.testing.assert_array_equal(split.facilities["active_share"], whole.facilities["active_share"])


def test_the_compiled_week_keeps_one_signature(presets):
    """Every preset calls the compiled loop with the same dtypes: it compiles once, not per scenario."""
    for name in ("pilot", "rollout", "turnaround", "waves"):
        run_ensemble(presets[name], runs=3, weeks=30, seed=1)
    assert len(kernel.weekly_step.signatures) == 1
    assert len(kernel.facility_sums.signatures) <= 1


def test_seeded_run_snapshot(presets):
    """A seeded 13-week run of the rollout: the shape the seed case describes."""
    result = run_ensemble(presets["rollout"], runs=50, weeks=13, seed=1)
    mean = result.overall["active_share"].mean(axis=1)
    assert 0.3 < mean[3] < 0.5
    assert result.overall["lapsed_share"].mean(axis=1)[12] > 0.1  # dis-adoption is happening


def test_rogers_categories_follow_2_5_13_5_34_34_16():
    z = np.random.default_rng(0).standard_normal(400_000)
    shares = np.bincount(rogers_category(z), minlength=5) / z.size
    np.testing.assert_allclose(shares, [0.025, 0.135, 0.34, 0.34, 0.16], atol=0.005)


def test_training_has_diminishing_returns_and_video_is_weaker():
    p = {"learn_rate_per_hour": np.array(0.2), "video_efficacy": np.array(0.35)}
    c0 = np.zeros(1)
    hands_on = [training_gain(c0, h, "hands_on", p)[0] for h in (4, 8, 12)]
    assert hands_on[1] - hands_on[0] > hands_on[2] - hands_on[1] > 0
    assert training_gain(c0, 0.75, "video", p)[0] < 0.1 < hands_on[1]


def test_false_alarms_hurt_more_than_hits_help_and_transparency_softens():
    p = {"trust_gain_hit": np.array(0.03), "trust_loss_false_alarm": np.array(0.2),
         "transparency_softening": np.array(0.5)}
    t = np.array([0.5])
    up = update_trust(t, np.array([0.0]), 1, 0.0, p)[0] - 0.5
    down = 0.5 - update_trust(t, np.array([1.0]), 1, 0.0, p)[0]
    softened = 0.5 - update_trust(t, np.array([1.0]), 1, 1.0, p)[0]
    assert down > up > 0 and 0 < softened < down


def _mean_active(scenario, runs=200, seed=11):
    return run_ensemble(scenario, runs=runs, seed=seed).overall["active_share"].mean(axis=1)


def test_more_friction_never_raises_adoption(presets):
    base = presets["rollout"]
    curves = [_mean_active(base.with_levers(friction_minutes=f)) for f in (0.0, 3.0, 7.5, 15.0, 30.0)]
    for lower, higher in zip(curves, curves[1:], strict=False):
        assert np.all(higher <= lower + 0.005)
    assert curves[0][-1] > curves[-1][-1] + 0.1


def test_more_alert_precision_never_lowers_trust(presets):
    base = presets["rollout"]
    trust = [run_ensemble(base.with_levers(alert_precision=p), runs=200, seed=3)
             .overall["mean_trust"].mean(axis=1) for p in (0.6, 0.75, 0.89, 0.97)]
    for lower, higher in zip(trust, trust[1:], strict=False):
        assert np.all(higher >= lower - 0.002)
    assert trust[-1][-1] > trust[0][-1] + 0.02


lever_values = st.fixed_dictionaries({
    "friction_minutes": st.floats(*LEVER_RANGES["friction_minutes"]),
    "kpi": st.sampled_from(LEVER_RANGES["kpi"]),
    "alert_precision": st.floats(*LEVER_RANGES["alert_precision"]),
    "alerts_per_week": st.integers(0, 20),
    "support": st.floats(0, 1), "transparency": st.floats(0, 1),
    "training_per_week": st.integers(0, 40), "training_hours": st.floats(0, 40),
    "training_mode": st.sampled_from(LEVER_RANGES["training_mode"]),
    "champion_capacity": st.integers(0, 20),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(levers=lever_values, technicians=st.integers(1, 60), facilities=st.integers(1, 5),
       later=lever_values, week=st.integers(1, 12),
       champions=st.integers(0, 10), strategy=st.sampled_from(["pilot", "degree", "trust",
                                                                "facility", "random"]),
       distrust=st.floats(0.01, 0.99), pilot=st.integers(0, 5))
def test_shares_stay_in_unit_interval(levers, technicians, facilities, later, week, champions,
                                      strategy, distrust, pilot):
    facilities = min(facilities, technicians)
    doc = {"weeks": 12,
           "organisation": {"technicians": technicians, "facilities": facilities,
                            "distrust_share": distrust, "pilot_technicians": min(pilot, technicians)},
           "levers": levers,
           "interventions": [{"week": week, **later,
                              "champions": {"count": min(champions, technicians),
                                            "strategy": strategy}}]}
    result = run_ensemble(scenario_from_dict(doc), runs=3, seed=0)
    for metric, values in result.overall.items():
        assert np.all((values >= 0) & (values <= 1 + 1e-6)), metric
    for metric, values in result.facilities.items():
        assert np.all((values >= 0) & (values <= 1 + 1e-6)), metric


def test_staged_rollout_waits_for_its_gate(presets):
    spec = presets["waves"]
    model = AdoptionModel(spec, replicates=30, rng=2)
    model.run_for(8)
    live = model.engine.live_fac
    assert live[:, :3].all() and not live[:, 3:].any()  # only wave 1 is live before week 9
    model.run_for(spec.weeks - 8)
    gates = model.wave_open_weeks()
    assert (gates[:, 0] == 1).all()
    opened = gates[:, 1] > 0
    assert (gates[opened, 1] >= 9).all()
    outcomes = model.outcomes("facility")["active_share"]
    # a facility of a later wave has nobody active before its wave opened
    r = int(np.argmax(opened))
    assert outcomes[: gates[r, 1] - 1, r, 3:8].max() == 0


def test_strict_gate_can_hold_a_wave_back():
    doc_waves = [{"facilities": [1, 2, 3], "week": 1},
                 {"facilities": list(range(4, 16)), "week": 5,
                  "gate": {"min_active_share": 0.99, "weeks": 50}}]
    spec = scenario_from_dict({"organisation": {"technicians": 280, "facilities": 15},
                               "waves": doc_waves, "weeks": 30})
    result = run_ensemble(spec, runs=10, seed=0)
    gates = result.gates()
    assert gates[1]["opened_share"] == 0.0
    assert result.overall["active_share"].max() <= 3 * 19 / 280 + 1e-9


def test_champion_strategies_pick_different_people():
    picks = {}
    for strategy in ("pilot", "degree", "facility", "random", "trust"):
        spec = scenario_from_dict({"organisation": {"technicians": 280, "facilities": 15,
                                                    "pilot_technicians": 12},
                                   "champions": {"count": 15, "strategy": strategy}, "weeks": 2})
        model = AdoptionModel(spec, replicates=2, rng=1)
        model.run_for(1)
        champs = model.engine.state["champion"][0]
        assert champs.sum() == 15
        picks[strategy] = champs
    pop = model.population
    assert picks["pilot"][pop.pilot].all()
    assert len(np.unique(pop.facility[picks["facility"]])) == 15  # one per facility
    assert pop.degree[picks["degree"]].mean() >= pop.degree[picks["random"]].mean()


def test_generated_network_is_mostly_inside_facilities():
    org = Organisation(technicians=280, facilities=15)
    pop = generate_population(org, np.random.default_rng(0))
    edges = pop.edges()
    inside = pop.facility[edges[:, 0]] == pop.facility[edges[:, 1]]
    assert inside.mean() > 0.9
    assert 4 <= pop.degree.mean() <= 8
    assert pop.size == 280 and pop.n_facilities == 15


def test_technician_agents_view_the_state(presets):
    model = AdoptionModel(presets["rollout"], replicates=2, rng=0)
    model.run_for(4)
    techs = model.technicians(replicate=1)
    assert len(techs) == 280 and all(isinstance(t, Technician) for t in techs)
    states = {t.state for t in techs}
    assert AdopterState.TRYING in states and AdopterState.NOT_LIVE not in states
    using = {AdopterState.TRYING, AdopterState.REGULAR}
    assert all((t.state in using) == t.active for t in techs)  # weekly use follows from the state
    active = sum(t.active for t in techs) / 280
    assert active == pytest.approx(model.outcomes()["active_share"][-1, 1])
    rejected = sum(t.state is AdopterState.REJECTED for t in techs) / 280
    assert rejected == pytest.approx(model.outcomes()["rejected_share"][-1, 1])


def test_downtime_reduction_is_35_percent_at_full_use(presets):
    result = run_ensemble(presets["pilot"], runs=20, seed=0)
    reduction = result.overall["downtime_reduction"]
    depth = result.overall["depth"]
    assert np.all(reduction <= 0.35 + 1e-9)
    np.testing.assert_allclose(reduction[-1], 0.35 * depth[-1], rtol=1e-5)


def test_facility_outcomes_add_up(presets):
    result = run_ensemble(presets["rollout"], runs=5, weeks=6, seed=0)
    sizes = np.bincount(AdoptionModel(presets["rollout"], rng=0).population.facility)
    overall = (result.facilities["active_share"] * sizes).sum(axis=2) / sizes.sum()
    np.testing.assert_allclose(overall, result.overall["active_share"], atol=1e-6)
    assert month_end(1) == 4


def test_runs_on_the_real_physician_network(tmp_path):
    from model.population import load_population
    from model.scenario import load_scenario

    from .conftest import REFERENCE

    edges = REFERENCE / "ckm_medical_innovation_edges.csv"
    assert edges.exists(), f"reference data missing: {edges}"
    path = tmp_path / "ckm.toml"
    path.write_text(f'[organisation]\nnetwork = "{edges}"\npilot_technicians = 0\n'
                    '[champions]\ncount = 8\nstrategy = "degree"\n')
    spec = load_scenario(path)
    pop = load_population(spec.organisation.network, spec.organisation)
    assert pop.size == 125 or pop.size > 100  # doctors who appear in a nomination
    assert pop.n_facilities == 4  # the four towns
    assert sorted(pop.facility_names) == ["Facility 1", "Facility 2", "Facility 3", "Facility 4"]
    result = run_ensemble(spec, runs=50, weeks=26, seed=0)
    active = result.overall["active_share"]
    assert active.shape == (26, 50) and active.mean(axis=1)[-1] > 0.1
    assert len(result.facility_names) == 4


def test_state_stays_float32(presets):
    """Mixed dtypes silently double the hot loop's cost (float64 exp is 5x slower here)."""
    model = AdoptionModel(presets["turnaround"], replicates=4, rng=0)
    model.run_for(40)
    floats = {k: v.dtype for k, v in model.engine.state.items() if v.dtype.kind == "f"}
    assert set(floats.values()) == {np.dtype("float32")}, floats
    codes = {k: v.dtype for k, v in model.engine.state.items() if v.dtype.kind in "iu"}
    assert codes == {"status": np.dtype("int8"), "history": np.dtype("uint8")}
