"""Simulator scenarios saved from the app, stored as their TOML text."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import Engine, delete, insert, select, update
from sqlmodel import col

from db.engine import write_transaction
from db.models import SavedScenario


class ScenarioNotFound(LookupError):
    """No saved scenario has that name."""


def save_scenario(engine: Engine, *, name: str, toml: str, saved_by: str) -> None:
    """Save (or overwrite) a scenario under a name."""
    if not name.strip():
        raise ValueError("scenario name: give a name to save it under")
    now = datetime.now(UTC)
    with write_transaction(engine) as conn:
        exists = conn.execute(select(col(SavedScenario.id)).where(col(SavedScenario.name) == name)).first()
        if exists:
            conn.execute(update(SavedScenario).where(col(SavedScenario.name) == name)
                         .values(toml=toml, saved_by=saved_by, saved_at=now))
        else:
            conn.execute(insert(SavedScenario).values(name=name, toml=toml, saved_by=saved_by,
                                                      saved_at=now))


def scenario_toml(engine: Engine, name: str) -> str:
    """The saved TOML text of a scenario.

    Raises:
        ScenarioNotFound: no scenario has that name.
    """
    with engine.connect() as conn:
        text = conn.execute(select(col(SavedScenario.toml)).where(col(SavedScenario.name) == name)).scalar()
    if text is None:
        raise ScenarioNotFound(f"no saved scenario is called {name!r}")
    return text


def saved_scenarios(engine: Engine) -> pd.DataFrame:
    """Saved scenarios: name, saved_by, saved_at."""
    with engine.connect() as conn:
        rows = conn.execute(select(col(SavedScenario.name), col(SavedScenario.saved_by),
                                   col(SavedScenario.saved_at))
                            .order_by(col(SavedScenario.name))).all()
    return pd.DataFrame(rows, columns=["name", "saved_by", "saved_at"])


def delete_scenario(engine: Engine, name: str) -> None:
    """Delete a saved scenario.

    Raises:
        ScenarioNotFound: no scenario has that name.
    """
    with write_transaction(engine) as conn:
        if conn.execute(delete(SavedScenario).where(col(SavedScenario.name) == name)).rowcount == 0:
            raise ScenarioNotFound(f"no saved scenario is called {name!r}")
