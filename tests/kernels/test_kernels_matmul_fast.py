"""The fast matmul kernels (kernels/matmul_tc.cu, kernels/matmul_simt.cu) against NumPy, and the
wrapper's choices (kernel, tile, split K, staging path).

Tensor cores (float16, bfloat16, TF32 float32) and the float32 SIMT kernel run under the host
emulator (and on a GPU where there is one, `gpu` marker). The reference is the float64 product of
the same (rounded) inputs; each element must lie within the bound on two float32 sums of those
products in any order plus the output's rounding (kernel_testing.sum_error_bound): a wrong
element, an unwritten one (outputs are poisoned) or a missed K slice is far outside it.
"""

from __future__ import annotations

import importlib

import ml_dtypes
import numpy as np
import pytest
from kernel_testing import assert_within, sum_error_bound

from gpucell.backend.kernel_ops import matmul_bias

matmul = importlib.import_module("gpucell.backend.kernel_ops.matmul")
BF16 = np.dtype(ml_dtypes.bfloat16)
F16, F32 = np.dtype(np.float16), np.dtype(np.float32)
# (batch_a, batch_b, M, N, K): tails in M, N and K of every tile and K slice; a shared 2-D operand.
CASES = [((), (), 17, 33, 45), ((2,), (), 33, 17, 50), ((), (3,), 40, 24, 16), ((2,), (2,), 1, 1, 1)]
KERNELS = {  # dtype: (family, tiles, allow_tf32)
    "float16": (F16, "tc", matmul.TC_TILES, False), "bfloat16": (BF16, "tc", matmul.TC_TILES, False),
    "tf32": (F32, "tc", matmul.TC_TILES, True), "float32": (F32, "simt", matmul.SIMT_TILES, False),
}


def tf32(x: np.ndarray) -> np.ndarray:
    """float32 rounded to TF32 as cvt.rna.tf32.f32 does (10 mantissa bits, ties away from zero)."""
    u = x.astype(np.float32).view(np.uint32)
    rounded = ((u + np.uint32(0x1000)) & np.uint32(0xFFFFE000)).view(np.float32)
    return np.where(np.isfinite(x), rounded, x)


def _inputs(rng, dtype, batch_a, batch_b, m, n, k, ta, tb):
    a = rng.standard_normal((*batch_a, k, m) if ta else (*batch_a, m, k)).astype(dtype)
    b = rng.standard_normal((*batch_b, n, k) if tb else (*batch_b, k, n)).astype(dtype)
    return a, b, rng.standard_normal(n).astype(dtype)


def _expected_and_bound(a, b, bias, transpose_a, transpose_b, relu, tf32_inputs=False):
    """The float64 product of the inputs as the kernel sees them (TF32-rounded where it rounds),
    rounded to the output dtype, and the error bound of each element."""
    op_a = np.swapaxes(a, -1, -2) if transpose_a else a
    op_b = np.swapaxes(b, -1, -2) if transpose_b else b
    if tf32_inputs:
        op_a, op_b = tf32(op_a), tf32(op_b)
    op_a, op_b = op_a.astype(np.float64), op_b.astype(np.float64)
    exact = op_a @ op_b + (0 if bias is None else bias.astype(np.float64))
    if relu:
        exact = np.maximum(exact, 0)
    magnitude = np.abs(op_a) @ np.abs(op_b) + (0 if bias is None else np.abs(bias.astype(np.float64)))
    terms = op_a.shape[-1] + (bias is not None)
    bound = sum_error_bound(magnitude, terms, F32)  # float32 sums of exact products
    if a.dtype != F32:  # plus the rounding of both results to 2 bytes: half an ulp each
        bound = bound + 2 * magnitude * (2.0 ** -8 if a.dtype == BF16 else 2.0 ** -11)
    return exact.astype(a.dtype), bound


