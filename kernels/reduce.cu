// Sum, mean and max over one axis or over all, for half (fp32 accumulation), float and double.
//
// The wrapper views the input as contiguous (outer, R, inner) and reduces R:
// * reduce_rows (inner == 1): one block per row, or per chunk of a row when rows are few and
//   long; each chunk is reduced with warp shuffles and shared memory. A split row leaves
//   per-chunk partials in the accumulation type, which a second reduce_rows launch combines.
// * reduce_cols (inner > 1, e.g. the bias gradient): a 32 x 8 block covers 32 neighbouring
//   columns (coalesced) and splits R eight ways, combined through shared memory. When there are
//   too few columns to fill the GPU (a mean over axis 0 of a (1e6, 16) array), R is also split
//   over blockIdx.z into chunks whose partials, in the accumulation type, a second reduce_cols
//   launch combines.
// mean divides by `divisor` at the end (1 for sum and max, and for the first of two passes).
#include "block_reduce.cuh"

#define GC_REDUCE_SUM 0
#define GC_REDUCE_MAX 1

template <typename A, int OP> struct ReduceOp { typedef SumOp<A> type; };
template <typename A> struct ReduceOp<A, GC_REDUCE_MAX> { typedef MaxOp<A> type; };

// y[r * gridDim.x + chunk] = reduce(x[r, chunk * chunk_len : (chunk + 1) * chunk_len]) / divisor
template <typename Tin, typename Tout, int OP>
__global__ void reduce_rows(const Tin* __restrict__ x, Tout* __restrict__ y, index_t rows, index_t cols,
                            index_t chunk_len, typename Acc<Tin>::type divisor) {
    typedef typename Acc<Tin>::type A;
    typedef typename ReduceOp<A, OP>::type Op;
    __shared__ A scratch[32];
    const Op op;
    const index_t begin = (index_t)blockIdx.x * chunk_len;
    const index_t end = begin + chunk_len < cols ? begin + chunk_len : cols;
    for (index_t r = blockIdx.y; r < rows; r += gridDim.y) {
        const Tin* row = x + r * cols;
        A v = op.identity();
        for (index_t i = begin + threadIdx.x; i < end; i += blockDim.x) v = op(v, to_acc(row[i]));
        v = gc_block_reduce(v, op, scratch);
        if (threadIdx.x == 0) y[r * gridDim.x + blockIdx.x] = from_acc<Tout>(v / divisor);
    }
}

#define GC_COLS_X 32
#define GC_COLS_Y 8

// y[o, z, j] = reduce(x[o, z * chunk_len : (z + 1) * chunk_len, j]) / divisor for z = blockIdx.z
// (y is (outer, gridDim.z, inner); one chunk, gridDim.z = 1, reduces the whole axis), block (32, 8).
template <typename Tin, typename Tout, int OP>
__global__ void reduce_cols(const Tin* __restrict__ x, Tout* __restrict__ y, index_t outer, index_t R,
                            index_t inner, index_t chunk_len, typename Acc<Tin>::type divisor) {
    typedef typename Acc<Tin>::type A;
    typedef typename ReduceOp<A, OP>::type Op;
    __shared__ A partial[GC_COLS_Y][GC_COLS_X + 1];
    const Op op;
    const index_t r_begin = (index_t)blockIdx.z * chunk_len;
    const index_t r_end = r_begin + chunk_len < R ? r_begin + chunk_len : R;
    for (index_t o = blockIdx.y; o < outer; o += gridDim.y) {
        // The loop bounds depend on the block only, so every thread reaches each barrier.
        for (index_t j0 = (index_t)blockIdx.x * GC_COLS_X; j0 < inner; j0 += (index_t)gridDim.x * GC_COLS_X) {
            const index_t j = j0 + threadIdx.x;
            A v = op.identity();
            if (j < inner)
                for (index_t r = r_begin + threadIdx.y; r < r_end; r += GC_COLS_Y)
                    v = op(v, to_acc(x[(o * R + r) * inner + j]));
            partial[threadIdx.y][threadIdx.x] = v;
            __syncthreads();
            if (threadIdx.y == 0 && j < inner) {
                for (int t = 1; t < GC_COLS_Y; ++t) v = op(v, partial[t][threadIdx.x]);
                y[(o * gridDim.z + blockIdx.z) * inner + j] = from_acc<Tout>(v / divisor);
            }
            __syncthreads();
        }
    }
}
