"""`chasm forecast`, `chasm calibrate`, `chasm backtest`: fitting the model and looking ahead."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli import app
from app.cli.common import fail, open_store

if TYPE_CHECKING:

    from sqlalchemy import Engine

    from app.services.documents import ForecastDocument


@app.command()
def forecast(
    series: Annotated[Path | None, typer.Option(help="A period,adoption_share CSV (periods 1, 2, 3...; "
                                                     "shares 0 to 1): forecast it standalone instead of "
                                                     "the database.")] = None,
    train: Annotated[int | None, typer.Option(min=1, help="With --series: fit on periods 1..N.")] = None,
    horizon: Annotated[int, typer.Option(min=1, max=520, help="Periods (weeks) to forecast.")] = 26,
    facility: Annotated[str | None, typer.Option(help="Forecast one facility.")] = None,
    plan: Annotated[list[Path] | None, typer.Option(help="Alternative plan TOML (repeatable).")] = None,
    target: Annotated[float, typer.Option(min=0.0, max=1.0, help="Target active share.")] = 0.7,
    by: Annotated[str | None, typer.Option(help="Target date (ISO) or rollout week.")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    method: Annotated[str, typer.Option(help="With --series: early (a diffusion curve from the published "
                                             "prior, from 3 periods) or abm (the agent-based model, from 6).")
                      ] = "early",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Forecast adoption with the calibrated model and the Bass baseline."""
    from model.calibrate import CalibrationError
    from model.scenario import ScenarioError
    from model.series import forecast_series, read_series

    if series is None:
        from app.services.forecasts import forecast_document
        from app.services.recorded import recorded_scenario, week_of
        from app.services.settings import get_settings
        from model.plan import load_plan

        engine = open_store()
        try:
            if not plan and _early(engine, facility=facility, horizon=horizon, target=target, by=by,
                                   seed=seed, as_json=as_json):
                return
            base = recorded_scenario(engine, facility)
            costs = get_settings().costs()
            plans = tuple(load_plan(path, base, costs) for path in plan or [])
            target_week = week_of(engine, by, facility) if by else None
            document = forecast_document(engine, facility=facility, horizon=horizon, plans=plans,
                                         target=target, target_week=target_week, seed=seed)
        except (CalibrationError, ScenarioError) as exc:
            raise fail(str(exc)) from None
        _print(document, as_json)
        return
    if train is None:
        raise typer.BadParameter("--series needs --train N", param_hint="--train")
    try:
        doc = forecast_series(read_series(series), train=train, horizon=horizon, seed=seed, method=method)
    except CalibrationError as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(doc))
        return
    what = "cumulative share who have adopted" if doc["observable"] == "cumulative" else "share using it"
    typer.echo(f"{series}: fitted on periods 1-{train} ({what}).")
    if doc.get("why"):
        typer.echo(doc["why"])
    typer.echo("period   forecast (80% band)     textbook Bass")
    for row, base in zip(doc["forecast"], doc["baseline"]["forecast"], strict=True):
        typer.echo(f"{row['period']:>6}   {row['p50']:5.1%} ({row['p10']:.1%}-{row['p90']:.1%})"
                   f"   {base['mean']:5.1%}")


