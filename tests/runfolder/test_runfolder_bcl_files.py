"""BCL, filter, locs and FASTQ bytes exactly as formats.md lays them out."""

import gzip
import struct

import numpy as np
import pytest
from opensbs.basecall.fastq import ReadNaming, fastq_records, gzip_deterministic
from opensbs.runfolder import (
    RunFolderError,
    decode_bcl,
    decode_filter,
    decode_locs,
    encode_bcl,
    encode_filter,
    encode_locs,
)


def test_bcl_bytes_pack_quality_and_base_and_zero_for_no_call():
    data = encode_bcl(np.array([0, 1, 2, 3, 4]), np.array([30, 2, 40, 63, 0]))
    assert data == bytes.fromhex("05000000") + bytes([30 << 2, 2 << 2 | 1, 40 << 2 | 2, 255, 0])
    bases, quals = decode_bcl(data)
    assert bases.tolist() == [0, 1, 2, 3, 4]
    assert quals.tolist() == [30, 2, 40, 63, 2]  # N reads back with quality 2


def test_bcl_rejects_bad_codes_and_truncation():
    with pytest.raises(ValueError, match="qualities must be 2..63"):
        encode_bcl(np.array([0]), np.array([64]))
    with pytest.raises(ValueError, match="base codes must be 0..4"):
        encode_bcl(np.array([5]), np.array([30]))
    with pytest.raises(RunFolderError, match="header says 5 clusters, file holds 4"):
        decode_bcl(encode_bcl(np.zeros(5, np.uint8), np.full(5, 30))[:-1], "s_1_1101.bcl")


def test_filter_bytes():
    data = encode_filter(np.array([True, False, True]))
    assert data == struct.pack("<III", 0, 3, 3) + b"\x01\x00\x01"
    assert decode_filter(data).tolist() == [True, False, True]
    with pytest.raises(RunFolderError, match="version 3"):
        decode_filter(struct.pack("<III", 0, 2, 0))


def test_locs_bytes():
    xy = np.array([[1.5, 2.25], [100.0, 0.5]], dtype=np.float32)
    data = encode_locs(xy)
    assert data == struct.pack("<IfI", 1, 1.0, 2) + struct.pack("<4f", 1.5, 2.25, 100.0, 0.5)
    np.testing.assert_array_equal(decode_locs(data), xy)
    with pytest.raises(RunFolderError, match="bad header"):
        decode_locs(b"\x00" * 12)


def test_fastq_names_use_locs_coordinates_and_only_pf_clusters():
    naming = ReadNaming("OPENSBS1", 7, "FC1", 1, read=1)
    xy = np.array([[12.34, 5.06], [1.0, 1.0], [0.0, 99.95]])
    bases = np.array([[0, 1, 4], [3, 3, 3], [2, 2, 1]], dtype=np.uint8)
    quals = np.array([[30, 40, 2], [2, 2, 2], [11, 12, 13]], dtype=np.uint8)
    text = fastq_records(bases, quals, xy, np.array([True, False, True]), 1101, naming)
    assert text.decode() == (
        "@OPENSBS1:7:FC1:1:1101:1123:1051 1:N:0:\nACN\n+\n?I#\n"
        "@OPENSBS1:7:FC1:1:1101:1000:2000 1:N:0:\nGGC\n+\n,-.\n")
    packed = gzip_deterministic([text])
    assert packed == gzip_deterministic([text])  # no timestamp: reproducible bytes
    assert gzip.decompress(packed) == text
