"""OpenSBS: open software stack for a benchtop sequencing-by-synthesis instrument."""

__version__ = "0.1.0"
