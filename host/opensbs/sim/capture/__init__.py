"""Capture path of the FPGA camera bridge: the bit-exact reference model (see ``model``)."""

from .model import CaptureModel

__all__ = ["CaptureModel"]
