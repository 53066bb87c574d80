"""The fast matmul kernels through gpucell's ops and layers, on both backends (`device`): Tensor
matmul and nn.Dense in float16 and bfloat16 against a float32 NumPy product of the same (rounded)
values, and the TF32 switch of ``set_context(gpu_config=...)``. On the GPU (the simulated device in
CI) the products run kernels/matmul_tc.cu and kernels/matmul_simt.cu; a spy records which."""

from __future__ import annotations

import importlib

import ml_dtypes
import numpy as np
import pytest

import gpucell as ms
from gpucell import Tensor, nn, ops

matmul = importlib.import_module("gpucell.backend.kernel_ops.matmul")
BF16 = ml_dtypes.bfloat16


@pytest.fixture
def families(monkeypatch):
    """The kernel family (``tc`` / ``simt``) of every fast-kernel launch during the test."""
    seen = []
    launch = matmul._launch_fast

    def spy(family, *args):
        seen.append(family)
        return launch(family, *args)
    monkeypatch.setattr(matmul, "_launch_fast", spy)
    return seen


def _close(got: Tensor, want: np.ndarray, dtype) -> None:
    """Within a few units of the 2-byte dtype's last place, relative to the largest output."""
    unit = 2.0 ** -8 if dtype is BF16 else 2.0 ** -11
    np.testing.assert_allclose(got.asnumpy().astype(np.float64), want, rtol=0,
                               atol=4 * unit * np.abs(want).max())


@pytest.mark.parametrize("dtype", [np.float16, BF16], ids=["float16", "bfloat16"])
def test_tensor_matmul_and_dense_in_2_byte_floats(device, families, dtype):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((2, 17, 45)).astype(dtype)
    b = rng.standard_normal((45, 33)).astype(dtype)
    got = ops.matmul(Tensor(a, device=device), Tensor(b, device=device))
    assert got.dtype == ms.float16 if dtype is np.float16 else got.dtype == ms.bfloat16
    _close(got, a.astype(np.float32).astype(np.float64) @ b.astype(np.float64), dtype)

    # float32 master weights holding 2-byte values exactly; to_float computes the layer in `dtype`.
    dense = nn.Dense(45, 33, activation="relu")
    w, bias = rng.standard_normal((33, 45)).astype(dtype), rng.standard_normal(33).astype(dtype)
    dense.weight.set_data(Tensor(w.astype(np.float32)))
    dense.bias.set_data(Tensor(bias.astype(np.float32)))
    dense.to_float(ms.float16 if dtype is np.float16 else ms.bfloat16)
    x = rng.standard_normal((64, 45)).astype(dtype)
    out = dense(Tensor(x, device=device))
    want = np.maximum(x.astype(np.float64) @ w.astype(np.float64).T + bias.astype(np.float64), 0)
    _close(out, want, dtype)
    if device == "GPU":  # float16 and bfloat16 reach the tensor cores as they are
        assert families and set(families) == {"tc"}


def test_tf32_setting_switches_the_float32_kernel(device, families):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((20, 70)).astype(np.float32), rng.standard_normal((70, 30)).astype(np.float32)
    exact = a.astype(np.float64) @ b.astype(np.float64)
    ta, tb = Tensor(a, device=device), Tensor(b, device=device)
    default = ops.matmul(ta, tb).asnumpy()
    np.testing.assert_allclose(default, exact, rtol=1e-5, atol=1e-4)
    try:
        ms.set_context(gpu_config={"matmul_allow_tf32": True})
        tf32 = ops.matmul(ta, tb).asnumpy()
    finally:
        ms.set_context(gpu_config={"matmul_allow_tf32": False})
    assert not matmul.allow_tf32()
    np.testing.assert_allclose(tf32, exact, rtol=0, atol=4 * 2.0 ** -11 * (np.abs(a) @ np.abs(b)).max())
    if device == "GPU":
        assert families == ["simt", "tc"]
        assert np.abs(tf32 - exact).max() > np.abs(default - exact).max()
    else:  # NumPy has no TF32: the setting changes nothing on the CPU
        np.testing.assert_array_equal(tf32, default)


def test_changing_tf32_drops_the_jit_plans_that_captured_the_other_kernel(device, families):
    rng = np.random.default_rng(2)
    ta, tb = (Tensor(rng.standard_normal(s).astype(np.float32), device=device) for s in ((20, 70), (70, 30)))
    step = ms.jit(lambda a, b: ops.matmul(a, b))
    default = step(ta, tb).asnumpy()
    np.testing.assert_array_equal(step(ta, tb).asnumpy(), default)
    try:
        ms.set_context(gpu_config={"matmul_allow_tf32": True})
        assert ms.jit.cache_info().plans == 0
        tf32 = step(ta, tb).asnumpy()
    finally:
        ms.set_context(gpu_config={"matmul_allow_tf32": False})
    if device == "GPU":
        assert families[-1] == "tc" and not np.array_equal(tf32, default)
    np.testing.assert_array_equal(step(ta, tb).asnumpy(), default)
