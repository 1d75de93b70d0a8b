"""Calibrating to stored uploads, forecasting, backtesting and the scheduled jobs."""

import json
import shutil

import pytest
from typer.testing import CliRunner

from app import cli
from app.services import alerts, calibration, forecasts, recorded
from app.services.documents import SCHEMA_VERSION, ForecastDocument, recommended_plan
from db import forecasts as store
from db.demo import prepare_first_start
from db.engine import create_store_engine
from db.queries import weekly_metrics
from model.calibrate import CALIBRATED
from tests.app.helpers import bands, forecast_doc


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("store") / "demo.db"
    engine = create_store_engine(f"sqlite:///{path}")
    prepare_first_start(engine, f"sqlite:///{path}")
    engine.dispose()
    return path


@pytest.fixture
def engine(demo_db, tmp_path, monkeypatch):
    path = tmp_path / "chasm.db"
    shutil.copy(demo_db, path)
    url = f"sqlite:///{path}"
    monkeypatch.setenv("CHASM_DATABASE_URL", url)
    monkeypatch.setenv("CHASM_DATA_DIR", str(tmp_path))
    engine = create_store_engine(url)
    yield engine
    engine.dispose()


def test_recorded_scenario_replays_the_intervention_log(engine):
    spec = recorded.recorded_scenario(engine)
    assert spec.organisation.technicians == 280 and spec.organisation.facilities == 15
    levers = {k: v for iv in spec.interventions for k, v in iv.levers.items()}
    assert levers["friction_minutes"] == 0.5 and levers["kpi"] == "downtime_prevented"
    assert any(iv.champions for iv in spec.interventions)
    series = recorded.observed_series(engine)
    assert len(series) == 78 and series["active_share"].iloc[3] == pytest.approx(0.41, abs=0.03)


def test_calibrate_store_and_forecast_document(engine):
    cal_id, cal = calibration.calibrate_store(engine, until=60, quick=True)
    row = store.latest_calibration(engine)
    assert row["id"] == cal_id and len(row["observed"]) == 60
    assert row["data_version"] == store.data_version(engine)
    doc = forecasts.forecast_document(engine, horizon=12, quick=True)
    assert doc.calibration_id != cal_id  # the stored fit saw 60 of 78 weeks: refitted on all
    plan = doc.plans[0]
    assert plan.plan == "current plan"
    assert len(plan.bands.week) == 12 and plan.bands.week[0] == 79
    assert 0 <= plan.probability_of_target <= 1
    assert len(doc.baseline.mean) == 12
    stored = json.loads(json.dumps(doc.model_dump(mode="json")))  # stored and sent as JSON
    assert stored["schema_version"] == SCHEMA_VERSION and ForecastDocument.model_validate(stored) == doc


def test_refresh_forecast_only_recalibrates_on_new_data_or_an_unreadable_document(engine):
    first = forecasts.refresh_forecast(engine, horizon=8, quick=True)
    assert first["recalibrated"] and len(first["snapshots"]) == 1
    doc = forecasts.latest_forecast(engine)
    assert doc.backtest.model.origins == doc.backtest.model.scored == 2  # quick: weeks 72 and 78 of 78
    assert doc.sentence.startswith("Over the last 7 weeks, our 4-week-ahead forecasts were off by ")
    again = forecasts.refresh_forecast(engine, horizon=8, quick=True)
    assert not again["recalibrated"] and again["snapshots"] == []
    unreadable = doc.model_dump(mode="json") | {"schema_version": 99}  # e.g. written by a newer Chasm
    store.store_snapshot(engine, calibration_id=doc.calibration_id, facility=None,
                         data_version=store.data_version(engine), document=unreadable)
    assert forecasts.latest_forecast(engine) is None
    redone = forecasts.refresh_forecast(engine, horizon=8, quick=True)
    assert not redone["recalibrated"] and len(redone["snapshots"]) == 1, "an unreadable one is recomputed"
    assert forecasts.latest_forecast(engine).schema_version == SCHEMA_VERSION


def _store_document(engine, document: dict, facility=None) -> int:
    cal_id = store.store_calibration(engine, facility=facility, data_version="v", observed=[0.1] * 76,
                                     posterior={}, scenario_toml="", seconds=0)
    return store.store_snapshot(engine, calibration_id=cal_id, facility=facility,
                                data_version=store.data_version(engine), document=document)


STORED = forecast_doc().model_dump(mode="json")


