"""Options shared by the commands that run per-tile jobs (`opensbs.jobs`)."""

from typing import Annotated

import typer

from ..jobs import EngineOptions

SCHEDULER_ENV = "OPENSBS_SCHEDULER"

WorkersOption = Annotated[int | None, typer.Option(
    "--workers", min=1,
    help="Local worker processes (default: one per core); 1 runs in this process.")]
SchedulerOption = Annotated[str | None, typer.Option(
    "--scheduler", envvar=SCHEDULER_ENV,
    help=f"Use the Dask cluster of this scheduler, tcp://HOST:PORT (or ${SCHEDULER_ENV}).")]


def engine_options(workers: int | None, scheduler: str | None) -> EngineOptions:
    """The engine layout the options ask for."""
    return EngineOptions(workers=workers, scheduler=scheduler or None)
