"""Float32 subnormals: CuPy compiles every RawModule with -ftz=true, so the kernels flush float32
subnormal inputs and results to zero on the GPU (the emulator models it); the NumPy references
(the CPU backend) keep them. A documented difference: a result that depends on a subnormal float32
differs between the backends. Loads, stores and copies keep the bits on both; float64 never
flushes on a GPU (the emulator's x86 model flushes it too, so float64 subnormals are not used here)."""

from __future__ import annotations

import numpy as np
import pytest

from gpucell import backend
from gpucell.backend.kernel_ops import compare, reduce, threshold

TINY = np.float32(1e-40)  # subnormal: below float32's smallest normal, 1.18e-38
assert 0 < TINY < np.finfo(np.float32).tiny


def test_the_cpu_keeps_float32_subnormals():
    x = np.array([TINY, -TINY, 1.0], np.float32)
    assert compare("gt", x, np.zeros(3, np.float32)).tolist() == [True, False, True]
    assert reduce("sum", x[:1]).item() == TINY
    assert threshold(x, 0.0, -1.0).tolist() == [TINY, -1.0, 1.0]


def test_the_gpu_kernels_flush_float32_subnormals(run):
    if run.name == "gpu" and backend.simulated():
        pytest.skip("on the simulated GPU the kernels run through the same emulator: covered by 'emulated'")
    x = np.array([TINY, -TINY, 1.0], np.float32)
    # gt: the subnormal compares as 0 (the comparison flushes its inputs), so it is not > 0.
    assert run(compare, "gt", x, np.zeros(3, np.float32)).tolist() == [False, False, True]
    assert run(reduce, "sum", x[:1]).item() == 0.0
    # threshold keeps x where x > 0: the flushed subnormal is not, so it becomes the value.
    assert run(threshold, x, 0.0, -1.0).tolist() == [-1.0, -1.0, 1.0]
