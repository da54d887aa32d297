"""`opensbs simulate`: write simulated flow-cell images and their ground truth."""

from pathlib import Path
from typing import Annotated

import typer

from ..jobs import JobError, run_tile_jobs
from ..recipe import default_recipe_text, parse_recipe
from ..sim import Chemistry, SimConfig, SimulationError
from ..sim.jobs import simulation_jobs
from ..sim.layout import check_run_request, write_simulation_index
from ..sim.presets import GENTLE
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
    layout: Annotated[str | None, typer.Option(
        help="'random' (Poisson) or 'patterned' (hex). (default: the preset's; "
             "gentle: random)")] = None,
    density: Annotated[float | None, typer.Option(
        help="Clusters per mm² (random layout). (default: the preset's; gentle: 600000)")] = None,
    occupancy: Annotated[float | None, typer.Option(
        help="Well occupancy (patterned). (default: the preset's; gentle: 0.75)")] = None,
    chemistry: Annotated[Chemistry | None, typer.Option(
        help="Dye chemistry. (default: the preset's; gentle: four-colour)")] = None,
    phasing: Annotated[float | None, typer.Option(
        help="Phasing per cycle (fraction). (default: the preset's; gentle: 0.001)")] = None,
    prephasing: Annotated[float | None, typer.Option(
        help="Prephasing per cycle (fraction). (default: the preset's; gentle: 0.001)")] = None,
    decay: Annotated[float | None, typer.Option(
        help="Signal decay per cycle (fraction). (default: the preset's; gentle: 0.005)")] = None,
    noise: Annotated[bool, typer.Option(
        help="Shot and read noise (--no-noise: none, whatever the preset).")] = True,
    read_noise: Annotated[float | None, typer.Option(
        help="Camera read noise, e- rms. (default: the preset's; gentle: 1.6)")] = None,
    drift: Annotated[float | None, typer.Option(
        help="Stage repositioning jitter, px rms. (default: the preset's; gentle: 0.3)")] = None,
    reference: Annotated[Path | None, typer.Option(
        help="Reference FASTA (default: bundled PhiX174).")] = None,
    seed: Annotated[int, typer.Option(help="Random seed.")] = 0,
    preset: Annotated[str | None, typer.Option(
        help="Simulator preset (gentle, miseq-v3, novaseq-x, prototype; default gentle): "
             "its instrument model; the options given explicitly override it.")] = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Simulate TIFF images (images/tile_TTTT/cycle_CCC.tif) plus truth/ and simulation.json.

    Tiles run in parallel (one worker process per core, or a Dask cluster); each depends only
    on the seed and its tile number. A re-run skips the tiles already complete."""
    try:
        physics = {"layout": layout, "density_per_mm2": density, "occupancy": occupancy,
                   "chemistry": chemistry, "phasing": phasing, "prephasing": prephasing,
                   "decay_per_cycle": decay, "read_noise_e": read_noise,
                   "drift_jitter_px": drift, "reference": reference}
        given = {name: value for name, value in physics.items() if value is not None}
        if not noise:
            given.update(shot_noise=False, read_noise_e=0.0)
        config = SimConfig.preset(preset or GENTLE, seed=seed, tile_width_px=tile_size,
                                  tile_height_px=tile_size, read_length=cycles, **given)
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
