"""Creating a run folder for a new run, or reopening one to resume it."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..recipe import Recipe, parse_recipe
from ..runfolder import (
    Journal,
    JournalState,
    RunFolder,
    RunFolderError,
    RunIdentity,
    remove_partials,
)
from ..runfolder.run_xml import run_id

DEFAULT_RUNS_DIR = Path("runs")


@dataclass
class Session:
    """A run folder with its journal, and what the journal's start record fixed."""

    folder: RunFolder
    journal: Journal
    start: dict[str, Any]
    completed_cycles: int = 0

    @property
    def seed(self) -> int:
        return int(self.start["seed"])

    @property
    def sim(self) -> bool:
        return bool(self.start["sim"])


def recipe_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def new_session(recipe: Recipe, recipe_text: str, out: Path | None, *, seed: int, sim: bool,
                keep_images: bool, run_number: int, today: dt.date | None = None,
                **options: Any) -> Session:
    """Create the run folder (RunInfo.xml, RunParameters.xml, recipe.toml, journal start)."""
    date = (today or dt.date.today()).strftime("%y%m%d")
    rid = run_id(date, recipe.run.instrument, run_number, recipe.run.flowcell_id)
    if out is None:
        root = DEFAULT_RUNS_DIR / rid
        suffix = 2
        while root.exists():
            root = DEFAULT_RUNS_DIR / f"{rid}-{suffix}"
            suffix += 1
    else:
        root = out
        if root.exists() and any(root.iterdir()):
            raise RunFolderError(f"{root}: exists and is not empty (use --resume {root} to "
                                 "continue a stopped run, or choose another --out)")
    root.mkdir(parents=True, exist_ok=True)
    folder = RunFolder(root, recipe, RunIdentity(rid, run_number, date))
    folder.write_static(recipe_text, __version__)
    journal = Journal(folder.layout.journal)
    start = {"run_id": rid, "run_number": run_number, "date_yymmdd": date, "seed": seed,
             "sim": sim, "keep_images": keep_images, "recipe_sha256": recipe_digest(recipe_text),
             "software_version": __version__, **options}
    journal.append("start", **start)
    return Session(folder, journal, {"event": "start", **start})


def resume_session(root: Path) -> Session:
    """Reopen a stopped run: check its journal and recipe, drop half-written temporaries."""
    folder = RunFolder.open(root)
    journal = Journal(folder.layout.journal)
    state: JournalState = journal.read()
    if state.finished:
        raise RunFolderError(f"{root}: this run already finished; nothing to resume")
    text = folder.layout.recipe.read_text("utf-8")
    if recipe_digest(text) != state.start.get("recipe_sha256"):
        raise RunFolderError(f"{folder.layout.recipe}: changed since the run started")
    parse_recipe(text, str(folder.layout.recipe))
    remove_partials(root)
    return Session(folder, journal, state.start, state.completed_cycles)
