"""`opensbs` command line: each module below registers its commands on the root app."""

from . import (
    basecall,  # noqa: F401  (opensbs basecall, basecall-intensities, ...)
    bench,  # noqa: F401  (opensbs bench link)
    board,  # noqa: F401  (opensbs board flash|status|heat|pump|valve|trigger)
    demux,  # noqa: F401  (opensbs demux)
    devices,  # noqa: F401  (opensbs devices)
    report,  # noqa: F401  (opensbs report)
    run,  # noqa: F401  (opensbs run)
    simulate,  # noqa: F401  (opensbs simulate)
)
from ._app import app


def main() -> None:
    app()
