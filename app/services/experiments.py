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
    DesignError,
    ExperimentResult,
    count_points,
    experiment_to_json,
    parse_design,
    run_experiment,
)
from model.scenario import ScenarioError, load_scenario, scenario_to_dict

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
    return design, scenario_doc, scenario_file


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
