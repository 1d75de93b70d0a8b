"""`chasm simulate` and friends: the simulator's commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli import app

SCENARIOS = Path(__file__).resolve().parent.parent / "seed_data" / "scenarios"


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


@app.command()
def serve() -> None:
    """Start Chasm on the configured database, loading the demo organisation on first start.

    Until the web app lands, prints the stored adoption and the seed case's simulated scenarios.
    """
    from db.demo import prepare_first_start
    from db.engine import get_engine
    from db.queries import weekly_metrics
    from model.ensemble import run_ensemble
    from model.scenario import load_scenario

    engine = get_engine()
    if prepare_first_start(engine) is not None:
        typer.echo("Loaded the demo organisation (first start).")
    metrics = weekly_metrics(engine)
    if not metrics.empty:
        weekly = metrics.groupby("week_start")[["active_users", "technicians"]].sum()
        share = weekly["active_users"] / weekly["technicians"]
        typer.echo(f"Stored: {metrics['facility'].nunique()} facilities, {len(weekly)} weeks; "
                   f"latest active share {share.iloc[-1]:.0%} (week of {share.index[-1]}).")
    for name in ("pilot", "rollout", "turnaround"):
        spec = load_scenario(SCENARIOS / f"{name}.toml")
        result = run_ensemble(spec, runs=200, seed=0)
        months = ", ".join(f"m{m} {mean:.0%}" for m, _, mean, _, _ in _month_rows(result)
                           if m in (1, 3, 6, 12, 18))
        typer.echo(f"{name:>10}: {months}")
    typer.echo("The web app (http://localhost:8501) arrives with the UI; meanwhile try "
               "`.venv/bin/chasm metrics` and "
               "`.venv/bin/chasm simulate seed_data/scenarios/turnaround.toml`.")
