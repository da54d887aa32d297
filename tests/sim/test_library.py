"""The simulated library: inserts, strands, adapters past short inserts, indexes, pool balance."""

import numpy as np
import pytest
from opensbs.recipe import parse_read_structure, read_structure
from opensbs.sim.chemistry import decode_sequences, encode_sequences
from opensbs.sim.library import (
    P7_AFTER_I7,
    LibraryConfig,
    LibraryError,
    PoolSample,
    draw_library,
    reverse_complement_codes,
)
from opensbs.sim.reference import bundled_phix_path, read_fasta

STRUCTURE = parse_read_structure("60T10B10B60T")
POOL = (PoolSample("S1", "ACGTACGT", "TTGGCCAA", 0.5), PoolSample("S2", "GGTTAACC", "CATGCATG",
                                                                  0.3))


def _genome() -> np.ndarray:
    return read_fasta(bundled_phix_path()).records[0]


def test_read_structure_round_trip_and_errors() -> None:
    reads = parse_read_structure("151T10B10B151T")
    assert [(r.cycles, r.index) for r in reads] == [(151, False), (10, True), (10, True),
                                                     (151, False)]
    assert read_structure(reads) == "151T10B10B151T"
    for bad in ("", "151", "151T10X", "T151"):
        with pytest.raises(ValueError, match="read structure"):
            parse_read_structure(bad)


def test_reads_are_the_insert_from_both_ends_on_opposite_strands() -> None:
    config = LibraryConfig(insert_mean_bp=300, insert_sd_bp=30, samples=POOL)
    lib = draw_library(config, 2000, STRUCTURE, np.random.default_rng(1))
    genome = _genome()
    long_enough = lib.insert_length >= 60
    assert long_enough.mean() > 0.99
    for i in np.flatnonzero(long_enough)[:200]:
        start, length = int(lib.insert_start[i]), int(lib.insert_length[i])
        forward = genome[start:start + length]
        fragment = reverse_complement_codes(forward) if lib.reverse[i] else forward
        assert np.array_equal(lib.reads[0][i], fragment[:60])
        assert np.array_equal(lib.reads[3][i], reverse_complement_codes(fragment)[:60])
    assert 0.45 < lib.reverse.mean() < 0.55
    assert abs(float(lib.insert_length.mean()) - 300) < 5


def test_short_insert_runs_into_the_adapter_then_the_index() -> None:
    config = LibraryConfig(insert_mean_bp=20, insert_sd_bp=0, samples=POOL)
    lib = draw_library(config, 50, STRUCTURE, np.random.default_rng(2))
    assert (lib.insert_length == 20).all()
    i = int(np.flatnonzero(lib.sample == 1)[0])
    read1 = decode_sequences(lib.reads[0][i])[0]
    assert read1[20:20 + len(config.adapter_read1)] == config.adapter_read1
    assert read1[20 + len(config.adapter_read1):][:7] == "ACGTACG"
    read2 = decode_sequences(lib.reads[3][i])[0]
    assert read2[20:20 + len(config.adapter_read2)][:27] == config.adapter_read2[:27]


def test_index_reads_forward_and_reverse_complement_workflows() -> None:
    for workflow, i5 in (("forward", "TTGGCCAA"), ("reverse-complement", "TTGGCCAA"[::-1]
                                                   .translate(str.maketrans("ACGT", "TGCA")))):
        config = LibraryConfig(samples=POOL, i5_workflow=workflow)  # type: ignore[arg-type]
        lib = draw_library(config, 300, STRUCTURE, np.random.default_rng(3))
        s1 = lib.sample == 1
        i7 = decode_sequences(lib.reads[1][s1])
        i5_reads = decode_sequences(lib.reads[2][s1])
        assert set(i7) == {"ACGTACGT" + P7_AFTER_I7[:2]}
        assert {r[:8] for r in i5_reads} == {i5}
        assert all(e == 0 for e in lib.index_errors[1])


def test_pool_balance_and_unindexed_clusters() -> None:
    config = LibraryConfig(samples=POOL)
    lib = draw_library(config, 40_000, STRUCTURE, np.random.default_rng(4))
    shares = np.bincount(lib.sample, minlength=3) / lib.n_clusters
    assert shares == pytest.approx([0.2, 0.5, 0.3], abs=0.01)
    none = lib.reads[1][lib.sample == 0]
    assert len({row.tobytes() for row in none}) > 0.99 * len(none)  # random indexes


