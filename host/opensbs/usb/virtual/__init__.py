"""Virtual USB devices served to pyusb in-process (tests and `--sim`).

    bus = VirtualUsbBus()
    bus.attach(LoopbackController("LB1"), faults=FaultInjector(out=FaultRates(drop=0.01)))
    client = open_controller(backend=bus.backend)
"""

from .backend import Attachment, VirtualBackend, VirtualUsbBus
from .camera_bridge import CameraBridge
from .device import VirtualDevice
from .faults import FaultInjector, FaultKind, FaultRates
from .loopback import LoopbackController

__all__ = [
    "Attachment",
    "CameraBridge",
    "FaultInjector",
    "FaultKind",
    "FaultRates",
    "LoopbackController",
    "VirtualBackend",
    "VirtualDevice",
    "VirtualUsbBus",
]
