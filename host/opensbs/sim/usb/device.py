"""The contract between the virtual pyusb backend and whatever simulates a device behind it."""

from abc import ABC, abstractmethod

from ...usb.ids import BULK_IN_ENDPOINT, BULK_OUT_ENDPOINT


class VirtualDevice(ABC):
    """One simulated USB device with one vendor interface: bulk OUT 0x01 and bulk IN 0x81.

    The backend calls ``handle_out`` for every host ``dev.write`` and ``next_in`` for every
    host ``dev.read``; subclasses are the camera bridge, the simulated controller
    board (``opensbs.sim.board.device``) and the simulated camera. Methods may be called from the
    host's reader threads, so implementations must be thread-safe.
    """

    out_endpoint = BULK_OUT_ENDPOINT
    in_endpoint = BULK_IN_ENDPOINT
    max_packet_bytes = 512

    def __init__(self, vendor_id: int, product_id: int, serial_number: str,
                 manufacturer: str = "OpenSBS", product: str = "OpenSBS device") -> None:
        self.vendor_id = vendor_id
        self.product_id = product_id
        self.serial_number = serial_number
        self.manufacturer = manufacturer
        self.product = product

    @abstractmethod
    def handle_out(self, endpoint: int, data: bytes) -> None:
        """The host wrote ``data`` to bulk OUT ``endpoint``."""

    @abstractmethod
    def next_in(self, endpoint: int, max_bytes: int, timeout_s: float) -> bytes:
        """Up to ``max_bytes`` for the host from bulk IN ``endpoint``; b"" after ``timeout_s``."""

    def read_into(self, endpoint: int, buffer: memoryview, timeout_s: float) -> int:
        """Fill the start of ``buffer`` for a host ``dev.read``; returns the byte count (0 on
        timeout). The default copies what ``next_in`` returns; a streaming device overrides it
        to copy straight from its own buffers."""
        data = self.next_in(endpoint, len(buffer), timeout_s)
        n = len(data)
        buffer[:n] = data
        return n

    def on_reset(self) -> None:  # noqa: B027 - optional hook
        """The host reset the device (``dev.reset()``)."""
