"""What the app shares across reruns: the engine (once per process) and cached reads.

Reads are cached by their real inputs with a TTL and cleared with `clear_reads()` after every
write, so a page never shows data older than the last thing the user did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from app.services.documents import FacilityForecast, ForecastDocument
from app.services.settings import Settings, get_settings

if TYPE_CHECKING:
    from app.services.realvsim import Comparison

READ_TTL_SECONDS = 300


def settings() -> Settings:
    """The application's settings, read from the environment now (not cached: they are cheap)."""
    return get_settings()


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    """The process's engine: built once, shared by every session."""
    from db.engine import get_engine

    return get_engine()


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def weekly_metrics(facility: str | None = None) -> pd.DataFrame:
    from db.queries import weekly_metrics as read

    return read(engine(), facility=facility)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def tracker_view(target: float, inactive_weeks: int):
    from app.services.tracker import tracker_view as build
    from db.queries import interventions, last_active, last_uploads, lifecycle_counts

    store = engine()
    return build(weekly_metrics(), target=target, inactive_weeks=inactive_weeks,
                 lifecycle_counts=lifecycle_counts(store), last_active=last_active(store),
                 last_uploads=last_uploads(store), interventions=interventions(store))


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def uploads() -> pd.DataFrame:
    from db.queries import uploads as read

    return read(engine())


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def interventions() -> pd.DataFrame:
    from db.queries import interventions as read

    return read(engine())


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def open_alerts() -> pd.DataFrame:
    from db.forecasts import open_alerts as read

    return read(engine())


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def saved_scenarios() -> pd.DataFrame:
    from db.saved_scenarios import saved_scenarios as read

    return read(engine())


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def users() -> pd.DataFrame:
    from db.accounts import users as read

    return read(engine())


def latest_forecast(facility: str | None = None) -> ForecastDocument | None:
    """The newest forecast document: cached per snapshot, so a forecast the scheduler stored a moment
    ago shows at once."""
    from db.forecasts import latest_snapshot_id

    return _forecast(facility, latest_snapshot_id(engine(), facility))


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def _forecast(facility: str | None, snapshot: int | None) -> ForecastDocument | None:
    from app.services.snapshots import latest_forecast as read

    return read(engine(), facility)


def early_warning(facility: str | None = None) -> FacilityForecast | None:
    """The early warning while too few weeks are stored for the full forecast; cached per data version."""
    return _early_warning(facility, data_version())


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False, max_entries=16)
def _early_warning(facility: str | None, version: str) -> FacilityForecast | None:
    from app.services.snapshots import early_warning_now

    return early_warning_now(engine(), facility)


@st.cache_data(ttl=3600, show_spinner=False, max_entries=32)
def simulate(scenario_toml: str, runs: int, seed: int):
    """An ensemble's summaries, cached by the scenario's exact text, runs and seed."""
    from app.services.simulator import simulate as run

    return run(scenario_toml, runs=runs, seed=seed)


@st.cache_data(ttl=3600, show_spinner=False, max_entries=16)
def network_picture(scenario_toml: str, facility: int, week: int, seed: int):
    from app.services.simulator import network_snapshot

    return network_snapshot(scenario_toml, facility=facility, week=week, seed=seed)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False, max_entries=8)
def real_vs_simulated(scenario_toml: str, runs: int, seed: int) -> Comparison:
    from app.services.realvsim import compare_real_simulated

    return compare_real_simulated(engine(), scenario_toml, runs=runs, seed=seed)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False, max_entries=4)
def calibrated_vs_real(runs: int, seed: int) -> Comparison:
    from app.services.realvsim import compare_calibrated

    return compare_calibrated(engine(), runs=runs, seed=seed)


@st.cache_data(ttl=READ_TTL_SECONDS, show_spinner=False)
def data_version() -> str:
    from db.forecasts import data_version as read

    return read(engine())


@st.cache_data(ttl=3600, show_spinner=False, max_entries=8)
def forecast_pdf(doc_key: str, _doc: ForecastDocument) -> bytes:
    """The brief's PDF, built once per forecast document (keyed by its data version and time)."""
    from app.services.brief import brief_pdf
    from app.services.settings import get_settings

    return brief_pdf(_doc, currency=get_settings().currency)


@st.cache_data(ttl=3600, show_spinner=False, max_entries=8)
def forecast_png(doc_key: str, _doc: ForecastDocument) -> bytes:
    from app.services.brief import chart_png

    return chart_png(_doc)


READS = (data_version, weekly_metrics, tracker_view, uploads, interventions, open_alerts, saved_scenarios,
         users, _forecast, real_vs_simulated, calibrated_vs_real)


def clear_reads() -> None:
    """Forget every cached read (call after any write); simulations stay cached."""
    for read in READS:
        read.clear()
