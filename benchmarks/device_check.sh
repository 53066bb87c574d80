#!/usr/bin/env bash
# One command for a GPU machine (no network, its own Python with cupy, numpy, pytest, torch and
# nvidia-ml-py preinstalled), run from the checkout; installs nothing:
#
#     benchmarks/device_check.sh OUT_DIR
#
# Within six minutes, each part under its own limit (benchmarks/_device_check.py has the budget):
# compile start (cold and warm kernel cache), the kernels against copy bandwidth and cuBLAS
# (queue-ahead timing), a two-stream ordering probe, every GPU-marked test, the other benchmarks
# with --quick. Writes OUT_DIR/report.json (gpu, driver, cupy, tests {passed, failed, skipped,
# errors}, first_call, matmul, elementwise, streams, goals, budget, benchmark figures) and
# OUT_DIR/log.txt, which ends in a short summary. Without a GPU it says why, in seconds;
# GPUCELL_DEVICE=SIM rehearses the GPU parts on the simulated device.
# PYTHON=/path/to/python picks the interpreter (default: python, else python3).
set -uo pipefail
if [ $# -lt 1 ]; then
    echo "usage: benchmarks/device_check.sh OUT_DIR [runner options, e.g. --only op_overhead]" >&2
    exit 2
fi
OUT_DIR=$(mkdir -p "$1" && cd "$1" && pwd) || { echo "cannot create $1" >&2; exit 2; }
cd "$(dirname "$0")/.." || exit 2
PY=${PYTHON:-$(command -v python || command -v python3)}
export PYTHONPATH=".${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
export GPUCELL_TESTS_ON_SIM=0  # real hardware or nothing: never the simulated device here
shift
exec "$PY" benchmarks/_device_check.py "$OUT_DIR" "$@"
