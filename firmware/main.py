"""Board entry point: start the OpenSBS controller firmware."""

import micropython

micropython.kbd_intr(-1)  # a host's binary frames (0x03 bytes) must not interrupt the boot

from opensbs_fw import app  # noqa: E402

app.main()
