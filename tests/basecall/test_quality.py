"""Quality table: calibration recovers known error rates; files round-trip; bad files raise."""

import numpy as np
import pytest
from opensbs.basecall.chemistry import FOUR_COLOUR, TWO_COLOUR
from opensbs.basecall.errors import QualityTableError
from opensbs.basecall.pipeline import IntensityCaller
from opensbs.basecall.quality import (
    Predictors,
    QualityTable,
    calibrate_table,
    empirical_calibration,
    shipped_table_path,
)


def _synthetic(n: int, seed: int) -> tuple[Predictors, np.ndarray]:
    rng = np.random.default_rng(seed)
    chastity = rng.uniform(0.5, 1.0, n)
    error_rate = 10 ** (-(4.0 * (chastity - 0.5) / 0.5 + 0.5))  # Q5 at 0.5 .. Q45 at 1.0
    predictors = Predictors(chastity, np.full(n, 0.99), np.full(n, 1.0), np.full(n, 10))
    return predictors, rng.random(n) < error_rate


def test_calibrated_table_matches_empirical_quality() -> None:
    predictors, wrong = _synthetic(1_000_000, 0)
    table = calibrate_table(predictors, wrong)
    test_predictors, test_wrong = _synthetic(1_000_000, 1)
    rows = empirical_calibration(table.lookup(test_predictors), test_wrong, min_bases=5000)
    measurable = [row for row in rows if row["errors"] >= 40]  # +-0.7 Q sampling noise at 1 sd
    assert len(measurable) >= 4  # the reported bins of REPORTED_BIN_EDGES with data
    for row in measurable:
        assert abs(row["empirical_q"] - row["reported_q"]) <= 2.0, row


@pytest.mark.parametrize("chemistry", ["four-colour", "two-colour"])
def test_shipped_table_is_monotone_in_chastity(chemistry: str) -> None:
    table = QualityTable.load(shipped_table_path(chemistry))
    assert f"{chemistry} " in table.source  # calibrated on its own chemistry
    assert table.quality.min() >= 2 and table.quality.max() <= 50
    chastity = np.array([0.55, 0.7, 0.9, 0.999])
    q = table.lookup(Predictors(chastity, np.full(4, 0.99), np.full(4, 1.0), np.full(4, 20)))
    assert np.all(np.diff(q.astype(int)) >= 0) and q[-1] >= 30


def test_table_round_trip_and_bad_files(tmp_path) -> None:
    predictors, wrong = _synthetic(50_000, 2)
    table = calibrate_table(predictors, wrong, source="test")
    path = tmp_path / "q.json"
    table.save(path)
    again = QualityTable.load(path)
    np.testing.assert_array_equal(again.quality, table.quality)
    (tmp_path / "bad.json").write_text('{"edges": {}}')
    with pytest.raises(QualityTableError):
        QualityTable.load(tmp_path / "bad.json")
    with pytest.raises(QualityTableError):
        QualityTable.load(tmp_path / "missing.json")


def test_caller_uses_its_chemistrys_table() -> None:
    for chemistry in (FOUR_COLOUR, TWO_COLOUR):
        caller = IntensityCaller(chemistry)
        assert caller.quality_table.source.startswith(f"simulation: {chemistry.name} ")
    with pytest.raises(QualityTableError):
        shipped_table_path("three-colour")
