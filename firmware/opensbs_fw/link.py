"""The control link's byte pipe on the board: USB vendor bulk or CDC serial.

``VendorBulkLink`` adds a vendor interface (class 0xFF, one bulk OUT and one bulk IN
endpoint) next to the built-in CDC REPL through ``machine.USBDevice`` and micropython-lib's
``usb-device`` package (RP2040; STM32 builds with TinyUSB). ``SerialLink`` uses the board's
REPL serial port (USB CDC or the ST-LINK UART) when runtime USB is missing; there the
``\\r\\x03`` that ``mpremote`` sends to enter the raw REPL stops the firmware.
Both expose ``read() -> bytes`` (b"" when idle) and ``write(data)``.
"""

import sys

RX_BYTES = 1024
TX_BYTES = 2048


class LinkClosed(Exception):
    """The host asked for the REPL back (mpremote's "\\r\\x03" on the serial link)."""


class VendorBulkLink:
    def __init__(self, vid: int, pid: int, serial: str, product: str) -> None:
        import usb.device  # noqa: PLC0415 - only on boards with runtime USB
        from usb.device.core import Buffer, Interface

        link = self

        class _Vendor(Interface):
            def desc_cfg(self, desc, itf_num, ep_num, strs):
                desc.interface(itf_num, 2, 0xFF, 0, 0)
                link.ep_out = ep_num
                link.ep_in = ep_num | 0x80
                desc.endpoint(link.ep_out, "bulk", 64, 0)
                desc.endpoint(link.ep_in, "bulk", 64, 0)

            def num_eps(self):
                return 1

            def on_open(self):
                super().on_open()
                link._rx_more()

        self.ep_out = 0
        self.ep_in = 0
        self._rx = Buffer(RX_BYTES)
        self._tx = Buffer(TX_BYTES)
        self.iface = _Vendor()
        usb.device.get().init(self.iface, builtin_driver=True, id_vendor=vid, id_product=pid,
                              manufacturer_str="OpenSBS", product_str=product,
                              serial_str=serial)

    def _rx_more(self) -> None:
        iface = self.iface
        if iface.is_open() and not iface.xfer_pending(self.ep_out) and self._rx.writable():
            iface.submit_xfer(self.ep_out, self._rx.pend_write(), self._rx_done)

    def _rx_done(self, ep, result, num_bytes) -> None:
        if result == 0:
            self._rx.finish_write(num_bytes)
        self._rx_more()

    def _tx_more(self) -> None:
        iface = self.iface
        if iface.is_open() and not iface.xfer_pending(self.ep_in) and self._tx.readable():
            iface.submit_xfer(self.ep_in, self._tx.pend_read(), self._tx_done)

    def _tx_done(self, ep, result, num_bytes) -> None:
        if result == 0:
            self._tx.finish_read(num_bytes)
        self._tx_more()

    def read(self) -> bytes:
        n = self._rx.readable()
        if not n:
            return b""
        data = bytes(self._rx.pend_read()[:n])
        self._rx.finish_read(n)
        self._rx_more()
        return data

    def write(self, data) -> None:
        """Queue ``data``; frames that do not fit while the host is away are dropped."""
        if self._tx.writable() >= len(data):
            self._tx.write(data)
            self._tx_more()


class SerialLink:
    """The REPL's serial port as the link; ``port`` is the virtual board's serial module
    (tools/micropython/board_lib), else stdin/stdout are used."""

    def __init__(self, port=None) -> None:
        import select  # noqa: PLC0415

        self._port = port
        self._in = sys.stdin.buffer
        self._out = sys.stdout.buffer
        self._poll = select.poll()
        self._poll.register(self._in, select.POLLIN)
        try:
            import micropython  # noqa: PLC0415

            micropython.kbd_intr(-1)  # 0x03 is ordinary payload on the binary link
        except (ImportError, AttributeError):
            pass

    def read(self) -> bytes:
        if self._port is not None:
            data = self._port.read()
            if data is None:
                raise LinkClosed
        else:
            buf = bytearray()
            while len(buf) < RX_BYTES and self._poll.poll(0):
                buf.extend(self._in.read(1))
                if buf == b"\r\x03":
                    break  # what follows (mpremote's "\r\x01") is the REPL's to read
            data = bytes(buf)
        if data[:2] == b"\r\x03":
            raise LinkClosed
        return data

    def write(self, data) -> None:
        if self._port is not None:
            self._port.write(data)
        else:
            self._out.write(data)


def open_link(cfg: dict, serial: str):
    """The board file's transport, falling back to serial where runtime USB is missing."""
    if cfg is not None and cfg["usb"]["transport"] == "vendor_bulk":
        try:
            usb = cfg["usb"]
            return VendorBulkLink(usb["vid"], usb["pid"], serial,
                                  "OpenSBS controller (" + cfg["board_id"] + ")")
        except ImportError:
            pass
    try:
        import virtual_serial  # noqa: PLC0415 - only on the virtual (WebAssembly) board

        return SerialLink(virtual_serial)
    except ImportError:
        return SerialLink()
