"""Shared helpers of the run tests: run-folder contents and the virtual instrument a run made."""

from pathlib import Path

import pytest

MICRO = Path(__file__).with_name("micro_recipe.toml")


def calls_bytes(root: Path) -> dict[str, bytes]:
    """Every BCL and FASTQ of a run folder, by relative path."""
    files = sorted(root.glob("Data/Intensities/BaseCalls/L001/C*.1/*.bcl"))
    files += sorted(root.glob("Fastq/*.fastq.gz"))
    return {str(p.relative_to(root)): p.read_bytes() for p in files}


@pytest.fixture
def instruments(monkeypatch) -> list:
    """The VirtualInstruments the runs of a test made, in order."""
    from opensbs.sim.instrument import VirtualInstrument

    made: list[VirtualInstrument] = []
    original = VirtualInstrument.from_recipe.__func__  # type: ignore[attr-defined]

    def capture(cls, *args, **kwargs):
        made.append(original(cls, *args, **kwargs))
        return made[-1]

    monkeypatch.setattr(VirtualInstrument, "from_recipe", classmethod(capture))
    return made


@pytest.fixture(scope="session")
def micro_reference(tmp_path_factory) -> Path:
    """An uninterrupted micro run with seed 5."""
    from opensbs.run import RunRequest, start_run

    out = tmp_path_factory.mktemp("micro-ref") / "run"
    start_run(RunRequest(sim=True, recipe=MICRO, out=out, seed=5))
    return out


# `python -c GATED_CLI MARKER CYCLE opensbs-args...`: the opensbs CLI, whose run writes MARKER
# when it reaches cycle CYCLE and waits there until a stop is requested (a signal), so a test
# signals a run at a known point whatever the machine's load.
GATED_CLI = """
import sys
from pathlib import Path
from opensbs.run import controller
from opensbs.cli import main

marker, gate_cycle = Path(sys.argv[1]), int(sys.argv[2])
del sys.argv[1:3]
run_steps = controller._run_steps

def gated(setup, cycle, worker, on_event):
    if cycle == gate_cycle:
        marker.write_text(str(cycle))
        setup.stop.wait(120)
    run_steps(setup, cycle, worker, on_event)

controller._run_steps = gated
sys.argv[0] = "opensbs"
main()
"""


def gated_opensbs(marker: Path, cycle: int, *args: str) -> list[str]:
    import sys

    return [sys.executable, "-c", GATED_CLI, str(marker), str(cycle), *args]


def wait_for(condition, proc) -> None:
    """Wait until `condition()` holds, failing if `proc` ends first."""
    import time

    while not condition():
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.02)
