"""Experiments: which lever matters, over a design of scenario variants (grid, LHS, Morris, Sobol).

A design names a scenario, a method, how many samples, replicates per point, one output and the
factors: scenario values by their dotted path (`levers.friction_minutes`,
`organisation.distrust_share`, `onboarding.hours`, `behaviour.habit`, `interventions.2.week`,
`interventions.1.champions.count`), each with a range [low, high] or a list of values.

Sampling and the sensitivity indices come from SALib (Saltelli's scheme for Sobol' indices with
bootstrap confidence intervals, Morris' elementary effects, Latin hypercubes), not from code
written here. Every design point runs the same seed: common random numbers, so two points differ
by their factors and not by their luck (paired comparisons). Points that share an organisation
share its network.
"""

from __future__ import annotations

import copy
import itertools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from model.behaviour import Behaviour
from model.ensemble import run_ensemble
from model.forecast import first_sustained
from model.population import Population, build_population
from model.scenario import Scenario, ScenarioError, scenario_from_dict

SCHEMA_VERSION = 1
METHODS = ("grid", "lhs", "morris", "sobol")
OUTPUT_METRICS = ("active_share", "active_share_live", "depth", "lapsed_share", "mean_trust",
                  "mean_competence", "downtime_reduction", "ever_share", "weekly_churn", "regular_share",
                  "rejected_share")
NETWORK_KEYS = ("technicians", "facilities", "team_size", "network", "neighbours", "rewire_share",
                "cross_facility_ties", "pilot_technicians")
"""Organisation values the network is built from: points that share them share one network."""
MORRIS_LEVELS = 4
DESIGN_KEYS = {"scenario", "method", "samples", "runs", "output", "factors", "target", "seed", "weeks",
               "name", "description"}
_OUTPUT = re.compile(r"^(?P<metric>[a-z_]+)@(?P<unit>week|month)(?P<n>\d+)$")


class DesignError(ScenarioError):
    """A design that cannot run: names the key, its value and what is allowed."""


@dataclass(frozen=True)
class Factor:
    """One scenario value varied by the design: a range, or a list of values."""

    path: str
    low: float | None = None
    high: float | None = None
    values: tuple[Any, ...] = ()

    @property
    def is_range(self) -> bool:
        """True for a [low, high] range, False for a list of values."""
        return not self.values


@dataclass(frozen=True)
class Output:
    """What each point reports: a metric at a week, weeks to a target, or the plan's cost."""

    text: str
    metric: str
    week: int = 0


@dataclass(frozen=True)
class Design:
    """A validated experiment design."""

    scenario: str
    method: str
    samples: int
    runs: int
    output: Output
    factors: tuple[Factor, ...]
    target: float = 0.7
    seed: int = 0
    schema_version: int = SCHEMA_VERSION

    def as_dict(self) -> dict[str, Any]:
        """The design as the JSON document echoes it."""
        return {"scenario": self.scenario, "method": self.method, "samples": self.samples,
                "runs": self.runs, "output": self.output.text, "target": self.target, "seed": self.seed,
                "factors": {f.path: ([f.low, f.high] if f.is_range else list(f.values))
                            for f in self.factors},
                "schema_version": self.schema_version}


@dataclass(frozen=True)
class Point:
    """One design point: its factor values and its output in every replicate."""

    factors: dict[str, Any]
    values: np.ndarray
    """(runs,) the output per replicate; NaN where it is undefined."""

    def stats(self) -> dict[str, float | None]:
        """Mean and 5/50/95th percentiles over the replicates."""
        v = self.values[np.isfinite(self.values)]
        if v.size == 0:
            return {"mean": None, "p05": None, "p50": None, "p95": None}
        p05, p50, p95 = np.percentile(v, [5, 50, 95])
        return {"mean": float(v.mean()), "p05": float(p05), "p50": float(p50), "p95": float(p95)}


@dataclass(frozen=True)
class ExperimentResult:
    """Every point of a design, and the sensitivity indices where the method gives them."""

    design: Design
    points: tuple[Point, ...]
    sensitivity: tuple[dict[str, Any], ...] = field(default=())


# ---------------------------------------------------------------------------------------- parsing
def _fail(source: str, key: str, value: Any, why: str) -> DesignError:
    return DesignError(f"{source}: {key} = {value!r}: {why}")


