"""`chasm experiment`: run a design of scenario variants and say which factors matter."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from app.cli import app
from app.cli.common import fail


@app.command()
def experiment(
    design: Annotated[Path, typer.Argument(help="Design TOML: scenario, method (grid, lhs, morris, sobol), "
                                                "samples, runs, output and [factors].")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    csv: Annotated[Path | None, typer.Option(
        help="Write one row per point and replicate to this CSV.")] = None,
    seed: Annotated[int | None, typer.Option(min=0, help="Random seed (overrides the design's).")] = None,
) -> None:
    """Run an experiment design: every point with common random numbers, then SALib's indices."""
    if as_json and csv is not None:
        raise typer.BadParameter("give --json or --csv, not both", param_hint="--json/--csv")
    import pandas as pd

    from app.services.experiments import describe, run_design
    from db.csvsafe import write_csv
    from model.experiment import experiment_rows
    from model.scenario import ScenarioError

    def progress(done: int, total: int) -> None:
        if done == total or done % max(total // 10, 1) == 0:
            typer.echo(f"  {done:,} of {total:,} points", err=True)

    try:
        result = run_design(design, seed=seed, progress=None if as_json else progress)
    except ScenarioError as exc:
        raise fail(str(exc)) from None
    if as_json:
        typer.echo(json.dumps(result.as_json()))
        return
    if csv is not None:
        write_csv(pd.DataFrame(experiment_rows(result.result)), csv)
        typer.echo(f"wrote {csv}")
        return
    for line in describe(result):
        typer.echo(line)