def _early(engine: Engine, *, facility: str | None, horizon: int, target: float, by: str | None, seed: int,
           as_json: bool) -> bool:
    """With fewer weeks stored than the agent-based fit needs, print the early warning instead (True)."""
    from datetime import timedelta

    import pandas as pd

    from app.services.facility_forecasts import early_warning
    from app.services.recorded import observed_series, week_of
    from model.calibrate import MIN_WEEKS

    series = observed_series(engine, facility)
    if len(series) >= MIN_WEEKS:
        return False
    first = pd.Timestamp(series["week_start"].iloc[0]).date()
    target_date = first + timedelta(weeks=week_of(engine, by, facility) - 1) if by else None
    warning = early_warning(engine, facility=facility, horizon=horizon, target=target,
                            target_date=target_date, seed=seed)
    if as_json:
        typer.echo(json.dumps({"early_warning": warning.model_dump(mode="json")}))
        return True
    typer.echo(f"Only {len(series)} week{'s' if len(series) != 1 else ''} stored: the agent-based forecast "
               f"needs {MIN_WEEKS}. An early warning from {warning.prior} instead.")
    typer.echo(f"Now (week of {warning.last_week_start:%d %b %Y}): {warning.now:.0%} active.")
    typer.echo(warning.why)
    typer.echo("week of         forecast (80% band)")
    for week, lo, mid, hi in zip(warning.week_start, warning.p10, warning.p50, warning.p90, strict=True):
        typer.echo(f"{week:%d %b %Y}    {mid:4.0%} ({lo:.0%}-{hi:.0%})")
    typer.echo(f"Chance of {target:.0%} by {warning.target_date:%d %b %Y}: {warning.chance_of_target:.0%}.")
    return True


def _print(doc: ForecastDocument, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(doc.model_dump(mode="json")))
        return
    typer.echo(f"Now (week {doc.observed.week[-1]}): {doc.observed.active_share[-1]:.0%} active.")
    for plan in doc.plans:
        when = plan.expected_week_of_target
        typer.echo(f"{plan.plan}: {plan.expected_at_horizon:.0%} expected by week "
                   f"{doc.horizon_week}; {plan.probability_of_target:.0%} "
                   f"chance of {doc.target:.0%} by week {doc.target_week}"
                   + (f" (expected around week {when:.0f})" if when else "")
                   + (f"; costs {plan.cost:,.0f}" if plan.cost else ""))
    typer.echo(doc.sentence)


@app.command()
def calibrate(
    facility: Annotated[str | None, typer.Option(help="Fit one facility, not the organisation.")] = None,
    until: Annotated[int | None, typer.Option(min=6, help="Fit on weeks 1..WEEK only.")] = None,
    quick: Annotated[bool, typer.Option(help="A smaller, faster fit (fewer particles).")] = False,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Fit the model's behaviour to the stored weekly metrics and store the posterior."""
    from app.services.calibration import calibrate_store
    from model.calibrate import CalibrationError

    engine = open_store()
    try:
        cal_id, cal = calibrate_store(engine, facility=facility, until=until, seed=seed, quick=quick)
    except CalibrationError as exc:
        raise fail(str(exc)) from None
    post = cal.posterior
    mean = post.mean()
    doc = {"calibration_id": cal_id, "facility": facility, "weeks": int(cal.observed.size),
           "simulations": post.simulations, "epsilons": list(post.epsilons),
           "mean": mean, "interval90": {k: list(v) for k, v in post.interval(0.9).items()}}
    if as_json:
        typer.echo(json.dumps(doc))
        return
    typer.echo(f"Calibration {cal_id}: {doc['weeks']} weeks, {post.simulations} simulations.")
    for name, (lo, hi) in post.interval(0.9).items():
        typer.echo(f"  {name:>24}: {mean[name]:7.3f}  (90% interval {lo:.3f} to {hi:.3f})")


@app.command()
def backtest(
    facility: Annotated[str | None, typer.Option(help="Backtest one facility.")] = None,
    horizon: Annotated[int, typer.Option(min=1, max=52,
                                         help="Weeks ahead of each scored forecast.")] = 4,
    window: Annotated[int, typer.Option(min=1, max=520, help="Score the last N weeks.")] = 12,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Rolling-origin backtest of the model and the textbook Bass curve on the last weeks stored."""
    from app.services.backtests import backtest as run_backtest
    from app.services.backtests import backtest_sentence
    from model.calibrate import CalibrationError

    try:
        result = run_backtest(
            open_store(), facility=facility, horizon=horizon, window=window, seed=seed,
            progress=lambda done, total: typer.echo(f"Tested {done} of {total} past forecasts.", err=True))
    except CalibrationError as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(result.model_dump(mode="json")))
        return
    typer.echo(backtest_sentence(result))