def parse_output(text: Any, source: str = "design") -> Output:
    """`active_share@week52`, `regular_share@month18`, `weeks_to_target` or `cost`."""
    if not isinstance(text, str):
        raise _fail(source, "output", text, "must be text such as 'active_share@week52'")
    if text in ("weeks_to_target", "cost"):
        return Output(text, text)
    match = _OUTPUT.match(text)
    if match is None or match["metric"] not in OUTPUT_METRICS:
        raise _fail(source, "output", text,
                    "must be weeks_to_target, cost, or a measure at a week or month such as "
                    f"active_share@week52 or regular_share@month18 (measures: {', '.join(OUTPUT_METRICS)})")
    n = int(match["n"])
    week = n if match["unit"] == "week" else round(n * 52 / 12)
    if week < 1:
        raise _fail(source, "output", text, "the week must be 1 or later")
    return Output(text, match["metric"], week)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_design(doc: dict[str, Any], source: str = "design") -> tuple[Design, dict[str, Any]]:
    """Check a parsed design document; returns the design and the scenario document it varies.

    The scenario key is resolved by the caller (a preset name or a path) into `doc["scenario_doc"]`.

    Raises:
        DesignError: naming the file, the key, its value and what is wrong.
    """
    scenario_doc = doc.pop("scenario_doc")
    for k in doc:
        if k not in DESIGN_KEYS:
            raise _fail(source, k, doc[k], f"unknown key (allowed: {', '.join(sorted(DESIGN_KEYS))})")
    method = doc.get("method", "sobol")
    if method not in METHODS:
        raise _fail(source, "method", method, f"must be one of {', '.join(METHODS)}")
    samples = doc.get("samples", 64)
    if not isinstance(samples, int) or isinstance(samples, bool) or not 1 <= samples <= 100_000:
        raise _fail(source, "samples", samples, "must be a whole number from 1 to 100,000")
    if method in ("sobol", "morris") and samples < 2:
        raise _fail(source, "samples", samples, f"{method} needs at least 2")
    runs = doc.get("runs", 20)
    if not isinstance(runs, int) or isinstance(runs, bool) or not 1 <= runs <= 10_000:
        raise _fail(source, "runs", runs, "must be a whole number from 1 to 10,000")
    seed = doc.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise _fail(source, "seed", seed, "must be a whole number, 0 or more")
    target = doc.get("target", 0.7)
    if not _number(target) or not 0 < target <= 1:
        raise _fail(source, "target", target, "must be a share between 0 and 1 (0.7 is 70%)")
    if "weeks" in doc:
        scenario_doc["weeks"] = doc["weeks"]
    weeks = scenario_doc.get("weeks", 78)
    output = parse_output(doc.get("output", f"active_share@week{weeks}"), source)  # default: the last week
    if output.week > weeks:
        raise _fail(source, "output", output.text,
                    f"week {output.week} is after the scenario's {weeks} weeks")
    raw = doc.get("factors")
    if not isinstance(raw, dict) or not raw:
        raise _fail(source, "factors", raw, "give at least one factor, e.g. "
                                            "\"levers.friction_minutes\" = [0.5, 12.0]")
    factors = []
    for path, spec in raw.items():
        key = f"factors.{path}"
        current = _get(scenario_doc, path, source, key)
        if isinstance(spec, list) and len(spec) == 2 and all(_number(v) for v in spec) and method != "grid" \
                and not isinstance(current, str):
            low, high = float(spec[0]), float(spec[1])
            if not low < high:
                raise _fail(source, key, spec, "the range must be [low, high] with low below high")
            factor = Factor(path, low=low, high=high)
            probes: list[Any] = [low, high]
        elif isinstance(spec, list) and spec:
            factor = Factor(path, values=tuple(spec))
            probes = list(spec)
        else:
            raise _fail(source, key, spec, "give a range [low, high] or a list of values")
        if method == "grid" and factor.is_range:
            raise _fail(source, key, spec, "a grid takes a list of values")
        for value in probes:  # every bound and listed value must make a valid scenario
            try:
                scenario_from_dict(_with(scenario_doc, {path: _cast(current, value)}))
            except ScenarioError as exc:
                raise DesignError(f"{source}: {key}: {exc}") from None
        factors.append(factor)
    design = Design(str(doc.get("scenario", "")), method, samples, runs, output, tuple(factors),
                    float(target), seed)
    return design, scenario_doc


