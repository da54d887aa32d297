"""Where the firmware sources and board files live, and importing the firmware under CPython.

Both ship inside the package (``opensbs/_bundled``; links to ``firmware/`` and ``boards/`` in
the source tree), so an installed wheel finds them as a source checkout does.
"""

import importlib
import sys
from pathlib import Path
from types import ModuleType

from .. import _bundled

BUNDLED_DIR = Path(_bundled.__file__).parent
FIRMWARE_DIR = BUNDLED_DIR / "firmware"
BOARDS_DIR = BUNDLED_DIR / "boards"
PACKAGE = "opensbs_fw"


def firmware_sources() -> list[Path]:
    """Every firmware source file (package modules and the board's main.py), sorted."""
    files = sorted((FIRMWARE_DIR / PACKAGE).glob("*.py"))
    return files + [FIRMWARE_DIR / "main.py"]


def import_firmware(module: str) -> ModuleType:
    """Import ``opensbs_fw.<module>`` from the bundled firmware (the code the board runs)."""
    if str(FIRMWARE_DIR) not in sys.path:
        sys.path.append(str(FIRMWARE_DIR))
    return importlib.import_module(f"{PACKAGE}.{module}")


def firmware_version() -> tuple[int, int, int]:
    """FW_VERSION as declared in the firmware package."""
    version: tuple[int, int, int] = import_firmware("__init__").FW_VERSION
    return version
