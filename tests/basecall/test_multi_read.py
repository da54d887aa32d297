"""Multi-read calling: one intensity caller per read (phasing restarts, own rates), positions
and the chastity filter from the first read, cycles numbered over the run."""

import numpy as np
import pytest
from opensbs.basecall import TileBasecaller
from opensbs.basecall.errors import BasecallError
from opensbs.recipe import parse_read_structure
from opensbs.sim import SimConfig, TileSimulator
from opensbs.sim.library import LibraryConfig, PoolSample
from opensbs.sim.truth import match_clusters

READS = parse_read_structure("24T6B6B24T")
PHASING, PREPHASING = 0.02, 0.008


def _call(read_cycles: list[int] | None) -> tuple[TileBasecaller, list, TileSimulator]:
    config = SimConfig(seed=4, tile_width_px=192, tile_height_px=192, read_length=60,
                       phasing=PHASING, prephasing=PREPHASING)
    library = LibraryConfig(insert_mean_bp=200, insert_sd_bp=20, samples=(
        PoolSample("A", "ACGTAC", "TGCATG", 0.5), PoolSample("B", "CATGGT", "GTACCA", 0.5)))
    sim = TileSimulator(config, 1101, library=library, reads=READS)
    caller = TileBasecaller(read_cycles=read_cycles)
    calls = []
    for _ in range(60):
        calls += caller.add_cycle(sim.next_cycle())
    return caller, calls + caller.finish(), sim


@pytest.fixture(scope="module")
def called() -> tuple[TileBasecaller, list, TileSimulator]:
    return _call([r.cycles for r in READS])


def test_cycles_come_out_once_over_the_run(called) -> None:
    caller, calls, _ = called
    assert [c.cycle for c in calls] == list(range(1, 61))
    assert len(caller.read_rates) == 4
    with pytest.raises(BasecallError, match="all 60 cycles"):
        caller.add_cycle(np.zeros((4, 192, 192), np.uint16))


def test_each_read_estimates_its_own_rates_and_calls_accurately(called) -> None:
    caller, calls, sim = called
    for read in (0, 3):  # the template reads: enough cycles to estimate phasing
        rates = caller.read_rates[read]
        assert rates.phasing == pytest.approx(PHASING, abs=0.003)
        assert rates.prephasing == pytest.approx(PREPHASING, abs=0.003)
    bases = np.stack([c.bases for c in calls], axis=1)
    match = match_clusters(caller.positions, sim.positions, bases, sim.sequences)
    found = match.truth_index >= 0
    pf = caller.passing_filter & found
    truth = sim.sequences[match.truth_index[pf]]
    wrong = bases[pf] != truth
    for first, cycles in ((0, 24), (24, 6), (30, 6), (36, 24)):
        assert wrong[:, first:first + cycles].mean() < 0.005, (first, cycles)


def test_phasing_carried_across_reads_would_cost_accuracy(called) -> None:
    caller, calls, sim = called
    one_read, single_calls, _ = _call(None)  # the same images as one 60-cycle read

    def read2_errors(c: TileBasecaller, out: list) -> float:
        bases = np.stack([x.bases for x in out], axis=1)
        match = match_clusters(c.positions, sim.positions, bases, sim.sequences)
        ok = (match.truth_index >= 0) & c.passing_filter
        return float((bases[ok, 36:] != sim.sequences[match.truth_index[ok], 36:]).mean())

    assert read2_errors(caller, calls) < read2_errors(one_read, single_calls)
    # one model over all reads fits none of them: read 2 starts in phase again
    assert one_read.rates.phasing < 0.6 * PHASING
