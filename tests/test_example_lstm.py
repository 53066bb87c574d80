"""examples/lstm_classifier.py learns which of two markers comes first (variable lengths through
seq_length) to its stated accuracy, eagerly and jitted, on the CPU and on the simulated CUDA device."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TARGET = 0.95  # the accuracy the example states (its --target default)


@pytest.mark.parametrize("device", ["CPU", "SIM"])
@pytest.mark.parametrize("mode", ["eager", "jit"])
def test_lstm_classifier_reaches_its_accuracy(device, mode):
    env = {k: v for k, v in os.environ.items() if k != "GPUCELL_DEVICE"}
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    args = ["--device", device, "--steps", "60"] + (["--eager"] if mode == "eager" else [])
    done = subprocess.run([sys.executable, "-W", "error::RuntimeWarning", "examples/lstm_classifier.py", *args],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert f"on {'GPU' if device == 'SIM' else 'CPU'}:" in done.stdout
    assert f"({mode})" in done.stdout
    accuracy = float(re.search(r"test accuracy: ([0-9.]+)", done.stdout).group(1))
    assert accuracy >= TARGET
