"""`opensbs basecall`, `opensbs basecall-intensities`, `opensbs basecall-recalibrate`."""

import json
import tempfile
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ..basecall import (
    BasecallError,
    call_intensities,
    chemistry_named,
)
from ..basecall.cif import CifData, read_cif
from ..basecall.fastq import ReadNaming, write_fastq
from ..basecall.image_set import open_image_set
from ..basecall.quality import QualityTable, shipped_table_path
from ..jobs import JobError, run_tile_jobs
from ..jobs.tiles import basecall_jobs, calls_summary
from ..runfolder.atomic import atomic_write_text
from ._app import app
from ._engine_options import SchedulerOption, WorkersOption, engine_options


def _table(path: Path | None) -> QualityTable | None:
    """The given table, or None: the caller then uses the chemistry's shipped table."""
    return None if path is None else QualityTable.load(path)


@app.command()
def basecall(
    directory: Annotated[Path, typer.Argument(help="Folder of [images/]tile_TTTT/cycle_CCC.tif.")],
    out: Annotated[Path, typer.Option("--out", help="Output folder (created).")] = Path("calls"),
    chemistry: Annotated[str | None, typer.Option(
        help="'four-colour' or 'two-colour' (default: from the channel count).")] = None,
    quality_table: Annotated[Path | None, typer.Option(
        help="Quality table JSON (default: the chemistry's shipped table).")] = None,
    include_filtered: Annotated[bool, typer.Option(help="Write reads failing the filter.")] =
        False,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Call stored cycle images offline: one FASTQ.gz per tile plus summary.json.

    Tiles run in parallel (one worker process per core, or a Dask cluster); a re-run skips
    the tiles whose FASTQ is already complete."""
    try:
        images = open_image_set(directory.resolve())  # absolute: workers may run elsewhere
        out = out.resolve()
        table = None if quality_table is None else quality_table.resolve()
        if table is not None:
            QualityTable.load(table)  # a bad table fails here, before any tile runs
        chem = chemistry_named(chemistry).name if chemistry else None
        out.mkdir(parents=True, exist_ok=True)
        jobs = basecall_jobs(images, out, chem, table, include_filtered)
        report = run_tile_jobs(jobs, engine_options(workers, scheduler), "basecall")
        summary = {}
        for tile, job in zip(images.tiles, jobs, strict=True):
            summary[str(tile)] = tile_summary = report.results[job.name]
            typer.echo(f"tile {tile}: {tile_summary['clusters']} clusters, "
                       f"{tile_summary['reads_written']} reads written, "
                       f"%PF {100 * tile_summary['pf_fraction']:.1f}")
        atomic_write_text(out / "summary.json", json.dumps(summary, indent=1))
    except (BasecallError, JobError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command("basecall-intensities")
def basecall_intensities(
    inputs: Annotated[list[Path], typer.Argument(
        help="One .npy/.npz (clusters x cycles x channels; npz keys 'intensities' and optional"
             " 'positions') or CIF files (one per cycle or a block of cycles).")],
    out: Annotated[Path, typer.Option("--out", help="Output FASTQ.gz path.")] =
        Path("reads.fastq.gz"),
    chemistry: Annotated[str | None, typer.Option(
        help="'four-colour' or 'two-colour' (default: from the channel count).")] = None,
    tile: Annotated[int, typer.Option(help="Tile number for read names.")] = 1101,
    quality_table: Annotated[Path | None, typer.Option(
        help="Quality table JSON (default: the chemistry's shipped table).")] = None,
    include_filtered: Annotated[bool, typer.Option(help="Write reads failing the filter.")] =
        False,
) -> None:
    """Call an intensity array or CIF files and write FASTQ.gz (read names use positions if
    given, else x = y = 0)."""
    try:
        intensities, positions = _load_intensities(inputs)
        chem = chemistry_named(chemistry) if chemistry else None
        calls = call_intensities(intensities, chem, quality_table=_table(quality_table))
        xy = positions if positions is not None else np.zeros((intensities.shape[0], 2))
        reads = write_fastq(out, calls.bases, calls.qualities, xy, calls.passing_filter, tile,
                            ReadNaming(), include_filtered)
        typer.echo(json.dumps(calls_summary(calls, reads)))
    except BasecallError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


@app.command("basecall-recalibrate")
def basecall_recalibrate(
    out_dir: Annotated[Path | None, typer.Option(
        "--out-dir", help="Folder for qtable_<chemistry>.json (default: the shipped tables).")
    ] = None,
    chemistry: Annotated[list[str] | None, typer.Option(
        help="Chemistry to calibrate (repeatable; default: four-colour and two-colour).")
    ] = None,
    tile_size: Annotated[int, typer.Option(help="Simulated tile width/height, px.")] = 512,
    seeds: Annotated[list[int] | None, typer.Option("--seed", help="Simulation seeds.")] = None,
    work_dir: Annotated[Path | None, typer.Option(
        "--work-dir", help="Keep each tile's calibration rows here, so a re-run resumes "
                           "(default: a temporary folder).")] = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Re-calibrate one quality table per chemistry against simulated tiles with known truth
    (tiles run in parallel: one worker process per core, or a Dask cluster)."""
    from ..basecall.recalibrate import (
        CALIBRATION_SEEDS,
        calibrate_from_simulation,
        default_calibration_configs,
    )

    try:
        names = [chemistry_named(c).name for c in chemistry or ["four-colour", "two-colour"]]
        with tempfile.TemporaryDirectory(prefix="opensbs-recalibrate-") as scratch:
            rows_root = (work_dir or Path(scratch)).resolve()
            for name in names:
                configs = default_calibration_configs(tile_size, seeds or CALIBRATION_SEEDS, name)
                table = calibrate_from_simulation(configs, rows_root / name,
                                                  engine_options(workers, scheduler))
                path = shipped_table_path(name)
                if out_dir is not None:
                    out_dir.mkdir(parents=True, exist_ok=True)
                    path = out_dir / path.name
                table.save(path)
                typer.echo(f"wrote {path}")
    except (BasecallError, JobError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _read_cif_file(path: Path) -> CifData:
    try:
        return read_cif(path)
    except OSError as exc:  # a directory, a missing or unreadable file
        raise BasecallError(f"cannot read {path}: {exc.strerror}") from None


def _load_intensities(inputs: list[Path]) -> tuple[np.ndarray, np.ndarray | None]:
    if len(inputs) == 1 and inputs[0].suffix in (".npy", ".npz"):
        try:
            loaded = np.load(inputs[0])
        except (OSError, ValueError) as exc:
            raise BasecallError(f"cannot read {inputs[0]}: {exc}") from None
        if isinstance(loaded, np.ndarray):
            return loaded, None
        if "intensities" not in loaded:
            raise BasecallError(f"{inputs[0]} has no 'intensities' array")
        positions = loaded["positions"] if "positions" in loaded else None
        return loaded["intensities"], positions
    blocks = sorted((_read_cif_file(path) for path in inputs), key=lambda c: c.first_cycle)
    expected = blocks[0].first_cycle
    for block in blocks:
        if block.first_cycle != expected:
            raise BasecallError(f"CIF cycles are not contiguous: expected cycle {expected}, "
                                f"got {block.first_cycle}")
        expected += block.intensities.shape[1]
    return np.concatenate([b.intensities for b in blocks], axis=1), None
