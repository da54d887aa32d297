"""Table-driven CRC16-CCITT-FALSE (poly 0x1021, init 0xFFFF), as the control link uses."""

import binascii

CRC16_INIT = 0xFFFF


def _make_table() -> list:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return table


_TABLE = _make_table()


def crc16_ccitt(data, crc: int = CRC16_INIT) -> int:
    """CRC16-CCITT-FALSE of ``data`` (bytes-like); b"123456789" gives 0x29B1."""
    table = _TABLE
    for byte in data:
        crc = ((crc << 8) & 0xFF00) ^ table[((crc >> 8) ^ byte) & 0xFF]
    return crc


def crc32(data, crc: int = 0) -> int:
    """CRC-32/IEEE (as zlib) of ``data``; used once at boot to fingerprint the board file.
    binascii's C version where the port has it: the bitwise loop takes a second of an
    RP2040's boot for a 2 KB board file."""
    native = getattr(binascii, "crc32", None)
    if native is not None:
        return native(data, crc) & 0xFFFFFFFF
    crc ^= 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0xEDB88320 & -(crc & 1))
    return crc ^ 0xFFFFFFFF
