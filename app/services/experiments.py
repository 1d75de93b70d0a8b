"""Experiments from a design file: resolve its scenario, bound the work, run it, describe it.

No streamlit and no typer here: the command line and the app both call `run_design`.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import seed_data
from app.services.settings import Settings, get_settings
from model.budget import check_budget
from model.experiment import (
    OUTPUT_METRICS,
    DesignError,
    ExperimentResult,
    count_points,
    experiment_to_json,
    parse_design,
    run_experiment,
)
from model.scenario import Scenario, ScenarioError, load_scenario, scenario_to_dict

PRESETS = seed_data.path("scenarios")


@dataclass(frozen=True)
class Experiment:
    """A finished experiment and the manifest that says how to reproduce it."""

    result: ExperimentResult
    manifest: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        """The `chasm experiment --json` document."""
        return experiment_to_json(self.result, self.manifest)


def chasm_version() -> str:
    """The installed package's version."""
    try:
        return version("chasm")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout that is not installed
        return "unknown"


def _scenario_path(name: Any, design_path: Path) -> Path:
    if not isinstance(name, str) or not name:
        raise DesignError(f"{design_path.name}: scenario = {name!r}: name a preset "
                          f"({', '.join(sorted(p.stem for p in PRESETS.glob('*.toml')))}) or a scenario file")
    preset = PRESETS / f"{name}.toml"
    if "/" not in name and not name.endswith(".toml") and preset.is_file():
        return preset
    path = Path(name) if Path(name).is_absolute() else design_path.parent / name
    if not path.is_file():
        raise DesignError(f"{design_path.name}: scenario = {name!r}: no such preset or file")
    return path


