"""`opensbs` command line: each module below registers its commands on the root app."""

from . import devices  # noqa: F401  (opensbs devices)
from ._app import app


def main() -> None:
    app()