@pytest.mark.parametrize("document, problem", [
    (STORED | {"schema_version": 2}, "has schema version 2, this version of Chasm reads 1"),
    ({k: v for k, v in STORED.items() if k != "observed"},
     "does not match the forecast document (schema version 1; 1 problem(s), first: observed: Field "
     "required)"),
    (STORED | {"plans": [{"plan": "current plan"}]}, "first: plans.0.bands: Field required"),
], ids=["unknown version", "missing field", "old plan shape"])
def test_a_stored_document_this_version_cannot_read_is_absent(engine, caplog, document, problem):
    snap = _store_document(engine, document, facility="Hull Works")
    assert forecasts.latest_forecast(engine, "Hull Works") is None
    [warning] = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warning.startswith(f"forecast snapshot {snap} (Hull Works) ") and problem in warning
    assert warning.endswith("not shown; the next refresh-forecast recomputes it")


def _forecast_band(lo: float, hi: float) -> dict:
    """A stored forecast of weeks 77-78 whose current plan's 80% band is lo-hi."""
    doc = forecast_doc(weeks=76, horizon=2)
    band = bands([77, 78], [(lo + hi) / 2] * 2).model_copy(update={"p10": [lo, lo], "p90": [hi, hi]})
    plans = [doc.plans[0].model_copy(update={"bands": band})]
    return doc.model_copy(update={"plans": plans}).model_dump(mode="json")


def test_check_deviation_alerts_after_two_weeks_outside_the_band(engine):
    _store_document(engine, _forecast_band(0.05, 0.10))
    sent = []
    messages = alerts.check_deviation(engine, notify=sent.append)
    assert messages == ["Adoption was above the forecast's 80% band for two weeks running "
                        "(week 78: 73% against 5%-10%)."]
    assert sent == messages
    assert alerts.check_deviation(engine) == []  # stored once
    assert list(store.open_alerts(engine)["message"]) == messages


def test_no_alert_when_inside_the_band(engine):
    _store_document(engine, _forecast_band(0.5, 0.9))
    assert alerts.check_deviation(engine) == []


