"""`opensbs report RUN`: rebuild report.html of a run folder."""

from pathlib import Path
from typing import Annotated

import typer

from ..report import write_report
from ..runfolder import RunFolderError
from ._app import app


@app.command()
def report(run: Annotated[Path, typer.Argument(help="Run folder written by `opensbs run`.")],
           ) -> None:
    """Rebuild the self-contained report.html of a run folder from its files."""
    try:
        path = write_report(run)
    except RunFolderError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:  # writing report.html
        typer.echo(f"error: {exc.filename}: cannot write the report: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"report: {path}")
