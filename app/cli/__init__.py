"""The `chasm` command line: a thin shell that parses options and prints what the packages return."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="chasm",
    help="Chasm: track a tool's adoption, simulate interventions, forecast where it is heading.",
    no_args_is_help=True,
    add_completion=False,
)


def _register_commands() -> None:
    # Each room's commands live in their own module; importing them registers them on `app`.
    from app.cli import experiment, forecast, optimise, serve, simulate, store  # noqa: F401


def main() -> None:
    """Entry point of the `chasm` console script."""
    _register_commands()
    app()
