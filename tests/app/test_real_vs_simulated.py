"""Real vs simulated on the real organisation (issue #12): each stored facility against its own
simulated counterpart, a verdict in words, and a fit offered when the model is not calibrated yet."""

from __future__ import annotations

from datetime import date
from functools import partial

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import delete

from app.services import calibration, recorded
from app.services.realvsim import (
    FIT_SHARE,
    compare_real_simulated,
    fits_table,
    recorded_toml,
    verdict,
    verdict_words,
)
from app.services.recorded import recorded_scenario
from app.services.simulator import preset_toml
from db.queries import weekly_metrics
from model.ensemble import run_ensemble
from model.population import generate_population
from tests.app.conftest import click, signed_in, texts


@pytest.fixture
def uncalibrated_afterwards(engine):
    """The shared store stays uncalibrated for the other pages' tests: calibrations made here go."""
    from db.models import Calibration

    yield engine
    with engine.begin() as conn:
        conn.execute(delete(Calibration))


def test_the_recorded_scenario_has_our_facilities_with_their_sizes(engine):
    metrics = weekly_metrics(engine)
    latest = metrics[metrics["week_start"] == metrics["week_start"].max()].set_index("facility")
    scenario = recorded_scenario(engine)
    org = scenario.organisation
    assert org.facility_names == tuple(sorted(latest.index))  # all went live in the first stored week
    assert org.facility_sizes == tuple(int(latest.loc[n, "technicians"]) for n in org.facility_names)
    assert org.technicians == sum(org.facility_sizes) and org.facilities == 15
    assert [(w.week, w.facilities) for w in scenario.waves] == [(1, tuple(range(15)))]
    assert dict(zip(org.facility_names, org.facility_sizes, strict=True))["Hull Works"] == 11


def test_each_facility_goes_live_at_its_first_stored_week(engine, monkeypatch):
    rows = [("Oulu Mill", "2025-06-09", 7), ("Cork Refinery", "2025-05-26", 4),
            ("Cork Refinery", "2025-06-02", 5), ("Hull Works", "2025-06-09", 3),
            ("Oulu Mill", "2025-06-16", 8), ("Cork Refinery", "2025-06-16", 6)]
    frame = pd.DataFrame([{"facility": f, "week_start": date.fromisoformat(d), "technicians": n,
                           "active_users": 1} for f, d, n in rows])
    monkeypatch.setattr(recorded, "weekly_metrics", lambda engine, facility=None: frame)
    monkeypatch.setattr(recorded, "_log_entries", lambda engine: [])
    scenario = recorded_scenario(engine)
    org = scenario.organisation
    assert org.facility_names == ("Cork Refinery", "Hull Works", "Oulu Mill")  # by go-live week, then name
    assert org.facility_sizes == (6, 3, 8)  # each at its own latest stored week
    assert [(w.week, w.facilities) for w in scenario.waves] == [(1, (0,)), (3, (1, 2))]
    population = generate_population(org, np.random.default_rng(0))
    assert population.facility_names == org.facility_names and population.facility_sizes.tolist() == [6, 3, 8]


def test_each_facility_is_compared_with_its_own_counterpart_by_name(engine):
    result = compare_real_simulated(engine, recorded_toml(engine), runs=10, seed=3)
    assert result["matched"] and result["verdict"]["by_name"]
    assert result["fits"]["own"].all() and len(result["fits"]) == 15
    scenario = recorded_scenario(engine)
    ensemble = run_ensemble(scenario, runs=10, weeks=result["weeks"]["simulated"], seed=3)
    hull = ensemble.facility_names.index("Hull Works")
    assert ensemble.facilities["active_share"].shape[2] == 15
    assert int(ensemble.scenario.organisation.facility_sizes[hull]) == 11
    bands = result["facilities"].set_index(["facility", "week"])
    expected = ensemble.summary("active_share", "Hull Works")
    assert bands.loc["Hull Works", "p50"].to_numpy() == pytest.approx(expected["p50"].to_numpy())
    assert bands.loc["Hull Works", "p50"].to_numpy() != pytest.approx(
        ensemble.summary("active_share", "Aberdeen Works")["p50"].to_numpy())
    sentence = verdict_words(result["verdict"])
    assert sentence.startswith("The model fits ") and " of 15 facilities" in sentence
    assert "Overall, " in sentence and "% of real weeks fall inside the 90% band." in sentence


def test_a_preset_is_read_against_the_whole_organisations_band_and_says_so(engine):
    result = compare_real_simulated(engine, preset_toml("turnaround"), runs=10)
    assert not result["matched"] and not result["verdict"]["by_name"]
    assert not result["fits"]["own"].any()
    bands = result["facilities"].set_index(["facility", "week"])["p50"]
    overall = result["overall"]["simulated"]["p50"].to_numpy()
    assert bands.loc["Hull Works"].to_numpy() == pytest.approx(overall)
    sentence = verdict_words(result["verdict"])
    assert sentence.startswith("Read against the whole organisation's band, the model ")
    table = fits_table(result)
    assert set(table["Compared with"]) == {"the whole organisation's band"}


def _fits(*rows: tuple[str, float, str, int | None]) -> pd.DataFrame:
    return pd.DataFrame([{"facility": f, "mae": 0.05, "inside90": i, "points": 52, "side": s,
                          "since_week": w, "own": True} for f, i, s, w in rows],
                        columns=["facility", "mae", "inside90", "points", "side", "since_week", "own"])


