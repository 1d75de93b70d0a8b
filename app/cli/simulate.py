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
    from model.population import Population
    from model.scenario import Scenario
    from model.whatif import PosteriorWhatIf

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
    posterior: Annotated[str | None, typer.Option(
        metavar="[FACILITY|all|seed]",
        help="Run over what we do not know about the technicians: each run a plausible world drawn "
             "from a calibration's posterior (a stored facility's, all facilities', or the seed case's; "
             "alone: the stored organisation's, else the seed case's), with each intervention's effect "
             "and which beats which.")] = None,
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
    whatif = None
    try:
        spec = load_scenario(scenario_file(scenario), network_dirs=settings.network_dirs)
        variants = 1 if posterior is None else 1 + len(spec.interventions)
        population = check_budget(spec, runs, weeks, max_bytes=settings.simulation_max_bytes,
                                  max_technician_weeks=settings.simulation_max_technician_weeks // variants)
        if posterior is None:
            result = run_ensemble(spec, runs=runs, weeks=weeks, seed=seed, population=population)
        else:
            whatif = _over_posterior(spec, posterior, runs=runs, weeks=weeks, seed=seed,
                                     population=population)
            result = whatif.result
    except ScenarioError as exc:
        raise fail(str(exc)) from None
    if as_json:
        doc = ensemble_to_json(result)
        if whatif is not None:
            doc["posterior"] = whatif.to_json()
        typer.echo(json.dumps(doc))
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
    if whatif is not None:
        for line in _posterior_lines(whatif):
            typer.echo(line)


def _over_posterior(spec: Scenario, which: str, *, runs: int, weeks: int | None, seed: int,
                    population: Population | None) -> PosteriorWhatIf:
    from app.cli.common import open_store
    from app.services.whatif import WhatIfError, needs_store, posterior_source, simulate_over_posterior

    try:
        engine = open_store() if needs_store(which) else None
        source = posterior_source(which, engine)
    except WhatIfError as exc:
        raise fail(str(exc)) from None
    return simulate_over_posterior(spec, source, worlds=runs, weeks=weeks, seed=seed, population=population)


def _posterior_lines(whatif: PosteriorWhatIf) -> list[str]:
    from app.services.words import points, share

    doc = whatif.to_json()
    a = doc["active_share"]
    lines = [f"Over {whatif.result.runs} plausible worlds from {whatif.source}:",
             f"  week {whatif.week}: {share(a['mean'])} (90% of worlds {share(a['p05'])}-{share(a['p95'])})"]
    if not whatif.effects:
        lines.append("  no interventions on the calendar by then, so no effects to compare")
        return lines
    lines.append(f"  Effect of each intervention on week {whatif.week} (with it minus without it; "
                 "90% of worlds):")
    for e in sorted(doc["lever_effects"], key=lambda e: -e["mean"]):
        lines.append(f"    {e['lever']} (from week {e['week']}): {points(e['mean'])} "
                     f"({points(e['p05']).removesuffix(' pts')} to {points(e['p95'])}), "
                     f"helps in {share(e['helps_share'])} of worlds")
    for c in doc["comparisons"][:10]:
        lines.append(f"  {c['a']} beats {c['b']} in {share(c['probability_a_beats_b'])} of plausible worlds")
    return lines
