"""`opensbs simulate`: write simulated flow-cell images and their ground truth."""

from pathlib import Path
from typing import Annotated

import typer

from ..sim import Chemistry, Layout, SimConfig, SimulationError, write_simulated_run
from ._app import app


@app.command()
def simulate(
    out: Annotated[Path, typer.Option("--out", help="Output folder (created).")],
    tiles: Annotated[int, typer.Option(help="Number of tiles (numbered 1101, 1102, ...).")] = 1,
    tile_size: Annotated[int, typer.Option(help="Tile width and height in pixels.")] = 2048,
    cycles: Annotated[int, typer.Option(help="Cycles to image (= read length).")] = 50,
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
) -> None:
    """Simulate TIFF images (images/tile_TTTT/cycle_CCC.tif) plus truth/ and simulation.json."""
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
        index = write_simulated_run(
            out, config, tile_numbers, cycles,
            on_cycle=lambda t, c: typer.echo(f"tile {t} cycle {c}/{cycles}", err=True)
            if c == cycles or c % 10 == 0 else None)
    except SimulationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(f"wrote {index}")