@pytest.fixture
def force(monkeypatch):
    """force(kernel, tile, splits): the wrapper launches exactly that (TF32 as the kernel asks)."""
    def apply(kernel, tile, splits=None):
        dtype, _, _, allow = KERNELS[kernel]
        monkeypatch.setattr(matmul, "_allow_tf32", allow)

        def forced(tiles, m, n, k, batch, sm_count, bk):
            assert tile in tiles
            if splits is None:
                return matmul.Tile(tile, 1, max(k, 1))
            chunk = max(bk, -(-(-(-k // splits)) // bk) * bk)
            return matmul.Tile(tile, -(-k // chunk) if k else 1, chunk)
        monkeypatch.setattr(matmul, "choose_tile", forced)
        return dtype
    return apply


@pytest.mark.parametrize("splits", [None, 3], ids=["one_split", "split_k"])
@pytest.mark.parametrize("kernel", list(KERNELS))
def test_fast_kernels_against_numpy(run, force, kernel, splits):
    _, family, tiles, _ = KERNELS[kernel]
    rng = np.random.default_rng(0)
    first = len(run.emulator.launches) if run.emulator is not None else 0
    for tile in tiles:
        dtype = force(kernel, tile, splits)
        for i, (batch_a, batch_b, m, n, k) in enumerate(CASES):
            ta, tb, relu = bool(i & 1), bool(i & 2), bool(i % 3)
            a, b, bias = _inputs(rng, dtype, batch_a, batch_b, m, n, k, ta, tb)
            for with_bias in (bias, None):
                kwargs = dict(transpose_a=ta, transpose_b=tb, relu=relu)
                want, bound = _expected_and_bound(a, b, with_bias, **kwargs, tf32_inputs=kernel == "tf32")
                assert_within(want, run(matmul_bias, a, b, with_bias, **kwargs), bound)
    if run.emulator is not None:
        launched = {e.split("<")[0] for e, _, _ in run.emulator.launches[first:]}
        assert f"matmul_{family}" in launched
        assert ("matmul_splitk_sum" in launched) == (splits is not None)


@pytest.mark.parametrize("kernel", ["float16", "bfloat16", "float32"])
def test_mlp_shape_with_the_chosen_tile(run, kernel):
    """64 x 784 -> 512, Dense's layout (vector staging on the tensor cores), the wrapper's own
    choice of tile and split K."""
    dtype = KERNELS[kernel][0]
    rng = np.random.default_rng(1)
    x = rng.standard_normal((64, 784)).astype(dtype)
    w = (rng.standard_normal((512, 784)) / 28).astype(dtype)
    bias = rng.standard_normal(512).astype(dtype)
    want, bound = _expected_and_bound(x, w, bias, False, True, True)
    assert_within(want, run(matmul_bias, x, w, bias, transpose_b=True, relu=True), bound)


def test_vector_and_element_staging(run, force):
    """The cp.async path (k contiguous, aligned rows) and the element path (a misaligned view, an
    odd K, a transposed operand) give the same correct products."""
    rng = np.random.default_rng(2)
    dtype = force("float16", matmul.TC_TILES[1])
    big = rng.standard_normal((40, 72)).astype(dtype)
    w = rng.standard_normal((24, 64)).astype(dtype)
    aligned, shifted = big[:, :64], big[:, 1:65]  # rows 144 bytes apart: 16-byte aligned / not
    assert matmul._vector_rows(aligned, 1, 72, 0, 64) and not matmul._vector_rows(shifted, 1, 72, 0, 64)
    assert not matmul._vector_rows(big[:, :45], 1, 72, 0, 45)  # K not whole 16-byte chunks
    for x in (aligned, shifted, big[:, :45]):
        wk = w[:, :x.shape[1]]
        want, bound = _expected_and_bound(x, wk, None, False, True, False)
        assert_within(want, run(matmul_bias, x, wk, transpose_b=True), bound)
        want, bound = _expected_and_bound(x, np.ascontiguousarray(wk.T), None, False, False, False)
        assert_within(want, run(matmul_bias, x, np.ascontiguousarray(wk.T)), bound)


def test_tf32_is_off_by_default_and_rounds_when_on(run, monkeypatch):
    rng = np.random.default_rng(3)
    a = rng.standard_normal((20, 70)).astype(np.float32)
    b = rng.standard_normal((70, 30)).astype(np.float32)
    assert not matmul.allow_tf32()
    want, bound = _expected_and_bound(a, b, None, False, False, False)
    exact = run(matmul_bias, a, b)
    assert_within(want, exact, bound)
    monkeypatch.setattr(matmul, "_allow_tf32", False)
    matmul.set_allow_tf32(True)
    assert matmul.allow_tf32()
    fast = run(matmul_bias, a, b)
    want_tf32, bound_tf32 = _expected_and_bound(a, b, None, False, False, False, tf32_inputs=True)
    assert_within(want_tf32, fast, bound_tf32)
    assert np.abs(fast - exact).max() > 1e-4  # TF32's 10-bit inputs do show
    if run.emulator is not None:
        assert run.emulator.launches[-1][0].startswith("matmul_tc<float,")


def test_kernel_choice():
    assert matmul.kernel_for(np.float16, 90) == "tc" and matmul.kernel_for(np.float16, 70) == "tc"
    assert matmul.kernel_for(np.float16, 61) == "generic"
    assert matmul.kernel_for(BF16, 80) == "tc" and matmul.kernel_for(BF16, 75) == "generic"
    assert matmul.kernel_for(np.float32, 90) == "simt" and matmul.kernel_for(np.float64, 90) == "generic"
    try:
        matmul.set_allow_tf32(True)
        assert matmul.kernel_for(np.float32, 80) == "tc" and matmul.kernel_for(np.float32, 75) == "simt"
    finally:
        matmul.set_allow_tf32(False)


@pytest.mark.parametrize("shape", [(64, 512, 784), (256, 1024, 1024)], ids=["64x784x512", "256x1024x1024"])
@pytest.mark.parametrize("tiles, bk", [(matmul.SIMT_TILES, 16), (matmul.TC_TILES, 32), (matmul.TC_TILES, 16)])
def test_mlp_shapes_give_every_sm_a_block(shape, tiles, bk):
    m, n, k = shape
    plan = matmul.choose_tile(tiles, m, n, k, 1, 132, bk)
    blocks = -(-m // plan.tile[0]) * -(-n // plan.tile[1]) * plan.splits
    assert blocks >= 132, plan
    assert plan.k_chunk % bk == 0 and plan.k_chunk >= matmul.MIN_SPLIT_K
    assert (plan.splits - 1) * plan.k_chunk < k <= plan.splits * plan.k_chunk  # every chunk has work


def test_tile_choice_large_and_tiny():
    assert matmul.choose_tile(matmul.SIMT_TILES, 4096, 4096, 4096, 1, 132, 16) == matmul.Tile((128, 128, 8, 8), 1,
                                                                                               4096)
    assert matmul.choose_tile(matmul.TC_TILES, 2, 3, 40, 1, 132, 32).splits == 1  # K too short to split
    assert matmul.choose_tile(matmul.TC_TILES, 2, 3, 0, 1, 132, 32).splits == 1


def test_offsets_beyond_int32_take_the_64_bit_kernel():
    assert matmul._fits_int32((1000, 1000), (1000, 1))
    assert not matmul._fits_int32((3, 1000), (2**30, 1))  # rows 4 GiB apart: 64-bit offsets
    assert not matmul._fits_int32((2, 2), (1, -(2**31)))
