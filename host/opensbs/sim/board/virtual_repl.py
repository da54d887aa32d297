"""A virtual MicroPython board for flashing tests: the real MicroPython (WebAssembly port,
under Node) with its raw REPL behind a pseudo-terminal, so ``mpremote connect <pty>`` and
``opensbs board flash --port <pty>`` talk to it exactly as to a board's serial port.

    with VirtualReplBoard() as vboard:
        subprocess.run(["mpremote", "connect", vboard.port, "fs", "ls"])

The board's filesystem is the interpreter's in-memory VFS; ``read_file`` reads it back
through the raw REPL. Not a control-link device: the firmware's asyncio tasks need the
``machine`` module, which this port lacks.
"""

import os
import shutil
import subprocess
import threading
import tty
from types import TracebackType

from ...board.firmware import FIRMWARE_DIR

# a test tool of the source tree: the WebAssembly port lives next to the firmware there
RUNNER = FIRMWARE_DIR.resolve().parent / "tools" / "micropython" / "mp.mjs"


class VirtualReplError(RuntimeError):
    """Node or the MicroPython WebAssembly package is missing, or the REPL did not start."""


class VirtualReplBoard:
    def __init__(self, node: str | None = None) -> None:
        self.node = node or shutil.which("node") or ""
        if not self.node:
            raise VirtualReplError("node is not on PATH")
        if not (RUNNER.parent / "node_modules" / "@micropython").exists():
            raise VirtualReplError(
                f"run `npm ci` in {RUNNER.parent} (scripts/install-test-deps.sh)")
        self._master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.port = os.ttyname(self._slave)
        self._proc = subprocess.Popen([self.node, str(RUNNER), "repl"], cwd=RUNNER.parent,
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._threads = [threading.Thread(target=self._to_board, daemon=True),
                         threading.Thread(target=self._from_board, daemon=True)]
        for thread in self._threads:
            thread.start()

    def _to_board(self) -> None:
        stdin = self._proc.stdin
        assert stdin is not None
        while True:
            try:
                data = os.read(self._master, 4096)
            except OSError:
                return
            if not data:
                return
            try:
                stdin.write(data)
                stdin.flush()
            except (BrokenPipeError, ValueError):
                return

    def _from_board(self) -> None:
        stdout = self._proc.stdout
        assert stdout is not None
        fd = stdout.fileno()
        while True:
            data = os.read(fd, 4096)
            if not data:
                return
            try:
                os.write(self._master, data)
            except OSError:
                return

    def close(self) -> None:
        self._proc.kill()
        self._proc.wait(timeout=10)
        for fd in (self._master, self._slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> "VirtualReplBoard":
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