def test_the_verdict_in_words():
    monday = date(2025, 5, 26)
    fits = _fits(*[(f"Plant {i:02d}", 0.95, "", None) for i in range(1, 13)],
                 ("Cork Refinery", 0.41, "below", 41), ("Hull Works", 0.6, "below", 41),
                 ("Lyon Plant", 0.7, "", None))
    v = verdict(fits, 0.74, monday, by_name=True)
    assert (v["facilities"], v["fits"]) == (15, 12)
    assert [d["facility"] for d in v["drifts"]] == ["Cork Refinery", "Hull Works", "Lyon Plant"]
    assert v["drifts"][0]["since"] == date(2026, 3, 2)
    assert verdict_words(v) == ("The model fits 12 of 15 facilities; Cork Refinery and Hull Works run below "
                                "it since 2 March 2026; Lyon Plant moves in and out of it. Overall, 74% of "
                                "real weeks fall inside the 90% band.")
    above = verdict(_fits(("Oulu Mill", FIT_SHARE, "", None), ("Faro Depot", 0.5, "above", 2)), None, monday,
                    by_name=False)
    assert verdict_words(above) == ("Read against the whole organisation's band, the model fits 1 of 2 "
                                    "facilities; Faro Depot runs above it since 2 June 2025.")
    everyone = verdict(_fits(("Oulu Mill", 1.0, "", None), ("Faro Depot", 0.9, "", None)), 0.9, monday,
                       by_name=True)
    assert verdict_words(everyone) == ("The model fits all 2 facilities. Overall, 90% of real weeks fall "
                                       "inside the 90% band.")


def test_the_per_facility_table_is_in_words(engine):
    table = fits_table(compare_real_simulated(engine, recorded_toml(engine), runs=10))
    assert list(table.columns) == ["Facility", "Fits the model", "Real weeks inside the 90% band",
                                   "Average error", "Latest weeks", "Compared with", "Weeks compared"]
    assert table["Real weeks inside the 90% band"].str.fullmatch(r"\d+%").all()
    assert set(table["Fits the model"]) <= {"Yes", "No"}
    since = r"Inside the band|(Above|Below) the band since \d+ \w+ \d{4}"
    assert table["Latest weeks"].str.fullmatch(since).all()
    assert not any("_" in str(v) for v in table.to_numpy().ravel())


def test_the_page_gives_the_verdict_for_the_recorded_rollout():
    at = signed_in("editor", "real_vs_simulated")
    assert at.selectbox(key="rvs_scenario").value.startswith("The recorded rollout")
    at.select_slider[0].set_value(20).run()
    at = click(at, "Compare")
    [sentence] = [t for t in texts(at.success) + texts(at.warning) if t.startswith("The model fits ")]
    assert sentence.endswith("% of real weeks fall inside the 90% band.")
    captions = " ".join(texts(at.caption))
    assert "Each facility is read against the simulated facility of its own name" in captions
    assert "left out of the organisation-wide scenario" in captions
    assert "Week 1 is the week of 26 May 2025." in captions
    assert "reproduces the seed case" not in " ".join(texts(at.info) + texts(at.caption))
    table = at.dataframe[0].value
    assert len(table) == 15 and all("_" not in c for c in table.columns)


def test_a_preset_on_the_page_says_it_is_read_against_the_organisation():
    at = signed_in("editor", "real_vs_simulated")
    at.selectbox(key="rvs_scenario").select("Preset: turnaround").run()
    at.select_slider[0].set_value(20).run()
    at = click(at, "Compare")
    assert [t for t in texts(at.warning) + texts(at.success)
            if t.startswith("Read against the whole organisation's band, the model fits ")]
    assert "This scenario's facilities are not ours" in " ".join(texts(at.caption))


def test_uncalibrated_the_page_offers_to_fit_and_then_compares(uncalibrated_afterwards, monkeypatch):
    from db.forecasts import latest_calibration

    engine = uncalibrated_afterwards
    assert latest_calibration(engine) is None
    ticks: list[tuple[int, int]] = []
    quick = partial(calibration.calibrate_store, quick=True)

    def fit_quickly(engine, *, progress=None, **kwargs):
        def tick(done: int, total: int) -> None:
            ticks.append((done, total))
            if progress is not None:
                progress(done, total)
        return quick(engine, progress=tick, **kwargs)

    monkeypatch.setattr(calibration, "calibrate_store", fit_quickly)
    at = signed_in("editor", "real_vs_simulated", timeout=900)
    picker = at.selectbox(key="rvs_scenario")
    picker.select(next(o for o in picker.options if o.startswith("The calibrated model"))).run()
    at.select_slider[0].set_value(20).run()
    at = click(at, "Compare")
    assert not at.warning or not any("chasm calibrate" in w for w in texts(at.warning))
    assert "has not been fitted to our data yet" in at.info[0].value
    assert not at.get("vega_lite_chart")
    at = click(at, "Fit the model to our data now")
    assert latest_calibration(engine) is not None and ticks, "fitted, with progress"
    assert not [b for b in at.button if b.label == "Fit the model to our data now"]
    assert [t for t in texts(at.success) + texts(at.warning) if t.startswith("The model fits ")]
    assert {m.label: m.value for m in at.metric}["Weeks compared"] == "78"
    specs = " ".join(c.proto.spec for c in at.get("vega_lite_chart"))
    assert "real vs the calibrated model (20 runs)" in specs
