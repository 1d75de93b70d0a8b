"""Scenarios: the organisation, its levers, the intervention calendar; loaded from TOML and validated.

A scenario is data. Every key is checked on load: an unknown key, a wrong type or a value out of
range raises :class:`ScenarioError` naming the key, the value and what is allowed, and nothing runs.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import tomli_w

import seed_data
from model.behaviour import Behaviour

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

KPIS = {"tickets_closed": -1.0, "balanced": 0.0, "downtime_prevented": 1.0}
TRAINING_MODES = ("video", "hands_on")
CHAMPION_STRATEGIES = ("pilot", "degree", "trust", "facility", "random")


class ScenarioError(ValueError):
    """A scenario that cannot run: names the key, the value and what is allowed."""


@dataclass(frozen=True)
class Levers:
    """What the organisation controls week by week; every field can change on the calendar."""

    friction_minutes: float = 7.5
    """Minutes the tool adds to a work order (separate log-in: 5-10 in the seed case)."""
    kpi: str = "tickets_closed"
    """What technicians are measured on: tickets_closed, balanced or downtime_prevented."""
    alert_precision: float = 0.89
    """Probability that an AI alert is correct (0.89 in the pilot)."""
    alerts_per_week: int = 3
    """Alerts a user receives per week."""
    support: float = 0.2
    """Facilitating support, 0 none .. 1 daily stand-ups and 24 h response (the pilot)."""
    transparency: float = 0.0
    """Effort spent showing how the AI works, 0 none .. 1 regular sessions."""
    training_per_week: int = 0
    """Technicians put through a training wave each week (0: no wave running)."""
    training_hours: float = 8.0
    """Hours of each wave's training per technician."""
    training_mode: str = "hands_on"
    """video or hands_on: how a wave trains."""
    champion_capacity: int = 3
    """Peers each champion coaches per week, in the facility they coach."""
    support_hours: float = 0.0
    """Hours a week of a dedicated support team on top of `support` (support = 1 is 40 h)."""


LEVER_RANGES: dict[str, tuple[float, float] | tuple[str, ...]] = {
    "friction_minutes": (0.0, 60.0),
    "kpi": tuple(KPIS),
    "alert_precision": (0.5, 1.0),
    "alerts_per_week": (0, 20),
    "support": (0.0, 1.0),
    "transparency": (0.0, 1.0),
    "training_per_week": (0, 100_000),
    "training_hours": (0.0, 40.0),
    "training_mode": TRAINING_MODES,
    "champion_capacity": (0, 20),
    "support_hours": (0.0, 10_000.0),
}


@dataclass(frozen=True)
class Organisation:
    """Who is rolled out to and how they are tied together."""

    technicians: int = 280
    facilities: int = 15
    team_size: int = 6
    network: str = "generated"
    """'generated' (small-world teams inside facilities) or the path of an edge-list CSV."""
    neighbours: int = 6
    """Ties per technician inside a facility (even; ring-lattice degree before rewiring)."""
    rewire_share: float = 0.1
    """Watts-Strogatz rewiring probability inside a facility."""
    cross_facility_ties: float = 0.05
    """Ties to other facilities per technician (few: facilities are far apart)."""
    pilot_technicians: int = 0
    """Technicians who ran the pilot (volunteers, trained, already using it), in facility 1."""
    volunteers: bool = False
    """True when everyone volunteered (a pilot): innovativeness drawn from the top 16%."""
    distrust_share: float = 0.67
    """Share who distrust the AI at go-live (67% in the seed case)."""
    fear_share: float = 0.5
    """Share who fear the AI will replace them at go-live."""
    work_orders_per_week: float = 25.0
    """Work orders a technician closes a week (about five a day): the friction's multiplier."""
    facility_names: tuple[str, ...] = ()
    """One name per facility, in order (generated network only); () names them Facility 01, 02..."""
    facility_sizes: tuple[int, ...] = ()
    """Technicians per facility, in order, summing to `technicians` (generated network only); () splits
    them as evenly as possible."""


@dataclass(frozen=True)
class Onboarding:
    """Training everyone gets when their facility goes live."""

    mode: str = "video"
    hours: float = 0.75


@dataclass(frozen=True)
class Gate:
    """A go/no-go rule: open when live facilities average >= min_active_share for `weeks` weeks."""

    min_active_share: float = 0.6
    weeks: int = 4


