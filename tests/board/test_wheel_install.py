"""The package installs anywhere: a wheel built from the tree, installed in a clean venv (no
system site-packages, dependencies from the package index pip already uses), runs
`opensbs --help`, a tiny `opensbs run --sim` and flashes the virtual REPL board, from outside
the source tree."""

import json
import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
from opensbs.board.firmware import firmware_version
from opensbs.sim.board.virtual_repl import VirtualReplBoard

REPO = Path(__file__).resolve().parents[2]


def _run(args: list[str], cwd: Path, timeout_s: float) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=timeout_s,
                          env=env)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """bin/ of a clean venv with the wheel of this tree installed."""
    root = tmp_path_factory.mktemp("wheel")
    built = _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w",
                  str(root / "dist"), str(REPO)], root, 600)
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = list((root / "dist").glob("opensbs-*.whl"))
    assert len(wheels) == 1
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(root / "venv")
    bin_dir = root / "venv" / "bin"
    got = _run([str(bin_dir / "python"), "-m", "pip", "install", "-q", "--no-compile",
                str(wheels[0])],
               root, 900)
    assert got.returncode == 0, got.stderr[-3000:]
    return bin_dir


@pytest.mark.slow
def test_wheel_carries_the_firmware_and_runs_the_cli(installed: Path, tmp_path: Path) -> None:
    help_text = _run([str(installed / "opensbs"), "--help"], tmp_path, 120)
    assert help_text.returncode == 0, help_text.stderr
    assert "board" in help_text.stdout and "run" in help_text.stdout
    where = _run([str(installed / "python"), "-c",
                  "from opensbs.board.firmware import FIRMWARE_DIR, BOARDS_DIR, firmware_sources;"
                  "print(FIRMWARE_DIR); print(len(firmware_sources()));"
                  "print(sorted(p.name for p in BOARDS_DIR.glob('*.json')))"], tmp_path, 120)
    assert where.returncode == 0, where.stderr
    lines = where.stdout.splitlines()
    assert lines[0].startswith(str(installed.parent)) and "site-packages" in lines[0]
    assert int(lines[1]) >= 15
    assert lines[2] == "['nucleo_f411re.json', 'pico.json']"


@pytest.mark.slow
def test_installed_wheel_flashes_the_virtual_board(installed: Path, tmp_path: Path) -> None:
    with VirtualReplBoard() as vboard:
        flashed = _run([str(installed / "opensbs"), "board", "flash", "--board", "pico",
                        "--port", vboard.port, "--reset", "hard", "--identify", "serial"],
                       tmp_path, 300)
    assert flashed.returncode == 0, flashed.stdout + flashed.stderr
    major, minor, patch = firmware_version()
    assert f"identify: firmware {major}.{minor}.{patch}, board pico" in flashed.stdout


@pytest.mark.slow
def test_installed_wheel_runs_a_tiny_simulated_run(installed: Path, tmp_path: Path) -> None:
    recipe = REPO / "tests" / "run" / "tiny_recipe.toml"
    ran = _run([str(installed / "opensbs"), "run", "--sim", "--recipe", str(recipe), "--out",
                str(tmp_path / "run"), "--seed", "5", "--no-live"], tmp_path, 600)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["clusters"] > 0
    assert len(list((tmp_path / "run" / "Fastq").glob("*.fastq.gz"))) >= 1
