"""The emulator's tensor-core and async-copy model (cuda_emulator.h): nvcuda::wmma fragments as
warp-collective operations, cp.async (__pipeline_memcpy_async / commit / wait_prior) as copies that
land only when waited for, and __half / __nv_bfloat16 / TF32 rounding, each against NumPy or
ml_dtypes, and the misuses CUDA leaves undefined caught as launch errors."""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from gpucell.backend import emulator, kernels
from gpucell.backend.emulator import EmulatorError

SOURCE = r"""
using namespace nvcuda;

// One warp: C (16x16 float) = A (16x16, row-major) @ B (16x16, col-major in memory) + C.
template <typename T>
__global__ void wmma_16x16x16(const T* a, const T* b, float* c) {
    __shared__ __align__(32) T as[256];
    __shared__ __align__(32) T bs[256];
    for (int i = threadIdx.x; i < 256; i += 32) as[i] = a[i], bs[i] = b[i];
    __syncwarp();
    wmma::fragment<wmma::matrix_a, 16, 16, 16, T, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 16, T, wmma::col_major> fb;
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::load_matrix_sync(fa, as, 16);
    wmma::load_matrix_sync(fb, bs, 16);
    wmma::load_matrix_sync(acc, c, 16, wmma::mem_row_major);
    wmma::mma_sync(acc, fa, fb, acc);
    wmma::store_matrix_sync(c, acc, 16, wmma::mem_row_major);
}

// TF32: C = round(A) @ round(B), A 16x8 row-major, B 8x16 col-major.
__global__ void wmma_tf32(const float* a, const float* b, float* c, int round) {
    __shared__ __align__(32) float as[128];
    __shared__ __align__(32) float bs[128];
    for (int i = threadIdx.x; i < 128; i += 32) as[i] = a[i], bs[i] = b[i];
    __syncwarp();
    wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::row_major> fa;
    wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::col_major> fb;
    wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc;
    wmma::fill_fragment(acc, 0.0f);
    wmma::load_matrix_sync(fa, as, 8);
    wmma::load_matrix_sync(fb, bs, 8);
    if (round) {
        for (int i = 0; i < fa.num_elements; ++i) fa.x[i] = wmma::__float_to_tf32(fa.x[i]);
        for (int i = 0; i < fb.num_elements; ++i) fb.x[i] = wmma::__float_to_tf32(fb.x[i]);
    }
    wmma::mma_sync(acc, fa, fb, acc);
    wmma::store_matrix_sync(c, acc, 16, wmma::mem_row_major);
}

// Misuses: a lane-dependent pointer, a misaligned pointer, an ldm of 12 bytes.
__global__ void wmma_misuse(const float* c_in, int which) {
    __shared__ __align__(32) float cs[512];
    for (int i = threadIdx.x; i < 512; i += 32) cs[i] = c_in[i];
    __syncwarp();
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    const float* p = which == 0 ? cs + (threadIdx.x % 2) * 32 : which == 1 ? cs + 4 : cs;
    wmma::load_matrix_sync(acc, p, which == 2 ? 3 : 16, wmma::mem_row_major);
}

// out[t] = the staged copy of src[t] (4 bytes), read after waiting for `wait` older groups,
// then a zero-filled 16-byte copy.
__global__ void async_copy(const float* src, float* out, int prior) {
    __shared__ __align__(16) float staged[2][64];
    const int t = threadIdx.x;
    staged[0][t] = -1.0f;
    staged[1][t] = -1.0f;
    __pipeline_memcpy_async(&staged[0][t], &src[t], 4);
    __pipeline_commit();
    __pipeline_memcpy_async(&staged[1][t], &src[64 + t], 4);
    __pipeline_commit();
    __pipeline_wait_prior(prior);
    out[t] = staged[0][t];
    out[64 + t] = staged[1][t];
    if (t % 4 == 0) {
        __pipeline_memcpy_async(&staged[0][t], &src[t], 16, 8);  // 8 bytes copied, 8 zeroed
        __pipeline_commit();
        __pipeline_wait_prior(0);
        for (int i = 0; i < 4; ++i) out[128 + t + i] = staged[0][t + i];
    }
}

__global__ void async_misaligned(const float* src) {
    __shared__ __align__(16) float staged[8];
    __pipeline_memcpy_async(&staged[1], src, 16);
}

// cp.async writes shared memory only.
__global__ void async_to_global(const float* src, float* dst) { __pipeline_memcpy_async(dst, src, 4); }

__global__ void round_2byte(const float* x, __half* h, __nv_bfloat16* b, float* back, int n) {
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        h[i] = __float2half_rn(x[i]);
        b[i] = __float2bfloat16_rn(x[i]);
        back[i] = __half2float(h[i]) + __bfloat162float(b[i]);
    }
}
"""
NAMES = ["wmma_16x16x16<__half>", "wmma_16x16x16<__nv_bfloat16>", "wmma_tf32", "wmma_misuse", "async_copy",
         "async_misaligned", "async_to_global", "round_2byte"]
