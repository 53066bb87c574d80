// float32 matmul on the CUDA cores: C = op(A) @ op(B) (+ bias) (then ReLU), batched, strided,
// split K (matmul_common.cuh). NumPy-level accuracy: every product and sum in float32 (FMA).
//
// Each block of (BM / TM) x (BN / TN) threads computes a BM x BN tile of C; each thread a TM x TN
// register fragment made of 4x4 blocks: its rows are TM / 4 runs of 4 consecutive rows (run g
// starts at g * BM / (TM / 4) + 4 * tm), its columns likewise, so each run is one float4 read from
// shared memory and a K step costs TM / 4 + TN / 4 vector loads for TM * TN FMAs (128x128: 4 loads,
// 64 FMAs). A and B are staged transposed to [k][m] and [k][n] in BK-deep slices, each row padded by
// 4 floats (float4 reads stay aligned; the transposing stores hit a bank at most twice),
// double-buffered: the next slice is copied by cp.async (__pipeline_memcpy_async of each 4-byte
// element, any strides; plain loads before sm_80) while the current one is multiplied. Offsets
// inside a matrix are 32-bit.
#include "matmul_common.cuh"

#define GC_MM_SIMT_BK 16

template <int BM, int BN, int TM, int TN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
matmul_simt(const float* __restrict__ a, const float* __restrict__ b, const float* __restrict__ bias,
            float* __restrict__ c, float* __restrict__ partial, int M, int N, int K, int batch, int splits,
            int k_chunk, index_t a_bs, int a_ms, int a_ks, index_t b_bs, int b_ks, int b_ns, int has_bias, int relu) {
    constexpr int BK = GC_MM_SIMT_BK, THREADS_M = BM / TM, THREADS_N = BN / TN;
    constexpr int THREADS = THREADS_M * THREADS_N, LDA = BM + 4, LDB = BN + 4;
    static_assert(TM % 4 == 0 && TN % 4 == 0, "the register fragment is made of 4x4 blocks");
    __shared__ __align__(16) float as[2][BK][LDA];
    __shared__ __align__(16) float bs[2][BK][LDB];

    const int tid = threadIdx.x, tm = tid / THREADS_N, tn = tid % THREADS_N;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;

    for (int z = blockIdx.z; z < batch * splits; z += gridDim.z) {
        const GcMmJob job = gc_mm_job(z, splits, k_chunk, K);
        const float* ap = a + job.p * a_bs;
        const float* bp = b + job.p * b_bs;
        // Neighbouring threads copy neighbouring addresses of whichever dimension is contiguous in
        // memory, so the global reads coalesce for an operand and its transpose alike.
        auto stage = [&](int buffer, int k0) {
            for (int e = tid; e < BM * BK; e += THREADS) {
                const int r = a_ks == 1 ? e / BK : e % BM, kk = a_ks == 1 ? e % BK : e / BM;
                float* d = &as[buffer][kk][r];
                if (m0 + r < M && k0 + kk < job.k_end)
                    __pipeline_memcpy_async(d, ap + (m0 + r) * a_ms + (k0 + kk) * a_ks, 4);
                else
                    *d = 0.0f;
            }
            for (int e = tid; e < BK * BN; e += THREADS) {
                const int col = b_ns == 1 ? e % BN : e / BK, kk = b_ns == 1 ? e / BN : e % BK;
                float* d = &bs[buffer][kk][col];
                if (n0 + col < N && k0 + kk < job.k_end)
                    __pipeline_memcpy_async(d, bp + (k0 + kk) * b_ks + (n0 + col) * b_ns, 4);
                else
                    *d = 0.0f;
            }
        };

        float acc[TM][TN];
        for (int i = 0; i < TM; ++i)
            for (int j = 0; j < TN; ++j) acc[i][j] = 0.0f;

        gc_mm_k_loop<BK>(job, stage, [&](int buffer) {
#pragma unroll
            for (int kk = 0; kk < BK; ++kk) {
                float ra[TM], rb[TN];
#pragma unroll
                for (int g = 0; g < TM / 4; ++g) {
                    const float4 v = *reinterpret_cast<const float4*>(&as[buffer][kk][g * THREADS_M * 4 + tm * 4]);
                    ra[4 * g] = v.x, ra[4 * g + 1] = v.y, ra[4 * g + 2] = v.z, ra[4 * g + 3] = v.w;
                }
#pragma unroll
                for (int g = 0; g < TN / 4; ++g) {
                    const float4 v = *reinterpret_cast<const float4*>(&bs[buffer][kk][g * THREADS_N * 4 + tn * 4]);
                    rb[4 * g] = v.x, rb[4 * g + 1] = v.y, rb[4 * g + 2] = v.z, rb[4 * g + 3] = v.w;
                }
#pragma unroll
                for (int i = 0; i < TM; ++i)
#pragma unroll
                    for (int j = 0; j < TN; ++j) acc[i][j] += ra[i] * rb[j];
            }
        });

        for (int i = 0; i < TM; ++i) {
            const int m = m0 + (i / 4) * THREADS_M * 4 + tm * 4 + i % 4;
            if (m >= M) continue;
            for (int j = 0; j < TN; ++j) {
                const int n = n0 + (j / 4) * THREADS_N * 4 + tn * 4 + j % 4;
                if (n < N)
                    gc_mm_epilogue<float>(acc[i][j], c, partial, bias, m, n, M, N, job, batch, splits, has_bias, relu);
            }
        }
    }
}
