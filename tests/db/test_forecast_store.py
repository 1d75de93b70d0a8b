from datetime import date

from db import forecasts


def test_calibrations_and_snapshots_round_trip(engine):
    version = forecasts.data_version(engine)
    assert forecasts.latest_calibration(engine) is None
    first = forecasts.store_calibration(engine, facility=None, data_version=version, observed=[0.1, 0.2],
                                        posterior={"names": ["a"], "samples": [[1.0]]},
                                        scenario_toml='name = "x"\n', seconds=1.5)
    second = forecasts.store_calibration(engine, facility="Plant A", data_version=version,
                                         observed=[0.3], posterior={}, scenario_toml="", seconds=0.1)
    assert forecasts.latest_calibration(engine)["id"] == first
    assert forecasts.latest_calibration(engine, "Plant A")["id"] == second
    assert forecasts.latest_calibration(engine)["posterior"] == {"names": ["a"], "samples": [[1.0]]}
    snap = forecasts.store_snapshot(engine, calibration_id=first, facility=None, data_version=version,
                                    document={"plans": [], "target": 0.7})
    row = forecasts.latest_snapshot(engine)
    assert row["id"] == snap and row["document"] == {"plans": [], "target": 0.7}
    assert forecasts.latest_snapshot(engine, "Plant A") is None


def test_alerts_are_stored_once_and_acknowledged(engine):
    assert forecasts.add_alert(engine, kind="deviation", message="below", week_start=date(2026, 1, 5))
    assert not forecasts.add_alert(engine, kind="deviation", message="below", week_start=date(2026, 1, 5))
    alerts = forecasts.open_alerts(engine)
    assert list(alerts["message"]) == ["below"]
    forecasts.acknowledge_alert(engine, int(alerts["id"][0]))
    assert forecasts.open_alerts(engine).empty


def test_data_version_changes_when_metrics_change(engine, tmp_path):
    from db.ingest import ingest_file

    before = forecasts.data_version(engine)
    path = tmp_path / "w.csv"
    path.write_text("facility,week_start,technicians,active_users\nPlant A,2026-01-05,10,4\n")
    ingest_file(path, engine=engine, uploaded_by="test")
    middle = forecasts.data_version(engine)
    path.write_text("facility,week_start,technicians,active_users\nPlant A,2026-01-05,10,5\n")
    ingest_file(path, engine=engine, uploaded_by="test")
    assert len({before, middle, forecasts.data_version(engine)}) == 3