@dataclass(frozen=True)
class Wave:
    """A rollout wave: facilities that go live together, not before `week`, optionally gated."""

    facilities: tuple[int, ...]
    week: int = 1
    gate: Gate | None = None


@dataclass(frozen=True)
class Champions:
    """Technicians who coach peers each week."""

    count: int = 12
    strategy: str = "pilot"


@dataclass(frozen=True)
class Intervention:
    """A change on the calendar: from `week` on, the given levers take new values."""

    week: int
    levers: dict[str, Any] = field(default_factory=dict)
    champions: Champions | None = None
    label: str = ""
    cost: float = 0.0


@dataclass(frozen=True)
class Scenario:
    """A whole experiment: organisation, starting levers, onboarding, rollout, calendar, behaviour."""

    name: str = "scenario"
    weeks: int = 78
    organisation: Organisation = field(default_factory=Organisation)
    levers: Levers = field(default_factory=Levers)
    onboarding: Onboarding = field(default_factory=Onboarding)
    waves: tuple[Wave, ...] = ()
    champions: Champions | None = None
    """Champions active from week 1 (launched later through an intervention instead)."""
    interventions: tuple[Intervention, ...] = ()
    behaviour: Behaviour = field(default_factory=Behaviour)

    def with_levers(self, **changes: Any) -> Scenario:
        """A copy with some starting levers changed (validated)."""
        for key, value in changes.items():
            _check_value(f"levers.{key}", value, LEVER_RANGES.get(key), key in LEVER_RANGES)
        return replace(self, levers=replace(self.levers, **changes))


# --------------------------------------------------------------------------- validation

def _allowed_text(allowed: tuple[float, float] | tuple[str, ...]) -> str:
    if allowed and isinstance(allowed[0], str):
        return "one of " + ", ".join(str(a) for a in allowed)
    return f"a number from {allowed[0]} to {allowed[1]}"


def _check_value(key: str, value: Any, allowed: Any, known: bool = True) -> Any:
    if not known:
        raise ScenarioError(f"{key}: unknown key")
    if allowed is None:
        return value
    if isinstance(allowed[0], str):
        if value not in allowed:
            raise ScenarioError(f"{key} = {value!r}: must be {_allowed_text(allowed)}")
        return value
    is_int = isinstance(allowed[0], int) and isinstance(allowed[1], int)
    if isinstance(value, bool) or not isinstance(value, int | float):
        kind = "a whole number" if is_int else "a number"
        raise ScenarioError(f"{key} = {value!r}: must be {kind} from {allowed[0]} to {allowed[1]}")
    if is_int and not float(value).is_integer():
        raise ScenarioError(f"{key} = {value!r}: must be a whole number from {allowed[0]} to {allowed[1]}")
    if not allowed[0] <= value <= allowed[1]:
        raise ScenarioError(f"{key} = {value!r}: out of range, must be {_allowed_text(allowed)}")
    return int(value) if is_int else float(value)


ORG_RANGES: dict[str, Any] = {
    "technicians": (1, 1_000_000),
    "facilities": (1, 10_000),
    "team_size": (2, 100),
    "network": None,
    "neighbours": (0, 100),
    "rewire_share": (0.0, 1.0),
    "cross_facility_ties": (0.0, 10.0),
    "pilot_technicians": (0, 1000),
    "volunteers": None,
    "distrust_share": (0.01, 0.99),
    "fear_share": (0.01, 0.99),
    "work_orders_per_week": (0.0, 500.0),
    "facility_names": None,
    "facility_sizes": None,
}


