"""The columns each kind of upload may carry, and the headers people actually write for them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ColumnType = Literal["facility", "technician", "week", "count", "hours", "flag", "text"]
FACILITY_WEEK = "facility-week"
TECHNICIAN_WEEK = "technician-week"
KINDS = (FACILITY_WEEK, TECHNICIAN_WEEK)


@dataclass(frozen=True)
class ColumnSpec:
    """One column an upload may have: its stored name, type, and accepted headers."""

    name: str
    type: ColumnType
    required: bool = False
    synonyms: tuple[str, ...] = ()

    @property
    def headers(self) -> tuple[str, ...]:
        """Every header (normalised) that means this column."""
        return tuple(header_key(h) for h in (self.name, *self.synonyms))


_FACILITY = ColumnSpec("facility", "facility", True, ("site", "plant", "facility_name", "location"))
_WEEK = ColumnSpec(
    "week_start",
    "week",
    True,
    ("week", "week_of", "week_starting", "week_beginning", "week_commencing", "date"),
)
_AI_ASSISTED = ColumnSpec(
    "ai_assisted_work_orders", "count", synonyms=("ai_work_orders", "ai_assisted_wos", "ai_wos")
)
_ACTIONED = ColumnSpec(
    "alerts_actioned", "count", synonyms=("actioned_alerts", "alerts_acted_on", "alerts_acted")
)
_TRAINING_HOURS = ColumnSpec("training_hours", "hours", synonyms=("training_hrs", "hours_training"))

FACILITY_WEEK_COLUMNS = (
    _FACILITY,
    _WEEK,
    ColumnSpec("technicians", "count", True, ("headcount", "technician_count", "techs", "head_count")),
    ColumnSpec(
        "active_users",
        "count",
        True,
        ("active", "active_technicians", "active_techs", "weekly_active_users", "users_active"),
    ),
    ColumnSpec("work_orders", "count", synonyms=("total_work_orders", "wos", "work_orders_total")),
    _AI_ASSISTED,
    ColumnSpec("alerts", "count", synonyms=("alerts_raised", "alerts_total", "alerts_received")),
    _ACTIONED,
    _TRAINING_HOURS,
    ColumnSpec("champions", "count", synonyms=("champion_count", "number_of_champions")),
    ColumnSpec(
        "unplanned_downtime_hours",
        "hours",
        synonyms=("downtime_hours", "unplanned_downtime", "downtime_hrs", "downtime"),
    ),
)

TECHNICIAN_WEEK_COLUMNS = (
    ColumnSpec(
        "technician",
        "technician",
        True,
        ("technician_id", "tech_id", "tech", "employee", "employee_id", "person_id", "user_id"),
    ),
    _FACILITY,
    _WEEK,
    ColumnSpec("active", "flag", True, ("is_active", "active_user", "used_tool", "used_ai")),
    ColumnSpec("eligible_work_orders", "count", synonyms=("work_orders", "eligible_wos")),
    _AI_ASSISTED,
    ColumnSpec("alerts_received", "count", synonyms=("alerts",)),
    _ACTIONED,
    ColumnSpec("training_type", "text", synonyms=("training", "training_kind")),
    _TRAINING_HOURS,
    ColumnSpec("champion", "flag", synonyms=("is_champion",)),
)

COLUMNS = {FACILITY_WEEK: FACILITY_WEEK_COLUMNS, TECHNICIAN_WEEK: TECHNICIAN_WEEK_COLUMNS}

# Pairs (part, whole): the part may never exceed the whole on the same row.
LIMITS = {
    FACILITY_WEEK: (
        ("active_users", "technicians"),
        ("ai_assisted_work_orders", "work_orders"),
        ("alerts_actioned", "alerts"),
        ("champions", "technicians"),
    ),
    TECHNICIAN_WEEK: (
        ("ai_assisted_work_orders", "eligible_work_orders"),
        ("alerts_actioned", "alerts_received"),
    ),
}

# The natural key of each kind, in stored column names.
KEYS = {FACILITY_WEEK: ("facility", "week_start"), TECHNICIAN_WEEK: ("technician", "week_start")}


def header_key(header: str) -> str:
    """Normalise a header so case, spaces, underscores and hyphens do not matter."""
    return re.sub(r"[\s_\-.]+", "", header.strip().lower().replace("\ufeff", ""))


def detect_kind(headers: list[str]) -> str:
    """Guess the kind of upload from its headers: a technician column means technician-week."""
    technician = TECHNICIAN_WEEK_COLUMNS[0].headers
    return TECHNICIAN_WEEK if any(header_key(h) in technician for h in headers) else FACILITY_WEEK