def test_index_error_rate_is_drawn_per_base() -> None:
    config = LibraryConfig(samples=POOL, index_error_rate=0.01)
    lib = draw_library(config, 20_000, STRUCTURE, np.random.default_rng(5))
    indexed = lib.sample > 0
    truth = np.stack([np.zeros(8, np.uint8), encode_sequences("ACGTACGT"),
                      encode_sequences("GGTTAACC")])
    differs = lib.reads[1][indexed, :8] != truth[lib.sample[indexed]]
    assert (differs.sum(axis=1) == lib.index_errors[1][indexed]).all()
    assert differs.mean() == pytest.approx(0.01, rel=0.15)
    assert (lib.index_errors[0] == 0).all()


def test_margin_bases_extend_each_read() -> None:
    lib = draw_library(LibraryConfig(), 10, STRUCTURE, np.random.default_rng(6), margin_bases=9)
    assert [r.shape for r in lib.reads] == [(10, 69), (10, 19), (10, 19), (10, 69)]
    assert all(r.dtype == np.uint8 and r.max() <= 3 for r in lib.reads)
    assert (lib.sample == 0).all()


def test_any_fasta_reference(tmp_path) -> None:  # type: ignore[no-untyped-def]
    fasta = tmp_path / "ref.fa"
    fasta.write_text(">a\n" + "A" * 400 + "\n>b\n" + "C" * 400 + "\n")
    config = LibraryConfig(reference_fasta=fasta, insert_mean_bp=100, insert_sd_bp=0)
    lib = draw_library(config, 500, STRUCTURE, np.random.default_rng(7))
    for record, read, reverse in zip(lib.record, lib.reads[0], lib.reverse, strict=True):
        expected = (0 if record == 0 else 1) if not reverse else (3 if record == 0 else 2)
        assert (read == expected).all()


@pytest.mark.parametrize(("change", "message"), [
    ({"insert_mean_bp": 0.0}, "insert_mean_bp"),
    ({"index_error_rate": 1.5}, "index_error_rate"),
    ({"adapter_read1": "ACGN"}, "adapter_read1"),
    ({"samples": (PoolSample("S1", "ACGX", "AC", 0.5),)}, r"samples\[1\].*index1"),
    ({"samples": (PoolSample("S1", "AC", "AC", 0.6), PoolSample("S2", "GT", "GT", 0.6))},
     "add up to 1.2"),
    ({"samples": (PoolSample("S1", "AC", "AC", 0.1), PoolSample("S1", "GT", "GT", 0.1))},
     "duplicate sample_id"),
])
def test_bad_settings_are_named(change: dict[str, object], message: str) -> None:
    with pytest.raises(LibraryError, match=message):
        LibraryConfig(**change)  # type: ignore[arg-type]


def test_too_many_index_reads() -> None:
    with pytest.raises(LibraryError, match="at most two index reads"):
        draw_library(LibraryConfig(), 5, parse_read_structure("10T8B8B8B"),
                     np.random.default_rng(0))


def test_simulator_sequences_each_read_in_phase_from_its_own_template() -> None:
    from opensbs.sim import SimConfig, TileSimulator

    reads = parse_read_structure("8T4B4B8T")
    config = SimConfig(seed=2, tile_width_px=128, tile_height_px=128, read_length=24,
                       phasing=0.05, prephasing=0.02)
    library = LibraryConfig(insert_mean_bp=150, insert_sd_bp=10, samples=POOL)
    sim = TileSimulator(config, 1101, library=library, reads=reads)
    lib = sim.library
    assert lib is not None
    assert np.array_equal(sim.sequences, np.concatenate(
        [r[:, :c.cycles] for r, c in zip(lib.reads, reads, strict=True)], axis=1))
    b2c = sim._base_to_channel  # one unit of each base in each channel
    for _cycle in range(1, 18):
        sim.advance()
    # cycle 17 is read 2's first: every molecule starts again at position 0 (or 1 if it leapt)
    template = lib.reads[3]
    expected = (1 - 0.05 - 0.02) * b2c[template[:, 0]] + 0.02 * b2c[template[:, 1]]
    scale = (sim.brightness_e * sim.truth().decay_factor[-1])[:, None]
    assert np.allclose(sim.last_signal_e, expected * scale, rtol=1e-4, atol=1e-3)
    truth = sim.truth()
    assert truth.read_cycles == [8, 4, 4, 8]
    assert np.array_equal(truth.sample, lib.sample)
