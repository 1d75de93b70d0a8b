"""Every table of the metrics store.

Rows arrive through `db.ingest`, which validates whole frames first; `table=True` models do not
validate on `__init__`, so nothing else should build them from raw input.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Column, String, Table, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

# Named constraints keep Alembic's batch mode (SQLite) able to alter them later.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# A technician's key (an HMAC in hex) compares byte by byte: PostgreSQL then sorts it by abbreviated
# keys instead of through the language collation (migration 0008). SQLite compares text so anyway.
TECHNICIAN_KEY = String(64).with_variant(String(64, collation="C"), "postgresql")


class Facility(SQLModel, table=True):
    """A site whose technicians adopt the tool."""

    __tablename__ = "facility"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    # Trimmed, spaces collapsed, casefolded: how uploads are matched to a facility.
    name_key: str = Field(max_length=200, unique=True)


class Upload(SQLModel, table=True):
    """The audit record of one file offered to the store, accepted or not."""

    __tablename__ = "upload"

    id: int | None = Field(default=None, primary_key=True)
    file_name: str = Field(max_length=500)
    sha256: str = Field(max_length=64, index=True)
    uploaded_by: str = Field(max_length=200)
    uploaded_at: datetime
    kind: str = Field(max_length=32)
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    outcome: str = Field(max_length=16)
    error_report: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class WeeklyMetricBase(SQLModel):
    """The measured adoption of one facility in one ISO week."""

    week_start: date
    technicians: int
    active_users: int
    work_orders: int | None = None
    ai_assisted_work_orders: int | None = None
    alerts: int | None = None
    alerts_actioned: int | None = None
    training_hours: float | None = None
    champions: int | None = None
    unplanned_downtime_hours: float | None = None


class WeeklyMetric(WeeklyMetricBase, table=True):
    """A stored facility-week, unique on (facility, week)."""

    __tablename__ = "weekly_metric"
    __table_args__ = (UniqueConstraint("facility_id", "week_start"),)

    id: int | None = Field(default=None, primary_key=True)
    # The unique (facility, week) key already indexes facility_id.
    facility_id: int = Field(foreign_key="facility.id")
    upload_id: int | None = Field(default=None, foreign_key="upload.id")


class TechnicianWeekBase(SQLModel):
    """One technician's use of the tool in one ISO week."""

    # HMAC of the technician's id: the raw id is never stored. (The unique key indexes it.)
    technician_key: str = Field(max_length=64, sa_type=TECHNICIAN_KEY)
    week_start: date
    active: bool
    eligible_work_orders: int | None = None
    ai_assisted_work_orders: int | None = None
    alerts_received: int | None = None
    alerts_actioned: int | None = None
    training_type: str | None = Field(default=None, max_length=100)
    training_hours: float | None = None
    champion: bool | None = None


class TechnicianWeek(TechnicianWeekBase, table=True):
    """A stored technician-week, unique on (week, technician)."""

    __tablename__ = "technician_week"
    # Week first: a weekly upload appends to the index (migration 0007), and by-week reads use it.
    __table_args__ = (UniqueConstraint("week_start", "technician_key"),)

    id: int | None = Field(default=None, primary_key=True)
    facility_id: int = Field(foreign_key="facility.id", index=True)
    upload_id: int | None = Field(default=None, foreign_key="upload.id")


class TechnicianState(SQLModel, table=True):
    """Each technician's latest stored week: what the ingest needs to extend the lifecycle summary.

    Kept by `db.summary` in the transaction that writes technician-weeks (0006).
    """

    __tablename__ = "technician_state"

    technician_key: str = Field(primary_key=True, max_length=64, sa_type=TECHNICIAN_KEY)
    facility_id: int = Field(foreign_key="facility.id")  # the facility of the latest week
    # No index on the columns every upload updates: PostgreSQL then updates the rows in place (HOT).
    last_week: date
    last_was_active: bool
    ever_active: bool
    last_active: date | None = None


class LifecycleWeek(SQLModel, table=True):
    """How many technicians were new, retained, reactivated or lapsed users in a week (0006)."""

    __tablename__ = "lifecycle_week"

    week_start: date = Field(primary_key=True)
    status: str = Field(primary_key=True, max_length=16)
    technicians: int


class Revision(SQLModel, table=True):
    """The values a stored row had before an upload changed them."""

    __tablename__ = "revision"

    id: int | None = Field(default=None, primary_key=True)
    upload_id: int = Field(foreign_key="upload.id", index=True)
    table_name: str = Field(max_length=64)
    record_id: int = Field(index=True)
    previous_values: dict = Field(sa_column=Column(JSON, nullable=False))


