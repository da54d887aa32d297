"""`opensbs basecall RUN` re-calls a run folder's kept images under the run's identity:
RunInfo's instrument, run number and flow cell in the read names, Illumina file names."""

import gzip
from pathlib import Path

from conftest import MICRO
from opensbs.cli import app
from opensbs.run import RunRequest, start_run
from typer.testing import CliRunner

FASTQ = "Undetermined_S0_L001_R1_001.fastq.gz"


def _headers(path: Path) -> list[str]:
    return gzip.decompress(path.read_bytes()).decode().splitlines()[0::4]


def test_offline_recall_uses_the_run_identity_and_illumina_names(tmp_path: Path) -> None:
    run = tmp_path / "run"
    start_run(RunRequest(sim=True, recipe=MICRO, out=run, seed=5, keep_images=True,
                         flowcell="HFC9ABC", run_number=42))
    result = CliRunner().invoke(app, ["basecall", str(run), "--out", str(tmp_path / "again"),
                                      "--workers", "1"])
    assert result.exit_code == 0, result.output
    again = _headers(tmp_path / "again" / FASTQ)
    online = _headers(run / "Fastq" / FASTQ)
    assert again and all(h.startswith("@OPENSBS1:42:HFC9ABC:1:1101:") for h in again)
    assert all(h.endswith(" 1:N:0:") for h in again)
    # the same clusters at the same positions: the same names as the live run's FASTQ
    assert set(again) == set(online)
    assert not list((tmp_path / "again").glob("s_1_*"))
