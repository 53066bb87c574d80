// Tensor-core matmul: C = op(A) @ op(B) (+ bias) (then ReLU), batched, for float16 and bfloat16
// (float32 accumulation, C rounded to the input dtype once) and for float32 as TF32 (opt-in:
// gpucell.set_context(gpu_config={"matmul_allow_tf32": True})). Strides, tails, batching and
// split K as in matmul_common.cuh.
//
// WMMA (16x16x16 fragments; 16x16x8 for TF32) rather than mma.sync: a WMMA fragment's register
// layout is unspecified, so this kernel never depends on it, and the host emulator
// (gpucell/backend/emulator/cuda_emulator.h) can model load / mma / store exactly without
// reproducing the per-lane layout of every mma.sync shape (which a mistake in either the kernel or
// the emulator would then agree on, unseen without a GPU). The WMMA calls go through gc_wmma
// (kernels/wmma.cuh: mma.h's API over PTX wmma instructions, because pip's CUDA headers cannot
// compile mma.h). The price: WMMA loads from
// shared memory without ldmatrix's swizzle freedom, and the accumulator reaches C through a small
// per-warp shared scratch (store_matrix_sync), which the fused epilogue needs anyway (bias per
// column, ReLU, rounding, bounds).
//
// Each block of WARPS_M x WARPS_N warps computes a BM x BN tile of C, each warp a
// (BM / WARPS_M) x (BN / WARPS_N) sub-tile of 16x16 accumulators. A and B are staged in BK-deep
// slices, both as [row][k] (A's rows are m, B's rows are n, k contiguous, rows padded by 16 bytes
// against bank conflicts), double-buffered: the next slice is copied with cp.async
// (__pipeline_memcpy_async, 16 bytes at a time; plain loads before sm_80) while the tensor cores
// work on the current one. That vector path needs k contiguous in memory and 16-byte aligned rows
// (vec_a / vec_b, decided by the wrapper: Dense's x @ W.T qualifies for both operands); any other
// layout is staged element by element, coalesced along whichever dimension is contiguous.
#include "matmul_common.cuh"
#include "wmma.cuh"

// bfloat16 and TF32 wmma instructions exist from sm_80 on, float16 ones from sm_70: elsewhere the
// kernel compiles to an empty body, which the wrapper never launches (kernel_ops/matmul.py checks
// the compute capability).
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
#define GC_TC_SM80 1
#else
#define GC_TC_SM80 0
#endif
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 700
#define GC_TC_SM70 1
#else
#define GC_TC_SM70 0
#endif

// Per input type: the wmma element type, the type shared memory holds (S), the raw bits copied
// (R), the K slice per stage (BK) and per mma (FK).
template <typename T> struct GcTc;
template <> struct GcTc<gc_half> {
    typedef gc_wmma_half S;
    typedef gc_wmma_half F;
    typedef unsigned short R;
    enum { BK = 32, FK = 16, supported = GC_TC_SM70 };
};
template <> struct GcTc<gc_bfloat16> {
    typedef gc_wmma_bfloat16 S;
    typedef gc_wmma_bfloat16 F;
    typedef unsigned short R;
    enum { BK = 32, FK = 16, supported = GC_TC_SM80 };
};
template <> struct GcTc<float> {
    typedef float S;
    typedef gc_wmma::precision::tf32 F;
    typedef float R;
    enum { BK = 16, FK = 8, supported = GC_TC_SM80 };
};

// Copies rows [r0, r0 + ROWS) x k [k0, k0 + BK) of a strided operand into dst[row][k] (pitch LD),
// zeros outside [0, rows) x [0, k_end). `vec`: k_stride == 1 and every row 16-byte aligned, so
// each 16-byte chunk is one cp.async (k_end is then a multiple of the chunk).
template <typename R, int ROWS, int BK, int LD, int THREADS>
__device__ __forceinline__ void gc_tc_stage(R* __restrict__ dst, const R* __restrict__ src, int r0, int rows, int k0,
                                            int k_end, int r_stride, int k_stride, int vec, int tid) {
    constexpr int VEC = 16 / sizeof(R);
    if (vec) {
        for (int e = tid; e < ROWS * BK / VEC; e += THREADS) {
            const int r = e / (BK / VEC), kk = e % (BK / VEC) * VEC;
            R* d = dst + r * LD + kk;
            if (r0 + r < rows && k0 + kk < k_end)
                __pipeline_memcpy_async(d, src + (r0 + r) * r_stride + (k0 + kk), 16);
            else
                *reinterpret_cast<uint4*>(d) = make_uint4(0, 0, 0, 0);
        }
        return;
    }
#pragma unroll 1  // the slow path: keep its registers out of the fast path's way
    for (int e = tid; e < ROWS * BK; e += THREADS) {
        const int r = k_stride == 1 ? e / BK : e % ROWS;
        const int kk = k_stride == 1 ? e % BK : e / ROWS;
        const bool inside = r0 + r < rows && k0 + kk < k_end;
        dst[r * LD + kk] = inside ? src[(r0 + r) * r_stride + (k0 + kk) * k_stride] : R(0);
    }
}

