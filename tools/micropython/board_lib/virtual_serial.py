# The virtual board's CDC serial port, bridged to the pty by tools/micropython/mp.mjs.
import binascii

import js_board


def read():
    """Pending bytes (b"" when none); None when the host asked for the REPL back."""
    data = js_board.read()
    if data is None:
        return None
    return binascii.unhexlify(data)


def write(data):
    js_board.write(binascii.hexlify(data).decode())
