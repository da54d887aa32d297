"""`opensbs basecall`, `opensbs basecall-intensities`, `opensbs basecall-recalibrate`."""

import json
import tempfile
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from ..basecall import (
    BasecallConfig,
    BasecallError,
    call_intensities,
    chemistry_named,
)
from ..basecall.cif import CifData, read_cif, stack_cif
from ..basecall.fastq import ReadNaming, write_fastq
from ..basecall.image_set import open_image_set
from ..basecall.quality import DEFAULT_MAX_QUALITY, QualityTable, shipped_table_path
from ..basecall.validation import check_intensities, check_positions
from ..jobs import JobError, run_tile_jobs
from ..jobs.tiles import ReadSpan, basecall_jobs, calls_summary, merge_parts
from ..runfolder import RunFolder, RunFolderError
from ..runfolder.atomic import atomic_write_text
from ._app import app
from ._engine_options import SchedulerOption, WorkersOption, engine_options

MaxQ = Annotated[int, typer.Option(
    "--max-q", min=2, max=50, help="Cap of reported qualities (50: the table's full range).")]
QBins = Annotated[bool, typer.Option(
    "--q-bins/--no-q-bins", help="Report four quality values only (2/12/23/37).")]


def run_naming(directory: Path) -> tuple[ReadNaming, list[ReadSpan], int]:
    """(read naming, reads, lane) of a run folder's RunInfo identity and read structure; for a
    folder of images only: the default naming and one read over every cycle, lane 1."""
    if not (directory / "RunInfo.xml").exists():
        return ReadNaming(), [ReadSpan("R1", 1, 1)], 1
    folder = RunFolder.open(directory)
    recipe, lane = folder.recipe, folder.recipe.flowcell.lane
    reads, first, counts = [], 1, {"R": 0, "I": 0}
    for number, read in enumerate(recipe.reads, start=1):
        kind = "I" if read.index else "R"
        counts[kind] += 1
        reads.append(ReadSpan(f"{kind}{counts[kind]}", number, first, read.cycles))
        first += read.cycles
    naming = ReadNaming(recipe.run.instrument, folder.identity.run_number,
                        recipe.run.flowcell_id, lane)
    return naming, reads, lane


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
    max_q: MaxQ = DEFAULT_MAX_QUALITY,
    q_bins: QBins = False,
    whole_read: Annotated[bool, typer.Option(
        "--whole-read/--live", help="Call over the whole read (better at high phasing) or as "
        "the live run does (the run's calls and filter again; default).")] = False,
) -> None:
    """Call stored cycle images offline: Undetermined_S0_L001_R1_001.fastq.gz (one per read of
    a run folder, named with its RunInfo instrument, run number and flow cell) plus
    summary.json.

    Tiles run in parallel (one worker process per core, or a Dask cluster), each writing its
    part under tiles/; a re-run skips the tiles whose parts are already complete."""
    try:
        images = open_image_set(directory.resolve())  # absolute: workers may run elsewhere
        out = out.resolve()
        table = None if quality_table is None else quality_table.resolve()
        if table is not None:
            QualityTable.load(table)  # a bad table fails here, before any tile runs
        chem = chemistry_named(chemistry).name if chemistry else None
        config = BasecallConfig(whole_read=whole_read, max_quality=max_q,
                                four_bin_qualities=q_bins)
        naming, reads, lane = run_naming(directory.resolve())
        out.mkdir(parents=True, exist_ok=True)
        jobs = basecall_jobs(images, out, chem, table, include_filtered, naming, reads,
                             config)
        report = run_tile_jobs(jobs, engine_options(workers, scheduler), "basecall")
        merge_parts(out, images.tiles, lane, reads)
        summary = {}
        for tile, job in zip(images.tiles, jobs, strict=True):
            summary[str(tile)] = tile_summary = report.results[job.name]
            typer.echo(f"tile {tile}: {tile_summary['clusters']} clusters, "
                       f"{tile_summary['reads_written']} reads written, "
                       f"%PF {100 * tile_summary['pf_fraction']:.1f}")
        atomic_write_text(out / "summary.json", json.dumps(summary, indent=1))
    except (BasecallError, JobError, RunFolderError) as exc:
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
    max_q: MaxQ = DEFAULT_MAX_QUALITY,
    q_bins: QBins = False,
) -> None:
    """Call an intensity array or CIF files over the whole read and write FASTQ.gz (read names
    use positions if given, else x = y = 0)."""
    try:
        intensities, positions = _load_intensities(inputs)
        chem = chemistry_named(chemistry) if chemistry else None
        config = BasecallConfig(whole_read=True, max_quality=max_q, four_bin_qualities=q_bins)
        calls = call_intensities(intensities, chem, config, quality_table=_table(quality_table))
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
    from ..calibration.recalibrate import (
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
            return check_intensities(loaded), None
        if "intensities" not in loaded:
            raise BasecallError(f"{inputs[0]} has no 'intensities' array")
        intensities = check_intensities(loaded["intensities"])
        positions = (check_positions(loaded["positions"], intensities.shape[0])
                     if "positions" in loaded else None)
        return intensities, positions
    return check_intensities(stack_cif([_read_cif_file(path) for path in inputs])), None
