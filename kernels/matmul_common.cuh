// What the fast matmul kernels (matmul_simt.cu, matmul_tc.cu) share: the split-K job of a block,
// the fused epilogue, and the kernel that sums split-K partials.
//
// Both stage A and B in K slices, double-buffered (gc_mm_k_loop): the next slice is copied with
// cp.async while the current one is multiplied.
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
#ifndef GPUCELL_EMULATOR
#include <cuda_pipeline_primitives.h>
#endif

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

// The K loop over a job's BK-deep slices with two buffers: stage(buffer, k0) queues the cp.async
// copies of the slice at k0 into `buffer`, multiply(buffer) reads a slice that has landed. Slice t + 1
// is copied while slice t is multiplied; a buffer is staged again only once every thread has read it.
template <int BK, typename Stage, typename Multiply>
__device__ __forceinline__ void gc_mm_k_loop(const GcMmJob& job, Stage&& stage, Multiply&& multiply) {
    const int n_tiles = (job.k_end - job.k_begin + BK - 1) / BK;
    if (n_tiles > 0) stage(0, job.k_begin);
    __pipeline_commit();
    for (int t = 0; t < n_tiles; ++t) {
        if (t + 1 < n_tiles) stage((t + 1) & 1, job.k_begin + (t + 1) * BK);
        __pipeline_commit();
        __pipeline_wait_prior(1);  // this thread's copies of slice t have landed...
        __syncthreads();           // ...and every other thread's
        multiply(t & 1);
        __syncthreads();  // slice t is read: the next iteration may stage into its buffer
    }
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