# kernels/wmma.cuh's gc_wmma names the .shared state space: under the emulator too, a store (or
# load) through a pointer outside __shared__ memory fails the launch.
GC_WMMA_SOURCE = kernels.source("wmma.cuh") + r"""
__global__ void gc_wmma_store(float* global_out, int to_shared) {
    __shared__ __align__(32) float scratch[256];
    gc_wmma::fragment<gc_wmma::accumulator, 16, 16, 16, float> acc;
    gc_wmma::fill_fragment(acc, 2.0f);
    gc_wmma::store_matrix_sync(to_shared ? scratch : global_out, acc, 16, gc_wmma::mem_row_major);
    __syncwarp();
    if (to_shared)
        for (int i = threadIdx.x; i < 256; i += 32) global_out[i] = scratch[i];
}
"""
BF16 = ml_dtypes.bfloat16


@pytest.fixture(scope="module")
def lib(emulator_cache):
    return emulator.build(SOURCE, NAMES, emulator_cache)


def aligned(x: np.ndarray) -> np.ndarray:
    """A copy of ``x`` at a 64-byte aligned address (wmma needs 32 bytes; NumPy promises 16)."""
    buffer = np.empty(x.nbytes + 64, np.uint8)
    start = -buffer.ctypes.data % 64
    out = buffer[start:start + x.nbytes].view(x.dtype).reshape(x.shape)
    out[...] = x
    return out


def tf32(x):
    u = x.astype(np.float32).view(np.uint32)
    return ((u + np.uint32(0x1000)) & np.uint32(0xFFFFE000)).view(np.float32)


@pytest.mark.parametrize("dtype, name", [(np.float16, "__half"), (BF16, "__nv_bfloat16")])
def test_wmma_mma_is_a_float32_product_of_the_fragments(lib, dtype, name):
    rng = np.random.default_rng(0)
    a = rng.standard_normal((16, 16)).astype(dtype)
    b = rng.standard_normal((16, 16)).astype(dtype)  # logical B; stored col-major: b.T row by row
    c = rng.standard_normal((16, 16)).astype(np.float32)
    out = aligned(c)
    lib.launch(f"wmma_16x16x16<{name}>", (1,), (32,), (a.view(np.uint16), np.ascontiguousarray(b.T).view(np.uint16),
                                                        out))
    exact = a.astype(np.float64) @ b.astype(np.float64) + c
    # Products of 2-byte floats are exact in float32: only the 16 float32 additions round.
    bound = 2 * 17 * 2.0 ** -24 * (np.abs(a.astype(np.float64)) @ np.abs(b.astype(np.float64)) + np.abs(c))
    assert np.all(np.abs(out - exact) <= bound)


