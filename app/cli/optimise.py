"""`chasm optimise`: the plan most likely to reach a target by a week, within a budget."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from app.cli import app
from app.cli.common import fail, open_store

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from model.optimise import OptimiseResult


@app.command()
def optimise(
    budget: Annotated[float, typer.Option(min=0, help="Money the plan may spend.")],
    target: Annotated[float, typer.Option(min=0.0, max=1.0, help="Target active share (0.7 is 70%).")],
    by: Annotated[str, typer.Option(help="Deadline: a rollout week, or with --from-store an ISO date.")],
    scenario: Annotated[Path | None, typer.Option(help="Scenario file or preset name to plan for.")] = None,
    from_store: Annotated[bool, typer.Option("--from-store", help="Plan from today's stored organisation "
                                                                   "and its calibration.")] = False,
    from_week: Annotated[int, typer.Option(min=1, help="With --scenario: the first week decisions can "
                                                       "take effect (the past before it is fixed).")] = 1,
    facility: Annotated[str | None, typer.Option(help="With --from-store: plan for one facility.")] = None,
    trials: Annotated[int, typer.Option(min=1, max=100_000, help="Candidate plans to try.")] = 200,
    runs: Annotated[int, typer.Option(min=1, max=10_000, help="Replicates per candidate.")] = 40,
    menu: Annotated[Path | None, typer.Option(
        help="Menu TOML (default: the data folder's, else the shipped one).")] = None,
    seed: Annotated[int, typer.Option(min=0, help="Random seed.")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    adopt: Annotated[str | None, typer.Option(
        help="With --from-store: adopt the recommended plan under this name (the nightly forecast "
             "weighs it).")] = None,
) -> None:
    """Search the menu (optuna: TPE for the plan, NSGA-II for the cost/chance front)."""
    if (scenario is None) == (not from_store):
        raise typer.BadParameter("give --scenario NAME|PATH or --from-store", param_hint="--scenario")
    if adopt is not None and not from_store:
        raise typer.BadParameter("--adopt needs --from-store: a plan is adopted for the stored "
                                 "organisation", param_hint="--adopt")
    from app.cli.simulate import scenario_file
    from app.services.optimiser import optimise_scenario, optimise_store
    from app.services.recorded import week_of
    from app.services.settings import get_settings
    from model.optimise import optimise_to_json
    from model.scenario import ScenarioError, load_scenario

    def progress(done: int, total: int, best: float) -> None:
        if not as_json and (done == total or done % max(total // 10, 1) == 0):
            typer.echo(f"  {done:,} of {total:,} plans tried; best so far {best:.0%}", err=True)

    try:
        if from_store:
            engine = open_store()
            deadline = week_of(engine, by, facility)
            result = optimise_store(engine, budget=budget, target=target, by=deadline, facility=facility,
                                    trials=trials, runs=runs, seed=seed, menu_path=menu, progress=progress)
        else:
            assert scenario is not None
            if not by.isdigit():
                raise ScenarioError(f"--by {by!r}: give the deadline as a week number of the scenario")
            spec = load_scenario(scenario_file(scenario), network_dirs=get_settings().network_dirs)
            result = optimise_scenario(spec, budget=budget, target=target, by=int(by), from_week=from_week,
                                       trials=trials, runs=runs, seed=seed, menu_path=menu, progress=progress)
    except ScenarioError as exc:
        raise fail(str(exc)) from None
    doc = optimise_to_json(result)
    if adopt is not None:
        _adopt(engine, result, adopt, target)
    if as_json:
        typer.echo(json.dumps(doc))
        return
    best, base = result.best, result.baseline
    typer.echo(f"Recommended plan: {best.probability:.0%} chance of {target:.0%} by week {result.request.by} "
               f"for {best.cost:,.0f} (doing nothing more: {base.probability:.0%}).")
    for choice in best.choices:
        size = "" if choice.size is None else f", size {choice.size:g}"
        typer.echo(f"  from week {choice.week}: {choice.item.label}{size} ({choice.cost:,.0f})")
    if not best.choices:
        typer.echo("  nothing on the menu helps within the budget")


def _adopt(engine: Engine, result: OptimiseResult, name: str, target: float) -> None:
    from app.services.plans import PlanNameTaken, adopt_optimised
    from app.services.settings import get_settings
    from app.services.words import money
    from model.scenario import ScenarioError

    best = result.best
    description = (f"Recommended by the optimiser: {best.probability:.0%} chance of {target:.0%} by week "
                   f"{result.request.by} for {money(best.cost, get_settings().currency)}")
    try:
        adopted = adopt_optimised(engine, result, name=name, description=description,
                                  adopted_by="chasm optimise")
    except (ScenarioError, PlanNameTaken, ValueError) as exc:
        raise fail(str(exc)) from None
    typer.echo(f"Adopted {adopted.plan.name!r}; the next forecast weighs it against the current plan.",
               err=True)
