// Warp-shuffle and shared-memory reductions over a 1-D block whose size is a multiple of 32.
#pragma once
#include "common.cuh"

template <typename A> struct SumOp {
    __device__ __forceinline__ A identity() const { return A(0); }
    __device__ __forceinline__ A operator()(A x, A y) const { return x + y; }
};
template <typename A> struct MaxOp {
    __device__ __forceinline__ A identity() const { return gc_neg_inf<A>(); }
    __device__ __forceinline__ A operator()(A x, A y) const { return gc_max(x, y); }
};

template <typename A, typename Op>
__device__ __forceinline__ A gc_warp_reduce(A v, Op op) {
    for (int delta = 16; delta > 0; delta >>= 1) v = op(v, __shfl_down_sync(0xffffffffu, v, delta));
    return v;
}

// Every thread gets the reduction of all threads' v. scratch: __shared__ A[32] of the caller.
// Ends with a barrier so the caller may reuse scratch straight away.
template <typename A, typename Op>
__device__ __forceinline__ A gc_block_reduce(A v, Op op, A* scratch) {
    const int lane = threadIdx.x & 31;
    const int warp = threadIdx.x >> 5;
    v = gc_warp_reduce(v, op);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < (int)(blockDim.x >> 5) ? scratch[lane] : op.identity();
        v = gc_warp_reduce(v, op);
        if (lane == 0) scratch[0] = v;
    }
    __syncthreads();
    v = scratch[0];
    __syncthreads();
    return v;
}
