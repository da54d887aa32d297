"""A small run folder written from seeded synthetic calls, for the writer and report tests."""

from pathlib import Path

import numpy as np
from opensbs.recipe import default_recipe_text, parse_recipe
from opensbs.runfolder import (
    RunFolder,
    RunIdentity,
    RunLog,
    TileSummary,
    build_summary,
    cycle_tile_metrics,
)
from opensbs.runfolder.events import (
    CycleComplete,
    CycleImaged,
    CycleStart,
    FaultEvent,
    StepDone,
    TelemetrySample,
)


def synthetic_run(root: Path, seed: int = 3):
    """A small run folder with per-cycle calls drawn from a seeded error model."""
    text = default_recipe_text().replace("cycles = 50", "cycles = 8").replace(
        "[[reads]]\ncycles = 8\nindex = false",
        "[[reads]]\ncycles = 8\nindex = false\n\n[[reads]]\ncycles = 6\nindex = false")
    recipe = parse_recipe(text)
    folder = RunFolder(root, recipe, RunIdentity("261122_OPENSBS1_0001_OSBS0001", 1, "261122"))
    folder.write_static(text, "test")
    rng = np.random.default_rng(seed)
    tiles, metrics = [], []
    for k, tile in enumerate(recipe.flowcell.tile_numbers()):
        n = 400 + 150 * k
        passed = rng.random(n) < 0.85
        truth = rng.integers(0, 4, n)
        errors = np.zeros(n, np.int64)
        for cycle in range(1, recipe.total_cycles + 1):
            if cycle == recipe.reads[0].cycles + 1:
                errors[:] = 0  # errors count within each read
            wrong = rng.random(n) < 0.004 * cycle
            bases = np.where(wrong, (truth + 1) % 4, truth).astype(np.uint8)
            quals = np.clip(rng.normal(36 - cycle, 6, n), 2, 41).astype(np.uint8)
            inten = rng.gamma(2.0, 300.0, (n, 4))
            called = [inten[bases == b, b].mean() for b in range(4)]
            errors += wrong
            folder.write_bcl(cycle, tile, bases, quals)
            metrics.append(cycle_tile_metrics(
                lane=1, tile=tile, cycle=cycle, bases=bases, qualities=quals, passed=passed,
                mean_intensity=inten.mean(axis=0), p90_intensity=np.percentile(inten, 90, axis=0),
                called_intensity=called, fwhm_px=2.0 + rng.random(4) / 2, snr=3.0 + k + cycle / 10,
                timestamp=cycle, min_contrast=[90, 95, 100, 105],
                max_contrast=[3000 + 10 * cycle, 3100, 3200, 3300 + k],
                errors=wrong, scored=np.ones(n, bool), errors_so_far=errors))
        folder.write_filter(tile, passed)
        folder.write_locs(tile, rng.random((n, 2)) * 1000)
        tiles.append(TileSummary(1, tile, n, int(passed.sum()), 0.25,
                                 phasing=[0.001 + k / 1e4, 0.0012], prephasing=[0.002, 0.0009],
                                 aligned=[0.97 - k / 100, 0.95]))
    folder.write_interop(tiles, metrics)
    with RunLog(folder.layout.run_log) as log:
        for t_s in range(0, 60 * recipe.total_cycles, 10):  # 59.5 C at each thermal step's end
            log.write(TelemetrySample(float(t_s), 59500 + 100 * (t_s % 60 != 50), 60000))
        for cycle in range(1, recipe.total_cycles + 1):
            log.write(CycleStart(cycle, 60.0 * (cycle - 1)))
            log.write(StepDone(cycle, "fluidics", 30.0))
            log.write(StepDone(cycle, "thermal", 20.0, extra={"setpoint_mc": 60000}))
            log.write(CycleImaged(cycle, wall_elapsed_s=0.5 * cycle))
            log.write(CycleComplete(cycle, wall_elapsed_s=0.5 * cycle + 0.7))
        log.write(FaultEvent("OVER_TEMPERATURE zone 0 at 101000 mC", t_s=3.0))
    summary = build_summary([r.cycles for r in recipe.reads], tiles, metrics,
                            run_id=folder.identity.run_id, channel_names=recipe.channel_names)
    folder.write_summary(summary)
    return folder, summary
