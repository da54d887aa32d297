"""Checksums used on the wire.

CRC16-CCITT (poly 0x1021, init 0xFFFF, no reflection, no final xor; "CCITT-FALSE")
guards control-link frames; CRC-32 (IEEE 802.3, as zlib) guards image-link packets.
"""

import binascii
import zlib

CRC16_INIT = 0xFFFF


def crc16_ccitt(data: bytes | bytearray | memoryview, crc: int = CRC16_INIT) -> int:
    """CRC16-CCITT-FALSE of ``data``; check value for b"123456789" is 0x29B1."""
    return binascii.crc_hqx(data, crc)


def crc32(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-32/IEEE of ``data`` (zlib); check value for b"123456789" is 0xCBF43926."""
    return zlib.crc32(data, crc)
