"""Production apart from simulation: no production module imports the simulation packages.

The simulator, the plant models and the virtual devices live in `opensbs.sim`, the calibration
and evaluation tools (which run the simulator) in `opensbs.calibration`. Production code reaches
them only through the instrument factory (`opensbs.run.instrument_factory`); the CLI commands
about simulation (`opensbs simulate`, `--sim` options) may import them too.
"""

import ast
from pathlib import Path

import opensbs

PACKAGE_DIR = Path(opensbs.__file__).parent
PRODUCTION = ("align", "basecall", "board", "jobs", "protocol", "recipe", "report", "run",
              "runfolder", "usb")
SIMULATION = ("opensbs.sim", "opensbs.calibration")
FACTORY = "opensbs.run.instrument_factory"


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports (relative imports resolved), wherever the import sits."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def is_simulation(module: str) -> bool:
    return any(module == sim or module.startswith(sim + ".") for sim in SIMULATION)


def production_modules() -> list[Path]:
    return sorted(p for package in PRODUCTION for p in (PACKAGE_DIR / package).rglob("*.py"))


def test_the_checker_sees_relative_and_lazy_imports() -> None:
    factory = PACKAGE_DIR / "run" / "instrument_factory.py"
    assert "opensbs.sim.instrument" in imported_modules(factory)  # lazy, inside a function
    assert "opensbs.sim.usb.faults" in imported_modules(factory)  # relative, two levels up
    assert is_simulation("opensbs.sim.board.plant") and not is_simulation("opensbs.simple")


def test_production_modules_do_not_import_simulation() -> None:
    modules = [p for p in production_modules() if module_name(p) != FACTORY]
    assert len(modules) > 80  # the whole production code, not an empty glob
    offending = {module_name(p): sorted(m for m in imported_modules(p) if is_simulation(m))
                 for p in modules}
    offending = {name: found for name, found in offending.items() if found}
    assert not offending, (f"production modules import the simulation: {offending}; they "
                           f"reach it only through {FACTORY}")
