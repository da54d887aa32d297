"""Alignment of reads to a control genome: truth-free error rates and quality calibration."""

from .phix import AlignmentError, AlignmentTally, ControlAligner

__all__ = ["AlignmentError", "AlignmentTally", "ControlAligner"]