def check_facility_layout(org: Organisation) -> Organisation:
    """The organisation with its facility names and sizes checked (and made tuples).

    Names: one per facility, non-empty text, unique. Sizes: one per facility, whole numbers of at
    least 1 that add up to `technicians`. Both are for a generated network only: an edge list's
    facilities come from its file.

    Raises:
        ScenarioError: naming the key, its value and what is allowed.
    """
    names, sizes = org.facility_names, org.facility_sizes
    for key, value in (("facility_names", names), ("facility_sizes", sizes)):
        if not isinstance(value, list | tuple):
            raise ScenarioError(f"organisation.{key} = {value!r}: must be a list, one entry per facility")
        if value and org.network != "generated":
            raise ScenarioError(f"organisation.{key}: only for a generated network; with an edge list "
                                f"(organisation.network = {org.network!r}) the file's facilities rule")
        if value and len(value) != org.facilities:
            entries = "1 entry" if len(value) == 1 else f"{len(value)} entries"
            raise ScenarioError(f"organisation.{key} = {list(value)!r}: {entries} for "
                                f"organisation.facilities = {org.facilities}; give one per facility")
    for name in names:
        if not isinstance(name, str) or not name.strip():
            raise ScenarioError(f"organisation.facility_names = {list(names)!r}: {name!r} is not a name; "
                                "each must be non-empty text")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ScenarioError(f"organisation.facility_names = {list(names)!r}: {name!r} appears more "
                                "than once; names must be unique")
        seen.add(name)
    for size in sizes:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ScenarioError(f"organisation.facility_sizes = {list(sizes)!r}: {size!r} is not a size; "
                                "each must be a whole number of at least 1")
    if sizes and sum(sizes) != org.technicians:
        raise ScenarioError(f"organisation.facility_sizes = {list(sizes)!r}: they add up to {sum(sizes)}, "
                            f"but organisation.technicians = {org.technicians}; they must be equal")
    if isinstance(names, tuple) and isinstance(sizes, tuple):
        return org
    return replace(org, facility_names=tuple(names), facility_sizes=tuple(sizes))


def _build_table[T: DataclassInstance](cls: type[T], table: Any, key: str, ranges: dict[str, Any]) -> T:
    if not isinstance(table, dict):
        raise ScenarioError(f"{key} = {table!r}: must be a table")
    names = {f.name for f in fields(cls)}
    values = {}
    for k, v in table.items():
        full = f"{key}.{k}"
        if k not in names:
            raise ScenarioError(f"{full}: unknown key (allowed: {', '.join(sorted(names))})")
        values[k] = _check_value(full, v, ranges.get(k), True)
    return cls(**values)


def _build_champions(table: Any, key: str, technicians: int) -> Champions:
    ranges = {"count": (0, technicians), "strategy": CHAMPION_STRATEGIES}
    return _build_table(Champions, table, key, ranges)


def _build_gate(table: Any, key: str) -> Gate:
    return _build_table(Gate, table, key, {"min_active_share": (0.0, 1.0), "weeks": (1, 520)})


def _build_waves(items: Any, org: Organisation, weeks: int) -> tuple[Wave, ...]:
    if not isinstance(items, list):
        raise ScenarioError(f"waves = {items!r}: must be a list of tables ([[waves]])")
    waves: list[Wave] = []
    seen: set[int] = set()
    for i, item in enumerate(items, start=1):
        key = f"waves[{i}]"
        if not isinstance(item, dict):
            raise ScenarioError(f"{key} = {item!r}: must be a table")
        unknown = set(item) - {"facilities", "week", "gate"}
        if unknown:
            raise ScenarioError(f"{key}.{sorted(unknown)[0]}: unknown key (allowed: facilities, gate, week)")
        facs = item.get("facilities")
        if not isinstance(facs, list) or not facs:
            raise ScenarioError(f"{key}.facilities = {facs!r}: must be a non-empty list of facility numbers")
        for f in facs:
            _check_value(f"{key}.facilities", f, (1, org.facilities))
            if f in seen:
                raise ScenarioError(f"{key}.facilities = {f!r}: facility already in an earlier wave")
            seen.add(f)
        week = _check_value(f"{key}.week", item.get("week", 1), (1, weeks))
        gate = _build_gate(item["gate"], f"{key}.gate") if "gate" in item else None
        if gate is not None and i == 1:
            raise ScenarioError(f"{key}.gate: the first wave cannot wait for a gate (nothing is live yet)")
        if waves and week < waves[-1].week:
            raise ScenarioError(f"{key}.week = {week}: waves must be listed in week order "
                                f"(the previous wave starts at week {waves[-1].week})")
        waves.append(Wave(tuple(int(f) - 1 for f in facs), week, gate))
    missing = sorted(set(range(1, org.facilities + 1)) - seen)
    if missing:
        raise ScenarioError(f"waves: facilities {missing} are in no wave; every facility needs one")
    return tuple(waves)


