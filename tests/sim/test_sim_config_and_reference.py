"""SimConfig validation, FASTA reading and template sampling."""

import numpy as np
import pytest
from opensbs.sim import FastaError, SimConfig, SimConfigError, bundled_phix_path, read_fasta
from opensbs.sim.reference import sample_templates


@pytest.mark.parametrize("changes, names", [
    ({"tile_width_px": 0}, "tile_width_px"),
    ({"read_length": -5}, "read_length"),
    ({"phasing": 0.7}, "phasing"),
    ({"occupancy": 1.5}, "occupancy"),
    ({"chemistry": "three_colour"}, "chemistry"),
    ({"layout": "spiral"}, "layout"),
    ({"adc_bits": 20}, "adc_bits"),
    ({"crosstalk": ((1.0, 0.1), (0.0, 1.0))}, "crosstalk"),  # 2x2 for four-colour
    ({"psf_sigma_px": float("nan")}, "psf_sigma_px"),
])
def test_bad_config_is_a_typed_error_naming_the_parameter(changes, names):
    with pytest.raises(SimConfigError, match=names):
        SimConfig(**changes)


def test_config_json_round_trip():
    config = SimConfig(seed=7, chemistry="two_colour", crosstalk=((1.0, 0.2), (0.05, 1.0)))
    assert SimConfig.from_json_dict(config.to_json_dict()) == config
    with pytest.raises(SimConfigError, match="unknown"):
        SimConfig.from_json_dict({**config.to_json_dict(), "laser_power": 3})


def test_bundled_phix_is_the_5386_bp_genome():
    reference = read_fasta(bundled_phix_path())
    assert reference.total_bases == 5386
    assert set(np.unique(reference.records[0])) == {0, 1, 2, 3}


def test_bad_fasta_is_rejected(tmp_path):
    bad = tmp_path / "bad.fa"
    bad.write_text(">x\nACGTXACGT\n")
    with pytest.raises(FastaError, match="'X' at position 4"):
        read_fasta(bad)
    with pytest.raises(FastaError, match="not found"):
        read_fasta(tmp_path / "missing.fa")
    headerless = tmp_path / "headerless.fa"
    headerless.write_text("ACGT\n")
    with pytest.raises(FastaError, match="before the first"):
        read_fasta(headerless)


def test_templates_come_from_both_strands_of_the_reference():
    reference = read_fasta(bundled_phix_path())
    genome = "".join("ACGT"[c] for c in reference.records[0])
    revcomp = genome[::-1].translate(str.maketrans("ACGT", "TGCA"))
    templates = sample_templates(np.random.default_rng(3), reference, 400, 60)
    for codes, start, reverse in zip(templates.codes, templates.start, templates.reverse,
                                     strict=True):
        text = "".join("ACGT"[c] for c in codes)
        forward = genome[start:start + 60]
        assert text == (forward[::-1].translate(str.maketrans("ACGT", "TGCA")) if reverse
                        else forward)
        assert text in (revcomp if reverse else genome)
    assert 150 < templates.reverse.sum() < 250  # both strands, about half each
    with pytest.raises(FastaError, match="at least 6000 bases"):
        sample_templates(np.random.default_rng(0), reference, 10, 6000)
