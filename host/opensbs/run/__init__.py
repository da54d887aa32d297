"""The run controller behind `opensbs run`.

Public API:
    start_run(RunRequest(sim=..., recipe=..., out=..., resume=..., keep_images=..., seed=...))
        -> RunOutcome(session, summary)      # NoHardwareError without devices and --sim
    RunStopped (Ctrl-C / failure after the safe stop; the folder resumes), RunProgress
    BoardDriver (recipe steps on the controller board), TriggeredImager (trigger + image link)
    LockstepPacer / WallPacer (instrument time: virtual lockstep or real)
"""

from .controller import RunStopped
from .instrument import BoardDriver, InstrumentError, LockstepPacer, WallPacer
from .progress import RunProgress
from .runner import NoHardwareError, RunOutcome, RunRequest, start_run

__all__ = ["BoardDriver", "InstrumentError", "LockstepPacer", "NoHardwareError", "RunOutcome",
           "RunProgress", "RunRequest", "RunStopped", "WallPacer", "start_run"]
