// Fused softmax and log-softmax over the last axis of a contiguous (rows, cols) array.
//
// One block per row (grid-stride over rows): a block max, a block sum of exp(x - max), then one
// write pass, all in the accumulation type (float for half). The row is read three times and
// written once; rows of a training step (classes) fit in L1/L2, so the re-reads are cheap.
#include "block_reduce.cuh"

template <typename T, int LOG>
__global__ void softmax_rows(const T* __restrict__ x, T* __restrict__ y, index_t rows, index_t cols) {
    typedef typename Acc<T>::type A;
    __shared__ A scratch[32];
    for (index_t r = blockIdx.x; r < rows; r += gridDim.x) {
        const T* xr = x + r * cols;
        T* yr = y + r * cols;
        A m = gc_neg_inf<A>();
        for (index_t i = threadIdx.x; i < cols; i += blockDim.x) m = gc_max(m, to_acc(xr[i]));
        m = gc_block_reduce(m, MaxOp<A>(), scratch);
        A s = A(0);
        for (index_t i = threadIdx.x; i < cols; i += blockDim.x) s += gc_exp(to_acc(xr[i]) - m);
        s = gc_block_reduce(s, SumOp<A>(), scratch);
        if (LOG) {
            const A log_s = gc_log(s);
            for (index_t i = threadIdx.x; i < cols; i += blockDim.x) yr[i] = from_acc<T>((to_acc(xr[i]) - m) - log_s);
        } else {
            for (index_t i = threadIdx.x; i < cols; i += blockDim.x) yr[i] = from_acc<T>(gc_exp(to_acc(xr[i]) - m) / s);
        }
    }
}
