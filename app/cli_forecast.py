"""`chasm forecast`, `chasm calibrate`, `chasm backtest`: fitting the model and looking ahead."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli import app


def _fail(message: str) -> None:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


@app.command()
def forecast(
    series: Annotated[Path | None, typer.Option(help="A period,adoption_share CSV: forecast it "
                                                     "standalone instead of the database.")] = None,
    train: Annotated[int | None, typer.Option(min=1, help="With --series: fit on periods 1..N.")] = None,
    horizon: Annotated[int, typer.Option(min=1, max=520, help="Periods (weeks) to forecast.")] = 26,
    facility: Annotated[str | None, typer.Option(help="Forecast one facility.")] = None,
    plan: Annotated[list[Path] | None, typer.Option(help="Alternative plan TOML (repeatable).")] = None,
    target: Annotated[float, typer.Option(min=0.0, max=1.0, help="Target active share.")] = 0.7,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Forecast adoption with the calibrated model and the Bass baseline."""
    from model.calibrate import CalibrationError
    from model.scenario import ScenarioError
    from model.series import forecast_series, read_series

    if series is None:
        from app.forecasting import forecast_from_store

        try:
            doc = forecast_from_store(facility=facility, horizon=horizon, plans=plan or [],
                                      target=target, seed=seed)
        except (CalibrationError, ScenarioError, LookupError) as exc:
            _fail(str(exc))
        _print(doc, as_json)
        return
    if train is None:
        raise typer.BadParameter("--series needs --train N", param_hint="--train")
    try:
        doc = forecast_series(read_series(series), train=train, horizon=horizon, seed=seed)
    except CalibrationError as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(doc))
        return
    typer.echo(f"{series}: fitted on periods 1-{train} ({doc['observable']} share)")
    typer.echo("period   model (80% band)        Bass")
    for row, base in zip(doc["forecast"], doc["baseline"]["forecast"], strict=True):
        typer.echo(f"{row['period']:>6}   {row['mean']:5.1%} ({row['p10']:.1%}-{row['p90']:.1%})"
                   f"   {base['mean']:5.1%}")


def _print(doc: dict, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(doc))
        return
    for plan in doc["plans"]:
        typer.echo(f"{plan['plan']}: {plan['expected_at_horizon']:.0%} expected at the horizon; "
                   f"{plan['probability_of_target']:.0%} chance of {doc['target']:.0%} by week "
                   f"{doc['target_week']}")
