"""``python -m gpucell.demo`` trains to the same accuracy on the CPU and on the simulated CUDA
device (GPUCELL_DEVICE=SIM): the GPU code path (kernels, CUDA-graph capture and replay, streams)
computes what the NumPy path computes, with no race found on the way."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _demo(device: str, *args: str) -> tuple[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "GPUCELL_DEVICE"}
    env["GPUCELL_DEVICE"] = device
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "-m", "gpucell.demo", "--no-progress",
                           *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)", done.stdout).group(1))
    return done.stdout, accuracy


@pytest.mark.parametrize("model, epochs", [("mlp", "3"), ("cnn", "2")])
def test_demo_on_the_simulated_gpu_matches_the_cpu(model, epochs):
    cpu_out, cpu_accuracy = _demo("CPU", "--model", model, "--epochs", epochs)
    sim_out, sim_accuracy = _demo("SIM", "--model", model, "--epochs", epochs)
    assert "on CPU" in cpu_out and "on GPU" in sim_out
    assert sim_accuracy == pytest.approx(cpu_accuracy, abs=0.01) and cpu_accuracy > 0.7


def test_demo_amp_o2_trains_on_the_cpu_in_bfloat16_and_on_the_simulated_gpu():
    """Issue 14's check: ``--amp O2`` reaches test accuracy >= 0.95 on the CPU (bfloat16) and on
    the simulated GPU, and the jitted loss-scale step is captured whole there (-W error turns the
    eager-fallback warning into a failure)."""
    cpu_out, cpu_accuracy = _demo("CPU", "--amp", "O2")
    sim_out, sim_accuracy = _demo("SIM", "--amp", "O2")
    assert "amp O2 in bfloat16" in cpu_out and "on GPU" in sim_out
    assert cpu_accuracy >= 0.95 and sim_accuracy >= 0.95


def test_demo_cnn_in_o2_is_within_a_point_of_float32():
    _, float32 = _demo("CPU", "--model", "cnn")
    _, o2 = _demo("CPU", "--model", "cnn", "--amp", "O2")
    assert abs(o2 - float32) <= 0.01 and o2 >= 0.95
