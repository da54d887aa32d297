#!/usr/bin/env bash
# The whole test suite: code health (ruff, mypy) then pytest over host, firmware and FPGA tests.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
ruff check host tests benchmarks fpga_sim
mypy
pytest "$@"
