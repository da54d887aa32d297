"""Virtual USB devices served to pyusb in-process (tests and `--sim`)."""

from .device import VirtualDevice

__all__ = ["VirtualDevice"]
