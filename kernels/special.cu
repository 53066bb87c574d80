// erf elementwise, for the exact GeLU and its gradient: half (through float), float and double.
//
// A grid-stride loop over a contiguous input into a fresh contiguous output. CUDA's erff and erf
// are within 2 ulp of the exact value (CUDA Math API appendix); the NumPy reference computes in
// double and rounds once, so the two agree to a few ulp, not bit for bit.
#include "common.cuh"

__device__ __forceinline__ float gc_erf(float v) { return erff(v); }
__device__ __forceinline__ double gc_erf(double v) { return erf(v); }

template <typename T>
__global__ void erf_elementwise(const T* __restrict__ x, T* __restrict__ y, index_t n) {
    for (index_t i = gc_global_thread(); i < n; i += gc_grid_threads()) y[i] = from_acc<T>(gc_erf(to_acc(x[i])));
}
