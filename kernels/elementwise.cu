// Elementwise kernels: fill, where (select), the six comparisons and the fused threshold.
//
// All are grid-stride loops over the C-ordered output, which is always a fresh contiguous array;
// inputs are read through BroadcastIndex strides, so broadcast and non-contiguous inputs need no
// copy. Instantiated for bool, int8, uint8, int16, int32, int64, half, float and double
// (threshold: the floating types) by gpucell/backend/kernel_ops/elementwise.py.
#include "broadcast.cuh"

template <typename T>
__global__ void fill(T* __restrict__ out, index_t n, T value) {
    for (index_t i = gc_global_thread(); i < n; i += gc_grid_threads()) out[i] = value;
}

// out = cond ? x : y, all three broadcast to out's shape (operand order in ix: cond, x, y).
template <typename T>
__global__ void where(const bool* __restrict__ cond, const T* __restrict__ x, const T* __restrict__ y,
                       T* __restrict__ out, index_t n, BroadcastIndex ix) {
    for (index_t i = gc_global_thread(); i < n; i += gc_grid_threads()) {
        index_t off[3];
        gc_offsets<3>(ix, i, off);
        out[i] = cond[off[0]] ? x[off[1]] : y[off[2]];
    }
}

// Comparison codes, shared with the Python wrapper: gt ge lt le eq ne.
enum CompareOp { CMP_GT = 0, CMP_GE = 1, CMP_LT = 2, CMP_LE = 3, CMP_EQ = 4, CMP_NE = 5 };

template <typename A>
__device__ __forceinline__ bool gc_compare(int op, A a, A b) {
    switch (op) {
        case CMP_GT: return a > b;
        case CMP_GE: return a >= b;
        case CMP_LT: return a < b;
        case CMP_LE: return a <= b;
        case CMP_EQ: return a == b;
        default: return a != b;
    }
}

// out = x <op> y with broadcasting; half compares through float, which is exact.
// The op is a runtime argument: it is uniform across the grid, so the switch costs a few
// instructions in a memory-bound loop and saves five instantiations per dtype.
template <typename T>
__global__ void compare(const T* __restrict__ x, const T* __restrict__ y, bool* __restrict__ out,
                        index_t n, BroadcastIndex ix, int op) {
    for (index_t i = gc_global_thread(); i < n; i += gc_grid_threads()) {
        index_t off[2];
        gc_offsets<2>(ix, i, off);
        out[i] = gc_compare(op, to_acc(x[off[0]]), to_acc(y[off[1]]));
    }
}

// out = x > t ? x : v in one pass (the Threshold cell); t and v already have x's dtype.
template <typename T>
__global__ void threshold(const T* __restrict__ x, T* __restrict__ out, index_t n, BroadcastIndex ix,
                          T t, T v) {
    const typename Acc<T>::type ta = to_acc(t);
    for (index_t i = gc_global_thread(); i < n; i += gc_grid_threads()) {
        index_t off[1];
        gc_offsets<1>(ix, i, off);
        const T xi = x[off[0]];
        out[i] = to_acc(xi) > ta ? xi : v;
    }
}
