"""Data files bundled with opensbs (the PhiX174 control genome)."""

from importlib import resources
from pathlib import Path

PHIX174_FASTA = Path(str(resources.files(__name__).joinpath("phix174.fa")))
"""The bundled PhiX174 control genome (GenBank J02482.1, 5,386 bp)."""