def _build_interventions(items: Any, org: Organisation, weeks: int) -> tuple[Intervention, ...]:
    if not isinstance(items, list):
        raise ScenarioError(f"interventions = {items!r}: must be a list of tables ([[interventions]])")
    out = []
    for i, item in enumerate(items, start=1):
        key = f"interventions[{i}]"
        if not isinstance(item, dict):
            raise ScenarioError(f"{key} = {item!r}: must be a table")
        if "week" not in item:
            raise ScenarioError(f"{key}.week: missing; say from which week the change applies")
        week = _check_value(f"{key}.week", item["week"], (1, weeks))
        label = str(item.get("label", ""))
        cost = _check_value(f"{key}.cost", item.get("cost", 0.0), (0.0, 1e12))
        champions = None
        levers: dict[str, Any] = {}
        for k, v in item.items():
            if k in ("week", "label", "cost"):
                continue
            if k == "champions":
                champions = _build_champions(v, f"{key}.champions", org.technicians)
            elif k in LEVER_RANGES:
                levers[k] = _check_value(f"{key}.{k}", v, LEVER_RANGES[k])
            else:
                allowed = ", ".join(["champions", "cost", "label", "week", *LEVER_RANGES])
                raise ScenarioError(f"{key}.{k}: unknown lever (allowed: {allowed})")
        if not levers and champions is None:
            raise ScenarioError(f"{key}: changes nothing; give at least one lever or champions")
        out.append(Intervention(week, levers, champions, label, cost))
    return tuple(sorted(out, key=lambda x: x.week))


TOP_KEYS = {"name", "weeks", "organisation", "levers", "onboarding", "waves", "champions",
            "interventions", "behaviour", "description"}


def scenario_from_dict(data: dict[str, Any], *, name: str = "scenario") -> Scenario:
    """Build and validate a scenario from a parsed TOML document.

    Args:
        data: the parsed document.
        name: the scenario's name when the document does not give one.

    Returns:
        The validated scenario.

    Raises:
        ScenarioError: naming the first bad key, its value and what is allowed.
    """
    for k in data:
        if k not in TOP_KEYS:
            raise ScenarioError(f"{k}: unknown key (allowed: {', '.join(sorted(TOP_KEYS))})")
    weeks = _check_value("weeks", data.get("weeks", 78), (1, 1040))
    org = _build_table(Organisation, data.get("organisation", {}), "organisation", ORG_RANGES)
    if org.network != "generated" and not isinstance(org.network, str):
        raise ScenarioError(f"organisation.network = {org.network!r}: must be 'generated' or a CSV path")
    if org.pilot_technicians > org.technicians:
        raise ScenarioError(
            f"organisation.pilot_technicians = {org.pilot_technicians}: more than the "
            f"{org.technicians} technicians")
    if org.network == "generated" and org.technicians < org.facilities:
        raise ScenarioError(
            f"organisation.facilities = {org.facilities}: more facilities than the "
            f"{org.technicians} technicians")
    org = check_facility_layout(org)
    levers = _build_table(Levers, data.get("levers", {}), "levers", LEVER_RANGES)
    onboarding = _build_table(Onboarding, data.get("onboarding", {}), "onboarding",
                              {"mode": TRAINING_MODES, "hours": (0.0, 40.0)})
    waves = _build_waves(data["waves"], org, weeks) if "waves" in data else ()
    champions = (_build_champions(data["champions"], "champions", org.technicians)
                 if "champions" in data else None)
    interventions = _build_interventions(data.get("interventions", []), org, weeks)
    behaviour = Behaviour.from_dict(data.get("behaviour", {}), error=ScenarioError)
    return Scenario(str(data.get("name", name)), weeks, org, levers, onboarding, waves,
                    champions, interventions, behaviour)


def parse_toml(text: str) -> dict[str, Any]:
    """Parse scenario TOML text into a document.

    Raises:
        ScenarioError: not valid TOML, or nested too deeply to read.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"not valid TOML ({exc})") from None
    except RecursionError:  # tomllib recurses once per level of nesting
        raise ScenarioError("not valid TOML (nested too deeply)") from None


def network_folders(folder: Path | None = None, network_dirs: Sequence[str | Path] = ()) -> list[Path]:
    """The folders an edge list may come from: the scenario's own, the shipped data and `network_dirs`."""
    candidates = [*([folder] if folder is not None else []), seed_data.path(), *map(Path, network_dirs)]
    folders: list[Path] = []
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved not in folders:
            folders.append(resolved)
    return folders


