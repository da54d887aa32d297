"""Creating a run folder for a new run, or reopening one to resume it.

A new run's identity: the instrument's next run number (`run_number`), today's date and the
flow cell (the recipe's, or `--flowcell`); the folder is named by the RunInfo Id
`YYMMDD_INSTRUMENT_NNNN_FLOWCELL`. A resumed run keeps the identity its journal recorded.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..recipe import Recipe
from ..runfolder import (
    Journal,
    JournalState,
    RunFolder,
    RunFolderError,
    RunFolderLayout,
    RunFolderLock,
    RunIdentity,
    atomic_write_bytes,
    remove_partials,
)
from ..runfolder.completion import COMPLETION_FILES
from ..runfolder.lock import LOCK_NAME
from ..runfolder.run_xml import run_id
from .run_number import allocate_run_number

DEFAULT_RUNS_DIR = Path("runs")
FLOWCELL_PATTERN = re.compile(r"\w+", re.ASCII)
MAX_FLOWCELL_CHARS = 32


@dataclass
class Session:
    """A locked run folder with its journal, and what the journal's start record fixed."""

    folder: RunFolder
    journal: Journal
    start: dict[str, Any]
    lock: RunFolderLock
    completed_cycles: int = 0  # cycles whose calls are on disk
    imaged_cycles: int = 0  # cycles whose images are stored (hardware runs)
    torn_tail_bytes: int = 0  # a torn last journal line dropped on reopening
    finished: bool = False  # finished, but stopped before writing its completion files

    @property
    def seed(self) -> int:
        return int(self.start["seed"])

    @property
    def sim(self) -> bool:
        return bool(self.start["sim"])

    def close(self) -> None:
        """Release the run-folder lock."""
        self.lock.release()


def recipe_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def check_flowcell_id(flowcell_id: str) -> None:
    """Refuse a --flowcell that cannot be part of a run id (RunFolderError, one line)."""
    if not (1 <= len(flowcell_id) <= MAX_FLOWCELL_CHARS and FLOWCELL_PATTERN.fullmatch(
            flowcell_id)):
        raise RunFolderError(f"--flowcell {flowcell_id!r}: must be 1 to {MAX_FLOWCELL_CHARS} "
                             "letters, digits or underscores")


def new_identity(recipe: Recipe, out: Path | None, *, flowcell_id: str | None = None,
                 run_number: int | None = None, state_dir: Path | None = None,
                 today: dt.date | None = None) -> RunIdentity:
    """The identity of a new run: `run_number` if given, else the instrument's next number
    (skipping numbers whose default run folder already exists when `out` is None)."""
    date = (today or dt.date.today()).strftime("%y%m%d")
    instrument = recipe.run.instrument
    flowcell = flowcell_id or recipe.run.flowcell_id
    if run_number is None:
        run_number = allocate_run_number(
            instrument, state_dir,
            taken=lambda n: out is None and (DEFAULT_RUNS_DIR / run_id(
                date, instrument, n, flowcell)).exists())
    return RunIdentity(run_id(date, instrument, run_number, flowcell), run_number, date,
                       flowcell)


def check_out(out: Path) -> None:
    """Refuse an --out that cannot become a new run folder (before anything is written)."""
    if out.exists() and not out.is_dir():
        raise RunFolderError(f"{out}: exists and is not a directory (--out names the run "
                             "folder to create)")
    if out.is_dir() and any(p.name != LOCK_NAME for p in out.iterdir()):
        if (out / LOCK_NAME).exists():
            RunFolderLock(out).acquire().release()  # names the run that holds it, if any
        raise RunFolderError(f"{out}: exists and is not empty (use --resume {out} to "
                             "continue a stopped run, or choose another --out)")
    parent = next((p for p in (out, *out.parents) if p.exists()), Path("."))
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise RunFolderError(f"{out}: cannot create the run folder here ({parent} is not a "
                             "writable directory)")


def _create_root(root: Path) -> bool:
    """Make the run folder's directory; True if it did not exist."""
    created = not root.exists()
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise RunFolderError(f"{root}: cannot create the run folder: {exc.strerror}") from None
    return created


def _undo_new_folder(root: Path, created: bool) -> None:
    """Leave an --out that was empty (or absent) as it was found."""
    if created:
        shutil.rmtree(root, ignore_errors=True)
        return
    for p in root.iterdir():
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def new_session(recipe: Recipe, recipe_text: str, out: Path | None, identity: RunIdentity, *,
                seed: int, sim: bool, keep_images: bool, **options: Any) -> Session:
    """Create and lock the run folder (RunInfo.xml, RunParameters.xml, recipe.toml, journal
    start). On failure nothing is left behind."""
    root = DEFAULT_RUNS_DIR / identity.run_id if out is None else out
    check_out(root)
    created = _create_root(root)
    lock = RunFolderLock(root).acquire()
    try:
        check_out(root)  # a run that took the lock first may have filled it meanwhile
    except RunFolderError:
        lock.release()
        raise
    try:
        folder = RunFolder(root, recipe, identity)
        folder.write_static(recipe_text, __version__)
        if recipe.run.sample_sheet is not None:
            atomic_write_bytes(folder.layout.sample_sheet,
                               Path(recipe.run.sample_sheet).read_bytes())
        journal = Journal(folder.layout.journal)
        start = {"run_id": identity.run_id, "run_number": identity.run_number,
                 "date_yymmdd": identity.date_yymmdd, "flowcell_id": identity.flowcell_id,
                 "seed": seed,
                 "sim": sim, "keep_images": keep_images,
                 "recipe_sha256": recipe_digest(recipe_text), "software_version": __version__,
                 **options}
        journal.create(**start)
    except BaseException as exc:
        _undo_new_folder(root, created)
        lock.release()
        if isinstance(exc, OSError):
            raise RunFolderError(f"{exc.filename or root}: cannot write the run folder: "
                                 f"{exc.strerror}") from None
        raise
    return Session(folder, journal, {"event": "start", **start}, lock)


def resume_session(root: Path) -> Session:
    """Lock and reopen a stopped run: check its journal and recipe, drop half-written
    temporaries. A finished run is reopened only if it stopped before its completion files."""
    layout = RunFolderLayout(root)
    if not root.is_dir() or not layout.journal.exists():
        raise RunFolderError(f"{root}: not an OpenSBS run folder (no journal.jsonl)")
    lock = RunFolderLock(root).acquire()
    try:
        folder = RunFolder.open(root)
        journal = Journal(folder.layout.journal)
        state: JournalState = journal.read()
        if state.finished and all((root / name).exists() for name in COMPLETION_FILES):
            raise RunFolderError(f"{root}: this run already finished; nothing to resume")
        text = folder.layout.recipe.read_text("utf-8")
        if recipe_digest(text) != state.start.get("recipe_sha256"):
            raise RunFolderError(f"{folder.layout.recipe}: changed since the run started")
        remove_partials(root)
    except BaseException:
        lock.release()
        raise
    return Session(folder, journal, state.start, lock, state.completed_cycles,
                   state.imaged_cycles, state.torn_tail_bytes, state.finished)
