"""Calibrations, forecast snapshots and alerts: what the nightly jobs store and the app reads."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
from sqlalchemy import CursorResult, Engine, func, insert, select, update
from sqlmodel import col

from db.engine import write_transaction
from db.models import Alert, Calibration, ForecastSnapshot, Upload, WeeklyMetric


def data_version(engine: Engine) -> str:
    """A fingerprint of the stored weekly metrics: changes whenever an upload changes them."""
    with engine.connect() as conn:
        rows, last_week, total = conn.execute(select(
            func.count(col(WeeklyMetric.id)), func.max(col(WeeklyMetric.week_start)),
            func.coalesce(func.sum(col(WeeklyMetric.active_users) * 7 + col(WeeklyMetric.technicians)), 0),
        )).one()
        last_upload = conn.execute(
            select(func.max(col(Upload.id))).where(col(Upload.outcome) == "accepted")).scalar()
    return f"rows={rows};last_week={last_week};sum={total};upload={last_upload or 0}"


def _new_id(result: CursorResult[Any]) -> int:
    key = result.inserted_primary_key
    if key is None:  # SQLAlchemy gives one for every single-row INSERT, which these are
        raise RuntimeError("the INSERT returned no primary key")
    return int(key[0])


def store_calibration(engine: Engine, *, facility: str | None, data_version: str, observed: list[float],
                      posterior: dict[str, Any], scenario_toml: str, seconds: float) -> int:
    """Store a fitted posterior; returns its id."""
    with write_transaction(engine) as conn:
        result = conn.execute(insert(Calibration).values(
            facility=facility, fitted_at=datetime.now(UTC), data_version=data_version,
            observed=observed, posterior=posterior, scenario_toml=scenario_toml, seconds=seconds))
        return _new_id(result)


def latest_calibration(engine: Engine, facility: str | None = None) -> dict[str, Any] | None:
    """The newest calibration of the organisation (facility None) or of one facility."""
    query = select(Calibration).where(
        col(Calibration.facility).is_(None) if facility is None else col(Calibration.facility) == facility
    ).order_by(col(Calibration.id).desc()).limit(1)
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def store_snapshot(engine: Engine, *, calibration_id: int, facility: str | None, data_version: str,
                   document: dict[str, Any]) -> int:
    """Store a forecast document as shown; returns its id."""
    with write_transaction(engine) as conn:
        result = conn.execute(insert(ForecastSnapshot).values(
            calibration_id=calibration_id, created_at=datetime.now(UTC), facility=facility,
            data_version=data_version, document=document))
        return _new_id(result)


def latest_snapshot(engine: Engine, facility: str | None = None) -> dict[str, Any] | None:
    """The newest forecast snapshot (document, data_version, created_at, calibration_id)."""
    column = col(ForecastSnapshot.facility)
    query = select(ForecastSnapshot).where(
        column.is_(None) if facility is None else column == facility
    ).order_by(col(ForecastSnapshot.id).desc()).limit(1)
    with engine.connect() as conn:
        row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def latest_snapshot_id(engine: Engine, facility: str | None = None) -> int | None:
    """The id of the newest forecast snapshot: a cheap read that tells whether a cached one is current."""
    column = col(ForecastSnapshot.facility)
    query = select(func.max(col(ForecastSnapshot.id))).where(
        column.is_(None) if facility is None else column == facility)
    with engine.connect() as conn:
        return conn.execute(query).scalar()


def add_alert(engine: Engine, *, kind: str, message: str, facility: str | None = None,
              week_start: date | None = None) -> bool:
    """Store an alert unless the same one (kind, facility, week) is already there; True if added."""
    with write_transaction(engine) as conn:
        same = conn.execute(select(col(Alert.id)).where(
            col(Alert.kind) == kind, col(Alert.week_start) == week_start,
            col(Alert.facility).is_(None) if facility is None else col(Alert.facility) == facility)).first()
        if same:
            return False
        conn.execute(insert(Alert).values(created_at=datetime.now(UTC), kind=kind, facility=facility,
                                          week_start=week_start, message=message))
        return True


def open_alerts(engine: Engine) -> pd.DataFrame:
    """Alerts not yet acknowledged, newest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(col(Alert.id), col(Alert.created_at), col(Alert.kind), col(Alert.facility),
                                   col(Alert.week_start), col(Alert.message))
                            .where(col(Alert.acknowledged).is_(False)).order_by(col(Alert.id).desc())).all()
    return pd.DataFrame(rows, columns=["id", "created_at", "kind", "facility", "week_start", "message"])


def acknowledge_alert(engine: Engine, alert_id: int) -> None:
    """Mark an alert as seen."""
    with write_transaction(engine) as conn:
        conn.execute(update(Alert).where(col(Alert.id) == alert_id).values(acknowledged=True))