def check_network(scenario: Scenario, *, folder: Path | None = None,
                  network_dirs: Sequence[str | Path] = ()) -> Scenario:
    """The scenario with its edge-list path resolved, if the file lies in an allowed folder.

    Allowed are `folder` (the scenario file's own), the shipped data (`seed_data`) and
    `network_dirs`. A relative path resolves against `folder` (the working directory if None), and
    symbolic links are followed before the check, so a link cannot lead outside.

    Args:
        scenario: the validated scenario.
        folder: the folder of the scenario's file, if it came from one.
        network_dirs: more folders the caller allows (the app's `network_dirs` setting).

    Returns:
        The scenario, its `organisation.network` an absolute path (unchanged if generated).

    Raises:
        ScenarioError: the path is outside every allowed folder (naming the path and the folders).
    """
    net = scenario.organisation.network
    if net == "generated":
        return scenario
    resolved = ((folder or Path.cwd()) / net).resolve()
    allowed = network_folders(folder, network_dirs)
    if not any(resolved.is_relative_to(d) for d in allowed):
        shown = repr(net) if str(resolved) == net else f"{net!r} (that is {resolved})"
        raise ScenarioError(f"organisation.network = {shown}: outside the folders an edge list may come "
                            f"from ({', '.join(map(str, allowed))}); put the file next to the scenario")
    return replace(scenario, organisation=replace(scenario.organisation, network=str(resolved)))


def load_scenario(path: str | Path, *, network_dirs: Sequence[str | Path] = ()) -> Scenario:
    """Load and validate a scenario TOML file.

    Relative edge-list paths in `organisation.network` are resolved against the file's folder; the
    edge list must lie in that folder, the shipped data or `network_dirs` (`check_network`).

    Args:
        path: the scenario file.
        network_dirs: more folders edge lists may come from.

    Raises:
        ScenarioError: the file is missing, unreadable, not UTF-8 or not TOML, has a bad key or value,
            or names an edge list outside the allowed folders.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except UnicodeDecodeError as exc:
        raise ScenarioError(f"{path}: is not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at position "
                            f"{exc.start})") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        scenario = scenario_from_dict(parse_toml(text), name=path.stem)
        return check_network(scenario, folder=path.parent, network_dirs=network_dirs)
    except ScenarioError as exc:
        raise ScenarioError(f"{path}: {exc}") from None


# --------------------------------------------------------------------------- writing

def intervention_to_dict(iv: Intervention) -> dict[str, Any]:
    """An intervention as its `[[interventions]]` entry (what `_build_interventions` reads back)."""
    return ({"week": iv.week} | ({"label": iv.label} if iv.label else {})
            | ({"cost": iv.cost} if iv.cost else {}) | dict(iv.levers)
            | ({"champions": asdict(iv.champions)} if iv.champions else {}))


def scenario_to_dict(scenario: Scenario) -> dict[str, Any]:
    """The scenario as a TOML-shaped document that `scenario_from_dict` reads back."""
    organisation = {k: list(v) if isinstance(v, tuple) else v
                    for k, v in asdict(scenario.organisation).items() if v != ()}  # () is the default
    doc: dict[str, Any] = {"name": scenario.name, "weeks": scenario.weeks, "organisation": organisation,
                           "levers": asdict(scenario.levers), "onboarding": asdict(scenario.onboarding)}
    if scenario.waves:
        doc["waves"] = [{"facilities": [f + 1 for f in w.facilities], "week": w.week}
                        | ({"gate": asdict(w.gate)} if w.gate else {}) for w in scenario.waves]
    if scenario.champions is not None:
        doc["champions"] = asdict(scenario.champions)
    if scenario.interventions:
        doc["interventions"] = [intervention_to_dict(iv) for iv in scenario.interventions]
    behaviour = {k: float(v) for k, v in scenario.behaviour.as_dict().items()
                 if np.ndim(v) == 0 and float(v) != getattr(Behaviour(), k)}
    if behaviour:
        doc["behaviour"] = behaviour
    return doc


def _without_none(value: Any) -> Any:
    """The document without its None entries: TOML has no null, and a missing key means the default."""
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_without_none(v) for v in value]
    return value


def scenario_to_toml(scenario: Scenario) -> str:
    """The scenario as TOML text (what the app saves and `load_scenario` reads)."""
    return tomli_w.dumps(_without_none(scenario_to_dict(scenario)))


def scenario_from_toml(text: str, *, name: str = "scenario") -> Scenario:
    """Parse and validate scenario TOML text (e.g. one saved from the app).

    Raises:
        ScenarioError: not TOML, or a bad key or value.
    """
    return scenario_from_dict(parse_toml(text), name=name)