template <typename T, int BM, int BN, int WARPS_M, int WARPS_N>
__global__ void __launch_bounds__(WARPS_M * WARPS_N * 32)
matmul_tc(const T* __restrict__ a, const T* __restrict__ b, const T* __restrict__ bias, T* __restrict__ c,
          float* __restrict__ partial, int M, int N, int K, int batch, int splits, int k_chunk,
          index_t a_bs, int a_ms, int a_ks, index_t b_bs, int b_ks, int b_ns, int vec_a, int vec_b,
          int has_bias, int relu) {
    typedef GcTc<T> Tr;
    typedef typename Tr::S S;
    typedef typename Tr::F F;
    typedef typename Tr::R R;
    constexpr int BK = Tr::BK, FK = Tr::FK, LD = BK + 16 / (int)sizeof(R);
    constexpr int THREADS = WARPS_M * WARPS_N * 32;
    constexpr int WTM = BM / WARPS_M, WTN = BN / WARPS_N, FM = WTM / 16, FN = WTN / 16;
    constexpr int STAGE = (BM + BN) * LD;  // elements: A's BM rows, then B's BN rows
    constexpr int TILE_BYTES = 2 * STAGE * (int)sizeof(R), SCRATCH_BYTES = WARPS_M * WARPS_N * 256 * 4;
    constexpr int SMEM = TILE_BYTES > SCRATCH_BYTES ? TILE_BYTES : SCRATCH_BYTES;
    // The two stages while the K loop runs; each warp's 16x16 float scratch in the epilogue.
    __shared__ __align__(32) unsigned char smem[SMEM];
    static_assert(BM % (16 * WARPS_M) == 0 && BN % (16 * WARPS_N) == 0, "warp tiles are whole fragments");

    namespace wmma = gc_wmma;
    if constexpr (Tr::supported) {
        R* tiles = reinterpret_cast<R*>(smem);
        const int tid = threadIdx.x, warp = tid / 32, lane = tid % 32;
        const int wm = warp / WARPS_N, wn = warp % WARPS_N;
        const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;

        for (int z = blockIdx.z; z < batch * splits; z += gridDim.z) {
            const GcMmJob job = gc_mm_job(z, splits, k_chunk, K);
            const R* ap = reinterpret_cast<const R*>(a + job.p * a_bs);
            const R* bp = reinterpret_cast<const R*>(b + job.p * b_bs);
            auto stage = [&](int buffer, int k0) {
                R* dst = tiles + buffer * STAGE;
                gc_tc_stage<R, BM, BK, LD, THREADS>(dst, ap, m0, M, k0, job.k_end, a_ms, a_ks, vec_a, tid);
                gc_tc_stage<R, BN, BK, LD, THREADS>(dst + BM * LD, bp, n0, N, k0, job.k_end, b_ns, b_ks, vec_b, tid);
            };

            wmma::fragment<wmma::accumulator, 16, 16, FK, float> acc[FM][FN];
#pragma unroll
            for (int i = 0; i < FM; ++i)
#pragma unroll
                for (int j = 0; j < FN; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

            gc_mm_k_loop<BK>(job, stage, [&](int buffer) {
                const S* as = reinterpret_cast<const S*>(tiles + buffer * STAGE);
                const S* bs = as + BM * LD;
#pragma unroll
                for (int kk = 0; kk < BK; kk += FK) {
                    wmma::fragment<wmma::matrix_a, 16, 16, FK, F, wmma::row_major> fa[FM];
                    wmma::fragment<wmma::matrix_b, 16, 16, FK, F, wmma::col_major> fb[FN];
#pragma unroll
                    for (int i = 0; i < FM; ++i) {
                        wmma::load_matrix_sync(fa[i], as + (wm * WTM + i * 16) * LD + kk, LD);
                        if constexpr (sizeof(R) == 4)  // TF32: round to nearest (the hardware would truncate)
#pragma unroll
                            for (int x = 0; x < fa[i].num_elements; ++x) fa[i].x[x] = wmma::__float_to_tf32(fa[i].x[x]);
                    }
#pragma unroll
                    for (int j = 0; j < FN; ++j) {
                        wmma::load_matrix_sync(fb[j], bs + (wn * WTN + j * 16) * LD + kk, LD);
                        if constexpr (sizeof(R) == 4)
#pragma unroll
                            for (int x = 0; x < fb[j].num_elements; ++x) fb[j].x[x] = wmma::__float_to_tf32(fb[j].x[x]);
                    }
#pragma unroll
                    for (int i = 0; i < FM; ++i)
#pragma unroll
                        for (int j = 0; j < FN; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
                }
            });

            float* scratch = reinterpret_cast<float*>(smem) + warp * 256;
#pragma unroll
            for (int i = 0; i < FM; ++i)
#pragma unroll
                for (int j = 0; j < FN; ++j) {
                    wmma::store_matrix_sync(scratch, acc[i][j], 16, wmma::mem_row_major);
                    __syncwarp();
#pragma unroll 1
                    for (int e = lane; e < 256; e += 32) {
                        const int m = m0 + wm * WTM + i * 16 + e / 16, n = n0 + wn * WTN + j * 16 + e % 16;
                        if (m < M && n < N)
                            gc_mm_epilogue<T>(scratch[e], c, partial, bias, m, n, M, N, job, batch, splits, has_bias,
                                              relu);
                    }
                    __syncwarp();
                }
            __syncthreads();  // the scratch overlaps the stages the next job fills
        }
    }
}
