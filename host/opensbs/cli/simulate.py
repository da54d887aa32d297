"""`opensbs simulate`: write simulated flow-cell images and their ground truth."""

from pathlib import Path
from typing import Annotated

import typer

from ..jobs import JobError, run_tile_jobs
from ..recipe import default_recipe_text, parse_recipe
from ..sim import Chemistry, Layout, SimConfig, SimulationError
from ..sim.jobs import simulation_jobs
from ..sim.layout import check_run_request, write_simulation_index
from ._app import app
from ._engine_options import SchedulerOption, WorkersOption, engine_options

# The same flow cell and read length as `opensbs run`'s default recipe.
_DEFAULT = parse_recipe(default_recipe_text(), "default_sbs.toml")


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Output folder (created).")],
    tiles: Annotated[int, typer.Option(help="Number of tiles (numbered 1101, 1102, ...).")] =
        _DEFAULT.flowcell.tiles,
    tile_size: Annotated[int, typer.Option(help="Tile width and height in pixels.")] =
        _DEFAULT.flowcell.width_px,
    cycles: Annotated[int, typer.Option(help="Cycles to image (= read length).")] =
        _DEFAULT.total_cycles,
    layout: Annotated[str, typer.Option(help="'random' (Poisson) or 'patterned' (hex).")] =
        Layout.RANDOM,
    density: Annotated[float, typer.Option(help="Clusters per mm² (random layout).")] =
        600_000.0,
    occupancy: Annotated[float, typer.Option(help="Well occupancy (patterned).")] = 0.75,
    chemistry: Annotated[Chemistry, typer.Option(help="Dye chemistry.")] =
        Chemistry.FOUR_COLOUR,
    phasing: Annotated[float, typer.Option(help="Phasing per cycle (fraction).")] = 0.001,
    prephasing: Annotated[float, typer.Option(help="Prephasing per cycle (fraction).")] = 0.001,
    decay: Annotated[float, typer.Option(help="Signal decay per cycle (fraction).")] = 0.005,
    noise: Annotated[bool, typer.Option(help="Shot and read noise.")] = True,
    read_noise: Annotated[float, typer.Option(help="Camera read noise, e- rms.")] = 1.6,
    drift: Annotated[float, typer.Option(help="Stage repositioning jitter, px rms.")] = 0.3,
    reference: Annotated[Path | None, typer.Option(
        help="Reference FASTA (default: bundled PhiX174).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    preset: Annotated[str | None, typer.Option(
        help="Simulator preset (gentle, miseq-v3, novaseq-x, prototype): its instrument "
             "model; --tiles, --tile-size, --cycles and --seed still apply and the other "
             "options are ignored.")] = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Simulate TIFF images (images/tile_TTTT/cycle_CCC.tif) plus truth/ and simulation.json.

    Tiles run in parallel (one worker process per core, or a Dask cluster); each depends only
    on the seed and its tile number. A re-run skips the tiles already complete."""
    try:
        config = SimConfig.preset(
            preset, seed=seed, tile_width_px=tile_size, tile_height_px=tile_size,
            read_length=cycles, **({} if reference is None else {"reference": reference})
        ) if preset is not None else SimConfig(
            seed=seed, tile_width_px=tile_size, tile_height_px=tile_size, layout=layout,
            density_per_mm2=density, occupancy=occupancy, chemistry=chemistry,
            read_length=cycles, phasing=phasing, prephasing=prephasing, decay_per_cycle=decay,
            shot_noise=noise, read_noise_e=read_noise if noise else 0.0, drift_jitter_px=drift,
            reference=reference)
        tile_numbers = [1101 + i for i in range(tiles)]
        check_run_request(config, tile_numbers, cycles)
        out = out.resolve()  # absolute: workers may run elsewhere
        jobs = simulation_jobs(out, config, tile_numbers, cycles)
        run_tile_jobs(jobs, engine_options(workers, scheduler), "simulate")
        index = write_simulation_index(out, config, tile_numbers, cycles)
    except (SimulationError, JobError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {index}")