@pytest.mark.parametrize("rounded", [True, False])
def test_tf32_fragments_round_or_truncate(lib, rounded):
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((16, 8)).astype(np.float32), rng.standard_normal((8, 16)).astype(np.float32)
    out = aligned(np.zeros((16, 16), np.float32))
    lib.launch("wmma_tf32", (1,), (32,), (a, np.ascontiguousarray(b.T), out, np.int32(rounded)))
    if rounded:
        ra, rb = tf32(a), tf32(b)
    else:  # the hardware reads the top 19 bits of an unconverted float
        ra = (a.view(np.uint32) & np.uint32(0xFFFFE000)).view(np.float32)
        rb = (b.view(np.uint32) & np.uint32(0xFFFFE000)).view(np.float32)
    exact = ra.astype(np.float64) @ rb.astype(np.float64)
    np.testing.assert_allclose(out, exact, rtol=0, atol=2 * 9 * 2.0 ** -24 * (np.abs(ra) @ np.abs(rb)).max())
    other = tf32(a).astype(np.float64) @ tf32(b).astype(np.float64)
    assert rounded == bool(np.abs(out - other).max() < 1e-5)


@pytest.mark.parametrize("which, message", [(0, "different pointers or ldm"), (1, "256-bit"),
                                            (2, "multiple of 16 bytes")])
def test_wmma_misuse_fails_the_launch(lib, which, message):
    with pytest.raises(EmulatorError, match=message):
        lib.launch("wmma_misuse", (1,), (32,), (np.zeros(512, np.float32), np.int32(which)))


@pytest.mark.parametrize("prior", [0, 1, 2])
def test_async_copies_land_when_waited_for(lib, prior):
    src = np.arange(128, dtype=np.float32) + 1
    out = np.zeros(192, np.float32)
    lib.launch("async_copy", (1,), (64,), (src, out, np.int32(prior)))
    # wait_prior(n): all but the n most recent committed groups have landed; the destination of
    # one still in flight is undefined, which the emulator shows as poison (NaN), not the old -1.
    np.testing.assert_array_equal(out[:64], src[:64] if prior <= 1 else np.nan)
    np.testing.assert_array_equal(out[64:128], src[64:] if prior == 0 else np.nan)
    zfilled = out[128:].reshape(16, 4)
    np.testing.assert_array_equal(zfilled[:, :2], src[:64].reshape(16, 4)[:, :2])
    np.testing.assert_array_equal(zfilled[:, 2:], 0)


def test_async_copy_alignment_is_checked(lib):
    with pytest.raises(EmulatorError, match="aligned"):
        lib.launch("async_misaligned", (1,), (1,), (np.zeros(8, np.float32),))


def test_async_copy_destination_must_be_shared(lib):
    with pytest.raises(EmulatorError, match="__shared__"):
        lib.launch("async_to_global", (1,), (1,), (np.ones(4, np.float32), np.zeros(4, np.float32)))


def test_gc_wmma_takes_shared_memory_only(emulator_cache):
    gc_lib = emulator.build(GC_WMMA_SOURCE, ["gc_wmma_store"], emulator_cache)
    out = aligned(np.zeros(256, np.float32))
    gc_lib.launch("gc_wmma_store", (1,), (32,), (out, np.int32(1)))
    np.testing.assert_array_equal(out, 2.0)
    with pytest.raises(EmulatorError, match="gc_wmma::store_matrix_sync needs a pointer into __shared__"):
        gc_lib.launch("gc_wmma_store", (1,), (32,), (out, np.int32(0)))


def test_2byte_conversions_round_to_nearest_even_like_numpy_and_ml_dtypes(lib):
    rng = np.random.default_rng(2)
    x = np.concatenate([rng.standard_normal(200).astype(np.float32) * 1000,
                        np.array([1 + 2 ** -8, 1 + 3 * 2 ** -8, 1 + 2 ** -11, 65520, 3.4e38, -0.0, 1e-40,
                                  np.inf, -np.inf, np.nan, -np.nan], np.float32)])
    h, b, back = np.zeros(x.size, np.uint16), np.zeros(x.size, np.uint16), np.zeros(x.size, np.float32)
    with np.errstate(over="ignore"):
        want_h, want_b = x.astype(np.float16), x.astype(BF16)
    lib.launch("round_2byte", (1,), (64,), (x, h, b, back, np.int32(x.size)), ftz=False)
    np.testing.assert_array_equal(h, want_h.view(np.uint16))
    np.testing.assert_array_equal(b, want_b.view(np.uint16))
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(back, want_h.astype(np.float32) + want_b.astype(np.float32))
