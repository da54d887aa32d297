"""Checksums used on the wire.

CRC16-CCITT (poly 0x1021, init 0xFFFF, no reflection, no final xor; "CCITT-FALSE")
guards control-link frames; CRC-32 (IEEE 802.3, as zlib) guards image-link packets and is
computed with ISA-L when the ``isal`` package is installed (it is a dependency).
"""

import binascii
import zlib
from collections.abc import Callable

_crc32: Callable[[bytes | bytearray | memoryview, int], int]
try:  # ISA-L's CRC-32 (PCLMULQDQ) runs ~3x faster than zlib's; same results
    from isal.isal_zlib import crc32 as _crc32
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    _crc32 = zlib.crc32

CRC16_INIT = 0xFFFF


def crc16_ccitt(data: bytes | bytearray | memoryview, crc: int = CRC16_INIT) -> int:
    """CRC16-CCITT-FALSE of ``data``; check value for b"123456789" is 0x29B1."""
    return binascii.crc_hqx(data, crc)


def crc32(data: bytes | bytearray | memoryview, crc: int = 0) -> int:
    """CRC-32/IEEE of ``data`` (as zlib); check value for b"123456789" is 0xCBF43926."""
    return _crc32(data, crc)


def _gf2_times(matrix: list[int], vector: int) -> int:
    total, i = 0, 0
    while vector:
        if vector & 1:
            total ^= matrix[i]
        vector >>= 1
        i += 1
    return total


def _gf2_compose(a: list[int], b: list[int]) -> list[int]:
    """The operator ``a`` after ``b``."""
    return [_gf2_times(a, column) for column in b]


def crc32_shift_operator(length: int) -> list[int]:
    """The GF(2) operator that advances a CRC-32 over ``length`` zero bytes (zlib's method)."""
    one_bit = [0xEDB88320] + [1 << n for n in range(31)]
    step = _gf2_compose(one_bit, one_bit)  # 2 bits
    step = _gf2_compose(step, step)  # 4 bits
    step = _gf2_compose(step, step)  # 8 bits: one byte
    result = [1 << n for n in range(32)]
    while length:
        if length & 1:
            result = _gf2_compose(step, result)
        length >>= 1
        if length:
            step = _gf2_compose(step, step)
    return result


def crc32_combine(crc_a: int, crc_b: int, shift_b: list[int]) -> int:
    """CRC-32 of A+B from crc32(A), crc32(B) and ``crc32_shift_operator(len(B))``.

    Lets a frame source stamp a new header on a payload whose CRC it already knows
    without another pass over the payload.
    """
    return _gf2_times(shift_b, crc_a) ^ crc_b
