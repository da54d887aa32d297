"""CIF and FASTQ files byte for byte (formats.md), and typed errors on bad files."""

import gzip
import struct

import numpy as np
import pytest
from opensbs.basecall.cif import decode_cif, encode_cif, read_cif, write_cif
from opensbs.basecall.errors import CifFormatError, ShapeError
from opensbs.basecall.fastq import ReadNaming, fastq_records, read_name_coordinate, write_fastq


def test_cif_bytes_exact() -> None:
    # 2 clusters, 1 cycle: values ordered cycle, channel (A, C, G, T), cluster fastest
    values = np.array([[[1.4, -2.0, 300.0, 4.0]], [[5.0, 6.6, -7.0, 8.0]]])
    data = encode_cif(values, first_cycle=3)
    expected = b"CIF" + bytes([1, 2]) + struct.pack("<HHI", 3, 1, 2) + struct.pack(
        "<8h", 1, 5, -2, 7, 300, -7, 4, 8)
    assert data == expected
    decoded = decode_cif(data)
    assert decoded.first_cycle == 3
    np.testing.assert_array_equal(decoded.intensities, np.rint(values))


@pytest.mark.parametrize("size", [1, 2, 4])
def test_cif_round_trip(tmp_path, size: int) -> None:
    rng = np.random.default_rng(0)
    values = rng.integers(-100, 100, size=(7, 3, 4))
    path = tmp_path / "s_1_1101.cif"
    write_cif(path, values, first_cycle=1, data_size=size)
    assert path.stat().st_size == 13 + size * 7 * 3 * 4
    assert path.read_bytes()[4] == size
    np.testing.assert_array_equal(read_cif(path).intensities, values)
    assert encode_cif(read_cif(path).intensities, 1, size) == path.read_bytes()


def test_cif_auto_size_and_range() -> None:
    assert encode_cif(np.full((1, 1, 4), 100.0))[4] == 1
    assert encode_cif(np.full((1, 1, 4), 40000.0))[4] == 4
    with pytest.raises(CifFormatError):
        encode_cif(np.full((1, 1, 4), 40000.0), data_size=2)
    with pytest.raises(ShapeError):
        encode_cif(np.zeros((2, 3, 2)))


def test_cif_bad_bytes_raise() -> None:
    good = encode_cif(np.ones((3, 2, 4)))
    with pytest.raises(CifFormatError, match="length"):
        decode_cif(good[:-1])
    with pytest.raises(CifFormatError, match="header"):
        decode_cif(good[:5])
    with pytest.raises(CifFormatError, match="magic"):
        decode_cif(b"CIX" + good[3:])
    with pytest.raises(CifFormatError, match="version"):
        decode_cif(good[:3] + b"\x02" + good[4:])
    with pytest.raises(CifFormatError, match="data size"):
        decode_cif(good[:4] + b"\x03" + good[5:])


def test_fastq_names_and_qualities(tmp_path) -> None:
    bases = np.array([[0, 1, 2, 3, 4], [3, 3, 3, 3, 3]], dtype=np.uint8)
    quals = np.array([[40, 30, 20, 10, 2], [37, 37, 37, 37, 37]], dtype=np.uint8)
    positions = np.array([[12.34, 56.78], [0.0, 2047.96]])
    pf = np.array([True, False])
    naming = ReadNaming("M00001", 7, "000000000-ABCDE", 1, 1, 0, "")
    text = fastq_records(bases, quals, positions, pf, 1101, naming, include_filtered=True)
    assert text == (b"@M00001:7:000000000-ABCDE:1:1101:1123:1568 1:N:0:\nACGTN\n+\nI?5+#\n"
                    b"@M00001:7:000000000-ABCDE:1:1101:1000:21480 1:Y:0:\nTTTTT\n+\nFFFFF\n")
    path = tmp_path / "reads.fastq.gz"
    assert write_fastq(path, bases, quals, positions, pf, 1101, naming) == 1
    assert gzip.decompress(path.read_bytes()) == text[: text.index(b"@M00001", 1)]
    # 0.05f * 10 is 0.5f exactly in float32: Picard's Math.round rounds the half up
    assert read_name_coordinate(np.array([0.05, -0.04])).tolist() == [1001, 1000]


def test_fastq_rejects_mismatched_arrays() -> None:
    with pytest.raises(ShapeError):
        fastq_records(np.zeros((2, 3), np.uint8), np.zeros((2, 4), np.uint8), np.zeros((2, 2)),
                      np.ones(2, bool), 1, ReadNaming())
