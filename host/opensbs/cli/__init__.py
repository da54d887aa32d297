"""`opensbs` command line: each module below registers its commands on the root app."""

from . import devices  # noqa: F401  (opensbs devices)
from . import simulate  # noqa: F401  (opensbs simulate)
from . import report  # noqa: F401  (opensbs report)
from ._app import app


def main() -> None:
    app()
