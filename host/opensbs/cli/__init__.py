"""`opensbs` command line: each module below registers its commands on the root app."""

from . import bench  # noqa: F401  (opensbs bench link)
from . import devices  # noqa: F401  (opensbs devices)
from . import simulate  # noqa: F401  (opensbs simulate)
from . import report  # noqa: F401  (opensbs report)
from . import run  # noqa: F401  (opensbs run)
from . import basecall  # noqa: F401  (opensbs basecall, basecall-intensities, ...)
from ._app import app


def main() -> None:
    app()
