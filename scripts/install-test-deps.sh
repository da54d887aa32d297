#!/usr/bin/env bash
# Installs everything the test suite needs: HDL tools (apt), MicroPython WebAssembly and
# rp2040js (npm), Python test dependencies (pip, into .venv). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=(iverilog yosys nextpnr-ice40 fpga-icestorm chromium  # chromium: report.html test
  picard-tools libcommons-lang-java)  # Picard reads our BCL and CBCL runs (its CBCL path needs commons-lang 2)
missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q "${missing[@]}"
fi

if [ -f tools/micropython/package.json ]; then
  (cd tools/micropython && npm ci --no-audit --no-fund --silent)
  for port in rp2 stm32; do  # one stub tree per port: both packages ship machine.pyi
    [ -d "tools/micropython/stubs/$port" ] || .venv/bin/pip install -q \
      --target "tools/micropython/stubs/$port" "micropython-$port-stubs==1.29.0.post1"
  done
fi

if [ -f tools/emulator/package.json ]; then  # rp2040js: the emulated Pico
  (cd tools/emulator && npm ci --no-audit --no-fund --silent)
fi

.venv/bin/pip install -q -e '.[test]'
