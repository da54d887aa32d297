"""Index hopping: a fraction of a pool's clusters carry the i7 or the i5 of another sample."""

import numpy as np
import pytest
from opensbs.recipe import parse_read_structure
from opensbs.sim import SimConfig, SimConfigError, TileSimulator
from opensbs.sim.chemistry import encode_sequences
from opensbs.sim.library import LibraryConfig, LibraryError, PoolSample, draw_library

STRUCTURE = parse_read_structure("30T8B8B30T")
POOL = (PoolSample("S1", "ACGTACGT", "TTGGCCAA", 0.5), PoolSample("S2", "GGTTAACC", "CATGCATG",
                                                                  0.2),
        PoolSample("S3", "CTAGCTAG", "AACCGGTT", 0.2))
I7 = np.stack([np.zeros(8, np.uint8), *(encode_sequences(s.index1) for s in POOL)])
I5 = np.stack([np.zeros(8, np.uint8), *(encode_sequences(s.index2) for s in POOL)])


def test_hopped_clusters_carry_one_index_of_another_sample_by_pool_share() -> None:
    config = LibraryConfig(samples=POOL)
    lib = draw_library(config, 60_000, STRUCTURE, np.random.default_rng(7),
                       index_hopping_fraction=0.05)
    plain = draw_library(config, 60_000, STRUCTURE, np.random.default_rng(7))
    # the molecules are the same; only indexes hop
    assert np.array_equal(lib.sample, plain.sample)
    assert np.array_equal(lib.insert_start, plain.insert_start)
    assert np.array_equal(lib.reads[0], plain.reads[0])
    source = lib.index_source
    moved = source != lib.sample[:, None]
    indexed = lib.sample > 0
    assert not moved[~indexed].any()  # no sample, no index to hop
    assert moved.sum(axis=1).max() == 1  # one end per hop
    rate = moved.any(axis=1)[indexed].mean()
    assert abs(rate - 0.05) < 4 * np.sqrt(0.05 * 0.95 / indexed.sum())
    assert moved[:, 0].sum() == pytest.approx(moved[:, 1].sum(), rel=0.15)  # i7 and i5 alike
    # the donor is another sample, drawn by share: S1's hops go to S2 and S3 equally (0.2 each)
    donors = source[moved.any(axis=1) & (lib.sample == 1)].max(axis=1)
    assert set(donors) <= {2, 3}
    assert np.mean(donors == 2) == pytest.approx(0.5, abs=0.06)
    # S2's hops: S1 (0.5) is 2.5 times as likely as S3 (0.2)
    donors = source[moved.any(axis=1) & (lib.sample == 2)]
    donors = donors[donors != 2]
    assert np.mean(donors == 1) == pytest.approx(0.5 / 0.7, abs=0.06)
    # the index reads show the index the cluster carries
    assert np.array_equal(lib.reads[1][indexed, :8], I7[source[indexed, 0]])
    assert np.array_equal(lib.reads[2][indexed, :8], I5[source[indexed, 1]])


def test_no_hopping_without_another_sample_or_when_off() -> None:
    one = LibraryConfig(samples=POOL[:1])
    lib = draw_library(one, 5000, STRUCTURE, np.random.default_rng(1), index_hopping_fraction=0.5)
    assert np.array_equal(lib.index_source, np.stack([lib.sample, lib.sample], axis=1))
    lib = draw_library(LibraryConfig(samples=POOL), 5000, STRUCTURE, np.random.default_rng(1))
    assert np.array_equal(lib.index_source, np.stack([lib.sample, lib.sample], axis=1))
    with pytest.raises(LibraryError, match="index_hopping_fraction"):
        draw_library(one, 10, STRUCTURE, np.random.default_rng(1), index_hopping_fraction=1.5)
    with pytest.raises(SimConfigError, match="index_hopping_fraction"):
        SimConfig(index_hopping_fraction=-0.1)


def test_the_simulator_hops_indexes_and_records_them_in_the_truth(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = SimConfig(seed=4, tile_width_px=256, tile_height_px=256, read_length=76,
                       index_hopping_fraction=0.2)
    sim = TileSimulator(config, 1101, library=LibraryConfig(samples=POOL), reads=STRUCTURE)
    truth = sim.truth()
    assert truth.index_source is not None and sim.library is not None
    hopped = (truth.index_source != truth.sample[:, None]).any(axis=1)[truth.sample > 0]
    assert 0.15 < hopped.mean() < 0.25
    i7 = sim.sequences[:, 30:38]
    indexed = truth.sample > 0
    assert np.array_equal(i7[indexed], I7[truth.index_source[indexed, 0]])
    truth.save(tmp_path)
    loaded = type(truth).load(tmp_path, 1101)
    assert np.array_equal(loaded.index_source, truth.index_source)
