// Kernels that pin down the emulator's model of CUDA (tests/kernels/test_kernels_emulator.py).

__global__ void shuffle_down(const int* in, int* out, int delta) {
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    out[t] = __shfl_down_sync(0xffffffffu, in[t], delta);
}

__global__ void shuffle_xor(const int* in, int* out, int lane_mask) {
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    out[t] = __shfl_xor_sync(0xffffffffu, in[t], lane_mask);
}

// Reverses each block's slice through shared memory: wrong without the barrier.
__global__ void reverse_blocks(const float* in, float* out) {
    __shared__ float tile[1024];
    const int t = threadIdx.x, base = blockIdx.x * blockDim.x;
    tile[t] = in[base + t];
    __syncthreads();
    out[base + t] = tile[blockDim.x - 1 - t];
}

// Writes each thread's coordinates: a 3-D grid of 3-D blocks.
__global__ void coordinates(int* out) {
    const int block = (blockIdx.z * gridDim.y + blockIdx.y) * gridDim.x + blockIdx.x;
    const int thread = (threadIdx.z * blockDim.y + threadIdx.y) * blockDim.x + threadIdx.x;
    int* o = out + 6 * (block * blockDim.x * blockDim.y * blockDim.z + thread);
    o[0] = blockIdx.x; o[1] = blockIdx.y; o[2] = blockIdx.z; o[3] = threadIdx.x; o[4] = threadIdx.y; o[5] = threadIdx.z;
}

// Half the warp shuffles while the other half waits at the block barrier: a deadlock.
__global__ void deadlock(int* out) {
    if (threadIdx.x < 16) out[threadIdx.x] = __shfl_down_sync(0xffffffffu, 1, 1);
    else __syncthreads();
}

// Atomics: every thread adds one (returning the old values: a permutation of 0..n-1), takes the
// max and min of its index, and tries to swap 0 for its index + 1 (only the first can).
__global__ void atomics(float* f, double* d, int* i, unsigned* u, unsigned long long* ull, int* olds, int* mx,
                        int* mn, int* cas, int* exch) {
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    atomicAdd(f, 0.5f);
    atomicAdd(d, 0.25);
    olds[t] = atomicAdd(i, 1);
    atomicAdd(u, 2u);
    atomicAdd(ull, 3ull);
    atomicMax(mx, t);
    atomicMin(mn, -t);
    atomicCAS(cas, 0, t + 1);
    atomicExch(exch, t);
}

// y = x * one (1, an argument: g++ would drop `* 1.0f`) flushes a subnormal x under -ftz=true;
// z = x (a copy) keeps its bits; nonzero compares x with 0, which also sees a flushed subnormal.
__global__ void flush_subnormals(const float* x, float* y, float* z, int* nonzero, int n, float one) {
    const int t = blockIdx.x * blockDim.x + threadIdx.x;
    if (t >= n) return;
    y[t] = x[t] * one;
    z[t] = x[t];
    nonzero[t] = x[t] != 0.0f;
}

// 0x10100 bytes of static shared memory: more than the 0xc000 ptxas allows.
__global__ void too_much_shared(float* out) {
    __shared__ float a[8192], b[8256];  // two declarators in one declaration
    a[threadIdx.x] = b[threadIdx.x] = 1.0f;
    out[threadIdx.x] = a[threadIdx.x] + b[threadIdx.x];
}

// Only block 0 writes shared memory; the others read what it holds in their block: poison.
__global__ void stale_shared(float* out) {
    __shared__ float tile[32];  /* a __shared__ in a comment is no declaration; */
    if (blockIdx.x == 0) tile[threadIdx.x] = 1.0f;
    __syncthreads();
    out[blockIdx.x * blockDim.x + threadIdx.x] = tile[threadIdx.x];
}

// Warp votes, shuffles with a width and __syncthreads_count, over a 64-thread block.
__global__ void warp_votes(const int* in, unsigned* ballot, int* any, int* all, int* count, int* up, int* width8) {
    const int t = threadIdx.x;
    ballot[t] = __ballot_sync(0xffffffffu, in[t]);
    any[t] = __any_sync(0xffffffffu, in[t]);
    all[t] = __all_sync(0xffffffffu, in[t]);
    count[t] = __syncthreads_count(in[t]);
    up[t] = __shfl_up_sync(0xffffffffu, t, 3);
    width8[t] = __shfl_sync(0xffffffffu, t, 2, 8);
}

// Lane 5 returns while its warp shuffles: undefined in CUDA, an error here.
__global__ void early_return_shuffle(int* out) {
    if (threadIdx.x == 5) return;
    out[threadIdx.x] = __shfl_down_sync(0xffffffffu, (int)threadIdx.x, 1);
}

// Half of the block waits at a barrier the other half never reaches: those return, and threads
// that returned drop out of __syncthreads (as exited warps do on the GPU), so the barrier opens.
__global__ void divergent_barrier(int* out) {
    if (threadIdx.x < 64) __syncthreads();
    out[threadIdx.x] = 1;
}

// No parameters at all.
__global__ void no_parameters() {}

// The math library: y[i] = f_i(x) for the float functions, then the double ones; exp(float) must
// resolve to the float overload, as in CUDA.
__global__ void math_functions(float x, float* y, double xd, double* yd) {
    const float f[] = {expf(x), logf(x), log1pf(x), sqrtf(x), rsqrtf(x), tanhf(x), erff(x), fabsf(-x),
                       fmaxf(x, 2.0f), fminf(x, 2.0f), floorf(x), ceilf(x), powf(x, 1.5f), exp(x), erf(x),
                       (float)min(3, 4), max(x, 2.0f)};
    for (int i = 0; i < (int)(sizeof f / sizeof f[0]); ++i) y[i] = f[i];
    const double d[] = {exp(xd), log(xd), log1p(xd), sqrt(xd), rsqrt(xd), tanh(xd), erf(xd), fabs(-xd),
                        fmax(xd, 2.0), fmin(xd, 2.0), floor(xd), ceil(xd), pow(xd, 1.5)};
    for (int i = 0; i < (int)(sizeof d / sizeof d[0]); ++i) yd[i] = d[i];
    static_assert(sizeof(exp(x)) == sizeof(float), "exp(float) is the float overload");
}
