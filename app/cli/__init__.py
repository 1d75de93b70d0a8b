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
    from app.cli import experiment, forecast, optimise, plan, serve, simulate, store  # noqa: F401


OPTIONAL_VALUES = {"--posterior": "auto"}
"""Options whose value may be left out (`chasm simulate turnaround --posterior`), and what it then is."""


def with_optional_values(args: list[str]) -> list[str]:
    """`args` with the implied value put after an option of OPTIONAL_VALUES given without one.

    Typer has no options with an optional value; an option at the end, or followed by another option,
    gets its implied value here.
    """
    out = []
    for i, arg in enumerate(args):
        out.append(arg)
        if arg in OPTIONAL_VALUES and (i + 1 == len(args) or args[i + 1].startswith("-")):
            out.append(OPTIONAL_VALUES[arg])
    return out


def main() -> None:
    """Entry point of the `chasm` console script."""
    import sys

    _register_commands()
    app(args=with_optional_values(sys.argv[1:]))
