"""What the Forecast page reads: the stored forecast documents, and whether the early warning applies.

Reading a stored forecast needs the document's schema and the store, not the model: this module keeps
the web app from loading the simulator, numba and the calibration (about 100 MB) on a page that only
shows what the nightly refresh stored. The early warning's computation loads them when it runs.
"""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from sqlalchemy import Engine

from app.services.documents import SCHEMA_VERSION, FacilityForecast, ForecastDocument
from app.services.settings import get_settings
from db import forecasts as store
from db.queries import weekly_metrics
from model.minimums import MIN_PERIODS, MIN_WEEKS

log = logging.getLogger("app.services.forecasts")  # (where these messages have always come from)


def latest_forecast(engine: Engine, facility: str | None = None) -> ForecastDocument | None:
    """The newest stored forecast document, or None when there is none that this version can read.

    A stored document of another schema version, or one that does not validate, counts as absent
    (with a logged warning): the next refresh recomputes it.
    """
    return readable(store.latest_snapshot(engine, facility))


def readable(snapshot: dict[str, Any] | None) -> ForecastDocument | None:
    """The snapshot's document if this version can read it; else None, with a warning saying why."""
    if snapshot is None:
        return None
    document = snapshot["document"]
    where = f"forecast snapshot {snapshot['id']} ({snapshot['facility'] or 'all facilities'})"
    version = document.get("schema_version", SCHEMA_VERSION) if isinstance(document, dict) else None
    if version != SCHEMA_VERSION:
        log.warning("%s has schema version %s, this version of Chasm reads %s: not shown; the next "
                    "refresh-forecast recomputes it", where, version, SCHEMA_VERSION)
        return None
    try:
        return ForecastDocument.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        log.warning("%s does not match the forecast document (schema version %s; %d problem(s), first: "
                    "%s: %s): not shown; the next refresh-forecast recomputes it", where, SCHEMA_VERSION,
                    exc.error_count(), ".".join(map(str, first["loc"])) or "document", first["msg"])
        return None


def early_warning_now(engine: Engine, facility: str | None = None, *, target: float | None = None,
                      seed: int = 0) -> FacilityForecast | None:
    """The early warning leadership sees while fewer weeks are stored than the full forecast needs.

    Returns:
        The forecast from the stored weeks (MIN_PERIODS to MIN_WEEKS - 1 of them), or None when there
        are fewer (nothing to say yet) or enough for the agent-based forecast.
    """
    weeks = weekly_metrics(engine, facility=facility)["week_start"].nunique()
    if not MIN_PERIODS <= weeks < MIN_WEEKS:
        return None
    from app.services.facility_forecasts import early_warning

    return early_warning(engine, facility=facility, target=target or get_settings().target_share, seed=seed)