class Intervention(SQLModel, table=True):
    """Something the organisation actually did, to compare real trajectories with simulations."""

    __tablename__ = "intervention"

    id: int | None = Field(default=None, primary_key=True)
    week_start: date
    # None: the whole organisation.
    facility_id: int | None = Field(default=None, foreign_key="facility.id")
    kind: str = Field(max_length=64)
    description: str = Field(default="", max_length=1000)
    # Lever values in force from this week, in the scenarios' vocabulary (e.g. friction_minutes).
    settings: dict | None = Field(default=None, sa_column=Column(JSON, nullable=True))


class User(SQLModel, table=True):
    """A local account of the app; roles are viewer, editor or admin."""

    __tablename__ = "app_user"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    role: str = Field(max_length=16)
    password_hash: str = Field(max_length=300)
    created_at: datetime
    must_change_password: bool = False


class SignIn(SQLModel, table=True):
    """Every sign-in attempt, for rate limiting and the audit trail."""

    __tablename__ = "sign_in"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, index=True)
    at: datetime = Field(index=True)
    success: bool
    method: str = Field(default="password", max_length=16)
    # The client's address as the web server saw it ("unknown" when it could not tell).
    client: str = Field(default="unknown", max_length=64)


class SignInLock(SQLModel, table=True):
    """Recent failed sign-ins of one name from one client address, and the lock they earned.

    Counted per (name, client) so a stranger elsewhere cannot lock an account out for everyone.
    """

    __tablename__ = "sign_in_lock"
    __table_args__ = (UniqueConstraint("name", "client"),)

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200)
    client: str = Field(max_length=64)
    failures: int = 0
    # When the failures being counted began; older ones are forgotten.
    window_start: datetime | None = None
    # Locks so far without a success in between: each one lasts twice as long as the last.
    lockouts: int = 0
    locked_until: datetime | None = None


class StoreKey(SQLModel, table=True):
    """The store's pseudonym key (the HMAC key of technician ids): one row, kept with the data.

    `key` is the key itself when the store holds it, or None when it comes from
    `CHASM_PSEUDONYM_SECRET`; `fingerprint` tells the right key from a different one either way.
    """

    __tablename__ = "store_key"

    id: int = Field(default=1, primary_key=True)
    key: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    fingerprint: str = Field(max_length=64)
    # random (made by the store), key-file (adopted from <data dir>/pseudonym.key) or secret.
    source: str = Field(max_length=16)
    created_at: datetime


class SavedScenario(SQLModel, table=True):
    """A simulator scenario saved from the app, as its TOML text."""

    __tablename__ = "saved_scenario"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    toml: str = Field(sa_column=Column(Text, nullable=False))
    saved_by: str = Field(max_length=200)
    saved_at: datetime


class AdoptedPlan(SQLModel, table=True):
    """A plan the organisation adopted (from the simulator, the optimiser or a file), as scenario TOML.

    The nightly forecast weighs every adopted plan against the current one; the leadership page shows
    each with its name and description. The text was validated by `model/` before it was stored.
    """

    __tablename__ = "adopted_plan"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=200, unique=True)
    description: str = Field(default="", max_length=2000)
    toml: str = Field(sa_column=Column(Text, nullable=False))
    source: str = Field(max_length=32)
    """Where it came from: 'simulator', 'optimiser' or 'file'."""
    adopted_by: str = Field(max_length=200)
    adopted_at: datetime


class Calibration(SQLModel, table=True):
    """A posterior sample fitted to the stored metrics, with the data version it saw."""

    __tablename__ = "calibration"

    id: int | None = Field(default=None, primary_key=True)
    facility: str | None = Field(default=None, max_length=200)
    fitted_at: datetime
    data_version: str = Field(max_length=200, index=True)
    observed: list = Field(sa_column=Column(JSON, nullable=False))
    posterior: dict = Field(sa_column=Column(JSON, nullable=False))
    scenario_toml: str = Field(sa_column=Column(Text, nullable=False))
    seconds: float = 0.0


class ForecastSnapshot(SQLModel, table=True):
    """A forecast as leadership saw it: bands, plans, backtest, and what it was fitted on."""

    __tablename__ = "forecast_snapshot"

    id: int | None = Field(default=None, primary_key=True)
    calibration_id: int = Field(foreign_key="calibration.id", index=True)
    created_at: datetime
    facility: str | None = Field(default=None, max_length=200)
    data_version: str = Field(max_length=200)
    document: dict = Field(sa_column=Column(JSON, nullable=False))


class Alert(SQLModel, table=True):
    """Something leadership should know now, e.g. adoption outside the forecast band."""

    __tablename__ = "alert"

    id: int | None = Field(default=None, primary_key=True)
    created_at: datetime
    kind: str = Field(max_length=64)
    facility: str | None = Field(default=None, max_length=200)
    week_start: date | None = None
    message: str = Field(max_length=2000)
    acknowledged: bool = False


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a table model, for Core statements over all of its columns.

    Args:
        model: A `table=True` model.

    Returns:
        `model.__table__`, which SQLAlchemy sets when the class is mapped.
    """
    table: Table = model.__table__  # type: ignore[attr-defined]  # SQLModel's type hints leave it out
    return table
