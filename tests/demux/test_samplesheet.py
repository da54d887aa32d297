"""Sample sheets: both forms parse to the same samples; every bad sheet names line and field."""

from pathlib import Path

import pytest
from opensbs.demux import (
    ReadSpec,
    SampleSheetError,
    check_sample_sheet,
    parse_sample_sheet,
    read_run_info,
)

from .pool_run import write_pool_run

V2 = """[Header]
FileFormatVersion,2
RunName,pool
InstrumentPlatform,MiSeq

[Reads]
Read1Cycles,24
Read2Cycles,20
Index1Cycles,8
Index2Cycles,8

[BCLConvert_Settings]
SoftwareVersion,4.2.7
AdapterRead1,CTGTCTCTTATACACATCT
AdapterRead2,CTGTCTCTTATACACATCT
BarcodeMismatchesIndex1,1
BarcodeMismatchesIndex2,0
OverrideCycles,Y24;I8;I8;Y20
CreateFastqForIndexReads,1

[BCLConvert_Data]
Lane,Sample_ID,Index,Index2,Sample_Project
1,Alpha,ACGTACGT,TTGGCCAA,ProjA
1,Beta,GGTTAACC,CATGCATG,ProjB
"""

V1 = """[Header]
IEMFileVersion,4
Instrument Type,MiSeq

[Reads]
24
20

[Settings]
Adapter,CTGTCTCTTATACACATCT
MaskAdapter,1

[Data]
Sample_ID,Sample_Name,I7_Index_ID,index,I5_Index_ID,index2,Sample_Project,Description
Alpha,a,D701,ACGTACGT,D501,TTGGCCAA,ProjA,
Beta,b,D702,ggttaacc,D502,CATGCATG,ProjB,
"""


def test_v2_sheet_gives_samples_settings_and_reads():
    sheet = parse_sample_sheet(V2)
    assert sheet.version == 2 and sheet.instrument_platform == "MiSeq"
    assert [(s.sample_id, s.number, s.lane, s.index1, s.index2, s.project, s.line)
            for s in sheet.samples] == [
        ("Alpha", 1, 1, "ACGTACGT", "TTGGCCAA", "ProjA", 23),
        ("Beta", 2, 1, "GGTTAACC", "CATGCATG", "ProjB", 24)]
    s = sheet.settings
    assert (s.adapter_read1, s.mismatches_i7, s.mismatches_i5, s.override_cycles,
            s.create_fastq_for_index_reads, s.adapter_behavior) == (
        "CTGTCTCTTATACACATCT", 1, 0, "Y24;I8;I8;Y20", True, "trim")
    assert sheet.reads["Index2Cycles"] == (8, 10)


def test_v1_sheet_gives_the_same_samples():
    sheet = parse_sample_sheet(V1)
    assert sheet.version == 1 and sheet.instrument_platform == "MiSeq"
    assert [(s.sample_id, s.lane, s.index1, s.index2) for s in sheet.samples] == [
        ("Alpha", None, "ACGTACGT", "TTGGCCAA"), ("Beta", None, "GGTTAACC", "CATGCATG")]
    assert sheet.settings.adapter_read1 == "CTGTCTCTTATACACATCT"
    assert sheet.settings.adapter_behavior == "mask"
    assert sheet.reads == {"Read1Cycles": (24, 6), "Read2Cycles": (20, 7)}


def test_per_sample_settings_columns_apply_and_must_agree():
    data = V2.replace("Lane,Sample_ID,Index,Index2,Sample_Project",
                      "Lane,Sample_ID,Index,Index2,Sample_Project,BarcodeMismatchesIndex2")
    ok = data.replace("ProjA\n", "ProjA,1\n").replace("ProjB\n", "ProjB,1\n")
    assert parse_sample_sheet(ok).settings.mismatches_i5 == 1
    bad = data.replace("ProjA\n", "ProjA,1\n").replace("ProjB\n", "ProjB,2\n")
    with pytest.raises(SampleSheetError, match=r":24: BarcodeMismatchesIndex2: '2' differs"):
        parse_sample_sheet(bad)