def _steps(path: str) -> list[str | int]:
    steps: list[str | int] = []
    for part in path.split("."):
        steps.append(int(part) - 1 if part.isdigit() else part)
    return steps


def _get(doc: dict[str, Any], path: str, source: str, key: str) -> Any:
    """The scenario's current value at a dotted path (a behaviour parameter's default if unset)."""
    node: Any = doc
    steps = _steps(path)
    if steps[0] == "behaviour" and len(steps) == 2 and isinstance(steps[1], str):
        if steps[1] not in Behaviour().as_dict():
            raise _fail(source, key, path, "no such behaviour parameter")
        return doc.get("behaviour", {}).get(steps[1], getattr(Behaviour(), steps[1]))
    for i, step in enumerate(steps):
        where = ".".join(str(s + 1) if isinstance(s, int) else s for s in steps[:i]) or "the scenario"
        if isinstance(step, int):
            if not isinstance(node, list) or not 0 <= step < len(node):
                count = len(node) if isinstance(node, list) else 0
                raise _fail(source, key, path, f"{where} has {count} entries (numbered from 1)")
            node = node[step]
        elif isinstance(node, dict) and step in ("interventions", "waves") and step not in node:
            node = []  # no calendar: an empty list, so the next step says it has 0 entries
        else:
            if not isinstance(node, dict) or step not in node:
                known = ", ".join(sorted(node)) if isinstance(node, dict) else "nothing"
                raise _fail(source, key, path, f"{where} has no value {step!r} (it has: {known})")
            node = node[step]
    if isinstance(node, dict | list):
        raise _fail(source, key, path, "names a table, not a value")
    return node


def _cast(current: Any, value: Any) -> Any:
    """A sampled value in the type the scenario holds there (whole numbers stay whole)."""
    if isinstance(current, bool) or isinstance(value, str):
        return value
    if isinstance(current, int):
        return int(round(float(value)))
    return float(value) if _number(value) else value


