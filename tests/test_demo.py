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
