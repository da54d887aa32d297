"""Virtual USB devices served to pyusb in-process (tests and `--sim`).

    bus = VirtualUsbBus()
    bus.attach(SimBoardDevice(SimBoard("pico")), faults=FaultInjector(out=FaultRates(drop=0.01)))
    client = open_controller(backend=bus.backend)

The devices behind it are the real ones: the firmware core (``opensbs.sim.board``) and the
capture model (``CameraBridge``, ``opensbs.sim.camera``).
"""

from .backend import Attachment, VirtualBackend, VirtualUsbBus
from .camera_bridge import CameraBridge
from .device import VirtualDevice
from .faults import FaultInjector, FaultKind, FaultRates

__all__ = [
    "Attachment",
    "CameraBridge",
    "FaultInjector",
    "FaultKind",
    "FaultRates",
    "VirtualBackend",
    "VirtualDevice",
    "VirtualUsbBus",
]
