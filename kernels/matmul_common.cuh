// What the fast matmul kernels (matmul_simt.cu, matmul_tc.cu) share: the split-K job of a block,
// the fused epilogue, and the kernel that sums split-K partials.
//
// Both kernels compute C = op(A) @ op(B) (+ bias) (then ReLU) for a contiguous (batch, M, N) C,
// reading op(A) and op(B) through (batch, row, column) element strides, as kernels/matmul.cu
// does. Offsets inside one matrix are 32-bit (the wrapper sends a matrix whose span does not fit
// to kernels/matmul.cu, which indexes in 64-bit); batch offsets are 64-bit.
//
// Split K: when the output has fewer tiles than the GPU has SMs, the wrapper splits K into
// `splits` chunks of `k_chunk` (a multiple of the kernel's K slice); the block of chunk s writes
// its float sums to partial[s] and matmul_splitk_sum adds the chunks in order (deterministic),
// then applies the bias, the ReLU and the rounding. One split: the kernel does all of it itself.
#pragma once
#include "common.cuh"

// The (batch, split) pair of grid slice z, and its K range [k_begin, k_end).
struct GcMmJob {
    int p, s, k_begin, k_end;
};

__device__ __forceinline__ GcMmJob gc_mm_job(int z, int splits, int k_chunk, int K) {
    GcMmJob job;
    job.p = z / splits;
    job.s = z - job.p * splits;
    job.k_begin = job.s * k_chunk;
    job.k_end = min(K, job.k_begin + k_chunk);
    return job;
}

// One element (m, n) of batch p, accumulated in float: the finished value of C, or (split K) the
// chunk's partial sum.
template <typename T>
__device__ __forceinline__ void gc_mm_epilogue(float v, T* __restrict__ c, float* __restrict__ partial,
                                               const T* __restrict__ bias, int m, int n, int M, int N,
                                               const GcMmJob& job, int batch, int splits, int has_bias,
                                               int relu) {
    const index_t at = ((index_t)job.p * M + m) * N + n;
    if (splits > 1) {
        partial[(index_t)job.s * batch * M * N + at] = v;
        return;
    }
    if (has_bias) v += to_acc(bias[n]);
    if (relu && v < 0.0f) v = 0.0f;  // NaN stays NaN, as NumPy's maximum keeps it
    c[at] = from_acc<T>(v);
}

// c[i] = act(sum over s of partial[s * total + i] + bias[i % N]), rounded to T; total = batch * M * N.
template <typename T>
__global__ void matmul_splitk_sum(const float* __restrict__ partial, const T* __restrict__ bias, T* __restrict__ c,
                                  index_t total, index_t N, int splits, int has_bias, int relu) {
    for (index_t i = gc_global_thread(); i < total; i += gc_grid_threads()) {
        float v = 0.0f;
        for (int s = 0; s < splits; ++s) v += partial[s * total + i];
        if (has_bias) {
            index_t row, n;
            gc_divmod(i, N, row, n);
            v += to_acc(bias[n]);
        }
        if (relu && v < 0.0f) v = 0.0f;
        c[i] = from_acc<T>(v);
    }
}
