"""Where the firmware sources live, and importing them under CPython for the simulator."""

import importlib
import sys
from pathlib import Path
from types import ModuleType

FIRMWARE_DIR = Path(__file__).resolve().parents[3] / "firmware"
PACKAGE = "opensbs_fw"
BOARDS_DIR = Path(__file__).resolve().parents[3] / "boards"


def firmware_sources() -> list[Path]:
    """Every firmware source file (package modules and the board's main.py), sorted."""
    files = sorted((FIRMWARE_DIR / PACKAGE).glob("*.py"))
    return files + [FIRMWARE_DIR / "main.py"]


def import_firmware(module: str) -> ModuleType:
    """Import ``opensbs_fw.<module>`` from the firmware tree (the same code the board runs)."""
    if str(FIRMWARE_DIR) not in sys.path:
        sys.path.append(str(FIRMWARE_DIR))
    return importlib.import_module(f"{PACKAGE}.{module}")


def firmware_version() -> tuple[int, int, int]:
    """FW_VERSION as declared in the firmware package."""
    version: tuple[int, int, int] = import_firmware("__init__").FW_VERSION
    return version
