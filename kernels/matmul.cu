// C = op(A) @ op(B) (+ bias) (then ReLU), batched, for half (fp32 accumulation), float and double.
//
// op(A) is M x K and op(B) is K x N, each read through (batch, row, column) element strides, so a
// transposed or otherwise strided operand costs no copy: the transpose flags only swap strides.
// A batch stride of 0 broadcasts a 2-D operand over the batch. C is contiguous (batch, M, N).
//
// Each 256-thread block computes a BM x BN tile of C: it stages BK-deep slices of A and B in
// shared memory (converted to the accumulation type) and each thread accumulates a TM x TN
// register block whose rows and columns are strided by the thread grid, which keeps the
// shared-memory reads free of bank conflicts. Tails in M, N and K load zeros and skip stores.
#include "common.cuh"

#define GC_MM_BK 16

template <typename T, int BM, int BN, int TM, int TN>
__global__ void __launch_bounds__((BM / TM) * (BN / TN))
matmul_bias(const T* __restrict__ a, const T* __restrict__ b, const T* __restrict__ bias, T* __restrict__ c,
            index_t M, index_t N, index_t K, index_t batch,
            index_t a_bs, index_t a_ms, index_t a_ks, index_t b_bs, index_t b_ks, index_t b_ns,
            int has_bias, int relu) {
    typedef typename Acc<T>::type A;
    const int THREADS_N = BN / TN;
    const int THREADS = (BM / TM) * THREADS_N;
    // +1 column: the transposing stores below (row index fastest) then hit distinct banks.
    __shared__ A as[GC_MM_BK][BM + 1];
    __shared__ A bs[GC_MM_BK][BN + 1];

    const int tid = threadIdx.x;
    const int tn = tid % THREADS_N;
    const int tm = tid / THREADS_N;
    const index_t m0 = (index_t)blockIdx.y * BM;
    const index_t n0 = (index_t)blockIdx.x * BN;

    for (index_t p = blockIdx.z; p < batch; p += gridDim.z) {
        const T* ap = a + p * a_bs;
        const T* bp = b + p * b_bs;
        A acc[TM][TN];
        for (int i = 0; i < TM; ++i)
            for (int j = 0; j < TN; ++j) acc[i][j] = A(0);

        for (index_t k0 = 0; k0 < K; k0 += GC_MM_BK) {
            // Neighbouring threads take neighbouring addresses of whichever dimension is
            // contiguous in memory, so the global loads coalesce for A and for A transposed.
            for (int e = tid; e < BM * GC_MM_BK; e += THREADS) {
                const int r = a_ks == 1 ? e / GC_MM_BK : e % BM;
                const int kk = a_ks == 1 ? e % GC_MM_BK : e / BM;
                const index_t m = m0 + r, k = k0 + kk;
                as[kk][r] = (m < M && k < K) ? to_acc(ap[m * a_ms + k * a_ks]) : A(0);
            }
            for (int e = tid; e < GC_MM_BK * BN; e += THREADS) {
                const int col = b_ns == 1 ? e % BN : e / GC_MM_BK;
                const int kk = b_ns == 1 ? e / BN : e % GC_MM_BK;
                const index_t n = n0 + col, k = k0 + kk;
                bs[kk][col] = (n < N && k < K) ? to_acc(bp[k * b_ks + n * b_ns]) : A(0);
            }
            __syncthreads();
            for (int kk = 0; kk < GC_MM_BK; ++kk) {
                A ra[TM], rb[TN];
                for (int i = 0; i < TM; ++i) ra[i] = as[kk][tm + i * (BM / TM)];
                for (int j = 0; j < TN; ++j) rb[j] = bs[kk][tn + j * THREADS_N];
                for (int i = 0; i < TM; ++i)
                    for (int j = 0; j < TN; ++j) acc[i][j] += ra[i] * rb[j];
            }
            __syncthreads();
        }

        T* cp = c + p * M * N;
        for (int i = 0; i < TM; ++i) {
            const index_t m = m0 + tm + i * (BM / TM);
            if (m >= M) continue;
            for (int j = 0; j < TN; ++j) {
                const index_t n = n0 + tn + j * THREADS_N;
                if (n >= N) continue;
                A v = acc[i][j];
                if (has_bias) v += to_acc(bias[n]);
                if (relu && v < A(0)) v = A(0);  // NaN stays NaN, as NumPy's maximum keeps it
                cp[m * N + n] = from_acc<T>(v);
            }
        }
    }
}