def test_cli_calibrate_forecast_backtest(engine, tmp_path):
    cli._register_commands()
    runner = CliRunner()
    result = runner.invoke(cli.app, ["calibrate", "--until", "30", "--quick", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["weeks"] == 30 and set(doc["mean"]) == set(CALIBRATED)
    calibration.calibrate_store(engine, quick=True)  # a fit on every week, which forecast reuses
    plan = tmp_path / "plan.toml"
    plan.write_text('name = "embed now"\n[[interventions]]\nweek = 79\nfriction_minutes = 0.5\ncost = 1000\n')
    result = runner.invoke(cli.app, ["forecast", "--horizon", "6", "--plan", str(plan), "--by", "2026-12-14",
                                     "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc) == {"facility", "data_version", "calibration_id", "created_at", "observed", "horizon",
                        "target", "target_week", "plans", "baseline", "ranking", "backtest", "sentence",
                        "posterior"} | {"schema_version", "skipped_plans", "inputs_version",
                                        "recommended", "facilities"}  # a contract, extended
    assert set(doc["plans"][0]) == {"plan", "description", "bands", "probability_of_target",
                                    "expected_at_horizon", "expected_week_of_target", "cost",
                                    "cost_per_point", "points_gained", "downtime_hours_saved",
                                    "downtime_saving", "drivers"}
    assert doc["backtest"] == {} and set(doc["observed"]) == {"week", "week_start", "active_share"}
    assert [p["plan"] for p in doc["plans"]] == ["current plan", "embed now"]
    assert doc["target_week"] == 82  # week 1 is 2025-05-26
    assert set(doc["ranking"]["by_probability"]) == {"current plan", "embed now"}
    result = runner.invoke(cli.app, ["forecast", "--by", "next summer"])
    assert result.exit_code == 1
    assert "--by 'next summer': give a week number or a date like 2027-06-30" in result.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[[interventions]]\nweek = 80\nmagic = 1\n")
    result = runner.invoke(cli.app, ["forecast", "--plan", str(bad)])
    assert result.exit_code == 1 and "interventions[1].magic: unknown lever" in result.stderr
    result = runner.invoke(cli.app, ["forecast", "--facility", "Atlantis"])
    assert result.exit_code == 1
    assert result.stderr.strip() == ("error: no weekly metrics stored for facility 'Atlantis': "
                                     "upload a file or load the demo")


def test_per_facility_fit_beside_the_pooled_one(engine):
    facility = weekly_metrics(engine)["facility"].iloc[0]
    spec = recorded.recorded_scenario(engine, facility)
    assert spec.organisation.facilities == 1 and spec.organisation.technicians < 40
    cal_id, _ = calibration.calibrate_store(engine, facility=facility, quick=True)
    assert store.latest_calibration(engine, facility)["id"] == cal_id
    assert store.latest_calibration(engine) is None  # the pooled fit is stored separately


@pytest.mark.slow
def test_dask_address_runs_calibration_on_the_cluster(engine, monkeypatch):
    from distributed import LocalCluster

    _, here = calibration.calibrate_store(engine, until=20, quick=True, seed=3)
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster:
        monkeypatch.setenv("CHASM_DASK_ADDRESS", cluster.scheduler_address)
        executor = calibration.executor_from_env()
        assert isinstance(executor, calibration.DaskCluster)
        _, there = calibration.calibrate_store(engine, until=20, quick=True, seed=3)
        executor.client.close()
        calibration._EXECUTORS.pop(cluster.scheduler_address)
    assert (here.posterior.samples == there.posterior.samples).all()


def test_real_vs_the_calibrated_model(engine):
    """The real series over the fitted model's rollout from week 1: the organisation's fit overall, a
    facility's own fit where one is stored, the organisation's band for the others."""
    from app.services.realvsim import compare_calibrated

    with pytest.raises(LookupError, match=r"^no calibration stored yet: run `chasm calibrate`"):
        compare_calibrated(engine, runs=20)
    calibration.calibrate_store(engine, until=60, quick=True)
    own = weekly_metrics(engine)["facility"].iloc[0]
    calibration.calibrate_store(engine, facility=own, quick=True)

    result = compare_calibrated(engine, runs=60, seed=1)
    assert result["fitted_weeks"] == 60 and result["own_fits"] == [own]
    overall = result["overall"]
    assert overall["fit"]["points"] == 78  # weeks 61-78 are out of sample
    assert overall["fit"]["inside90"] >= 0.5 and overall["fit"]["mae"] < 0.1, overall["fit"]  # 63%, 6.6 pts
    bands = result["facilities"].set_index(["facility", "week"])["p50"]
    other = next(n for n in result["fits"]["facility"] if n != own)
    # Each facility is read against its own counterpart: its own fit, else the facility of that name
    # (its size and go-live) in the organisation's fit, never the organisation's band.
    assert bands.loc[other].to_numpy() != pytest.approx(overall["simulated"]["p50"].to_numpy())
    assert bands.loc[own].to_numpy() != pytest.approx(overall["simulated"]["p50"].to_numpy())
    assert bands.loc[own].to_numpy() != pytest.approx(bands.loc[other].to_numpy())
    again = compare_calibrated(engine, runs=60, seed=1)
    assert again["overall"]["simulated"].equals(overall["simulated"])


def _plans_folder(tmp_path, monkeypatch):
    from db.demo import DEMO_DIR

    folder = tmp_path / "plans"
    folder.mkdir()
    for plan in (DEMO_DIR / "plans").glob("*.toml"):
        shutil.copy(plan, folder / plan.name)
    monkeypatch.setenv("CHASM_PLANS_DIR", str(folder))
    return folder


def test_alternative_plans_come_from_the_plans_folder_and_bad_ones_say_why(engine, tmp_path, monkeypatch):
    folder = _plans_folder(tmp_path, monkeypatch)
    (folder / "late.toml").write_text('name = "too late"\n[[interventions]]\nweek = 60\nsupport = 0.9\n')
    (folder / "muddled.toml").write_text('name = "muddled"\n[[interventions]]\nweek = 90\nsparkle = 1\n')
    (folder / "twin.toml").write_text('name = "open the AI"\n[[interventions]]\nweek = 90\nsupport = 0.9\n')
    plans, skipped = forecasts.alternative_plans(engine)
    assert [p.name for p in plans] == ["open the AI", "hands-on refreshers", "second champion cohort"]
    assert [s.model_dump() for s in skipped] == [
        {"file": "late.toml", "reason": "plan 'too late': interventions[1].week = 60 is in the past "
                                        "(the data runs to week 78); plan from week 79"},
        {"file": "muddled.toml", "reason": "interventions[1].sparkle: unknown lever (allowed: champions, "
                                           "cost, label, week, friction_minutes, kpi, alert_precision, "
                                           "alerts_per_week, support, transparency, training_per_week, "
                                           "training_hours, training_mode, champion_capacity, "
                                           "support_hours)"},
        {"file": "twin.toml", "reason": "the name 'open the AI' is taken by another plan"}]


def test_the_nightly_forecast_weighs_the_plans_and_refreshes_when_they_change(engine, tmp_path, monkeypatch):
    folder = _plans_folder(tmp_path, monkeypatch)
    told: list[tuple[str, float]] = []
    forecasts.refresh_forecast(engine, horizon=26, quick=True, progress=lambda what, done: told.append(
        (what, done)))
    steps = list(dict.fromkeys(what for what, _ in told))
    assert steps == ["Fitting the model to the stored metrics (all facilities)",
                     "Testing the model on the past (all facilities)",
                     "Forecasting each plan (all facilities)", "Forecasting each facility",
                     *(f"Forecasting each facility ({k} of 15 done)" for k in range(1, 16)), "Forecast ready"]
    done = [d for _, d in told]
    assert done == sorted(done) and done[-1] == 1.0 and len(told) > 10, "a bar that moves, to the end"
    doc = forecasts.latest_forecast(engine)
    assert len(doc.facilities) == 15 and all(f.target_date == doc.date_of(doc.target_week)
                                             for f in doc.facilities)
    assert store.latest_snapshot_id(engine) == store.latest_snapshot(engine)["id"]  # the pages' cache key
    assert store.latest_snapshot_id(engine, "Atlantis") is None
    assert [p.plan for p in doc.plans] == ["current plan", "open the AI", "hands-on refreshers",
                                           "second champion cohort"]
    assert doc.skipped_plans == []
    costs = {p.plan: p.cost for p in doc.plans}
    assert costs["current plan"] == 0 and costs["open the AI"] == 30000
    # Every plan, the current one included, in the same units: hours (no plan prices an hour).
    assert all(p.downtime_hours_saved > 0 and p.downtime_saving == 0 for p in doc.plans)
    assert sorted(doc.ranking.by_probability) == sorted(costs)
    # The recommended plan: the best chance, when better than the current plan's, with its drivers.
    best = recommended_plan(doc.plans)
    assert doc.recommended == (best.plan if best else None) and doc.recommendation() == best
    for plan in doc.plans:
        assert (plan.drivers != []) == (plan.plan == doc.recommended), plan.plan
    if best is not None:
        means = [d.mean for d in best.drivers]
        assert means == sorted(means, reverse=True) and all(d.week > 78 for d in best.drivers)
        assert all(0 <= d.helps_share <= 1 and d.p05 <= d.mean <= d.p95 for d in best.drivers)

    assert forecasts.refresh_forecast(engine, horizon=26, quick=True)["snapshots"] == []  # nothing new
    monkeypatch.setenv("CHASM_DOWNTIME_COST_PER_HOUR", "250")
    priced = forecasts.refresh_forecast(engine, horizon=26, quick=True)
    assert len(priced["snapshots"]) == 1, "a changed forecast setting re-forecasts"
    for plan in forecasts.latest_forecast(engine).plans:  # the current plan too
        assert plan.downtime_saving == pytest.approx(250 * plan.downtime_hours_saved), plan.plan
    (folder / "open_the_ai.toml").unlink()
    again = forecasts.refresh_forecast(engine, horizon=26, quick=True)
    assert not again["recalibrated"] and len(again["snapshots"]) == 1, "a changed plans folder re-forecasts"
    assert [p.plan for p in forecasts.latest_forecast(engine).plans] == [
        "current plan", "hands-on refreshers", "second champion cohort"]


def test_the_backtest_scores_the_month_ahead_forecasts_of_the_last_twelve_weeks():
    from app.services.backtests import backtest_origins

    # 78 weeks stored: the forecasts made with 62..74 weeks of data, for weeks 67..78.
    assert backtest_origins(78) == list(range(63, 75))
    assert backtest_origins(78, step=6) == [68, 74]
    assert backtest_origins(12) == [6, 7, 8]  # a calibration needs 6 weeks of data
    assert backtest_origins(9) == []


def test_the_accuracy_sentence_says_it_plainly():
    from app.services.backtests import backtest_sentence
    from app.services.documents import BacktestResult, MethodScore

    doc = forecast_doc(weeks=40)
    assert backtest_sentence(doc.backtest) == (
        "Over the last 12 weeks, our 4-week-ahead forecasts were off by 3 points on average, and 8 of 10 "
        "fell inside the 80% band (a textbook Bass curve: 5 points, 4 of 10).")
    close = BacktestResult(model=MethodScore(mae=0.004, coverage80=1.0, origins=3, horizon=4, inside=3,
                                             scored=3, window_weeks=9),
                           bass=MethodScore(mae=0.012, coverage80=0.0, origins=3, horizon=4, inside=0,
                                            scored=3, window_weeks=9))
    assert backtest_sentence(close) == (
        "Over the last 9 weeks, our 4-week-ahead forecasts were off by less than 1 point on average, and "
        "3 of 3 fell inside the 80% band (a textbook Bass curve: 1 point, 0 of 3).")
    none = BacktestResult(model=MethodScore(mae=None, coverage80=None, origins=0, horizon=4),
                          bass=MethodScore(mae=None, coverage80=None, origins=0, horizon=4))
    assert backtest_sentence(none) == "Not enough history yet to test the forecast against what happened."
    assert backtest_sentence(None).startswith("Not yet backtested on this data")
