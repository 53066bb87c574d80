// Strided, broadcasting element offsets for elementwise kernels.
//
// The Python wrapper collapses the output shape (merging dimensions that are contiguous in every
// operand, dropping size-1 ones) and gives each operand its element strides, 0 where broadcast.
// Usually one dimension remains, which takes the division-free path.
#pragma once
#include "common.cuh"

#define GC_MAX_DIMS 6
#define GC_MAX_OPERANDS 3

// Passed by value as a kernel argument (a NumPy structured scalar of the same layout: all int64).
struct BroadcastIndex {
    index_t ndim;
    index_t shape[GC_MAX_DIMS];
    index_t strides[GC_MAX_OPERANDS][GC_MAX_DIMS];
};

// Element offsets of the first K operands for the C-order linear output index i.
template <int K>
__device__ __forceinline__ void gc_offsets(const BroadcastIndex& ix, index_t i, index_t (&off)[K]) {
    if (ix.ndim == 1) {
        for (int k = 0; k < K; ++k) off[k] = i * ix.strides[k][0];
        return;
    }
    for (int k = 0; k < K; ++k) off[k] = 0;
    for (int d = (int)ix.ndim - 1; d >= 0; --d) {
        index_t coord;
        gc_divmod(i, ix.shape[d], i, coord);  // 32-bit division when the index fits
        for (int k = 0; k < K; ++k) off[k] += coord * ix.strides[k][d];
    }
}
