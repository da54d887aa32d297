"""Run numbers that increase per instrument, kept in the instrument's state directory.

`<state dir>/<instrument>/run_counter` holds the last number given out. Allocation reads,
increments and rewrites it (atomically) under an exclusive OS lock on a sibling lock file, so
two runs started at once get distinct numbers. The state directory is `$OPENSBS_STATE_DIR`,
else `$XDG_STATE_HOME/opensbs`, else `~/.local/state/opensbs`.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable
from pathlib import Path

from ..runfolder import RunFolderError
from ..runfolder.atomic import atomic_write_text

STATE_DIR_ENV = "OPENSBS_STATE_DIR"
COUNTER_NAME = "run_counter"
LOCK_SUFFIX = ".lock"


def default_state_dir() -> Path:
    """Where instruments' state lives unless told otherwise (see the module docstring)."""
    if os.environ.get(STATE_DIR_ENV):
        return Path(os.environ[STATE_DIR_ENV])
    xdg = os.environ.get("XDG_STATE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".local" / "state") / "opensbs"


def counter_path(instrument: str, state_dir: Path | None = None) -> Path:
    return (state_dir or default_state_dir()) / instrument / COUNTER_NAME


def _last_number(path: Path) -> int:
    try:
        text = path.read_text("ascii").strip()
    except FileNotFoundError:
        return 0
    except (OSError, UnicodeDecodeError) as exc:
        raise RunFolderError(f"{path}: cannot read the run counter: {exc}") from None
    if not text.isdigit():
        raise RunFolderError(f"{path}: run counter is {text[:20]!r}, not a whole number (fix "
                             "or remove it; the next run number is one more than it)")
    return int(text)


def allocate_run_number(instrument: str, state_dir: Path | None = None,
                        taken: Callable[[int], bool] = lambda number: False) -> int:
    """The next run number of `instrument` (1 for its first run), skipping numbers for which
    `taken` is true (e.g. a run folder of that name exists), and record it."""
    path = counter_path(instrument, state_dir)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = open(path.with_name(COUNTER_NAME + LOCK_SUFFIX), "ab")  # noqa: SIM115
    except OSError as exc:
        raise RunFolderError(f"{path.parent}: cannot keep the run counter here: "
                             f"{exc.strerror}") from None
    with lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        number = _last_number(path) + 1
        while taken(number):
            number += 1
        try:
            atomic_write_text(path, f"{number}\n")
        except OSError as exc:
            raise RunFolderError(f"{path}: cannot write the run counter: {exc.strerror}"
                                 ) from None
    return number