def _with(doc: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    for path, value in values.items():
        steps = _steps(path)
        if steps[0] == "behaviour" and len(steps) == 2:
            out.setdefault("behaviour", {})[steps[1]] = value
            continue
        node: Any = out
        for step in steps[:-1]:
            node = node[step]
        node[steps[-1]] = value
    return out


# --------------------------------------------------------------------------------------- sampling
def _problem(design: Design) -> dict[str, Any]:
    bounds = [[f.low, f.high] if f.is_range else [0.0, float(len(f.values))] for f in design.factors]
    return {"num_vars": len(design.factors), "names": [f.path for f in design.factors], "bounds": bounds}


def sample(design: Design) -> np.ndarray:
    """The design's points as an (n, factors) array in SALib's sample space (lists as indices)."""
    from SALib.sample import latin, morris, sobol

    problem = _problem(design)
    if design.method == "sobol":
        return np.asarray(sobol.sample(problem, design.samples, calc_second_order=False, seed=design.seed))
    if design.method == "morris":
        return np.asarray(morris.sample(problem, design.samples, num_levels=MORRIS_LEVELS, seed=design.seed))
    if design.method == "lhs":
        return np.asarray(latin.sample(problem, design.samples, seed=design.seed))
    grid = itertools.product(*(range(len(f.values)) for f in design.factors))
    return np.array([[i + 0.5 for i in combo] for combo in grid], dtype=float)


def count_points(design: Design) -> int:
    """How many points the design has (before anything runs)."""
    d = len(design.factors)
    if design.method == "sobol":
        return design.samples * (d + 2)
    if design.method == "morris":
        return design.samples * (d + 1)
    if design.method == "lhs":
        return design.samples
    return int(np.prod([len(f.values) for f in design.factors]))


def _values(design: Design, row: np.ndarray, current: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for f, x in zip(design.factors, row, strict=True):
        if f.is_range:
            out[f.path] = _cast(current[f.path], x)
        else:
            out[f.path] = _cast(current[f.path], f.values[min(int(x), len(f.values) - 1)])
    return out


# ------------------------------------------------------------------------------------------ running
def output_values(design: Design, scenario: Scenario, overall: dict[str, np.ndarray] | Any) -> np.ndarray:
    """The design's output in every replicate of one point's ensemble."""
    out = design.output
    share = np.asarray(overall["active_share"])
    runs = share.shape[1]
    if out.metric == "cost":
        cost = sum(iv.cost for iv in scenario.interventions if iv.week <= scenario.weeks)
        return np.full(runs, float(cost))
    if out.metric == "weeks_to_target":
        first = first_sustained(share.T, design.target) + 1  # weeks count from 1
        return np.where(np.isfinite(first), first, np.nan)  # never reached in the horizon: undefined
    values: np.ndarray = np.asarray(overall[out.metric], dtype=float)[out.week - 1]
    return values


def run_experiment(design: Design, scenario_doc: dict[str, Any], *,
                   progress: Callable[[int, int], None] | None = None,
                   cancelled: Callable[[], bool] | None = None) -> ExperimentResult:
    """Run every point of the design with the same seed and compute the sensitivity indices.

    Args:
        design: the validated design.
        scenario_doc: the scenario document the factors vary.
        progress: called with (points done, points in all) after each point.
        cancelled: checked before each point; True stops the run (DesignError).
    """
    current = {f.path: _get(scenario_doc, f.path, "design", f.path) for f in design.factors}
    rows = sample(design)
    networks: dict[tuple[Any, ...], Population] = {}
    points = []
    for n, row in enumerate(rows):
        if cancelled is not None and cancelled():
            raise DesignError(f"stopped after {n} of {len(rows)} points")
        values = _values(design, row, current)
        spec = scenario_from_dict(_with(scenario_doc, values), name=str(scenario_doc.get("name", "scenario")))
        org = spec.organisation
        key = tuple(getattr(org, k) for k in NETWORK_KEYS)
        if key not in networks and org.network == "generated":
            networks[key] = build_population(org, np.random.default_rng(design.seed))
        result = run_ensemble(spec, runs=design.runs, seed=design.seed, population=networks.get(key),
                              record_facilities=False)
        points.append(Point(values, output_values(design, spec, result.overall)))
        if progress is not None:
            progress(n + 1, len(rows))
    horizon = int(scenario_doc.get("weeks", 78))
    return ExperimentResult(design, tuple(points), _sensitivity(design, rows, points, horizon))


def _sensitivity(design: Design, rows: np.ndarray, points: Sequence[Point],
                 horizon: int) -> tuple[dict[str, Any], ...]:
    """SALib's indices of the replicate mean; a target never reached counts as the week after the horizon."""
    if design.method not in ("sobol", "morris"):
        return ()
    y = np.array([np.where(np.isfinite(p.values), p.values, horizon + 1.0).mean() for p in points])
    problem = _problem(design)
    names = problem["names"]
    if design.method == "sobol":
        from SALib.analyze import sobol

        si = sobol.analyze(problem, y, calc_second_order=False, seed=design.seed)
        return tuple({"factor": name, "S1": float(si["S1"][i]), "S1_conf": float(si["S1_conf"][i]),
                      "ST": float(si["ST"][i]), "ST_conf": float(si["ST_conf"][i])}
                     for i, name in enumerate(names))
    from SALib.analyze import morris

    si = morris.analyze(problem, rows, y, num_levels=MORRIS_LEVELS, seed=design.seed)
    return tuple({"factor": name, "mu_star": float(si["mu_star"][i]), "sigma": float(si["sigma"][i])}
                 for i, name in enumerate(names))


def experiment_to_json(result: ExperimentResult, manifest: dict[str, Any]) -> dict[str, Any]:
    """The `chasm experiment --json` document."""
    out = result.design.output.text
    return {"design": result.design.as_dict(),
            "points": [{"factors": p.factors, "outputs": {out: p.stats()}} for p in result.points],
            "sensitivity": list(result.sensitivity),
            "manifest": manifest}


def experiment_rows(result: ExperimentResult) -> list[dict[str, Any]]:
    """One tidy row per point and replicate (what `--csv` writes)."""
    out = result.design.output.text
    rows = []
    for n, p in enumerate(result.points, start=1):
        for r, v in enumerate(p.values, start=1):
            value = float(v) if np.isfinite(v) else None
            rows.append({"point": n, "replicate": r, **p.factors, out: value})
    return rows

