"""The root `opensbs` Typer application; command modules attach themselves to it."""

import typer

app = typer.Typer(
    name="opensbs",
    help="OpenSBS: run, simulate, flash and analyse an open benchtop sequencer.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
