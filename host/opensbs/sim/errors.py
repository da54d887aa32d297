"""Typed errors of the flow-cell simulator."""


class SimulationError(Exception):
    """Base class of every simulator error."""


class SimConfigError(SimulationError, ValueError):
    """A simulation parameter is out of range or inconsistent; the message names it."""


class FastaError(SimulationError, ValueError):
    """The reference FASTA is missing, empty or holds characters other than A/C/G/T/N."""


class SimLayoutError(SimulationError, ValueError):
    """A simulated image folder is missing files or holds files that do not match its index."""


class CycleLimitError(SimulationError):
    """More cycles were requested than the configured read length."""