def load_design(design_path: Path, *, seed: int | None = None,
                settings: Settings | None = None) -> tuple[Any, dict[str, Any], Path]:
    """Read and check a design file; nothing runs. Returns (design, scenario document, scenario file).

    Raises:
        DesignError: the file, key, value and what is wrong, or a design over the work budget.
    """
    settings = settings or get_settings()
    name = design_path.name
    try:
        doc = tomllib.loads(design_path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise DesignError(f"{name}: cannot be read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise DesignError(f"{name}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise DesignError(f"{name}: not valid TOML ({exc})") from None
    if seed is not None:
        doc["seed"] = seed
    scenario_file = _scenario_path(doc.get("scenario"), design_path)
    try:
        spec = load_scenario(scenario_file, network_dirs=settings.network_dirs)
    except ScenarioError as exc:
        raise DesignError(f"{name}: scenario {scenario_file.name}: {exc}") from None
    design, scenario_doc = _checked(doc, spec, name, settings)
    return design, scenario_doc, scenario_file


def _checked(doc: dict[str, Any], spec: Scenario, name: str,
             settings: Settings) -> tuple[Any, dict[str, Any]]:
    """The design of `doc` over the scenario `spec`, if its work fits the settings' budget."""
    doc["scenario_doc"] = scenario_to_dict(spec)
    design, scenario_doc = parse_design(doc, name)
    points = count_points(design)
    weeks = int(scenario_doc.get("weeks", spec.weeks))
    work = points * design.runs * spec.organisation.technicians * weeks
    if work > settings.simulation_max_technician_weeks:
        per_point = design.runs * spec.organisation.technicians * weeks
        fit = settings.simulation_max_technician_weeks // max(per_point, 1)
        raise DesignError(f"{name}: {points:,} points x {design.runs:,} runs x "
                          f"{spec.organisation.technicians:,} technicians x {weeks:,} weeks is {work:,} "
                          f"technician-weeks, over the budget of "
                          f"{settings.simulation_max_technician_weeks:,}: at most {fit:,} points fit "
                          "(fewer samples, factors or runs)")
    check_budget(spec, design.runs, weeks, max_bytes=settings.simulation_max_bytes,
                 max_technician_weeks=settings.simulation_max_technician_weeks, record_facilities=False)
    return design, scenario_doc


def run_design(design_path: Path, *, seed: int | None = None, settings: Settings | None = None,
               progress: Callable[[int, int], None] | None = None,
               cancelled: Callable[[], bool] | None = None) -> Experiment:
    """Check a design file, run it, and say how to reproduce it."""
    design, scenario_doc, scenario_file = load_design(design_path, seed=seed, settings=settings)
    result = run_experiment(design, scenario_doc, progress=progress, cancelled=cancelled)
    manifest = {"seed": design.seed, "chasm_version": chasm_version(),
                "scenario_sha256": hashlib.sha256(scenario_file.read_bytes()).hexdigest(),
                "created": datetime.now(UTC).isoformat(timespec="seconds")}
    return Experiment(result, manifest)


def factor_label(path: str) -> str:
    """A factor in words, with the path the design gave.

    'Extra minutes per work order (levers.friction_minutes)'.
    """
    from app.services.simulator import LEVERS

    parts = path.split(".")
    words = {"organisation.distrust_share": "Share who distrust the AI",
             "organisation.fear_share": "Share who fear replacement",
             "organisation.work_orders_per_week": "Work orders per technician per week",
             "onboarding.hours": "Hours of onboarding training",
             "onboarding.mode": "How onboarding trains"}
    if parts[0] == "levers" and len(parts) == 2 and parts[1] in LEVERS:
        return f"{LEVERS[parts[1]].label} ({path})"
    if path in words:
        return f"{words[path]} ({path})"
    return path


def describe(experiment: Experiment) -> list[str]:
    """The plain-text report: what ran, and which factors matter most."""
    result = experiment.result
    design = result.design
    lines = [f"{len(result.points):,} points x {design.runs} runs of {design.scenario or 'the scenario'}, "
             f"{design.method} design, output {design.output.text}."]
    if design.method == "sobol":
        lines.append("Which factors matter (Sobol' total effect, share of the output's variance, ±95%):")
        for row in sorted(result.sensitivity, key=lambda r: -r["ST"]):
            lines.append(f"  {factor_label(row['factor'])}: {row['ST']:.0%} ± {row['ST_conf']:.0%} "
                         f"(alone {row['S1']:.0%} ± {row['S1_conf']:.0%})")
    elif design.method == "morris":
        lines.append("Which factors matter (Morris mean absolute elementary effect, and its spread):")
        for row in sorted(result.sensitivity, key=lambda r: -r["mu_star"]):
            lines.append(f"  {factor_label(row['factor'])}: {row['mu_star']:.3g} (spread {row['sigma']:.3g})")
    else:
        ranked = sorted(result.points, key=lambda p: -(p.stats()["mean"] or float("-inf")))
        lines.append("Best points (mean over runs):")
        for p in ranked[:5]:
            mean = p.stats()["mean"]
            shown = ", ".join(f"{factor_label(k)} = {v}" for k, v in p.factors.items())
            lines.append(f"  {shown}: {'never' if mean is None else f'{mean:.3g}'}")
    return lines


# ------------------------------------------------------------------------ the Experiments page
METHOD_WORDS = {"grid": "Grid: every combination of a few values of each factor",
                "lhs": "Latin hypercube: samples spread evenly over the ranges",
                "morris": "Morris screening: which factors move the outcome, cheaply",
                "sobol": "Sobol' indices: the share of the outcome's spread each factor explains"}
OUTPUT_WORDS = {"active_share": "Active share", "active_share_live": "Active share of live technicians",
                "depth": "Share of work orders done with the AI", "lapsed_share": "Share who lapsed",
                "mean_trust": "Average trust in the AI",
                "mean_competence": "Average competence with the tool",
                "downtime_reduction": "Downtime prevented", "ever_share": "Share who ever used the tool",
                "weekly_churn": "Weekly churn", "regular_share": "Share of regular users",
                "rejected_share": "Share who rejected the tool",
                "weeks_to_target": "Weeks to reach the target", "cost": "Cost of the interventions"}
"""Every output `parse_output` accepts, in words (measures at a week add 'at week N')."""
SHARE_OUTPUTS = frozenset(OUTPUT_METRICS)
"""Outputs that are shares or averages from 0 to 1 (shown as 41%; their effects in points)."""


@dataclass(frozen=True)
class FactorChoice:
    """A scenario value the page offers as a factor: its words and a sensible range."""

    words: str
    low: float
    high: float
    step: float
    whole: bool = False


FACTORS: dict[str, FactorChoice] = {
    "levers.friction_minutes": FactorChoice("Minutes the tool adds per work order", 0.5, 12.0, 0.5),
    "levers.alert_precision": FactorChoice("Alert precision (share of alerts that are right)", 0.6, 0.99,
                                           0.01),
    "levers.alerts_per_week": FactorChoice("Alerts per technician per week", 1, 10, 1, whole=True),
    "levers.support": FactorChoice("Support (0 none, 1 pilot-level)", 0.0, 1.0, 0.05),
    "levers.transparency": FactorChoice("Transparency about the AI (0 to 1)", 0.0, 1.0, 0.05),
    "levers.training_hours": FactorChoice("Hours of each training wave", 0.75, 8.0, 0.25),
    "levers.champion_capacity": FactorChoice("Peers each champion coaches per week", 1, 10, 1, whole=True),
    "organisation.distrust_share": FactorChoice("Share who distrust the AI at go-live", 0.2, 0.9, 0.05),
    "organisation.fear_share": FactorChoice("Share who fear being replaced", 0.1, 0.8, 0.05),
    "organisation.work_orders_per_week": FactorChoice("Work orders per technician per week", 10, 40, 1),
    "onboarding.hours": FactorChoice("Hours of go-live training", 0.75, 8.0, 0.25),
}


def factor_words(path: str) -> str:
    """A factor in words, without its path ('Minutes the tool adds per work order')."""
    if path in FACTORS:
        return FACTORS[path].words
    return factor_label(path).removesuffix(f" ({path})")


def output_words(text: str) -> str:
    """A design's output in words: 'active_share@week52' -> 'Active share at week 52'."""
    from model.experiment import parse_output

    output = parse_output(text)
    words = OUTPUT_WORDS.get(output.metric, output.metric)
    return f"{words} at week {output.week}" if output.week else words


def output_text(metric: str, week: int) -> str:
    """The design's output for a measure (and, for a measure over time, its week)."""
    return metric if metric in ("weeks_to_target", "cost") else f"{metric}@week{int(week)}"


def count_design_points(method: str, samples: int, factors: int) -> int:
    """How many points a design of the page's choices has (a grid: `samples` values of each factor)."""
    if method == "sobol":
        return samples * (factors + 2)
    if method == "morris":
        return samples * (factors + 1)
    if method == "lhs":
        return samples
    return int(samples ** factors)


def grid_values(low: float, high: float, count: int, *, whole: bool = False) -> list[float | int]:
    """`count` evenly spaced values from `low` to `high` (a grid factor's list)."""
    if count <= 1:
        return [int(round(low)) if whole else float(low)]
    values = [low + (high - low) * i / (count - 1) for i in range(count)]
    if whole:
        return list(dict.fromkeys(int(round(v)) for v in values))
    return [round(v, 6) for v in values]


def run_choices(*, scenario: str, scenario_text: str, method: str, samples: int, runs: int, output: str,
                factors: dict[str, tuple[float, float]], seed: int = 0, settings: Settings | None = None,
                progress: Callable[[int, int], None] | None = None) -> Experiment:
    """Run the design the Experiments page put together over a scenario's TOML (a preset or saved).

    `factors`: path -> (low, high); a grid takes `samples` evenly spaced values of each.
    The result and manifest are those `chasm experiment` gives for the same design file.

    Raises:
        DesignError: a choice that cannot run, or a design over the work budget.
        ScenarioError: the scenario is invalid.
    """
    from model.scenario import check_network, parse_toml, scenario_from_dict

    settings = settings or get_settings()
    spec = scenario_from_dict(parse_toml(scenario_text))
    if spec.organisation.network != "generated":
        spec = check_network(spec, network_dirs=settings.network_dirs)
    design_factors: dict[str, Any] = {}
    for path, (low, high) in factors.items():
        whole = FACTORS[path].whole if path in FACTORS else False
        design_factors[path] = grid_values(low, high, samples, whole=whole) if method == "grid" \
            else [float(low), float(high)]
    doc: dict[str, Any] = {"scenario": scenario, "method": method, "samples": samples, "runs": runs,
                           "output": output, "seed": seed, "factors": design_factors}
    design, scenario_doc = _checked(doc, spec, "the experiment", settings)
    result = run_experiment(design, scenario_doc, progress=progress)
    manifest = {"seed": design.seed, "chasm_version": chasm_version(),
                "scenario_sha256": hashlib.sha256(scenario_text.encode("utf-8")).hexdigest(),
                "created": datetime.now(UTC).isoformat(timespec="seconds")}
    return Experiment(result, manifest)
