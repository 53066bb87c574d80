"""benchmarks/kernels.py and benchmarks/_stream_probe.py on the simulated device and the CPU: the
code paths a lent GPU will run, with the fields the device check reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks import _stream_probe  # noqa: E402
from gpucell import backend  # noqa: E402


@pytest.mark.parametrize("target", ["SIM", "CPU"])
def test_kernels_quick_rows_are_checked_and_labelled(tmp_path, target):
    out = tmp_path / "k.json"
    env = dict(os.environ, PYTHONPATH=str(ROOT), GPUCELL_DEVICE=target)
    done = subprocess.run([sys.executable, "benchmarks/kernels.py", "--quick", "--json", str(out)], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(out.read_text())
    rows = {r["case"]: r for r in result["rows"]}
    matmuls = [r for r in rows.values() if "tflops" in r]
    assert {r["case"].split()[1] for r in matmuls} == {"bfloat16", "float16", "float32"}
    assert all(r["correct"] and r["rel_err"] is not None for r in matmuls)
    ours = [r for r in matmuls if r["case"].startswith("matmul_bias")]
    assert all(rows[r["baseline"]]["tflops"] > 0 and r["ratio"] > 0 for r in ours)
    assert all(0 < r["copy_fraction"] for r in rows.values() if "copy_fraction" in r)
    if target == "SIM":
        assert result["simulated"] is True and "not GPU speed" in result["device"]
        assert result["timing"] == "queue-ahead" and all(r["timing"] == "queue-ahead" for r in result["rows"])
        assert result["goals"] == {}  # no goal size is measured on the simulator
    else:
        assert result["timing"] == "host" and result["device"].startswith("CPU")
        assert all(g["limit"] == 1.0 for g in result["goals"].values())  # the MLP shape's goal, on NumPy


def test_stream_probe_ordered_is_right_and_the_simulator_refuses_unordered(device):
    result = _stream_probe.probe(log2=10, trials=4)
    assert result["goals"]["ordered never wrong"]["met"] is True
    variants = result["variants"]
    assert all(v["trials"] == 4 and v["wrong_trials"] == 0 for v in variants.values() if v["ordered"])
    if device == "GPU" and backend.simulated():
        assert all("Race" in v["race_error"] for v in variants.values() if not v["ordered"])
        assert all(result["unordered_race_seen"].values())
    elif device == "CPU":  # streams are no-ops: nothing can race
        assert not any(result["unordered_race_seen"].values())
