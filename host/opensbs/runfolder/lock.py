"""The run-folder lock: one `opensbs run` (or `--resume`) per run folder at a time.

An OS-level lock (`fcntl.flock`) on `.opensbs.lock` in the run folder, held for the whole run
and released by the OS when the process ends, however it ends (kill -9 included). The holder
writes its PID into the file so that a second run can say who holds it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from .errors import RunFolderError

LOCK_NAME = ".opensbs.lock"


class RunFolderLockedError(RunFolderError):
    """Another process holds the run folder's lock."""

    def __init__(self, root: Path, pid: int | None) -> None:
        who = f"process {pid}" if pid is not None else "another process"
        super().__init__(f"{root}: in use by {who} (another `opensbs run` on this folder); "
                         "wait for it to end, or stop it, then try again")
        self.pid = pid


def _holder_pid(fd: int) -> int | None:
    text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    return int(text) if text.isdigit() else None


class RunFolderLock:
    """Exclusive lock on a run folder (`with RunFolderLock(root):` or acquire/release)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)
        self.path = self.root / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> RunFolderLock:
        """Take the lock at once, or raise RunFolderLockedError naming the holder's PID."""
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RunFolderError(f"{self.path}: cannot create the run-folder lock: "
                                 f"{exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _holder_pid(fd)
            os.close(fd)
            raise RunFolderLockedError(self.root, pid) from None
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:
            pass  # a full disk: the lock holds all the same, without the PID
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> RunFolderLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
