"""Run identity: per-instrument run numbers (also under concurrent starts), folder name equal
to the RunInfo Id, --flowcell, and the completion files written last by a finished run only."""

import datetime as dt
import gzip
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from conftest import MICRO
from opensbs.recipe import load_recipe
from opensbs.run import RunRequest, RunStopped, start_run
from opensbs.run.run_number import allocate_run_number, counter_path
from opensbs.run.session import check_flowcell_id, new_identity, new_session
from opensbs.runfolder import Journal, RunFolder, RunFolderError
from opensbs.runfolder.completion import COMPLETION_FILES
from opensbs.runfolder.lock import LOCK_NAME

TODAY = dt.date(2026, 12, 3)
RUN_ID = re.compile(r"^\d{6}_\w+_\d{4}_\w+$")


def _make(tmp_path: Path, out: Path | None = None, **identity_options):
    recipe = load_recipe(MICRO)
    identity = new_identity(recipe, out, state_dir=tmp_path / "state", today=TODAY,
                            **identity_options)
    session = new_session(recipe, MICRO.read_text(), out, identity, seed=1, sim=True,
                          keep_images=False)
    session.close()
    return identity, session.folder.root


def _xml_identity(root: Path) -> tuple[str, str, str, str, str]:
    info = ET.parse(root / "RunInfo.xml").getroot().find("Run")
    params = ET.parse(root / "RunParameters.xml").getroot()
    assert info is not None
    return (info.get("Id", ""), info.get("Number", ""), info.findtext("Flowcell", ""),
            params.findtext("RunId", ""), params.findtext("RunNumber", ""))


