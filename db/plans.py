"""Adopted plans: what the organisation decided to do next, stored as the scenario TOML it runs.

`db` stores and returns the text; `model/` validates it and `app/services/plans.py` orchestrates
(adopting from the simulator, the optimiser or a file). The nightly forecast weighs every adopted
plan against the current one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, delete, insert, select, update
from sqlmodel import col

from db.engine import write_transaction
from db.models import AdoptedPlan

SOURCES = ("simulator", "optimiser", "file")
"""Where an adopted plan can come from."""


class PlanNotFound(LookupError):
    """No adopted plan has that name."""


class PlanNameTaken(ValueError):
    """Another adopted plan already has that name (and replacing it was not asked for)."""


@dataclass(frozen=True)
class StoredPlan:
    """One adopted plan as stored."""

    name: str
    description: str
    toml: str
    source: str
    adopted_by: str
    adopted_at: datetime


def adopt(engine: Engine, *, name: str, description: str, toml: str, source: str, adopted_by: str,
          replace: bool = False) -> None:
    """Store an adopted plan (validated by the caller).

    Raises:
        ValueError: an empty name or an unknown source.
        PlanNameTaken: the name is taken and `replace` is False.
    """
    name = name.strip()
    if not name:
        raise ValueError("plan name: give the plan a name")
    if len(name) > 200 or len(description) > 2000:
        raise ValueError("plan name or description too long (at most 200 and 2,000 characters)")
    if source not in SOURCES:
        raise ValueError(f"plan source {source!r}: one of {', '.join(SOURCES)}")
    values = {"description": description, "toml": toml, "source": source, "adopted_by": adopted_by,
              "adopted_at": datetime.now(UTC)}
    with write_transaction(engine) as conn:
        exists = conn.execute(select(col(AdoptedPlan.id)).where(col(AdoptedPlan.name) == name)).first()
        if exists and not replace:
            raise PlanNameTaken(f"a plan called {name!r} is already adopted; choose another name or "
                                "replace it")
        if exists:
            conn.execute(update(AdoptedPlan).where(col(AdoptedPlan.name) == name).values(**values))
        else:
            conn.execute(insert(AdoptedPlan).values(name=name, **values))


def adopted(engine: Engine) -> list[StoredPlan]:
    """Every adopted plan, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(select(AdoptedPlan).order_by(col(AdoptedPlan.adopted_at), col(AdoptedPlan.id)))
        return [StoredPlan(r.name, r.description, r.toml, r.source, r.adopted_by, r.adopted_at)
                for r in rows]


def retire(engine: Engine, name: str) -> None:
    """Stop weighing a plan: delete it.

    Raises:
        PlanNotFound: no adopted plan has that name.
    """
    with write_transaction(engine) as conn:
        if conn.execute(delete(AdoptedPlan).where(col(AdoptedPlan.name) == name)).rowcount == 0:
            raise PlanNotFound(f"no adopted plan is called {name!r}")
