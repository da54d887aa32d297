"""Checks made before a run folder is created: options, recipe against the instrument, space.

Whatever the board, the simulator or the disk would refuse later is refused here, so a bad run
leaves nothing behind: `check_request` (command-line options), `preflight` (the recipe against
the board file and the virtual instrument's physics under --sim, and free disk space for the
whole run with a margin). Every problem names the recipe file and line, the field and what is
allowed; all are reported at once.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from ..recipe import Recipe, RecipeError
from ..recipe.loader import key_lines, line_for
from ..runfolder import RunFolderError
from .board_fit import BoardLimits, Problem, describe, recipe_board_problems
from .instrument_factory import FaultSpecError, parse_link_faults, virtual_instrument_problems

if TYPE_CHECKING:
    from .runner import RunRequest

SIM_BOARD = "pico"  # the board file the virtual instrument runs
MAX_SEED = 2**32 - 1
MAX_SPEED = 1e6
SPACE_MARGIN = 1.25  # free space asked for: the estimate times this
PIXELS_PER_CLUSTER_MIN = 16  # densest flow cell budgeted for: one cluster per 4 x 4 px
RUN_LOG_BYTES_PER_S = 400  # telemetry and commands per second of instrument time
FIXED_BYTES = 4 << 20  # RunInfo, InterOp, report, logs of a short run


class InsufficientSpaceError(RunFolderError):
    """Not enough free disk space for the whole run."""


def check_request(request: RunRequest) -> None:
    """Refuse command-line options that cannot make a run (RunFolderError, one line)."""
    problems = []
    if request.speed is not None and not (
            math.isfinite(request.speed) and 0 < request.speed <= MAX_SPEED):
        problems.append(f"--speed {request.speed}: must be a number in (0, {MAX_SPEED:g}] "
                        "(virtual seconds per wall second)")
    if request.seed is not None and not 0 <= request.seed <= MAX_SEED:
        problems.append(f"--seed {request.seed}: must be in 0..{MAX_SEED}")
    if request.resume is not None:
        fixed = [name for name, given in (("--recipe", request.recipe is not None),
                                          ("--out", request.out is not None),
                                          ("--seed", request.seed is not None),
                                          ("--keep-images", request.keep_images),
                                          ("--preset", request.preset is not None)) if given]
        if fixed:
            problems.append(f"{request.resume}: {', '.join(fixed)} cannot change when "
                            "resuming; the run folder's journal fixes them")
    elif not request.sim:
        problems += [f"{name} applies to --sim runs only" for name, given in
                     (("--seed", request.seed is not None),
                      ("--speed", request.speed is not None),
                      ("--faults", request.faults is not None),
                      ("--preset", request.preset is not None)) if given]
    if request.faults is not None:
        try:
            parse_link_faults(request.faults)
        except FaultSpecError as exc:
            problems.append(f"{exc}")
    if problems:
        raise RunFolderError("; ".join(problems))


def _file_problems(recipe: Recipe) -> list[Problem]:
    """Files the recipe names (relative to the working directory) that cannot be read: the
    sample sheet (under --sim the library's reference FASTA too: virtual_instrument_problems)."""
    sheet = recipe.run.sample_sheet
    if sheet is not None and not Path(sheet).is_file():
        return [(("run", "sample_sheet"), "no such file")]
    return []


def estimate_run_bytes(recipe: Recipe, *, sim: bool, keep_images: bool) -> int:
    """Upper estimate of the bytes a whole run writes (BCLs, figures, FASTQ, truth, kept and
    resume images, logs)."""
    fc = recipe.flowcell
    cycles, tiles = recipe.total_cycles, fc.tiles
    pixels = fc.width_px * fc.height_px
    clusters = pixels // PIXELS_PER_CLUSTER_MIN
    per_cycle = tiles * (clusters + 4 + 4096)  # BCL + the caller's figures
    image_bytes = tiles * len(recipe.imaging.channels) * pixels * 2
    total = cycles * per_cycle + tiles * clusters * (2 * cycles + 80)  # + FASTQ, filter, locs
    total += cycles * image_bytes * (int(keep_images) + int(not sim))  # TIFFs, State/images
    if sim:
        total += tiles * clusters * (cycles + 24)  # Truth/
    total += cycles * recipe.chemistry_time_ms() // 1000 * RUN_LOG_BYTES_PER_S
    return total + FIXED_BYTES


def check_disk_space(out: Path | None, needed_bytes: int) -> None:
    """InsufficientSpaceError unless the file system of `out` has `needed_bytes` free."""
    target = out if out is not None else Path("runs")
    existing = next((p for p in (target, *target.absolute().parents) if p.exists()), Path("."))
    free = shutil.disk_usage(existing).free
    if free < needed_bytes:
        raise InsufficientSpaceError(
            f"{target}: the run needs about {needed_bytes / 1e9:.2f} GB (with a "
            f"{SPACE_MARGIN:g}x margin), {existing} has {free / 1e9:.2f} GB free")


def preflight(recipe: Recipe, text: str, source: str, *, sim: bool, keep_images: bool,
              out: Path | None) -> None:
    """Refuse, before anything is written, a recipe the instrument would refuse later, or a
    run the disk cannot hold (RecipeError naming file:line and field; InsufficientSpaceError)."""
    problems: list[Problem] = _file_problems(recipe)
    if sim:
        from ..board.schema import load_board

        limits = BoardLimits.from_board_file(load_board(SIM_BOARD).config)
        problems += recipe_board_problems(recipe, limits) + virtual_instrument_problems(recipe)
    if problems:
        lines = key_lines(text)
        raise RecipeError(source, [
            f"{source}:{line_for(path, lines) or '?'}: {describe((path, message), recipe)}"
            for path, message in problems])
    needed = round(estimate_run_bytes(recipe, sim=sim, keep_images=keep_images) * SPACE_MARGIN)
    check_disk_space(out, needed)