def test_runs_get_consecutive_numbers_and_folder_equals_runinfo_id(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # default run folders go to ./runs/<run id>
    first, root1 = _make(tmp_path)
    second, root2 = _make(tmp_path)
    assert (first.run_number, second.run_number) == (1, 2)
    assert second.run_id == "261203_OPENSBS1_0002_OSBS0001"
    for identity, root in ((first, root1), (second, root2)):
        assert root == Path("runs") / identity.run_id and RUN_ID.match(root.name)
        assert _xml_identity(root) == (root.name, str(identity.run_number), "OSBS0001",
                                       root.name, str(identity.run_number))
        assert Journal(root / "journal.jsonl").read().start["run_id"] == root.name
    assert counter_path("OPENSBS1", tmp_path / "state").read_text() == "2\n"


def test_a_number_whose_folder_exists_is_skipped_never_suffixed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs" / "261203_OPENSBS1_0001_OSBS0001").mkdir(parents=True)
    identity, root = _make(tmp_path)
    assert identity.run_number == 2 and root.name == "261203_OPENSBS1_0002_OSBS0001"
    assert sorted(p.name for p in (tmp_path / "runs").iterdir()) == [
        "261203_OPENSBS1_0001_OSBS0001", "261203_OPENSBS1_0002_OSBS0001"]


def _allocate_many(state: str) -> list[int]:
    return [allocate_run_number("OPENSBS1", Path(state)) for _ in range(25)]


def test_concurrent_allocation_gives_distinct_numbers(tmp_path):
    with ProcessPoolExecutor(4) as pool:
        batches = list(pool.map(_allocate_many, [str(tmp_path)] * 4))
    numbers = sorted(n for batch in batches for n in batch)
    assert numbers == list(range(1, 101))
    assert allocate_run_number("OTHER", tmp_path) == 1  # per instrument


def test_a_corrupt_counter_is_a_clear_error(tmp_path):
    counter_path("OPENSBS1", tmp_path).parent.mkdir(parents=True)
    counter_path("OPENSBS1", tmp_path).write_text("twelve\n")
    with pytest.raises(RunFolderError, match="run_counter.*not a whole number"):
        allocate_run_number("OPENSBS1", tmp_path)


def test_flowcell_option_names_the_run_and_survives_reopening(tmp_path):
    identity, root = _make(tmp_path, tmp_path / "run", flowcell_id="HKTX3BGXY")
    assert identity.run_id == "261203_OPENSBS1_0001_HKTX3BGXY"
    assert _xml_identity(root)[0::2] == (identity.run_id, "HKTX3BGXY", "1")
    reopened = RunFolder.open(root)  # as a resume does: recipe.toml still has the default
    assert reopened.identity == identity
    assert reopened.recipe.run.flowcell_id == "HKTX3BGXY"
    for bad in ("", "HK-TX3", "A" * 33, "flow cell"):
        with pytest.raises(RunFolderError, match="--flowcell"):
            check_flowcell_id(bad)


def _opensbs(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from opensbs.cli import main; main()", *args],
                          capture_output=True, text=True, timeout=120)


def test_cli_refuses_a_bad_flowcell_and_flowcell_on_resume(tmp_path):
    bad = _opensbs("run", "--sim", "--recipe", str(MICRO), "--out", str(tmp_path / "run"),
                   "--flowcell", "HK-1", "--state-dir", str(tmp_path / "state"))
    assert bad.returncode == 2 and "--flowcell 'HK-1'" in " ".join(bad.stdout.split())
    assert not (tmp_path / "run").exists() and not (tmp_path / "state").exists()
    resumed = _opensbs("run", "--resume", str(tmp_path / "run"), "--flowcell", "HK1")
    assert resumed.returncode == 2 and "--flowcell cannot change" in " ".join(
        resumed.stdout.split())


def test_finished_run_writes_completion_files_last(micro_reference: Path):
    files = {p: p.stat().st_mtime_ns for p in micro_reference.rglob("*") if p.is_file()}
    completion = [micro_reference / name for name in COMPLETION_FILES]
    others = [t for p, t in files.items() if p not in completion]
    times = [files[p] for p in completion]
    assert max(others) <= times[0] <= times[1] <= times[2]  # written in this order, last
    status = ET.parse(completion[0]).getroot()
    assert status.findtext("CompletionStatus") == "CompletedAsPlanned"
    assert status.findtext("RunId") == _xml_identity(micro_reference)[0]
    assert re.fullmatch(r"OpenSBS \S+ completed on \d{1,2}/\d{1,2}/\d{4} "
                        r"\d{1,2}:\d\d:\d\d [AP]M\n", completion[1].read_text())
    assert completion[2].read_bytes() == b""


def test_stopped_run_has_no_completion_files_and_resume_keeps_identity(tmp_path, monkeypatch):
    from opensbs.basecall.pipeline import TileBasecaller

    original = TileBasecaller.add_cycle

    def fail_at_cycle_3(self, images):
        if self.cycles_seen == 2:
            raise FloatingPointError("injected")
        self.cycles_seen += 1
        return original(self, images)

    monkeypatch.setattr(TileBasecaller, "cycles_seen", 0, raising=False)
    monkeypatch.setattr(TileBasecaller, "add_cycle", fail_at_cycle_3)
    out = tmp_path / "run"
    with pytest.raises(RunStopped):
        start_run(RunRequest(sim=True, recipe=MICRO, out=out, seed=5, flowcell="FC77"))
    assert not any((out / name).exists() for name in COMPLETION_FILES)
    before = _xml_identity(out)
    monkeypatch.undo()
    start_run(RunRequest(resume=out))
    assert all((out / name).exists() for name in COMPLETION_FILES)
    assert _xml_identity(out) == before and before[1:3] == ("1", "FC77")
    start = Journal(out / "journal.jsonl").read().start
    assert (start["run_number"], start["flowcell_id"]) == (1, "FC77")
    assert ET.parse(out / "RunCompletionStatus.xml").getroot().findtext("RunId") == before[0]
    with gzip.open(out / "Fastq" / "Undetermined_S0_L001_R1_001.fastq.gz", "rt") as fastq:
        assert fastq.readline().startswith("@OPENSBS1:1:FC77:1:1101:")


def test_resume_of_a_run_finished_without_completion_files_only_writes_them(tmp_path):
    out = tmp_path / "run"
    start_run(RunRequest(sim=True, recipe=MICRO, out=out, seed=5))
    for name in COMPLETION_FILES:  # as if killed between the journal's `finished` and them
        (out / name).unlink()
    def files() -> dict[Path, tuple[bytes, int]]:  # but the completion files and the lock
        return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.rglob("*")
                if p.is_file() and p.name not in (*COMPLETION_FILES, LOCK_NAME)}

    before = files()
    outcome = start_run(RunRequest(resume=out))
    assert all((out / name).exists() for name in COMPLETION_FILES)
    assert files() == before  # nothing else rewritten
    assert outcome.summary == json.loads((out / "summary.json").read_text())
    with pytest.raises(RunFolderError, match="already finished"):
        start_run(RunRequest(resume=out))
