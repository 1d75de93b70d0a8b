"""`chasm simulate` and friends: the simulator's commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli import app

SCENARIOS = Path(__file__).resolve().parents[2] / "seed_data" / "scenarios"


def _month_rows(result) -> list[tuple[int, int, float, float, float]]:
    rows = []
    summary = result.summary("active_share")
    for month in range(1, 1 + result.weeks * 12 // 52):
        week = round(month * 52 / 12)
        if week <= result.weeks:
            row = summary.loc[week]
            rows.append((month, week, row["mean"], row["p05"], row["p95"]))
    return rows


@app.command()
def simulate(
    scenario: Annotated[Path, typer.Argument(help="Scenario TOML file.")],
    runs: Annotated[int, typer.Option(min=1, max=100_000, help="Replicates in the ensemble.")] = 100,
    weeks: Annotated[int | None, typer.Option(min=1, max=1040, help="Weeks to simulate.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same result.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    csv: Annotated[Path | None, typer.Option(help="Write every week's summaries to this CSV.")] = None,
) -> None:
    """Run an ensemble of a scenario and summarise adoption week by week."""
    if as_json and csv is not None:
        raise typer.BadParameter("give --json or --csv, not both", param_hint="--json/--csv")
    from model.ensemble import ensemble_to_json, run_ensemble
    from model.scenario import ScenarioError, load_scenario

    try:
        spec = load_scenario(scenario)
        result = run_ensemble(spec, runs=runs, weeks=weeks, seed=seed)
    except ScenarioError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(json.dumps(ensemble_to_json(result)))
        return
    if csv is not None:
        result.tidy().to_csv(csv, index=False)
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