@pytest.mark.parametrize(("edit", "match"), [
    (("1,Beta,", "1,Alpha,"), r"SampleSheet.csv:24: Sample_ID: 'Alpha' repeats \(line 23\)"),
    (("1,Beta,", "1,Be ta,"), r":24: Sample_ID: illegal character in 'Be ta'"),
    (("GGTTAACC", "GGTTAXCC"), r":24: Index: illegal character in index 'GGTTAXCC'"),
    (("CATGCATG", "CATGCAT"), r":24: Index2: length 7 differs from 8 \(line 23\)"),
    # one mismatch allowed in i7 and none in i5: i7 2 apart and i5 equal collide
    (("GGTTAACC,CATGCATG", "ACGTACTA,TTGGCCAA"), r":24: Index: Beta \(ACGTACTA-TTGGCCAA\) "
     r"collides with Alpha \(ACGTACGT-TTGGCCAA, line 23\) within 1/0 allowed mismatches"),
    (("BarcodeMismatchesIndex1,1", "BarcodeMismatchesIndex1,3"),
     r":16: BarcodeMismatchesIndex1: 3 is outside 0..2"),
    (("CreateFastqForIndexReads,1", "CreateFastqsForIndexReads,1"),
     r":19: CreateFastqsForIndexReads: unknown setting"),
    (("FileFormatVersion,2", "FileFormatVersion,1"), r":2: FileFormatVersion: '1' but"),
    (("[BCLConvert_Data]", "[Data_]"), r"no \[BCLConvert_Data\] or \[Data\] section"),
])
def test_bad_sheets_name_line_and_field(edit: tuple[str, str], match: str):
    with pytest.raises(SampleSheetError, match=match):
        parse_sample_sheet(V2.replace(*edit))


@pytest.fixture(scope="module")
def run_reads(tmp_path_factory: pytest.TempPathFactory) -> tuple[ReadSpec, ...]:
    root = tmp_path_factory.mktemp("run")
    write_pool_run(root, clusters=10, tiles=1)
    return read_run_info(root / "RunInfo.xml").reads


@pytest.mark.parametrize(("edit", "match"), [
    (("OverrideCycles,Y24;I8;I8;Y20", "OverrideCycles,Y24;I8;I8"),
     r":18: OverrideCycles: 'Y24;I8;I8' has 3 reads; RunInfo.xml has 4"),
    (("OverrideCycles,Y24;I8;I8;Y20", "OverrideCycles,Y24;I6N2;I8;Y20"),
     r":23: Index: 8 bases but OverrideCycles reads 6 index cycles in read 2"),
    (("OverrideCycles,Y24;I8;I8;Y20", "OverrideCycles,Y24;I8;I8;Y19"),
     r":18: OverrideCycles: 'Y19' covers 19 cycles; read 4 has 20"),
    (("OverrideCycles,Y24;I8;I8;Y20", "OverrideCycles,U4Y20;I8;I8;Y20"),
     r"UMIs are not supported"),
    (("Read2Cycles,20", "Read2Cycles,151"), r":8: Read2Cycles: 151 but RunInfo.xml has 20"),
    (("ACGTACGT,TTGGCCAA", "ACGTACGTAC,TTGGCCAACC"), r":23: Index: 10 bases do not fit index "
     r"read 1 \(8 cycles\)"),
])
def test_sheets_that_do_not_fit_the_run(tmp_path: Path, run_reads: tuple[ReadSpec, ...],
                                        edit: tuple[str, str], match: str):
    text = V2.replace("GGTTAACC,CATGCATG", "GGTTAACCAA,CATGCATGAA") if "ACGTACGTAC" in edit[1] \
        else V2
    (tmp_path / "SampleSheet.csv").write_text(text.replace(*edit))
    with pytest.raises(SampleSheetError, match=match):
        check_sample_sheet(tmp_path / "SampleSheet.csv", run_reads)
    (tmp_path / "SampleSheet.csv").write_text(V2)
    assert check_sample_sheet(tmp_path / "SampleSheet.csv", run_reads).samples[1].index2 == \
        "CATGCATG"
