"""`chasm plan adopt|list|retire`: the plans the organisation adopted, which the nightly forecast weighs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli import app
from app.cli.common import fail, open_store

plan_app = typer.Typer(help="Adopted plans: what the nightly forecast weighs against the current plan.",
                       no_args_is_help=True)
app.add_typer(plan_app, name="plan")


@plan_app.command("adopt")
def plan_adopt(
    file: Annotated[Path, typer.Argument(
        help="A plan file ([[interventions]] only) or a scenario file: what it does after the recorded "
             "weeks becomes the plan.", exists=True, dir_okay=False, readable=True)],
    name: Annotated[str | None, typer.Option(help="The plan's name (default: the file's).")] = None,
    description: Annotated[str | None, typer.Option(help="What it does, in a sentence.")] = None,
    replace: Annotated[bool, typer.Option("--replace", help="Replace an adopted plan of that name.")] = False,
    by: Annotated[str, typer.Option(help="Who adopts it (kept with the plan).")] = "chasm plan adopt",
) -> None:
    """Adopt a plan: the nightly forecast weighs it and the leadership page shows it."""
    from app.services.plans import PlanNameTaken, adopt_file, adopt_scenario
    from app.services.settings import get_settings
    from model.scenario import ScenarioError, load_scenario, parse_toml

    engine = open_store()
    try:
        try:
            doc = parse_toml(file.read_text(encoding="utf-8"))
        except ScenarioError as exc:
            raise ScenarioError(f"{file}: {exc}") from None
        if "organisation" in doc or "levers" in doc or "weeks" in doc:  # a scenario, not a plan
            spec = load_scenario(file, network_dirs=get_settings().network_dirs)
            adopted = adopt_scenario(engine, spec, name=name or spec.name, adopted_by=by, replace=replace,
                                     description=description if description is not None
                                     else str(doc.get("description", "")), source="file")
        else:
            adopted = adopt_file(engine, file, name=name, description=description, adopted_by=by,
                                 replace=replace)
    except (ScenarioError, PlanNameTaken, ValueError) as exc:
        raise fail(str(exc)) from None
    count = len(adopted.plan.interventions)
    typer.echo(f"Adopted {adopted.plan.name!r}: {count} intervention{'s' * (count != 1)} from week "
               f"{adopted.first_week}. The next forecast weighs it against the current plan.")


@plan_app.command("list")
def plan_list(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The adopted plans, oldest first."""
    from db.plans import adopted

    rows = adopted(open_store())
    if as_json:
        typer.echo(json.dumps([{"name": r.name, "description": r.description, "source": r.source,
                                "adopted_by": r.adopted_by, "adopted_at": r.adopted_at.isoformat(),
                                "plan_toml": r.toml} for r in rows]))
        return
    if not rows:
        typer.echo("No plan is adopted yet (chasm plan adopt FILE, or the app's Plan page).")
    for r in rows:
        typer.echo(f"{r.name}: {r.description or 'no description'} (from the {r.source}, adopted by "
                   f"{r.adopted_by} on {r.adopted_at:%d %B %Y})")


@plan_app.command("retire")
def plan_retire(name: Annotated[str, typer.Argument(help="The adopted plan's name.")]) -> None:
    """Stop weighing an adopted plan."""
    from app.services.plans import PlanNotFound, retire

    try:
        retire(open_store(), name)
    except PlanNotFound as exc:
        raise fail(str(exc)) from None
    typer.echo(f"Retired {name!r}: the next forecast no longer weighs it.")
