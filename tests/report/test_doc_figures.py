"""The figures the README and docs/runs.md quote come from one run (scripts/update_doc_figures.py)
and agree with each other."""

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]


def _block(path: Path, name: str) -> str:
    match = re.search(rf"<!-- figures:{name} -->\n(.*?)<!-- /figures:{name} -->",
                      path.read_text("utf-8"), re.S)
    assert match, f"{path}: no figures:{name} block"
    return match.group(1)


def test_readme_and_runs_doc_quote_the_same_run():
    readme = _block(ROOT / "README.md", "headline")
    runs = _block(ROOT / "docs" / "runs.md", "headline")
    assert readme == runs and "error rate (PhiX)" in readme
    clusters, pf, q30, error = re.search(
        r"clusters ([\d,]+)\s+%PF ([\d.]+) %\s+%>=Q30 ([\d.]+) %\s+error rate \(PhiX\) "
        r"([\d.]+) %", readme).groups()
    row = _block(ROOT / "docs" / "runs.md", "table").splitlines()[-1]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2:5] == [clusters, f"{pf} %", f"{q30} %"]
    assert cells[6] == f"{error} %"
    assert (ROOT / "docs" / "report.png").read_bytes().startswith(b"\x89PNG")
