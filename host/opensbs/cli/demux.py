"""`opensbs demux RUN [--sample-sheet F]`: FASTQ per sample with BCL Convert's names and reports."""

from pathlib import Path
from typing import Annotated

import typer

from ..demux import DemuxError, I5Orientation, demultiplex
from ..runfolder import RunFolderError
from ._app import app


@app.command()
def demux(
    run: Annotated[Path, typer.Argument(help="Run folder (RunInfo.xml, BCL, filter, locs).")],
    sample_sheet: Annotated[Path | None, typer.Option(
        "--sample-sheet", help="BCL Convert v2 or bcl2fastq v1 sheet (default: "
        "RUN/SampleSheet.csv).")] = None,
    out: Annotated[Path | None, typer.Option(
        "--out", help="Output folder for Fastq/, Reports/, InterOp/ (default: RUN).")] = None,
    i5_orientation: Annotated[I5Orientation | None, typer.Option(
        "--i5-orientation", help="How the i5 read shows the sheet's Index2 (default: from "
        "RunInfo.xml and the sheet's InstrumentPlatform; forward when neither says).")] = None,
    index_fastq: Annotated[bool | None, typer.Option(
        "--index-fastq/--no-index-fastq", help="Also write I1/I2 FASTQs (default: the sheet's "
        "CreateFastqForIndexReads).")] = None,
) -> None:
    """Demultiplex a run: Fastq/<Sample_ID>_S<n>_L001_R1_001.fastq.gz per sample and read,
    Undetermined_S0_*, Reports/ (Demultiplex_Stats, Quality_Metrics, Adapter_Metrics,
    Top_Unknown_Barcodes, fastq_list) and InterOp/IndexMetricsOut.bin."""
    sheet = sample_sheet if sample_sheet is not None else run / "SampleSheet.csv"
    try:
        result = demultiplex(run, sheet, out, i5_orientation, index_fastq)
    except (DemuxError, RunFolderError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:
        typer.echo(f"error: {exc.filename}: {exc.strerror}", err=True)
        raise typer.Exit(2) from None
    for lane in result.lanes:
        total = int(lane.reads.sum())
        assigned = total - int(lane.reads[-1])
        typer.echo(f"lane {lane.lane}: {total:,} PF reads, {assigned:,} assigned to "
                   f"{len(lane.samples)} samples ({assigned / max(total, 1):.2%}), "
                   f"i5 {result.orientation.value}")
    typer.echo(f"fastq:   {result.out / 'Fastq'}")
    typer.echo(f"reports: {result.out / 'Reports'}")
