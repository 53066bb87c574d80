"""Two GPUs (simulated: GPUCELL_SIM_DEVICES=2, read at import, so in a fresh process): an op on
tensors of two devices names the op; each device has its own Philox state, which set_seed reaches
on that device; a jitted function gets a plan per device."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = """
import numpy as np
import gpucell as ms
from gpucell import ops
from gpucell.jit import cache_info
a = ms.Tensor([1.0, 2.0])
ms.set_context(device_id=1)
b = ms.Tensor([1.0, 2.0])
try:
    a + b
except ValueError as e:
    print("error:", e)
ms.set_seed(1)
on_1 = ops.dropout(ms.Tensor(np.ones(64), ms.float32), p=0.5).asnumpy()
ms.set_context(device_id=0)
ms.set_seed(1)
on_0 = ops.dropout(ms.Tensor(np.ones(64), ms.float32), p=0.5).asnumpy()
print("same masks:", np.array_equal(on_0, on_1))
double = ms.jit(lambda t: t * 2)
first = double(a).asnumpy().tolist()
ms.set_context(device_id=1)
second = double(b).asnumpy().tolist()
print("plans:", cache_info().plans, first == second == [2.0, 4.0])
"""


def test_two_simulated_devices():
    env = {k: v for k, v in os.environ.items()}
    env.update(GPUCELL_DEVICE="SIM", GPUCELL_SIM_DEVICES="2",
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert lines[0] == ("error: For 'Add', Array device must be same as the current device: array device = 0 "
                        "while current = 1 (input shapes: (2,), (2,)).")
    assert lines[1] == "same masks: True"
    assert lines[2] == "plans: 2 True"
