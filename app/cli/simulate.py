"""`chasm simulate` and friends: the simulator's commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

import seed_data
from app.cli import app
from app.cli.common import fail

if TYPE_CHECKING:
    from model.ensemble import EnsembleResult

SCENARIOS = seed_data.path("scenarios")
PRESETS = ", ".join(sorted(p.stem for p in SCENARIOS.glob("*.toml")))


def scenario_file(scenario: Path) -> Path:
    """The file to load: `scenario` itself, or the preset of that name (rollout, pilot, ...)."""
    preset = SCENARIOS / f"{scenario}.toml"
    if not scenario.exists() and len(scenario.parts) == 1 and not scenario.suffix and preset.is_file():
        return preset
    return scenario


def _month_rows(result: EnsembleResult) -> list[tuple[int, int, float, float, float]]:
    rows = []
    summary = result.summary("active_share")
    for month in range(1, 1 + result.weeks * 12 // 52):
        week = round(month * 52 / 12)
        if week <= result.weeks:
            mean, lo, hi = (float(v) for v in summary.loc[week, ["mean", "p05", "p95"]].to_numpy(float))
            rows.append((month, week, mean, lo, hi))
    return rows


@app.command()
def simulate(
    scenario: Annotated[Path, typer.Argument(
        help=f"Scenario TOML file, or a preset's name: {PRESETS}.")],
    runs: Annotated[int, typer.Option(min=1, max=100_000, help="Replicates in the ensemble.")] = 100,
    weeks: Annotated[int | None, typer.Option(min=1, max=1040, help="Weeks to simulate.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same result.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    csv: Annotated[Path | None, typer.Option(help="Write every week's summaries to this CSV.")] = None,
) -> None:
    """Run an ensemble of a scenario and summarise adoption week by week."""
    if as_json and csv is not None:
        raise typer.BadParameter("give --json or --csv, not both", param_hint="--json/--csv")
    from app.services.settings import get_settings
    from db.csvsafe import write_csv
    from model.budget import check_budget
    from model.ensemble import ensemble_to_json, run_ensemble
    from model.scenario import ScenarioError, load_scenario

    settings = get_settings()
    try:
        spec = load_scenario(scenario_file(scenario), network_dirs=settings.network_dirs)
        population = check_budget(spec, runs, weeks, max_bytes=settings.simulation_max_bytes,
                                  max_technician_weeks=settings.simulation_max_technician_weeks)
        result = run_ensemble(spec, runs=runs, weeks=weeks, seed=seed, population=population)
    except ScenarioError as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(ensemble_to_json(result)))
        return
    if csv is not None:
        write_csv(result.tidy(), csv)  # names come from the user's files: no formulas
        typer.echo(f"wrote {csv}")
        return
    typer.echo(f"{spec.name}: {runs} runs, {result.weeks} weeks. Active share of technicians:")
    for month, week, mean, lo, hi in _month_rows(result):
        typer.echo(f"  month {month:>2} (week {week:>2}): {mean:5.0%}  (90% of runs {lo:.0%}-{hi:.0%})")
    if len(spec.waves) > 1:
        for gate in result.gates():
            when = (f"week {gate['mean_week']:.0f} on average ({gate['p05_week']:.0f}-{gate['p95_week']:.0f})"
                    if gate["opened_share"] else "never")
            typer.echo(f"  wave {gate['wave']} went live: {when}, in {gate['opened_share']:.0%} of runs")
